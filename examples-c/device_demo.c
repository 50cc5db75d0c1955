/*
 * device_demo: one SSH session to a device under test, shared by eight threads. Copy the
 * patterns you need:
 *
 *   - open:           cisco_ios platform, pinned host key fingerprint, enable secret;
 *   - one handle, many threads: operations on a device run one at a time, so every thread gets
 *                     exactly its own command's output, never a mix of two;
 *   - cancel:         a command that never completes is stopped from another thread with
 *                     netrig_device_cancel (NETRIG_E_CANCELLED within 100 ms) and the session
 *                     goes on; the threads queued behind it then run;
 *   - try_:           netrig_device_try_send_command returns NETRIG_E_BUSY instead of waiting;
 *   - config sets:    a rejected line returns NETRIG_E_COMMAND, and netrig_last_error() names it;
 *   - a hung device:  the device itself stops answering ("show hang" on the fake fleet): cancel
 *                     still returns at once, is_alive then says false, and the handle is freed.
 *
 * Usage: device_demo HOST PORT USERNAME PASSWORD SECRET SHA256-FINGERPRINT
 * The expected outputs are those of the fake cisco_ios device of tests/fakedev, configured to
 * hang on "show hang"; examples-c/with_fleet.sh starts one and appends the six arguments:
 *
 *     ./with_fleet.sh ./build/device_demo-shared
 *
 * NETRIG_DEVICE_DEMO_ITERS: commands per thread (default 20; the Makefile uses 4 under valgrind).
 * Exits 0 when every result was the expected one, 1 (with netrig_last_error()) otherwise.
 * Every netrig_output and netrig_device is freed on every path.
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
#define DEFAULT_ITERS 20
/* How long the hung command runs before another thread cancels it. */
#define CANCEL_AFTER_MS 200
/* The promise of netrig_device_cancel's doc. */
#define CANCEL_LIMIT_MS 100.0

/* The fake cisco_ios device's answers. */
#define CLOCK_TEXT "*10:42:13.123 UTC Sat Nov 21 2026\n"
#define VERSION_FIRST_LINE "Cisco IOS Software"
/* The fake device answers this command with its output but never with a prompt again. */
#define HANG_COMMAND "show hang"

static atomic_bool g_failed;

static void report_status(int line, const char *call, netrig_status st) {
    fprintf(stderr, "device_demo.c:%d: %s returned %s: %s\n", line, call, netrig_status_str(st),
            netrig_last_error());
    atomic_store(&g_failed, true);
}

/* Both macros jump to the function's `out:` label, which frees what the function holds. */
#define TRY(call)                                \
    do {                                         \
        netrig_status st_ = (call);              \
        if (st_ != NETRIG_OK) {                  \
            report_status(__LINE__, #call, st_); \
            goto out;                            \
        }                                        \
    } while (0)

#define ENSURE(cond, ...)                                                  \
    do {                                                                   \
        if (!(cond)) {                                                     \
            fprintf(stderr, "device_demo.c:%d: unexpected: ", __LINE__);   \
            fprintf(stderr, __VA_ARGS__);                                  \
            fputc('\n', stderr);                                           \
            atomic_store(&g_failed, true);                                 \
            goto out;                                                      \
        }                                                                  \
    } while (0)

/* Frees a result (a zero handle is "none") and zeroes the variable. */
static void free_output(netrig_output *out) {
    if (out->id != 0) {
        netrig_status st = netrig_output_free(*out);
        if (st != NETRIG_OK)
            report_status(__LINE__, "netrig_output_free", st);
        out->id = 0;
    }
}

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void sleep_ms(long ms) {
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
    }
}

/* The output of `command`, checked for exact equality with `want`. */
static bool run_checked(netrig_device dev, const char *command, const char *want) {
    bool ok = false;
    netrig_output out = { 0 };
    const char *text = NULL;
    size_t len = 0;
    TRY(netrig_device_send_command(dev, command, 0, &out));
    TRY(netrig_output_text(out, &text, &len));
    ENSURE(len == strlen(want) && memcmp(text, want, len) == 0,
           "'%s' returned %zu bytes that differ from the %zu expected; got:\n%.*s", command, len, strlen(want),
           (int)len, text);
    ok = true;
out:
    free_output(&out);
    return ok;
}

struct worker {
    netrig_device dev;
    int index;
    long iters;
    const char *version; /* the reference "show version" output */
    long checked;
};

