/*
 * parallel_demo: the same steps on a whole fleet of devices under test, with a connection pool
 * and a bounded number of worker threads. Copy the patterns you need:
 *
 *   - a pool:        netrig_pool_new; runs take sessions from it and give them back, so a second
 *                    run reuses the first one's sessions (broken ones are closed, not reused);
 *   - a job:         targets (one netrig_device_options each) and steps (commands with their own
 *                    deadlines, a configuration set), built once and run twice;
 *   - progress:      a callback on the run's worker threads, counting with atomics (user_data
 *                    stays valid until netrig_run_wait has returned NETRIG_OK);
 *   - results:       a per-host table (state, status, duration, the first line of the output or
 *                    the error) from netrig_run_host / netrig_run_step_output / netrig_run_error,
 *                    the totals, and the whole report as JSON;
 *   - failures stay per host: a device that refuses the login, one that hangs and one that
 *                    drops the connection fail alone; the others finish at full speed.
 *
 * Usage: parallel_demo FLEET_FILE
 * FLEET_FILE lists one device per line, fields separated by spaces:
 *
 *     NAME HOST PORT USERNAME PASSWORD SECRET SHA256-FINGERPRINT FAULTS
 *
 * (SECRET "-" for none.) The devices are cisco_ios. FAULTS is "-" for a device that behaves,
 * else the fake device's faults, from which the demo knows what each host's result must be:
 * auth_always_fails (the login is refused), hang (never answers "show version"), drop (cuts the
 * connection during "show version"). examples-c/with_fleet.sh starts such a fake fleet and
 * appends the file's path:
 *
 *     ./with_fleet.sh --devices 50 --auth-failures 2 --hangs 2 --drops 1 ./build/parallel_demo-shared
 *
 * NETRIG_PARALLEL_WORKERS: worker threads (default 16).
 * NETRIG_PARALLEL_STEP_TIMEOUT_MS: deadline of "show version" (default 2000; a hanging device
 *     costs its worker this long).
 * NETRIG_PARALLEL_REPORT: write the first run's JSON report to this file.
 * Exits 0 when every host's result is what its faults imply, 1 otherwise, 2 on bad usage.
 * Every netrig handle is freed on every path.
 */
#define _POSIX_C_SOURCE 200809L

#include <inttypes.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "netrig.h"

#define STEPS 3
#define VERSION_STEP 1
#define DEFAULT_WORKERS 16
#define DEFAULT_STEP_TIMEOUT_MS 2000

static bool g_failed;

