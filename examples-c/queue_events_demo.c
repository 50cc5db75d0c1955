/*
 * queue_events_demo: a test station's bookkeeping in one process, kept in files that survive a
 * crash. Copy the patterns you need:
 *
 *   - a durable store and a durable work queue (netrig_store_open, netrig_queue_open);
 *   - test-execution state: netrig_test_start is atomic (NETRIG_E_BUSY for a second start);
 *   - service state with a callback subscription: a "netrig-events" thread calls you;
 *   - an event consumer thread polling a subscription (no callbacks: the ctypes way too), told
 *     to stop by a marker key written after the last result (changes of two writes arrive in
 *     the order the writes happened, so the marker comes last);
 *   - a queue worker pool: WORKERS threads claim items under a lease, write a result to the
 *     store, and complete them, or fail them for a retry; one item fails on every attempt and
 *     ends failed after max_attempts.
 *
 * Usage: queue_events_demo [directory]   (default: a fresh directory under /tmp, removed after)
 * Exits 0 when the counts of the queue, the results in the store and the events seen all agree,
 * 1 with a message and netrig_last_error() otherwise. Every handle is freed on every path, so
 * `valgrind --leak-check=full` reports no leaks.
 */
#define _XOPEN_SOURCE 700

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "netrig.h"

#define ITEMS 120
#define WORKERS 4
#define MAX_ATTEMPTS 3
/* The item that fails on every attempt. */
#define POISON 17

static atomic_bool g_failed;

static void report_status(int line, const char *call, netrig_status st) {
    fprintf(stderr, "queue_events_demo.c:%d: %s returned %s: %s\n", line, call, netrig_status_str(st),
            netrig_last_error());
    atomic_store(&g_failed, true);
}

/* Runs a netrig call; on failure reports it and evaluates to false. */
#define OK(call) ok_((call), __LINE__, #call)
static bool ok_(netrig_status st, int line, const char *call) {
    if (st != NETRIG_OK) {
        report_status(line, call, st);
        return false;
    }
    return true;
}

struct shared {
    netrig_store store;
    netrig_queue queue;
    atomic_uint completed;   /* items the workers completed */
    atomic_uint failures;    /* failed attempts (retried or final) */
    atomic_uint service_events;
};

/* ---- the event consumer: polls "result/" changes until it sees the end marker ------------- */

#define END_MARKER "result/~end"

/* Written by the consumer thread only; main reads them after pthread_join. */
struct consumer {
    netrig_subscription sub;
    unsigned results_seen; /* NETRIG_CHANGE_SET of a result/ key */
    unsigned lagged;
    bool saw_end;
};

static void *consume(void *arg) {
    struct consumer *c = arg;
    for (;;) {
        netrig_change ch = {0};
        /* A bound on the wait, so that a lost marker shows as a failure instead of a hang. */
        netrig_status st = netrig_subscription_poll(c->sub, 30000, &ch);
        if (st == NETRIG_E_LAGGED) {
            c->lagged++; /* a real UI would take a snapshot here to resynchronise */
            continue;
        }
        if (!OK(st)) {
            return NULL;
        }
        netrig_change_view v;
        bool end = false;
        if (OK(netrig_change_get(ch, &v)) && v.kind == NETRIG_CHANGE_SET) {
            end = strcmp(v.key, END_MARKER) == 0;
            if (!end && v.value.kind == NETRIG_TYPE_STR) {
                c->results_seen++;
            }
        }
        OK(netrig_change_free(ch));
        if (end) {
            c->saw_end = true;
            return NULL;
        }
    }
}

/* ---- service changes arrive on netrig's dispatcher thread ---------------------------------- */

static void on_service_change(const netrig_change_view *change, void *user_data) {
    struct shared *sh = user_data;
    if (change->kind == NETRIG_CHANGE_SET && strstr(change->key, "/running") != NULL) {
        atomic_fetch_add(&sh->service_events, 1);
    }
}

/* ---- the worker pool ------------------------------------------------------------------------ */

