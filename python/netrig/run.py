"""The parallel runner: the same steps on many devices at once, with bounded threads.

::

    steps = [netrig.Step.command("show clock"),
             netrig.Step.command("show version", timeout=10),
             netrig.Step.config(["interface Gi0/1", "description uplink"])]
    targets = [dict(host=d.ip, username="admin", password="pw", fingerprint=d.fp) for d in duts]
    report = netrig.Runner(targets, steps, max_workers=64, pool=pool).run()
    print(report.totals, report.failed_hosts)
    for host in report.hosts:
        print(host.name, host.state, [s.output for s in host.steps])

The work runs on the library's own worker threads (at most ``max_workers``, named
``netrig-run-N``), never one per host beyond that. Strategies: "free" (each host runs its steps
as fast as it can) or "linear" (step k runs on every host before step k+1). A failed step
either lets the host go on ("continue"), skips the host's remaining steps ("skip_host", the
default), or stops the whole run ("abort").

Progress, two ways:

* ``progress=callable``: called with each ``Event`` on the worker thread that produced it
  (ctypes takes the GIL for it). It should be quick: the worker waits for it. An exception in
  it is printed by ctypes and otherwise ignored.
* ``Run.events()``: a generator of the same events, for code that wants them on its own thread
  (start the run with ``events=True``).

``Run.cancel()`` from any thread stops the run promptly: in-flight steps end as "cancelled"
through the device cancel path, unstarted work is "skipped". Ctrl-C in ``Run.wait()`` or
``Run.events()`` on the main thread raises ``KeyboardInterrupt`` within 100 ms and leaves the
run going; in ``Runner.run()`` it also cancels the run (leaving its ``with`` block).
"""

from __future__ import annotations

import ctypes
import json
import math
import os
import threading
import time
from ctypes import byref, c_size_t, c_void_p
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterable, Iterator, List, Literal, Mapping, Optional, Sequence, Tuple, Union

from . import _interrupt, ffi
from ._owned import OwnedHandle
from .device import _PROTOCOL, DeviceOptions, Target, TransferProtocol, _op_ms, _opt_text, _str_array, _text, device_options
from .errors import ClosedError, NetrigTimeoutError, check
from .ffi import lib
from .inventory import Host, Inventory
from .pool import Pool, _target_kwargs

__all__ = ["Step", "Runner", "Run", "Report", "HostResult", "StepResult", "Event", "Strategy", "OnFailure"]

Strategy = Literal["free", "linear"]
OnFailure = Literal["continue", "skip_host", "abort"]

_STRATEGY = {"free": ffi.NETRIG_STRATEGY_FREE, "linear": ffi.NETRIG_STRATEGY_LINEAR}
_ON_FAILURE = {
    "continue": ffi.NETRIG_ON_FAILURE_CONTINUE,
    "skip_host": ffi.NETRIG_ON_FAILURE_SKIP_HOST,
    "abort": ffi.NETRIG_ON_FAILURE_ABORT,
}
_EVENT_KIND = {
    ffi.NETRIG_EVENT_HOST_STARTED: "host_started",
    ffi.NETRIG_EVENT_CONNECTED: "connected",
    ffi.NETRIG_EVENT_STEP_STARTED: "step_started",
    ffi.NETRIG_EVENT_STEP_FINISHED: "step_finished",
    ffi.NETRIG_EVENT_HOST_FINISHED: "host_finished",
    ffi.NETRIG_EVENT_RUN_FINISHED: "run_finished",
}
_STATE = {
    ffi.NETRIG_STATE_NONE: None,
    ffi.NETRIG_STATE_OK: "ok",
    ffi.NETRIG_STATE_FAILED: "failed",
    ffi.NETRIG_STATE_TIMED_OUT: "timed_out",
    ffi.NETRIG_STATE_CANCELLED: "cancelled",
    ffi.NETRIG_STATE_SKIPPED: "skipped",
}


