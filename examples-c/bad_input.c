/*
 * bad_input: the mistakes C and ctypes callers really make, and the exact status netrig answers
 * each with. None of them may crash, corrupt memory or leak (run it under valgrind), and every
 * failure must leave a non-empty netrig_last_error() that names the function that failed.
 *
 * Also a reference for the buffer convention: ask with a small (or NULL, 0) buffer, get
 * NETRIG_E_BUFFER_TOO_SMALL plus the needed length, retry with length + 1 for a string.
 *
 * Exits 0 when every answer was the expected one, 1 otherwise (after running all checks).
 */
#define _POSIX_C_SOURCE 200809L

#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "netrig.h"

/* A bad input must never hang a call either: a watchdog turns a hang into a failure that
 * names the check that hung. Generous, so that a run under valgrind fits. */
#define WATCHDOG_SECONDS 30

static int g_checks, g_failures;
static volatile sig_atomic_t g_line; /* the line of the check running now */

/* Only async-signal-safe calls here: no stdio. */
static void on_watchdog(int sig) {
    (void)sig;
    char line[16];
    int n = 0;
    for (int v = g_line; n == 0 || v > 0; v /= 10)
        line[sizeof line - 1 - n++] = (char)('0' + v % 10);
    static const char head[] = "bad_input.c:", tail[] = ": call did not return (hang or deadlock); watchdog fired\n";
    (void)!write(STDERR_FILENO, head, sizeof head - 1);
    (void)!write(STDERR_FILENO, line + sizeof line - n, (size_t)n);
    (void)!write(STDERR_FILENO, tail, sizeof tail - 1);
    _exit(EXIT_FAILURE);
}

/*
 * Checks that `got` is `want`. For a failure status it also checks that the thread's last error
 * is non-empty and names `fn`, the function called (the text a user pastes into a bug report).
 */
static void expect_status(int line, const char *call, const char *fn, netrig_status got, netrig_status want) {
    g_checks++;
    const char *err = netrig_last_error();
    if (got != want) {
        fprintf(stderr, "bad_input.c:%d: %s\n    returned %s, expected %s (last error: \"%s\")\n", line, call,
                netrig_status_str(got), netrig_status_str(want), err);
        g_failures++;
        return;
    }
    if (want == NETRIG_OK)
        return;
    if (err == NULL || err[0] == '\0' || strstr(err, fn) == NULL) {
        fprintf(stderr, "bad_input.c:%d: %s\n    returned %s as expected, but the last error \"%s\" does not name %s\n",
                line, call, netrig_status_str(got), err ? err : "(null)", fn);
        g_failures++;
        return;
    }
    printf("  ok  %-26s %-40.40s | %s\n", netrig_status_str(got), call, err);
}

/* EXPECT(NETRIG_E_..., netrig_fn, (args...)) calls netrig_fn(args...) and checks the outcome. */
#define EXPECT(want, fn, args) (g_line = __LINE__, expect_status(__LINE__, #fn #args, #fn, fn args, want))

static void expect_true(int line, bool cond, const char *what) {
    g_checks++;
    if (!cond) {
        fprintf(stderr, "bad_input.c:%d: check failed: %s\n", line, what);
        g_failures++;
    }
}
#define CHECK(cond) expect_true(__LINE__, (cond), #cond)

/* Each thread has its own last error: a new thread starts with "", and failing there does not
 * change the main thread's text. */
static void *fresh_thread(void *arg) {
    bool *fine = arg;
    netrig_store none = { 0 };
    *fine = strcmp(netrig_last_error(), "") == 0 &&
            netrig_store_set_int(none, "k", 1, NETRIG_TTL_NEVER) == NETRIG_E_INVALID_HANDLE &&
            strstr(netrig_last_error(), "netrig_store_set_int") != NULL;
    return NULL;
}

