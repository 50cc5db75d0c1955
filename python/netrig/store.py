"""The status store: a thread-safe, typed key-value store with TTLs, versions and atomic batches.

Values are ``bool``, ``int`` (int64), ``float``, ``str`` or ``bytes``; a key keeps the type it
was last written with. Keys are ``str`` (UTF-8, non-empty, no NUL, at most ``max_key_len``
bytes).

TTLs, everywhere (``Store.set``, ``cas``, ``Batch.set``, and ``Store(default_ttl=...)``):

* ``ttl=None``         - the store's default TTL (``default_ttl``, which itself defaults to never);
* ``ttl=NEVER``        - never expires, whatever the store's default (``NEVER`` is ``math.inf``);
* ``ttl=<seconds>``    - a number > 0, expires that long after the write (monotonic clock,
  millisecond resolution, at least 1 ms).

Zero and negative TTLs raise ``ValueError``: "0 means never" is the C convention, but in Python
``ttl=0`` reads as "expire now", so neither meaning is guessed.

A ``Store`` may be shared by any number of Python threads; every call releases the GIL while
it runs in the library.

``Store.open(path)`` keeps the store in a SQLite file (every write is in the file when the call
returns); ``Store.subscribe`` watches changes (``netrig.events``); ``test_*`` and ``service*``
keep test-execution and service state (``netrig.state``).
"""

from __future__ import annotations

import ctypes
import math
import os
import threading
from collections import namedtuple
from ctypes import POINTER, byref, c_bool, c_char_p, c_double, c_int64, c_size_t, c_uint8, c_uint32, c_uint64
from types import TracebackType
from typing import TYPE_CHECKING, Any, Callable, Iterator, Mapping, Optional, Type, Union

from . import ffi
from ._owned import OwnedHandle
from .errors import ClosedError, NotFoundError, check
from .ffi import lib

if TYPE_CHECKING:
    from .events import Change, Subscription
    from .state import ServiceState, TestState

__all__ = ["Store", "Batch", "Snapshot", "SnapshotEntry", "NEVER", "Value"]

NEVER = math.inf
"""TTL meaning "never expires", whatever the store's default."""

Value = Union[bool, int, float, str, bytes]

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_UINT64_MAX = 2**64 - 1

_FIRST_BUF = 256

_BUFFER_TOO_SMALL = ffi.NETRIG_E_BUFFER_TOO_SMALL


def _key(key: object, what: str = "key") -> bytes:
    if not isinstance(key, str):
        raise TypeError(f"netrig {what}s are str, not {type(key).__name__}")
    if "\0" in key:
        raise ValueError(f"netrig {what} {key!r} contains a NUL character")
    return key.encode("utf-8")


def _ttl_ms(ttl: float | None) -> int:
    if ttl is None:
        return ffi.NETRIG_TTL_DEFAULT
    if isinstance(ttl, bool) or not isinstance(ttl, (int, float)):
        raise TypeError(f"ttl is seconds (a number), None or netrig.NEVER, not {type(ttl).__name__}")
    if ttl == NEVER:
        return ffi.NETRIG_TTL_NEVER
    if not ttl > 0:  # also rejects NaN
        raise ValueError(
            f"ttl must be > 0 seconds, None (the store's default) or netrig.NEVER; got {ttl!r}"
        )
    ms = math.ceil(ttl * 1000)
    if ms > _INT64_MAX:
        raise OverflowError(f"ttl {ttl!r} s does not fit in int64 milliseconds; use netrig.NEVER")
    return max(1, ms)


def _int64(value: int, what: str) -> int:
    if not _INT64_MIN <= value <= _INT64_MAX:
        raise OverflowError(f"{what} {value} does not fit in int64")
    return value


def _uint64(value: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} is an int, not {type(value).__name__}")
    if not 0 <= value <= _UINT64_MAX:
        raise OverflowError(f"{what} {value} does not fit in uint64")
    return value


def _type_error(value: object) -> TypeError:
    return TypeError(
        f"netrig stores bool, int, float, str and bytes values, not {type(value).__name__}"
    )


