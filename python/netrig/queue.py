"""The work queue: prioritised items handed to one claimer at a time under a lease, retried up
to a bound, in memory or durable in a SQLite file.

A worker::

    q = netrig.Queue(max_attempts=3, lease=30)        # or netrig.Queue.open("rig.db", "uploads")
    q.push(b"upload sw1.log", priority=5)              # -> the item's id (ids never repeat)

    with q.claim(timeout=10) as item:                  # highest priority first, then oldest
        try:
            upload(item.payload)
            item.complete()
        except Exception as e:
            item.fail(retry=True, error=str(e))        # -> "pending" again, or "failed"

``claim(timeout)`` waits with the GIL released (None: until an item comes; 0: only look) and
raises ``NetrigTimeoutError`` when none came, ``ClosedError`` once the queue is closed;
``close()`` from another thread wakes it at once. On the main thread it waits in short slices,
so Ctrl-C stops it.

An ``Item`` is a copy (``id``, ``payload`` bytes, ``priority``, ``attempt``) plus the lease of
this one claim. Settle it with ``complete()`` or ``fail()``, renew it with ``extend(seconds)``
for long work, or let the lease run out: the item is then pending again (failed after
``max_attempts`` claims) and a late settle raises ``LeaseError``. Closing an item (the end of
its ``with`` block, or the garbage collector) frees its handle and does NOT settle it: an
item closed unsettled stays processing until its lease runs out.

Operators: ``suspend(id)`` / ``resume(id)`` / ``resume_all()``, ``retry_failed()``,
``purge_failed()``, ``counts()`` (a ``QueueCounts``) and ``snapshot()`` (a dict: the queue,
its counts and every held item).
"""

from __future__ import annotations

import ctypes
import json
import os
import re
import threading
import time
from ctypes import byref, c_size_t, c_uint32, c_uint64, c_void_p
from dataclasses import dataclass
from typing import Any, Optional, Union

from . import _interrupt, ffi
from ._owned import OwnedHandle
from .device import _ms
from .errors import ClosedError, NetrigTimeoutError, check
from .ffi import lib
from .store import _durable_args

__all__ = ["Queue", "Item", "QueueCounts"]

# A claim on the main thread waits in slices this long, so Ctrl-C (which Python handles only
# between bytecodes of the main thread) stops it promptly.
_MAIN_THREAD_SLICE = _interrupt.SLICE

_SIZE_MAX = 2 ** (8 * ctypes.sizeof(c_size_t)) - 1
_UINT32_MAX = 0xFFFFFFFF
_INT32_MIN, _INT32_MAX = -(2**31), 2**31 - 1

_ITEM_STATUS = {ffi.NETRIG_ITEM_PENDING: "pending", ffi.NETRIG_ITEM_FAILED: "failed"}

# The first snapshot buffer; later snapshots of the same queue start from the last size seen.
_FIRST_SNAPSHOT_BUF = 4096


@dataclass(frozen=True)
class QueueCounts:
    """Items in each state now, and items completed in the queue's life (for a durable queue,
    over every process that opened it). ``max_items`` bounds pending + processing +
    suspended + failed."""

    pending: int
    processing: int
    suspended: int
    failed: int
    completed: int


def _bounded_int(value: object, what: str, top: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} is an int, not {type(value).__name__}")
    if not 1 <= value <= top:
        raise ValueError(f"{what} must be from 1 to {top}, got {value}")
    return value


def _claim_ms(seconds: Optional[float], what: str) -> int:
    """A wait in seconds -> timeout_ms: None waits forever, 0 only looks."""
    if seconds is None:
        return ffi.NETRIG_WAIT_FOREVER
    # Just under NETRIG_WAIT_FOREVER: a finite timeout must never turn into "no limit".
    return min(_ms(seconds, what, allow_zero=True), ffi.NETRIG_WAIT_FOREVER - 1)


def _queue_options(max_items, max_attempts, lease, max_payload) -> ffi.netrig_queue_options:
    opts = ffi.netrig_queue_options()
    check(lib.netrig_queue_options_default(byref(opts), ctypes.sizeof(opts)))
    if max_items is not None:
        opts.max_items = _bounded_int(max_items, "max_items", _SIZE_MAX)
    if max_attempts is not None:
        opts.max_attempts = _bounded_int(max_attempts, "max_attempts", _UINT32_MAX)
    if lease is not None:
        opts.lease_ms = _ms(lease, "lease")
    if max_payload is not None:
        opts.max_payload = _bounded_int(max_payload, "max_payload", _SIZE_MAX)
    return opts