static void report_status(int line, const char *call, netrig_status st) {
    fprintf(stderr, "parallel_demo.c:%d: %s returned %s: %s\n", line, call, netrig_status_str(st),
            netrig_last_error());
    g_failed = true;
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

#define ENSURE(cond, ...)                                                   \
    do {                                                                    \
        if (!(cond)) {                                                      \
            fprintf(stderr, "parallel_demo.c:%d: unexpected: ", __LINE__);  \
            fprintf(stderr, __VA_ARGS__);                                   \
            fputc('\n', stderr);                                            \
            g_failed = true;                                                \
            goto out;                                                       \
        }                                                                   \
    } while (0)

/* One line of the fleet file, and what its faults say the run must make of it. */
struct device {
    char *line; /* the fields point into this copy of the line */
    const char *name, *host, *username, *password, *secret, *fingerprint, *faults;
    uint16_t port;
    uint32_t want_state;
    netrig_status want_status;
    int want_steps_run; /* steps that start: the others are skipped after the first failure */
};

static void free_fleet(struct device *fleet, size_t n) {
    for (size_t i = 0; i < n; i++)
        free(fleet[i].line);
    free(fleet);
}

/* What a fake device's faults do to its host in this job (commands, show version, config). */
static bool expect_from_faults(struct device *d) {
    if (strcmp(d->faults, "-") == 0) {
        d->want_state = NETRIG_STATE_OK, d->want_status = NETRIG_OK, d->want_steps_run = STEPS;
    } else if (strcmp(d->faults, "auth_always_fails") == 0) {
        d->want_state = NETRIG_STATE_FAILED, d->want_status = NETRIG_E_AUTH, d->want_steps_run = 0;
    } else if (strcmp(d->faults, "hang") == 0) {
        d->want_state = NETRIG_STATE_TIMED_OUT, d->want_status = NETRIG_E_TIMEOUT, d->want_steps_run = 2;
    } else if (strcmp(d->faults, "drop") == 0) {
        d->want_state = NETRIG_STATE_FAILED, d->want_status = NETRIG_E_CLOSED, d->want_steps_run = 2;
    } else {
        return false;
    }
    return true;
}

/* Reads the fleet file; on error prints why and returns false. */
static bool read_fleet(const char *path, struct device **out, size_t *count) {
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        perror(path);
        return false;
    }
    struct device *fleet = NULL;
    size_t n = 0, cap = 0, lineno = 0;
    char *line = NULL;
    size_t line_cap = 0;
    bool ok = false;
    while (getline(&line, &line_cap, f) != -1) {
        lineno++;
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] == '\0' || line[0] == '#')
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            struct device *bigger = realloc(fleet, cap * sizeof *fleet);
            if (bigger == NULL) {
                fprintf(stderr, "parallel_demo: out of memory\n");
                goto out;
            }
            fleet = bigger;
        }
        struct device *d = &fleet[n];
        memset(d, 0, sizeof *d);
        d->line = strdup(line);
        if (d->line == NULL) {
            fprintf(stderr, "parallel_demo: out of memory\n");
            goto out;
        }
        n++;
        const char *fields[8];
        int k = 0;
        char *save = NULL;
        for (char *t = strtok_r(d->line, " \t", &save); t != NULL && k < 8; t = strtok_r(NULL, " \t", &save))
            fields[k++] = t;
        char *end = NULL;
        long port = k == 8 ? strtol(fields[2], &end, 10) : 0;
        if (k != 8 || *end != '\0' || port < 1 || port > 65535) {
            fprintf(stderr, "%s:%zu: want NAME HOST PORT USERNAME PASSWORD SECRET FINGERPRINT FAULTS\n", path,
                    lineno);
            goto out;
        }
        d->name = fields[0], d->host = fields[1], d->port = (uint16_t)port, d->username = fields[3];
        d->password = fields[4], d->secret = strcmp(fields[5], "-") == 0 ? NULL : fields[5];
        d->fingerprint = fields[6], d->faults = fields[7];
        if (!expect_from_faults(d)) {
            fprintf(stderr, "%s:%zu: faults '%s': the demo knows -, auth_always_fails, hang and drop\n", path,
                    lineno, d->faults);
            goto out;
        }
    }
    if (n == 0) {
        fprintf(stderr, "%s: no devices\n", path);
        goto out;
    }
    ok = true;
out:
    free(line);
    fclose(f);
    if (!ok) {
        free_fleet(fleet, n);
        return false;
    }
    *out = fleet;
    *count = n;
    return true;
}

/* What the progress callback counts. It runs on the run's worker threads, several at once, so
 * everything it touches is atomic (or, like `hosts`, never written during the run). */
struct progress {
    atomic_size_t by_kind[NETRIG_EVENT_RUN_FINISHED + 1];
    atomic_size_t hosts_done;
    atomic_size_t hosts_not_ok;
    atomic_uint max_worker;
    size_t hosts;
};

static void on_event(const netrig_event *e, void *user_data) {
    struct progress *p = user_data;
    if (e->kind <= NETRIG_EVENT_RUN_FINISHED)
        atomic_fetch_add(&p->by_kind[e->kind], 1);
    unsigned seen = atomic_load(&p->max_worker);
    while (e->worker > seen && !atomic_compare_exchange_weak(&p->max_worker, &seen, e->worker)) {
    }
    if (e->kind == NETRIG_EVENT_HOST_FINISHED) {
        size_t done = atomic_fetch_add(&p->hosts_done, 1) + 1;
        size_t bad = atomic_load(&p->hosts_not_ok);
        if (e->state != NETRIG_STATE_OK)
            bad = atomic_fetch_add(&p->hosts_not_ok, 1) + 1;
        /* A few lines, not one per host: stdout is shared by all workers. */
        if (done % 10 == 0 || done == p->hosts)
            printf("  progress: %zu/%zu hosts done, %zu not ok (worker netrig-run-%u)\n", done, p->hosts, bad,
                   e->worker);
    }
}

static const char *state_name(uint32_t state) {
    switch (state) {
    case NETRIG_STATE_OK: return "ok";
    case NETRIG_STATE_FAILED: return "failed";
    case NETRIG_STATE_TIMED_OUT: return "timed_out";
    case NETRIG_STATE_CANCELLED: return "cancelled";
    case NETRIG_STATE_SKIPPED: return "skipped";
    default: return "none";
    }
}

/*
 * The error text of host `h`'s connect (step -1) or step: the library's caller-buffer
 * convention (a first try into a small buffer, then exactly the size it asked for). The caller
 * frees the result.
 */
