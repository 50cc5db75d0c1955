/*
 * store_demo: eight threads share one netrig status store, then the program checks that the
 * store kept its promises. Copy the patterns you need:
 *
 *   - atomic batches:   two keys set together are never seen half-written by a snapshot;
 *   - compare-and-set:  a read-version / cas / retry-on-NETRIG_E_CONFLICT counter loses no update;
 *   - add_int:          the same counter without the loop;
 *   - TTL keys:         visible before expiry, invisible after, removed by purge_expired.
 *
 * Usage: store_demo [iterations-per-thread]   (or env NETRIG_DEMO_ITERS; default 120000, about 1 s)
 * Exits 0 when every invariant held, 1 with a message and netrig_last_error() otherwise.
 * Every handle is freed on every path, so `valgrind --leak-check=full` reports no leaks.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "netrig.h"

#define THREADS 8
#define DEFAULT_ITERS 120000
/* Each thread takes a snapshot every SNAPSHOT_EVERY iterations (and after its last one). */
#define SNAPSHOT_EVERY 16
#define TTL_KEYS 10
/* Long enough that ten writes and reads, even under valgrind on a loaded machine, all come
 * before it ends: the visibility check is never skipped. */
#define TTL_MS 300

/* Set by the first thread that sees a violation; the others stop at their next iteration. */
static atomic_bool g_failed;

/* Reports a failed netrig call with its status name and this thread's last error text. */
static void report_status(int line, const char *call, netrig_status st) {
    fprintf(stderr, "store_demo.c:%d: %s returned %s: %s\n", line, call, netrig_status_str(st),
            netrig_last_error());
    atomic_store(&g_failed, true);
}

