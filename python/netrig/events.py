"""Change events: watch the sets, deletes and expiries of keys under a prefix.

Polling, from any thread (the GIL is released while a poll waits)::

    with store.subscribe("dut1/") as sub:
        ui.draw(sub.snapshot)              # the prefix at the instant the subscription began
        for change in sub:                 # blocks; ends when the subscription or store closes
            ui.apply(change.kind, change.key, change.value)

``poll(timeout)`` takes one change: ``NetrigTimeoutError`` when none came in time,
``LaggedError`` (with ``.missed``) where the queue was full and changes were dropped (the ones
after the gap follow; take a new snapshot to resynchronise), ``ClosedError`` once closed.
``close()`` from another thread wakes a blocked ``poll`` at once.

A callback, on netrig's own thread::

    def on_change(change):                 # runs on the subscription's "netrig-events" thread
        if change.kind == "lagged":
            resync(change.missed)
        ...
    sub = store.subscribe("netrig/service/", callback=on_change)
    ...
    sub.close()                            # delivers what is queued, then no more calls;
                                           # re-raises an error the callback raised

The callback runs on one dispatcher thread per subscription, one call at a time, in order;
ctypes takes the GIL for it. It may read and write the store and may close its own
subscription. An exception it raises is kept (the dispatcher goes on with the next change)
and ``close()`` re-raises the first one. Keep a reference to a callback subscription and close
it: a subscription nobody references is closed by the garbage collector.
"""

from __future__ import annotations

import atexit
import threading
import time
import weakref
from ctypes import byref
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Callable, Iterator, Optional, Type

from . import ffi
from .device import _ms
from .errors import ClosedError, LaggedError, NetrigTimeoutError, check, error_for
from .ffi import lib
from .store import Snapshot, Value, _from_value, _key, _take_snapshot

if TYPE_CHECKING:
    from .store import Store

__all__ = ["Change", "Subscription", "SubscriptionStats"]

_KIND = {
    ffi.NETRIG_CHANGE_SET: "set",
    ffi.NETRIG_CHANGE_DELETE: "delete",
    ffi.NETRIG_CHANGE_EXPIRE: "expire",
    ffi.NETRIG_CHANGE_LAGGED: "lagged",
}

# A poll on the main thread waits in slices this long, so Ctrl-C (which Python handles only
# between bytecodes of the main thread) stops a `for change in sub:` loop promptly.
_MAIN_THREAD_SLICE = 0.25

# At most this many callback exceptions are kept; the rest are only counted.
_MAX_KEPT_ERRORS = 100


@dataclass(frozen=True)
class Change:
    """One change of one key. `kind` is "set" (value and version are the new ones), "delete"
    or "expire" (the value and version the key had). Callbacks also get kind "lagged" where
    `missed` changes were dropped (key "", value None, version 0)."""

    kind: str
    key: str
    value: Optional[Value]
    version: int
    missed: int = 0

    @classmethod
    def _from_view(cls, v: "ffi.netrig_change_view") -> "Change":
        kind = _KIND.get(v.kind, str(v.kind))
        if v.kind == ffi.NETRIG_CHANGE_LAGGED:
            return cls(kind, "", None, 0, v.missed)
        return cls(kind, (v.key or b"").decode("utf-8"), _from_value(v.value), v.version, v.missed)


@dataclass(frozen=True)
class SubscriptionStats:
    """Changes handed out so far, dropped because the queue was full, and waiting now."""

    delivered: int
    dropped: int
    queued: int


class _Dispatch:
    """What the dispatcher thread needs, kept apart from the Subscription so that the C thunk
    (which references this through its closure) never keeps the Subscription itself alive."""

    def __init__(self, callback: Callable[[Change], None]):
        self.callback = callback
        self.closed = False  # set at interpreter exit and by the GC: deliver nothing more
        self.ident: Optional[int] = None  # threading.get_ident() of the dispatcher thread
        self.errors: list = []
        self.error_count = 0
        self.thunk = None

    def deliver(self, view_ptr, _user_data) -> None:
        # On the "netrig-events" thread, GIL held by ctypes. Nothing may escape into C.
        self.ident = threading.get_ident()
        if self.closed:
            return
        try:
            self.callback(Change._from_view(view_ptr.contents))
        except BaseException as e:  # noqa: BLE001
            self.error_count += 1
            if len(self.errors) < _MAX_KEPT_ERRORS:
                self.errors.append(e)


# Callback subscriptions still open; closed at interpreter exit so that no dispatcher thread
# calls into a Python that is being finalized.
_live_dispatchers: "weakref.WeakSet[Subscription]" = weakref.WeakSet()


