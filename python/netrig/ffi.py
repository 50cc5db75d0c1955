"""The raw C ABI of libnetrig through ctypes: the loaded library, its structs and constants.

This is the low-level layer. Every function keeps its C signature and returns the raw
``netrig_status`` int; nothing here raises on a failing status. The ``Store`` class in
``netrig.store`` is built on it, and tests and test rigs use it directly to pass what the
high-level API refuses to (NULL pointers, invalid UTF-8, forged or freed handles).

Library lookup, first match wins (``library_path`` says which file was loaded):

1. The library bundled beside this package: ``libnetrig.so.0`` (the SONAME: ABI major 0),
   then ``libnetrig.so`` (``.dylib`` on macOS, ``netrig.dll`` on Windows). A wheel
   (``pip install ./python``) ships ``netrig/libnetrig.so``; the repository's source tree
   never has one (python/setup.py builds outside it and refuses an in-place build), so a
   stale copy there cannot shadow a fresh ``cargo build``.
2. ``$NETRIG_LIBRARY``, a path to the shared library. When it is set it is the only candidate
   after the bundled one: a wrong path is an error, never a silent fallback to another build.
3. ``target/release/libnetrig.so`` in the package directory or any directory above it, which
   finds a ``cargo build --release`` of the repository this package lives in.
4. ``libnetrig.so.0`` through the system's library search path (``LD_LIBRARY_PATH``, the
   ld.so cache): an installed libnetrig of this ABI.

This package speaks ABI major ``ABI_MAJOR``: a library of another major (its
``netrig_version()``) is refused at import, whichever way it was found.
"""

from __future__ import annotations

import ctypes
import os
import sys
from ctypes import (
    POINTER,
    Structure,
    CFUNCTYPE,
    c_bool,
    c_char_p,
    c_double,
    c_int,
    c_int64,
    c_size_t,
    c_int32,
    c_uint8,
    c_uint16,
    c_uint32,
    c_uint64,
    c_void_p,
)
from pathlib import Path

__all__ = [
    "lib",
    "library_path",
    "netrig_store",
    "netrig_batch",
    "netrig_snapshot",
    "netrig_strlist",
    "netrig_value",
    "netrig_entry",
    "netrig_store_options",
    "netrig_device",
    "netrig_output",
    "netrig_device_options",
    "netrig_progress_fn",
    "netrig_pool",
    "netrig_pool_options",
    "netrig_pool_stats",
    "netrig_job",
    "netrig_run",
    "netrig_run_options",
    "netrig_event",
    "netrig_event_fn",
    "netrig_run_totals",
    "netrig_host_result",
    "netrig_step_result",
    "netrig_subscription",
    "netrig_change",
    "netrig_change_view",
    "netrig_change_fn",
    "netrig_subscription_stats",
    "netrig_test_info",
    "netrig_test_fields",
    "netrig_service_info",
    "netrig_queue",
    "netrig_item",
    "netrig_queue_options",
    "netrig_queue_counts",
    "netrig_log_record",
    "netrig_log_fn",
]

# The ABI major this package is written for; the shared library's SONAME carries it.
ABI_MAJOR = 0

if sys.platform == "darwin":
    LIBRARY_NAME = "libnetrig.dylib"
    SONAME = None
elif sys.platform == "win32":
    LIBRARY_NAME = "netrig.dll"
    SONAME = None
else:
    LIBRARY_NAME = "libnetrig.so"
    SONAME = f"libnetrig.so.{ABI_MAJOR}"

# netrig_status (a C enum, passed as int). Numbers are stable; see include/netrig.h.
NETRIG_OK = 0
NETRIG_E_NULL_ARG = 1
NETRIG_E_INVALID_HANDLE = 2
NETRIG_E_UTF8 = 3
NETRIG_E_INVALID_ARG = 4
NETRIG_E_NOT_FOUND = 5
NETRIG_E_TYPE = 6
NETRIG_E_FULL = 7
NETRIG_E_BUSY = 8
NETRIG_E_TIMEOUT = 9
NETRIG_E_CANCELLED = 10
NETRIG_E_AUTH = 11
NETRIG_E_HOSTKEY = 12
NETRIG_E_CONNECT = 13
NETRIG_E_CLOSED = 14
NETRIG_E_PROMPT = 15
NETRIG_E_BUFFER_TOO_SMALL = 16
NETRIG_E_PANIC = 17
NETRIG_E_CONFLICT = 18
NETRIG_E_OVERFLOW = 19
NETRIG_E_COMMAND = 20
NETRIG_E_IO = 21
NETRIG_E_LAGGED = 22
NETRIG_E_LEASE = 23

# netrig_type
NETRIG_TYPE_BOOL = 1
NETRIG_TYPE_INT = 2
NETRIG_TYPE_DOUBLE = 3
NETRIG_TYPE_STR = 4
NETRIG_TYPE_BYTES = 5

NETRIG_TTL_DEFAULT = -1
NETRIG_TTL_NEVER = 0