def _payload(payload: object) -> bytes:
    if isinstance(payload, str):
        try:
            return payload.encode("utf-8")
        except UnicodeEncodeError as e:
            raise ValueError(f"payload str is not encodable as UTF-8 ({e.reason}); push bytes instead") from e
    if isinstance(payload, (bytes, bytearray, memoryview)):
        return bytes(payload)
    raise TypeError(f"a queue payload is bytes or str, not {type(payload).__name__}")


def _close_and_free(handle: ffi.netrig_queue) -> int:
    """netrig_queue_close, then netrig_queue_free (which frees the handle even when its commit
    fails). Returns the status whose text netrig_last_error() holds now."""
    closed = lib.netrig_queue_close(handle)
    freed = lib.netrig_queue_free(handle)
    return freed or closed


class Queue(OwnedHandle):
    """A thread-safe work queue (see the module docs).

    ``Queue(max_items=None, max_attempts=None, lease=None, max_payload=None)`` is in memory;
    ``Queue.open(path, name="default", durability="process_crash")`` is kept in a SQLite file.
    Each ``None`` keeps the library default: 100,000 items held (pending, processing,
    suspended and failed together; a push past it raises ``FullError``), 3 claims per item,
    a 30 s lease (seconds, float; millisecond resolution), 16 MiB payloads (a larger push
    raises ``InvalidArgError``, a ``ValueError``).

    Any number of Python threads may push, claim and settle at once; every call releases the
    GIL while it runs in the library.

    ``close()`` (also at the end of a ``with`` block) closes and frees the queue: a claim
    waiting in another thread raises ``ClosedError`` at once, and so does every later call,
    including settling items claimed before (their leases then run out; a durable queue has
    them pending again on reopen, their attempt counted). Idempotent, any thread.
    """

    _free = staticmethod(_close_and_free)

    def __init__(
        self,
        max_items: Optional[int] = None,
        max_attempts: Optional[int] = None,
        lease: Optional[float] = None,
        max_payload: Optional[int] = None,
    ):
        self._handle: Optional[ffi.netrig_queue] = None
        self._close_lock = threading.Lock()
        self.name = "memory"
        self.path: Optional[str] = None
        self._snapshot_size = _FIRST_SNAPSHOT_BUF
        opts = _queue_options(max_items, max_attempts, lease, max_payload)
        handle = ffi.netrig_queue()
        check(lib.netrig_queue_new(byref(opts), byref(handle)))
        self._handle = handle

    @classmethod
    def open(
        cls,
        path: Union[str, os.PathLike],
        name: str = "default",
        durability: str = "process_crash",
        *,
        max_items: Optional[int] = None,
        max_attempts: Optional[int] = None,
        lease: Optional[float] = None,
        max_payload: Optional[int] = None,
    ) -> "Queue":
        """Opens (or creates) the durable queue `name` in the SQLite file at `path`.

        Every call that returns is in the file, surviving a crash or ``kill -9`` of the
        process (``durability="process_crash"``, the default) or also an OS crash or power
        loss (``"power_loss"``: an fsync per commit, slower). On open, items that were
        claimed when the last process ended are pending again with that attempt counted
        (failed if it was their last); pending, suspended and failed items, the completed
        count and the ids continue. Lease deadlines are not kept.

        Several queues may share one file under different names. A name already open in
        this process raises ``BusyError`` (share that ``Queue`` instead); do not open the
        same name from two processes at once. ``NetrigIOError`` (an ``OSError``) names the
        file when it cannot be opened. The options are ``Queue()``'s.
        """
        encoded_path, code = _durable_args(path, durability)
        if not isinstance(name, str):
            raise TypeError(f"a queue name is a str, not {type(name).__name__}")
        if "\0" in name:
            raise ValueError(f"queue name {name!r} contains a NUL character")
        opts = _queue_options(max_items, max_attempts, lease, max_payload)
        self = cls.__new__(cls)
        self._handle = None
        self._close_lock = threading.Lock()
        self.name = name
        self.path = encoded_path.decode("utf-8")
        self._snapshot_size = _FIRST_SNAPSHOT_BUF
        handle = ffi.netrig_queue()
        check(
            lib.netrig_queue_open(
                encoded_path, name.encode("utf-8"), byref(opts), code, byref(handle)
            )
        )
        self._handle = handle
        return self

    # -- lifetime -------------------------------------------------------------------------

    @property
    def handle(self) -> ffi.netrig_queue:
        """The raw ``netrig_queue`` handle, for calling ``netrig.ffi.lib`` directly."""
        handle = self._handle
        if handle is None:
            raise ClosedError(f"this netrig Queue ({self.name!r}) is closed")
        return handle

    def close(self) -> None:
        """Closes and frees the queue (see the class docs). A durable queue commits and closes
        its file; ``NetrigIOError`` if that last commit failed (the queue is freed anyway)."""
        super().close()

    def __repr__(self) -> str:
        where = f" path={self.path!r}" if self.path is not None else ""
        state = "closed" if self._handle is None else "open"
        return f"<netrig.Queue {self.name!r}{where} {state}>"

    def _check(self, status: int, item: Optional["Item"] = None) -> None:
        if not status:
            return
        if status == ffi.NETRIG_E_INVALID_HANDLE:
            # Closed by another thread between our handle read and the call.
            if self._handle is None:
                raise ClosedError(f"this netrig Queue ({self.name!r}) is closed")
            if item is not None and item._handle is None:
                raise ClosedError(f"item {item.id}'s handle was closed; it can no longer be settled")
        check(status)

    def _own(self, item: object) -> "Item":
        if not isinstance(item, Item):
            raise TypeError(f"expected a netrig.Item from claim(), not {type(item).__name__}")
        if item.queue is not self:
            raise ValueError(f"item {item.id} was claimed from {item.queue!r}, not from {self!r}")
        return item

    # -- producers ------------------------------------------------------------------------

    def push(self, payload: Union[bytes, str], priority: int = 0) -> int:
        """Appends an item and returns its id. `payload` is bytes (or bytearray, memoryview)
        or a str, stored as UTF-8. Higher `priority` (an int32) is claimed first; equal
        priorities in push order. ``FullError`` (its message gives the counts by state and
        what makes room) when ``max_items`` are held; ``InvalidArgError`` for a payload over
        ``max_payload``; ``ClosedError`` after ``close()``. Nothing changes on an error."""
        data = _payload(payload)
        if isinstance(priority, bool) or not isinstance(priority, int):
            raise TypeError(f"priority is an int, not {type(priority).__name__}")
        if not _INT32_MIN <= priority <= _INT32_MAX:
            raise OverflowError(f"priority {priority} does not fit in int32")
        out = c_uint64()
        self._check(lib.netrig_queue_push(self.handle, data, len(data), priority, byref(out)))
        return out.value

    # -- workers --------------------------------------------------------------------------

    def claim(self, timeout: Optional[float] = None, lease: Optional[float] = None) -> "Item":
        """Claims the next pending item (highest priority, then oldest) for `lease` seconds
        (None: the queue's lease), waiting up to `timeout` seconds for one (None: no limit;
        0: only look). The GIL is released while it waits.

        Raises ``NetrigTimeoutError`` (a ``TimeoutError``) when no item came in time, and
        ``ClosedError`` when the queue is closed, also by ``close()`` from another thread
        while this waits. On the main thread the wait is cut into slices so that Ctrl-C
        raises ``KeyboardInterrupt`` promptly."""
        timeout_ms = _claim_ms(timeout, "timeout")
        lease_ms = None if lease is None else _ms(lease, "lease")
        on_main = threading.current_thread() is threading.main_thread()
        start = time.monotonic()
        deadline = None if timeout is None else start + timeout
        out = ffi.netrig_item()
        while True:
            handle = self.handle
            if on_main and timeout_ms != 0:
                left = _MAIN_THREAD_SLICE if deadline is None else max(0.0, deadline - time.monotonic())
                wait = min(left, _MAIN_THREAD_SLICE)
                slice_ms = 0 if wait == 0 else max(1, int(wait * 1000))
            else:
                slice_ms = timeout_ms
            if lease_ms is None:
                status = lib.netrig_queue_claim(handle, slice_ms, byref(out))
            else:
                status = lib.netrig_queue_claim_with_lease(handle, slice_ms, lease_ms, byref(out))
            if status == ffi.NETRIG_OK:
                return Item._claimed(self, out)
            if status == ffi.NETRIG_E_TIMEOUT and on_main and timeout_ms != 0:
                if deadline is None or time.monotonic() < deadline:
                    continue  # the next slice (Python ran pending signal handlers in between)
                # The library's text counts only the last slice's wait: give the whole one.
                waited = round((time.monotonic() - start) * 1000)
                msg = re.sub(r"none came within \d+ ms", f"none came within {waited} ms", ffi.last_error())
                raise NetrigTimeoutError(msg or f"queue {self.name!r}: no item within {timeout} s")
            self._check(status)  # ClosedError also when close() freed the handle meanwhile

    def complete(self, item: "Item") -> None:
        """Settles `item` as done: it leaves the queue and counts as completed.
        ``LeaseError`` (nothing changes) when its lease is no longer held: it ran out, or the
        item was failed, suspended or completed since (the message says which)."""
        item = self._own(item)
        self._check(lib.netrig_queue_complete(self.handle, item.handle), item)

    def fail(self, item: "Item", retry: bool = True, error: str = "") -> str:
        """Settles `item` as failed, keeping `error` as its last error (cut to 4096 bytes).
        With `retry` and attempts left it is pending again, else failed; returns the new
        status, "pending" or "failed". ``LeaseError`` as for ``complete``."""
        item = self._own(item)
        if not isinstance(retry, bool):
            raise TypeError(f"retry is a bool, not {type(retry).__name__}")
        if not isinstance(error, str):
            raise TypeError(f"error is a str, not {type(error).__name__}")
        if "\0" in error:
            raise ValueError("the error text contains a NUL character")
        text = error.encode("utf-8", errors="replace")
        out = c_uint32()
        self._check(lib.netrig_queue_fail(self.handle, item.handle, retry, text, byref(out)), item)
        return _ITEM_STATUS.get(out.value, str(out.value))

    def extend(self, item: "Item", lease: float) -> None:
        """Renews `item`'s lease to end `lease` seconds from now: a heartbeat for long work.
        ``LeaseError`` when the lease already ran out (it cannot be renewed then)."""
        item = self._own(item)
        lease_ms = _ms(lease, "lease")
        self._check(lib.netrig_queue_extend(self.handle, item.handle, lease_ms), item)

    # -- operators ------------------------------------------------------------------------

    def suspend(self, id: int) -> None:
        """Keeps item `id` from being claimed until ``resume``. A processing item's lease is
        revoked (its holder's settle raises ``LeaseError``). ``NotFoundError`` (a ``KeyError``)
        for an id not in the queue; ``InvalidArgError`` for a failed item (retry it first)."""
        self._check(lib.netrig_queue_suspend(self.handle, _item_id(id)))

    def resume(self, id: int) -> None:
        """Makes suspended item `id` pending again, in its original place in line. A pending
        or processing item is left as it is. Errors as for ``suspend``."""
        self._check(lib.netrig_queue_resume(self.handle, _item_id(id)))

    def resume_all(self) -> int:
        """Makes every suspended item pending; returns how many."""
        return self._count(lib.netrig_queue_resume_all)

    def retry_failed(self) -> int:
        """Makes every failed item pending with its attempts reset (its last error is kept);
        returns how many."""
        return self._count(lib.netrig_queue_retry_failed)

    def purge_failed(self) -> int:
        """Removes every failed item (not counted as completed); returns how many."""
        return self._count(lib.netrig_queue_purge_failed)

    def _count(self, fn) -> int:
        n = c_size_t()
        self._check(fn(self.handle, byref(n)))
        return n.value

    def counts(self) -> QueueCounts:
        """How many items are in each state now (leases that ran out already count as pending
        or failed), and how many were completed. Cheap: no item is copied."""
        c = ffi.netrig_queue_counts()
        self._check(lib.netrig_queue_get_counts(self.handle, byref(c)))
        return QueueCounts(c.pending, c.processing, c.suspended, c.failed, c.completed)

    def snapshot(self) -> dict:
        """The queue at one instant, parsed from the library's JSON::

            {"queue": "uploads",
             "counts": {"pending": 2, "processing": 1, "suspended": 0, "failed": 0, "completed": 40},
             "items": [{"id": 41, "status": "pending", "priority": 5, "attempts": 0,
                        "lease_remaining_ms": None, "last_error": None,
                        "payload": "job 41", "payload_encoding": "utf8"}, ...]}

        Items: pending ones in claim order, then processing ones by lease deadline, then
        suspended and failed ones by id. A payload that is not UTF-8 is lowercase hex with
        ``"payload_encoding": "hex"``. For the counts alone, ``counts()`` is much cheaper."""
        h, n = self.handle, c_size_t()
        size = self._snapshot_size
        while True:
            buf = ctypes.create_string_buffer(size)
            status = lib.netrig_queue_snapshot_json(h, buf, size, byref(n))
            if status != ffi.NETRIG_E_BUFFER_TOO_SMALL:
                break
            # The queue may grow again before the next call: leave room, as the header says.
            size = n.value * 5 // 4 + 4096
        self._check(status)
        self._snapshot_size = max(_FIRST_SNAPSHOT_BUF, size)
        return json.loads(ctypes.string_at(buf, n.value).decode("utf-8"))