@dataclass(frozen=True)
class Step:
    """One step of a job; build it with the class methods. `timeout` is seconds (None: the
    device's operation timeout)."""

    kind: str
    args: tuple
    timeout: Optional[float] = None

    @classmethod
    def command(cls, command: str, timeout: Optional[float] = None, *, parse: bool = False) -> "Step":
        """``parse=True``: the step's result also carries the output's TextFSM ``records``
        (``netrig.parse``; templates from the target's ``templates``, else
        ``NETRIG_TEMPLATES``); a missing template fails the step."""
        return cls("command_parsed" if parse else "command", (_text(command, "command"),), timeout)

    @classmethod
    def config(
        cls, lines: Union[str, Iterable[str]], exit: bool = True, commit: bool = False,
        commit_check: bool = False, timeout: Optional[float] = None,
    ) -> "Step":
        """A config set (see ``Device.send_config_set``); a rejected line fails the step."""
        if isinstance(lines, str):
            lines = [lines]
        encoded = tuple(_text(line, f"config line {i + 1}") for i, line in enumerate(lines))
        flags = (0 if exit else ffi.NETRIG_CONFIG_STAY) | (ffi.NETRIG_CONFIG_COMMIT if commit else 0)
        flags |= ffi.NETRIG_CONFIG_COMMIT_CHECK if commit_check else 0
        return cls("config", (encoded, flags), timeout)

    @classmethod
    def exec(cls, command: str, timeout: Optional[float] = None) -> "Step":
        """A command on its own channel (Linux targets); fails unless it exits with 0."""
        return cls("exec", (_text(command, "command"),), timeout)

    @classmethod
    def put(cls, local: Union[str, os.PathLike], remote: str, protocol: TransferProtocol = "sftp", timeout: Optional[float] = None) -> "Step":
        return cls("put", (_text(local, "local"), _text(remote, "remote"), _protocol(protocol)), timeout)

    @classmethod
    def get(cls, remote: str, local: Union[str, os.PathLike], protocol: TransferProtocol = "sftp", timeout: Optional[float] = None) -> "Step":
        """`local` may hold "{name}", "{host}" and "{port}", replaced for each target."""
        return cls("get", (_text(remote, "remote"), _text(local, "local"), _protocol(protocol)), timeout)


def _protocol(name: str) -> int:
    proto = _PROTOCOL.get(name) if isinstance(name, str) else None
    if proto is None:
        raise ValueError(f"protocol {name!r} is not 'sftp' or 'scp'")
    return proto


@dataclass(frozen=True)
class Event:
    """What happened: `kind` is "host_started", "connected", "step_started", "step_finished",
    "host_finished" or "run_finished"; `host` and `step` are indexes into the job's targets and
    steps (None when not about one); `state` how it ended ("ok", "failed", "timed_out",
    "cancelled", "skipped"; None for starts); `status` the netrig status name; `elapsed`
    seconds; `worker` the number N of the thread ``netrig-run-N`` that sent it; `name` the
    host's name."""

    kind: str
    host: Optional[int]
    step: Optional[int]
    state: Optional[str]
    status: str
    elapsed: float
    worker: int

    name: Optional[str] = None
    """The host's name (the target's "name", default "host:port"); None when not about one."""

    @classmethod
    def _from_c(cls, e: "ffi.netrig_event", names: Sequence[str] = ()) -> "Event":
        host = None if e.host < 0 else e.host
        return cls(
            kind=_EVENT_KIND.get(e.kind, str(e.kind)),
            host=host,
            step=None if e.step < 0 else e.step,
            state=_STATE.get(e.state, str(e.state)),
            status=ffi.status_str(e.status),
            elapsed=e.elapsed_us / 1e6,
            worker=e.worker,
            name=names[host] if host is not None and host < len(names) else None,
        )


@dataclass(frozen=True)
class StepResult:
    """How a step (or the connect) ended. `error` is "" on success, else it names the host,
    the step and the cause; `exit_status` is set for exec steps."""

    state: str
    status: str
    output: str
    stderr: str
    exit_status: Optional[int]
    error: str
    duration: float
    records: Optional[List[Dict[str, Any]]] = None
    """A parsed command step's TextFSM records (``Step.command(..., parse=True)``)."""

    @property
    def ok(self) -> bool:
        return self.state == "ok"

    @classmethod
    def _from_json(cls, j: Mapping[str, Any]) -> "StepResult":
        return cls(
            j["state"], j["status"], j["output"], j["stderr"], j["exit_status"], j["error"], j["duration_ms"] / 1e3,
            j.get("records"),
        )