# netrig_device_options.host_key_policy
NETRIG_HOSTKEY_STRICT = 0
NETRIG_HOSTKEY_PINNED = 1
NETRIG_HOSTKEY_ACCEPT_NEW = 2
NETRIG_HOSTKEY_INSECURE_ACCEPT_ANY = 3

# netrig_device_put_file / get_file protocol
NETRIG_PROTOCOL_SFTP = 0
NETRIG_PROTOCOL_SCP = 1

# netrig_device_prompt mode
NETRIG_MODE_USER = 0
NETRIG_MODE_PRIVILEGED = 1
NETRIG_MODE_CONFIG = 2

# netrig_device_send_config_set flags
NETRIG_CONFIG_STAY = 1
NETRIG_CONFIG_COMMIT = 2
NETRIG_CONFIG_COMMIT_CHECK = 4

# netrig_command_options.check
NETRIG_CHECK_DEFAULT = 0
NETRIG_CHECK_ON = 1
NETRIG_CHECK_OFF = 2

# netrig_run_options.strategy / .on_failure
NETRIG_STRATEGY_FREE = 0
NETRIG_STRATEGY_LINEAR = 1
NETRIG_ON_FAILURE_CONTINUE = 0
NETRIG_ON_FAILURE_SKIP_HOST = 1
NETRIG_ON_FAILURE_ABORT = 2

# netrig_event.kind
NETRIG_EVENT_HOST_STARTED = 1
NETRIG_EVENT_CONNECTED = 2
NETRIG_EVENT_STEP_STARTED = 3
NETRIG_EVENT_STEP_FINISHED = 4
NETRIG_EVENT_HOST_FINISHED = 5
NETRIG_EVENT_RUN_FINISHED = 6

# netrig_event.state, netrig_host_result.state, netrig_step_result.state
NETRIG_STATE_NONE = 0
NETRIG_STATE_OK = 1
NETRIG_STATE_FAILED = 2
NETRIG_STATE_TIMED_OUT = 3
NETRIG_STATE_CANCELLED = 4
NETRIG_STATE_SKIPPED = 5

# timeout_ms of netrig_run_wait / netrig_run_next_event / netrig_subscription_poll /
# netrig_queue_claim
NETRIG_WAIT_FOREVER = 0xFFFFFFFF

# netrig_change_view.kind (NETRIG_CHANGE_LAGGED: callbacks only; pollers get NETRIG_E_LAGGED)
NETRIG_CHANGE_SET = 1
NETRIG_CHANGE_DELETE = 2
NETRIG_CHANGE_EXPIRE = 3
NETRIG_CHANGE_LAGGED = 4

# durability of netrig_store_open and netrig_queue_open
NETRIG_DURABLE_PROCESS_CRASH = 0
NETRIG_DURABLE_POWER_LOSS = 1

# item status written by netrig_queue_fail (and the snapshot's "status" names)
NETRIG_ITEM_PENDING = 1
NETRIG_ITEM_PROCESSING = 2
NETRIG_ITEM_SUSPENDED = 3
NETRIG_ITEM_FAILED = 4

# longest error text netrig_queue_fail keeps, in bytes (longer texts are cut)
NETRIG_QUEUE_MAX_ERROR_LEN = 4096


def _candidates() -> list[Path]:
    here = Path(__file__).resolve().parent
    found = [here / SONAME] if SONAME else []
    found.append(here / LIBRARY_NAME)
    env = os.environ.get("NETRIG_LIBRARY")
    if env:
        return [*found, Path(env)]
    for d in (here, *here.parents):
        found.append(d / "target" / "release" / LIBRARY_NAME)
    return found


def _checked(cdll: ctypes.CDLL, where: object) -> ctypes.CDLL:
    cdll.netrig_version.restype = c_char_p
    cdll.netrig_version.argtypes = []
    version = cdll.netrig_version().decode("ascii")
    if int(version.split(".")[0]) != ABI_MAJOR:
        raise ImportError(f"netrig: {where} is libnetrig {version}, but this package needs ABI major {ABI_MAJOR}")
    return cdll


def _load() -> tuple[ctypes.CDLL, Path]:
    tried = _candidates()
    for path in tried:
        if path.is_file():
            try:
                cdll = ctypes.CDLL(str(path))
            except OSError as e:
                raise ImportError(f"netrig: found {path} but could not load it: {e}") from e
            return _checked(cdll, path), path
    if SONAME and not os.environ.get("NETRIG_LIBRARY"):
        try:
            cdll = ctypes.CDLL(SONAME)
        except OSError:
            tried.append(Path(f"{SONAME} (system library path)"))
        else:
            return _checked(cdll, SONAME), Path(SONAME)
    listing = "\n  ".join(str(p) for p in tried)
    how = (
        "NETRIG_LIBRARY is set, so no location after it is searched"
        if os.environ.get("NETRIG_LIBRARY")
        else "build it with `cargo build --release` or set NETRIG_LIBRARY to its path"
    )
    raise ImportError(f"netrig: {LIBRARY_NAME} not found; {how}. Tried:\n  {listing}")