static char *run_error(netrig_run run, size_t h, int64_t step) {
    char small[128];
    size_t len = 0;
    netrig_status st = netrig_run_error(run, h, step, small, sizeof small, &len);
    if (st == NETRIG_OK)
        return strdup(small);
    if (st != NETRIG_E_BUFFER_TOO_SMALL) {
        report_status(__LINE__, "netrig_run_error", st);
        return NULL;
    }
    char *big = malloc(len + 1);
    if (big != NULL && netrig_run_error(run, h, step, big, len + 1, &len) != NETRIG_OK) {
        free(big);
        big = NULL;
    }
    return big;
}

/* Prints `text` up to its first newline, at most `max` characters. */
static void print_first_line(const char *text, int max) {
    int n = (int)strcspn(text, "\n");
    if (n > max)
        printf("%.*s...\n", max - 3, text);
    else
        printf("%.*s\n", n, text);
}

/*
 * The per-host table (all hosts, or only those that did not succeed), each host checked against
 * what its faults imply.
 */
static bool print_table(netrig_run run, const struct device *fleet, size_t n, bool all) {
    bool ok = false;
    netrig_output out = { 0 };
    char *err = NULL;
    printf("  %-14s %-18s %-10s %-17s %7s  %s\n", "HOST", "ADDRESS", "STATE", "STATUS", "MS",
           "FIRST LINE OF SHOW VERSION, OR THE ERROR");
    for (size_t h = 0; h < n; h++) {
        netrig_host_result r;
        char addr[64];
        size_t len = 0;
        TRY(netrig_run_host(run, h, &r));
        ENSURE(r.state == fleet[h].want_state && r.status == fleet[h].want_status,
               "%s (faults: %s) ended %s/%s, want %s/%s", fleet[h].name, fleet[h].faults, state_name(r.state),
               netrig_status_str(r.status), state_name(fleet[h].want_state),
               netrig_status_str(fleet[h].want_status));
        if (!all && r.state == NETRIG_STATE_OK)
            continue;
        /* Host names ("host:port") follow the caller-buffer convention; 64 bytes hold any. */
        TRY(netrig_run_host_name(run, h, addr, sizeof addr, &len));
        printf("  %-14s %-18s %-10s %-17s %7.1f  ", fleet[h].name, addr, state_name(r.state),
               netrig_status_str(r.status), (double)r.duration_us / 1000.0);
        if (r.state == NETRIG_STATE_OK) {
            const char *text = NULL;
            TRY(netrig_run_step_output(run, h, VERSION_STEP, &out));
            TRY(netrig_output_text(out, &text, NULL));
            print_first_line(text, 61);
            TRY(netrig_output_free(out));
            out.id = 0;
        } else {
            /* The first thing that went wrong: the connect, or the first step that did not succeed. */
            int64_t where = -1;
            if (r.connect_state == NETRIG_STATE_OK) {
                for (size_t k = 0; k < r.steps; k++) {
                    netrig_step_result s;
                    TRY(netrig_run_step(run, h, k, &s));
                    if (s.state != NETRIG_STATE_OK) {
                        where = (int64_t)k;
                        break;
                    }
                }
            }
            err = run_error(run, h, where);
            ENSURE(err != NULL, "no error text for host %zu", h);
            /* The text names the host and step, then the device's own words
             * ("... device 10.0.0.5:22: the prompt after 'show version' not seen within ...");
             * the table has the host already, so it shows where and the device's words. */
            char needle[80];
            snprintf(needle, sizeof needle, "device %s: ", addr);
            const char *cause = strstr(err, needle) != NULL ? strstr(err, needle) + strlen(needle) : err;
            if (where < 0)
                printf("connect: ");
            else
                printf("step %d: ", (int)where + 1);
            print_first_line(cause, 52);
            free(err);
            err = NULL;
        }
    }
    ok = true;
out:
    if (out.id != 0)
        netrig_output_free(out);
    free(err);
    return ok;
}

