/*
 * netrig — thread-safe SSH connections to devices under test, a connection pool and parallel
 * runner, and a thread-safe status store, behind one C ABI.
 *
 * Conventions every function follows:
 *
 * STATUS   Every function that can fail returns netrig_status: NETRIG_OK (0) or one specific
 *          cause. netrig_status_str(s) names it; netrig_last_error() gives the text of the last
 *          failure on the calling thread, with context, e.g.
 *          "netrig_store_get_int: key 'dut1/temp' has type str, not int".
 *          Threads never see each other's errors.
 *
 * HANDLES  Objects are opaque handles, structs of one uint64_t id, one type per kind
 *          (netrig_store, netrig_batch, netrig_snapshot, netrig_strlist, netrig_device,
 *          netrig_output, netrig_pool, netrig_job, netrig_run, netrig_subscription,
 *          netrig_change, netrig_queue, netrig_item). They are never
 *          pointers: a zero, freed, double-freed or wrong-kind handle is detected and returns
 *          NETRIG_E_INVALID_HANDLE, never undefined behaviour. Free each with its _free function.
 *
 * STRINGS  Strings in are NUL-terminated UTF-8 (`const char *`); invalid UTF-8 returns
 * IN       NETRIG_E_UTF8. Bytes in are pointer + length (the pointer may be NULL when the length
 *          is 0). Every input is borrowed for the duration of the call and copied if kept.
 *
 * OUTPUTS  Out-parameters are written only when the call returns NETRIG_OK. Optional ones say
 *          "may be NULL"; every other NULL pointer returns NETRIG_E_NULL_ARG.
 *          Small strings and bytes go into the caller's buffer (buf, buf_len) and the length
 *          into *out_len (without the NUL). If the buffer is too small the call returns
 *          NETRIG_E_BUFFER_TOO_SMALL and still sets *out_len, so the caller can retry with
 *          *out_len + 1 bytes for a string (*out_len for bytes). buf may be NULL when buf_len is 0.
 *          Outputs that can be large (snapshots, key lists, device output, run reports) are
 *          library-owned result objects: read them through their accessors, whose pointers
 *          stay valid until the object's _free. (One documented exception to "written only
 *          on success": netrig_pool_prewarm fills its per-target statuses also when some
 *          targets failed.) Static strings (netrig_version, netrig_status_str) are never freed, and
 *          netrig_last_error's text lives until the next failing call on the same thread.
 *
 * OPTIONS  The options structs (netrig_store_options, netrig_device_options, netrig_pool_options,
 *          netrig_run_options, netrig_queue_options) can grow: each starts with a size_t
 *          struct_size, and new fields are only ever added at the end. Fill one with its
 *          _default function, passing its size, then set what you need:
 *              netrig_pool_options o;
 *              netrig_pool_options_default(&o, sizeof o);   (o.struct_size = sizeof o)
 *              o.max_per_host = 2;
 *          A function that takes the struct reads only its first struct_size bytes and gives
 *          every field beyond them its default, so a program built against an older netrig.h
 *          runs unchanged on a newer library. A struct_size below sizeof(size_t) (0: the struct
 *          was never filled) or above the library's own struct (a newer header than the library)
 *          is NETRIG_E_INVALID_ARG, and so is the same size passed to a _default function. The
 *          elements of an array of options (netrig_pool_prewarm's targets) are struct_size bytes
 *          apart and all have the same struct_size. Where a function accepts NULL options, NULL
 *          means every default.
 *
 * ABI      Within a major version (NETRIG_VERSION_MAJOR; the shared library's SONAME is
 *          libnetrig.so.<major>) functions, constants, statuses and trailing option fields are
 *          only added, never changed or removed. Any break changes the major.
 *
 * THREADS  Every function may be called from any thread at any time, on any handle. Each
 *          function's doc says whether and how long it blocks. No netrig call does I/O while
 *          holding a lock another caller needs.
 *
 * PANICS   A bug inside netrig never unwinds into your code or aborts your process: the call
 *          returns NETRIG_E_PANIC with the panic message and its source location in
 *          netrig_last_error() (nothing is printed), and the object stays usable (a device whose
 *          operation panicked reports NETRIG_E_CLOSED afterwards: its session state is unknown).
 *
 * DEVICES  One operation runs at a time per device, holding the device for its whole length;
 *          others wait up to their own deadline (timeout_ms, 0 = the device's default) or get
 *          NETRIG_E_BUSY from a try_ form. netrig_device_cancel from any thread stops a running
 *          operation within 100 ms. Different devices never wait on each other.
 *
 * POOL     netrig_pool_checkout returns an ordinary netrig_device handle holding a session lent
 *          by the pool; netrig_device_free gives it back (or closes it when it is broken or
 *          another thread still uses it), netrig_pool_discard closes it on purpose. Sessions
 *          are keyed by (host, port, username, platform); connects, health checks and closes
 *          never happen under the pool's lock, so one slow device never delays another's
 *          checkout.
 *
 * RUNNER   A netrig_job lists targets and steps; netrig_run_start copies it and runs it on a
 *          bounded number of worker threads ("netrig-run-<n>"). Progress comes as events:
 *          a callback on the worker threads (never under a netrig lock; see netrig_run_start
 *          for what it may do and how long user_data must live), or a queue polled with
 *          netrig_run_next_event. Results by host and step are read once netrig_run_wait
 *          returned NETRIG_OK (NETRIG_E_BUSY before). Hosts and steps are indexed from 0 in
 *          the order they were added to the job.
 *
 * EVENTS   netrig_store_subscribe gives a subscription to the changes (set, delete, expire)
 *          of keys under a prefix, with its own bounded queue: poll it from any thread with
 *          netrig_subscription_poll (no foreign-thread callbacks, the ctypes-friendly way), or
 *          use netrig_store_subscribe_callback to have a "netrig-events" thread call you. A full
 *          queue never slows writers: changes are dropped and the subscriber sees
 *          NETRIG_E_LAGGED (or a NETRIG_CHANGE_LAGGED call) where they were.
 *
 * STATE    Test-execution state (netrig_test_*) and service state (netrig_service_*) are store
 *          keys under "netrig/test/" and "netrig/service/<name>/", changed atomically with
 *          batches and version checks: subscribe to those prefixes to watch them.
 *
 * DURABLE  netrig_store_open and netrig_queue_open keep a store or queue in a SQLite file: a
 *          call that returned NETRIG_OK is in the file and survives kill -9
 *          (NETRIG_DURABLE_PROCESS_CRASH) or power loss too (NETRIG_DURABLE_POWER_LOSS).
 *          In-memory stores and queues (netrig_store_new, netrig_queue_new) are the default.
 *
 * QUEUE    A netrig_queue holds items (bytes plus an int32 priority) in memory
 *          (netrig_queue_new) or in a SQLite file (netrig_queue_open). netrig_queue_claim
 *          hands the next pending item (highest priority, then oldest) to exactly one caller,
 *          as a netrig_item handle holding a lease. Settle it with netrig_queue_complete or
 *          netrig_queue_fail, renew it with netrig_queue_extend, or let the lease run out: the
 *          item is then pending again, or failed once it has had max_attempts claims. A settle
 *          after the lease ended returns NETRIG_E_LEASE and changes nothing. Claims wait on a
 *          condition variable (no polling) up to timeout_ms (0 = only look,
 *          NETRIG_WAIT_FOREVER = no limit), and return NETRIG_E_CLOSED at once when the queue
 *          is closed or freed. A netrig_item is an immutable copy (id, payload, priority,
 *          attempt, lease token) that stays readable after its queue is freed; freeing it
 *          does not settle it. On a durable queue, every call that returned NETRIG_OK is in
 *          the file (it waits for a commit shared with concurrent callers); items that were
 *          claimed when the process ended are pending again on reopen, their attempt counted.
 *          The snapshot is JSON copied into the caller's buffer (see netrig_queue_snapshot_json
 *          for the retry loop); netrig_queue_get_counts gives the counts alone, cheaply.
 *
 * TTL      ttl_ms arguments: NETRIG_TTL_DEFAULT (-1) uses the store's default TTL,
 *          NETRIG_TTL_NEVER (0) never expires, a positive number expires that many ms after the
 *          write, on a monotonic clock.
 */


#ifndef NETRIG_H
#define NETRIG_H

/* Generated by cbindgen from the Rust sources (`make header`, tools/header). Do not edit; edit src/ffi and run `make header`. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/**
 * Library version, kept equal to the crate version (a test checks it).
 */
#define NETRIG_VERSION_MAJOR 0

#define NETRIG_VERSION_MINOR 1

#define NETRIG_VERSION_PATCH 0

/**
 * `timeout_ms` of the functions that wait (`netrig_run_wait`, `netrig_run_next_event`,
 * `netrig_subscription_poll`, `netrig_queue_claim`): no limit.
 */
#define NETRIG_WAIT_FOREVER 4294967295

/**
 * File transfer over SFTP.
 */
#define NETRIG_PROTOCOL_SFTP 0

/**
 * File transfer over SCP.
 */
#define NETRIG_PROTOCOL_SCP 1

/**
 * `netrig_device_send_config_set` flag: stay in configuration mode at the end.
 */
#define NETRIG_CONFIG_STAY 1

/**
 * `netrig_device_send_config_set` flag: `commit` after the lines (Junos-style platforms).
 */
#define NETRIG_CONFIG_COMMIT 2

/**
 * `netrig_device_send_config_set` flag: `commit check` after the lines (Junos-style platforms).
 */
#define NETRIG_CONFIG_COMMIT_CHECK 4

/**
 * `netrig_command_options.check`: the device's `check_errors` decides.
 */
#define NETRIG_CHECK_DEFAULT 0

/**
 * `netrig_command_options.check`: an output with an error line fails with NETRIG_E_COMMAND.
 */
#define NETRIG_CHECK_ON 1

/**
 * `netrig_command_options.check`: an output with an error line is returned, with
 * `netrig_output_failed` true.
 */
#define NETRIG_CHECK_OFF 2

/**
 * `netrig_device_prompt` mode: unprivileged (user) mode, a prompt such as "R1>".
 */
#define NETRIG_MODE_USER 0

/**
 * `netrig_device_prompt` mode: privileged mode ("R1#"); also a platform with no user mode.
 */
#define NETRIG_MODE_PRIVILEGED 1

/**
 * `netrig_device_prompt` mode: configuration mode, any sub-mode ("R1(config-if)#").
 */
#define NETRIG_MODE_CONFIG 2

/**
 * Host key policy: the key must be in the known_hosts file (the default).
 */
#define NETRIG_HOSTKEY_STRICT 0

/**
 * Host key policy: the key's SHA-256 fingerprint must equal `host_key_fingerprint`.
 */
#define NETRIG_HOSTKEY_PINNED 1

/**
 * Host key policy: record an unknown host's key in known_hosts; refuse a changed one.
 */
#define NETRIG_HOSTKEY_ACCEPT_NEW 2

/**
 * Host key policy: trust any key. For throw-away lab setups only.
 */
#define NETRIG_HOSTKEY_INSECURE_ACCEPT_ANY 3

/**
 * `netrig_change_view.kind`: the key was written (value and version are the new ones).
 */
#define NETRIG_CHANGE_SET 1

/**
 * `netrig_change_view.kind`: the key was deleted (value and version are the removed ones).
 */
#define NETRIG_CHANGE_DELETE 2

/**
 * `netrig_change_view.kind`: the key's TTL ran out (value and version are the expired ones).
 */
#define NETRIG_CHANGE_EXPIRE 3

/**
 * `netrig_change_view.kind`, callbacks only: `missed` events were dropped here because the
 * queue was full (key is "" and value is unset). Pollers get NETRIG_E_LAGGED instead.
 */
#define NETRIG_CHANGE_LAGGED 4

/**
 * Item status written by `netrig_queue_fail`: waiting to be claimed.
 */
#define NETRIG_ITEM_PENDING 1

/**
 * Item status: claimed, under a lease.
 */
#define NETRIG_ITEM_PROCESSING 2

/**
 * Item status: kept from claims until `netrig_queue_resume`.
 */
#define NETRIG_ITEM_SUSPENDED 3

/**
 * Item status: out of attempts, or failed without retry; kept until
 * `netrig_queue_retry_failed` or `netrig_queue_purge_failed`.
 */
#define NETRIG_ITEM_FAILED 4

/**
 * Longest error text `netrig_queue_fail` keeps, in bytes; longer texts are cut.
 */
#define NETRIG_QUEUE_MAX_ERROR_LEN 4096

/**
 * `netrig_run_options.strategy`: each host runs all its steps as fast as it can.
 */
#define NETRIG_STRATEGY_FREE 0

/**
 * `netrig_run_options.strategy`: step k runs on every host before step k+1 starts on any.
 */
#define NETRIG_STRATEGY_LINEAR 1

/**
 * `netrig_run_options.on_failure`: a failed step does not stop the host's next steps.
 */
#define NETRIG_ON_FAILURE_CONTINUE 0

/**
 * `netrig_run_options.on_failure` (the default): a failed step skips the rest of that host's
 * steps; other hosts go on.
 */
#define NETRIG_ON_FAILURE_SKIP_HOST 1

/**
 * `netrig_run_options.on_failure`: a failed step stops the whole run: steps in flight are
 * cancelled, unstarted ones skipped.
 */
#define NETRIG_ON_FAILURE_ABORT 2

/**
 * `netrig_event.kind`: a worker took the host.
 */
#define NETRIG_EVENT_HOST_STARTED 1

/**
 * `netrig_event.kind`: the host's session is open (or checked out); `state` and `status` say
 * whether that worked.
 */
#define NETRIG_EVENT_CONNECTED 2

/**
 * `netrig_event.kind`: step `step` starts on the host.
 */
#define NETRIG_EVENT_STEP_STARTED 3

/**
 * `netrig_event.kind`: step `step` ended on the host, with `state` and `status`.
 */
#define NETRIG_EVENT_STEP_FINISHED 4

/**
 * `netrig_event.kind`: the host is done, with its overall `state` and `status`.
 */
#define NETRIG_EVENT_HOST_FINISHED 5

/**
 * `netrig_event.kind`: the last event of a run; the results are ready (`host` and `step` -1).
 */
#define NETRIG_EVENT_RUN_FINISHED 6

/**
 * A state that does not apply (events that end nothing).
 */
#define NETRIG_STATE_NONE 0

/**
 * Succeeded.
 */
#define NETRIG_STATE_OK 1

/**
 * Failed (the status says why).
 */
#define NETRIG_STATE_FAILED 2

/**
 * Its deadline passed.
 */
#define NETRIG_STATE_TIMED_OUT 3

/**
 * Stopped in flight by `netrig_run_cancel`, `netrig_run_free` or an abort.
 */
#define NETRIG_STATE_CANCELLED 4

/**
 * Never started (an earlier step failed, or the run was cancelled or aborted first).
 */
#define NETRIG_STATE_SKIPPED 5

/**
 * `ttl_ms` value: use the store's default TTL.
 */
#define NETRIG_TTL_DEFAULT -1

/**
 * `ttl_ms` value: never expire, whatever the store's default.
 */
#define NETRIG_TTL_NEVER 0

/**
 * `durability` of `netrig_store_open` and `netrig_queue_open`: an acknowledged write survives
 * a crash or `kill -9` of the process (SQLite WAL, no fsync per write).
 */
#define NETRIG_DURABLE_PROCESS_CRASH 0

/**
 * `durability`: also survives an operating-system crash or power loss (an fsync per commit).
 */
#define NETRIG_DURABLE_POWER_LOSS 1

/**
 * Records queued for the callback at most; more are dropped and counted.
 */
#define QUEUE_LIMIT 8192

/**
 * Status returned by every netrig function that can fail.
 *
 * The numbers are stable: a code is never renumbered or reused. `NETRIG_OK` is 0; every other
 * value names one cause. `netrig_status_str()` gives a static name for each, and
 * `netrig_last_error()` the text of the last failure on the calling thread.
 */
typedef enum netrig_status {
  /**
   * Success.
   */
  NETRIG_OK = 0,
  /**
   * A required pointer argument was NULL.
   */
  NETRIG_E_NULL_ARG = 1,
  /**
   * A handle was zero, freed, freed twice, forged, or of another kind.
   */
  NETRIG_E_INVALID_HANDLE = 2,
  /**
   * A string argument was not valid UTF-8.
   */
  NETRIG_E_UTF8 = 3,
  /**
   * An argument was out of its allowed range (an empty or over-long key, a negative TTL, ...).
   */
  NETRIG_E_INVALID_ARG = 4,
  /**
   * The key (or item) does not exist, or has expired.
   */
  NETRIG_E_NOT_FOUND = 5,
  /**
   * The key holds a value of another type than the one asked for.
   */
  NETRIG_E_TYPE = 6,
  /**
   * The operation would exceed a bound (entries or bytes). Nothing was changed.
   */
  NETRIG_E_FULL = 7,
  /**
   * The object is in use and the `try_` form was asked not to wait.
   */
  NETRIG_E_BUSY = 8,
  /**
   * The deadline passed before the operation finished.
   */
  NETRIG_E_TIMEOUT = 9,
  /**
   * The operation was cancelled from another thread.
   */
  NETRIG_E_CANCELLED = 10,
  /**
   * Authentication was refused by the device.
   */
  NETRIG_E_AUTH = 11,
  /**
   * The device's host key did not match policy.
   */
  NETRIG_E_HOSTKEY = 12,
  /**
   * The TCP or SSH connection could not be established.
   */
  NETRIG_E_CONNECT = 13,
  /**
   * The connection or object is closed.
   */
  NETRIG_E_CLOSED = 14,
  /**
   * The device's prompt was not found.
   */
  NETRIG_E_PROMPT = 15,
  /**
   * The caller's buffer is too small; the needed size was written to the length out-parameter.
   */
  NETRIG_E_BUFFER_TOO_SMALL = 16,
  /**
   * A bug inside netrig panicked; the panic was caught at the boundary.
   */
  NETRIG_E_PANIC = 17,
  /**
   * A compare-and-set (or a batch precondition) found another version than expected.
   * Nothing was changed.
   */
  NETRIG_E_CONFLICT = 18,
  /**
   * An integer operation would overflow int64. Nothing was changed.
   */
  NETRIG_E_OVERFLOW = 19,
  /**
   * The device answered a command with error output ("% Invalid input", "syntax error", a
   * failed commit). The message names the command and quotes the device's answer.
   */
  NETRIG_E_COMMAND = 20,
  /**
   * A local file or a file transfer failed: a missing or unwritable file, or a size that does
   * not match at the end of a transfer.
   */
  NETRIG_E_IO = 21,
  /**
   * A subscriber's event queue overflowed: events were dropped at this point of its stream.
   * The message gives how many; take a snapshot to resynchronise. Later events follow.
   */
  NETRIG_E_LAGGED = 22,
  /**
   * A queue item's lease is no longer held by this claim: it expired (the item went back to
   * pending and may be claimed again) or the item was already completed or failed.
   * Nothing was changed.
   */
  NETRIG_E_LEASE = 23,
} netrig_status;

/**
 * How much a log record matters; as a min level, records at it and above (lower numbers) are
 * made, and NETRIG_LOG_OFF makes none.
 */
