/* A program that uses the system's SQLite (-lsqlite3) and netrig's durable store in one binary.
 * netrig bundles its own SQLite; libnetrig.a keeps it to itself (only netrig_ symbols are
 * global there), so each side gets its own:
 *   - sqlite3_libversion() / sqlite3_libversion_number() here are the system library's, the
 *     same version as the system header this file was compiled with (SQLITE_VERSION);
 *   - the file netrig's store writes records, at offset 96 of its header, the version number
 *     of the SQLite that last wrote it (the SQLite file format): that is netrig's bundled one,
 *     which is not the system's, and the one netrig_build_info() names.
 * Then the system SQLite opens netrig's file and checks it, and netrig reopens it and reads
 * the key back. Exit status 0 only when all of that holds.
 *
 * Usage: own_sqlite [DIR]  (DIR for the database file, default /tmp)
 *
 * With an archive that exports the bundled sqlite3_* symbols, this program either fails to
 * link ("multiple definition of sqlite3_...") or binds one side to the other's SQLite, and
 * then one of the version checks below fails. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "netrig.h"

#define CHECK(call)                                                                  \
    do {                                                                             \
        netrig_status st_ = (call);                                                  \
        if (st_ != NETRIG_OK) {                                                      \
            fprintf(stderr, "%s: %s\n", netrig_status_str(st_), netrig_last_error()); \
            return 1;                                                                \
        }                                                                            \
    } while (0)

/* The SQLITE_VERSION_NUMBER of the library that last wrote the database file at `path`
 * (big-endian at offset 96 of the header), or -1. */
static long writer_version(const char *path) {
    unsigned char header[100];
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    size_t n = fread(header, 1, sizeof header, f);
    fclose(f);
    if (n != sizeof header || memcmp(header, "SQLite format 3", 16) != 0) return -1;
    return ((long)header[96] << 24) | ((long)header[97] << 16) | ((long)header[98] << 8) | (long)header[99];
}

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : "/tmp";
    char path[4096];
    snprintf(path, sizeof path, "%s/own_sqlite-%ld.db", dir, (long)getpid());
    unlink(path);
    int ok = 1;

    /* 1. The system SQLite, through its own header and library. */
    printf("system header: SQLite %s (%d); sqlite3_libversion(): %s (%d)\n", SQLITE_VERSION,
           SQLITE_VERSION_NUMBER, sqlite3_libversion(), sqlite3_libversion_number());
    if (strcmp(sqlite3_libversion(), SQLITE_VERSION) != 0 || sqlite3_libversion_number() != SQLITE_VERSION_NUMBER) {
        fprintf(stderr, "own_sqlite: sqlite3_libversion() is not the system SQLite's\n");
        ok = 0;
    }

    /* 2. netrig's durable store writes a key into its SQLite file. */
    netrig_store store;
    CHECK(netrig_store_open(path, NULL, NETRIG_DURABLE_PROCESS_CRASH, &store));
    CHECK(netrig_store_set_str(store, "dut/1/state", "running", NETRIG_TTL_NEVER));
    CHECK(netrig_store_free(store));

    long netrig_sqlite = writer_version(path);
    printf("netrig %s wrote %s with SQLite %ld\n", netrig_version(), path, netrig_sqlite);
    if (netrig_sqlite <= 0) {
        fprintf(stderr, "own_sqlite: %s has no SQLite header\n", path);
        ok = 0;
    } else if (netrig_sqlite == sqlite3_libversion_number()) {
        fprintf(stderr, "own_sqlite: netrig's SQLite and this program's are one library (%ld)\n", netrig_sqlite);
        ok = 0;
    }
    /* netrig names its bundled SQLite in netrig_build_info(): the one that wrote the file. */
    char bundled[64];
    snprintf(bundled, sizeof bundled, "SQLite %ld.%ld.%ld bundled", netrig_sqlite / 1000000,
             netrig_sqlite / 1000 % 1000, netrig_sqlite % 1000);
    printf("netrig_build_info(): %s\n", netrig_build_info());
    if (strstr(netrig_build_info(), bundled) == NULL) {
        fprintf(stderr, "own_sqlite: netrig_build_info() does not name '%s'\n", bundled);
        ok = 0;
    }

    /* 3. The system SQLite reads netrig's file (read-only: it must not rewrite the header). */
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        fprintf(stderr, "own_sqlite: system SQLite cannot open %s: %s\n", path, sqlite3_errmsg(db));
        ok = 0;
    } else {
        sqlite3_stmt *st = NULL;
        const char *check = "";
        if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL) == SQLITE_OK &&
            sqlite3_step(st) == SQLITE_ROW)
            check = (const char *)sqlite3_column_text(st, 0);
        printf("system SQLite on netrig's file: integrity_check = %s\n", check);
        if (strcmp(check, "ok") != 0) ok = 0;
        sqlite3_finalize(st);
    }
    sqlite3_close(db);

    /* 4. netrig reopens the file and reads the key back. */
    char value[32];
    size_t len = 0;
    CHECK(netrig_store_open(path, NULL, NETRIG_DURABLE_PROCESS_CRASH, &store));
    CHECK(netrig_store_get_str(store, "dut/1/state", value, sizeof value, &len, NULL));
    CHECK(netrig_store_free(store));
    printf("netrig reopened it: dut/1/state = %s\n", value);
    if (strcmp(value, "running") != 0) ok = 0;

    unlink(path);
    printf("own_sqlite: %s\n", ok ? "each has its own SQLite" : "FAILED");
    return ok ? 0 : 1;
}