/* Totals and event counts against the fleet's faults. */
static bool check_totals(netrig_run run, const struct device *fleet, size_t n, struct progress *p) {
    bool ok = false;
    size_t want_ok = 0, want_failed = 0, want_timed_out = 0, steps_started = 0;
    for (size_t h = 0; h < n; h++) {
        want_ok += fleet[h].want_state == NETRIG_STATE_OK;
        want_failed += fleet[h].want_state == NETRIG_STATE_FAILED;
        want_timed_out += fleet[h].want_state == NETRIG_STATE_TIMED_OUT;
        steps_started += (size_t)fleet[h].want_steps_run;
    }
    netrig_run_totals t;
    TRY(netrig_run_get_totals(run, &t));
    printf("  totals: %zu hosts: %zu ok, %zu failed, %zu timed out, %zu cancelled, %zu skipped; "
           "steps: %zu ok, %zu failed, %zu timed out, %zu skipped; %.0f ms wall\n",
           t.hosts, t.succeeded, t.failed, t.timed_out, t.cancelled, t.skipped, t.steps_succeeded, t.steps_failed,
           t.steps_timed_out, t.steps_skipped, (double)t.wall_us / 1000.0);
    ENSURE(t.hosts == n && t.succeeded == want_ok && t.failed == want_failed && t.timed_out == want_timed_out &&
               t.cancelled == 0 && t.skipped == 0 && !t.run_cancelled && !t.run_aborted,
           "totals differ from what the faults imply: want %zu ok, %zu failed, %zu timed out", want_ok,
           want_failed, want_timed_out);
    ENSURE(t.steps_succeeded + t.steps_failed + t.steps_timed_out == steps_started &&
               t.steps_skipped == n * STEPS - steps_started,
           "step totals: %zu steps should have run", steps_started);
    /* Every event was delivered before netrig_run_wait returned NETRIG_OK. */
    size_t want_events[NETRIG_EVENT_RUN_FINISHED + 1] = { 0, n, n, steps_started, steps_started, n, 1 };
    for (int k = NETRIG_EVENT_HOST_STARTED; k <= NETRIG_EVENT_RUN_FINISHED; k++)
        ENSURE(atomic_load(&p->by_kind[k]) == want_events[k], "event kind %d: %zu events, want %zu", k,
               atomic_load(&p->by_kind[k]), want_events[k]);
    ok = true;
out:
    return ok;
}

