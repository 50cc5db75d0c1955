"""A pool of device sessions: ``Pool``.

::

    pool = netrig.Pool(max_per_host=2, idle_timeout=120)
    with pool.checkout("10.0.0.5", username="admin", password="admin", platform="cisco_ios",
                       fingerprint="SHA256:...") as dev:     # a netrig.Device
        dev.send_command("show clock")
    # leaving the block returns the session to the pool; the next checkout reuses it

Sessions are keyed by (host, port, username, platform). ``checkout`` takes the same keyword
options as ``netrig.Device`` plus ``timeout`` (seconds to wait when the host or the pool is at
its limit). The ``Device`` it returns is an exclusive lease: ``close()`` (or the end of the
``with`` block, or garbage collection) gives it back. A session whose last operation timed
out, was cancelled, lost its connection or failed a transfer is closed instead of being handed
on, and one idle longer than ``health_check_after`` is checked with a real round trip first.

Concurrent checkouts of one host never open more than ``max_per_host`` sessions: the others
wait for a check-in (up to their ``timeout``, then ``NetrigTimeoutError``), and when the
connect they waited on fails, they raise its error too. A ``Pool`` is safe to share between
threads; every blocking call releases the GIL. Ctrl-C during a checkout on the main thread
raises ``KeyboardInterrupt`` at once; a session that checkout was opening joins the pool idle
when its open ends.
"""

from __future__ import annotations

import threading
from ctypes import byref, c_int, c_size_t, sizeof
from dataclasses import dataclass, fields
from typing import Any, Dict, Iterable, Mapping, Optional, Tuple, Union

from . import _interrupt, ffi
from ._owned import OwnedHandle
from .device import Device, DeviceOptions, HostKeyPolicy, PathLike, _ms, _op_ms, _text, device_options
from .errors import ClosedError, check, error_for, NetrigError
from .ffi import lib

__all__ = ["Pool", "PoolStats"]


@dataclass(frozen=True)
class PoolStats:
    """Counters since the pool was made; ``in_use``, ``idle`` and ``connecting`` are gauges,
    ``peak_in_use`` the most sessions lent at once. Times are seconds."""

    hits: int
    misses: int
    created: int
    reused: int
    connect_failures: int
    waits: int
    wait_time: float
    timed_out_waits: int
    evicted_lru: int
    evicted_idle: int
    evicted_lifetime: int
    closed_by_close_all: int
    health_checks: int
    discarded_broken: int
    in_use: int
    idle: int
    connecting: int
    peak_in_use: int


def _target_kwargs(target: Any) -> Dict[str, Any]:
    """A target given as a dict of ``Device`` options (with "host"), or as a ``(host, port)``
    pair, as keyword arguments for ``device_options``."""
    if isinstance(target, Mapping):
        kw = dict(target)
        if "host" not in kw:
            raise ValueError(f"target {target!r} has no 'host'")
        return kw
    raise TypeError(f"a target is a dict of Device options, not {type(target).__name__}")