/* Frees a handle at a function's exit; a failure here is a bug worth reporting too. */
#define FREE_HANDLE(free_fn, h, ok_flag)                            \
    do {                                                            \
        if ((h).id != 0) {                                          \
            netrig_status fst_ = free_fn(h);                        \
            if (fst_ != NETRIG_OK) {                                \
                report_status(__LINE__, #free_fn "(" #h ")", fst_); \
                ok_flag = false;                                    \
            }                                                       \
        }                                                           \
    } while (0)

static void report_violation(int line, const char *what) {
    fprintf(stderr, "store_demo.c:%d: invariant violated: %s\n", line, what);
    atomic_store(&g_failed, true);
}

/* Both macros jump to the function's `out:` label, which frees what the function holds. */
#define TRY(call)                                           \
    do {                                                    \
        netrig_status st_ = (call);                         \
        if (st_ != NETRIG_OK) {                             \
            report_status(__LINE__, #call, st_);            \
            goto out;                                       \
        }                                                   \
    } while (0)

#define ENSURE(cond, ...)                                       \
    do {                                                        \
        if (!(cond)) {                                          \
            char msg_[512];                                     \
            snprintf(msg_, sizeof msg_, __VA_ARGS__);           \
            report_violation(__LINE__, msg_);                   \
            goto out;                                           \
        }                                                       \
    } while (0)

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(long ms) {
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
    }
}

struct worker {
    netrig_store store;
    int index;
    long iters;
    char key_a[32], key_b[32];
    /* Results, read by main after join. */
    long cas_retries;
    long snapshots_checked;
    long ops;
};

/*
 * Takes a snapshot of "pair/" and checks that every pair is whole: "pair/<t>/a" and
 * "pair/<t>/b" both present with the same int. Entries are sorted by key, so a pair's two
 * keys are neighbours. The calling thread's own pair must show its last write (`own_value`).
 */
static bool check_pairs(netrig_store store, int own_index, int64_t own_value) {
    bool ok = false;
    netrig_snapshot snap = { 0 };
    size_t n = 0;
    bool own_seen = false;

    TRY(netrig_store_snapshot(store, "pair/", &snap));
    TRY(netrig_snapshot_len(snap, &n));
    ENSURE(n % 2 == 0, "snapshot of pair/ has %zu entries, an odd number: a batch was half-applied", n);
    for (size_t i = 0; i < n; i += 2) {
        netrig_entry a, b;
        int t = -1, end = 0;
        char expect_b[32];
        TRY(netrig_snapshot_get(snap, i, &a));
        TRY(netrig_snapshot_get(snap, i + 1, &b));
        ENSURE(sscanf(a.key, "pair/%d/a%n", &t, &end) == 1 && end > 0 && a.key[end] == '\0',
               "unexpected key '%s' where a pair/<t>/a key belongs: half-applied batch", a.key);
        snprintf(expect_b, sizeof expect_b, "pair/%d/b", t);
        ENSURE(strcmp(b.key, expect_b) == 0, "'%s' is followed by '%s', not '%s': half-applied batch", a.key,
               b.key, expect_b);
        ENSURE(a.value.kind == NETRIG_TYPE_INT && b.value.kind == NETRIG_TYPE_INT, "pair %d is not two ints", t);
        ENSURE(a.value.i == b.value.i, "pair %d torn in a snapshot: a=%" PRId64 " b=%" PRId64, t, a.value.i,
               b.value.i);
        if (t == own_index) {
            ENSURE(a.value.i == own_value, "thread %d wrote %" PRId64 " but its snapshot shows %" PRId64, t,
                   own_value, a.value.i);
            own_seen = true;
        }
    }
    ENSURE(own_seen || own_value == 0, "thread %d's own pair is missing from its snapshot", own_index);
    ok = true;
out:
    FREE_HANDLE(netrig_snapshot_free, snap, ok);
    return ok;
}

/* One compare-and-set increment: read value and version, write value+1 only if the version is
 * unchanged, retry on NETRIG_E_CONFLICT. A missing key is version 0 ("must not exist"). */
static bool cas_increment(netrig_store store, const char *key, long *retries) {
    for (;;) {
        int64_t value = 0;
        uint64_t version = 0;
        netrig_status st = netrig_store_get_int(store, key, &value, &version);
        if (st != NETRIG_OK && st != NETRIG_E_NOT_FOUND) {
            report_status(__LINE__, "netrig_store_get_int(cas/counter)", st);
            return false;
        }
        netrig_value next = { .kind = NETRIG_TYPE_INT, .i = value + 1 };
        st = netrig_store_cas(store, key, version, &next, NETRIG_TTL_NEVER, NULL);
        if (st == NETRIG_OK)
            return true;
        if (st != NETRIG_E_CONFLICT) {
            report_status(__LINE__, "netrig_store_cas(cas/counter)", st);
            return false;
        }
        ++*retries;
    }
}

static void *worker_main(void *arg) {
    struct worker *w = arg;
    netrig_batch batch = { 0 };
    int64_t last_written = 0;

    TRY(netrig_batch_new(&batch));
    for (long i = 1; i <= w->iters && !atomic_load_explicit(&g_failed, memory_order_relaxed); i++) {
        /* The batch is reused: clear it, add both sets, apply. Values are copied by batch_set. */
        netrig_value v = { .kind = NETRIG_TYPE_INT, .i = i };
        TRY(netrig_batch_clear(batch));
        TRY(netrig_batch_set(batch, w->key_a, &v, NETRIG_TTL_NEVER));
        TRY(netrig_batch_set(batch, w->key_b, &v, NETRIG_TTL_NEVER));
        TRY(netrig_store_apply(w->store, batch));
        last_written = i;

        if (!cas_increment(w->store, "cas/counter", &w->cas_retries))
            goto out;
        TRY(netrig_store_add_int(w->store, "add/counter", 1, NULL));
        w->ops += 3;

        if (i % SNAPSHOT_EVERY == 0 || i == w->iters) {
            if (!check_pairs(w->store, w->index, last_written))
                goto out;
            w->snapshots_checked++;
            w->ops++;
        }
    }
out:
    bool freed = true;
    FREE_HANDLE(netrig_batch_free, batch, freed);
    (void)freed;
    return NULL;
}

/* Phase 2, single-threaded: keys with a TTL are visible, then expire, then are purged. */
static bool check_ttl(netrig_store store) {
    bool ok = false;
    netrig_strlist keys = { 0 };
    char key[32];
    size_t removed = 0, listed = 0, len_before = 0, len_after = 0;

    TRY(netrig_store_len(store, &len_before));
    TRY(netrig_store_set_str(store, "ttl/keep", "never expires", NETRIG_TTL_NEVER));
    for (int k = 0; k < TTL_KEYS; k++) {
        snprintf(key, sizeof key, "ttl/%d", k);
        TRY(netrig_store_set_int(store, key, k, TTL_MS));
    }
    for (int k = 0; k < TTL_KEYS; k++) {
        int64_t v = -1;
        snprintf(key, sizeof key, "ttl/%d", k);
        TRY(netrig_store_get_int(store, key, &v, NULL));
        ENSURE(v == k, "%s reads %" PRId64 ", wrote %d", key, v, k);
    }

    sleep_ms(2 * TTL_MS);

    for (int k = 0; k < TTL_KEYS; k++) {
        int64_t v = -1;
        bool present = true;
        snprintf(key, sizeof key, "ttl/%d", k);
        netrig_status st = netrig_store_get_int(store, key, &v, NULL);
        ENSURE(st == NETRIG_E_NOT_FOUND, "%s after expiry: get_int returned %s, want NETRIG_E_NOT_FOUND", key,
               netrig_status_str(st));
        ENSURE(v == -1, "get_int wrote its out-parameter although it failed");
        TRY(netrig_store_contains(store, key, &present));
        ENSURE(!present, "%s still reported present after expiry", key);
    }

    /* Expired keys are invisible to len and keys() even before they are purged. */
    TRY(netrig_store_len(store, &len_after));
    ENSURE(len_after == len_before + 1, "len is %zu after expiry, want %zu", len_after, len_before + 1);
    TRY(netrig_store_keys(store, "ttl/", &keys));
    TRY(netrig_strlist_len(keys, &listed));
    ENSURE(listed == 1, "keys(\"ttl/\") lists %zu keys after expiry, want 1 (ttl/keep)", listed);
    const char *only = NULL;
    TRY(netrig_strlist_get(keys, 0, &only));
    ENSURE(strcmp(only, "ttl/keep") == 0, "keys(\"ttl/\") lists '%s', want 'ttl/keep'", only);

    TRY(netrig_store_purge_expired(store, &removed));
    ENSURE(removed == TTL_KEYS, "purge_expired removed %zu keys, want %d", removed, TTL_KEYS);
    TRY(netrig_store_purge_expired(store, &removed));
    ENSURE(removed == 0, "a second purge_expired removed %zu keys, want 0", removed);
    printf("ttl: %d keys with a %d ms TTL expired and were purged; ttl/keep survived\n", TTL_KEYS, TTL_MS);
    ok = true;
out:
    FREE_HANDLE(netrig_strlist_free, keys, ok);
    return ok;
}

/* Final state: counters exact, every pair at its thread's last value; prints the JSON size. */
static bool check_final(netrig_store store, long iters) {
    bool ok = false;
    netrig_snapshot snap = { 0 };
    int64_t cas = 0, add = 0;
    const char *json = NULL;
    size_t json_len = 0, n = 0;
    const int64_t want = (int64_t)THREADS * iters;

    TRY(netrig_store_get_int(store, "cas/counter", &cas, NULL));
    TRY(netrig_store_get_int(store, "add/counter", &add, NULL));
    ENSURE(cas == want, "cas/counter is %" PRId64 ", want %" PRId64 ": a compare-and-set lost an update", cas, want);
    ENSURE(add == want, "add/counter is %" PRId64 ", want %" PRId64 ": add_int lost an update", add, want);

    TRY(netrig_store_snapshot(store, "", &snap));
    TRY(netrig_snapshot_len(snap, &n));
    ENSURE(n == 2 * THREADS + 2, "final snapshot has %zu keys, want %d", n, 2 * THREADS + 2);
    for (size_t i = 0; i < n; i++) {
        netrig_entry e;
        TRY(netrig_snapshot_get(snap, i, &e));
        if (strncmp(e.key, "pair/", 5) == 0)
            ENSURE(e.value.kind == NETRIG_TYPE_INT && e.value.i == iters, "%s ends at %" PRId64 ", want %ld",
                   e.key, e.value.i, iters);
        ENSURE(e.ttl_remaining_ms == -1, "%s has a TTL (%" PRId64 " ms left) but was written without one", e.key,
               e.ttl_remaining_ms);
    }
    TRY(netrig_snapshot_json(snap, &json, &json_len));
    ENSURE(json_len == strlen(json) && json[0] == '{', "snapshot JSON is malformed (len %zu)", json_len);
    printf("final: cas/counter = add/counter = %" PRId64 "; snapshot of %zu keys is %zu bytes of JSON\n", cas, n,
           json_len);
    ok = true;
out:
    FREE_HANDLE(netrig_snapshot_free, snap, ok);
    return ok;
}

static long iterations(int argc, char **argv) {
    const char *text = argc > 1 ? argv[1] : getenv("NETRIG_DEMO_ITERS");
    if (text == NULL || *text == '\0')
        return DEFAULT_ITERS;
    char *end = NULL;
    long n = strtol(text, &end, 10);
    if (*end != '\0' || n < 1 || n > 100000000L) {
        fprintf(stderr, "store_demo: iterations must be a number from 1 to 100000000, got '%s'\n", text);
        exit(2);
    }
    return n;
}

int main(int argc, char **argv) {
    long iters = iterations(argc, argv);
    netrig_store store = { 0 };
    struct worker workers[THREADS];
    pthread_t threads[THREADS];
    int started = 0;
    memset(workers, 0, sizeof workers);
    setvbuf(stdout, NULL, _IOLBF, 0);

    printf("netrig %s: %d threads x %ld iterations on one store\n", netrig_version(), THREADS, iters);
    netrig_store_options opts;
    TRY(netrig_store_options_default(&opts, sizeof opts));
    opts.max_entries = 10000;
    TRY(netrig_store_new(&opts, &store));

    double start = now_s();
    for (int t = 0; t < THREADS; t++) {
        struct worker *w = &workers[t];
        w->store = store;
        w->index = t;
        w->iters = iters;
        snprintf(w->key_a, sizeof w->key_a, "pair/%d/a", t);
        snprintf(w->key_b, sizeof w->key_b, "pair/%d/b", t);
        int rc = pthread_create(&threads[t], NULL, worker_main, w);
        if (rc != 0) {
            fprintf(stderr, "store_demo: pthread_create: %s\n", strerror(rc));
            atomic_store(&g_failed, true);
            break;
        }
        started++;
    }
    for (int t = 0; t < started; t++)
        pthread_join(threads[t], NULL);
    double elapsed = now_s() - start;
    if (atomic_load(&g_failed))
        goto out;

    long ops = 0, retries = 0, snapshots = 0;
    for (int t = 0; t < THREADS; t++) {
        ops += workers[t].ops;
        retries += workers[t].cas_retries;
        snapshots += workers[t].snapshots_checked;
    }
    printf("hammer: %ld operations in %.3f s = %.0f ops/s (%ld batches, %ld CAS retries, %ld snapshots "
           "checked, none torn)\n",
           ops, elapsed, (double)ops / elapsed, (long)THREADS * iters, retries, snapshots);

    if (check_final(store, iters))
        check_ttl(store);
out:;
    bool freed = true;
    FREE_HANDLE(netrig_store_free, store, freed);
    (void)freed;
    if (atomic_load(&g_failed)) {
        fprintf(stderr, "store_demo: FAILED\n");
        return EXIT_FAILURE;
    }
    printf("store_demo: all invariants held\n");
    return EXIT_SUCCESS;
}
