"""Ctrl-C for blocking library calls made on the main thread.

Python runs its SIGINT handler only between bytecodes of the main thread, so a C call that
waits for a device would deliver KeyboardInterrupt only when it returns: at its deadline. Two
ways out, both used only on the main thread while SIGINT's handler is Python's
``default_int_handler`` (code that installed its own handler, or ignores SIGINT, gets exactly
the old behaviour):

* ``watch(cancel, handle)`` / ``unwatch(previous)`` around a call that has a cancel call
  (device operations, ``netrig_device_cancel``). Python's own C-level signal handler writes
  the signal number to the wakeup fd (``signal.set_wakeup_fd``) at once, whatever the main
  thread is doing; a daemon thread ("netrig-sigint") reads it and cancels the registered
  call, which returns within one 25 ms slice, and Python then raises KeyboardInterrupt. The
  call stays on the calling thread (its last error text and callbacks too), and the hot path
  costs an attribute store and a lock, not a thread handoff. The wakeup fd is the process's
  only one: when other code (asyncio's ``add_signal_handler``) already set it, netrig leaves
  it alone and falls back to the old behaviour.
* ``call(fn, cleanup)`` for a call with no cancel (opening a session, a pool checkout): it
  runs on a helper thread while the main thread waits on a lock, which Ctrl-C interrupts.
  The call is then left to finish on the helper thread, and ``cleanup(result)`` disposes of
  what it produced (frees the handle it opened).

Waits that can be cut into slices (``Run.wait``, ``Queue.claim``) use ``SLICE`` instead.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from _signal import getsignal as _getsignal  # type: ignore[import-not-found]  # signal.getsignal: 50x slower (an enum)
from threading import get_ident as _get_ident
from typing import Any, Callable, Optional, Tuple

# A wait on the main thread that is cut into slices waits at most this long in the library at a
# time: the latency of Ctrl-C for it.
SLICE = 0.05

# How often, and for how long at most, the watcher repeats a cancel while the interrupted call
# is still registered: a SIGINT that came just before the C call began finds nothing to cancel.
_RECANCEL_EVERY = 0.02
_RECANCEL_FOR = 10.0

_OFF = object()  # watch() returns it when it registered nothing
_SIGINT = int(signal.SIGINT)
_default_int_handler = signal.default_int_handler

_lock = threading.Lock()
_current: Optional[Tuple[Callable[[Any], Any], Any]] = None
_main_ident = threading.main_thread().ident
_ready: Optional[bool] = None  # None: not tried yet in this process; False: wakeup fd unavailable
_wakeup_w = -1


def interruptible() -> bool:
    """Whether a blocking call made now should take an interruptible path: on the main thread,
    with Python's default SIGINT handler."""
    return _get_ident() == _main_ident and _getsignal(_SIGINT) is _default_int_handler


def watch(cancel: Callable[[Any], Any], handle: Any) -> object:
    """Registers ``cancel(handle)`` to run when SIGINT arrives during the call that follows.
    Returns what ``unwatch`` needs: call it in a ``finally`` right after the call."""
    global _current
    if not interruptible() or (_ready is not True and not _start()):
        return _OFF
    previous = _current
    _current = (cancel, handle)
    return previous


def unwatch(previous: object) -> None:
    """Ends the registration ``watch`` made (restoring an outer one: a progress callback may
    itself make a device call). Under the lock, so no cancel for this call starts after it."""
    global _current
    if previous is _OFF:
        return
    with _lock:
        _current = previous  # type: ignore[assignment]


def _start() -> bool:
    global _ready, _wakeup_w
    if _ready is not None:
        return _ready
    read_fd, write_fd = os.pipe()
    os.set_blocking(write_fd, False)
    try:
        old = signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
    except (ValueError, OSError):
        old = None
    if old is None or old not in (-1, _wakeup_w):
        # Someone else's wakeup fd (or none can be set): theirs stays, Ctrl-C waits for the call.
        if old is not None:
            signal.set_wakeup_fd(old)
        os.close(read_fd)
        os.close(write_fd)
        _ready = False
        return False
    if old != -1:
        # This process's parent (before fork) set it: that pipe is not read here any more.
        os.close(old)
    _wakeup_w = write_fd
    threading.Thread(target=_watch_loop, args=(read_fd,), name="netrig-sigint", daemon=True).start()
    _ready = True
    return True


def _watch_loop(read_fd: int) -> None:
    while True:
        try:
            data = os.read(read_fd, 256)
        except InterruptedError:
            continue
        except OSError:
            return
        if not data:
            return
        if _SIGINT in data:
            _cancel_current()


def _cancel_current() -> None:
    op = _current
    if op is None:
        return
    give_up = time.monotonic() + _RECANCEL_FOR
    while time.monotonic() < give_up:
        with _lock:
            if _current is not op:
                return
            try:
                op[0](op[1])
            except Exception:  # noqa: BLE001 - a closed handle: the call is ending anyway
                return
        time.sleep(_RECANCEL_EVERY)


def _after_fork_in_child() -> None:
    # The watcher thread did not survive the fork; the next watch() starts a new one.
    global _lock, _current, _ready, _main_ident
    _lock = threading.Lock()
    _current = None
    _ready = None
    _main_ident = threading.main_thread().ident


os.register_at_fork(after_in_child=_after_fork_in_child)


class _Job:
    __slots__ = ("fn", "cleanup", "result", "error", "done", "abandoned")

    def __init__(self, fn: Callable[[], Any], cleanup: Callable[[Any], None]):
        self.fn, self.cleanup = fn, cleanup
        self.result: Any = None
        self.error: Optional[BaseException] = None
        self.done = threading.Lock()
        self.done.acquire()
        self.abandoned = False

    def run(self) -> None:
        try:
            self.result = self.fn()
        except BaseException as e:  # noqa: BLE001 - handed to the waiting thread
            self.error = e
        with _job_lock:
            abandoned = self.abandoned
            self.done.release()
        if abandoned and self.error is None:
            try:
                self.cleanup(self.result)
            except Exception:  # noqa: BLE001 - nobody is left to tell
                pass


_job_lock = threading.Lock()
_idle: "list[_Helper]" = []  # helper threads waiting for a job (only the main thread hands them out)


class _Helper(threading.Thread):
    def __init__(self) -> None:
        super().__init__(name="netrig-call", daemon=True)
        self.go = threading.Lock()
        self.go.acquire()
        self.job: Optional[_Job] = None

    def run(self) -> None:
        while True:
            self.go.acquire()
            job, self.job = self.job, None
            if job is not None:
                job.run()
            _idle.append(self)


def call(fn: Callable[[], Any], cleanup: Callable[[Any], None]) -> Any:
    """Returns ``fn()``. On the main thread (with the default SIGINT handler) it runs on a
    helper thread, so that Ctrl-C raises KeyboardInterrupt here at once; ``fn`` then finishes
    there and ``cleanup`` gets its result. ``fn`` must read anything thread-local itself (the
    library's last error text) and return it."""
    if not interruptible():
        return fn()
    job = _Job(fn, cleanup)
    try:
        helper = _idle.pop()
    except IndexError:
        helper = _Helper()
        helper.start()
    helper.job = job
    try:
        helper.go.release()
        job.done.acquire()
    except KeyboardInterrupt:
        with _job_lock:
            finished = job.done.acquire(blocking=False)
            job.abandoned = not finished
        if finished and job.error is None:
            cleanup(job.result)
        raise
    if job.error is not None:
        raise job.error
    return job.result