int main(void) {
    netrig_store store = { 0 }, small = { 0 };
    netrig_batch batch = { 0 };
    netrig_snapshot snap = { 0 };
    netrig_strlist list = { 0 };
    int64_t i64 = 0;
    uint64_t version = 0;
    size_t len = 0;

    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGALRM, on_watchdog);
    alarm(WATCHDOG_SECONDS);
    printf("netrig %s: checking status codes for bad input\n", netrig_version());

    /* --- NULL pointers ------------------------------------------------------------------- */
    EXPECT(NETRIG_E_NULL_ARG, netrig_store_new, (NULL, NULL));
    EXPECT(NETRIG_OK, netrig_store_new, (NULL, &store));
    EXPECT(NETRIG_E_NULL_ARG, netrig_store_set_int, (store, NULL, 1, NETRIG_TTL_NEVER));
    EXPECT(NETRIG_E_NULL_ARG, netrig_store_set_str, (store, "k", NULL, NETRIG_TTL_NEVER));
    EXPECT(NETRIG_E_NULL_ARG, netrig_store_set_bytes, (store, "k", NULL, 4, NETRIG_TTL_NEVER));
    EXPECT(NETRIG_E_NULL_ARG, netrig_store_get_int, (store, "k", NULL, NULL));
    EXPECT(NETRIG_E_NULL_ARG, netrig_store_cas, (store, "k", 0, NULL, NETRIG_TTL_NEVER, NULL));
    EXPECT(NETRIG_E_NULL_ARG, netrig_store_snapshot, (store, NULL, &snap));
    EXPECT(NETRIG_E_NULL_ARG, netrig_store_snapshot, (store, "", NULL));
    EXPECT(NETRIG_E_NULL_ARG, netrig_batch_new, (NULL));
    /* NULL with length 0 is the empty byte string, not an error. */
    EXPECT(NETRIG_OK, netrig_store_set_bytes, (store, "empty", NULL, 0, NETRIG_TTL_NEVER));

    /* --- Handles: zero, forged, freed, double-freed, wrong kind ---------------------------- */
    netrig_store zero = { 0 }, forged = { 0xdeadbeefULL };
    EXPECT(NETRIG_E_INVALID_HANDLE, netrig_store_set_int, (zero, "k", 1, NETRIG_TTL_NEVER));
    EXPECT(NETRIG_E_INVALID_HANDLE, netrig_store_set_int, (forged, "k", 1, NETRIG_TTL_NEVER));
    EXPECT(NETRIG_E_INVALID_HANDLE, netrig_store_free, (zero));

    netrig_store doomed = { 0 };
    EXPECT(NETRIG_OK, netrig_store_new, (NULL, &doomed));
    EXPECT(NETRIG_OK, netrig_store_set_int, (doomed, "k", 1, NETRIG_TTL_NEVER));
    EXPECT(NETRIG_OK, netrig_store_free, (doomed));
    EXPECT(NETRIG_E_INVALID_HANDLE, netrig_store_get_int, (doomed, "k", &i64, NULL));
    EXPECT(NETRIG_E_INVALID_HANDLE, netrig_store_free, (doomed));
    /* A new store may reuse the freed slot; the old handle must still be dead. */
    netrig_store reborn = { 0 };
    EXPECT(NETRIG_OK, netrig_store_new, (NULL, &reborn));
    CHECK(reborn.id != doomed.id);
    EXPECT(NETRIG_E_INVALID_HANDLE, netrig_store_set_int, (doomed, "k", 1, NETRIG_TTL_NEVER));
    EXPECT(NETRIG_E_NOT_FOUND, netrig_store_get_int, (reborn, "k", &i64, NULL));
    EXPECT(NETRIG_OK, netrig_store_free, (reborn));

    EXPECT(NETRIG_OK, netrig_batch_new, (&batch));
    netrig_store batch_as_store = { batch.id };
    netrig_batch store_as_batch = { store.id };
    EXPECT(NETRIG_E_INVALID_HANDLE, netrig_store_set_int, (batch_as_store, "k", 1, NETRIG_TTL_NEVER));
    CHECK(strstr(netrig_last_error(), "netrig_batch") != NULL);
    EXPECT(NETRIG_E_INVALID_HANDLE, netrig_store_free, (batch_as_store));
    EXPECT(NETRIG_E_INVALID_HANDLE, netrig_batch_free, (store_as_batch));
    EXPECT(NETRIG_E_INVALID_HANDLE, netrig_store_apply, (batch_as_store, store_as_batch));
    /* Neither object was harmed by being passed as the other kind. */
    EXPECT(NETRIG_OK, netrig_batch_len, (batch, &len));
    CHECK(len == 0);
    EXPECT(NETRIG_OK, netrig_store_set_int, (store, "k", 1, NETRIG_TTL_NEVER));

    netrig_batch spent = { 0 };
    EXPECT(NETRIG_OK, netrig_batch_new, (&spent));
    EXPECT(NETRIG_OK, netrig_batch_free, (spent));
    EXPECT(NETRIG_E_INVALID_HANDLE, netrig_batch_free, (spent));
    EXPECT(NETRIG_E_INVALID_HANDLE, netrig_store_apply, (store, spent));

    /* --- Strings: invalid UTF-8, empty and over-long keys ---------------------------------- */
    const char bad_utf8[] = { 'k', (char)0xff, (char)0xfe, 0 };
    const char overlong_nul[] = { 'k', (char)0xc0, (char)0x80, 0 }; /* "modified UTF-8" NUL */
    EXPECT(NETRIG_E_UTF8, netrig_store_set_int, (store, bad_utf8, 1, NETRIG_TTL_NEVER));
    EXPECT(NETRIG_E_UTF8, netrig_store_set_int, (store, overlong_nul, 1, NETRIG_TTL_NEVER));
    EXPECT(NETRIG_E_UTF8, netrig_store_set_str, (store, "k", bad_utf8, NETRIG_TTL_NEVER));
    EXPECT(NETRIG_E_UTF8, netrig_store_snapshot, (store, bad_utf8, &snap));
    EXPECT(NETRIG_E_UTF8, netrig_batch_set, (batch, bad_utf8, &(netrig_value){ .kind = NETRIG_TYPE_INT }, 0));
    EXPECT(NETRIG_E_UTF8, netrig_batch_set,
           (batch, "k", &(netrig_value){ .kind = NETRIG_TYPE_STR, .str = bad_utf8 }, 0));
    EXPECT(NETRIG_E_INVALID_ARG, netrig_store_set_int, (store, "", 1, NETRIG_TTL_NEVER));
    EXPECT(NETRIG_E_INVALID_ARG, netrig_store_get_int, (store, "", &i64, NULL));

    size_t huge_len = (size_t)1 << 20;
    char *huge_key = malloc(huge_len + 1);
    if (huge_key == NULL) {
        fprintf(stderr, "bad_input: out of memory\n");
        return EXIT_FAILURE;
    }
    memset(huge_key, 'k', huge_len);
    huge_key[huge_len] = '\0';
    EXPECT(NETRIG_E_INVALID_ARG, netrig_store_set_int, (store, huge_key, 1, NETRIG_TTL_NEVER));
    EXPECT(NETRIG_E_INVALID_ARG, netrig_store_get_int, (store, huge_key, &i64, NULL));
    CHECK(strlen(netrig_last_error()) < 4096); /* the message quotes the key's start, not all of it */
    free(huge_key);

    /* --- Values and arguments out of range -------------------------------------------------- */
    EXPECT(NETRIG_E_INVALID_ARG, netrig_store_set_int, (store, "k", 1, -5));
    EXPECT(NETRIG_E_INVALID_ARG, netrig_batch_set, (batch, "k", &(netrig_value){ .kind = 99 }, 0));
    EXPECT(NETRIG_E_INVALID_ARG, netrig_store_set_str, (store, "k", "", -2));

    netrig_store_options opts;
    EXPECT(NETRIG_OK, netrig_store_options_default, (&opts, sizeof opts));
    opts.max_entries = 0;
    EXPECT(NETRIG_E_INVALID_ARG, netrig_store_new, (&opts, &small));
    EXPECT(NETRIG_OK, netrig_store_options_default, (&opts, sizeof opts));
    opts.default_ttl_ms = -1;
    EXPECT(NETRIG_E_INVALID_ARG, netrig_store_new, (&opts, &small));
    CHECK(small.id == 0); /* out-parameters are written only on success */

    /* Options structs carry their size (struct_size, set by the _default function): one that was
     * never filled, or a size that is not a netrig.h struct's, is refused. */
    netrig_store_options unfilled = {0};
    EXPECT(NETRIG_E_INVALID_ARG, netrig_store_new, (&unfilled, &small));
    EXPECT(NETRIG_E_INVALID_ARG, netrig_store_options_default, (&opts, 0));
    EXPECT(NETRIG_E_INVALID_ARG, netrig_store_options_default, (&opts, sizeof opts + 8));
    EXPECT(NETRIG_E_NULL_ARG, netrig_store_options_default, (NULL, sizeof opts));
    CHECK(small.id == 0);

    /* A value that can never fit max_bytes, and a store that runs out of entries. */
    EXPECT(NETRIG_OK, netrig_store_options_default, (&opts, sizeof opts));
    opts.max_bytes = 1024;
    opts.max_entries = 2;
    EXPECT(NETRIG_OK, netrig_store_new, (&opts, &small));
    static uint8_t blob[2048];
    EXPECT(NETRIG_E_FULL, netrig_store_set_bytes, (small, "blob", blob, sizeof blob, NETRIG_TTL_NEVER));
    EXPECT(NETRIG_E_NOT_FOUND, netrig_store_get_bytes, (small, "blob", NULL, 0, &len, NULL));
    EXPECT(NETRIG_OK, netrig_store_set_int, (small, "one", 1, NETRIG_TTL_NEVER));
    EXPECT(NETRIG_OK, netrig_store_set_int, (small, "two", 2, NETRIG_TTL_NEVER));
    EXPECT(NETRIG_E_FULL, netrig_store_set_int, (small, "three", 3, NETRIG_TTL_NEVER));
    EXPECT(NETRIG_OK, netrig_store_set_int, (small, "two", 22, NETRIG_TTL_NEVER)); /* overwrite fits */
    EXPECT(NETRIG_OK, netrig_store_len, (small, &len));
    CHECK(len == 2);

    /* --- Buffers too small: the needed length comes back -------------------------------- */
    const char *text = "hello, test bench";
    char tiny[4] = "xyz", fits[64];
    EXPECT(NETRIG_OK, netrig_store_set_str, (store, "greeting", text, NETRIG_TTL_NEVER));
    len = 0;
    EXPECT(NETRIG_E_BUFFER_TOO_SMALL, netrig_store_get_str, (store, "greeting", tiny, sizeof tiny, &len, NULL));
    CHECK(len == strlen(text));
    CHECK(strcmp(tiny, "xyz") == 0); /* nothing written into a too-small buffer */
    len = 0;
    EXPECT(NETRIG_E_BUFFER_TOO_SMALL, netrig_store_get_str, (store, "greeting", NULL, 0, &len, NULL));
    CHECK(len == strlen(text));
    /* Exactly the length is still one short: the NUL needs a byte too. */
    EXPECT(NETRIG_E_BUFFER_TOO_SMALL, netrig_store_get_str, (store, "greeting", fits, strlen(text), &len, NULL));
    EXPECT(NETRIG_OK, netrig_store_get_str, (store, "greeting", fits, len + 1, &len, NULL));
    CHECK(strcmp(fits, text) == 0);
    EXPECT(NETRIG_E_NULL_ARG, netrig_store_get_str, (store, "greeting", fits, sizeof fits, NULL, NULL));

    const uint8_t raw[5] = { 1, 2, 0, 4, 5 };
    uint8_t raw_out[5] = { 0 };
    EXPECT(NETRIG_OK, netrig_store_set_bytes, (store, "raw", raw, sizeof raw, NETRIG_TTL_NEVER));
    EXPECT(NETRIG_E_BUFFER_TOO_SMALL, netrig_store_get_bytes, (store, "raw", raw_out, 2, &len, NULL));
    CHECK(len == sizeof raw);
    EXPECT(NETRIG_OK, netrig_store_get_bytes, (store, "raw", raw_out, len, &len, NULL));
    CHECK(memcmp(raw, raw_out, sizeof raw) == 0);

    /* --- Missing keys, wrong types, conflicts, overflow ---------------------------------- */
    i64 = 12345;
    EXPECT(NETRIG_E_NOT_FOUND, netrig_store_get_int, (store, "no/such/key", &i64, &version));
    CHECK(i64 == 12345); /* untouched on failure */
    EXPECT(NETRIG_E_NOT_FOUND, netrig_store_delete, (store, "no/such/key"));
    EXPECT(NETRIG_E_TYPE, netrig_store_get_int, (store, "greeting", &i64, NULL));
    CHECK(strstr(netrig_last_error(), "greeting") != NULL);
    EXPECT(NETRIG_E_TYPE, netrig_store_add_int, (store, "greeting", 1, NULL));

    netrig_value one = { .kind = NETRIG_TYPE_INT, .i = 1 };
    EXPECT(NETRIG_OK, netrig_store_get_int, (store, "k", &i64, &version));
    EXPECT(NETRIG_E_CONFLICT, netrig_store_cas, (store, "k", version + 1, &one, NETRIG_TTL_NEVER, NULL));
    EXPECT(NETRIG_E_CONFLICT, netrig_store_cas, (store, "k", 0, &one, NETRIG_TTL_NEVER, NULL));
    EXPECT(NETRIG_OK, netrig_store_cas, (store, "k", version, &one, NETRIG_TTL_NEVER, NULL));

    EXPECT(NETRIG_OK, netrig_batch_set, (batch, "batch/x", &one, NETRIG_TTL_NEVER));
    EXPECT(NETRIG_OK, netrig_batch_expect_version, (batch, "k", version)); /* stale now */
    EXPECT(NETRIG_E_CONFLICT, netrig_store_apply, (store, batch));
    EXPECT(NETRIG_E_NOT_FOUND, netrig_store_get_int, (store, "batch/x", &i64, NULL)); /* nothing applied */

    EXPECT(NETRIG_OK, netrig_store_set_int, (store, "big", INT64_MAX - 1, NETRIG_TTL_NEVER));
    EXPECT(NETRIG_E_OVERFLOW, netrig_store_add_int, (store, "big", 2, &i64));
    EXPECT(NETRIG_OK, netrig_store_get_int, (store, "big", &i64, NULL));
    CHECK(i64 == INT64_MAX - 1);

    /* --- Result objects: past the end, use after free, double free ---------------------- */
    netrig_entry entry;
    const char *s = NULL;
    EXPECT(NETRIG_OK, netrig_store_snapshot, (store, "", &snap));
    EXPECT(NETRIG_OK, netrig_snapshot_len, (snap, &len));
    EXPECT(NETRIG_E_NOT_FOUND, netrig_snapshot_get, (snap, len, &entry));
    EXPECT(NETRIG_E_NULL_ARG, netrig_snapshot_get, (snap, 0, NULL));
    EXPECT(NETRIG_OK, netrig_snapshot_free, (snap));
    EXPECT(NETRIG_E_INVALID_HANDLE, netrig_snapshot_get, (snap, 0, &entry));
    EXPECT(NETRIG_E_INVALID_HANDLE, netrig_snapshot_json, (snap, &s, NULL));
    EXPECT(NETRIG_E_INVALID_HANDLE, netrig_snapshot_free, (snap));

    EXPECT(NETRIG_OK, netrig_store_keys, (store, "", &list));
    EXPECT(NETRIG_OK, netrig_strlist_len, (list, &len));
    EXPECT(NETRIG_E_NOT_FOUND, netrig_strlist_get, (list, len, &s));
    netrig_snapshot list_as_snapshot = { list.id };
    EXPECT(NETRIG_E_INVALID_HANDLE, netrig_snapshot_free, (list_as_snapshot));
    EXPECT(NETRIG_OK, netrig_strlist_free, (list));
    EXPECT(NETRIG_E_INVALID_HANDLE, netrig_strlist_free, (list));

    /* --- Panics are caught at the boundary ------------------------------------------------- */
    printf("  (the panic messages on stderr below are deliberate: Rust's panic hook prints them)\n");
    EXPECT(NETRIG_E_PANIC, netrig_debug_panic, ("deliberate panic from bad_input.c"));
    CHECK(strstr(netrig_last_error(), "deliberate panic from bad_input.c") != NULL);
    EXPECT(NETRIG_E_PANIC, netrig_debug_panic, (NULL));
    EXPECT(NETRIG_OK, netrig_store_get_int, (store, "big", &i64, NULL)); /* the library still works */

    /* --- Status names and per-thread errors ----------------------------------------------- */
    CHECK(strcmp(netrig_status_str(NETRIG_E_CONFLICT), "NETRIG_E_CONFLICT") == 0);
    CHECK(strcmp(netrig_status_str(999), "NETRIG_E_UNKNOWN") == 0);
    CHECK(strcmp(netrig_status_str(-1), "NETRIG_E_UNKNOWN") == 0);
    pthread_t thread;
    bool thread_fine = false;
    char mine[256];
    snprintf(mine, sizeof mine, "%s", netrig_last_error());
    CHECK(pthread_create(&thread, NULL, fresh_thread, &thread_fine) == 0 && pthread_join(thread, NULL) == 0);
    CHECK(thread_fine);
    CHECK(strcmp(mine, netrig_last_error()) == 0);

    /* --- Clean up: every handle freed once ------------------------------------------------- */
    EXPECT(NETRIG_OK, netrig_batch_free, (batch));
    EXPECT(NETRIG_OK, netrig_store_free, (small));
    EXPECT(NETRIG_OK, netrig_store_free, (store));

    if (g_failures != 0) {
        fprintf(stderr, "bad_input: FAILED %d of %d checks\n", g_failures, g_checks);
        return EXIT_FAILURE;
    }
    printf("bad_input: all %d checks passed\n", g_checks);
    return EXIT_SUCCESS;
}