@atexit.register
def _close_dispatchers() -> None:
    for sub in list(_live_dispatchers):
        try:
            sub._close_handle(drain=False)
        except Exception:
            pass


class Subscription:
    """A subscription to a store's changes (make one with ``Store.subscribe``).

    ``poll(timeout=None)`` / iteration for a polled subscription; ``snapshot`` (the prefix at
    the instant it began), ``stats()``, ``close()`` and ``with`` for both kinds. Safe to share
    between threads: several pollers share the queue (each change goes to one of them).
    """

    def __init__(self) -> None:
        raise TypeError("use Store.subscribe() to make a Subscription")

    @classmethod
    def _open(cls, store: "Store", prefix: str, capacity: int, callback) -> "Subscription":
        prefix_b = _key(prefix, "prefix")
        if isinstance(capacity, bool) or not isinstance(capacity, int):
            raise TypeError(f"capacity is an int, not {type(capacity).__name__}")
        if not 0 <= capacity <= 0xFFFFFFFF:
            raise ValueError(f"capacity must be 0 (the default, 1024) or a positive int, got {capacity}")
        if callback is not None and not callable(callback):
            raise TypeError(f"callback is a callable(change), not {type(callback).__name__}")
        self = cls.__new__(cls)
        self._handle = None
        self._close_lock = threading.Lock()
        self.store = store
        self.prefix = prefix
        self._snap_lock = threading.Lock()
        self._snap_handle: Optional[ffi.netrig_snapshot] = None
        self._snapshot: Optional[Snapshot] = None
        self._dispatch: Optional[_Dispatch] = None
        handle, snap = ffi.netrig_subscription(), ffi.netrig_snapshot()
        if callback is None:
            check(lib.netrig_store_subscribe(store.handle, prefix_b, capacity, byref(handle), byref(snap)))
        else:
            d = _Dispatch(callback)
            # The thunk must outlive every call C makes to it. The Subscription holds it until
            # netrig_subscription_free has waited for the dispatcher thread; and `d` holds it
            # too (a cycle through the closure), so a subscription closed from inside its own
            # callback keeps it until that call has returned and the garbage collector runs.
            d.thunk = ffi.netrig_change_fn(d.deliver)
            self._dispatch = d
            check(
                lib.netrig_store_subscribe_callback(
                    store.handle, prefix_b, capacity, d.thunk, None, byref(handle), byref(snap)
                )
            )
        self._handle = handle
        self._snap_handle = snap
        if callback is not None:
            _live_dispatchers.add(self)
        return self

    # -- lifetime -------------------------------------------------------------------------

    @property
    def handle(self) -> "ffi.netrig_subscription":
        """The raw ``netrig_subscription`` handle."""
        handle = self._handle
        if handle is None:
            raise ClosedError(f"this netrig Subscription ({self.prefix!r}) is closed")
        return handle

    @property
    def closed(self) -> bool:
        return self._handle is None

    def _close_handle(self, drain: bool = True) -> bool:
        """Frees the C subscription (once); True if this call did it. Without `drain` the
        callback is not called again (at interpreter exit, or from the garbage collector, where
        running user code is not wanted); with it, netrig delivers what is queued first."""
        if self._dispatch is not None and not drain:
            self._dispatch.closed = True
        with self._close_lock:
            handle, self._handle = self._handle, None
        if handle is None:
            return False
        _live_dispatchers.discard(self)
        check(lib.netrig_subscription_free(handle))
        return True

    def close(self) -> None:
        """Unsubscribes (idempotent, any thread). No change written after the call began is
        delivered. A polled subscription drops the changes still queued, and a poll blocked in
        another thread wakes with ``ClosedError``. A callback subscription first delivers every
        change queued before the call, then stops its thread and waits for it (not when called
        from inside the callback: then the queued changes are dropped), so when it returns every
        earlier change has reached the callback and no call runs any more; then it re-raises
        the first exception the callback raised, once (a close from inside the callback leaves
        that to the next ``close()``). Because of that wait, do not close a callback
        subscription while holding a lock its callback takes."""
        self._close_handle()
        d = self._dispatch
        if d is None or not d.errors or threading.get_ident() == d.ident:
            return
        first, more = d.errors[0], d.error_count - 1
        d.errors, d.error_count = [], 0
        if more and hasattr(first, "add_note"):
            first.add_note(f"(the subscription's callback raised {more} more exception(s))")
        raise first

    @property
    def callback_errors(self) -> list:
        """Exceptions the callback raised that ``close()`` has not re-raised yet."""
        return list(self._dispatch.errors) if self._dispatch is not None else []

    def __enter__(self) -> "Subscription":
        return self

    def __exit__(
        self, exc_type: Optional[Type[BaseException]], exc: Optional[BaseException], tb: Optional[TracebackType]
    ) -> None:
        self.close()

    def __del__(self) -> None:
        # Never raise here; interpreter shutdown or a failed _open may leave nothing to free.
        try:
            self._close_handle(drain=False)
        except Exception:
            pass
        try:
            snap = self.__dict__.get("_snap_handle")
            if snap is not None and snap.id:
                self._snap_handle = None
                lib.netrig_snapshot_free(snap)
        except Exception:
            pass

    def __repr__(self) -> str:
        kind = "callback" if self._dispatch is not None else "polled"
        state = "closed" if self._handle is None else "open"
        return f"<netrig.Subscription {self.prefix!r} {kind} {state}>"

    # -- the snapshot ---------------------------------------------------------------------

    @property
    def snapshot(self) -> Snapshot:
        """The prefix's keys at the instant the subscription began (a ``Snapshot``). Every
        change after it is delivered and none before it. Copied into Python on first use."""
        with self._snap_lock:
            if self._snapshot is None:
                snap, self._snap_handle = self._snap_handle, None
                if snap is None:
                    raise ClosedError("this subscription's snapshot is gone")
                self._snapshot = _take_snapshot(snap)
            return self._snapshot

    # -- polling --------------------------------------------------------------------------

    def poll(self, timeout: Optional[float] = None) -> Change:
        """The next change, waiting up to `timeout` seconds (None: until one comes; 0: only
        check). Raises ``NetrigTimeoutError`` when none came, ``LaggedError`` where changes
        were dropped (``.missed`` says how many; the next poll continues after the gap) and
        ``ClosedError`` once the subscription is closed, or its store is closed and the
        queued changes have been taken."""
        if self._dispatch is not None:
            raise TypeError("this subscription delivers its changes to its callback; it cannot be polled")
        if timeout is not None:
            ms = 0 if timeout == 0 else _ms(timeout, "timeout")
        deadline = None if timeout is None else time.monotonic() + timeout
        on_main = threading.current_thread() is threading.main_thread()
        out = ffi.netrig_change()
        while True:
            handle = self.handle
            if on_main:
                left = _MAIN_THREAD_SLICE if deadline is None else max(0.0, deadline - time.monotonic())
                wait = min(left, _MAIN_THREAD_SLICE)
                slice_ms = 0 if wait == 0 else max(1, int(wait * 1000))
            else:
                slice_ms = ffi.NETRIG_WAIT_FOREVER if timeout is None else ms
            status = lib.netrig_subscription_poll(handle, slice_ms, byref(out))
            if status == ffi.NETRIG_OK:
                return self._take(out)
            if status == ffi.NETRIG_E_TIMEOUT and on_main:
                if deadline is None or time.monotonic() < deadline:
                    continue  # the next slice (Python ran pending signal handlers in between)
                raise NetrigTimeoutError(f"subscription {self.prefix!r}: no change within {timeout} s")
            if status == ffi.NETRIG_E_LAGGED:
                err = error_for(status, ffi.last_error())
                assert isinstance(err, LaggedError)
                raise err
            if status == ffi.NETRIG_E_CLOSED or (status == ffi.NETRIG_E_INVALID_HANDLE and self._handle is None):
                # Closed meanwhile, by another thread (or the store was closed).
                msg = ffi.last_error() if status == ffi.NETRIG_E_CLOSED else ""
                raise ClosedError(msg or f"this netrig Subscription ({self.prefix!r}) is closed")
            check(status)

    @staticmethod
    def _take(out: "ffi.netrig_change") -> Change:
        try:
            view = ffi.netrig_change_view()
            check(lib.netrig_change_get(out, byref(view)))
            return Change._from_view(view)
        finally:
            lib.netrig_change_free(out)

    def __iter__(self) -> Iterator[Change]:
        return self

    def __next__(self) -> Change:
        """The next change (blocking); the iteration ends when the subscription or its store
        is closed. ``LaggedError`` comes out of the loop; iterate again to go on."""
        try:
            return self.poll(None)
        except ClosedError:
            raise StopIteration from None

    def stats(self) -> SubscriptionStats:
        s = ffi.netrig_subscription_stats()
        status = lib.netrig_subscription_get_stats(self.handle, byref(s))
        if status == ffi.NETRIG_E_INVALID_HANDLE and self._handle is None:
            raise ClosedError(f"this netrig Subscription ({self.prefix!r}) is closed")
        check(status)
        return SubscriptionStats(s.delivered, s.dropped, s.queued)