def _to_value(value: Value) -> tuple[ffi.netrig_value, object]:
    """A netrig_value for `value`, and the Python object its pointers borrow (keep it alive)."""
    v = ffi.netrig_value()
    keep: object = None
    if isinstance(value, bool):
        v.kind, v.b = ffi.NETRIG_TYPE_BOOL, value
    elif isinstance(value, int):
        v.kind, v.i = ffi.NETRIG_TYPE_INT, _int64(value, "int value")
    elif isinstance(value, float):
        v.kind, v.d = ffi.NETRIG_TYPE_DOUBLE, value
    elif isinstance(value, str):
        if "\0" in value:
            raise ValueError("netrig str values cannot contain NUL characters; store bytes instead")
        keep = value.encode("utf-8")
        v.kind, v.str = ffi.NETRIG_TYPE_STR, keep
    elif isinstance(value, (bytes, bytearray, memoryview)):
        keep = bytes(value)
        v.kind = ffi.NETRIG_TYPE_BYTES
        v.bytes = ctypes.cast(c_char_p(keep), POINTER(c_uint8))
        v.bytes_len = len(keep)
    else:
        raise _type_error(value)
    return v, keep


def _from_value(v: ffi.netrig_value) -> Value:
    kind = v.kind
    if kind == ffi.NETRIG_TYPE_BOOL:
        return bool(v.b)
    if kind == ffi.NETRIG_TYPE_INT:
        return v.i
    if kind == ffi.NETRIG_TYPE_DOUBLE:
        return v.d
    if kind == ffi.NETRIG_TYPE_STR:
        return (v.str or b"").decode("utf-8")
    if kind == ffi.NETRIG_TYPE_BYTES:
        return ctypes.string_at(v.bytes, v.bytes_len) if v.bytes_len else b""
    raise ValueError(f"netrig returned a value of unknown type {kind}")


class _ReadScratch:
    """Per-thread out-parameters for reads, made once: allocating them per call cost about a
    fifth of a read. A read takes its thread's scratch out while it uses it, so a read nested
    on the same thread (a signal handler, a __del__) makes its own instead of overwriting it.
    A buffer grown for a large value is kept up to _KEEP_BUF bytes."""

    def __init__(self) -> None:
        self.value = ffi.netrig_value()
        self.len, self.version = c_size_t(), c_uint64()
        self.value_ref, self.len_ref, self.version_ref = byref(self.value), byref(self.len), byref(self.version)
        self.grow(_FIRST_BUF)

    def grow(self, size: int) -> None:
        self.size = size
        self.buf = ctypes.create_string_buffer(size)


_KEEP_BUF = 1 << 16
_scratch = threading.local()


def _take_scratch() -> _ReadScratch:
    scratch = getattr(_scratch, "read", None)
    _scratch.read = None
    return scratch if scratch is not None else _ReadScratch()


def _give_back_scratch(scratch: _ReadScratch) -> None:
    if scratch.size <= _KEEP_BUF:
        _scratch.read = scratch


SnapshotEntry = namedtuple("SnapshotEntry", "key value version ttl_remaining")
SnapshotEntry.__doc__ = """One key of a snapshot.

``ttl_remaining`` is the seconds (float) left before the key expires as of the snapshot, or
None if it never expires."""


class Snapshot(dict):
    """A consistent copy of a store's keys, sorted: a ``dict`` of key -> value.

    ``entries`` maps each key to its ``SnapshotEntry`` (value, version, ttl_remaining);
    ``to_json()`` returns the library's own JSON rendering of the same snapshot. It is a
    plain Python object: the C snapshot is freed as soon as it has been copied.
    """

    def __init__(self, entries: list[SnapshotEntry], json_text: str):
        super().__init__((e.key, e.value) for e in entries)
        self.entries: dict[str, SnapshotEntry] = {e.key: e for e in entries}
        self._json = json_text

    def version(self, key: str) -> int:
        return self.entries[key].version

    def ttl_remaining(self, key: str) -> float | None:
        return self.entries[key].ttl_remaining

    def to_json(self) -> str:
        """``{"key": {"type": "int", "value": 3, "version": 7, "ttl_ms": null}, ...}``.

        Bytes values are lowercase hex; non-finite doubles are the strings "NaN", "inf", "-inf".
        """
        return self._json

    def __repr__(self) -> str:
        return f"Snapshot({dict.__repr__(self)})"


def _take_snapshot(snap: ffi.netrig_snapshot) -> Snapshot:
    """Copies a C snapshot into a ``Snapshot`` and frees it (also when the copy fails)."""
    try:
        n = c_size_t()
        check(lib.netrig_snapshot_len(snap, byref(n)))
        entries = []
        e = ffi.netrig_entry()
        for i in range(n.value):
            check(lib.netrig_snapshot_get(snap, i, byref(e)))
            ttl = None if e.ttl_remaining_ms < 0 else e.ttl_remaining_ms / 1000.0
            entries.append(SnapshotEntry(e.key.decode("utf-8"), _from_value(e.value), e.version, ttl))
        js, jlen = c_char_p(), c_size_t()
        check(lib.netrig_snapshot_json(snap, byref(js), byref(jlen)))
        text = ctypes.string_at(js, jlen.value).decode("utf-8")
        return Snapshot(entries, text)
    finally:
        lib.netrig_snapshot_free(snap)