@dataclass(frozen=True)
class HostResult:
    """One target's outcome: `name` is the target's "name" (default "host:port"), `data` its
    "data" as given ({} by default); `state` is "ok" when the connect and every step
    succeeded, else the state of the first failure ("skipped" if it never started)."""

    name: str
    state: str
    connect: StepResult
    steps: List[StepResult]
    duration: float
    data: Any = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.state == "ok"


@dataclass(frozen=True)
class Report:
    """A finished run. `totals` and `step_totals` count hosts and steps by state
    ({"succeeded", "failed", "timed_out", "cancelled", "skipped"}); `json` is the library's
    JSON export of the whole report."""

    hosts: List[HostResult]
    totals: dict
    step_totals: dict
    failed_hosts: List[str]
    wall: float
    cancelled: bool
    aborted: Optional[str]
    json: str

    def host(self, name: str) -> HostResult:
        """The result of the (first) target named `name`; ``KeyError`` if none is."""
        for h in self.hosts:
            if h.name == name:
                return h
        raise KeyError(name)

    @property
    def by_name(self) -> Dict[str, HostResult]:
        """The hosts' results by name (of targets sharing a name, the last)."""
        return {h.name: h for h in self.hosts}

    @classmethod
    def _from_json(cls, text: str) -> "Report":
        j = json.loads(text)
        hosts = [
            HostResult(
                h["name"],
                h["state"],
                StepResult._from_json(h["connect"]),
                [StepResult._from_json(s) for s in h["steps"]],
                h["duration_ms"] / 1e3,
                h.get("data", {}),
            )
            for h in j["hosts"]
        ]
        return cls(hosts, j["totals"], j["step_totals"], j["failed_hosts"], j["wall_ms"] / 1e3, j["cancelled"], j["aborted"], text)


def _named(target: Dict[str, Any]) -> Tuple[Optional[bytes], Optional[bytes], Dict[str, Any]]:
    """A target's name and data (JSON) for C, and the rest: the ``Device`` options."""
    kw = dict(target)
    name, data = kw.pop("name", None), kw.pop("data", None)
    if name is not None:
        if not isinstance(name, str) or not name:
            raise ValueError(f"target name {name!r} is not a non-empty str")
    try:
        data_json = None if data is None else json.dumps(data)
    except (TypeError, ValueError) as e:
        raise TypeError(f"target {name or kw.get('host')!r}: data is not JSON-serializable: {e}") from None
    return _opt_text(name, "target name"), _opt_text(data_json, "target data"), kw