static void *work(void *arg) {
    struct shared *sh = arg;
    for (;;) {
        netrig_item item = {0};
        netrig_status st = netrig_queue_claim(sh->queue, 200, &item);
        if (st == NETRIG_E_TIMEOUT || st == NETRIG_E_CLOSED) {
            return NULL; /* nothing left to do */
        }
        if (!OK(st)) {
            return NULL;
        }
        const uint8_t *data = NULL;
        size_t len = 0;
        uint32_t attempt = 0;
        char dut[32] = {0};
        if (OK(netrig_item_payload(item, &data, &len)) && OK(netrig_item_attempt(item, &attempt))) {
            memcpy(dut, data, len < sizeof dut - 1 ? len : sizeof dut - 1);
            int n = atoi(dut + 4); /* payloads are "dut-<n>" */
            /* Every 10th DUT fails its first attempt; the poison one fails every time. */
            bool fail = n == POISON || (n % 10 == 3 && attempt == 1);
            if (fail) {
                uint32_t now = 0;
                OK(netrig_queue_fail(sh->queue, item, true, "link did not come up", &now));
                atomic_fetch_add(&sh->failures, 1);
            } else {
                char key[64];
                snprintf(key, sizeof key, "result/%s", dut);
                if (OK(netrig_store_set_str(sh->store, key, "pass", NETRIG_TTL_NEVER)) &&
                    OK(netrig_queue_complete(sh->queue, item))) {
                    atomic_fetch_add(&sh->completed, 1);
                }
            }
        }
        OK(netrig_item_free(item));
    }
}