def _read_text(call: Callable[[Any, int, Any], int]) -> str:
    """A string from a netrig function with the caller-buffer convention: `call(buf, cap,
    byref(len))` is called again with a larger buffer while it answers BUFFER_TOO_SMALL."""
    n = c_size_t()
    buf = ctypes.create_string_buffer(_FIRST_BUF)
    status = call(buf, len(buf), byref(n))
    while status == _BUFFER_TOO_SMALL:
        buf = ctypes.create_string_buffer(n.value + 1)  # it may have grown again meanwhile
        status = call(buf, len(buf), byref(n))
    check(status)
    return buf.raw[: n.value].decode("utf-8")


_DURABILITY = {
    "process_crash": ffi.NETRIG_DURABLE_PROCESS_CRASH,
    "power_loss": ffi.NETRIG_DURABLE_POWER_LOSS,
}


def _durable_args(path: object, durability: object) -> "tuple[bytes, int]":
    """The checked arguments of a durable open (``Store.open``, ``Queue.open``): the path as
    UTF-8 bytes and the C durability constant."""
    if not isinstance(durability, str) or durability not in _DURABILITY:
        raise ValueError(
            f"durability {durability!r} is not one of {', '.join(map(repr, _DURABILITY))}"
        )
    if isinstance(path, os.PathLike):
        path = os.fspath(path)
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    if not isinstance(path, str):
        raise TypeError(f"path is a str or os.PathLike, not {type(path).__name__}")
    if "\0" in path:
        raise ValueError(f"path {path!r} contains a NUL character")
    try:
        return path.encode("utf-8"), _DURABILITY[durability]
    except UnicodeEncodeError as e:
        raise ValueError(f"path {path!r} is not valid UTF-8 (netrig takes UTF-8 paths)") from e


def _store_options(max_entries, max_bytes, default_ttl, max_key_len) -> ffi.netrig_store_options:
    opts = ffi.netrig_store_options()
    check(lib.netrig_store_options_default(byref(opts), ctypes.sizeof(opts)))
    if max_entries is not None:
        opts.max_entries = _uint64(max_entries, "max_entries")
    if max_bytes is not None:
        opts.max_bytes = _uint64(max_bytes, "max_bytes")
    if default_ttl is not None:
        opts.default_ttl_ms = _ttl_ms(default_ttl)
    if max_key_len is not None:
        if _uint64(max_key_len, "max_key_len") > 0xFFFFFFFF:
            raise OverflowError(f"max_key_len {max_key_len} does not fit in uint32")
        opts.max_key_len = max_key_len
    return opts


class Batch:
    """Sets, deletes and version preconditions applied to a store all at once.

    Use it as a context manager (``with store.batch() as b:``). Leaving the block normally
    applies the batch atomically: every reader sees all of it or none of it, and on any error
    (``ConflictError`` from ``expect_version``, ``FullError``, ...) nothing changes and the
    error is raised from the ``with`` statement. Leaving it with an exception discards the batch.
    """

    _free = staticmethod(lib.netrig_batch_free)

    def __init__(self, store: "Store"):
        self._store = store
        handle = ffi.netrig_batch()
        check(lib.netrig_batch_new(byref(handle)))
        self._handle: ffi.netrig_batch | None = handle

    @property
    def handle(self) -> ffi.netrig_batch:
        if self._handle is None:
            raise ClosedError("this batch was already applied or discarded")
        return self._handle

    def set(self, key: str, value: Value, ttl: float | None = None) -> None:
        """Adds "set `key` to `value`" (TTL as in the module docs)."""
        v, keep = _to_value(value)  # `keep` owns the bytes `v` points to until the call returns
        check(lib.netrig_batch_set(self.handle, _key(key), byref(v), _ttl_ms(ttl)))
        del keep  # netrig_batch_set copied the value

    def delete(self, key: str) -> None:
        """Adds "delete `key`"; a missing key is not an error in a batch."""
        check(lib.netrig_batch_delete(self.handle, _key(key)))

    def expect_version(self, key: str, version: int) -> None:
        """Adds a precondition: `key` must be at `version` (0 = must not exist) when applied."""
        check(lib.netrig_batch_expect_version(self.handle, _key(key), _uint64(version, "version")))

    def __len__(self) -> int:
        n = c_size_t()
        check(lib.netrig_batch_len(self.handle, byref(n)))
        return n.value

    def __enter__(self) -> "Batch":
        self.handle
        return self

    def __exit__(
        self, exc_type: Optional[Type[BaseException]], exc: Optional[BaseException], tb: Optional[TracebackType]
    ) -> bool:
        try:
            if exc_type is None:
                check(lib.netrig_store_apply(self._store.handle, self.handle))
        finally:
            self.discard()
        return False

    def discard(self) -> None:
        """Frees the batch without applying it. Idempotent."""
        handle, self._handle = self._handle, None
        if handle is not None:
            self._free(handle)

    def __del__(self) -> None:
        try:
            self.discard()
        except Exception:
            pass