enum netrig_log_level
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : uint32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
  NETRIG_LOG_OFF = 0,
  NETRIG_LOG_ERROR = 1,
  NETRIG_LOG_WARN = 2,
  NETRIG_LOG_INFO = 3,
  NETRIG_LOG_DEBUG = 4,
  NETRIG_LOG_TRACE = 5,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum netrig_log_level netrig_log_level;
#else
typedef uint32_t netrig_log_level;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

/**
 * The type of a stored value.
 */
enum netrig_type
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : uint32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
  NETRIG_TYPE_BOOL = 1,
  NETRIG_TYPE_INT = 2,
  NETRIG_TYPE_DOUBLE = 3,
  NETRIG_TYPE_STR = 4,
  NETRIG_TYPE_BYTES = 5,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum netrig_type netrig_type;
#else
typedef uint32_t netrig_type;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

/**
 * A batch of sets, deletes and version preconditions. Create with `netrig_batch_new`, free
 * with `netrig_batch_free`. The zero value `{0}` is never a valid handle.
 */
typedef struct netrig_batch {
  uint64_t id;
} netrig_batch;

/**
 * A typed value passed by pointer (compare-and-set, batches) or read from a snapshot.
 *
 * `kind` is a `netrig_type` and selects the one field that is read: `b`, `i`, `d`, `str`
 * (NUL-terminated UTF-8) or `bytes` + `bytes_len`. With designated initialisers:
 * `netrig_value v = { .kind = NETRIG_TYPE_INT, .i = 42 };`
 *
 * Values netrig fills in (snapshot entries) point into the snapshot and stay valid until
 * `netrig_snapshot_free`.
 */
typedef struct netrig_value {
  /**
   * A `netrig_type`. Any other number is rejected with NETRIG_E_INVALID_ARG.
   */
  uint32_t kind;
  /**
   * For NETRIG_TYPE_BOOL: 0 is false, any other value true. (A byte rather than C `bool`, so
   * that no byte a C caller leaves here can be an invalid Rust value.)
   */
  uint8_t b;
  int64_t i;
  double d;
  const char *str;
  const uint8_t *bytes;
  size_t bytes_len;
} netrig_value;

/**
 * A status store. Create with `netrig_store_new`, free with `netrig_store_free`.
 * The zero value `{0}` is never a valid handle.
 */
typedef struct netrig_store {
  uint64_t id;
} netrig_store;

/**
 * Options of `netrig_device_open`. Start from `netrig_device_options_default(&o, sizeof o)`
 * and set what you need; string fields are borrowed for the call and NULL means "not given".
 */
typedef struct netrig_device_options {
  /**
   * `sizeof` this struct in the caller's netrig.h, set by `netrig_device_options_default(&o,
   * sizeof o)`. The library reads only that many bytes, so the fields a newer header added
   * take their defaults for a program built against an older one (OPTIONS in the preamble).
   */
  size_t struct_size;
  /**
   * Host name or address (required).
   */
  const char *host;
  /**
   * TCP port (default 22).
   */
  uint16_t port;
  /**
   * Login name (required).
   */
  const char *username;
  /**
   * Password; used for password authentication, or keyboard-interactive when that is all
   * the device offers.
   */
  const char *password;
  /**
   * Path of a private key file (OpenSSH or PEM); takes precedence over `password`.
   */
  const char *private_key_file;
  /**
   * A private key in memory (PEM text); takes precedence over `password`.
   */
  const char *private_key;
  /**
   * Passphrase of the private key.
   */
  const char *passphrase;
  /**
   * Non-zero: authenticate with the SSH agent of SSH_AUTH_SOCK (when no key is given).
   */
  uint8_t use_agent;
  /**
   * Enable secret; when given, open enters privileged mode.
   */
  const char *secret;
  /**
   * One of NETRIG_HOSTKEY_* (default NETRIG_HOSTKEY_STRICT).
   */
  uint32_t host_key_policy;
  /**
   * known_hosts file for STRICT and ACCEPT_NEW; NULL means ~/.ssh/known_hosts.
   */
  const char *known_hosts;
  /**
   * "SHA256:..." for NETRIG_HOSTKEY_PINNED.
   */
  const char *host_key_fingerprint;
  /**
   * TCP connect plus SSH handshake, in ms (default 10000).
   */
  uint32_t connect_timeout_ms;
  /**
   * Authentication, in ms (default 10000).
   */
  uint32_t auth_timeout_ms;
  /**
   * Default deadline of each operation, in ms (default 30000); also bounds the session
   * preparation in open.
   */
  uint32_t timeout_ms;
  /**
   * SSH keepalive interval while an operation waits, in ms (default 30000; 0 = none).
   */
  uint32_t keepalive_ms;
  /**
   * A built-in platform by name or netmiko device_type ("cisco_ios", "juniper_junos",
   * "linux", ...: `netrig_platforms()` lists them); "autodetect" (the platform is told from
   * the first prompt and `show version`-like commands at open, PLATFORMS.md "Autodetect";
   * `netrig_device_platform` names it); or "generic" (or NULL) with `prompt_pattern`. With
   * `platform_file` or `platform_text`, NULL or that platform's name. NULL with none of
   * these is NETRIG_E_INVALID_ARG: there is no default platform.
   */
  const char *platform;
  /**
   * A regex matching the whole prompt line; replaces the platform's prompt pattern (any
   * platform; required with "generic"). This and the five options after it change any
   * platform, built-in or loaded (PLATFORMS.md, "Options that change a platform").
   */
  const char *prompt_pattern;
  /**
   * The command that turns paging off; replaces the platform's paging-off commands.
   */
  const char *paging_off_command;
  /**
   * The command that enters privileged mode.
   */
  const char *enable_command;
  /**
   * The command that enters configuration mode (with the next two, all or none).
   */
  const char *config_command;
  /**
   * The command that leaves configuration mode.
   */
  const char *config_exit_command;
  /**
   * A regex matching the prompt line in configuration mode.
   */
  const char *config_prompt_pattern;
  /**
   * PTY size (default 511 x 24).
   */
  uint32_t term_cols;
  uint32_t term_rows;
  /**
   * Append a transcript of the session to this file; passwords and secrets are redacted.
   */
  const char *session_log;
  /**
   * Non-zero: start every chunk written to the session log with its UTC time and direction,
   * on a line of its own: `[2026-12-04T18:40:01.123456Z <<] ` for bytes received, `>>` for
   * bytes sent, `--` for netrig's notes. 0 (the default): the plain transcript.
   */
  uint8_t session_log_timestamps;
  /**
   * Path of a platform file (PLATFORMS.md) describing the device's CLI; it may extend a
   * built-in platform. Read and checked at open, before connecting: a bad file is
   * NETRIG_E_INVALID_ARG naming the file, the line and the field.
   */
  const char *platform_file;
  /**
   * The text of a platform file, instead of `platform_file`.
   */
  const char *platform_text;
  /**
   * A regex matching a line of output that means the device rejected a command (matched on
   * each line, case-insensitive unless it starts with `(?-i)`); replaces the platform's
   * error patterns.
   */
  const char *error_pattern;
  /**
   * Non-zero (the default): a command whose output has a line matching the error patterns
   * fails with NETRIG_E_COMMAND. 0: such outputs are returned, with `netrig_output_failed`
   * true. A call's `netrig_command_options.check` overrides it.
   */
  uint8_t check_errors;
  /**
   * The TextFSM templates directory (with an ntc-templates style `index`) for parsing this
   * device's output in runner steps (`netrig_output_parse` takes its own); NULL:
   * `NETRIG_TEMPLATES`.
   */
  const char *templates;
} netrig_device_options;

/**
 * An open SSH session to a device. Free with `netrig_device_free`.
 * The zero value `{0}` is never a valid handle.
 */
typedef struct netrig_device {
  uint64_t id;
} netrig_device;

/**
 * Options of one command (`netrig_device_send_command_with` and the other `_with` calls).
 * Start from `netrig_command_options_default(&o, sizeof o)`; string fields are borrowed for
 * the call and NULL means "not given".
 */
typedef struct netrig_command_options {
  /**
   * `sizeof` this struct in the caller's netrig.h (OPTIONS in the preamble).
   */
  size_t struct_size;
  /**
   * The operation's deadline in ms; 0 (the default) means the device's.
   */
  uint32_t timeout_ms;
  /**
   * A regex: read until it matches the newest output instead of until the prompt
   * (`netrig_device_send_command_with` only).
   */
  const char *expect;
  /**
   * Non-zero: read until the device has sent nothing for this many ms instead of until the
   * prompt (`netrig_device_send_command_with` only; not with `expect`).
   */
  uint32_t quiet_ms;
  /**
   * One of NETRIG_CHECK_* (default NETRIG_CHECK_DEFAULT).
   */
  uint32_t check;
  /**
   * A regex matched on each line of the output (case-insensitive unless it starts with
   * `(?-i)`) that replaces the error patterns (the platform's, or the device's
   * `error_pattern`) for this call.
   */
  const char *error_pattern;
} netrig_command_options;

/**
 * The result of a device operation: output text (or exec's stdout), exec's stderr and exit
 * status, and the elapsed time. Free with `netrig_output_free`.
 * The zero value `{0}` is never a valid handle.
 */
typedef struct netrig_output {
  uint64_t id;
} netrig_output;

/**
 * Called during a file transfer, on the thread that called put/get, after each chunk, with the
 * bytes done so far and the total. Return true to go on, false to cancel the transfer (it then
 * returns NETRIG_E_CANCELLED). It runs while the device's operation lock is held: calling
 * another operation on the same device from it waits out that call's deadline (or gets
 * NETRIG_E_BUSY from a `try_` form); `netrig_device_cancel` is fine. It must not unwind
 * (no C++ exception, no longjmp) through netrig.
 */
typedef bool (*netrig_progress_fn)(void *user_data, uint64_t done, uint64_t total);

/**
 * A subscription to a store's changes. Free with `netrig_subscription_free`.
 */
typedef struct netrig_subscription {
  uint64_t id;
} netrig_subscription;

/**
 * A consistent copy of a store's keys, values and versions. Free with `netrig_snapshot_free`.
 * The zero value `{0}` is never a valid handle.
 */
typedef struct netrig_snapshot {
  uint64_t id;
} netrig_snapshot;

/**
 * A change, as netrig shows it to C. `key` and `value`'s string or bytes point into memory that
 * stays valid until `netrig_change_free` (polled changes) or until the callback returns.
 */
typedef struct netrig_change_view {
  /**
   * NETRIG_CHANGE_SET, _DELETE, _EXPIRE or _LAGGED.
   */
  uint32_t kind;
  /**
   * The key, NUL-terminated.
   */
  const char *key;
  struct netrig_value value;
  uint64_t version;
  /**
   * For NETRIG_CHANGE_LAGGED: how many events were dropped. 0 otherwise.
   */
  uint64_t missed;
} netrig_change_view;

/**
 * Called on the subscription's dispatcher thread for each change (see
 * `netrig_store_subscribe_callback`).
 *
 * Ownership: `change` and what it points to are valid only during the call; `user_data` is
 * the caller's. Blocking: the callback may block, but the subscription's changes queue up
 * (and then drop) while it does; writers never wait for it. Thread-safety: always called on
 * the one thread of its subscription that netrig starts and names "netrig-events", one call at
 * a time. It must not unwind into netrig (no C++ exception, longjmp or thread exit out of it).
 */
typedef void (*netrig_change_fn)(const struct netrig_change_view *change, void *user_data);

/**
 * One change taken from a subscription by `netrig_subscription_poll`. Read it with
 * `netrig_change_get`; free it with `netrig_change_free`.
 */
typedef struct netrig_change {
  uint64_t id;
} netrig_change;

/**
 * Counters of a subscription.
 */
typedef struct netrig_subscription_stats {
  /**
   * Events handed out so far.
   */
  uint64_t delivered;
  /**
   * Events dropped because the queue was full.
   */
  uint64_t dropped;
  /**
   * Events waiting now.
   */
  uint64_t queued;
} netrig_subscription_stats;

/**
 * A list of targets and steps to run. Create with `netrig_job_new`, free with
 * `netrig_job_free`. The zero value `{0}` is never a valid handle.
 */
typedef struct netrig_job {
  uint64_t id;
} netrig_job;

/**
 * One log record, as the log callback gets it. Every pointer in it is valid only during the
 * callback; copy what you keep.
 */
typedef struct netrig_log_record {
  /**
   * `sizeof` the record this library fills; fields are only ever added at the end, so read a
   * field only when `struct_size` covers it.
   */
  size_t struct_size;
  netrig_log_level level;
  /**
   * "device", "pool", "run", "store" or "queue".
   */
  const char *target;
  /**
   * The device the record is about ("127.0.0.1:2201"), or NULL when none applies.
   */
  const char *device;
  /**
   * UTF-8, NUL-terminated, without a trailing newline.
   */
  const char *message;
  /**
   * When the record was made, in microseconds since the Unix epoch (UTC).
   */
  uint64_t unix_time_us;
  /**
   * A number for the thread that made the record: the same for every record of one thread,
   * different between threads, never 0.
   */
  uint64_t thread_id;
} netrig_log_record;

/**
 * The log callback. See `netrig_set_log_callback` for the thread it runs on and what it may do.
 */
typedef void (*netrig_log_fn)(void *user_data, const struct netrig_log_record *record);

/**
 * Limits of a pool. Start from `netrig_pool_options_default(&o, sizeof o)` and change what you
 * need, so fields added later keep their defaults. Every field must be at least 1.
 */
typedef struct netrig_pool_options {
  /**
   * `sizeof` this struct in the caller's netrig.h, set by `netrig_pool_options_default(&o,
   * sizeof o)`. The library reads only that many bytes, so the fields a newer header added
   * take their defaults for a program built against an older one (OPTIONS in the preamble).
   */
  size_t struct_size;
  /**
   * Sessions open to one (host, port, username, platform) at most, counting idle, in use and
   * being opened (default 4). Checkouts beyond it wait for a check-in.
   */
  uint32_t max_per_host;
  /**
   * Sessions open in the whole pool at most (default 512); at the limit the least recently
   * used idle session of any host is closed to make room.
   */
  uint32_t max_total;
  /**
   * An idle session is closed after this many ms unused (default 300000).
   */
  uint32_t idle_timeout_ms;
  /**
   * A session is closed at its first check-in (or while idle) after this many ms open
   * (default 3600000).
   */
  uint32_t max_lifetime_ms;
  /**
   * How long a checkout waits for a session when the limits are reached, in ms (default
   * 30000); the `timeout_ms` 0 of `netrig_pool_checkout` means this.
   */
  uint32_t checkout_timeout_ms;
  /**
   * A session idle for longer than this (ms, default 10000) gets a round trip (RETURN, then
   * the prompt) before it is handed out; one that fails it is closed and the checkout goes on.
   */
  uint32_t health_check_after_ms;
  /**
   * Deadline of that round trip, in ms (default 5000).
   */
  uint32_t health_check_timeout_ms;
} netrig_pool_options;

/**
 * A pool of device sessions. Create with `netrig_pool_new`, free with `netrig_pool_free`.
 * The zero value `{0}` is never a valid handle (and means "no pool" to `netrig_run_start`).
 */
typedef struct netrig_pool {
  uint64_t id;
} netrig_pool;

/**
 * Counters of a pool since it was made; the last four are gauges (now, and the peak of in_use).
 */
typedef struct netrig_pool_stats {
  /**
   * Checkouts that found an idle session at once.
   */
  uint64_t hits;
  /**
   * Checkouts that found none and had to connect or wait.
   */
  uint64_t misses;
  /**
   * Sessions opened.
   */
  uint64_t created;
  /**
   * Checkouts served with a session that had been used before.
   */
  uint64_t reused;
  /**
   * Connects that failed.
   */
  uint64_t connect_failures;
  /**
   * Checkouts that had to wait for a session or a connect in flight.
   */
  uint64_t waits;
  /**
   * Time spent waiting, over all checkouts, in microseconds.
   */
  uint64_t wait_time_us;
  /**
   * Checkouts that waited until their deadline and gave up (NETRIG_E_TIMEOUT).
   */
  uint64_t timed_out_waits;
  /**
   * Idle sessions closed to make room under max_total.
   */
  uint64_t evicted_lru;
  /**
   * Idle sessions closed after idle_timeout_ms.
   */
  uint64_t evicted_idle;
  /**
   * Sessions closed after max_lifetime_ms.
   */
  uint64_t evicted_lifetime;
  /**
   * Sessions closed by `netrig_pool_close_all` or `netrig_pool_free` (idle then, or returned
   * afterwards).
   */
  uint64_t closed_by_close_all;
  /**
   * Health checks made on checkout.
   */
  uint64_t health_checks;
  /**
   * Sessions closed instead of reused: a failed health check, `netrig_pool_discard`, or
   * returned after a timeout, cancel, lost connection, I/O error, or while another thread's
   * operation still ran on the handle.
   */
  uint64_t discarded_broken;
  /**
   * Sessions checked out now.
   */
  uint64_t in_use;
  /**
   * Sessions idle in the pool now.
   */
  uint64_t idle;
  /**
   * Connects in flight now.
   */
  uint64_t connecting;
  /**
   * The most sessions checked out at once so far.
   */
  uint64_t peak_in_use;
} netrig_pool_stats;

/**
 * Bounds of a queue. Start from `netrig_queue_options_default(&o, sizeof o)` and change what
 * you need, so fields added later keep their defaults. Every field must be at least 1.
 */
typedef struct netrig_queue_options {
  /**
   * `sizeof` this struct in the caller's netrig.h, set by `netrig_queue_options_default(&o,
   * sizeof o)`. The library reads only that many bytes, so the fields a newer header added
   * take their defaults for a program built against an older one (OPTIONS in the preamble).
   */
  size_t struct_size;
  /**
   * Items held at most: pending, processing, suspended and failed together (default
   * 100000). A push past it returns NETRIG_E_FULL. Completed items are not held.
   */
  size_t max_items;
  /**
   * Claims an item gets (default 3). A failed (with retry) or expired claim returns the item
   * to pending while it has had fewer; after that it is failed.
   */
  uint32_t max_attempts;
  /**
   * Lease of `netrig_queue_claim`, in ms (default 30000): a claimed item that is not
   * completed, failed or extended within it is taken back.
   */
  uint32_t lease_ms;
  /**
   * Largest payload in bytes (default 16 MiB); a larger push returns NETRIG_E_INVALID_ARG.
   */
  size_t max_payload;
} netrig_queue_options;

/**
 * A work queue. Create with `netrig_queue_new` or `netrig_queue_open`, free with
 * `netrig_queue_free`. The zero value `{0}` is never a valid handle.
 */
typedef struct netrig_queue {
  uint64_t id;
} netrig_queue;

/**
 * An item claimed from a queue (`netrig_queue_claim`): its id, payload, priority and attempt,
 * and the lease that `netrig_queue_complete`, `netrig_queue_fail` and `netrig_queue_extend`
 * check. Free with `netrig_item_free`. The zero value `{0}` is never a valid handle.
 */
typedef struct netrig_item {
  uint64_t id;
} netrig_item;

/**
 * How many items are in each state, and how many were completed in the queue's life (for a
 * durable queue, over every process that opened its file).
 */