def _item_id(id: object) -> int:
    if isinstance(id, Item):
        return id.id
    if isinstance(id, bool) or not isinstance(id, int):
        raise TypeError(f"an item id is an int, not {type(id).__name__}")
    if not 0 <= id < 2**64:
        raise OverflowError(f"item id {id} does not fit in uint64")
    return id


class Item(OwnedHandle):
    """A claimed item: ``id``, ``payload`` (bytes), ``priority``, ``attempt`` (1 for the first
    claim, 2 after one failed or expired claim, ...) and ``queue``, copied at the claim and
    readable for ever, plus the lease of this claim.

    ``complete()``, ``fail(retry=True, error="")`` and ``extend(lease)`` settle or renew it
    (the same as ``queue.complete(item)``, ...). ``close()`` (also at the end of a ``with``
    block, or by the garbage collector) frees the handle WITHOUT settling the item: an item
    closed unsettled stays processing until its lease runs out, then is pending again.
    """

    _free = staticmethod(lib.netrig_item_free)

    # Set by Queue.claim (through _claimed), declared here for mypy.
    id: int
    priority: int
    attempt: int
    payload: bytes
    queue: Queue

    def __init__(self) -> None:
        raise TypeError("use Queue.claim() to get an Item")

    @classmethod
    def _claimed(cls, queue: Queue, handle: ffi.netrig_item) -> "Item":
        self = cls.__new__(cls)
        self._close_lock = threading.Lock()
        self._handle = ffi.netrig_item(handle.id)
        self.queue = queue
        id_, prio, attempt = c_uint64(), ctypes.c_int32(), c_uint32()
        data, n = c_void_p(), c_size_t()
        check(lib.netrig_item_id(handle, byref(id_)))
        check(lib.netrig_item_priority(handle, byref(prio)))
        check(lib.netrig_item_attempt(handle, byref(attempt)))
        check(lib.netrig_item_payload(handle, byref(data), byref(n)))
        self.id = id_.value
        self.priority = prio.value
        self.attempt = attempt.value
        self.payload = ctypes.string_at(data, n.value) if n.value else b""
        return self

    @property
    def handle(self) -> ffi.netrig_item:
        """The raw ``netrig_item`` handle, for calling ``netrig.ffi.lib`` directly."""
        handle = self._handle
        if handle is None:
            raise ClosedError(f"item {self.id}'s handle was closed; it can no longer be settled")
        return handle

    def close(self) -> None:
        """Frees the handle; does NOT settle the item (see the class docs). Idempotent."""
        super().close()

    def complete(self) -> None:
        """``self.queue.complete(self)``."""
        self.queue.complete(self)

    def fail(self, retry: bool = True, error: str = "") -> str:
        """``self.queue.fail(self, retry, error)``: returns "pending" or "failed"."""
        return self.queue.fail(self, retry, error)

    def extend(self, lease: float) -> None:
        """``self.queue.extend(self, lease)``."""
        self.queue.extend(self, lease)

    def __enter__(self) -> "Item":
        return self

    def __repr__(self) -> str:
        d = self.__dict__
        payload = d.get("payload", b"")
        shown = repr(payload[:40]) + ("..." if len(payload) > 40 else "")
        state = " closed" if d.get("_handle") is None else ""
        return (
            f"<netrig.Item id={d.get('id')} priority={d.get('priority')} "
            f"attempt={d.get('attempt')} payload={shown}{state}>"
        )