class Store(OwnedHandle):
    """A thread-safe status store (see the module docs for types and TTLs).

    ``Store(max_entries=None, max_bytes=None, default_ttl=None, max_key_len=None)``: each
    ``None`` keeps the library default (1,000,000 entries, 256 MiB of keys plus values with
    scalars weighing 8, never expire, 1024-byte keys). ``default_ttl`` is in seconds or
    ``NEVER``; it applies to writes made with ``ttl=None``.

    Dict-like: ``store[k]``, ``store[k] = v``, ``del store[k]``, ``k in store``, ``len(store)``,
    ``iter(store)``, ``get``, ``keys``, ``values``, ``items``. Writes past a bound raise
    ``FullError`` and change nothing.

    ``close()`` frees the store (idempotent); it is also a context manager. Calls made after
    ``close()`` raise ``ClosedError``.
    """

    _free = staticmethod(lib.netrig_store_free)

    def __init__(
        self,
        max_entries: int | None = None,
        max_bytes: int | None = None,
        default_ttl: float | None = None,
        max_key_len: int | None = None,
    ):
        self._handle: ffi.netrig_store | None = None
        self._close_lock = threading.Lock()
        self.path: str | None = None
        opts = _store_options(max_entries, max_bytes, default_ttl, max_key_len)
        handle = ffi.netrig_store()
        check(lib.netrig_store_new(byref(opts), byref(handle)))
        self._handle = handle

    @classmethod
    def open(
        cls,
        path: Union[str, os.PathLike],
        durability: str = "process_crash",
        *,
        max_entries: int | None = None,
        max_bytes: int | None = None,
        default_ttl: float | None = None,
        max_key_len: int | None = None,
    ) -> "Store":
        """Opens (or creates) a durable store kept in the SQLite file at `path`.

        Every write is in the file when its call returns and survives a crash or ``kill -9``
        of the process (``durability="process_crash"``, the default) or also an OS crash or
        power loss (``"power_loss"``: one fsync per commit, so much slower writes). Reads are
        served from memory. Keys whose TTL ran out while the file was closed are not loaded;
        TTLs keep running on the wall clock while closed. The other options are ``Store()``'s.
        A file is open as one store at a time: a second open, in this or another process,
        raises ``BusyError``; share the store instead. ``close()`` commits and closes the file.
        Raises ``NetrigIOError`` (an ``OSError``, naming the file) when it cannot be opened.
        """
        encoded, code = _durable_args(path, durability)
        opts = _store_options(max_entries, max_bytes, default_ttl, max_key_len)
        self = cls.__new__(cls)
        self._handle = None
        self._close_lock = threading.Lock()
        self.path = encoded.decode("utf-8")
        handle = ffi.netrig_store()
        check(lib.netrig_store_open(encoded, byref(opts), code, byref(handle)))
        self._handle = handle
        return self

    # -- lifetime -------------------------------------------------------------------------

    @property
    def handle(self) -> ffi.netrig_store:
        """The raw ``netrig_store`` handle, for calling ``netrig.ffi.lib`` directly."""
        handle = self._handle
        if handle is None:
            raise ClosedError("this netrig Store is closed")
        return handle

    def close(self) -> None:
        """Frees the store. Waits for calls running in other threads; idempotent. A durable
        store commits and closes its file. Subscriptions get their queued changes, then end."""
        super().close()

    def __repr__(self) -> str:
        where = f" path={self.path!r}" if self.path is not None else ""
        if self._handle is None:
            return f"<netrig.Store closed{where}>"
        return f"<netrig.Store id={self._handle.id:#018x}{where}>"

    # -- reads ----------------------------------------------------------------------------

    def _read(self, key: str) -> tuple[Value, int]:
        """One netrig_store_get_value call: type and value are read together."""
        h, k = self.handle, _key(key)
        scratch = _take_scratch()
        try:
            get = lib.netrig_store_get_value
            status = get(h, k, scratch.value_ref, scratch.buf, scratch.size, scratch.len_ref, scratch.version_ref)
            while status == _BUFFER_TOO_SMALL:
                scratch.grow(scratch.len.value + 1)  # the value grew past the buffer (maybe again)
                status = get(h, k, scratch.value_ref, scratch.buf, scratch.size, scratch.len_ref, scratch.version_ref)
            check(status)
            v, n = scratch.value, scratch.len.value
            if v.kind == ffi.NETRIG_TYPE_STR:
                return scratch.buf.raw[:n].decode("utf-8"), scratch.version.value
            if v.kind == ffi.NETRIG_TYPE_BYTES:
                return scratch.buf.raw[:n], scratch.version.value
            return _from_value(v), scratch.version.value
        finally:
            _give_back_scratch(scratch)

    def __getitem__(self, key: str) -> Value:
        return self._read(key)[0]

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return self._read(key)[0]
        except NotFoundError:
            return default

    def get_with_version(self, key: str) -> tuple[Value, int]:
        """``(value, version)``; the version is what ``cas`` and ``expect_version`` compare."""
        return self._read(key)

    def __contains__(self, key: str) -> bool:
        out = c_bool()
        check(lib.netrig_store_contains(self.handle, _key(key), byref(out)))
        return out.value

    def __len__(self) -> int:
        n = c_size_t()
        check(lib.netrig_store_len(self.handle, byref(n)))
        return n.value

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def keys(self, prefix: str = "") -> list[str]:
        """The live keys starting with `prefix`, sorted, taken at one instant."""
        lst = ffi.netrig_strlist()
        check(lib.netrig_store_keys(self.handle, _key(prefix, "prefix"), byref(lst)))
        try:
            n, s = c_size_t(), c_char_p()
            check(lib.netrig_strlist_len(lst, byref(n)))
            out = []
            for i in range(n.value):
                check(lib.netrig_strlist_get(lst, i, byref(s)))
                out.append(s.value.decode("utf-8"))
            return out
        finally:
            lib.netrig_strlist_free(lst)

    def snapshot(self, prefix: str = "") -> Snapshot:
        """A consistent copy of the live keys starting with `prefix` (see ``Snapshot``)."""
        snap = ffi.netrig_snapshot()
        check(lib.netrig_store_snapshot(self.handle, _key(prefix, "prefix"), byref(snap)))
        return _take_snapshot(snap)

    def items(self, prefix: str = "") -> list[tuple[str, Value]]:
        """``(key, value)`` pairs of one consistent snapshot, sorted by key."""
        return list(self.snapshot(prefix).items())

    def values(self, prefix: str = "") -> list[Value]:
        return list(self.snapshot(prefix).values())

    # -- writes ---------------------------------------------------------------------------

    def set(self, key: str, value: Value, ttl: float | None = None) -> None:
        """Sets `key`; the type follows the Python type (bool is checked before int)."""
        h, k, ms = self.handle, _key(key), _ttl_ms(ttl)
        if isinstance(value, bool):
            status = lib.netrig_store_set_bool(h, k, value, ms)
        elif isinstance(value, int):
            status = lib.netrig_store_set_int(h, k, _int64(value, "int value"), ms)
        elif isinstance(value, float):
            status = lib.netrig_store_set_double(h, k, value, ms)
        elif isinstance(value, str):
            if "\0" in value:
                raise ValueError("netrig str values cannot contain NUL characters; store bytes instead")
            status = lib.netrig_store_set_str(h, k, value.encode("utf-8"), ms)
        elif isinstance(value, (bytes, bytearray, memoryview)):
            data = bytes(value)
            status = lib.netrig_store_set_bytes(h, k, data, len(data), ms)
        else:
            raise _type_error(value)
        check(status)

    def __setitem__(self, key: str, value: Value) -> None:
        self.set(key, value)

    def __delitem__(self, key: str) -> None:
        check(lib.netrig_store_delete(self.handle, _key(key)))

    def cas(self, key: str, expected_version: int, value: Value, ttl: float | None = None) -> int:
        """Writes `value` only if `key` is at `expected_version` (0 = must not exist).

        Returns the new version; raises ``ConflictError`` (nothing changed) on a mismatch.
        """
        v, _keep = _to_value(value)  # _keep owns the bytes v points to, until we return
        out = c_uint64()
        check(
            lib.netrig_store_cas(
                self.handle,
                _key(key),
                _uint64(expected_version, "expected_version"),
                byref(v),
                _ttl_ms(ttl),
                byref(out),
            )
        )
        return out.value

    def add(self, key: str, delta: int = 1) -> int:
        """Atomically adds `delta` to the int at `key` (missing = 0) and returns the new value.

        Raises ``TypeMismatchError`` for a non-int key and ``NetrigOverflowError`` (nothing
        changed) when the result would not fit in int64.
        """
        if isinstance(delta, bool) or not isinstance(delta, int):
            raise TypeError(f"delta is an int, not {type(delta).__name__}")
        out = c_int64()
        check(lib.netrig_store_add_int(self.handle, _key(key), _int64(delta, "delta"), byref(out)))
        return out.value

    def batch(self) -> Batch:
        """A new ``Batch`` for this store; use it as ``with store.batch() as b: ...``."""
        self.handle
        return Batch(self)

    def clear(self) -> int:
        """Removes every key at one instant; returns how many."""
        n = c_size_t()
        check(lib.netrig_store_clear(self.handle, byref(n)))
        return n.value

    def purge_expired(self) -> int:
        """Frees expired keys now (they are already invisible); returns how many."""
        n = c_size_t()
        check(lib.netrig_store_purge_expired(self.handle, byref(n)))
        return n.value

    # -- change events (netrig.events) ----------------------------------------------------

    def subscribe(
        self,
        prefix: str = "",
        capacity: int = 0,
        callback: Optional[Callable[["Change"], None]] = None,
    ) -> "Subscription":
        """Watches the changes (set, delete, expire) of keys starting with `prefix`.

        Without `callback`: poll the returned ``Subscription`` (``poll()`` or ``for change in
        sub``) from any thread. With `callback`: netrig calls ``callback(change)`` for each
        change on a "netrig-events" thread of its own. `capacity` bounds the queue (0: 1024);
        a full queue drops changes instead of slowing writers (``LaggedError`` or a "lagged"
        change). ``sub.snapshot`` is the prefix's content at the instant the subscription
        started: every later change is delivered, none before it. See ``netrig.events``.
        """
        from .events import Subscription

        return Subscription._open(self, prefix, capacity, callback)

    # -- test-execution and service state (netrig.state) ----------------------------------

    def test_start(self, script: str, pid: int, bin: str = "", topology: str = "", **fields: str) -> "TestState":
        """Records that a test started (extra `fields` are str values). Atomic: when a test is
        already running, nothing changes and ``BusyError`` names its script and pid."""
        from .state import test_start

        return test_start(self, script, pid, bin, topology, fields)

    def test_stop(self) -> "TestState":
        """Records that the running test stopped; ``NotFoundError`` when none is running."""
        from .state import test_stop

        return test_stop(self)

    def test_update(
        self,
        script: Optional[str] = None,
        pid: Optional[int] = None,
        bin: Optional[str] = None,
        topology: Optional[str] = None,
        fields: Optional[Mapping[str, Optional[str]]] = None,
    ) -> "TestState":
        """Changes several fields of the test state at once, running or not. None leaves a
        field as it is; in `fields`, a None value removes that extra field."""
        from .state import test_update

        return test_update(self, script, pid, bin, topology, fields)

    def test_state(self) -> "TestState":
        """The test-execution state, read at one instant."""
        from .state import test_state

        return test_state(self)

    def service_set(self, name: str, running: bool, detail: str = "") -> None:
        """Sets a service's running flag and detail text together. ``since_ms`` moves only
        when `running` changes. Names are non-empty and hold no '/'."""
        from .state import service_set

        service_set(self, name, running, detail)

    def service(self, name: str) -> "ServiceState":
        """One service's state; ``NotFoundError`` for a service never set."""
        from .state import service_get

        return service_get(self, name)

    def services(self) -> "dict[str, ServiceState]":
        """Every service by name, read at one instant."""
        from .state import ServiceState

        text = _read_text(lambda buf, cap, n: lib.netrig_services_json(self.handle, buf, cap, n))
        return ServiceState._all_from_json(text)

    def service_remove(self, name: str) -> None:
        """Forgets a service; ``NotFoundError`` for a service never set."""
        check(lib.netrig_service_remove(self.handle, _key(name, "service name")))
