"""netrig for Python: ctypes bindings to libnetrig's C ABI.

``netrig.Store`` is the thread-safe status store, ``netrig.Device`` an SSH session to a device
under test (see ``netrig.device``), ``netrig.Pool`` a pool of sessions and ``netrig.Runner`` the
parallel runner (``netrig.pool``, ``netrig.run``); ``netrig.ffi`` is the raw C layer (the
loaded library, handle structs and status constants) for calls the high-level API does not
make. Every failing call raises a ``netrig.NetrigError`` subclass named after its status.

The store, further:

* ``Store.open(path, durability="process_crash" | "power_loss")``: a durable store in a SQLite
  file; every write is in the file when its call returns.
* ``Store.subscribe(prefix, capacity=0, callback=None)`` -> ``Subscription``: the store's
  changes as ``Change`` objects (kind "set" / "delete" / "expire", key, value, version),
  polled (``poll(timeout)``, ``for change in sub``; ``LaggedError`` where changes were
  dropped) or passed to a callback on a "netrig-events" thread; ``Subscription.snapshot`` is
  the prefix at the instant it began. See ``netrig.events``.
* ``Store.test_start / test_stop / test_update / test_state`` -> ``TestState`` and
  ``Store.service_set / service / services / service_remove`` -> ``ServiceState``:
  test-execution and service state. See ``netrig.state``.
"""

from . import errors, ffi
from .errors import *  # noqa: F401,F403  (one exception class per status; see errors.__all__)
from .ffi import last_error, version
from .device import Device, ExecResult, Output
from .pool import Pool, PoolStats
from .run import Event, HostResult, Report, Run, Runner, Step, StepResult
from .store import NEVER, Batch, Snapshot, SnapshotEntry, Store
from .events import Change, Subscription, SubscriptionStats
from .state import ServiceState, TestState

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
    "Subscription",
    "SubscriptionStats",
    "Change",
    "TestState",
    "ServiceState",
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