class Runner:
    """A job: `targets` (dicts of ``Device`` options with "host", and optionally "name" and
    "data", or an ``Inventory`` / its ``Host`` objects) and `steps` (``Step``s), with its
    options. ``run()`` runs it and returns the ``Report``; ``start()`` returns a
    ``Run`` to watch, cancel and wait for. A runner can be run any number of times."""

    def __init__(
        self,
        targets: Union[Iterable[DeviceOptions], Iterable[Target], Inventory],
        steps: Sequence[Step],
        *,
        max_workers: int = 128,
        strategy: Strategy = "free",
        on_failure: OnFailure = "skip_host",
        pool: Optional[Pool] = None,
    ):
        if strategy not in _STRATEGY:
            raise ValueError(f"strategy {strategy!r} is not one of {', '.join(map(repr, _STRATEGY))}")
        if on_failure not in _ON_FAILURE:
            raise ValueError(f"on_failure {on_failure!r} is not one of {', '.join(map(repr, _ON_FAILURE))}")
        if isinstance(max_workers, bool) or not isinstance(max_workers, int) or not 1 <= max_workers <= 0xFFFFFFFF:
            raise ValueError(f"max_workers must be an int >= 1, got {max_workers!r}")
        if pool is not None and not isinstance(pool, Pool):
            raise TypeError(f"pool is a netrig.Pool, not {type(pool).__name__}")
        for s in steps:
            if not isinstance(s, Step):
                raise TypeError(f"steps are netrig.Step objects, not {type(s).__name__}")
        self.targets = [_target_kwargs(t.target() if isinstance(t, Host) else t) for t in targets]
        self.steps = list(steps)
        self.max_workers, self.strategy, self.on_failure, self.pool = max_workers, strategy, on_failure, pool
        self._named = [_named(t) for t in self.targets]
        for _, _, kw in self._named:
            device_options(**kw)  # refuse bad options now, not on a worker thread

    def run(self, progress: Optional[Callable[[Event], None]] = None) -> Report:
        """Runs the job and returns its report (the GIL is released while waiting)."""
        with self.start(progress=progress) as run:
            return run.wait()

    def start(self, progress: Optional[Callable[[Event], None]] = None, events: bool = False) -> "Run":
        """Starts the job and returns at once. `progress` is called on the worker threads;
        `events=True` keeps the events for ``Run.events()``."""
        if progress is not None and not callable(progress):
            raise TypeError(f"progress is a callable(event), not {type(progress).__name__}")
        job = ffi.netrig_job()
        check(lib.netrig_job_new(byref(job)))
        try:
            self._fill(job)
            return Run._start(job, self, progress, events)
        finally:
            lib.netrig_job_free(job)

    def _fill(self, job: "ffi.netrig_job") -> None:
        for name, data, kw in self._named:
            o, keep = device_options(**kw)
            check(lib.netrig_job_add_target_named(job, name, byref(o), data))
            del keep
        for s in self.steps:
            ms = _op_ms(s.timeout)
            if s.kind == "command":
                check(lib.netrig_job_add_command(job, s.args[0], ms))
            elif s.kind == "command_parsed":
                check(lib.netrig_job_add_command_parsed(job, s.args[0], ms))
            elif s.kind == "config":
                lines, flags = s.args
                check(lib.netrig_job_add_config(job, _str_array(list(lines)), len(lines), flags, ms))
            elif s.kind == "exec":
                check(lib.netrig_job_add_exec(job, s.args[0], ms))
            elif s.kind == "put":
                check(lib.netrig_job_add_put(job, s.args[0], s.args[1], s.args[2], ms))
            elif s.kind == "get":
                check(lib.netrig_job_add_get(job, s.args[0], s.args[1], s.args[2], ms))
            else:
                raise ValueError(f"unknown step kind {s.kind!r}")


def _sliced(fn, handle, ms: int, *out, timed_out: str) -> int:
    """``fn(handle, ms, *out)``; on the main thread in slices of ``_interrupt.SLICE``, so that
    Ctrl-C raises KeyboardInterrupt promptly (and leaves the run going). `timed_out` is the
    error text when the whole wait passed (the library's would name the last slice)."""
    if not _interrupt.interruptible():
        return fn(handle, ms, *out)
    slice_ms = int(_interrupt.SLICE * 1000)
    deadline = None if ms == ffi.NETRIG_WAIT_FOREVER else time.monotonic() + ms / 1000
    while True:
        left = slice_ms if deadline is None else max(0, math.ceil((deadline - time.monotonic()) * 1000))
        status = fn(handle, min(left, slice_ms), *out)
        if status != ffi.NETRIG_E_TIMEOUT:
            return status
        if deadline is not None and left <= slice_ms:
            raise NetrigTimeoutError(timed_out.format(ms=ms))