typedef struct netrig_queue_counts {
  uint64_t pending;
  uint64_t processing;
  uint64_t suspended;
  uint64_t failed;
  uint64_t completed;
} netrig_queue_counts;

/**
 * A running or finished run of a job. Create with `netrig_run_start`, free with
 * `netrig_run_free`. The zero value `{0}` is never a valid handle.
 */
typedef struct netrig_run {
  uint64_t id;
} netrig_run;

/**
 * The outcome of a finished run, counted by host and by step.
 */
typedef struct netrig_run_totals {
  /**
   * Targets in the run.
   */
  size_t hosts;
  /**
   * Hosts whose connect and every step succeeded.
   */
  size_t succeeded;
  /**
   * Hosts whose first failure was a failure (not a timeout).
   */
  size_t failed;
  /**
   * Hosts whose first failure was a timeout.
   */
  size_t timed_out;
  /**
   * Hosts cut short by a cancel or an abort.
   */
  size_t cancelled;
  /**
   * Hosts never started.
   */
  size_t skipped;
  /**
   * Steps over all hosts, by how they ended.
   */
  size_t steps_succeeded;
  size_t steps_failed;
  size_t steps_timed_out;
  size_t steps_cancelled;
  size_t steps_skipped;
  /**
   * Wall time of the run, in microseconds.
   */
  uint64_t wall_us;
  /**
   * 1 when the run was cancelled (`netrig_run_cancel` or `netrig_run_free`). (Not
   * `cancelled`, which counts hosts.)
   */
  uint8_t run_cancelled;
  /**
   * 1 when a failure stopped the run under NETRIG_ON_FAILURE_ABORT; `netrig_run_json` has the
   * reason.
   */
  uint8_t run_aborted;
} netrig_run_totals;

/**
 * How one host of a finished run went.
 */
typedef struct netrig_host_result {
  /**
   * NETRIG_STATE_OK when the connect and every step succeeded; else the state of the first
   * failure (NETRIG_STATE_SKIPPED when the host never started, NETRIG_STATE_CANCELLED when a
   * cancel or abort cut it short).
   */
  uint32_t state;
  /**
   * The status of that first failure (NETRIG_E_CANCELLED for a host cut short), or NETRIG_OK.
   */
  enum netrig_status status;
  /**
   * Time spent on the host, in microseconds.
   */
  uint64_t duration_us;
  /**
   * How opening (or checking out) the session ended: a NETRIG_STATE_* value.
   */
  uint32_t connect_state;
  enum netrig_status connect_status;
  /**
   * Steps of the job (each has a result, also when skipped).
   */
  size_t steps;
} netrig_host_result;

/**
 * How one step of one host went.
 */
typedef struct netrig_step_result {
  /**
   * A NETRIG_STATE_* value.
   */
  uint32_t state;
  /**
   * NETRIG_OK, or the failure's status (an exec step that exits non-zero is
   * NETRIG_E_COMMAND).
   */
  enum netrig_status status;
  /**
   * Exec steps: the command's exit status; -1 for other steps or when there was none.
   */
  int32_t exit_status;
  /**
   * In microseconds.
   */
  uint64_t duration_us;
} netrig_step_result;

/**
 * How a run goes. Start from `netrig_run_options_default(&o, sizeof o)` and change what you
 * need, so fields added later keep their defaults.
 */
typedef struct netrig_run_options {
  /**
   * `sizeof` this struct in the caller's netrig.h, set by `netrig_run_options_default(&o,
   * sizeof o)`. The library reads only that many bytes, so the fields a newer header added
   * take their defaults for a program built against an older one (OPTIONS in the preamble).
   */
  size_t struct_size;
  /**
   * Worker threads at most, and so devices worked on at once (default 128; at least 1). A run
   * never starts more threads than it has targets.
   */
  uint32_t max_workers;
  /**
   * NETRIG_STRATEGY_FREE (default) or NETRIG_STRATEGY_LINEAR.
   */
  uint32_t strategy;
  /**
   * NETRIG_ON_FAILURE_CONTINUE, NETRIG_ON_FAILURE_SKIP_HOST (default) or
   * NETRIG_ON_FAILURE_ABORT.
   */
  uint32_t on_failure;
  /**
   * Non-zero: keep every event in a queue for `netrig_run_next_event` (for callers that
   * cannot take callbacks on foreign threads). Default 0.
   */
  uint8_t events;
} netrig_run_options;

/**
 * One thing that happened in a run, given to the `netrig_event_fn` callback or by
 * `netrig_run_next_event`.
 */
typedef struct netrig_event {
  /**
   * A NETRIG_EVENT_* value.
   */
  uint32_t kind;
  /**
   * Index of the host in the job's targets (in the order they were added), -1 for
   * NETRIG_EVENT_RUN_FINISHED.
   */
  int64_t host;
  /**
   * Index of the step in the job's steps for STEP_STARTED and STEP_FINISHED, else -1.
   */
  int64_t step;
  /**
   * How the connect, step or host ended (CONNECTED, STEP_FINISHED, HOST_FINISHED): a
   * NETRIG_STATE_* value; NETRIG_STATE_NONE for the other kinds.
   */
  uint32_t state;
  /**
   * NETRIG_OK, or the status of the failure.
   */
  enum netrig_status status;
  /**
   * How long what ended took (connect, step, host, run), in microseconds; 0 for the
   * *_STARTED kinds.
   */
  uint64_t elapsed_us;
  /**
   * The worker that sent the event: its thread is named "netrig-run-<worker>".
   */
  uint32_t worker;
} netrig_event;

/**
 * Called for each event of a run (see `netrig_run_start` for what it may do).
 *
 * Ownership: `event` is borrowed for the call only (copy what you keep); `user_data` is the
 * pointer given to `netrig_run_start`, untouched. Blocking: the worker that calls it waits for
 * it, so keep it quick. Thread-safety: called on the run's worker threads, several at once.
 */
typedef void (*netrig_event_fn)(const struct netrig_event *event, void *user_data);

/**
 * A list of strings (keys). Free with `netrig_strlist_free`.
 * The zero value `{0}` is never a valid handle.
 */
typedef struct netrig_strlist {
  uint64_t id;
} netrig_strlist;

/**
 * One entry of a snapshot. Every pointer in it points into the snapshot.
 */
typedef struct netrig_entry {
  /**
   * The key, NUL-terminated.
   */
  const char *key;
  struct netrig_value value;
  uint64_t version;
  /**
   * Milliseconds left before the key expires (as of the snapshot), or -1 if it never does.
   */
  int64_t ttl_remaining_ms;
} netrig_entry;

/**
 * The scalar part of the test-execution state; strings come from `netrig_test_json`.
 */
typedef struct netrig_test_info {
  /**
   * 1 while a test runs.
   */
  uint8_t running;
  /**
   * The test's pid as given to `netrig_test_start` (or `netrig_test_update`); -1 also when no
   * test was ever started (then `run` is 0).
   */
  int64_t pid;
  /**
   * How many tests were started in this store.
   */
  int64_t run;
  /**
   * Unix ms of the last start, or -1.
   */
  int64_t started_ms;
  /**
   * Unix ms of the last stop, or -1 (also while running).
   */
  int64_t stopped_ms;
  /**
   * Changes with every start, stop and update.
   */
  uint64_t version;
} netrig_test_info;

/**
 * Fields to change with `netrig_test_update`. NULL strings (and `set_pid` = 0) leave a field
 * as it is. `field_names[i]` gets `field_values[i]`; a NULL value removes that extra field.
 */
typedef struct netrig_test_fields {
  const char *script;
  const char *bin;
  const char *topology;
  uint8_t set_pid;
  int64_t pid;
  const char *const *field_names;
  const char *const *field_values;
  size_t field_count;
} netrig_test_fields;

/**
 * A service's state, without its detail text.
 */
typedef struct netrig_service_info {
  uint8_t running;
  /**
   * Unix ms when `running` last changed, or when the service was first set.
   */
  int64_t since_ms;
  uint64_t version;
} netrig_service_info;

/**
 * Limits and defaults of a new store. Start from `netrig_store_options_default(&o, sizeof o)`
 * and change what you need, so fields added later keep their defaults.
 */
typedef struct netrig_store_options {
  /**
   * `sizeof` this struct in the caller's netrig.h, set by `netrig_store_options_default(&o,
   * sizeof o)`. The library reads only that many bytes, so the fields a newer header added
   * take their defaults for a program built against an older one (OPTIONS in the preamble).
   */
  size_t struct_size;
  /**
   * Most keys held at once (default 1,000,000). A set past it returns NETRIG_E_FULL.
   */
  uint64_t max_entries;
  /**
   * Most bytes of keys plus values held at once; scalars weigh 8 (default 256 MiB).
   */
  uint64_t max_bytes;
  /**
   * TTL in ms for writes that pass `NETRIG_TTL_DEFAULT`; 0 = such keys never expire (default).
   */
  int64_t default_ttl_ms;
  /**
   * Longest key in bytes (default 1024).
   */
  uint32_t max_key_len;
} netrig_store_options;

