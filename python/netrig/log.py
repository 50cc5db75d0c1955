"""netrig's own log records in Python's ``logging``.

At import, netrig sends its records to ``logging.getLogger("netrig.<target>")`` (targets:
device, pool, run, store, queue), with nothing to wire beyond the usual ``logging``
configuration::

    logging.basicConfig(level=logging.INFO)            # device open/close, pool, run
    logging.getLogger("netrig.device").setLevel(logging.DEBUG)   # connect steps, operations

Levels: netrig's ERROR, WARN, INFO and DEBUG are logging's; TRACE (bytes in and out, secrets
redacted; durable commits) is ``netrig.log.TRACE`` = 5, registered as "TRACE". A record's
message starts with the device name where one applies ("127.0.0.1:2201: opened ..."), which is
also in the record as ``netrig_device`` (None otherwise); ``created`` is the time netrig made
the record. "netrig" has a ``NullHandler`` (the library convention), so without any logging
configuration nothing is printed.

The library makes only the records some netrig logger would take: its min level follows
``getLogger("netrig")`` and its children (``isEnabledFor``, which respects
``logging.disable``), re-read at the entry points that create or run things (``Device()`` and
its commands, ``Pool()``, ``checkout``, ``Runner.run``/``start``, ``Store()``, ``Queue()``,
their ``open``) and whenever ``sync()`` is called; an unchanged level costs one dict-cached
check. A level lowered elsewhere takes effect at the next such call.

Records arrive on netrig's logging thread ("netrig-log"), one at a time and in order; a handler
may call netrig (also functions that log) without deadlocking. At interpreter exit the callback
is cleared, which first delivers what is queued.

When the ``NETRIG_LOG`` environment variable is set, netrig writes its records to stderr as
the variable asks, and this module leaves that alone (``installed`` is then False).
"""

from __future__ import annotations

import atexit
import functools
import logging
import os
import threading
from typing import Any, Callable, Optional

from . import ffi
from .ffi import lib

__all__ = ["TRACE", "installed", "sync", "flush"]

TRACE = 5
logging.addLevelName(TRACE, "TRACE")

_TARGETS = ("device", "pool", "run", "store", "queue")
_root = logging.getLogger("netrig")
_root.addHandler(logging.NullHandler())
_loggers = {t: logging.getLogger(f"netrig.{t}") for t in _TARGETS}
_by_bytes = {t.encode(): lg for t, lg in _loggers.items()}
_all = (_root, *_loggers.values())

# netrig level -> logging level, and the order to look for the lowest one enabled.
_PY_LEVEL = {
    ffi.NETRIG_LOG_ERROR: logging.ERROR,
    ffi.NETRIG_LOG_WARN: logging.WARNING,
    ffi.NETRIG_LOG_INFO: logging.INFO,
    ffi.NETRIG_LOG_DEBUG: logging.DEBUG,
    ffi.NETRIG_LOG_TRACE: TRACE,
}
_FINEST_FIRST = sorted(_PY_LEVEL.items(), key=lambda kv: kv[1])

installed = "NETRIG_LOG" not in os.environ
_native: Optional[int] = None
_sync_lock = threading.Lock()


def _wanted() -> int:
    """The finest netrig level some netrig logger takes (NETRIG_LOG_OFF when none)."""
    for native, py in _FINEST_FIRST:
        for lg in _all:
            if lg.isEnabledFor(py):
                return native
    return ffi.NETRIG_LOG_OFF


def sync() -> None:
    """Sets the library's min level from the netrig loggers' levels, when it changed."""
    global _native
    if not installed:
        return
    # logging clears every logger's isEnabledFor cache when any level changes (setLevel,
    # logging.disable); _wanted() always asks "netrig" about TRACE first. So while that answer
    # is still cached, nothing changed since the last sync: one dict lookup.
    cache = getattr(_root, "_cache", None)
    if cache is not None and TRACE in cache and _native is not None:
        return
    want = _wanted()
    if want == _native:
        return
    with _sync_lock:
        if want != _native:
            lib.netrig_set_log_level(want)
            _native = want


def flush(timeout: float = 10.0) -> None:
    """Waits until every record netrig made so far has reached ``logging`` (at most `timeout`
    seconds; ``NetrigTimeoutError`` then). Returns at once from inside a handler."""
    from .errors import check

    check(lib.netrig_log_flush(max(0, min(int(timeout * 1000), 0xFFFFFFFE))))


def _deliver(_user_data: Any, record_p: Any) -> None:
    try:
        r = record_p.contents
        lg = _by_bytes.get(r.target or b"", _root)
        level = _PY_LEVEL.get(r.level, logging.INFO)
        if not lg.isEnabledFor(level):
            return
        message = (r.message or b"").decode("utf-8", "replace")
        device = r.device.decode("utf-8", "replace") if r.device is not None else None
        text = f"{device}: {message}" if device else message
        rec = lg.makeRecord(
            lg.name,
            level,
            "(netrig)",
            0,
            text,
            (),
            None,
            extra={"netrig_device": device, "netrig_thread_id": r.thread_id},
        )
        created = r.unix_time_us / 1e6
        rec.created = created
        rec.msecs = (r.unix_time_us % 1_000_000) // 1000
        rec.relativeCreated = (created - logging._startTime) * 1000
        lg.handle(rec)
    except Exception:  # a record must never raise into the library's thread
        pass


# Kept alive here for as long as the library may call it.
_callback = ffi.netrig_log_fn(_deliver)


def _clear_at_exit() -> None:
    # The call releases the GIL (CDLL), so the logging thread can take it to deliver what is
    # queued before the callback goes.
    lib.netrig_set_log_callback(ffi.NETRIG_LOG_OFF, ffi.netrig_log_fn(), None)


def _synced(fn: Callable) -> Callable:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        sync()
        return fn(*args, **kwargs)

    return wrapper


def _wrap_entry_points() -> None:
    from .device import Device
    from .pool import Pool
    from .queue import Queue
    from .run import Runner
    from .store import Store

    points = {
        Device: ("__init__", "send_command", "send_command_timing", "send_interactive", "send_config_set", "exec"),
        Pool: ("__init__", "checkout", "checkout_key"),
        Runner: ("run", "start"),
        Store: ("__init__", "open"),
        Queue: ("__init__", "open"),
    }
    for cls, names in points.items():
        for name in names:
            raw = cls.__dict__.get(name)
            if raw is None:
                continue
            if isinstance(raw, classmethod):
                setattr(cls, name, classmethod(_synced(raw.__func__)))
            elif isinstance(raw, staticmethod):
                setattr(cls, name, staticmethod(_synced(raw.__func__)))
            else:
                setattr(cls, name, _synced(raw))


if installed:
    lib.netrig_set_log_callback(ffi.NETRIG_LOG_TRACE, _callback, None)
    _native = ffi.NETRIG_LOG_TRACE
    sync()
    atexit.register(_clear_at_exit)
    _wrap_entry_points()