/* Runs the job once with the progress callback, then shows and checks the results. */
static bool run_once(netrig_job job, netrig_pool pool, const netrig_run_options *opts, const struct device *fleet,
                     size_t n, bool all_rows, const char *report_path) {
    bool ok = false;
    netrig_run run = { 0 };
    netrig_output json = { 0 };
    struct progress *p = calloc(1, sizeof *p); /* stays valid until netrig_run_wait returned NETRIG_OK */
    ENSURE(p != NULL, "out of memory");
    p->hosts = n;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    TRY(netrig_run_start(job, pool, opts, on_event, p, &run));
    TRY(netrig_run_wait(run, NETRIG_WAIT_FOREVER));
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("  run finished in %.0f ms on %u worker threads\n",
           (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6,
           atomic_load(&p->max_worker) + 1);
    if (!all_rows)
        printf("  hosts that did not succeed:\n");
    if (!print_table(run, fleet, n, all_rows) || !check_totals(run, fleet, n, p))
        goto out;

    const char *text = NULL;
    size_t len = 0;
    TRY(netrig_run_json(run, &json));
    TRY(netrig_output_text(json, &text, &len));
    if (report_path != NULL) {
        FILE *f = fopen(report_path, "w");
        ENSURE(f != NULL && fwrite(text, 1, len, f) == len && fclose(f) == 0, "cannot write %s", report_path);
        printf("  report: %zu bytes of JSON written to %s\n", len, report_path);
    } else {
        printf("  report: %zu bytes of JSON (netrig_run_json; NETRIG_PARALLEL_REPORT=FILE keeps it)\n", len);
    }
    ok = true;
out:
    if (json.id != 0)
        netrig_output_free(json);
    if (run.id != 0) {
        /* Freeing a run that is still running (after a failure above) cancels it, but its
         * workers may still call on_event until they end: wait for that before freeing `p`. */
        netrig_run_cancel(run);
        netrig_run_wait(run, NETRIG_WAIT_FOREVER);
        netrig_status st = netrig_run_free(run);
        if (st != NETRIG_OK)
            report_status(__LINE__, "netrig_run_free", st);
    }
    free(p);
    return ok;
}

static long env_number(const char *name, long fallback, long min, long max) {
    const char *text = getenv(name);
    if (text == NULL || *text == '\0')
        return fallback;
    char *end = NULL;
    long v = strtol(text, &end, 10);
    if (*end != '\0' || v < min || v > max) {
        fprintf(stderr, "parallel_demo: %s must be a number from %ld to %ld, got '%s'\n", name, min, max, text);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: parallel_demo FLEET_FILE\n"
                        "       (examples-c/with_fleet.sh --devices N ... starts a fake fleet and appends it)\n");
        return 2;
    }
    long workers = env_number("NETRIG_PARALLEL_WORKERS", DEFAULT_WORKERS, 1, 1024);
    long step_timeout = env_number("NETRIG_PARALLEL_STEP_TIMEOUT_MS", DEFAULT_STEP_TIMEOUT_MS, 1, 600000);
    const char *report_path = getenv("NETRIG_PARALLEL_REPORT");
    struct device *fleet = NULL;
    size_t n = 0;
    if (!read_fleet(argv[1], &fleet, &n))
        return 2;
    setvbuf(stdout, NULL, _IOLBF, 0);

    netrig_pool pool = { 0 };
    netrig_job job = { 0 };
    size_t good = 0, broken = 0, refused = 0;
    for (size_t h = 0; h < n; h++) {
        good += fleet[h].want_state == NETRIG_STATE_OK;
        refused += fleet[h].want_status == NETRIG_E_AUTH;
    }
    broken = n - good - refused;

    /* The pool: defaults, except at most 2 sessions per device. */
    netrig_pool_options pool_opts;
    TRY(netrig_pool_options_default(&pool_opts, sizeof pool_opts));
    pool_opts.max_per_host = 2;
    TRY(netrig_pool_new(&pool_opts, &pool));

    /* The job: every device, and three steps. Options and strings are copied by the job. */
    TRY(netrig_job_new(&job));
    for (size_t h = 0; h < n; h++) {
        netrig_device_options o;
        TRY(netrig_device_options_default(&o, sizeof o));
        o.host = fleet[h].host;
        o.port = fleet[h].port;
        o.username = fleet[h].username;
        o.password = fleet[h].password;
        o.secret = fleet[h].secret;
        o.platform = "cisco_ios";
        o.host_key_policy = NETRIG_HOSTKEY_PINNED;
        o.host_key_fingerprint = fleet[h].fingerprint;
        o.connect_timeout_ms = 20000; /* room for the SSH handshake under valgrind */
        o.timeout_ms = 20000;
        TRY(netrig_job_add_target(job, &o));
    }
    TRY(netrig_job_add_command(job, "show clock", 0));
    TRY(netrig_job_add_command(job, "show version", (uint32_t)step_timeout));
    const char *config[] = { "interface GigabitEthernet0/1", "description netrig parallel demo", "exit" };
    TRY(netrig_job_add_config(job, config, sizeof config / sizeof config[0], 0, 0));

    netrig_run_options opts;
    TRY(netrig_run_options_default(&opts, sizeof opts));
    opts.max_workers = (uint32_t)workers;
    /* opts.on_failure stays NETRIG_ON_FAILURE_SKIP_HOST: a host's failed step skips its next ones. */

    printf("netrig %s: %zu devices (%zu good, %zu refusing logins, %zu hanging or dropping), "
           "%ld workers, show version deadline %ld ms\n",
           netrig_version(), n, good, refused, broken, workers, step_timeout);
    printf("run 1 (new sessions):\n");
    if (!run_once(job, pool, &opts, fleet, n, true, report_path))
        goto out;

    /* Same job again: the good devices' sessions come back from the pool; the broken ones (timed
     * out, connection lost) were closed at check-in and are reopened. */
    printf("run 2 (the same job through the same pool):\n");
    if (!run_once(job, pool, &opts, fleet, n, false, NULL))
        goto out;
    netrig_pool_stats s;
    TRY(netrig_pool_get_stats(pool, &s));
    printf("pool: %" PRIu64 " sessions opened, %" PRIu64 " reused (hits), %" PRIu64 " closed as broken, %" PRIu64
           " failed connects, %" PRIu64 " idle now, at most %" PRIu64 " in use at once\n",
           s.created, s.hits, s.discarded_broken, s.connect_failures, s.idle, s.peak_in_use);
    ENSURE(s.created == good + 2 * broken && s.hits == good && s.discarded_broken == 2 * broken &&
               s.connect_failures == 2 * refused && s.idle == good && s.in_use == 0,
           "pool stats differ from what two runs over this fleet imply");
out:
    if (job.id != 0) {
        netrig_status st = netrig_job_free(job);
        if (st != NETRIG_OK)
            report_status(__LINE__, "netrig_job_free", st);
    }
    if (pool.id != 0) {
        /* Closes the idle sessions; a run still using the pool would keep it until it ends. */
        netrig_status st = netrig_pool_free(pool);
        if (st != NETRIG_OK)
            report_status(__LINE__, "netrig_pool_free", st);
    }
    free_fleet(fleet, n);
    if (g_failed) {
        fprintf(stderr, "parallel_demo: FAILED\n");
        return EXIT_FAILURE;
    }
    printf("parallel_demo: every host's result is what its faults imply\n");
    return EXIT_SUCCESS;
}
