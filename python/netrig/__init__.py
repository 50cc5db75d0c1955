"""netrig for Python: ctypes bindings to libnetrig's C ABI.

``netrig.Store`` is the thread-safe status store; ``netrig.ffi`` is the raw C layer (the
loaded library, handle structs and status constants) for calls the high-level API does not
make. Every failing call raises a ``netrig.NetrigError`` subclass named after its status.
"""

from . import ffi
from .errors import (
    AuthError,
    BufferTooSmallError,
    BusyError,
    CancelledError,
    ClosedError,
    ConflictError,
    ConnectError,
    FullError,
    HostKeyError,
    InvalidArgError,
    InvalidHandleError,
    NetrigError,
    NetrigOverflowError,
    NetrigTimeoutError,
    NotFoundError,
    NullArgError,
    PanicError,
    PromptError,
    TypeMismatchError,
    Utf8Error,
    check,
)
from .ffi import last_error, version
from .store import NEVER, Batch, Snapshot, SnapshotEntry, Store

__version__ = version()

__all__ = [
    "ffi",
    "version",
    "last_error",
    "check",
    "Store",
    "Batch",
    "Snapshot",
    "SnapshotEntry",
    "NEVER",
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
]
