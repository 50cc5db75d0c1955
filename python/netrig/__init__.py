"""netrig for Python: ctypes bindings to libnetrig's C ABI.

``netrig.Store`` is the thread-safe status store, ``netrig.Device`` an SSH session to a device
under test (see ``netrig.device``), ``netrig.Pool`` a pool of sessions and ``netrig.Runner`` the
parallel runner (``netrig.pool``, ``netrig.run``); ``netrig.ffi`` is the raw C layer (the
loaded library, handle structs and status constants) for calls the high-level API does not
make. Every failing call raises a ``netrig.NetrigError`` subclass named after its status.
"""

from . import errors, ffi
from .errors import *  # noqa: F401,F403  (one exception class per status; see errors.__all__)
from .ffi import last_error, version
from .device import Device, ExecResult, Output
from .pool import Pool, PoolStats
from .run import Event, HostResult, Report, Run, Runner, Step, StepResult
from .store import NEVER, Batch, Snapshot, SnapshotEntry, Store

__version__ = version()

__all__ = [
    "ffi",
    "version",
    "last_error",
    "Store",
    "Batch",
    "Snapshot",
    "SnapshotEntry",
    "NEVER",
    "Device",
    "Output",
    "ExecResult",
    "Pool",
    "PoolStats",
    "Runner",
    "Run",
    "Step",
    "Report",
    "HostResult",
    "StepResult",
    "Event",
    *errors.__all__,
]
