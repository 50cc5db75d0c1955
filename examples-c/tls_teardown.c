/*
 * tls_teardown: netrig called from a pthread key destructor, which runs after the thread's
 * C++/Rust thread-locals were destroyed. A C library that keeps per-thread state in a pthread
 * key may well release a netrig object there, and a failing call must then neither crash nor
 * leak its last-error text (run it under valgrind: a leak shows up as "definitely lost").
 *
 * Threads of two kinds end with a destructor that makes failing netrig calls and reads the
 * last error: threads whose earlier netrig call failed (their last error already existed) and
 * threads whose earlier call succeeded (their first failure comes in the destructor).
 *
 * Exits 0 when every call answered as expected, 1 otherwise.
 */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "netrig.h"

#define THREADS_PER_KIND 4

static pthread_key_t g_key;
static netrig_store g_store;
static int g_failures;
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;

static void fail(const char *what, netrig_status st) {
    pthread_mutex_lock(&g_lock);
    fprintf(stderr, "tls_teardown: %s: %s (%s)\n", what, netrig_status_str((int)st), netrig_last_error());
    g_failures++;
    pthread_mutex_unlock(&g_lock);
}

/* Runs at thread exit, after the thread-locals' destructors. */
static void on_thread_exit(void *value) {
    (void)value;
    int64_t v = 0;
    netrig_status st = netrig_store_get_int(g_store, "missing", &v, NULL);
    if (st != NETRIG_E_NOT_FOUND)
        fail("get_int of a missing key in a key destructor", st);
    /* The text may be empty when the thread's storage is gone, but it is a valid string. */
    const char *err = netrig_last_error();
    if (err == NULL || (err[0] != '\0' && strstr(err, "netrig_store_get_int") == NULL))
        fail("last error in a key destructor", st);
    st = netrig_store_set_int((netrig_store){0}, "k", 1, 0);
    if (st != NETRIG_E_INVALID_HANDLE)
        fail("set_int on a zero handle in a key destructor", st);
}

static void *worker(void *arg) {
    int kind = (int)(intptr_t)arg;
    int64_t v = 0;
    if (kind == 0 && netrig_store_get_int(g_store, "missing", &v, NULL) != NETRIG_E_NOT_FOUND)
        fail("get_int of a missing key", NETRIG_OK);
    if (kind == 1 && netrig_store_add_int(g_store, "counter", 1, &v) != NETRIG_OK)
        fail("add_int", NETRIG_OK);
    pthread_setspecific(g_key, &g_key); /* any non-NULL value makes the destructor run */
    return NULL;
}

int main(void) {
    if (pthread_key_create(&g_key, on_thread_exit) != 0) {
        fprintf(stderr, "tls_teardown: pthread_key_create failed\n");
        return 1;
    }
    netrig_status st = netrig_store_new(NULL, &g_store);
    if (st != NETRIG_OK) {
        fail("store_new", st);
        return 1;
    }
    pthread_t threads[2 * THREADS_PER_KIND];
    for (int i = 0; i < 2 * THREADS_PER_KIND; i++)
        if (pthread_create(&threads[i], NULL, worker, (void *)(intptr_t)(i % 2)) != 0) {
            fprintf(stderr, "tls_teardown: pthread_create failed\n");
            return 1;
        }
    for (int i = 0; i < 2 * THREADS_PER_KIND; i++)
        pthread_join(threads[i], NULL);
    netrig_store_free(g_store);
    pthread_key_delete(g_key);
    if (g_failures) {
        fprintf(stderr, "tls_teardown: FAILED (%d)\n", g_failures);
        return 1;
    }
    printf("tls_teardown: ok (%d threads called netrig from a key destructor)\n", 2 * THREADS_PER_KIND);
    return 0;
}