class _Handle(Structure):
    """Base of the handle structs: one uint64_t id, passed by value."""

    _fields_ = [("id", c_uint64)]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(id={self.id:#018x})"


# Each kind is its own ctypes type, so ctypes itself refuses a batch where a store is expected.
# Forging a wrong-kind handle takes an explicit netrig_store(batch.id).
class netrig_store(_Handle):
    pass


class netrig_batch(_Handle):
    pass


class netrig_snapshot(_Handle):
    pass


class netrig_strlist(_Handle):
    pass


class netrig_device(_Handle):
    pass


class netrig_output(_Handle):
    pass


class netrig_pool(_Handle):
    pass


class netrig_job(_Handle):
    pass


class netrig_run(_Handle):
    pass


class netrig_subscription(_Handle):
    pass


class netrig_change(_Handle):
    pass


class netrig_queue(_Handle):
    pass


class netrig_item(_Handle):
    pass


class netrig_value(Structure):
    # `str` is NUL-terminated so c_char_p reads it whole; `bytes` may hold NULs, so it is a
    # raw pointer read with ctypes.string_at(ptr, bytes_len).
    _fields_ = [
        ("kind", c_uint32),
        ("b", c_uint8),  # uint8_t in C: 0 = false, anything else = true
        ("i", c_int64),
        ("d", c_double),
        ("str", c_char_p),
        ("bytes", POINTER(c_uint8)),
        ("bytes_len", c_size_t),
    ]


class netrig_entry(Structure):
    _fields_ = [
        ("key", c_char_p),
        ("value", netrig_value),
        ("version", c_uint64),
        ("ttl_remaining_ms", c_int64),
    ]


# The options structs start with struct_size (OPTIONS in the header's preamble): fill one with
# its netrig_*_options_default(byref(o), sizeof(o)) before setting fields; a struct made here
# and passed as it is has struct_size 0, which the library refuses (NETRIG_E_INVALID_ARG).
class netrig_store_options(Structure):
    _fields_ = [
        ("struct_size", c_size_t),  # sizeof this struct, set by its _default function
        ("max_entries", c_uint64),
        ("max_bytes", c_uint64),
        ("default_ttl_ms", c_int64),
        ("max_key_len", c_uint32),
    ]


class netrig_device_options(Structure):
    # Field order and types exactly as in the header; every char pointer is borrowed for the
    # netrig_device_open call only (NULL = not given).
    _fields_ = [
        ("struct_size", c_size_t),  # sizeof this struct, set by its _default function
        ("host", c_char_p),
        ("port", c_uint16),
        ("username", c_char_p),
        ("password", c_char_p),
        ("private_key_file", c_char_p),
        ("private_key", c_char_p),
        ("passphrase", c_char_p),
        ("use_agent", c_uint8),
        ("secret", c_char_p),
        ("host_key_policy", c_uint32),
        ("known_hosts", c_char_p),
        ("host_key_fingerprint", c_char_p),
        ("connect_timeout_ms", c_uint32),
        ("auth_timeout_ms", c_uint32),
        ("timeout_ms", c_uint32),
        ("keepalive_ms", c_uint32),
        ("platform", c_char_p),
        ("prompt_pattern", c_char_p),
        ("paging_off_command", c_char_p),
        ("enable_command", c_char_p),
        ("config_command", c_char_p),
        ("config_exit_command", c_char_p),
        ("config_prompt_pattern", c_char_p),
        ("term_cols", c_uint32),
        ("term_rows", c_uint32),
        ("session_log", c_char_p),
        ("session_log_timestamps", c_uint8),
        ("platform_file", c_char_p),
        ("platform_text", c_char_p),
        ("error_pattern", c_char_p),
        ("check_errors", c_uint8),
        ("templates", c_char_p),
    ]


class netrig_command_options(Structure):
    # One call's options (the _with calls); char pointers borrowed for the call.
    _fields_ = [
        ("struct_size", c_size_t),  # sizeof this struct, set by its _default function
        ("timeout_ms", c_uint32),
        ("expect", c_char_p),
        ("quiet_ms", c_uint32),
        ("check", c_uint32),
        ("error_pattern", c_char_p),
    ]


# bool (*)(void *user_data, uint64_t done, uint64_t total). ctypes runs a Python callback with
# the GIL held, on the thread that called put/get. A NULL pointer is netrig_progress_fn().
netrig_progress_fn = CFUNCTYPE(c_bool, c_void_p, c_uint64, c_uint64)


class netrig_pool_options(Structure):
    _fields_ = [
        ("struct_size", c_size_t),  # sizeof this struct, set by its _default function
        ("max_per_host", c_uint32),
        ("max_total", c_uint32),
        ("idle_timeout_ms", c_uint32),
        ("max_lifetime_ms", c_uint32),
        ("checkout_timeout_ms", c_uint32),
        ("health_check_after_ms", c_uint32),
        ("health_check_timeout_ms", c_uint32),
    ]


class netrig_pool_stats(Structure):
    _fields_ = [
        (name, c_uint64)
        for name in (
            "hits misses created reused connect_failures waits wait_time_us timed_out_waits evicted_lru "
            "evicted_idle evicted_lifetime closed_by_close_all health_checks discarded_broken in_use idle "
            "connecting peak_in_use"
        ).split()
    ]


class netrig_run_options(Structure):
    _fields_ = [
        ("struct_size", c_size_t),  # sizeof this struct, set by its _default function
        ("max_workers", c_uint32),
        ("strategy", c_uint32),
        ("on_failure", c_uint32),
        ("events", c_uint8),
    ]


class netrig_event(Structure):
    _fields_ = [
        ("kind", c_uint32),
        ("host", c_int64),
        ("step", c_int64),
        ("state", c_uint32),
        ("status", c_int),
        ("elapsed_us", c_uint64),
        ("worker", c_uint32),
    ]


class netrig_run_totals(Structure):
    _fields_ = [
        (name, c_size_t)
        for name in (
            "hosts succeeded failed timed_out cancelled skipped steps_succeeded steps_failed "
            "steps_timed_out steps_cancelled steps_skipped"
        ).split()
    ] + [("wall_us", c_uint64), ("run_cancelled", c_uint8), ("run_aborted", c_uint8)]


class netrig_host_result(Structure):
    _fields_ = [
        ("state", c_uint32),
        ("status", c_int),
        ("duration_us", c_uint64),
        ("connect_state", c_uint32),
        ("connect_status", c_int),
        ("steps", c_size_t),
    ]


class netrig_step_result(Structure):
    _fields_ = [
        ("state", c_uint32),
        ("status", c_int),
        ("exit_status", c_int32),
        ("duration_us", c_uint64),
    ]


# void (*)(const netrig_event *event, void *user_data). Runs on the library's worker threads
# (netrig-run-N); ctypes takes the GIL for the Python function. A NULL pointer is netrig_event_fn().
netrig_event_fn = CFUNCTYPE(None, POINTER(netrig_event), c_void_p)


class netrig_change_view(Structure):
    # key and the value's str/bytes point into the change (polled: until netrig_change_free;
    # callback: until the callback returns). Copy them out before either.
    _fields_ = [
        ("kind", c_uint32),
        ("key", c_char_p),
        ("value", netrig_value),
        ("version", c_uint64),
        ("missed", c_uint64),
    ]


# void (*)(const netrig_change_view *change, void *user_data). Runs on the subscription's
# "netrig-events" dispatcher thread; ctypes takes the GIL for the Python function.
netrig_change_fn = CFUNCTYPE(None, POINTER(netrig_change_view), c_void_p)


# netrig_log_level: the min level of netrig_set_log_callback / netrig_set_log_level.
NETRIG_LOG_OFF = 0
NETRIG_LOG_ERROR = 1
NETRIG_LOG_WARN = 2
NETRIG_LOG_INFO = 3
NETRIG_LOG_DEBUG = 4
NETRIG_LOG_TRACE = 5


class netrig_log_record(Structure):
    # Filled by the library; its strings are valid during the callback only.
    _fields_ = [
        ("struct_size", c_size_t),
        ("level", c_uint32),
        ("target", c_char_p),
        ("device", c_char_p),  # None when no device applies
        ("message", c_char_p),
        ("unix_time_us", c_uint64),
        ("thread_id", c_uint64),
    ]


# void (*)(void *user_data, const netrig_log_record *record). Runs on the one "netrig-log"
# thread; ctypes takes the GIL for the Python function. A NULL pointer is netrig_log_fn().
netrig_log_fn = CFUNCTYPE(None, c_void_p, POINTER(netrig_log_record))


class netrig_subscription_stats(Structure):
    _fields_ = [("delivered", c_uint64), ("dropped", c_uint64), ("queued", c_uint64)]


class netrig_test_info(Structure):
    _fields_ = [
        ("running", c_uint8),
        ("pid", c_int64),  # -1: none recorded
        ("run", c_int64),
        ("started_ms", c_int64),  # -1: never
        ("stopped_ms", c_int64),  # -1: never, or running
        ("version", c_uint64),
    ]


class netrig_test_fields(Structure):
    # NULL strings and set_pid = 0 leave a field as it is; a NULL field value removes the field.
    _fields_ = [
        ("script", c_char_p),
        ("bin", c_char_p),
        ("topology", c_char_p),
        ("set_pid", c_uint8),
        ("pid", c_int64),
        ("field_names", POINTER(c_char_p)),
        ("field_values", POINTER(c_char_p)),
        ("field_count", c_size_t),
    ]


class netrig_service_info(Structure):
    _fields_ = [("running", c_uint8), ("since_ms", c_int64), ("version", c_uint64)]


class netrig_queue_options(Structure):
    # Fill from netrig_queue_options_default; every field must be at least 1.
    _fields_ = [
        ("struct_size", c_size_t),  # sizeof this struct, set by its _default function
        ("max_items", c_size_t),
        ("max_attempts", c_uint32),
        ("lease_ms", c_uint32),
        ("max_payload", c_size_t),
    ]


class netrig_queue_counts(Structure):
    _fields_ = [(name, c_uint64) for name in "pending processing suspended failed completed".split()]


lib, library_path = _load()

_S = c_int  # netrig_status
_P = POINTER

# `const uint8_t *` inputs and `char *` / `uint8_t *` buffers are declared c_char_p: the same
# pointer ABI, and ctypes then accepts bytes objects and create_string_buffer() arrays
# directly. Embedded NULs are passed through untouched (ctypes passes the buffer address).
_PROTOTYPES: dict[str, tuple[object, list[object]]] = {
    "netrig_version": (c_char_p, []),
    "netrig_platforms": (c_char_p, []),
    "netrig_status_str": (c_char_p, [c_int]),
    "netrig_last_error": (c_char_p, []),
    "netrig_debug_panic": (_S, [c_char_p]),
    # batches
    "netrig_batch_new": (_S, [_P(netrig_batch)]),
    "netrig_batch_free": (_S, [netrig_batch]),
    "netrig_batch_set": (_S, [netrig_batch, c_char_p, _P(netrig_value), c_int64]),
    "netrig_batch_delete": (_S, [netrig_batch, c_char_p]),
    "netrig_batch_expect_version": (_S, [netrig_batch, c_char_p, c_uint64]),
    "netrig_batch_len": (_S, [netrig_batch, _P(c_size_t)]),
    "netrig_batch_clear": (_S, [netrig_batch]),
    "netrig_store_apply": (_S, [netrig_store, netrig_batch]),
    # snapshots and key lists
    "netrig_store_snapshot": (_S, [netrig_store, c_char_p, _P(netrig_snapshot)]),
    "netrig_store_keys": (_S, [netrig_store, c_char_p, _P(netrig_strlist)]),
    "netrig_snapshot_len": (_S, [netrig_snapshot, _P(c_size_t)]),
    "netrig_snapshot_get": (_S, [netrig_snapshot, c_size_t, _P(netrig_entry)]),
    "netrig_snapshot_json": (_S, [netrig_snapshot, _P(c_char_p), _P(c_size_t)]),
    "netrig_snapshot_free": (_S, [netrig_snapshot]),
    "netrig_strlist_len": (_S, [netrig_strlist, _P(c_size_t)]),
    "netrig_strlist_get": (_S, [netrig_strlist, c_size_t, _P(c_char_p)]),
    "netrig_strlist_free": (_S, [netrig_strlist]),
    # stores
    "netrig_store_options_default": (_S, [_P(netrig_store_options), c_size_t]),
    "netrig_store_new": (_S, [_P(netrig_store_options), _P(netrig_store)]),
    "netrig_store_free": (_S, [netrig_store]),
    "netrig_store_set_bool": (_S, [netrig_store, c_char_p, c_bool, c_int64]),
    "netrig_store_set_int": (_S, [netrig_store, c_char_p, c_int64, c_int64]),
    "netrig_store_set_double": (_S, [netrig_store, c_char_p, c_double, c_int64]),
    "netrig_store_set_str": (_S, [netrig_store, c_char_p, c_char_p, c_int64]),
    "netrig_store_set_bytes": (_S, [netrig_store, c_char_p, c_char_p, c_size_t, c_int64]),
    "netrig_store_get_bool": (_S, [netrig_store, c_char_p, _P(c_bool), _P(c_uint64)]),
    "netrig_store_get_int": (_S, [netrig_store, c_char_p, _P(c_int64), _P(c_uint64)]),
    "netrig_store_get_double": (_S, [netrig_store, c_char_p, _P(c_double), _P(c_uint64)]),
    "netrig_store_get_str": (
        _S,
        [netrig_store, c_char_p, c_char_p, c_size_t, _P(c_size_t), _P(c_uint64)],
    ),
    "netrig_store_get_bytes": (
        _S,
        [netrig_store, c_char_p, c_char_p, c_size_t, _P(c_size_t), _P(c_uint64)],
    ),
    "netrig_store_get_type": (_S, [netrig_store, c_char_p, _P(c_uint32), _P(c_uint64)]),
    "netrig_store_get_value": (
        _S,
        [netrig_store, c_char_p, _P(netrig_value), c_char_p, c_size_t, _P(c_size_t), _P(c_uint64)],
    ),
    "netrig_store_cas": (
        _S,
        [netrig_store, c_char_p, c_uint64, _P(netrig_value), c_int64, _P(c_uint64)],
    ),
    "netrig_store_add_int": (_S, [netrig_store, c_char_p, c_int64, _P(c_int64)]),
    "netrig_store_delete": (_S, [netrig_store, c_char_p]),
    "netrig_store_contains": (_S, [netrig_store, c_char_p, _P(c_bool)]),
    "netrig_store_len": (_S, [netrig_store, _P(c_size_t)]),
    "netrig_store_clear": (_S, [netrig_store, _P(c_size_t)]),
    "netrig_store_purge_expired": (_S, [netrig_store, _P(c_size_t)]),
    "netrig_store_open": (_S, [c_char_p, _P(netrig_store_options), c_uint32, _P(netrig_store)]),
    # change events. netrig_subscription_poll blocks; CDLL releases the GIL while it waits.
    "netrig_store_subscribe": (
        _S,
        [netrig_store, c_char_p, c_uint32, _P(netrig_subscription), _P(netrig_snapshot)],
    ),
    "netrig_store_subscribe_callback": (
        _S,
        [netrig_store, c_char_p, c_uint32, netrig_change_fn, c_void_p, _P(netrig_subscription), _P(netrig_snapshot)],
    ),
    "netrig_subscription_poll": (_S, [netrig_subscription, c_uint32, _P(netrig_change)]),
    "netrig_subscription_get_stats": (_S, [netrig_subscription, _P(netrig_subscription_stats)]),
    "netrig_subscription_free": (_S, [netrig_subscription]),
    "netrig_change_get": (_S, [netrig_change, _P(netrig_change_view)]),
    "netrig_change_free": (_S, [netrig_change]),
    # test-execution and service state
    "netrig_test_start": (
        _S,
        [netrig_store, c_char_p, c_int64, c_char_p, c_char_p, _P(c_char_p), _P(c_char_p), c_size_t, _P(netrig_test_info)],
    ),
    "netrig_test_stop": (_S, [netrig_store, _P(netrig_test_info)]),
    "netrig_test_update": (_S, [netrig_store, _P(netrig_test_fields), _P(netrig_test_info)]),
    "netrig_test_get_info": (_S, [netrig_store, _P(netrig_test_info)]),
    "netrig_test_json": (_S, [netrig_store, c_char_p, c_size_t, _P(c_size_t)]),
    "netrig_service_set": (_S, [netrig_store, c_char_p, c_uint8, c_char_p]),
    "netrig_service_get": (
        _S,
        [netrig_store, c_char_p, _P(netrig_service_info), c_char_p, c_size_t, _P(c_size_t)],
    ),
    "netrig_service_remove": (_S, [netrig_store, c_char_p]),
    "netrig_services_json": (_S, [netrig_store, c_char_p, c_size_t, _P(c_size_t)]),
    # work queues. netrig_queue_claim* block; CDLL releases the GIL while they wait.
    "netrig_queue_options_default": (_S, [_P(netrig_queue_options), c_size_t]),
    "netrig_queue_new": (_S, [_P(netrig_queue_options), _P(netrig_queue)]),
    "netrig_queue_open": (_S, [c_char_p, c_char_p, _P(netrig_queue_options), c_uint32, _P(netrig_queue)]),
    "netrig_queue_free": (_S, [netrig_queue]),
    "netrig_queue_close": (_S, [netrig_queue]),
    "netrig_queue_push": (_S, [netrig_queue, c_char_p, c_size_t, c_int32, _P(c_uint64)]),
    "netrig_queue_claim": (_S, [netrig_queue, c_uint32, _P(netrig_item)]),
    "netrig_queue_claim_with_lease": (_S, [netrig_queue, c_uint32, c_uint32, _P(netrig_item)]),
    "netrig_queue_complete": (_S, [netrig_queue, netrig_item]),
    "netrig_queue_fail": (_S, [netrig_queue, netrig_item, c_bool, c_char_p, _P(c_uint32)]),
    "netrig_queue_extend": (_S, [netrig_queue, netrig_item, c_uint32]),
    "netrig_queue_suspend": (_S, [netrig_queue, c_uint64]),
    "netrig_queue_resume": (_S, [netrig_queue, c_uint64]),
    "netrig_queue_resume_all": (_S, [netrig_queue, _P(c_size_t)]),
    "netrig_queue_retry_failed": (_S, [netrig_queue, _P(c_size_t)]),
    "netrig_queue_purge_failed": (_S, [netrig_queue, _P(c_size_t)]),
    "netrig_queue_get_counts": (_S, [netrig_queue, _P(netrig_queue_counts)]),
    "netrig_queue_snapshot_json": (_S, [netrig_queue, c_char_p, c_size_t, _P(c_size_t)]),
    # claimed items: immutable copies, readable after their queue is freed. The payload may
    # hold NULs: read it with string_at(ptr, len).
    "netrig_item_id": (_S, [netrig_item, _P(c_uint64)]),
    "netrig_item_payload": (_S, [netrig_item, _P(c_void_p), _P(c_size_t)]),
    "netrig_item_priority": (_S, [netrig_item, _P(c_int32)]),
    "netrig_item_attempt": (_S, [netrig_item, _P(c_uint32)]),
    "netrig_item_free": (_S, [netrig_item]),
    # devices. Every blocking call goes through CDLL, which releases the GIL for its duration.
    "netrig_device_options_default": (_S, [_P(netrig_device_options), c_size_t]),
    "netrig_device_open": (_S, [_P(netrig_device_options), _P(netrig_device)]),
    "netrig_device_free": (_S, [netrig_device]),
    "netrig_device_close": (_S, [netrig_device]),
    "netrig_device_cancel": (_S, [netrig_device]),
    "netrig_device_send_command": (_S, [netrig_device, c_char_p, c_uint32, _P(netrig_output)]),
    "netrig_device_try_send_command": (_S, [netrig_device, c_char_p, c_uint32, _P(netrig_output)]),
    "netrig_device_send_command_expect": (
        _S,
        [netrig_device, c_char_p, c_char_p, c_uint32, _P(netrig_output)],
    ),
    "netrig_device_send_command_timing": (
        _S,
        [netrig_device, c_char_p, c_uint32, c_uint32, _P(netrig_output)],
    ),
    "netrig_device_send_interactive": (
        _S,
        [netrig_device, _P(c_char_p), _P(c_char_p), c_size_t, c_uint32, _P(netrig_output)],
    ),
    "netrig_device_send_config_set": (
        _S,
        [netrig_device, _P(c_char_p), c_size_t, c_uint32, c_uint32, _P(netrig_output)],
    ),
    "netrig_device_save_config": (_S, [netrig_device, c_uint32, _P(netrig_output)]),
    "netrig_command_options_default": (_S, [_P(netrig_command_options), c_size_t]),
    "netrig_device_send_command_with": (
        _S,
        [netrig_device, c_char_p, _P(netrig_command_options), _P(netrig_output)],
    ),
    "netrig_device_send_interactive_with": (
        _S,
        [netrig_device, _P(c_char_p), _P(c_char_p), c_size_t, _P(netrig_command_options), _P(netrig_output)],
    ),
    "netrig_device_send_config_set_with": (
        _S,
        [netrig_device, _P(c_char_p), c_size_t, c_uint32, _P(netrig_command_options), _P(netrig_output)],
    ),
    "netrig_device_enable": (_S, [netrig_device, c_uint32]),
    "netrig_device_exit_enable": (_S, [netrig_device, c_uint32]),
    "netrig_device_config_mode": (_S, [netrig_device, c_uint32]),
    "netrig_device_exit_config_mode": (_S, [netrig_device, c_uint32]),
    "netrig_device_is_alive": (_S, [netrig_device, c_uint32, _P(c_bool)]),
    "netrig_device_prompt": (_S, [netrig_device, c_uint32, c_char_p, c_size_t, _P(c_size_t), _P(c_uint32)]),
    "netrig_device_platform": (_S, [netrig_device, c_char_p, c_size_t, _P(c_size_t)]),
    "netrig_device_exec": (_S, [netrig_device, c_char_p, c_uint32, _P(netrig_output)]),
    "netrig_device_put_file": (
        _S,
        [netrig_device, c_char_p, c_char_p, c_uint32, netrig_progress_fn, c_void_p, c_uint32, _P(c_uint64)],
    ),
    "netrig_device_get_file": (
        _S,
        [netrig_device, c_char_p, c_char_p, c_uint32, netrig_progress_fn, c_void_p, c_uint32, _P(c_uint64)],
    ),
    # results of device operations. text/stderr may hold NULs: read them with string_at(ptr, len).
    "netrig_output_text": (_S, [netrig_output, _P(c_void_p), _P(c_size_t)]),
    "netrig_output_stderr": (_S, [netrig_output, _P(c_void_p), _P(c_size_t)]),
    "netrig_output_exit_status": (_S, [netrig_output, _P(c_int32)]),
    "netrig_output_elapsed_us": (_S, [netrig_output, _P(c_uint64)]),
    "netrig_output_command": (_S, [netrig_output, _P(c_void_p), _P(c_size_t)]),
    "netrig_output_platform": (_S, [netrig_output, _P(c_void_p), _P(c_size_t)]),
    "netrig_output_failed": (_S, [netrig_output, _P(c_bool)]),
    "netrig_output_failure": (_S, [netrig_output, _P(c_void_p), _P(c_size_t)]),
    "netrig_last_failed_output": (_S, [_P(netrig_output)]),
    "netrig_output_free": (_S, [netrig_output]),
    # TextFSM parsing (ntc-templates style index); the records come back as JSON text.
    "netrig_parse": (_S, [c_char_p, c_char_p, c_char_p, c_char_p, _P(netrig_output)]),
    "netrig_output_parse": (_S, [netrig_output, c_char_p, _P(netrig_output)]),
    "netrig_parse_template": (_S, [c_char_p, c_char_p, _P(netrig_output)]),
    # pools. A checkout returns an ordinary netrig_device; netrig_device_free gives it back.
    "netrig_pool_options_default": (_S, [_P(netrig_pool_options), c_size_t]),
    "netrig_pool_new": (_S, [_P(netrig_pool_options), _P(netrig_pool)]),
    "netrig_pool_free": (_S, [netrig_pool]),
    "netrig_pool_checkout": (_S, [netrig_pool, _P(netrig_device_options), c_uint32, _P(netrig_device)]),
    "netrig_pool_checkout_key": (
        _S,
        [netrig_pool, c_char_p, c_uint16, c_char_p, c_char_p, c_uint32, _P(netrig_device)],
    ),
    "netrig_pool_discard": (_S, [netrig_device]),
    "netrig_pool_prewarm": (
        _S,
        [netrig_pool, _P(netrig_device_options), c_size_t, c_uint32, _P(c_int), _P(c_size_t)],
    ),
    "netrig_pool_get_stats": (_S, [netrig_pool, _P(netrig_pool_stats)]),
    "netrig_pool_close_all": (_S, [netrig_pool]),
    # jobs and runs
    "netrig_job_new": (_S, [_P(netrig_job)]),
    "netrig_job_free": (_S, [netrig_job]),
    "netrig_job_add_target": (_S, [netrig_job, _P(netrig_device_options)]),
    "netrig_job_add_target_key": (_S, [netrig_job, c_char_p, c_uint16, c_char_p, c_char_p]),
    "netrig_job_add_target_named": (_S, [netrig_job, c_char_p, _P(netrig_device_options), c_char_p]),
    "netrig_job_add_inventory": (_S, [netrig_job, c_char_p, c_char_p, c_char_p, c_char_p, _P(c_size_t)]),
    "netrig_inventory_json": (_S, [c_char_p, c_char_p, c_char_p, c_char_p, _P(netrig_output)]),
    "netrig_job_add_command": (_S, [netrig_job, c_char_p, c_uint32]),
    "netrig_job_add_command_parsed": (_S, [netrig_job, c_char_p, c_uint32]),
    "netrig_job_add_config": (_S, [netrig_job, _P(c_char_p), c_size_t, c_uint32, c_uint32]),
    "netrig_job_add_exec": (_S, [netrig_job, c_char_p, c_uint32]),
    "netrig_job_add_put": (_S, [netrig_job, c_char_p, c_char_p, c_uint32, c_uint32]),
    "netrig_job_add_get": (_S, [netrig_job, c_char_p, c_char_p, c_uint32, c_uint32]),
    "netrig_run_options_default": (_S, [_P(netrig_run_options), c_size_t]),
    "netrig_run_start": (
        _S,
        [netrig_job, netrig_pool, _P(netrig_run_options), netrig_event_fn, c_void_p, _P(netrig_run)],
    ),
    "netrig_run_wait": (_S, [netrig_run, c_uint32]),
    "netrig_run_cancel": (_S, [netrig_run]),
    "netrig_run_next_event": (_S, [netrig_run, c_uint32, _P(netrig_event)]),
    "netrig_run_free": (_S, [netrig_run]),
    "netrig_run_get_totals": (_S, [netrig_run, _P(netrig_run_totals)]),
    "netrig_run_host": (_S, [netrig_run, c_size_t, _P(netrig_host_result)]),
    "netrig_run_host_name": (_S, [netrig_run, c_size_t, c_char_p, c_size_t, _P(c_size_t)]),
    "netrig_run_step": (_S, [netrig_run, c_size_t, c_size_t, _P(netrig_step_result)]),
    "netrig_run_step_output": (_S, [netrig_run, c_size_t, c_size_t, _P(netrig_output)]),
    "netrig_run_error": (_S, [netrig_run, c_size_t, c_int64, c_char_p, c_size_t, _P(c_size_t)]),
    "netrig_run_json": (_S, [netrig_run, _P(netrig_output)]),
    # the log. netrig_set_log_callback and netrig_log_flush wait for delivery with the GIL
    # released (CDLL), so the logging thread can take it.
    "netrig_set_log_callback": (_S, [c_uint32, netrig_log_fn, c_void_p]),
    "netrig_set_log_level": (_S, [c_uint32]),
    "netrig_get_log_level": (c_uint32, []),
    "netrig_log_flush": (_S, [c_uint32]),
}

for _name, (_restype, _argtypes) in _PROTOTYPES.items():
    _fn = getattr(lib, _name)
    _fn.restype = _restype
    _fn.argtypes = _argtypes
del _name, _restype, _argtypes, _fn


def version() -> str:
    """The library version, "MAJOR.MINOR.PATCH"."""
    return lib.netrig_version().decode("ascii")


def platforms() -> list[str]:
    """The names of the built-in platforms ("arista_eos", ..., "juniper_junos", "linux", ...),
    "generic" among them. PLATFORMS.md in the repository describes each and the file format
    for your own (``Device(..., platform_file=path)``)."""
    return lib.netrig_platforms().decode("ascii").split()


def status_str(status: int) -> str:
    """The static name of a status ("NETRIG_E_TYPE"), "NETRIG_E_UNKNOWN" for other numbers."""
    return lib.netrig_status_str(status).decode("ascii", errors="replace")


def last_error() -> str:
    """The last error text on the calling thread ("" if none)."""
    raw = lib.netrig_last_error()
    return raw.decode("utf-8", errors="replace") if raw else ""