static bool run(const char *dir) {
    char store_path[512], queue_path[512];
    snprintf(store_path, sizeof store_path, "%s/station.db", dir);
    snprintf(queue_path, sizeof queue_path, "%s/uploads.db", dir);

    struct shared sh = {0};
    struct consumer cons = {0};
    netrig_subscription services = {0};
    bool ok = false;

    if (!OK(netrig_store_open(store_path, NULL, NETRIG_DURABLE_PROCESS_CRASH, &sh.store))) {
        return false;
    }
    netrig_queue_options qo;
    OK(netrig_queue_options_default(&qo, sizeof qo));
    qo.max_attempts = MAX_ATTEMPTS;
    qo.lease_ms = 5000;
    if (!OK(netrig_queue_open(queue_path, "results", &qo, NETRIG_DURABLE_PROCESS_CRASH, &sh.queue))) {
        goto out;
    }

    /* Watch results by polling, and services through a callback. */
    if (!OK(netrig_store_subscribe(sh.store, "result/", 4 * ITEMS, &cons.sub, NULL)) ||
        !OK(netrig_store_subscribe_callback(sh.store, "netrig/service/", 0, on_service_change, &sh,
                                            &services, NULL))) {
        goto out;
    }
    pthread_t consumer;
    if (pthread_create(&consumer, NULL, consume, &cons) != 0) {
        fprintf(stderr, "cannot start the consumer thread\n");
        goto out;
    }

    /* One test at a time: a second start is refused while the first runs. */
    netrig_test_info info;
    const char *names[] = {"operator"};
    const char *values[] = {"queue_events_demo"};
    bool started = OK(netrig_test_start(sh.store, "burn_in.sh", (int64_t)getpid(), "burnin", "4x100G",
                                        names, values, 1, &info));
    netrig_status again = netrig_test_start(sh.store, "other.sh", 1, "x", "y", NULL, NULL, 0, NULL);
    if (again != NETRIG_E_BUSY) {
        fprintf(stderr, "a second test start returned %s, not NETRIG_E_BUSY\n", netrig_status_str(again));
        atomic_store(&g_failed, true);
    } else {
        printf("second test start refused as expected: %s\n", netrig_last_error());
    }
    OK(netrig_service_set(sh.store, "uploader", 1, "4 workers"));

    for (int i = 0; i < ITEMS && started; i++) {
        char payload[32];
        int n = snprintf(payload, sizeof payload, "dut-%d", i);
        /* Odd DUTs are urgent: they are claimed first. */
        if (!OK(netrig_queue_push(sh.queue, (const uint8_t *)payload, (size_t)n, i % 2, NULL))) {
            break;
        }
    }

    pthread_t workers[WORKERS];
    int started_workers = 0;
    for (; started_workers < WORKERS; started_workers++) {
        if (pthread_create(&workers[started_workers], NULL, work, &sh) != 0) {
            break;
        }
    }
    for (int i = 0; i < started_workers; i++) {
        pthread_join(workers[i], NULL);
    }
    OK(netrig_service_set(sh.store, "uploader", 0, "idle"));
    if (started) {
        OK(netrig_test_stop(sh.store, &info));
    }

    /* Every worker has returned, so every result write has returned: the marker written now
       reaches the consumer after all of their changes, and the consumer stops at it. */
    OK(netrig_store_set_bool(sh.store, END_MARKER, true, NETRIG_TTL_NEVER));
    pthread_join(consumer, NULL);
    unsigned seen = cons.results_seen;
    if (!cons.saw_end) {
        fprintf(stderr, "the consumer stopped before the end marker\n");
        atomic_store(&g_failed, true);
    }

    netrig_queue_counts counts;
    char test_json[512];
    size_t json_len = 0;
    if (OK(netrig_queue_get_counts(sh.queue, &counts)) &&
        OK(netrig_test_json(sh.store, test_json, sizeof test_json, &json_len))) {
        unsigned completed = atomic_load(&sh.completed);
        printf("queue: %" PRIu64 " completed, %" PRIu64 " failed, %" PRIu64 " pending, %" PRIu64
               " processing; %u failed attempts\n",
               counts.completed, counts.failed, counts.pending, counts.processing, atomic_load(&sh.failures));
        printf("events: %u result changes seen by the consumer thread (%u lag marks), %u service changes "
               "by callback\n",
               seen, cons.lagged, atomic_load(&sh.service_events));
        printf("test state: %s\n", test_json);
        bool agree = counts.completed == ITEMS - 1 && counts.failed == 1 && counts.pending == 0 &&
                     counts.processing == 0 && completed == ITEMS - 1 && seen == completed &&
                     atomic_load(&sh.failures) == MAX_ATTEMPTS + (ITEMS / 10);
        if (!agree) {
            fprintf(stderr, "counts disagree (expected %d completed, 1 failed, every result seen)\n", ITEMS - 1);
            atomic_store(&g_failed, true);
        }
        ok = agree;
    }

out:
    if (services.id != 0) {
        /* Delivers the changes written before it (the last "running" = 0 too) and waits for
           the callback to return: `sh` may go out of scope after this. */
        OK(netrig_subscription_free(services));
    }
    if (atomic_load(&sh.service_events) != 2 && ok) {
        fprintf(stderr, "expected 2 service changes by callback, got %u\n", atomic_load(&sh.service_events));
        ok = false;
    }
    if (cons.sub.id != 0) {
        OK(netrig_subscription_free(cons.sub));
    }
    if (sh.queue.id != 0) {
        OK(netrig_queue_free(sh.queue));
    }
    OK(netrig_store_free(sh.store));
    return ok && !atomic_load(&g_failed);
}

/* Removes what the demo wrote into a temporary directory (SQLite's -wal and -shm files may be
   gone already: the last connection to close removes them). */
static void remove_temp(const char *dir) {
    const char *files[] = {"station.db", "station.db-wal", "station.db-shm",
                           "uploads.db", "uploads.db-wal", "uploads.db-shm"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        unlink(path);
    }
    if (rmdir(dir) != 0) {
        perror(dir);
    }
}

int main(int argc, char **argv) {
    char dir[256] = "/tmp/netrig-queue-demo-XXXXXX";
    bool temp = argc < 2;
    if (temp && mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    bool ok = run(temp ? dir : argv[1]);
    if (temp) {
        remove_temp(dir);
    }
    puts(ok ? "queue_events_demo: OK" : "queue_events_demo: FAILED");
    return ok ? 0 : 1;
}