static void *worker_main(void *arg) {
    struct worker *w = arg;
    for (long i = 0; i < w->iters && !atomic_load(&g_failed); i++) {
        /* Threads alternate in opposite phase, so the two commands really are interleaved. */
        bool clock = (i + w->index) % 2 == 0;
        if (!run_checked(w->dev, clock ? "show clock" : "show version", clock ? CLOCK_TEXT : w->version))
            break;
        w->checked++;
    }
    return NULL;
}

/* A command that does not complete, run on its own thread. */
struct hung {
    netrig_device dev;
    const char *command;
    const char *expect; /* NULL: wait for the prompt */
    netrig_status status;
    netrig_output out; /* stays { 0 }: out-parameters are written only on success */
    double returned_at;
};

static void *hung_main(void *arg) {
    struct hung *h = arg;
    /* A generous deadline: the cancel ends the call long before it. */
    if (h->expect != NULL)
        h->status = netrig_device_send_command_expect(h->dev, h->command, h->expect, 20000, &h->out);
    else
        h->status = netrig_device_send_command(h->dev, h->command, 20000, &h->out);
    h->returned_at = now_ms();
    if (h->status != NETRIG_E_CANCELLED)
        fprintf(stderr, "hung command '%s' returned %s: %s\n", h->command, netrig_status_str(h->status),
                netrig_last_error());
    return NULL;
}

struct canceller {
    netrig_device dev;
    netrig_status status;
    double cancelled_at;
};

static void *canceller_main(void *arg) {
    struct canceller *c = arg;
    sleep_ms(CANCEL_AFTER_MS);
    c->cancelled_at = now_ms();
    c->status = netrig_device_cancel(c->dev);
    if (c->status != NETRIG_OK)
        fprintf(stderr, "netrig_device_cancel returned %s: %s\n", netrig_status_str(c->status), netrig_last_error());
    return NULL;
}

/*
 * Returns once the operation started on another thread holds the device: until then
 * netrig_device_try_send_command gets in first (and its output is checked), afterwards it gets
 * NETRIG_E_BUSY without waiting.
 */
static bool wait_until_busy(netrig_device dev, bool print) {
    bool ok = false;
    netrig_output out = { 0 };
    double start = now_ms();
    for (;;) {
        netrig_status st = netrig_device_try_send_command(dev, "show clock", 0, &out);
        if (st == NETRIG_E_BUSY) {
            if (print)
                printf("try_send_command while it runs: %s (%s)\n", netrig_status_str(st), netrig_last_error());
            break;
        }
        TRY(st);
        free_output(&out);
        ENSURE(now_ms() - start < 10000, "the other thread's operation never started");
        sleep_ms(1);
    }
    ok = true;
out:
    free_output(&out);
    return ok;
}

/* Checks a cancelled command: the status, the out-parameter left alone, the latency. */
static bool check_cancelled(const struct hung *h, const struct canceller *c, double *latency_ms) {
    bool ok = false;
    ENSURE(c->status == NETRIG_OK, "netrig_device_cancel returned %s", netrig_status_str(c->status));
    ENSURE(h->status == NETRIG_E_CANCELLED, "the hung command returned %s, want NETRIG_E_CANCELLED",
           netrig_status_str(h->status));
    ENSURE(h->out.id == 0, "a failed call wrote its out-parameter");
    *latency_ms = h->returned_at - c->cancelled_at;
    ENSURE(*latency_ms >= 0.0 && *latency_ms < CANCEL_LIMIT_MS,
           "the hung command returned %.1f ms after the cancel, the limit is %.0f ms", *latency_ms,
           CANCEL_LIMIT_MS);
    ok = true;
out:
    return ok;
}

/*
 * Eight threads share `dev`. Before they start, another thread's command is stuck waiting for
 * text the device never sends (an expect pattern that never matches: the same wait as a device
 * that never answers), so the eight queue behind it until a canceller thread stops it.
 */
