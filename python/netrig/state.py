"""Test-execution and service state, kept in a store (``Store.test_*``, ``Store.service*``).

::

    store.test_start("bgp_flap.py", os.getpid(), bin="/opt/rig/bin", topology="2x7050", dut="sw1")
    store.test_update(fields={"phase": "flap 3/10"})
    store.test_state().fields          # {"dut": "sw1", "phase": "flap 3/10"}
    store.test_stop()

    store.service_set("qsfp_service", True, "pid 4242")
    store.service("qsfp_service").since_ms    # when it last started or stopped (Unix ms)

The state is ordinary store keys under "netrig/test/" and "netrig/service/<name>/", changed
atomically: subscribe to those prefixes to watch it, and a durable store (``Store.open``)
keeps it across restarts. ``test_start`` is atomic across threads and processes sharing the
store: while a test runs, it raises ``BusyError`` naming the running script and pid.
"""

from __future__ import annotations

import json
from ctypes import byref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Dict, Mapping, Optional

from . import ffi
from .device import _str_array
from .device import _text as _cstr
from .errors import check
from .ffi import lib
from .store import _int64, _read_text

if TYPE_CHECKING:
    from .store import Store

__all__ = ["TestState", "ServiceState"]


@dataclass(frozen=True)
class TestState:
    """The test-execution state at one instant. `script`, `pid`, `bin`, `topology` and
    `fields` stay readable after the test stops, until the next start (None: never set);
    `run` counts the tests started in this store; `started_ms` / `stopped_ms` are Unix ms
    (None: not yet; `stopped_ms` is None while running); `version` changes with every start,
    stop and update."""

    __test__ = False  # not a pytest test class, whatever its name

    running: bool
    script: Optional[str]
    pid: Optional[int]
    bin: Optional[str]
    topology: Optional[str]
    run: int
    started_ms: Optional[int]
    stopped_ms: Optional[int]
    fields: Dict[str, str] = field(default_factory=dict)
    version: int = 0

    @classmethod
    def _from_json(cls, text: str) -> "TestState":
        j = json.loads(text)
        return cls(
            running=j["running"],
            script=j["script"],
            pid=j["pid"],
            bin=j["bin"],
            topology=j["topology"],
            run=j["run"],
            started_ms=j["started_ms"],
            stopped_ms=j["stopped_ms"],
            fields=dict(j["fields"]),
            version=j["version"],
        )


@dataclass(frozen=True)
class ServiceState:
    """One service: `running`, its `detail` text, `since_ms` (Unix ms when `running` last
    changed, or when the service was first set) and `version` (changes with every set)."""

    name: str
    running: bool
    detail: str
    since_ms: int
    version: int

    @classmethod
    def _all_from_json(cls, text: str) -> "dict[str, ServiceState]":
        return {
            name: cls(name, s["running"], s["detail"], s["since_ms"], s["version"])
            for name, s in json.loads(text).items()
        }


def _opt_cstr(value: object, what: str) -> Optional[bytes]:
    return None if value is None else _cstr(value, what)


def _pid(pid: object) -> int:
    if isinstance(pid, bool) or not isinstance(pid, int):
        raise TypeError(f"pid is an int, not {type(pid).__name__}")
    return _int64(pid, "pid")


def test_state(store: "Store") -> TestState:
    return TestState._from_json(_read_text(lambda buf, cap, n: lib.netrig_test_json(store.handle, buf, cap, n)))


def test_start(store: "Store", script: str, pid: int, bin: str, topology: str, fields: Mapping[str, Any]) -> TestState:
    script_b, bin_b, topology_b = _cstr(script, "script"), _cstr(bin, "bin"), _cstr(topology, "topology")
    names, values = [], []
    for name, value in fields.items():
        names.append(_cstr(name, "test field name"))
        values.append(_cstr(value, f"test field {name!r}"))
    info = ffi.netrig_test_info()
    check(
        lib.netrig_test_start(
            store.handle,
            script_b,
            _pid(pid),
            bin_b,
            topology_b,
            _str_array(names),
            _str_array(values),
            len(names),
            byref(info),
        )
    )
    # A start sets every string and replaces every field, so the new state is known exactly
    # from the arguments and `info` (no second read that another change could slip before).
    return TestState(
        running=bool(info.running),
        script=script_b.decode("utf-8"),
        pid=pid,
        bin=bin_b.decode("utf-8"),
        topology=topology_b.decode("utf-8"),
        run=info.run,
        started_ms=None if info.started_ms < 0 else info.started_ms,
        stopped_ms=None if info.stopped_ms < 0 else info.stopped_ms,
        fields={n.decode("utf-8"): v.decode("utf-8") for n, v in zip(names, values)},
        version=info.version,
    )


def test_stop(store: "Store") -> TestState:
    info = ffi.netrig_test_info()
    check(lib.netrig_test_stop(store.handle, byref(info)))
    # The C call gives only the scalars; the strings need a second read. Should another
    # change slip in between, that is the (later, consistent) state returned.
    return test_state(store)


def test_update(
    store: "Store",
    script: Optional[str],
    pid: Optional[int],
    bin: Optional[str],
    topology: Optional[str],
    fields: Optional[Mapping[str, Optional[str]]],
) -> TestState:
    u = ffi.netrig_test_fields()
    u.script = _opt_cstr(script, "script")
    u.bin = _opt_cstr(bin, "bin")
    u.topology = _opt_cstr(topology, "topology")
    if pid is not None:
        u.set_pid, u.pid = 1, _pid(pid)
    names, values = [], []
    if fields is not None:
        if not isinstance(fields, Mapping):
            raise TypeError(f"fields is a mapping of name -> str or None, not {type(fields).__name__}")
        for name, value in fields.items():
            names.append(_cstr(name, "test field name"))
            values.append(_opt_cstr(value, f"test field {name!r}'s value"))
    name_arr, value_arr = _str_array(names), _str_array(values)  # kept alive until the call returns
    u.field_names, u.field_values, u.field_count = name_arr, value_arr, len(names)
    info = ffi.netrig_test_info()
    check(lib.netrig_test_update(store.handle, byref(u), byref(info)))
    return test_state(store)  # as for test_stop: read again for the strings


def service_set(store: "Store", name: str, running: bool, detail: str) -> None:
    if not isinstance(running, int):
        raise TypeError(f"running is a bool, not {type(running).__name__}")
    if running not in (0, 1):
        raise ValueError(f"running is a bool (or 0 / 1), got {running!r}")
    check(lib.netrig_service_set(store.handle, _cstr(name, "service name"), int(running), _cstr(detail, "detail")))


def service_get(store: "Store", name: str) -> ServiceState:
    name_b = _cstr(name, "service name")
    info = ffi.netrig_service_info()
    text = _read_text(lambda buf, cap, n: lib.netrig_service_get(store.handle, name_b, byref(info), buf, cap, n))
    return ServiceState(name, bool(info.running), text, info.since_ms, info.version)
