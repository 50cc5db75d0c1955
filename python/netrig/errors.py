"""One exception class per ``netrig_status``, and ``check()`` which raises the right one.

Every class carries ``.status`` (the number), ``.status_name`` ("NETRIG_E_TYPE") and
``.message`` (the text of ``netrig_last_error()`` read right after the failing call, on the
same thread). Where a built-in exception means the same thing the class also derives from it,
so ordinary Python code works: ``NotFoundError`` is a ``KeyError``, ``TypeMismatchError`` a
``TypeError``, ``InvalidArgError`` a ``ValueError``, ``NetrigTimeoutError`` a ``TimeoutError``,
``NetrigOverflowError`` an ``OverflowError`` and ``NetrigIOError`` an ``OSError``. (The
``Netrig`` prefix marks the classes whose plain name would shadow a built-in.)
"""

from __future__ import annotations

import re
from typing import Any, Callable, Optional

from . import ffi

__all__ = [
    "NetrigError",
    "NullArgError",
    "InvalidHandleError",
    "Utf8Error",
    "InvalidArgError",
    "NotFoundError",
    "TypeMismatchError",
    "FullError",
    "BusyError",
    "NetrigTimeoutError",
    "CancelledError",
    "AuthError",
    "HostKeyError",
    "ConnectError",
    "ClosedError",
    "PromptError",
    "BufferTooSmallError",
    "PanicError",
    "ConflictError",
    "NetrigOverflowError",
    "CommandError",
    "NetrigIOError",
    "LaggedError",
    "LeaseError",
    "check",
    "error_for",
]


class NetrigError(Exception):
    """A netrig call failed. ``status`` is the netrig_status number."""

    status: int = -1

    def __init__(self, message: str = "", status: int | None = None):
        # Only the message goes to the base class: OSError (under NetrigTimeoutError) would
        # read a second positional argument as errno/strerror.
        super().__init__(message)
        if status is not None:
            self.status = status
        self.message = message
        self.status_name = ffi.status_str(self.status)

    def __str__(self) -> str:
        # KeyError.__str__ would repr() the message; every subclass prints it plainly.
        return f"{self.message} [{self.status_name}]" if self.message else self.status_name

    def __reduce__(self) -> tuple[Callable[[int, str], NetrigError], tuple[int, str]]:
        return (_rebuild, (self.status, self.message))


def _rebuild(status: int, message: str) -> NetrigError:
    return error_for(status, message)


class NullArgError(NetrigError):
    status = ffi.NETRIG_E_NULL_ARG


class InvalidHandleError(NetrigError):
    status = ffi.NETRIG_E_INVALID_HANDLE


class Utf8Error(NetrigError):
    status = ffi.NETRIG_E_UTF8


class InvalidArgError(NetrigError, ValueError):
    status = ffi.NETRIG_E_INVALID_ARG


class NotFoundError(NetrigError, KeyError):
    status = ffi.NETRIG_E_NOT_FOUND


class TypeMismatchError(NetrigError, TypeError):
    status = ffi.NETRIG_E_TYPE


class FullError(NetrigError):
    status = ffi.NETRIG_E_FULL


class BusyError(NetrigError):
    status = ffi.NETRIG_E_BUSY


class NetrigTimeoutError(NetrigError, TimeoutError):
    status = ffi.NETRIG_E_TIMEOUT


class CancelledError(NetrigError):
    status = ffi.NETRIG_E_CANCELLED


class AuthError(NetrigError):
    status = ffi.NETRIG_E_AUTH


class HostKeyError(NetrigError):
    status = ffi.NETRIG_E_HOSTKEY


class ConnectError(NetrigError):
    status = ffi.NETRIG_E_CONNECT


class ClosedError(NetrigError):
    status = ffi.NETRIG_E_CLOSED


class PromptError(NetrigError):
    status = ffi.NETRIG_E_PROMPT


class BufferTooSmallError(NetrigError):
    status = ffi.NETRIG_E_BUFFER_TOO_SMALL


class PanicError(NetrigError):
    status = ffi.NETRIG_E_PANIC


class ConflictError(NetrigError):
    status = ffi.NETRIG_E_CONFLICT


class NetrigOverflowError(NetrigError, OverflowError):
    status = ffi.NETRIG_E_OVERFLOW


class CommandError(NetrigError):
    """The device answered with error output ("% Invalid input", "syntax error", a failed
    commit); the message names the device and the command (for a config set: the line number
    and text) and quotes the device's line.

    ``output`` is the device's whole answer, a ``netrig.Output`` with ``failed`` True and
    ``error`` the quoted line (for a config set: the transcript up to the rejected line); None
    when the failure was not an answer the patterns matched (an exec's exit status in a run).
    """

    status = ffi.NETRIG_E_COMMAND

    def __init__(self, message: str = "", output: Optional[Any] = None):
        super().__init__(message)
        self.output = output

    def __reduce__(self) -> tuple:
        return (CommandError, (self.message, self.output))


class NetrigIOError(NetrigError, OSError):
    """A local file or a file transfer failed: a missing or unwritable file, a remote path the
    device refuses, or a size mismatch at the end of a transfer."""

    status = ffi.NETRIG_E_IO


class LaggedError(NetrigError):
    """A subscription's queue was full, so changes were dropped at this point of its stream.

    ``missed`` is how many (parsed from the library's message; None if it could not be).
    The changes after the gap follow on the next poll; take a snapshot to resynchronise."""

    status = ffi.NETRIG_E_LAGGED

    def __init__(self, message: str = "", missed: int | None = None):
        super().__init__(message)
        if missed is None:
            m = re.search(r"(\d+) events? dropped", message)
            missed = int(m.group(1)) if m else None
        self.missed = missed


class LeaseError(NetrigError):
    """A work-queue item's lease is no longer held by this claim (it expired and the item went
    back to pending, or the item was already completed or failed). Nothing was changed."""

    status = ffi.NETRIG_E_LEASE


_BY_STATUS: dict[int, type[NetrigError]] = {
    cls.status: cls
    for cls in (
        NullArgError,
        InvalidHandleError,
        Utf8Error,
        InvalidArgError,
        NotFoundError,
        TypeMismatchError,
        FullError,
        BusyError,
        NetrigTimeoutError,
        CancelledError,
        AuthError,
        HostKeyError,
        ConnectError,
        ClosedError,
        PromptError,
        BufferTooSmallError,
        PanicError,
        ConflictError,
        NetrigOverflowError,
        CommandError,
        NetrigIOError,
        LaggedError,
        LeaseError,
    )
}


def error_for(status: int, message: str) -> NetrigError:
    """The exception for `status`; a number this package does not know gives a NetrigError."""
    cls = _BY_STATUS.get(status)
    if cls is None:
        return NetrigError(message, status)
    return cls(message)


def check(status: int) -> None:
    """Raises the exception mapped from `status`, with this thread's last error text.

    Call it right after the netrig call that returned `status`, on the same thread, before
    any other netrig call: the text is per thread and replaced by the next failure.
    """
    if status:
        raise error_for(status, ffi.last_error())