#ifdef __cplusplus
extern "C" {
#endif // __cplusplus

/**
 * The library version as "MAJOR.MINOR.PATCH".
 *
 * Ownership: the string is static; do not free it. Blocking: never. Thread-safety: any thread.
 */
const char *netrig_version(void);

/**
 * What this library was built with, one line for bug reports: its version, the features
 * compiled in and the versions of the libraries bundled into it, e.g. "netrig 0.1.0 (ssh,
 * durable; SQLite 3.50.2 bundled)". A program that links its own SQLite (or libssh2) next to
 * libnetrig gets its own copy: the bundled ones are internal to libnetrig (README, "Install").
 *
 * Ownership: the string is static; do not free it. Blocking: never. Thread-safety: any thread.
 */
const char *netrig_build_info(void);

/**
 * The name of a status ("NETRIG_E_TYPE"), or "NETRIG_E_UNKNOWN" for a number that is not one.
 *
 * Ownership: the string is static; do not free it. Blocking: never. Thread-safety: any thread.
 */
const char *netrig_status_str(int status);

/**
 * The text of the last error on the calling thread, with context ("netrig_store_get_int: key
 * 'x' not found"), or "" if no netrig call on this thread has failed. A text longer than 2047
 * bytes is cut and ends with "...".
 *
 * Ownership: the string belongs to the calling thread; do not free it. It stays valid until
 * the next netrig call on this thread that fails; copy it to keep it. Blocking: never.
 * Thread-safety: any thread; each thread sees only its own errors.
 */
const char *netrig_last_error(void);

/**
 * Panics inside the library on purpose and returns what the panic guard makes of it:
 * NETRIG_E_PANIC, with `message` in the last error (NETRIG_E_UTF8, without panicking, if
 * `message` is not UTF-8). Bindings and test rigs use it to
 * check that a netrig panic can never take their process down.
 *
 * Ownership: `message` is borrowed (may be NULL). Blocking: never. Thread-safety: any thread.
 */
enum netrig_status netrig_debug_panic(const char *message);

/**
 * Creates an empty batch; `*out` receives its handle, which the caller frees with
 * `netrig_batch_free`.
 *
 * Ownership: the caller frees the new batch with `netrig_batch_free`.
 * Blocking: never.
 * Thread-safety: any thread.
 */
enum netrig_status netrig_batch_new(struct netrig_batch *out);

/**
 * Frees a batch. A second free returns NETRIG_E_INVALID_HANDLE.
 *
 * Ownership: consumes the handle.
 *
 * Blocking: until calls already running on this batch in other threads return.
 * Thread-safety: any thread; calls on one batch are serialised.
 */
enum netrig_status netrig_batch_free(struct netrig_batch batch);

/**
 * Adds "set `key` to `*value`" (copied now) with `ttl_ms` as for `netrig_store_set_bool`.
 *
 * Ownership: `key` and `value` are borrowed for the call.
 *
 * Blocking: waits only for other calls on the same batch (microseconds); no I/O.
 * Thread-safety: any thread; calls on one batch are serialised.
 */
enum netrig_status netrig_batch_set(struct netrig_batch batch,
                                    const char *key,
                                    const struct netrig_value *value,
                                    int64_t ttl_ms);

/**
 * Adds "delete `key`". Deleting a key that does not exist is not an error in a batch.
 *
 * Ownership: `key` is borrowed for the call.
 *
 * Blocking: waits only for other calls on the same batch (microseconds); no I/O.
 * Thread-safety: any thread; calls on one batch are serialised.
 */
enum netrig_status netrig_batch_delete(struct netrig_batch batch, const char *key);

/**
 * Adds a precondition: when applied, `key` must be at `version` (0 = must not exist), or the
 * whole batch fails with NETRIG_E_CONFLICT and nothing changes.
 *
 * Ownership: `key` is borrowed for the call.
 *
 * Blocking: waits only for other calls on the same batch (microseconds); no I/O.
 * Thread-safety: any thread; calls on one batch are serialised.
 */
enum netrig_status netrig_batch_expect_version(struct netrig_batch batch,
                                               const char *key,
                                               uint64_t version);

/**
 * The number of operations in the batch.
 *
 * Ownership: no pointer is kept after the call; out-parameters are the caller's.
 * Blocking: waits only for other calls on the same batch (microseconds); no I/O.
 * Thread-safety: any thread; calls on one batch are serialised.
 */
enum netrig_status netrig_batch_len(struct netrig_batch batch, size_t *out);

/**
 * Removes every operation, so the batch can be reused.
 *
 * Ownership: no pointer is kept after the call; out-parameters are the caller's.
 * Blocking: waits only for other calls on the same batch (microseconds); no I/O.
 * Thread-safety: any thread; calls on one batch are serialised.
 */
enum netrig_status netrig_batch_clear(struct netrig_batch batch);

/**
 * Applies the batch to `store` all-or-nothing: every reader that sees more than one key
 * (snapshots, `len`, other batches) sees all of it or none of it. On any error (invalid key,
 * NETRIG_E_CONFLICT, NETRIG_E_FULL, ...) nothing has changed. The batch is left as it was.
 *
 * Blocking: write-locks the shards the batch touches, in a fixed order, for the duration.
 * Thread-safety: any thread.
 *
 * Ownership: no pointer is kept after the call; out-parameters are the caller's.
 */
enum netrig_status netrig_store_apply(struct netrig_store store, struct netrig_batch batch);

/**
 * Opens a session: TCP connect, SSH handshake, host key check, authentication, PTY and shell;
 * then finds the prompt, turns paging off, sets the width, and enters enable mode when a
 * secret is given. Failures: NETRIG_E_CONNECT, NETRIG_E_TIMEOUT (no banner, no auth answer, no
 * prompt), NETRIG_E_HOSTKEY (message has both fingerprints when the key changed),
 * NETRIG_E_AUTH (also a refused enable secret), NETRIG_E_INVALID_ARG (options).
 *
 * Ownership: `options` and its strings are borrowed for the call; netrig keeps copies of what
 * it needs and wipes its copies of passwords and secrets when they are no longer needed. On
 * success `*out` receives a handle the caller frees with `netrig_device_free`.
 * Blocking: up to connect_timeout_ms + auth_timeout_ms + timeout_ms.
 * Thread-safety: any thread.
 */
enum netrig_status netrig_device_open(const struct netrig_device_options *options,
                                      struct netrig_device *out);

/**
 * Frees a device handle: cancels the operation running on it (which returns
 * NETRIG_E_CANCELLED within 100 ms in its own thread), makes operations queued behind it return
 * NETRIG_E_CLOSED, and closes the session once the last of them has returned. Later calls with
 * the handle get NETRIG_E_INVALID_HANDLE.
 *
 * A handle from `netrig_pool_checkout` is returned to its pool instead: the session goes back
 * idle for the next checkout, unless it is broken (an operation on it timed out, was
 * cancelled or lost the connection), it is past the pool's max_lifetime, the pool was freed or
 * closed (`netrig_pool_close_all`) meanwhile, or another thread's operation is still running on
 * it; then that operation is cancelled as above and the session is closed, not reused.
 * `netrig_pool_discard` closes a leased session on purpose.
 *
 * Ownership: consumes the handle. Blocking: never waits for a running operation (returning a
 * session to a pool takes the pool's bookkeeping lock for microseconds).
 * Thread-safety: any thread, including while another thread runs an operation on the device.
 */
enum netrig_status netrig_device_free(struct netrig_device dev);

/**
 * Closes the session; later operations return NETRIG_E_CLOSED. The handle stays valid until
 * `netrig_device_free`.
 *
 * Ownership: borrows the handle. Blocking: waits for a running operation to end, up to the
 * device's operation timeout (then NETRIG_E_TIMEOUT), plus up to 1 s for the disconnect.
 * Thread-safety: any thread.
 */
enum netrig_status netrig_device_close(struct netrig_device dev);

/**
 * Cancels the operation running on the device: it returns NETRIG_E_CANCELLED within 100 ms,
 * and the device stays usable (or reports NETRIG_E_CLOSED if the connection was lost). A
 * cancel with no operation running has no effect on later operations.
 *
 * Ownership: borrows the handle. Blocking: never. Thread-safety: any thread; this is the call
 * meant to be made from another thread than the one running the operation.
 */
enum netrig_status netrig_device_cancel(struct netrig_device dev);

/**
 * Fills `*out` with the default command options: the device's timeout, read until the
 * prompt, the device's check of the output. `struct_size` is `sizeof *out` (see OPTIONS in
 * the preamble); NETRIG_E_INVALID_ARG when it is smaller than a size_t or larger than this
 * library's struct.
 *
 * Ownership: `*out` is the caller's, written on success. Blocking: never.
 * Thread-safety: any thread.
 */
enum netrig_status netrig_command_options_default(struct netrig_command_options *out,
                                                  size_t struct_size);

/**
 * Sends one command and reads until the prompt returns. The output has the echoed command and
 * the trailing prompt removed, ANSI escapes removed, "\n" line endings, and paging answered.
 * `timeout_ms` 0 means the device's default. Failures: NETRIG_E_TIMEOUT (message ends with the
 * last bytes received), NETRIG_E_CANCELLED, NETRIG_E_CLOSED, and NETRIG_E_COMMAND when the
 * device refused the command: a line of the output matches the error patterns (the
 * platform's, or `options.error_pattern`) and the device's `check_errors` is on. The last
 * error names the device and the command and quotes the line; `netrig_last_failed_output`
 * gives the whole output. The same check applies to every call below that returns an output
 * (not to exec); `netrig_device_send_command_with` and the other `_with` calls change it.
 *
 * Ownership: `command` is borrowed for the call. On success `*out` receives a result the caller
 * frees with `netrig_output_free`.
 * Blocking: up to `timeout_ms`, including the wait for another operation on the same device
 * to finish. Thread-safety: any thread; operations on one device run one at a time, on
 * different devices in parallel.
 */
enum netrig_status netrig_device_send_command(struct netrig_device dev,
                                              const char *command,
                                              uint32_t timeout_ms,
                                              struct netrig_output *out);

/**
 * `netrig_device_send_command` with options (`options` may be NULL for the defaults): a
 * timeout, an `expect` pattern or a `quiet_ms` period to read to instead of the prompt (as
 * `netrig_device_send_command_expect` and `_timing`), and the check of the output: with
 * NETRIG_CHECK_OFF a refused command's output is returned with `netrig_output_failed` true;
 * `error_pattern` replaces the error patterns. NETRIG_E_INVALID_ARG for a bad pattern or
 * both `expect` and `quiet_ms`.
 *
 * Ownership: `command`, `options` and its strings are borrowed for the call; `*out` as for
 * `netrig_device_send_command`. Blocking: up to the timeout, as `netrig_device_send_command`.
 * Thread-safety: any thread.
 */
enum netrig_status netrig_device_send_command_with(struct netrig_device dev,
                                                   const char *command,
                                                   const struct netrig_command_options *options,
                                                   struct netrig_output *out);

/**
 * Like `netrig_device_send_command`, but returns NETRIG_E_BUSY at once when another operation
 * is running on the device.
 *
 * Ownership: `command` is borrowed; `*out` as for `netrig_device_send_command`.
 * Blocking: never waits for another operation; then up to `timeout_ms` for the device.
 * Thread-safety: any thread.
 */
enum netrig_status netrig_device_try_send_command(struct netrig_device dev,
                                                  const char *command,
                                                  uint32_t timeout_ms,
                                                  struct netrig_output *out);

/**
 * Sends one command and reads until `expect` (a regex, matched on the newest output as it
 * arrives) matches, instead of until the prompt. NETRIG_E_INVALID_ARG for a bad pattern.
 *
 * Ownership: `command` and `expect` are borrowed; `*out` as for `netrig_device_send_command`.
 * Blocking: up to `timeout_ms` (0 = the device's default). Thread-safety: any thread.
 */
enum netrig_status netrig_device_send_command_expect(struct netrig_device dev,
                                                     const char *command,
                                                     const char *expect,
                                                     uint32_t timeout_ms,
                                                     struct netrig_output *out);

/**
 * Sends one command and reads until the device has sent nothing for `quiet_ms`.
 *
 * Ownership: `command` is borrowed; `*out` as for `netrig_device_send_command`.
 * Blocking: up to `timeout_ms` (0 = the device's default); NETRIG_E_TIMEOUT if output never
 * pauses for `quiet_ms` before then. Thread-safety: any thread.
 */
enum netrig_status netrig_device_send_command_timing(struct netrig_device dev,
                                                     const char *command,
                                                     uint32_t quiet_ms,
                                                     uint32_t timeout_ms,
                                                     struct netrig_output *out);

/**
 * Answers a dialogue ("[confirm]", "[yes/no]", "Password:"): for each i < n, sends `sends[i]`
 * and a newline, then reads until the regex `expects[i]` matches, or until the prompt when
 * `expects[i]` is "". Answers to password prompts are redacted in the session log. The result
 * holds the whole transcript.
 *
 * Ownership: the arrays and strings are borrowed; `*out` as for `netrig_device_send_command`.
 * Blocking: up to `timeout_ms` (0 = the device's default) for the whole dialogue.
 * Thread-safety: any thread.
 */
enum netrig_status netrig_device_send_interactive(struct netrig_device dev,
                                                  const char *const *sends,
                                                  const char *const *expects,
                                                  size_t n,
                                                  uint32_t timeout_ms,
                                                  struct netrig_output *out);

/**
 * `netrig_device_send_interactive` with options (`options` may be NULL): the timeout, and the
 * check of each step's answer (`check`, `error_pattern`); `expect` and `quiet_ms` must be
 * unset (NETRIG_E_INVALID_ARG).
 *
 * Ownership: the arrays, strings and `options` are borrowed; `*out` as for
 * `netrig_device_send_command`. Blocking: up to the timeout for the whole dialogue.
 * Thread-safety: any thread.
 */
enum netrig_status netrig_device_send_interactive_with(struct netrig_device dev,
                                                       const char *const *sends,
                                                       const char *const *expects,
                                                       size_t n,
                                                       const struct netrig_command_options *options,
                                                       struct netrig_output *out);

/**
 * Enters configuration mode, sends the `n` lines and checks each line's output for error
 * output ("% Invalid input", "syntax error", ...). The first rejected line stops the set with
 * NETRIG_E_COMMAND; the last error names the line (number and text) and quotes the device.
 * `flags`: NETRIG_CONFIG_COMMIT or NETRIG_CONFIG_COMMIT_CHECK (Junos-style platforms, else
 * NETRIG_E_INVALID_ARG), NETRIG_CONFIG_STAY to stay in configuration mode (by default it is
 * left at the end, also after an error). The result holds each line followed by its output.
 *
 * Ownership: the array and strings are borrowed; `*out` as for `netrig_device_send_command`.
 * Blocking: up to `timeout_ms` (0 = the device's default) for the whole set.
 * Thread-safety: any thread.
 */
enum netrig_status netrig_device_send_config_set(struct netrig_device dev,
                                                 const char *const *lines,
                                                 size_t n,
                                                 uint32_t flags,
                                                 uint32_t timeout_ms,
                                                 struct netrig_output *out);

/**
 * `netrig_device_send_config_set` with options (`options` may be NULL): the timeout, and the
 * check of each line's output. With NETRIG_CHECK_OFF every line is sent and the result has
 * `netrig_output_failed` true when one was rejected (`netrig_output_failure` quotes the
 * first); `error_pattern` replaces the error patterns. `expect` and `quiet_ms` must be unset.
 *
 * Ownership: the array, strings and `options` are borrowed; `*out` as for
 * `netrig_device_send_command`. Blocking: up to the timeout for the whole set.
 * Thread-safety: any thread.
 */
enum netrig_status netrig_device_send_config_set_with(struct netrig_device dev,
                                                      const char *const *lines,
                                                      size_t n,
                                                      uint32_t flags,
                                                      const struct netrig_command_options *options,
                                                      struct netrig_output *out);

/**
 * Saves the running configuration (`write memory`, `copy running-config startup-config` or a
 * Junos `commit`), answering its confirmation questions. NETRIG_E_COMMAND if the device
 * reports an error; NETRIG_E_INVALID_ARG on a platform without a save command (linux).
 *
 * Ownership: `*out` as for `netrig_device_send_command`.
 * Blocking: up to `timeout_ms` (0 = the device's default). Thread-safety: any thread.
 */
enum netrig_status netrig_device_save_config(struct netrig_device dev,
                                             uint32_t timeout_ms,
                                             struct netrig_output *out);

/**
 * Enters privileged mode with the secret given at open (nothing to do when already there).
 * NETRIG_E_AUTH when the secret is refused or none was given.
 *
 * Ownership: borrows the handle. Blocking: up to `timeout_ms` (0 = the device's default).
 * Thread-safety: any thread.
 */
enum netrig_status netrig_device_enable(struct netrig_device dev, uint32_t timeout_ms);

/**
 * Leaves privileged mode (leaving configuration mode first if needed).
 *
 * Ownership: borrows the handle. Blocking: up to `timeout_ms` (0 = the device's default).
 * Thread-safety: any thread.
 */
enum netrig_status netrig_device_exit_enable(struct netrig_device dev, uint32_t timeout_ms);

/**
 * Enters configuration mode (entering privileged mode first if needed). NETRIG_E_PROMPT if
 * the prompt does not show configuration mode afterwards.
 *
 * Ownership: borrows the handle. Blocking: up to `timeout_ms` (0 = the device's default).
 * Thread-safety: any thread.
 */
enum netrig_status netrig_device_config_mode(struct netrig_device dev, uint32_t timeout_ms);

/**
 * Leaves configuration mode from any sub-mode (nothing to do when not in it).
 *
 * Ownership: borrows the handle. Blocking: up to `timeout_ms` (0 = the device's default).
 * Thread-safety: any thread.
 */
enum netrig_status netrig_device_exit_config_mode(struct netrig_device dev, uint32_t timeout_ms);

/**
 * The prompt line the device showed last, as netmiko's `find_prompt` returns it ("R1#": ANSI
 * escapes removed, surrounding whitespace trimmed), and the mode it means (NETRIG_MODE_*, by
 * the platform's prompt patterns). Every operation ends on a prompt, so this is the CLI's
 * state now; nothing is sent to the device. The prompt is copied with a NUL into `buf`
 * (capacity `buf_len`); `*out_len` receives its length without the NUL, also on
 * NETRIG_E_BUFFER_TOO_SMALL, so the caller can retry with `*out_len + 1` bytes (`buf` may be
 * NULL when `buf_len` is 0). NETRIG_E_CLOSED when the session is closed.
 *
 * Ownership: `buf` is the caller's; `mode` (NULL when not wanted) is written on success.
 * Blocking: waits up to `timeout_ms` (0 = the device's default) for an operation running on
 * the device to end (the prompt is settled only then; NETRIG_E_TIMEOUT after that); no I/O.
 * Thread-safety: any thread.
 */
enum netrig_status netrig_device_prompt(struct netrig_device dev,
                                        uint32_t timeout_ms,
                                        char *buf,
                                        size_t buf_len,
                                        size_t *out_len,
                                        uint32_t *mode);

/**
 * Checks the session with a real round trip (RETURN, then the prompt). `*alive` is true when
 * the prompt came back within `timeout_ms`, false when it did not or the session is closed.
 * NETRIG_E_TIMEOUT only when another operation held the device until the deadline.
 *
 * Ownership: `alive` is written on success. Blocking: up to `timeout_ms` (0 = the device's
 * default). Thread-safety: any thread.
 */
enum netrig_status netrig_device_is_alive(struct netrig_device dev,
                                          uint32_t timeout_ms,
                                          bool *alive);

/**
 * The name of the platform the device is driven with, NUL-terminated, into `buf` (`buf_len`
 * bytes): the one the options named, or the one detected when they said "autodetect".
 * `*out_len` gets the name's length without the NUL, also with NETRIG_E_BUFFER_TOO_SMALL (retry
 * with `*out_len + 1`); `buf` may be NULL when `buf_len` is 0, to ask for the length.
 *
 * Ownership: `buf` and `out_len` are the caller's; the handle is borrowed. Blocking: never (it
 * does not wait for a running operation). Thread-safety: any thread.
 */
enum netrig_status netrig_device_platform(struct netrig_device dev,
                                          char *buf,
                                          size_t buf_len,
                                          size_t *out_len);

/**
 * Runs `command` on its own channel without a PTY (Linux targets). The result's text is stdout
 * (bytes as received, NUL-terminated), with stderr and the exit status beside it
 * (`netrig_output_stderr`, `netrig_output_exit_status`). A non-zero exit status is not an error.
 *
 * Ownership: `command` is borrowed; `*out` as for `netrig_device_send_command`.
 * Blocking: up to `timeout_ms` (0 = the device's default). Thread-safety: any thread.
 */
enum netrig_status netrig_device_exec(struct netrig_device dev,
                                      const char *command,
                                      uint32_t timeout_ms,
                                      struct netrig_output *out);

/**
 * Copies the local file `local_path` to `remote_path` on the device over SFTP or SCP
 * (`protocol`: NETRIG_PROTOCOL_*), calling `progress` (may be NULL) after each chunk. At the
 * end the remote size is checked against the local size (NETRIG_E_IO on a mismatch).
 * `*bytes` (may be NULL) receives the bytes sent. NETRIG_E_IO for a missing local file or a
 * remote path the device refuses.
 *
 * Ownership: the paths are borrowed; `user_data` is passed to `progress` untouched and must
 * stay valid for the call. Blocking: up to `timeout_ms` (0 = the device's default) for the
 * whole transfer. Thread-safety: any thread; `progress` runs on the calling thread.
 */
enum netrig_status netrig_device_put_file(struct netrig_device dev,
                                          const char *local_path,
                                          const char *remote_path,
                                          uint32_t protocol_,
                                          netrig_progress_fn progress,
                                          void *user_data,
                                          uint32_t timeout_ms,
                                          uint64_t *bytes);

/**
 * Copies `remote_path` on the device to the local file `local_path` over SFTP or SCP. The data
 * goes to `<local_path>.part`, renamed to `local_path` only when the byte count matches the
 * remote size; on any failure no file is left under either name. `progress`, `user_data`,
 * `*bytes` and the statuses as for `netrig_device_put_file`.
 *
 * Ownership: the paths are borrowed; `user_data` is passed to `progress` untouched.
 * Blocking: up to `timeout_ms` (0 = the device's default) for the whole transfer.
 * Thread-safety: any thread; `progress` runs on the calling thread.
 */
enum netrig_status netrig_device_get_file(struct netrig_device dev,
                                          const char *remote_path,
                                          const char *local_path,
                                          uint32_t protocol_,
                                          netrig_progress_fn progress,
                                          void *user_data,
                                          uint32_t timeout_ms,
                                          uint64_t *bytes);

/**
 * The built-in platforms, their names separated by single spaces in alphabetical order
 * ("arista_eos busybox cisco_asa ..."; "generic" among them): the values `options.platform`
 * takes besides netmiko device_type names. PLATFORMS.md describes each and the file format.
 *
 * Ownership: the string is static; do not free it. Blocking: never. Thread-safety: any thread.
 */
const char *netrig_platforms(void);

/**
 * Fills `*out` with the default device options: port 22, strict host key checking against
 * ~/.ssh/known_hosts, connect and auth timeouts 10 s, operation timeout 30 s, keepalive 30 s,
 * a 511 x 24 terminal, and every string NULL (host, username, credentials and platform must be
 * set). `struct_size` is `sizeof *out` (see OPTIONS in the preamble); NETRIG_E_INVALID_ARG when
 * it is smaller than a size_t or larger than this library's struct.
 *
 * Ownership: `*out` is the caller's, written on success. Blocking: never.
 * Thread-safety: any thread.
 */
enum netrig_status netrig_device_options_default(struct netrig_device_options *out,
                                                 size_t struct_size);

/**
 * Subscribes to changes of keys starting with `prefix` ("" for all). Poll the changes with
 * `netrig_subscription_poll`. Each subscription has its own queue of `capacity` changes (0 for
 * 1024); when it is full, writers never wait: changes are dropped and the next poll at that
 * point returns NETRIG_E_LAGGED with the count in the last error.
 *
 * `*out_snapshot` (pass NULL to skip) receives a snapshot of the prefix taken at the same
 * instant: every change after it is delivered and none before it, so a UI can draw the
 * snapshot and then apply changes with nothing missed.
 *
 * Order: one key's changes come in version order and a batch's together; of two writes where
 * one returned before the other began, the first one's change comes first. A marker key
 * written after a set of writes has finished therefore arrives after all of their changes.
 *
 * Ownership: `prefix` is borrowed. The caller frees `*out` with `netrig_subscription_free` and
 * `*out_snapshot` with `netrig_snapshot_free`. The subscription does not keep the store alive:
 * after `netrig_store_free`, polls return what is queued, then NETRIG_E_CLOSED.
 * Blocking: waits for every shard of the store once (microseconds). Thread-safety: any thread.
 */
enum netrig_status netrig_store_subscribe(struct netrig_store store,
                                          const char *prefix,
                                          uint32_t capacity,
                                          struct netrig_subscription *out,
                                          struct netrig_snapshot *out_snapshot);

/**
 * Like `netrig_store_subscribe`, but netrig calls `callback(change, user_data)` for each change
 * on a dispatcher thread it starts for this subscription (named "netrig-events"): one thread,
 * one call at a time, in the order of the changes, never while netrig holds a store lock (the
 * callback may call any netrig function, including writes to this store and
 * `netrig_subscription_free` of this or another subscription). Where changes were dropped, it
 * gets one call with kind NETRIG_CHANGE_LAGGED and the count in `missed`.
 * `netrig_subscription_free` delivers the changes queued before it, then stops the thread.
 *
 * Ownership: `prefix` is borrowed. `user_data` is passed through untouched; the caller keeps it
 * valid, and usable from the dispatcher thread, until `netrig_subscription_free` returns (which
 * waits for the callback, unless called from inside it: see there). The view passed to the
 * callback is valid only during the call.
 * Blocking: as `netrig_store_subscribe`. Thread-safety: any thread.
 */
enum netrig_status netrig_store_subscribe_callback(struct netrig_store store,
                                                   const char *prefix,
                                                   uint32_t capacity,
                                                   netrig_change_fn callback,
                                                   void *user_data,
                                                   struct netrig_subscription *out,
                                                   struct netrig_snapshot *out_snapshot);

/**
 * Takes the next change, waiting up to `timeout_ms` (0 = only check, NETRIG_WAIT_FOREVER = no
 * limit). NETRIG_OK with `*out` set; NETRIG_E_TIMEOUT when none came; NETRIG_E_LAGGED where
 * changes were dropped (the last error says how many; the changes after follow on the next
 * poll); NETRIG_E_CLOSED once the subscription or its store is gone and the queue is empty.
 * Subscriptions with a callback are polled by their dispatcher thread; polling them here too
 * takes changes from the callback.
 *
 * Ownership: the caller frees `*out` with `netrig_change_free`.
 * Blocking: up to `timeout_ms`; `netrig_subscription_free` from another thread ends the wait.
 * Thread-safety: any thread; several pollers share the queue (each change goes to one).
 */
enum netrig_status netrig_subscription_poll(struct netrig_subscription sub,
                                            uint32_t timeout_ms,
                                            struct netrig_change *out);

/**
 * The subscription's counters.
 *
 * Ownership: `*out` is written by value. Blocking: never. Thread-safety: any thread.
 */
enum netrig_status netrig_subscription_get_stats(struct netrig_subscription sub,
                                                 struct netrig_subscription_stats *out);

/**
 * Unsubscribes and frees the subscription. No change written after the call begins is
 * delivered. What happens to the changes already queued:
 *
 * - a callback subscription delivers them first: the dispatcher thread calls the callback for
 *   each change queued before the free, then stops, and the free waits for that. When it
 *   returns, every change written before the call has reached the callback, no callback is
 *   running and none will run, so `user_data` may be freed right after.
 *   Called from inside the subscription's own callback, it cannot wait for itself: the queued
 *   changes are dropped and the thread stops when the callback returns. When two callbacks
 *   free each other's subscriptions at the same time, the free that would wait forever (the
 *   second to start) drops its subscription's queued changes and returns without waiting; the
 *   callback of that subscription is then still on the stack, blocked in the other free.
 * - a polled subscription drops them (the handle is gone, nobody can poll it), and polls
 *   waiting in other threads return NETRIG_E_CLOSED.
 *
 * Ownership: consumes the handle. Blocking: a callback subscription waits for the callback to
 * take the queued changes (at most `capacity` calls) and return; a polled one never blocks.
 * Thread-safety: any thread.
 */
enum netrig_status netrig_subscription_free(struct netrig_subscription sub);

/**
 * Fills `*out` with the change. Pointers in it stay valid until `netrig_change_free`.
 *
 * Ownership: `*out` is written by value. Blocking: never. Thread-safety: any thread.
 */
enum netrig_status netrig_change_get(struct netrig_change change, struct netrig_change_view *out);

/**
 * Frees a change taken by `netrig_subscription_poll`.
 *
 * Ownership: consumes the handle. Blocking: never. Thread-safety: any thread.
 */
enum netrig_status netrig_change_free(struct netrig_change change);

/**
 * Loads a Nornir-style inventory and adds the hosts `filter` takes to the job as named targets
 * with their merged data (as `netrig_job_add_target_named`), in the order of hosts.yaml.
 *
 * Files: `hosts` (hosts.yaml: host name -> entry), `groups` (groups.yaml: group name -> entry;
 * NULL: none) and `defaults` (defaults.yaml: one entry; NULL: none). An entry may set Nornir's
 * hostname (default: the host's name), port, username, password, platform, groups (a list;
 * not in defaults) and data (a mapping), and netrig's device options at its top level under the
 * names of the Python `Device` keywords: secret, private_key_file, private_key, passphrase,
 * use_agent, host_key ("strict", "pinned", "accept-new", "insecure"), known_hosts,
 * fingerprint, connect_timeout, auth_timeout, timeout, keepalive (seconds; keepalive 0 = none),
 * prompt_pattern, paging_off_command, enable_command, config_command, config_exit_command,
 * config_prompt_pattern, terminal ([columns, rows]), session_log, session_log_timestamps,
 * platform_file, platform_text, error_pattern. Any other key (also Nornir's
 * connection_options) is refused. A value comes from the host, else its groups in order, each
 * before its own groups (depth first), else the defaults; data merges key by key the same way;
 * null means "not set here". `${env:NAME}` in a string is replaced by that environment
 * variable. Relative paths are relative to their file's folder. username and a platform must
 * resolve for every host.
 *
 * `filter` (NULL: every host) selects hosts; its terms, combined with `and` (or side by side),
 * `or`, `not` and parentheses:
 *   name=GLOB        the host's name (`*` any run, `?` one character)
 *   group=NAME       membership, direct or through other groups
 *   KEY=VALUE        a data key (nested with '.' or '__': rack.row=3) equal to VALUE, compared
 *                    as the data's JSON type (a list matches when one item does); a data key
 *                    called name or group is written data.name
 *   KEY!=VALUE       the negation
 *   VALUE in quotes ("uplink 1") may hold spaces and parentheses.
 * Example: `group=core and not site=lab or name=edge-*`.
 *
 * `*out_count` (may be NULL) receives how many targets were added. Errors add nothing:
 * NETRIG_E_NOT_FOUND for a missing file, NETRIG_E_IO for an unreadable one,
 * NETRIG_E_INVALID_ARG for a bad file, naming the file, line and key ("hosts.yaml, line 7:
 * sw3.groups: group 'core' is not defined in groups.yaml"), a variable that is not set, or a
 * bad filter (naming its position).
 *
 * Ownership: the strings are borrowed for the call; the job keeps copies of the targets.
 * Blocking: reads the three files (and any platform files they name). Thread-safety: any
 * thread; a job may be built from several threads.
 */
enum netrig_status netrig_job_add_inventory(struct netrig_job job,
                                            const char *hosts,
                                            const char *groups,
                                            const char *defaults,
                                            const char *filter,
                                            size_t *out_count);

/**
 * Loads an inventory as `netrig_job_add_inventory` does and gives the hosts `filter` takes
 * (NULL: all) as JSON in the text of a result object: an array, in the order of hosts.yaml, of
 * objects with name, groups (the host's own), all_groups (also those inherited, in resolution
 * order), data (merged) and options (merged, under the Python `Device` keyword names: host,
 * port, username, password, secret, ...; times in seconds, keepalive null for none). The
 * options hold passwords and secrets in clear: keep the text in the process, never log it.
 *
 * Ownership: the strings are borrowed for the call; on success `*out` receives a result the
 * caller frees with `netrig_output_free`. Blocking: reads the files. Thread-safety: any thread.
 */
enum netrig_status netrig_inventory_json(const char *hosts,
                                         const char *groups,
                                         const char *defaults,
                                         const char *filter,
                                         struct netrig_output *out);

/**
 * Creates an empty job: add targets (`netrig_job_add_target*`) and steps
 * (`netrig_job_add_command`, ...), then start it with `netrig_run_start`, as often as you like.
 *
 * Ownership: on success `*out` receives a handle the caller frees with `netrig_job_free`.
 * Blocking: never. Thread-safety: any thread.
 */
enum netrig_status netrig_job_new(struct netrig_job *out);

/**
 * Frees a job. Runs started from it are unaffected (each has its own copy).
 *
 * Ownership: consumes the handle. Blocking: until calls on the job in other threads return
 * (microseconds). Thread-safety: any thread.
 */
enum netrig_status netrig_job_free(struct netrig_job job);

/**
 * Adds a device to run on; a run opens its session with these options (or checks one out of
 * the run's pool). Hosts are numbered from 0 in the order they are added. The options are
 * checked now (NETRIG_E_INVALID_ARG, NETRIG_E_NULL_ARG, NETRIG_E_UTF8 as for
 * `netrig_device_open`); nothing is connected.
 *
 * Ownership: `opts` and its strings are borrowed for the call; the job keeps copies
 * (passwords and secrets are wiped when the job and its runs are freed).
 * Blocking: never. Thread-safety: any thread; a job may be built from several threads.
 */
enum netrig_status netrig_job_add_target(struct netrig_job job,
                                         const struct netrig_device_options *opts);

/**
 * Adds a device as `netrig_job_add_target` does, under a name and with data. `name` (NULL:
 * "host:port") is what the run's results, events (`netrig_run_host_name`), error texts and
 * JSON report call the host; it must not be empty, and need not be unique. `data_json` (NULL:
 * an empty object) is any JSON value, kept as given and carried into `netrig_run_json` as the
 * host's "data"; text that is not JSON is NETRIG_E_INVALID_ARG naming the line and column.
 *
 * Ownership: `opts`, `name`, `data_json` and their strings are borrowed for the call; the job
 * keeps copies. Blocking: never. Thread-safety: any thread; a job may be built from several
 * threads.
 */
enum netrig_status netrig_job_add_target_named(struct netrig_job job,
                                               const char *name,
                                               const struct netrig_device_options *opts,
                                               const char *data_json);

/**
 * Adds a device by pool key: the run checks a session out of its pool with the options the
 * pool has for (host, port, username, platform) from an earlier `netrig_pool_checkout` or
 * `netrig_pool_prewarm`. `platform` NULL means "generic". A run of such a job needs a pool
 * (`netrig_run_start` returns NETRIG_E_INVALID_ARG without one); a key the pool never saw
 * fails that host with NETRIG_E_NOT_FOUND.
 *
 * Ownership: the strings are borrowed for the call and copied. Blocking: never.
 * Thread-safety: any thread.
 */
enum netrig_status netrig_job_add_target_key(struct netrig_job job,
                                             const char *host,
                                             uint16_t port,
                                             const char *username,
                                             const char *platform);

/**
 * Adds a step that sends `command` and reads until the prompt (as
 * `netrig_device_send_command`; its output is the step's output).
 * `timeout_ms`: the step's deadline (0 = the device's timeout_ms).
 *
 * Ownership: `command` is borrowed and copied. Blocking: never. Thread-safety: any thread.
 */
enum netrig_status netrig_job_add_command(struct netrig_job job,
                                          const char *command,
                                          uint32_t timeout_ms);

/**
 * Adds a step like `netrig_job_add_command` whose output is also parsed with its TextFSM
 * template (as `netrig_output_parse`; templates from the target's
 * `netrig_device_options.templates`, else `NETRIG_TEMPLATES`): the run's JSON report
 * (`netrig_run_json`) carries the records as the step's `records`. No template for the
 * platform and command, or a broken one, fails the step with that error.
 *
 * Ownership: `command` is borrowed and copied. Blocking: never. Thread-safety: any thread.
 */
enum netrig_status netrig_job_add_command_parsed(struct netrig_job job,
                                                 const char *command,
                                                 uint32_t timeout_ms);

/**
 * Adds a configuration set of `count` lines (as `netrig_device_send_config_set`; `flags` are
 * its NETRIG_CONFIG_* flags). A rejected line fails the step with NETRIG_E_COMMAND and the
 * step's error names it. `timeout_ms`: the step's deadline (0 = the device's timeout_ms).
 *
 * Ownership: the array and strings are borrowed and copied. Blocking: never.
 * Thread-safety: any thread.
 */
enum netrig_status netrig_job_add_config(struct netrig_job job,
                                         const char *const *lines,
                                         size_t count,
                                         uint32_t flags,
                                         uint32_t timeout_ms);

/**
 * Adds a step that runs `command` on its own channel (as `netrig_device_exec`; Linux targets).
 * The step succeeds only with exit status 0; another exit status fails it with
 * NETRIG_E_COMMAND. Its output is stdout; `netrig_run_step_output` also gives stderr and the
 * exit status. `timeout_ms`: the step's deadline (0 = the device's timeout_ms).
 *
 * Ownership: `command` is borrowed and copied. Blocking: never. Thread-safety: any thread.
 */
enum netrig_status netrig_job_add_exec(struct netrig_job job,
                                       const char *command,
                                       uint32_t timeout_ms);

/**
 * Adds a step that copies the local file `local` to `remote` on each device (as
 * `netrig_device_put_file`, without progress), over `protocol` (NETRIG_PROTOCOL_*). The
 * step's output is "<bytes> bytes". `timeout_ms`: the step's deadline (0 = the device's
 * timeout_ms).
 *
 * Ownership: the paths are borrowed and copied; the file is read when the step runs.
 * Blocking: never. Thread-safety: any thread.
 */
enum netrig_status netrig_job_add_put(struct netrig_job job,
                                      const char *local,
                                      const char *remote,
                                      uint32_t protocol_,
                                      uint32_t timeout_ms);

/**
 * Adds a step that copies `remote` from each device to the local path `local` (as
 * `netrig_device_get_file`), over `protocol` (NETRIG_PROTOCOL_*). `{host}` and `{port}` in
 * `local` are replaced by each target's, so hosts do not overwrite each other's files
 * ("/tmp/cfg-{host}-{port}.txt"). The step's output is "<bytes> bytes". `timeout_ms`: the
 * step's deadline (0 = the device's timeout_ms).
 *
 * Ownership: the paths are borrowed and copied. Blocking: never. Thread-safety: any thread.
 */
enum netrig_status netrig_job_add_get(struct netrig_job job,
                                      const char *remote,
                                      const char *local,
                                      uint32_t protocol_,
                                      uint32_t timeout_ms);

/**
 * Sends log records at `min_level` (a netrig_log_level) and above to `callback`. `callback` NULL or
 * `min_level` NETRIG_LOG_OFF clears the callback; records then go to stderr when the
 * NETRIG_LOG environment variable names a level (error, warn, info, debug, trace), else
 * nowhere. A `min_level` that is not a netrig_log_level is NETRIG_E_INVALID_ARG.
 *
 * The callback runs on one netrig logging thread ("netrig-log"), never on the caller's thread,
 * never on a thread doing I/O for netrig and never under a netrig lock: it gets one record at
 * a time, in the order the records were made. It may call any netrig function, including ones
 * that log (their records are queued behind the current one). It should return promptly: while
 * it runs, records queue up (at most 8192; beyond that they are dropped, and the next record
 * delivered is preceded by a NETRIG_LOG_WARN record "N log records dropped (queue full)"). It
 * must not unwind (no C++ exception, no longjmp) through netrig.
 *
 * Replacing or clearing the callback first delivers every record still queued to the callback
 * that was current when it was made, then returns: after it returns, the old callback is never
 * called again and its `user_data` may be freed. Called from inside the callback it cannot
 * wait for itself: it switches at once and returns without waiting (the old callback may then
 * still get the records queued before the call).
 *
 * Ownership: `user_data` is the caller's, passed back to `callback` untouched; it must stay valid
 * until a later netrig_set_log_callback (from outside the callback) has returned. Blocking:
 * while the records queued before the call are delivered. Thread-safety: any thread.
 */
enum netrig_status netrig_set_log_callback(uint32_t min_level,
                                           netrig_log_fn callback,
                                           void *user_data);

/**
 * Sets the min level of the current log sink (the callback, or stderr). Without a callback,
 * a level other than NETRIG_LOG_OFF sends records to stderr, one line each, as NETRIG_LOG
 * would. A `level` that is not a netrig_log_level is NETRIG_E_INVALID_ARG.
 *
 * Ownership: nothing to own. Blocking: never. Thread-safety: any thread, also from inside the
 * log callback.
 */
enum netrig_status netrig_set_log_level(uint32_t level);

/**
 * The current min log level (NETRIG_LOG_OFF when nothing is logged). (Named `get` because C
 * does not allow a function named like the type `netrig_log_level`.)
 *
 * Ownership: nothing to own. Blocking: never. Thread-safety: any thread.
 */
netrig_log_level netrig_get_log_level(void);

/**
 * Waits until every record queued for the log callback before the call has been delivered,
 * up to `timeout_ms` (NETRIG_WAIT_FOREVER: no limit); NETRIG_E_TIMEOUT when some are still
 * queued then. From inside the log callback it returns NETRIG_OK at once (it cannot wait for
 * itself).
 *
 * Ownership: nothing to own. Blocking: up to `timeout_ms`. Thread-safety: any thread.
 */
enum netrig_status netrig_log_flush(uint32_t timeout_ms);

/**
 * The output text (exec: stdout). `*text` points to NUL-terminated bytes inside the result and
 * `*len` (may be NULL) receives their length without the NUL (exec output may hold NULs).
 *
 * Ownership: the pointer stays valid until `netrig_output_free`. Blocking: never.
 * Thread-safety: any thread; results are immutable.
 */
enum netrig_status netrig_output_text(struct netrig_output out, const char **text, size_t *len);

/**
 * Exec's stderr (empty for CLI operations), as `netrig_output_text`.
 *
 * Ownership: the pointer stays valid until `netrig_output_free`. Blocking: never.
 * Thread-safety: any thread.
 */
enum netrig_status netrig_output_stderr(struct netrig_output out, const char **text, size_t *len);

/**
 * Exec's exit status (-1 if the server sent none; 0 for CLI operations).
 *
 * Ownership: `*status` is written on success. Blocking: never. Thread-safety: any thread.
 */
enum netrig_status netrig_output_exit_status(struct netrig_output out, int32_t *status);

/**
 * How long the operation took, in microseconds (including any wait for the device's lock).
 *
 * Ownership: `*us` is written on success. Blocking: never. Thread-safety: any thread.
 */
enum netrig_status netrig_output_elapsed_us(struct netrig_output out, uint64_t *us);

/**
 * What the operation sent: the command; a dialogue's sends or a configuration set's lines
 * joined with "\n" (answers to password prompts as "<secret>"); the save command; "" for exec
 * results. As `netrig_output_text`.
 *
 * Ownership: the pointer stays valid until `netrig_output_free`. Blocking: never.
 * Thread-safety: any thread.
 */
enum netrig_status netrig_output_command(struct netrig_output out, const char **text, size_t *len);

/**
 * The name of the platform that read the output ("cisco_ios"); "" for exec results. As
 * `netrig_output_text`.
 *
 * Ownership: the pointer stays valid until `netrig_output_free`. Blocking: never.
 * Thread-safety: any thread.
 */
enum netrig_status netrig_output_platform(struct netrig_output out, const char **text, size_t *len);

/**
 * Whether the device answered with a line that matches its error patterns: `*failed` is true
 * for an output of a call made with the check off (NETRIG_CHECK_OFF, or a device opened with
 * `check_errors` 0), and for the output `netrig_last_failed_output` hands out; false for exec
 * results and outputs without such a line.
 *
 * Ownership: `*failed` is written on success. Blocking: never. Thread-safety: any thread.
 */
enum netrig_status netrig_output_failed(struct netrig_output out, bool *failed);

/**
 * The device's line that matched an error pattern (the first, without its newline), as
 * `netrig_output_text`; "" (length 0) when the output did not fail (`netrig_output_failed`).
 *
 * Ownership: the pointer stays valid until `netrig_output_free`. Blocking: never.
 * Thread-safety: any thread.
 */
enum netrig_status netrig_output_failure(struct netrig_output out, const char **line, size_t *len);

/**
 * The output of the last operation on this thread that failed with NETRIG_E_COMMAND because
 * the device answered with an error line (`netrig_device_send_command` and the other
 * operations that return an output): the text the device printed, with
 * `netrig_output_failed` true and `netrig_output_failure` giving the line. The last error
 * names the command and quotes that line; this is the rest of what the device said. The
 * output is moved into `*out`, so a second call finds none. It is forgotten when the next
 * device operation that returns an output starts on this thread (whatever its result), and
 * when the thread ends. NETRIG_E_NOT_FOUND when there is none (a failure of another kind
 * keeps none: a rejected exec, a timeout).
 *
 * Ownership: on success `*out` receives a result the caller frees with `netrig_output_free`.
 * Blocking: never. Thread-safety: any thread; each thread has its own.
 */
enum netrig_status netrig_last_failed_output(struct netrig_output *out);

/**
 * Frees a result. Pointers obtained from it become invalid.
 *
 * Ownership: consumes the handle. Blocking: until in-flight accessor calls on it return.
 * Thread-safety: any thread.
 */
enum netrig_status netrig_output_free(struct netrig_output out);

/**
 * Parses `text`, the output of `command` on a device of `platform` (netrig's platform name,
 * which is ntc-templates' name: "cisco_ios", "arista_eos", ...), with the TextFSM template
 * that the `index` file of `templates` names for them (abbreviations as the index allows:
 * "sh ip int br" finds "show ip interface brief"). `templates` NULL or "" uses the directory
 * in `NETRIG_TEMPLATES`. The result's text (`netrig_output_text`) is a JSON array of objects,
 * one per record, keyed by the template's Value names in lower case, each value a string or
 * (List values) an array of strings. Output the template does not recognise gives `[]`.
 * NETRIG_E_NOT_FOUND: no templates directory, no index in it, or no template for the
 * platform and command (the message names both and the index). NETRIG_E_INVALID_ARG: a
 * template or index that does not compile (the message names its file and line).
 * NETRIG_E_COMMAND: the template's Error action rejected the output.
 *
 * Ownership: all arguments are borrowed; on success `*json` receives a result the caller
 * frees with `netrig_output_free`.
 * Blocking: reads and compiles the index and templates on first use of a directory (then
 * cached for the process, re-read when a file changes), and parses: no network, no waits.
 * Thread-safety: any thread; the cache is shared and safe to use from many threads at once.
 */
enum netrig_status netrig_parse(const char *text,
                                const char *platform,
                                const char *command,
                                const char *templates,
                                struct netrig_output *json);

/**
 * Parses the text of a CLI operation's result (`netrig_device_send_command` and the other
 * CLI calls; a runner's steps parse with `netrig_job_add_command_parsed`) as `netrig_parse`
 * does, with the command and platform the result carries. `templates` NULL or "" uses
 * `NETRIG_TEMPLATES`. NETRIG_E_INVALID_ARG for a result that carries no command (exec output,
 * a JSON result, a run's step output); the other statuses as `netrig_parse`.
 *
 * Ownership: `out` and `templates` are borrowed; on success `*json` receives a new result
 * the caller frees with `netrig_output_free` (`out` stays the caller's).
 * Blocking: as `netrig_parse`. Thread-safety: any thread.
 */
enum netrig_status netrig_output_parse(struct netrig_output out,
                                       const char *templates,
                                       struct netrig_output *json);

/**
 * Parses `text` with the TextFSM template file `template` itself, without an index
 * (netmiko's `textfsm_template=`): the result as `netrig_parse`'s. NETRIG_E_NOT_FOUND for a
 * missing file, NETRIG_E_INVALID_ARG for a template that does not compile (file and line).
 *
 * Ownership: all arguments are borrowed; on success `*json` receives a result the caller
 * frees with `netrig_output_free`.
 * Blocking: reads and compiles the file on first use (then cached for the process, re-read
 * when it changes), and parses. Thread-safety: any thread.
 */
enum netrig_status netrig_parse_template(const char *text,
                                         const char *template_,
                                         struct netrig_output *json);

/**
 * Fills `*out` with the pool defaults: max_per_host 4, max_total 512, idle_timeout_ms 300000
 * (5 min), max_lifetime_ms 3600000 (1 h), checkout_timeout_ms 30000, health_check_after_ms
 * 10000, health_check_timeout_ms 5000. `struct_size` is `sizeof *out` (see OPTIONS in the
 * preamble); NETRIG_E_INVALID_ARG when it is smaller than a size_t or larger than this
 * library's struct.
 *
 * Ownership: `*out` is the caller's, written on success. Blocking: never.
 * Thread-safety: any thread.
 */
enum netrig_status netrig_pool_options_default(struct netrig_pool_options *out, size_t struct_size);

/**
 * Creates a pool of device sessions, with a background thread ("netrig-pool-reaper") that
 * closes sessions past idle_timeout_ms or max_lifetime_ms. NETRIG_E_INVALID_ARG when a field
 * of `opts` is 0.
 *
 * Ownership: `opts` is borrowed for the call (NULL = the defaults). On success `*out` receives
 * a handle the caller frees with `netrig_pool_free`.
 * Blocking: never (no connection is opened). Thread-safety: any thread.
 */
enum netrig_status netrig_pool_new(const struct netrig_pool_options *opts, struct netrig_pool *out);

/**
 * Frees a pool handle. Idle sessions are closed; sessions checked out stay usable and are
 * closed when their handles are freed (`netrig_device_free`) instead of going back. A run
 * started with the pool keeps using it until the run ends, and the pool closes then.
 *
 * Ownership: consumes the handle. Blocking: never waits for checked-out sessions, runs or
 * checkouts in progress on other threads; closing an idle session sends its disconnect
 * without waiting for an answer. Thread-safety: any thread, also while other threads check
 * out from the pool: a checkout waiting for a session fails at once with NETRIG_E_CLOSED, one
 * already opening or health-checking its session completes.
 */
enum netrig_status netrig_pool_free(struct netrig_pool pool);

/**
 * Lends a session to the device `opts` describes: an idle one of the same (host, port,
 * username, platform) if there is one (health-checked first when it sat idle longer than
 * health_check_after_ms), else a new one when the host is below max_per_host (and the pool
 * below max_total, after closing the least recently used idle session if needed), else the
 * next one checked in. The credentials and other options of a new session are those of `opts`;
 * an idle session is handed out whatever credentials it was opened with.
 *
 * Failures: NETRIG_E_TIMEOUT when no session came free within the timeout (the last error
 * gives the host's counts and the limits); the connect's own status (NETRIG_E_CONNECT,
 * NETRIG_E_AUTH, ...) when the connect this checkout made, or waited on, failed;
 * NETRIG_E_CLOSED after `netrig_pool_free`; argument errors as for `netrig_device_open`.
 *
 * Ownership: `opts` and its strings are borrowed for the call; the pool keeps copies (for
 * `netrig_pool_checkout_key` and reconnects). On success `*out` receives an ordinary device
 * handle: every `netrig_device_*` function works on it, and `netrig_device_free` returns the
 * session to the pool (`netrig_pool_discard` closes it instead). The handle stays valid after
 * `netrig_pool_free`.
 * Blocking: up to `timeout_ms` (0 = the pool's checkout_timeout_ms) waiting for a session,
 * plus, when it opens one, up to the connect_timeout_ms + auth_timeout_ms + timeout_ms of
 * `opts`, or, for an idle session, up to health_check_timeout_ms.
 * Thread-safety: any thread; checkouts of other hosts never wait for this one's connect.
 */
enum netrig_status netrig_pool_checkout(struct netrig_pool pool,
                                        const struct netrig_device_options *opts,
                                        uint32_t timeout_ms,
                                        struct netrig_device *out);

/**
 * Like `netrig_pool_checkout`, by key: (host, port, username, platform) must be a device the
 * pool has seen in a `netrig_pool_checkout` or `netrig_pool_prewarm` (its options from then
 * are used to open new sessions); NETRIG_E_NOT_FOUND otherwise. `platform` NULL means
 * "generic", as in `netrig_device_options`.
 *
 * Ownership: the strings are borrowed for the call; `*out` as for `netrig_pool_checkout`.
 * Blocking: as `netrig_pool_checkout`. Thread-safety: any thread.
 */
enum netrig_status netrig_pool_checkout_key(struct netrig_pool pool,
                                            const char *host,
                                            uint16_t port,
                                            const char *username,
                                            const char *platform,
                                            uint32_t timeout_ms,
                                            struct netrig_device *out);

/**
 * Frees a handle from `netrig_pool_checkout` and closes its session instead of returning it
 * (a session the caller knows is in a bad state). An operation still running on it in another
 * thread is cancelled. On a handle from `netrig_device_open`: NETRIG_E_INVALID_ARG, and the
 * handle is untouched (free it with `netrig_device_free`).
 *
 * Ownership: consumes the handle (on success). Blocking: never waits for a running operation.
 * Thread-safety: any thread.
 */
enum netrig_status netrig_pool_discard(struct netrig_device dev);

/**
 * Opens a session to each of the `count` targets, at most `parallel` at a time, and leaves
 * them idle in the pool, so that a run or checkouts that follow find them ready. Returns
 * NETRIG_OK when every target opened; otherwise the status of the first target (in array
 * order) that failed, with a last error that lists every failed host and why
 * ("netrig_pool_prewarm: 2 of 50 targets failed: 127.0.0.1:2201: ...; 127.0.0.1:2207: ...").
 *
 * Out-parameters, an exception to the library's rule: once the arguments are valid (and the
 * connects were tried), `statuses` (may be NULL; else `count` entries: NETRIG_OK or the
 * target's failure) and `*failed` (may be NULL: how many failed) are written whether the call
 * returns NETRIG_OK or a failure. On an argument error (NULL, bad options, `parallel` 0,
 * invalid pool) nothing is connected and neither is written.
 *
 * Ownership: `targets` and their strings are borrowed for the call; the pool keeps copies.
 * Blocking: at most about ceil(count / parallel) times the longest connect_timeout_ms +
 * auth_timeout_ms + timeout_ms of the targets (a host already at max_per_host is waited for up
 * to the pool's checkout_timeout_ms). It uses `parallel` threads of its own, ended on return.
 * Thread-safety: any thread.
 */
enum netrig_status netrig_pool_prewarm(struct netrig_pool pool,
                                       const struct netrig_device_options *targets,
                                       size_t count,
                                       uint32_t parallel,
                                       enum netrig_status *statuses,
                                       size_t *failed);

/**
 * The pool's counters and gauges.
 *
 * Ownership: `*out` is the caller's, written on success. Blocking: takes the pool's
 * bookkeeping lock for microseconds; never waits for a connect. Thread-safety: any thread.
 */
enum netrig_status netrig_pool_get_stats(struct netrig_pool pool, struct netrig_pool_stats *out);

/**
 * Closes every idle session now; sessions checked out are closed when they are returned. The
 * pool stays usable: later checkouts open new sessions. For a test step that changed device
 * credentials or rebooted devices.
 *
 * Ownership: borrows the handle. Blocking: sends each idle session's disconnect without
 * waiting for an answer; never waits for checked-out sessions. Thread-safety: any thread.
 */
enum netrig_status netrig_pool_close_all(struct netrig_pool pool);

/**
 * Fills `*out` with the queue defaults: max_items 100000, max_attempts 3, lease_ms 30000,
 * max_payload 16 MiB. `struct_size` is `sizeof *out` (see OPTIONS in the preamble);
 * NETRIG_E_INVALID_ARG when it is smaller than a size_t or larger than this library's struct.
 *
 * Ownership: `*out` is the caller's, written on success. Blocking: never.
 * Thread-safety: any thread.
 */
enum netrig_status netrig_queue_options_default(struct netrig_queue_options *out,
                                                size_t struct_size);

/**
 * Creates an empty in-memory queue (named "memory" in error texts). NETRIG_E_INVALID_ARG when
 * a field of `opts` is 0.
 *
 * Ownership: `opts` is borrowed for the call (NULL = the defaults). On success `*out` receives
 * a handle the caller frees with `netrig_queue_free`.
 * Blocking: never. Thread-safety: any thread.
 */
enum netrig_status netrig_queue_new(const struct netrig_queue_options *opts,
                                    struct netrig_queue *out);

/**
 * Opens the durable queue `name` in the SQLite file `path` (created if missing; WAL mode, so
 * the file comes with `-wal` and `-shm` companions), creating the queue if it is new, and
 * loads its items. Items that were processing when the last process using the file ended are
 * pending again with their attempts kept (failed when those are used up); pending, suspended
 * and failed items, the completed count and the next id are as they were. From then on every
 * call that returns NETRIG_OK on this queue (push, claim, complete, fail, suspend, resume,
 * retry, purge) is in the file, surviving what `durability` says:
 * NETRIG_DURABLE_PROCESS_CRASH (a crash or `kill -9`) or NETRIG_DURABLE_POWER_LOSS
 * (also an OS crash or power loss; slower). Lease deadlines are not kept.
 *
 * Several queues may share one file under different names. A name already open in this
 * process returns NETRIG_E_BUSY (share that handle instead: any number of threads may use it).
 * One process at a time may work a given queue name: a second process that opens it would
 * take the first one's claimed items for abandoned ones.
 * NETRIG_E_IO when the file cannot be opened, created or read (the last error names the file
 * and the step); NETRIG_E_INVALID_ARG for an empty name or one over 256 bytes, a field of
 * `opts` that is 0, a `durability` that is neither constant, or a build without the `durable`
 * feature.
 *
 * Ownership: `path`, `name` and `opts` are borrowed for the call (`opts` NULL = the defaults).
 * On success `*out` receives a handle the caller frees with `netrig_queue_free`.
 * Blocking: opens and reads the file: milliseconds, more for a large queue; up to 10 s when
 * another process holds the file's write lock. Thread-safety: any thread.
 */
enum netrig_status netrig_queue_open(const char *path,
                                     const char *name,
                                     const struct netrig_queue_options *opts,
                                     uint32_t durability,
                                     struct netrig_queue *out);

/**
 * Frees a queue handle after closing the queue (see `netrig_queue_close`): claims waiting in
 * other threads return NETRIG_E_CLOSED at once. Item handles stay valid (their payloads
 * readable) until their own `netrig_item_free`; their leases can no longer be settled through
 * this queue, so they expire. A durable queue commits what it had not committed yet and its
 * file is closed when the last call still running on it returns; NETRIG_E_IO if that commit
 * failed (the handle is freed all the same).
 *
 * Ownership: consumes the handle. Blocking: never waits for claims in other threads; for a
 * durable queue, one commit (milliseconds; an fsync with NETRIG_DURABLE_POWER_LOSS).
 * Thread-safety: any thread, also while other threads use the queue (their calls complete or
 * return NETRIG_E_CLOSED).
 */
enum netrig_status netrig_queue_free(struct netrig_queue queue);

/**
 * Closes the queue without freeing the handle: claims waiting now return NETRIG_E_CLOSED, and
 * later `netrig_queue_push`, `netrig_queue_claim` and `netrig_queue_retry_failed` return it
 * too. Items already claimed can still be completed, failed and extended, and the other
 * calls keep working, so workers can finish what they hold. A durable queue commits what it
 * had not committed yet (NETRIG_E_IO if that fails). Closing twice is harmless.
 *
 * Ownership: borrows the handle. Blocking: as `netrig_queue_free`. Thread-safety: any thread.
 */
enum netrig_status netrig_queue_close(struct netrig_queue queue);

/**
 * Appends an item with a copy of `payload`. Items of higher `priority` are claimed first;
 * equal priorities in push order. `*out_id` (may be NULL) receives the item's id: ids start
 * at 1 and increase, never reused (also across reopens of a durable queue).
 *
 * Failures, each leaving the queue unchanged: NETRIG_E_FULL when max_items are held (the last
 * error gives the counts by state and what makes room); NETRIG_E_INVALID_ARG when `len` is
 * over max_payload; NETRIG_E_CLOSED after `netrig_queue_close`. For a durable queue,
 * NETRIG_E_IO when the commit failed (the item is then in memory only).
 *
 * Ownership: `payload` (`len` bytes; may be NULL when `len` is 0) is borrowed for the call and
 * copied. Blocking: the queue's lock for microseconds; a durable queue then waits for the
 * commit that holds the item (shared with concurrent callers). Thread-safety: any thread.
 */
enum netrig_status netrig_queue_push(struct netrig_queue queue,
                                     const uint8_t *payload,
                                     size_t len,
                                     int32_t priority,
                                     uint64_t *out_id);

/**
 * Claims the next pending item (highest priority, then lowest id) under the queue's lease
 * (lease_ms of its options): the item is processing, its attempt counted, until the holder
 * calls `netrig_queue_complete`, `netrig_queue_fail` or `netrig_queue_extend`, or the lease
 * runs out; then it is pending again (failed if that was its last attempt) and this handle's
 * lease is void. A durable queue records the attempt before returning.
 *
 * `timeout_ms`: how long to wait for an item. 0 only looks; NETRIG_WAIT_FOREVER waits without
 * limit. The wait sleeps on a condition variable (no polling) and wakes at once for a push, an
 * item returning to pending (a fail with retry, a resume, a retry, an expired lease) or a
 * close. NETRIG_E_TIMEOUT when no item came in time (the last error gives the counts);
 * NETRIG_E_CLOSED when the queue is or gets closed or freed while waiting.
 *
 * Ownership: on success `*out_item` receives a handle the caller frees with
 * `netrig_item_free` (after settling it, or to abandon it: freeing does not settle).
 * Blocking: up to `timeout_ms`; a durable queue then waits for the commit of the claim.
 * Thread-safety: any thread; any number of threads may claim from one queue at once, and each
 * item goes to exactly one of them.
 */
enum netrig_status netrig_queue_claim(struct netrig_queue queue,
                                      uint32_t timeout_ms,
                                      struct netrig_item *out_item);

/**
 * As `netrig_queue_claim`, with a lease of `lease_ms` (at least 1) instead of the queue's.
 *
 * Ownership: as `netrig_queue_claim`. Blocking: as `netrig_queue_claim`.
 * Thread-safety: any thread.
 */
enum netrig_status netrig_queue_claim_with_lease(struct netrig_queue queue,
                                                 uint32_t timeout_ms,
                                                 uint32_t lease_ms,
                                                 struct netrig_item *out_item);

/**
 * Settles a claimed item as done: it leaves the queue and counts as completed.
 *
 * NETRIG_E_LEASE, and nothing changes, when `item`'s lease is no longer held: it expired
 * (even if no other claimer has taken the item yet), the item was failed or suspended since,
 * or it was already completed. The last error says which ("queue 'q' item 17: lease of claim
 * 3 expired 120 ms ago; the item is pending again"). An item handle of another queue gets
 * NETRIG_E_LEASE or NETRIG_E_NOT_FOUND. For a durable queue, NETRIG_E_IO when the commit
 * failed.
 *
 * Ownership: borrows both handles; `item` stays valid (free it with `netrig_item_free`).
 * Blocking: the queue's lock for microseconds; a durable queue then waits for the commit.
 * Thread-safety: any thread.
 */
enum netrig_status netrig_queue_complete(struct netrig_queue queue, struct netrig_item item);

/**
 * Settles a claimed item as failed, keeping `error` (cut to NETRIG_QUEUE_MAX_ERROR_LEN bytes)
 * as its last error. With `retry` and attempts left (fewer than max_attempts claims so far)
 * the item is pending again, else failed. `*out_status` (may be NULL) receives
 * NETRIG_ITEM_PENDING or NETRIG_ITEM_FAILED. Lease and I/O failures as for
 * `netrig_queue_complete`; nothing changes then.
 *
 * Ownership: borrows both handles and `error` (a NUL-terminated UTF-8 string, copied);
 * `item` stays valid. Blocking: as `netrig_queue_complete`. Thread-safety: any thread.
 */
enum netrig_status netrig_queue_fail(struct netrig_queue queue,
                                     struct netrig_item item,
                                     bool retry,
                                     const char *error,
                                     uint32_t *out_status);

/**
 * Renews a claimed item's lease to end `lease_ms` (at least 1) from now: a heartbeat for
 * long work. Lease failures as for `netrig_queue_complete` (a lease that already ran out cannot
 * be renewed). Not journaled: a durable queue keeps no deadlines.
 *
 * Ownership: borrows both handles. Blocking: the queue's lock for microseconds; no I/O.
 * Thread-safety: any thread.
 */
enum netrig_status netrig_queue_extend(struct netrig_queue queue,
                                       struct netrig_item item,
                                       uint32_t lease_ms);

/**
 * The item's id (as `netrig_queue_push` returned it, and as `netrig_queue_suspend` and the
 * snapshot name it).
 *
 * Ownership: `*out` is the caller's. Blocking: never (the item is immutable).
 * Thread-safety: any thread, concurrently with any other call on the same item.
 */
enum netrig_status netrig_item_id(struct netrig_item item, uint64_t *out);

/**
 * The item's payload: `*data` points at `*len` bytes (for an empty payload, `*len` is 0 and
 * `*data` a valid non-NULL pointer to nothing).
 *
 * Ownership: the bytes belong to the item and stay valid and unchanged until
 * `netrig_item_free`, also after the item is settled or its queue freed.
 * Blocking: never (the item is immutable).
 * Thread-safety: any thread, concurrently with any other call on the same item.
 */
enum netrig_status netrig_item_payload(struct netrig_item item, const uint8_t **data, size_t *len);

/**
 * The priority the item was pushed with.
 *
 * Ownership: `*out` is the caller's. Blocking: never (the item is immutable).
 * Thread-safety: any thread, concurrently with any other call on the same item.
 */
enum netrig_status netrig_item_priority(struct netrig_item item, int32_t *out);

/**
 * Which claim of the item this is: 1 the first time it is claimed, 2 after one failed or
 * expired claim, ... up to max_attempts.
 *
 * Ownership: `*out` is the caller's. Blocking: never (the item is immutable).
 * Thread-safety: any thread, concurrently with any other call on the same item.
 */
enum netrig_status netrig_item_attempt(struct netrig_item item, uint32_t *out);

/**
 * Frees an item handle and its payload. It does not settle the item: an item freed while its
 * lease runs stays processing until the lease expires, then is pending again. A second free
 * returns NETRIG_E_INVALID_HANDLE.
 *
 * Ownership: consumes the handle. Blocking: until calls already running on this item in other
 * threads return (microseconds). Thread-safety: any thread.
 */
enum netrig_status netrig_item_free(struct netrig_item item);

/**
 * Keeps item `id` from being claimed until `netrig_queue_resume`. A pending item is taken out
 * of line; a processing one has its lease revoked (its holder's settle then gets
 * NETRIG_E_LEASE); a suspended one stays so. NETRIG_E_NOT_FOUND for an id that is not in the
 * queue (completed, purged or never pushed); NETRIG_E_INVALID_ARG for a failed item (retry
 * it first).
 *
 * Ownership: borrows the handle. Blocking: the queue's lock for microseconds; a durable queue
 * then waits for the commit. Thread-safety: any thread.
 */
enum netrig_status netrig_queue_suspend(struct netrig_queue queue, uint64_t id);

/**
 * Makes suspended item `id` pending again (in its original place in line: priority, then id).
 * A pending or processing item is left as it is. Errors as for `netrig_queue_suspend`.
 *
 * Ownership: borrows the handle. Blocking: as `netrig_queue_suspend`. Thread-safety: any thread.
 */
enum netrig_status netrig_queue_resume(struct netrig_queue queue, uint64_t id);

/**
 * Makes every suspended item pending; `*out_count` (may be NULL) receives how many.
 *
 * Ownership: borrows the handle. Blocking: the queue's lock for a time linear in the items
 * resumed; a durable queue then waits for the commit. Thread-safety: any thread.
 */
enum netrig_status netrig_queue_resume_all(struct netrig_queue queue, size_t *out_count);

/**
 * Makes every failed item pending with its attempts reset to 0 (its last error is kept);
 * `*out_count` (may be NULL) receives how many. NETRIG_E_CLOSED after `netrig_queue_close`.
 *
 * Ownership: borrows the handle. Blocking: as `netrig_queue_resume_all`.
 * Thread-safety: any thread.
 */
enum netrig_status netrig_queue_retry_failed(struct netrig_queue queue, size_t *out_count);

/**
 * Removes every failed item (they do not count as completed); `*out_count` (may be NULL)
 * receives how many.
 *
 * Ownership: borrows the handle. Blocking: as `netrig_queue_resume_all`.
 * Thread-safety: any thread.
 */
enum netrig_status netrig_queue_purge_failed(struct netrig_queue queue, size_t *out_count);

/**
 * How many items are in each state now (leases that ran out count as pending or failed
 * already), and how many were completed.
 *
 * Ownership: `*out` is the caller's. Blocking: the queue's lock for microseconds; no I/O.
 * Thread-safety: any thread.
 */
enum netrig_status netrig_queue_get_counts(struct netrig_queue queue,
                                           struct netrig_queue_counts *out);

/**
 * Copies a JSON snapshot of the queue, taken at one instant, and a NUL into `buf` (capacity
 * `buf_len`):
 * `{"queue": "uploads", "counts": {"pending": 2, "processing": 1, "suspended": 0, "failed": 0,
 * "completed": 40}, "items": [{"id": 41, "status": "pending", "priority": 5, "attempts": 0,
 * "lease_remaining_ms": null, "last_error": null, "payload": "job 41", "payload_encoding":
 * "utf8"}, ...]}`. Items come in claim order for pending ones, then processing ones by lease
 * deadline, then suspended and failed ones by id. A payload that is not UTF-8 is lowercase hex
 * with "payload_encoding": "hex".
 *
 * `*out_len` receives the JSON's length without the NUL. When `buf_len` is too small the call
 * returns NETRIG_E_BUFFER_TOO_SMALL and still sets `*out_len`; the queue can change before the
 * next call, so retry with room to spare (say `*out_len * 5 / 4 + 4096`) in a loop.
 * `buf` may be NULL when `buf_len` is 0 (asks for the length only). For the counts alone,
 * `netrig_queue_get_counts` is much cheaper.
 *
 * Ownership: `buf` and `*out_len` are the caller's. Blocking: holds the queue's lock while it
 * copies the item list (no payload copy; 12 ms for 100000 items in benches/queue.rs), then
 * renders the JSON without it (47 ms for those items' 19 MB). No I/O.
 * Thread-safety: any thread.
 */
enum netrig_status netrig_queue_snapshot_json(struct netrig_queue queue,
                                              char *buf,
                                              size_t buf_len,
                                              size_t *out_len);

/**
 * The counts of a finished run by host and by step. NETRIG_E_BUSY while it is running.
 *
 * Ownership: `*out` is the caller's, written on success. Blocking: never.
 * Thread-safety: any thread.
 */
enum netrig_status netrig_run_get_totals(struct netrig_run run, struct netrig_run_totals *out);

/**
 * How host `host` (its index in the job's targets) of a finished run went. NETRIG_E_BUSY while
 * the run is running; NETRIG_E_NOT_FOUND when `host` is past the last target.
 *
 * Ownership: `*out` is the caller's, written on success. Blocking: never.
 * Thread-safety: any thread.
 */
enum netrig_status netrig_run_host(struct netrig_run run,
                                   size_t host,
                                   struct netrig_host_result *out);

/**
 * The name of host `host` (given by `netrig_job_add_target_named`, else "host:port"), copied with a NUL into
 * `buf` (capacity `buf_len`); `*out_len` receives its length without the NUL, also on
 * NETRIG_E_BUFFER_TOO_SMALL, so the caller can retry with `*out_len + 1` bytes (`buf` may be
 * NULL when `buf_len` is 0). Available at any time, also while the run is running (for event
 * callbacks). NETRIG_E_NOT_FOUND when `host` is past the last target.
 *
 * Ownership: `buf` is the caller's. Blocking: never. Thread-safety: any thread.
 */
enum netrig_status netrig_run_host_name(struct netrig_run run,
                                        size_t host,
                                        char *buf,
                                        size_t buf_len,
                                        size_t *out_len);

/**
 * How step `step` of host `host` of a finished run went (every step has a result; one that
 * never ran is NETRIG_STATE_SKIPPED). NETRIG_E_BUSY while the run is running;
 * NETRIG_E_NOT_FOUND when `host` or `step` is out of range.
 *
 * Ownership: `*out` is the caller's, written on success. Blocking: never.
 * Thread-safety: any thread.
 */
enum netrig_status netrig_run_step(struct netrig_run run,
                                   size_t host,
                                   size_t step,
                                   struct netrig_step_result *out);

/**
 * The output of step `step` of host `host` as a result object: its text is the command's
 * output (exec: stdout; transfers: "<bytes> bytes"; empty for a step that failed or never
 * ran), `netrig_output_stderr` exec's stderr, `netrig_output_exit_status` exec's exit status
 * (-1 when it got none; 0 for other steps), `netrig_output_elapsed_us` the step's duration.
 * NETRIG_E_BUSY while the run is running; NETRIG_E_NOT_FOUND when `host` or `step` is out of
 * range.
 *
 * Ownership: on success `*out` receives a result the caller frees with `netrig_output_free`;
 * it is independent of the run handle. Blocking: never (copies the output).
 * Thread-safety: any thread.
 */
enum netrig_status netrig_run_step_output(struct netrig_run run,
                                          size_t host,
                                          size_t step,
                                          struct netrig_output *out);

/**
 * The error text of host `host`'s connect (`step` -1) or of step `step`: "" when it
 * succeeded, else what failed with context ("127.0.0.1:2201 step 2 (command 'show clock'):
 * ..."; for a step that never ran, why: "not run: an earlier step of this host failed").
 * Copied with a NUL into `buf` (capacity `buf_len`); `*out_len` receives its length without
 * the NUL, also on NETRIG_E_BUFFER_TOO_SMALL, so the caller can retry with `*out_len + 1` bytes
 * (`buf` may be NULL when `buf_len` is 0). NETRIG_E_BUSY while the run is running;
 * NETRIG_E_NOT_FOUND when `host` or `step` is out of range; NETRIG_E_INVALID_ARG for a `step`
 * below -1.
 *
 * Ownership: `buf` is the caller's. Blocking: never. Thread-safety: any thread.
 */
enum netrig_status netrig_run_error(struct netrig_run run,
                                    size_t host,
                                    int64_t step,
                                    char *buf,
                                    size_t buf_len,
                                    size_t *out_len);

/**
 * The whole report of a finished run as JSON, in the text of a result object: wall_ms,
 * cancelled, aborted (the reason or null), totals and step_totals (succeeded, failed,
 * timed_out, cancelled, skipped), failed_hosts (names), and hosts: name, data (the target's,
 * as given; {} by default), state, duration_ms,
 * connect and steps (state, status, error, output, stderr, exit_status, duration_ms).
 * Durations are milliseconds rounded to the microsecond (`1234.567`); status is the NETRIG_
 * name; texts keep every character (device output that was not UTF-8 has U+FFFD in place of
 * the bad bytes). NETRIG_E_BUSY while the run is running.
 *
 * Ownership: on success `*out` receives a result the caller frees with `netrig_output_free`.
 * Blocking: never (builds the JSON). Thread-safety: any thread.
 */
enum netrig_status netrig_run_json(struct netrig_run run, struct netrig_output *out);

/**
 * Fills `*out` with the run defaults: max_workers 128, NETRIG_STRATEGY_FREE,
 * NETRIG_ON_FAILURE_SKIP_HOST, events 0. `struct_size` is `sizeof *out` (see OPTIONS in the
 * preamble); NETRIG_E_INVALID_ARG when it is smaller than a size_t or larger than this
 * library's struct.
 *
 * Ownership: `*out` is the caller's, written on success. Blocking: never.
 * Thread-safety: any thread.
 */
enum netrig_status netrig_run_options_default(struct netrig_run_options *out, size_t struct_size);

/**
 * Starts the job's steps on every target of the job and returns at once. The run uses
 * min(max_workers, targets) threads of its own, named "netrig-run-<n>", which take hosts in
 * order; each host gets a session (a checkout of `pool`, or its own, closed at the host's end),
 * runs the steps with their deadlines, and gives the session back. A failure of one host
 * (connect or step) never stops the others, except under NETRIG_ON_FAILURE_ABORT.
 *
 * `callback` (may be NULL) is called with each event and `user_data`:
 * - Thread: the run's worker threads ("netrig-run-<event->worker>"), from several at once, so
 *   it must be thread-safe, and quick (the worker waits for it). A job with no targets
 *   delivers its only event, RUN_FINISHED, on the thread calling `netrig_run_start`, before
 *   that returns.
 * - No netrig lock is held while it runs: it may call any netrig function (cancel or free
 *   this run, read `netrig_run_host_name`), except `netrig_run_wait` on its own run, which
 *   would wait for the callback itself and returns NETRIG_E_INVALID_ARG instead. At
 *   NETRIG_EVENT_RUN_FINISHED, the last call, the results can already be read.
 * - `user_data` must stay valid, and the callback callable, until `netrig_run_wait` on this
 *   run has returned NETRIG_OK: from then on the callback is never called again (it has
 *   returned from RUN_FINISHED). A run freed while running is cancelled but its workers still
 *   finish the steps in flight and call the callback until they end; as the handle is gone,
 *   nothing tells when. So free a run with a callback only after `netrig_run_wait` returned
 *   NETRIG_OK (after `netrig_run_cancel` if you want it to stop), or keep `user_data` valid
 *   for the rest of the process. When `netrig_run_start` fails, the callback is not called
 *   after it returned.
 * - It may run before `netrig_run_start` has written `*out`. It must not unwind (no C++
 *   exception, no longjmp) through netrig.
 *
 * Failures: NETRIG_E_INVALID_ARG for options out of range, or a job with pool-key targets
 * and no pool. An empty job is fine (a run that finishes at once); targets without steps
 * only connect.
 *
 * Ownership: `job` is borrowed: its targets and steps are copied, so it may be changed or
 * freed at once. `pool` is borrowed (`{0}` = no pool): the run keeps the pool alive until it
 * ends, also after `netrig_pool_free`. `opts` is borrowed (NULL = the defaults). On success
 * `*out` receives a handle the caller frees with `netrig_run_free`.
 * Blocking: never waits for devices; it starts the worker threads.
 * Thread-safety: any thread; a job and a pool may be used by several runs at once.
 */
enum netrig_status netrig_run_start(struct netrig_job job,
                                    struct netrig_pool pool,
                                    const struct netrig_run_options *opts,
                                    netrig_event_fn callback,
                                    void *user_data,
                                    struct netrig_run *out);

/**
 * Waits up to `timeout_ms` for the run to end: NETRIG_OK once it has ended (its results are
 * ready and its callback has returned from its last call, NETRIG_EVENT_RUN_FINISHED, and will
 * not be called again), NETRIG_E_TIMEOUT if it is still running. `timeout_ms` 0 only checks;
 * NETRIG_WAIT_FOREVER waits without limit. NETRIG_E_INVALID_ARG when called from the run's
 * own callback (it would wait for itself).
 *
 * Ownership: borrows the handle. Blocking: up to `timeout_ms`. Thread-safety: any thread,
 * several at once; `netrig_run_free` or `netrig_run_cancel` from another thread make it
 * return soon (NETRIG_OK once the cancelled run has ended).
 */
enum netrig_status netrig_run_wait(struct netrig_run run, uint32_t timeout_ms);

/**
 * Cancels the run: steps in flight return NETRIG_E_CANCELLED within about 100 ms (connects in
 * flight finish or time out first), unstarted hosts and steps are skipped. No effect on a
 * finished run. `netrig_run_wait` tells when it has ended.
 *
 * Ownership: borrows the handle. Blocking: never. Thread-safety: any thread, including the
 * run's own callback.
 */
enum netrig_status netrig_run_cancel(struct netrig_run run);

/**
 * Takes the next event of a run started with `events` set in its options, waiting up to
 * `timeout_ms` for one (0 = only check, NETRIG_WAIT_FOREVER = no limit). NETRIG_OK with the
 * event in `*out`; NETRIG_E_TIMEOUT when none came in time; NETRIG_E_CLOSED once the run has
 * ended and every event, NETRIG_EVENT_RUN_FINISHED last, was taken; NETRIG_E_INVALID_ARG when
 * the run was started without `events`. Events are kept until taken (the callback, if any,
 * gets them too). With several threads taking events, each event goes to one of them.
 *
 * Ownership: `*out` is the caller's, written on success. Blocking: up to `timeout_ms`.
 * Thread-safety: any thread; `netrig_run_free` from another thread does not wait for it.
 */
enum netrig_status netrig_run_next_event(struct netrig_run run,
                                         uint32_t timeout_ms,
                                         struct netrig_event *out);

/**
 * Frees a run handle. A run still running is cancelled first (as `netrig_run_cancel`); its
 * workers end in the background, returning their sessions, and may still call the callback
 * until they do (see `netrig_run_start`).
 *
 * Ownership: consumes the handle; results read from it (netrig_output objects) stay valid
 * until their own `netrig_output_free`. Blocking: never waits for the run. Thread-safety: any
 * thread, including the run's own callback, and while other threads wait on the run (their
 * `netrig_run_wait` returns NETRIG_OK when the cancelled run has ended).
 */
enum netrig_status netrig_run_free(struct netrig_run run);

/**
 * Takes a consistent snapshot of the live keys starting with `prefix` ("" for all), sorted by
 * key. `*out` receives a handle the caller frees with `netrig_snapshot_free`.
 *
 * Ownership: `prefix` is borrowed. Blocking: read-locks all shards of the store at once, then
 * copies and releases them one by one (writers wait at most for that copy, which takes a
 * pointer copy per value, never a payload copy). Thread-safety: any thread.
 */
enum netrig_status netrig_store_snapshot(struct netrig_store store,
                                         const char *prefix,
                                         struct netrig_snapshot *out);

/**
 * The live keys starting with `prefix` ("" for all), sorted, taken at one instant. `*out`
 * receives a list the caller frees with `netrig_strlist_free`.
 *
 * Ownership: `prefix` is borrowed. Blocking: as `netrig_store_snapshot`. Thread-safety: any thread.
 */
enum netrig_status netrig_store_keys(struct netrig_store store,
                                     const char *prefix,
                                     struct netrig_strlist *out);

/**
 * The number of entries in the snapshot.
 *
 * Ownership: no pointer is kept after the call; out-parameters are the caller's.
 * Blocking: never (the object is immutable).
 * Thread-safety: any thread, concurrently with any other call on the same object.
 */
enum netrig_status netrig_snapshot_len(struct netrig_snapshot snapshot, size_t *out);

/**
 * Entry `index` (0-based, in key order). Returns NETRIG_E_NOT_FOUND past the end.
 *
 * Ownership: the pointers written into `*out` belong to the snapshot and stay valid until
 * `netrig_snapshot_free`.
 *
 * Blocking: never (the object is immutable).
 * Thread-safety: any thread, concurrently with any other call on the same object.
 */
enum netrig_status netrig_snapshot_get(struct netrig_snapshot snapshot,
                                       size_t index,
                                       struct netrig_entry *out);

/**
 * The snapshot as a JSON object keyed by store key, in key order:
 * `{"key": {"type": "int", "value": 3, "version": 7, "ttl_ms": null}, ...}`. `ttl_ms` is the
 * whole milliseconds left, null for a key that never expires. Bytes values are lowercase hex.
 * JSON has no NaN or infinity, so those doubles are the strings "NaN", "inf" and "-inf" (the
 * type still says "double"); every other double is a number that reads back to the same
 * value. Keys and strings keep every character (JSON escapes quotes, backslashes and control
 * characters). `*out_json` receives a NUL-terminated string and `*out_len` (may be NULL) its
 * length.
 *
 * Ownership: the string belongs to the snapshot (made on first call, then reused) and stays
 * valid until `netrig_snapshot_free`.
 *
 * Blocking: never (the object is immutable).
 * Thread-safety: any thread, concurrently with any other call on the same object.
 */
enum netrig_status netrig_snapshot_json(struct netrig_snapshot snapshot,
                                        const char **out_json,
                                        size_t *out_len);

/**
 * Frees a snapshot and every pointer it handed out. A second free returns
 * NETRIG_E_INVALID_HANDLE.
 *
 * Ownership: consumes the handle.
 *
 * Blocking: until calls already running on this snapshot in other threads return.
 * Thread-safety: any thread, concurrently with any other call on the same object.
 */
enum netrig_status netrig_snapshot_free(struct netrig_snapshot snapshot);

/**
 * The number of strings in the list.
 *
 * Ownership: no pointer is kept after the call; out-parameters are the caller's.
 * Blocking: never (the object is immutable).
 * Thread-safety: any thread, concurrently with any other call on the same object.
 */
enum netrig_status netrig_strlist_len(struct netrig_strlist list, size_t *out);

/**
 * String `index` (0-based). Returns NETRIG_E_NOT_FOUND past the end.
 *
 * Ownership: `*out` points into the list and stays valid until `netrig_strlist_free`.
 *
 * Blocking: never (the object is immutable).
 * Thread-safety: any thread, concurrently with any other call on the same object.
 */
enum netrig_status netrig_strlist_get(struct netrig_strlist list, size_t index, const char **out);

/**
 * Frees a list and every string it handed out. A second free returns NETRIG_E_INVALID_HANDLE.
 *
 * Ownership: consumes the handle.
 *
 * Blocking: until calls already running on this list in other threads return.
 * Thread-safety: any thread, concurrently with any other call on the same object.
 */
enum netrig_status netrig_strlist_free(struct netrig_strlist list);

/**
 * Records that a test started: script, pid, binary, topology, and `field_count` extra fields
 * (`field_names[i]` = `field_values[i]`; names hold no '/'). Atomic: when a test is already
 * running, nothing changes and the result is NETRIG_E_BUSY with the running script and pid in
 * the last error, so two threads or processes sharing the store never both start one.
 * `*out` (may be NULL) receives the new state.
 *
 * Ownership: every pointer is borrowed for the call. Blocking: see the top (no I/O in memory; a durable store waits for its commit). Thread-safety: any thread.
 */
enum netrig_status netrig_test_start(struct netrig_store store,
                                     const char *script,
                                     int64_t pid,
                                     const char *bin,
                                     const char *topology,
                                     const char *const *field_names,
                                     const char *const *field_values,
                                     size_t field_count,
                                     struct netrig_test_info *out);

/**
 * Records that the running test stopped. Script, pid and fields stay readable until the next
 * start. NETRIG_E_NOT_FOUND when no test is running. `*out` (may be NULL) receives the state.
 *
 * Ownership: `out` is written by value. Blocking: see the top (no I/O in memory; a durable store waits for its commit). Thread-safety: any thread.
 */
enum netrig_status netrig_test_stop(struct netrig_store store,
                                    struct netrig_test_info *out);

/**
 * Changes several fields of the test state at once (running or not); readers see all of the
 * change or none of it. `*out` (may be NULL) receives the new state.
 *
 * Ownership: `update` and everything it points to are borrowed for the call.
 * Blocking: see the top (no I/O in memory; a durable store waits for its commit). Thread-safety: any thread.
 */
enum netrig_status netrig_test_update(struct netrig_store store,
                                      const struct netrig_test_fields *update,
                                      struct netrig_test_info *out);

/**
 * The scalar test state, read at one instant.
 *
 * Ownership: `*out` is written by value. Blocking: see the top (no I/O in memory; a durable store waits for its commit). Thread-safety: any thread.
 */
enum netrig_status netrig_test_get_info(struct netrig_store store,
                                        struct netrig_test_info *out);

/**
 * The whole test state as JSON, read at one instant:
 * `{"running":true,"script":"a.sh","pid":12,"bin":"b","topology":"t","run":3,
 * "started_ms":1700000000000,"stopped_ms":null,"fields":{"k":"v"},"version":9}`; fields
 * never set are null, and texts keep every character (JSON escapes what it must).
 * Written NUL-terminated into `buf` (`cap` bytes); `*len` (may be NULL) gets its length. When
 * `cap` is too small: NETRIG_E_BUFFER_TOO_SMALL, `*len` = the length (allocate `*len + 1`).
 *
 * Ownership: `buf` is the caller's. Blocking: see the top (no I/O in memory; a durable store waits for its commit). Thread-safety: any thread.
 */
enum netrig_status netrig_test_json(struct netrig_store store,
                                    char *buf,
                                    size_t cap,
                                    size_t *len);

/**
 * Sets a service's running flag (0 or 1) and detail text together. `since_ms` moves only when
 * the flag changes. Names are non-empty and hold no '/'.
 *
 * Ownership: strings are borrowed. Blocking: see the top (no I/O in memory; a durable store waits for its commit). Thread-safety: any thread.
 */
enum netrig_status netrig_service_set(struct netrig_store store,
                                      const char *name,
                                      uint8_t running,
                                      const char *detail);

/**
 * One service's state, read at one instant: `*out` gets the flags and the detail text goes
 * NUL-terminated into `detail` (`cap` bytes, may be NULL with `cap` 0), its length into
 * `*detail_len` (may be NULL). NETRIG_E_NOT_FOUND for a service never set;
 * NETRIG_E_BUFFER_TOO_SMALL with `*detail_len` set when `cap` is too small (`*out` untouched).
 *
 * Ownership: `name` is borrowed; the buffers are the caller's. Blocking: see the top (no I/O).
 * Thread-safety: any thread.
 */
enum netrig_status netrig_service_get(struct netrig_store store,
                                      const char *name,
                                      struct netrig_service_info *out,
                                      char *detail,
                                      size_t cap,
                                      size_t *detail_len);

/**
 * Forgets a service. NETRIG_E_NOT_FOUND for a service never set.
 *
 * Ownership: `name` is borrowed. Blocking: see the top (no I/O in memory; a durable store waits for its commit). Thread-safety: any thread.
 */
enum netrig_status netrig_service_remove(struct netrig_store store,
                                         const char *name);

/**
 * Every service as one JSON object read at one instant:
 * `{"qsfp_service":{"running":true,"detail":"pid 7","since_ms":1700000000000,"version":4}}`.
 * Buffer rules as for `netrig_test_json`.
 *
 * Ownership: `buf` is the caller's. Blocking: see the top (no I/O in memory; a durable store waits for its commit). Thread-safety: any thread.
 */
enum netrig_status netrig_services_json(struct netrig_store store,
                                        char *buf,
                                        size_t cap,
                                        size_t *len);

/**
 * Fills `*out` with the default store options: max_entries 1000000, max_bytes 256 MiB,
 * default_ttl_ms 0 (never expire), max_key_len 1024. `struct_size` is `sizeof *out` (see
 * OPTIONS in the preamble); NETRIG_E_INVALID_ARG when it is smaller than a size_t or larger
 * than this library's struct.
 *
 * Ownership: `*out` is the caller's, written on success. Blocking: never.
 * Thread-safety: any thread.
 */
enum netrig_status netrig_store_options_default(struct netrig_store_options *out,
                                                size_t struct_size);

/**
 * Creates an empty in-memory store.
 *
 * Ownership: `options` may be NULL for the defaults; it is borrowed for the call. On success
 * `*out` receives the handle, which the caller frees with `netrig_store_free`.
 * Returns NETRIG_E_INVALID_ARG for a zero bound or a negative default TTL.
 * Blocking: never. Thread-safety: any thread.
 */
enum netrig_status netrig_store_new(const struct netrig_store_options *options,
                                    struct netrig_store *out);

/**
 * Opens (or creates) a store kept in the SQLite file at `path`. Every write that returns
 * NETRIG_OK is in the file before it returns and survives what `durability` says
 * (NETRIG_DURABLE_PROCESS_CRASH or NETRIG_DURABLE_POWER_LOSS); reads are served from memory.
 * Keys whose TTL ran out while the store was closed are not loaded; versions continue above
 * the highest in the file. NETRIG_E_IO (naming the file) when it cannot be opened or read.
 * Open one store per file at a time.
 *
 * Ownership: `path` and `options` (NULL for the defaults) are borrowed. The caller frees `*out`
 * with `netrig_store_free`, which commits anything pending and closes the file.
 * Blocking: reads the whole file (once). Writes on a durable store block until their commit:
 * tens of microseconds, an fsync with NETRIG_DURABLE_POWER_LOSS.
 * Thread-safety: any thread.
 */
enum netrig_status netrig_store_open(const char *path,
                                     const struct netrig_store_options *options,
                                     uint32_t durability,
                                     struct netrig_store *out);

/**
 * Frees a store and everything in it. Calls already running on the store in other threads
 * finish first (this call waits for them); calls made after it returns get
 * NETRIG_E_INVALID_HANDLE, and so does a second free.
 *
 * Ownership: consumes the handle. Blocking: until in-flight calls on this store return.
 * Thread-safety: any thread.
 */
enum netrig_status netrig_store_free(struct netrig_store store);

/**
 * Sets `key` to a bool. `ttl_ms`: NETRIG_TTL_DEFAULT (-1), NETRIG_TTL_NEVER (0) or ms > 0.
 *
 * Ownership: `key` is borrowed for the call. Returns NETRIG_E_FULL (nothing changed) past a bound.
 *
 * Blocking: waits only for other calls on the same shard of this store (microseconds); no I/O.
 * Thread-safety: any thread, concurrently with any other call on the same store.
 */
enum netrig_status netrig_store_set_bool(struct netrig_store store,
                                         const char *key,
                                         bool value,
                                         int64_t ttl_ms);

/**
 * Sets `key` to an int64. `ttl_ms` as for `netrig_store_set_bool`.
 *
 * Ownership: `key` is borrowed for the call. Returns NETRIG_E_FULL (nothing changed) past a bound.
 *
 * Blocking: waits only for other calls on the same shard of this store (microseconds); no I/O.
 * Thread-safety: any thread, concurrently with any other call on the same store.
 */
enum netrig_status netrig_store_set_int(struct netrig_store store,
                                        const char *key,
                                        int64_t value,
                                        int64_t ttl_ms);

/**
 * Sets `key` to a double. `ttl_ms` as for `netrig_store_set_bool`.
 *
 * Ownership: `key` is borrowed for the call. Returns NETRIG_E_FULL (nothing changed) past a bound.
 *
 * Blocking: waits only for other calls on the same shard of this store (microseconds); no I/O.
 * Thread-safety: any thread, concurrently with any other call on the same store.
 */
enum netrig_status netrig_store_set_double(struct netrig_store store,
                                           const char *key,
                                           double value,
                                           int64_t ttl_ms);

/**
 * Sets `key` to a copy of the NUL-terminated UTF-8 string `value`. `ttl_ms` as for
 * `netrig_store_set_bool`.
 *
 * Ownership: `key` and `value` are borrowed for the call. Returns NETRIG_E_UTF8 for invalid
 * UTF-8 and NETRIG_E_FULL (nothing changed) past a bound.
 *
 * Blocking: waits only for other calls on the same shard of this store (microseconds); no I/O.
 * Thread-safety: any thread, concurrently with any other call on the same store.
 */
enum netrig_status netrig_store_set_str(struct netrig_store store,
                                        const char *key,
                                        const char *value,
                                        int64_t ttl_ms);

/**
 * Sets `key` to a copy of `len` bytes at `data` (`data` may be NULL when `len` is 0).
 * `ttl_ms` as for `netrig_store_set_bool`.
 *
 * Ownership: `key` and `data` are borrowed for the call. Returns NETRIG_E_FULL (nothing
 * changed) past a bound.
 *
 * Blocking: waits only for other calls on the same shard of this store (microseconds); no I/O.
 * Thread-safety: any thread, concurrently with any other call on the same store.
 */
enum netrig_status netrig_store_set_bytes(struct netrig_store store,
                                          const char *key,
                                          const uint8_t *data,
                                          size_t len,
                                          int64_t ttl_ms);

/**
 * Reads a bool. `out_version` may be NULL.
 *
 * Ownership: `key` is borrowed; `*out_value` and `*out_version` are written on success only.
 * Returns NETRIG_E_NOT_FOUND for a missing or expired key, NETRIG_E_TYPE for another type.
 *
 * Blocking: waits only for other calls on the same shard of this store (microseconds); no I/O.
 * Thread-safety: any thread, concurrently with any other call on the same store.
 */
enum netrig_status netrig_store_get_bool(struct netrig_store store,
                                         const char *key,
                                         bool *out_value,
                                         uint64_t *out_version);

/**
 * Reads an int64. `out_version` may be NULL.
 *
 * Ownership: `key` is borrowed; `*out_value` and `*out_version` are written on success only.
 * Returns NETRIG_E_NOT_FOUND for a missing or expired key, NETRIG_E_TYPE for another type.
 *
 * Blocking: waits only for other calls on the same shard of this store (microseconds); no I/O.
 * Thread-safety: any thread, concurrently with any other call on the same store.
 */
enum netrig_status netrig_store_get_int(struct netrig_store store,
                                        const char *key,
                                        int64_t *out_value,
                                        uint64_t *out_version);

/**
 * Reads a double. `out_version` may be NULL.
 *
 * Ownership: `key` is borrowed; `*out_value` and `*out_version` are written on success only.
 * Returns NETRIG_E_NOT_FOUND for a missing or expired key, NETRIG_E_TYPE for another type.
 *
 * Blocking: waits only for other calls on the same shard of this store (microseconds); no I/O.
 * Thread-safety: any thread, concurrently with any other call on the same store.
 */
enum netrig_status netrig_store_get_double(struct netrig_store store,
                                           const char *key,
                                           double *out_value,
                                           uint64_t *out_version);

/**
 * Copies a string value and a NUL into `buf` (capacity `buf_len`). `*out_len` receives the
 * string's length without the NUL; when `buf_len` is too small the call returns
 * NETRIG_E_BUFFER_TOO_SMALL, still sets `*out_len`, and the caller retries with
 * `*out_len + 1` bytes. `buf` may be NULL when `buf_len` is 0. `out_version` may be NULL.
 *
 * Ownership: `key` is borrowed; `buf` is the caller's. Returns NETRIG_E_NOT_FOUND or
 * NETRIG_E_TYPE as `netrig_store_get_int` does.
 *
 * Blocking: waits only for other calls on the same shard of this store (microseconds); no I/O.
 * Thread-safety: any thread, concurrently with any other call on the same store.
 */
enum netrig_status netrig_store_get_str(struct netrig_store store,
                                        const char *key,
                                        char *buf,
                                        size_t buf_len,
                                        size_t *out_len,
                                        uint64_t *out_version);

/**
 * Copies a bytes value into `buf` (capacity `buf_len`). `*out_len` receives its length; when
 * `buf_len` is too small the call returns NETRIG_E_BUFFER_TOO_SMALL, still sets `*out_len`,
 * and the caller retries with that many bytes. `buf` may be NULL when `buf_len` is 0.
 * `out_version` may be NULL.
 *
 * Ownership: `key` is borrowed; `buf` is the caller's. Returns NETRIG_E_NOT_FOUND or
 * NETRIG_E_TYPE as `netrig_store_get_int` does.
 *
 * Blocking: waits only for other calls on the same shard of this store (microseconds); no I/O.
 * Thread-safety: any thread, concurrently with any other call on the same store.
 */
enum netrig_status netrig_store_get_bytes(struct netrig_store store,
                                          const char *key,
                                          uint8_t *buf,
                                          size_t buf_len,
                                          size_t *out_len,
                                          uint64_t *out_version);

/**
 * Reads `key` whatever its type, in one call: `*out_value` receives the type (`kind`) and the
 * value. Scalars are in the struct. A string value is copied with a NUL into `buf` and
 * `out_value->str` points at `buf`; a bytes value is copied into `buf` and `out_value->bytes`
 * points at `buf` (NULL when empty). `*out_len` receives the string or bytes length (0 for
 * scalars). When `buf_len` is too small the call returns NETRIG_E_BUFFER_TOO_SMALL, still
 * sets `*out_len`, leaves `*out_value` alone, and the caller retries with `*out_len + 1` bytes.
 * `buf` may be NULL when `buf_len` is 0. `out_version` may be NULL.
 *
 * Ownership: `key` is borrowed; `buf` is the caller's, and the pointers written into
 * `*out_value` point into it. Returns NETRIG_E_NOT_FOUND for a missing or expired key.
 *
 * Blocking: waits only for other calls on the same shard of this store (microseconds); no I/O.
 * Thread-safety: any thread, concurrently with any other call on the same store. Type and
 * value are read together, so a concurrent write of another type cannot split them.
 */
enum netrig_status netrig_store_get_value(struct netrig_store store,
                                          const char *key,
                                          struct netrig_value *out_value,
                                          uint8_t *buf,
                                          size_t buf_len,
                                          size_t *out_len,
                                          uint64_t *out_version);

/**
 * The type of the value at `key`, and optionally (`out_version` may be NULL) its version.
 *
 * Ownership: `key` is borrowed. Returns NETRIG_E_NOT_FOUND for a missing or expired key.
 *
 * Blocking: waits only for other calls on the same shard of this store (microseconds); no I/O.
 * Thread-safety: any thread, concurrently with any other call on the same store.
 */
enum netrig_status netrig_store_get_type(struct netrig_store store,
                                         const char *key,
                                         netrig_type *out_type,
                                         uint64_t *out_version);

/**
 * Compare-and-set: writes `*value` to `key` only if the key's current version is
 * `expected_version` (0 = the key must not exist). Read the version with any `get` function.
 * On success `*out_version` (may be NULL) receives the new version. On a mismatch returns
 * NETRIG_E_CONFLICT, changes nothing, and the last error names the version found.
 *
 * Ownership: `key` and `value` (and the strings or bytes it points to) are borrowed.
 *
 * Blocking: waits only for other calls on the same shard of this store (microseconds); no I/O.
 * Thread-safety: any thread, concurrently with any other call on the same store.
 */
enum netrig_status netrig_store_cas(struct netrig_store store,
                                    const char *key,
                                    uint64_t expected_version,
                                    const struct netrig_value *value,
                                    int64_t ttl_ms,
                                    uint64_t *out_version);

/**
 * Atomically adds `delta` to the int64 at `key` (a missing key starts at 0 and gets the
 * store's default TTL; an existing key keeps its TTL). `*out_value` (may be NULL) receives the
 * new value. Returns NETRIG_E_TYPE if the key holds another type and NETRIG_E_OVERFLOW
 * (nothing changed) if the sum would overflow.
 *
 * Ownership: `key` is borrowed.
 *
 * Blocking: waits only for other calls on the same shard of this store (microseconds); no I/O.
 * Thread-safety: any thread, concurrently with any other call on the same store.
 */
enum netrig_status netrig_store_add_int(struct netrig_store store,
                                        const char *key,
                                        int64_t delta,
                                        int64_t *out_value);

/**
 * Removes `key`. Returns NETRIG_E_NOT_FOUND if it is missing or already expired.
 *
 * Ownership: `key` is borrowed.
 *
 * Blocking: waits only for other calls on the same shard of this store (microseconds); no I/O.
 * Thread-safety: any thread, concurrently with any other call on the same store.
 */
enum netrig_status netrig_store_delete(struct netrig_store store, const char *key);

/**
 * Whether `key` exists and has not expired.
 *
 * Ownership: `key` is borrowed; `*out` is written on success.
 *
 * Blocking: waits only for other calls on the same shard of this store (microseconds); no I/O.
 * Thread-safety: any thread, concurrently with any other call on the same store.
 */
enum netrig_status netrig_store_contains(struct netrig_store store, const char *key, bool *out);

/**
 * The number of live (unexpired) keys, counted at one instant.
 *
 * Blocking: read-locks every shard briefly; O(number of keys).
 *
 * Ownership: no pointer is kept after the call; out-parameters are the caller's.
 * Thread-safety: any thread, concurrently with any other call on the same store.
 */
enum netrig_status netrig_store_len(struct netrig_store store, size_t *out);

/**
 * Removes every key at one instant. `*out_removed` (may be NULL) receives how many.
 *
 * Blocking: write-locks every shard for the duration; O(number of keys).
 *
 * Ownership: no pointer is kept after the call; out-parameters are the caller's.
 * Thread-safety: any thread, concurrently with any other call on the same store.
 */
enum netrig_status netrig_store_clear(struct netrig_store store, size_t *out_removed);

/**
 * Removes expired keys now (they are already invisible). `*out_removed` (may be NULL)
 * receives how many were removed.
 *
 * Blocking: scans each shard under its read lock and write-locks only shards with expired
 * keys, one at a time; readers never wait on other shards.
 *
 * Ownership: no pointer is kept after the call; out-parameters are the caller's.
 * Thread-safety: any thread, concurrently with any other call on the same store.
 */
enum netrig_status netrig_store_purge_expired(struct netrig_store store, size_t *out_removed);

#ifdef __cplusplus
}  // extern "C"
#endif  // __cplusplus

#endif  /* NETRIG_H */