class Run(OwnedHandle):
    """A started run. ``wait()`` for its ``Report``, ``cancel()`` it from any thread, or
    iterate ``events()``. Closing it (or the end of a ``with`` block) cancels a run still
    going and frees it."""

    _free = staticmethod(lib.netrig_run_free)

    @classmethod
    def _start(cls, job, runner: Runner, progress, events: bool) -> "Run":
        self = cls.__new__(cls)
        self._handle = None
        self._close_lock = threading.Lock()
        self._report: Optional[Report] = None
        # As the library names the hosts, known before the first event.
        self._names = [
            name.decode() if name is not None else f"{kw['host']}:{kw.get('port', 22)}" for name, _, kw in runner._named
        ]
        opts = ffi.netrig_run_options()
        check(lib.netrig_run_options_default(byref(opts), ctypes.sizeof(opts)))
        opts.max_workers = runner.max_workers
        opts.strategy = _STRATEGY[runner.strategy]
        opts.on_failure = _ON_FAILURE[runner.on_failure]
        opts.events = 1 if events else 0
        if progress is None:
            self._thunk = ffi.netrig_event_fn()
        else:
            def deliver(event_ptr, _user_data):
                # On a netrig worker thread; ctypes holds the GIL for us. Nothing may escape
                # into C.
                try:
                    progress(Event._from_c(event_ptr.contents, self._names))
                except BaseException as e:  # noqa: BLE001
                    self._callback_errors.append(e)

            # The thunk must live until the run has ended: the run object keeps it.
            self._thunk = ffi.netrig_event_fn(deliver)
        self._callback_errors: list = []
        pool = runner.pool.handle if runner.pool is not None else ffi.netrig_pool(0)
        handle = ffi.netrig_run()
        check(lib.netrig_run_start(job, pool, byref(opts), self._thunk, None, byref(handle)))
        self._handle = handle
        return self

    @property
    def handle(self) -> "ffi.netrig_run":
        handle = self._handle
        if handle is None:
            raise ClosedError("this netrig Run is closed")
        return handle

    def cancel(self) -> None:
        """Stops the run (from any thread); returns at once. ``wait()`` gives the report."""
        handle = self._handle
        if handle is not None:
            lib.netrig_run_cancel(handle)

    def done(self) -> bool:
        status = lib.netrig_run_wait(self.handle, 0)
        return status == ffi.NETRIG_OK

    def wait(self, timeout: Optional[float] = None) -> Report:
        """Waits for the run to end (up to `timeout` seconds; ``NetrigTimeoutError`` after
        that) and returns its report. Exceptions raised by the progress callback are re-raised
        here, the first one, after the run has ended."""
        if self._report is None:
            ms = ffi.NETRIG_WAIT_FOREVER if timeout is None else _op_ms(timeout)
            check(_sliced(lib.netrig_run_wait, self.handle, ms, timed_out="the run is still running after {ms} ms"))
            out = ffi.netrig_output()
            check(lib.netrig_run_json(self.handle, byref(out)))
            try:
                ptr, n = c_void_p(), c_size_t()
                check(lib.netrig_output_text(out, byref(ptr), byref(n)))
                text = ctypes.string_at(ptr.value, n.value).decode("utf-8", errors="replace")
            finally:
                lib.netrig_output_free(out)
            self._report = Report._from_json(text)
        if self._callback_errors:
            raise self._callback_errors[0]
        return self._report

    def events(self, timeout: Optional[float] = None) -> Iterator[Event]:
        """Yields the run's events in order until "run_finished" (start it with
        ``events=True``). `timeout` bounds the wait for each next event (None: no bound);
        ``NetrigTimeoutError`` when it passes."""
        ms = ffi.NETRIG_WAIT_FOREVER if timeout is None else _op_ms(timeout)
        e = ffi.netrig_event()
        while True:
            status = _sliced(lib.netrig_run_next_event, self.handle, ms, byref(e), timed_out="no event within {ms} ms")
            if status == ffi.NETRIG_E_CLOSED:
                return
            check(status)
            event = Event._from_c(e, self._names)
            yield event
            if event.kind == "run_finished":
                return

    def close(self) -> None:
        """Cancels the run if it is still going and frees it. With a `progress` callback it
        first waits for the workers to stop (promptly after the cancel; a connect in flight
        may take up to its connect timeout), because they may call it until then."""
        with self._close_lock:
            handle, self._handle = self._handle, None
        if handle is None:
            return
        lib.netrig_run_cancel(handle)
        if self._thunk:
            lib.netrig_run_wait(handle, ffi.NETRIG_WAIT_FOREVER)
        check(lib.netrig_run_free(handle))

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass

    def __repr__(self) -> str:
        return f"<netrig.Run {'closed' if self._handle is None else 'open'}>"