static bool threads_and_cancel(netrig_device dev, const char *version, long iters) {
    bool ok = false;
    struct hung hung = { .dev = dev, .command = "show clock", .expect = "SYSTEM READY" };
    struct canceller canceller = { .dev = dev };
    struct worker workers[THREADS];
    pthread_t hung_thread, canceller_thread, threads[THREADS];
    bool hung_started = false, canceller_started = false;
    int started = 0;
    double latency = 0;
    memset(workers, 0, sizeof workers);

    int rc = pthread_create(&hung_thread, NULL, hung_main, &hung);
    ENSURE(rc == 0, "pthread_create: %s", strerror(rc));
    hung_started = true;
    if (!wait_until_busy(dev, true))
        goto out;
    for (int t = 0; t < THREADS; t++) {
        workers[t] = (struct worker){ .dev = dev, .index = t, .iters = iters, .version = version };
        rc = pthread_create(&threads[t], NULL, worker_main, &workers[t]);
        ENSURE(rc == 0, "pthread_create: %s", strerror(rc));
        started++;
    }
    rc = pthread_create(&canceller_thread, NULL, canceller_main, &canceller);
    ENSURE(rc == 0, "pthread_create: %s", strerror(rc));
    canceller_started = true;
    ok = true;
out:
    if (canceller_started)
        pthread_join(canceller_thread, NULL);
    else if (hung_started)
        netrig_device_cancel(dev); /* setting up failed: do not wait out the deadline */
    if (hung_started)
        pthread_join(hung_thread, NULL);
    for (int t = 0; t < started; t++)
        pthread_join(threads[t], NULL);
    free_output(&hung.out);
    if (!ok || atomic_load(&g_failed) || !check_cancelled(&hung, &canceller, &latency))
        return false;

    long checked = 0;
    for (int t = 0; t < THREADS; t++)
        checked += workers[t].checked;
    printf("cancel: the hung command returned %s %.1f ms after netrig_device_cancel (limit %.0f ms)\n",
           netrig_status_str(hung.status), latency, CANCEL_LIMIT_MS);
    printf("threads: %d threads x %ld commands on one handle, queued behind the hung one: %ld outputs, "
           "each exactly its command's\n",
           THREADS, iters, checked);
    return checked == (long)THREADS * iters;
}

/* A configuration set whose third line the device rejects. */
static bool rejected_config_line(netrig_device dev) {
    bool ok = false;
    netrig_output out = { 0 };
    const char *lines[] = { "interface GigabitEthernet0/1", "description uplink to core", "bogus shutdown-all",
                            "exit" };
    netrig_status st = netrig_device_send_config_set(dev, lines, sizeof lines / sizeof lines[0], 0, 0, &out);
    ENSURE(st == NETRIG_E_COMMAND, "send_config_set returned %s, want NETRIG_E_COMMAND (%s)",
           netrig_status_str(st), netrig_last_error());
    const char *err = netrig_last_error();
    printf("config set: %s: %s\n", netrig_status_str(st), err);
    ENSURE(strstr(err, "config line 3 'bogus shutdown-all'") != NULL, "the last error does not name line 3");
    ENSURE(out.id == 0, "a failed call wrote its out-parameter");
    ok = true;
out:
    free_output(&out);
    return ok;
}

/* A second session to the same device runs the command the device hangs on. */
static bool device_that_hangs(const netrig_device_options *opts) {
    bool ok = false;
    netrig_device dev = { 0 };
    struct hung hung = { .command = HANG_COMMAND };
    struct canceller canceller = { 0 };
    pthread_t hung_thread, canceller_thread;
    bool hung_started = false, canceller_started = false;
    double latency = 0;
    bool alive = true;

    TRY(netrig_device_open(opts, &dev));
    hung.dev = canceller.dev = dev;
    int rc = pthread_create(&hung_thread, NULL, hung_main, &hung);
    ENSURE(rc == 0, "pthread_create: %s", strerror(rc));
    hung_started = true;
    if (!wait_until_busy(dev, false))
        goto out;
    rc = pthread_create(&canceller_thread, NULL, canceller_main, &canceller);
    ENSURE(rc == 0, "pthread_create: %s", strerror(rc));
    canceller_started = true;
    pthread_join(canceller_thread, NULL);
    pthread_join(hung_thread, NULL);
    canceller_started = hung_started = false;
    if (!check_cancelled(&hung, &canceller, &latency))
        goto out;
    /* The call was stopped, but the device itself no longer answers. */
    TRY(netrig_device_is_alive(dev, 300, &alive));
    ENSURE(!alive, "is_alive says true after the device hung");
    printf("hung device: '%s' returned %s %.1f ms after the cancel; is_alive then says false, so the "
           "handle is freed\n",
           HANG_COMMAND, netrig_status_str(hung.status), latency);
    ok = true;
out:
    if (hung_started) {
        if (!canceller_started)
            netrig_device_cancel(dev);
        else
            pthread_join(canceller_thread, NULL);
        pthread_join(hung_thread, NULL);
    }
    free_output(&hung.out);
    if (dev.id != 0) {
        netrig_status st = netrig_device_free(dev);
        if (st != NETRIG_OK) {
            report_status(__LINE__, "netrig_device_free(hung session)", st);
            ok = false;
        }
    }
    return ok;
}

