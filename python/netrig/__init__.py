"""netrig for Python: ctypes bindings to libnetrig's C ABI.

``netrig.Store`` is the thread-safe status store, ``netrig.Device`` an SSH session to a device
under test (see ``netrig.device``), ``netrig.Pool`` a pool of sessions and ``netrig.Runner`` the
parallel runner (``netrig.pool``, ``netrig.run``), ``netrig.Inventory`` a Nornir-style YAML
inventory of named hosts to run on (``netrig.inventory``), ``netrig.parse`` TextFSM parsing of
command output with ntc-templates (``netrig.parse``; also ``Output.parse()`` and
``send_command(..., parse=True)``); ``netrig.ffi`` is the raw C layer (the
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

The work queue, ``netrig.Queue(max_items, max_attempts, lease, max_payload)`` in memory or
``Queue.open(path, name="default", durability=...)`` in a SQLite file:

* ``push(payload, priority=0)`` -> id; ``claim(timeout=None, lease=None)`` -> ``Item`` (highest
  priority, then oldest; waits with the GIL released; ``NetrigTimeoutError``, and
  ``ClosedError`` once the queue is closed, also from another thread).
* ``Item`` (``id``, ``payload``, ``priority``, ``attempt``): ``complete()``,
  ``fail(retry=True, error="")`` -> "pending" | "failed", ``extend(seconds)``; a lease that
  ran out makes the item pending again (failed after ``max_attempts`` claims) and a late
  settle raises ``LeaseError``. Closing an item (``with`` block) frees it without settling.
* ``suspend(id)``, ``resume(id)``, ``resume_all()``, ``retry_failed()``, ``purge_failed()``,
  ``counts()`` -> ``QueueCounts``, ``snapshot()`` -> dict. See ``netrig.queue``.
"""

from . import errors, ffi
from .errors import *  # noqa: F401,F403  (one exception class per status; see errors.__all__)
from .ffi import last_error, platforms, version
from .device import Device, DeviceOptions, ExecResult, Output, Target
from .parse import parse, parse_template, templates_dir
from .pool import Pool, PoolStats
from .run import Event, HostResult, Report, Run, Runner, Step, StepResult
from .inventory import Host, Inventory
from .store import NEVER, Batch, Snapshot, SnapshotEntry, Store
from .events import Change, Subscription, SubscriptionStats
from .state import ServiceState, TestState
from .queue import Item, Queue, QueueCounts
from . import log  # netrig's records into logging.getLogger("netrig.<target>"); see netrig.log

__version__ = version()

__all__ = [
    "ffi",
    "parse",
    "parse_template",
    "templates_dir",
    "version",
    "platforms",
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
    "Queue",
    "Item",
    "QueueCounts",
    "Device",
    "DeviceOptions",
    "Target",
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
    "Inventory",
    "Host",
    *errors.__all__,
]