class Pool(OwnedHandle):
    """A pool of SSH sessions (see the module docs).

    ``Pool(*, max_per_host=4, max_total=512, idle_timeout=300.0, max_lifetime=3600.0,
    checkout_timeout=30.0, health_check_after=10.0, health_check_timeout=5.0)``; times are
    seconds. At ``max_total`` the least recently used idle session of any host is closed to
    make room. ``close()`` closes the idle sessions; sessions still lent out close when they
    are returned.
    """

    _free = staticmethod(lib.netrig_pool_free)

    def __init__(
        self,
        *,
        max_per_host: int = 4,
        max_total: int = 512,
        idle_timeout: float = 300.0,
        max_lifetime: float = 3600.0,
        checkout_timeout: float = 30.0,
        health_check_after: float = 10.0,
        health_check_timeout: float = 5.0,
    ):
        self._handle: Optional[ffi.netrig_pool] = None
        self._close_lock = threading.Lock()
        o = ffi.netrig_pool_options()
        check(lib.netrig_pool_options_default(byref(o), sizeof(o)))
        for name, value in (("max_per_host", max_per_host), ("max_total", max_total)):
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"{name} is an int, not {type(value).__name__}")
            if not 1 <= value <= 0xFFFFFFFF:
                raise ValueError(f"{name} must be at least 1, got {value}")
            setattr(o, name, value)
        o.idle_timeout_ms = _ms(idle_timeout, "idle_timeout")
        o.max_lifetime_ms = _ms(max_lifetime, "max_lifetime")
        o.checkout_timeout_ms = _ms(checkout_timeout, "checkout_timeout")
        o.health_check_after_ms = _ms(health_check_after, "health_check_after", allow_zero=True)
        o.health_check_timeout_ms = _ms(health_check_timeout, "health_check_timeout")
        handle = ffi.netrig_pool()
        check(lib.netrig_pool_new(byref(o), byref(handle)))
        self._handle = handle

    @property
    def handle(self) -> ffi.netrig_pool:
        """The raw ``netrig_pool`` handle, for ``netrig.ffi.lib`` calls and ``Runner``."""
        handle = self._handle
        if handle is None:
            raise ClosedError("this netrig Pool is closed")
        return handle

    def checkout(
        self,
        host: str,
        port: int = 22,
        *,
        timeout: Optional[float] = None,
        username: str,
        password: Optional[str] = None,
        private_key_file: Optional[PathLike] = None,
        private_key: Optional[Union[str, bytes]] = None,
        passphrase: Optional[str] = None,
        use_agent: bool = False,
        secret: Optional[str] = None,
        platform: Optional[str] = None,
        host_key: Optional[HostKeyPolicy] = None,
        known_hosts: Optional[PathLike] = None,
        fingerprint: Optional[str] = None,
        connect_timeout: float = 10.0,
        auth_timeout: float = 10.0,
        keepalive: Optional[float] = 30.0,
        prompt_pattern: Optional[str] = None,
        paging_off_command: Optional[str] = None,
        enable_command: Optional[str] = None,
        config_command: Optional[str] = None,
        config_exit_command: Optional[str] = None,
        config_prompt_pattern: Optional[str] = None,
        terminal: Tuple[int, int] = (511, 24),
        session_log: Optional[PathLike] = None,
        session_log_timestamps: bool = False,
        platform_file: Optional[PathLike] = None,
        platform_text: Optional[str] = None,
        error_pattern: Optional[str] = None,
        check_errors: bool = True,
        templates: Optional[PathLike] = None,
    ) -> Device:
        """Lends a session to `host` (the keyword options of ``netrig.Device``, except that
        `timeout` here is the wait for the session, so a new one gets the default operation
        timeout): an idle one, a new one while the host is below ``max_per_host``, or the next
        one returned, waiting up to `timeout` seconds (default: the pool's
        ``checkout_timeout``). ``close()`` on the returned ``Device`` gives it back."""
        o, keep = device_options(
            host,
            port,
            username=username,
            password=password,
            private_key_file=private_key_file,
            private_key=private_key,
            passphrase=passphrase,
            use_agent=use_agent,
            secret=secret,
            platform=platform,
            host_key=host_key,
            known_hosts=known_hosts,
            fingerprint=fingerprint,
            connect_timeout=connect_timeout,
            auth_timeout=auth_timeout,
            keepalive=keepalive,
            prompt_pattern=prompt_pattern,
            paging_off_command=paging_off_command,
            enable_command=enable_command,
            config_command=config_command,
            config_exit_command=config_exit_command,
            config_prompt_pattern=config_prompt_pattern,
            terminal=terminal,
            session_log=session_log,
            session_log_timestamps=session_log_timestamps,
            platform_file=platform_file,
            platform_text=platform_text,
            error_pattern=error_pattern,
            check_errors=check_errors,
            templates=templates,
        )
        pool, ms, handle = self.handle, _op_ms(timeout), ffi.netrig_device()

        def checkout(keep: list = keep) -> Tuple[int, str]:
            # `keep` (the strings `o` points to) lives as long as this function: on Ctrl-C the
            # checkout goes on in a helper thread (see _interrupt.call) and still reads them.
            status = lib.netrig_pool_checkout(pool, byref(o), ms, byref(handle))
            return status, ffi.last_error() if status else ""

        _lent(_interrupt.call(checkout, lambda r: r[0] or lib.netrig_device_free(handle)))
        dev = Device._adopt(handle, host, port)
        dev._templates = templates
        return dev

    def checkout_key(
        self, host: str, port: int = 22, *, username: str, platform: str, timeout: Optional[float] = None
    ) -> Device:
        """Like ``checkout`` for a host this pool has connected to before (by ``checkout`` or
        ``prewarm``), reusing those options: ``NotFoundError`` otherwise. ``platform`` is the
        one those options named ("autodetect" for sessions opened with it)."""
        handle = ffi.netrig_device()
        args = (self.handle, _text(host, "host"), port, _text(username, "username"), _text(platform, "platform"))
        ms = _op_ms(timeout)

        def checkout() -> Tuple[int, str]:
            status = lib.netrig_pool_checkout_key(*args, ms, byref(handle))
            return status, ffi.last_error() if status else ""

        _lent(_interrupt.call(checkout, lambda r: r[0] or lib.netrig_device_free(handle)))
        return Device._adopt(handle, host, port)

    @staticmethod
    def discard(device: Device) -> None:
        """Closes a lent session instead of returning it (e.g. after leaving it in an unknown
        mode). The ``Device`` is closed afterwards."""
        with device._close_lock:
            handle, device._handle = device._handle, None
        if handle is None:
            raise ClosedError(f"{device._name()}: this netrig Device is closed")
        check(lib.netrig_pool_discard(handle))

    def prewarm(self, targets: Iterable[Any], parallel: int = 16) -> Dict[str, NetrigError]:
        """Opens a session to each target (a dict of ``Device`` options with "host", as a
        runner takes them: a "name" and "data" are allowed; or an ``Inventory`` or its hosts),
        at most `parallel` at a time, and leaves them idle in the pool. Returns the hosts that
        failed, ``{name: error}`` (the target's "name", else "host:port"; empty when all
        opened)."""
        targets = [_target_kwargs(t.target() if hasattr(t, "target") else t) for t in targets]
        if not targets:
            return {}
        names = []
        for t in targets:
            t.pop("data", None)
            names.append(t.pop("name", None))
        built = [device_options(**t) for t in targets]
        array = (ffi.netrig_device_options * len(built))(*(o for o, _ in built))
        statuses = (c_int * len(built))()
        failed = c_size_t()
        check_parallel = max(1, min(int(parallel), 0xFFFFFFFF))
        handle = self.handle

        def prewarm() -> Tuple[int, str]:
            # On a helper thread after Ctrl-C (see _interrupt.call): the sessions it opens stay
            # idle in the pool; `built` and `array` live until it returns.
            st = lib.netrig_pool_prewarm(handle, array, len(built), check_parallel, statuses, byref(failed))
            return st, ffi.last_error()

        status, text = _interrupt.call(prewarm, lambda _: None)
        del built
        if status not in (ffi.NETRIG_OK,) and failed.value == 0:
            check(status)  # the call itself was refused
        out = {}
        for t, st, given in zip(targets, statuses, names):
            if st != ffi.NETRIG_OK:
                name = f"{t['host']}:{t.get('port', 22)}"
                out[given or name] = error_for(st, _line_for(text, name))
        return out

    def stats(self) -> PoolStats:
        s = ffi.netrig_pool_stats()
        check(lib.netrig_pool_get_stats(self.handle, byref(s)))
        values = {f.name: getattr(s, f.name, None) for f in fields(PoolStats)}
        values["wait_time"] = s.wait_time_us / 1e6
        return PoolStats(**values)

    def close_all(self) -> None:
        """Closes every idle session now; lent ones close when returned. The pool stays usable."""
        check(lib.netrig_pool_close_all(self.handle))

    def __repr__(self) -> str:
        return f"<netrig.Pool {'closed' if self._handle is None else 'open'}>"


def _lent(result: Tuple[int, str]) -> None:
    """Raises for a checkout's (status, last error text)."""
    status, text = result
    if status:
        raise error_for(status, text)


def _line_for(text: str, name: str) -> str:
    """The line of a prewarm error text that names `name` (the whole text if none does)."""
    for line in text.splitlines():
        if name in line:
            return line.strip()
    return text