static long iterations(void) {
    const char *text = getenv("NETRIG_DEVICE_DEMO_ITERS");
    if (text == NULL || *text == '\0')
        return DEFAULT_ITERS;
    char *end = NULL;
    long n = strtol(text, &end, 10);
    if (*end != '\0' || n < 1 || n > 1000000L) {
        fprintf(stderr, "device_demo: NETRIG_DEVICE_DEMO_ITERS must be a number from 1 to 1000000, got '%s'\n",
                text);
        exit(2);
    }
    return n;
}

int main(int argc, char **argv) {
    if (argc != 7) {
        fprintf(stderr,
                "usage: device_demo HOST PORT USERNAME PASSWORD SECRET SHA256-FINGERPRINT\n"
                "       (examples-c/with_fleet.sh starts a fake device and appends these)\n");
        return 2;
    }
    char *end = NULL;
    long port = strtol(argv[2], &end, 10);
    if (*end != '\0' || port < 1 || port > 65535) {
        fprintf(stderr, "device_demo: PORT must be a number from 1 to 65535, got '%s'\n", argv[2]);
        return 2;
    }
    long iters = iterations();
    netrig_device dev = { 0 };
    netrig_output out = { 0 };
    char *version = NULL;
    setvbuf(stdout, NULL, _IOLBF, 0);

    /* Start from the defaults so that fields added later keep theirs. Strings are copied. */
    netrig_device_options opts;
    TRY(netrig_device_options_default(&opts, sizeof opts));
    opts.host = argv[1];
    opts.port = (uint16_t)port;
    opts.username = argv[3];
    opts.password = argv[4];
    opts.secret = argv[5]; /* open enters enable mode with it */
    opts.platform = "cisco_ios";
    opts.host_key_policy = NETRIG_HOSTKEY_PINNED;
    opts.host_key_fingerprint = argv[6];
    opts.connect_timeout_ms = 20000; /* room for the SSH handshake under valgrind */

    printf("netrig %s: device %s:%ld\n", netrig_version(), opts.host, port);
    TRY(netrig_device_open(&opts, &dev));

    const char *text = NULL;
    size_t len = 0;
    uint64_t us = 0;
    TRY(netrig_device_send_command(dev, "show version", 0, &out));
    TRY(netrig_output_text(out, &text, &len));
    TRY(netrig_output_elapsed_us(out, &us));
    ENSURE(strncmp(text, VERSION_FIRST_LINE, strlen(VERSION_FIRST_LINE)) == 0, "show version starts with: %.60s",
           text);
    printf("show version: \"%.*s\" (%zu bytes in %" PRIu64 " us)\n", (int)strcspn(text, "\n"), text, len, us);
    /* The reference the threads compare against; the text is ours only until netrig_output_free. */
    version = strdup(text);
    ENSURE(version != NULL, "out of memory");
    free_output(&out);

    if (!threads_and_cancel(dev, version, iters))
        goto out;
    /* The cancelled session is usable again. */
    if (!run_checked(dev, "show clock", CLOCK_TEXT))
        goto out;
    printf("after the cancel: show clock on the same handle answered exactly\n");

    if (!rejected_config_line(dev))
        goto out;
    if (!device_that_hangs(&opts))
        goto out;
    /* Another session's hang does not touch this one. */
    if (!run_checked(dev, "show version", version))
        goto out;
out:
    free_output(&out);
    if (dev.id != 0) {
        netrig_status st = netrig_device_free(dev);
        if (st != NETRIG_OK)
            report_status(__LINE__, "netrig_device_free(dev)", st);
    }
    free(version);
    if (atomic_load(&g_failed)) {
        fprintf(stderr, "device_demo: FAILED\n");
        return EXIT_FAILURE;
    }
    printf("device_demo: all checks passed\n");
    return EXIT_SUCCESS;
}
