"""Tests of the netrig Python package against the real libnetrig (no mocks)."""

import ctypes
import gc
import json
import math
import re
import sys
import threading
import time
import types
from ctypes import byref, c_int64, c_size_t, c_uint32, c_uint64
from pathlib import Path

import pytest
from conftest import run_child, run_child_ok

import netrig
from netrig import ffi
from netrig.ffi import lib

REPO = Path(__file__).resolve().parents[2]


def raw_check(status):
    """netrig.check, for raw calls: raises the mapped exception."""
    netrig.check(status)


# -- library, version, errors ------------------------------------------------------------------


def test_version_matches_header():
    header = (REPO / "include" / "netrig.h").read_text()
    parts = [re.search(rf"#define NETRIG_VERSION_{p} (\d+)", header).group(1) for p in ("MAJOR", "MINOR", "PATCH")]
    assert netrig.version() == ".".join(parts)
    assert netrig.__version__ == netrig.version()


def test_every_status_has_its_class():
    header = (REPO / "include" / "netrig.h").read_text()
    codes = {name: int(n) for name, n in re.findall(r"^\s*(NETRIG_E_\w+) = (\d+),", header, re.M)}
    assert len(codes) == 23
    seen = set()
    for name, number in codes.items():
        assert getattr(ffi, name) == number
        err = netrig.errors.error_for(number, "msg")
        assert type(err) is not netrig.NetrigError, name
        assert isinstance(err, netrig.NetrigError)
        assert err.status == number and err.status_name == name
        assert ffi.status_str(number) == name
        seen.add(type(err))
    assert len(seen) == 23
    assert issubclass(netrig.NotFoundError, KeyError)
    assert issubclass(netrig.InvalidArgError, ValueError)
    assert issubclass(netrig.NetrigIOError, OSError)
    assert netrig.errors.error_for(ffi.NETRIG_E_COMMAND, "m").__class__ is netrig.CommandError
    assert issubclass(netrig.TypeMismatchError, TypeError)
    assert issubclass(netrig.NetrigTimeoutError, TimeoutError)
    assert issubclass(netrig.NetrigOverflowError, OverflowError)
    unknown = netrig.errors.error_for(999, "from the future")
    assert type(unknown) is netrig.NetrigError and unknown.status == 999
    assert unknown.status_name == "NETRIG_E_UNKNOWN"
    assert netrig.check(0) is None


def test_error_str_and_pickle_keep_message():
    import pickle

    e = netrig.NotFoundError("netrig_store_get_int: key 'x' not found")
    assert str(e) == "netrig_store_get_int: key 'x' not found [NETRIG_E_NOT_FOUND]"
    e2 = pickle.loads(pickle.dumps(e))
    assert type(e2) is netrig.NotFoundError and e2.message == e.message
    t = netrig.NetrigTimeoutError("took too long")
    assert t.message == "took too long" and t.status == ffi.NETRIG_E_TIMEOUT


def test_library_lookup_env_var():
    lib_path = str(ffi.library_path)
    out = run_child_ok("import netrig; print(netrig.ffi.library_path)", timeout=20)
    assert out.strip() == lib_path
    out = run_child(
        "import netrig",
        env={"NETRIG_LIBRARY": "/nonexistent/libnetrig.so"},
        timeout=20,
    )
    assert out.returncode != 0
    assert "ImportError" in out.stderr and "/nonexistent/libnetrig.so" in out.stderr
    assert "NETRIG_LIBRARY" in out.stderr
    out = run_child("import netrig; print(netrig.ffi.library_path)", env={"NETRIG_LIBRARY": lib_path}, timeout=20)
    assert out.returncode == 0 and out.stdout.strip() == lib_path


def test_library_of_another_abi_major_is_refused():
    # The SONAME carries the ABI major; a library found by path is checked by its version.
    if sys.platform.startswith("linux"):
        assert ffi.SONAME == f"libnetrig.so.{ffi.ABI_MAJOR}" == "libnetrig.so.0"
    assert int(ffi.version().split(".")[0]) == ffi.ABI_MAJOR

    def newer() -> bytes:
        return f"{ffi.ABI_MAJOR + 1}.0.0".encode()

    with pytest.raises(ImportError, match=f"needs ABI major {ffi.ABI_MAJOR}"):
        ffi._checked(types.SimpleNamespace(netrig_version=newer), "/elsewhere/libnetrig.so")


def test_struct_layouts_match_the_header():
    # x86-64 / aarch64 LP64 layout of the header's structs.
    assert ctypes.sizeof(ffi.netrig_value) == 48
    assert ffi.netrig_value.i.offset == 8 and ffi.netrig_value.bytes_len.offset == 40
    assert ctypes.sizeof(ffi.netrig_entry) == 72
    assert ffi.netrig_entry.version.offset == 56
    assert ctypes.sizeof(ffi.netrig_store_options) == 40
    opts = ffi.netrig_store_options()
    assert lib.netrig_store_options_default(ctypes.byref(opts), ctypes.sizeof(opts)) == ffi.NETRIG_OK
    assert opts.struct_size == 40
    assert (opts.max_entries, opts.max_bytes, opts.default_ttl_ms, opts.max_key_len) == (
        1_000_000,
        256 << 20,
        0,
        1024,
    )


# -- values ------------------------------------------------------------------------------------


ROUND_TRIP = [
    True,
    False,
    0,
    -1,
    2**63 - 1,
    -(2**63),
    1.5,
    -0.0,
    math.inf,
    1e-300,
    "",
    "héllo ✓ 数据",
    "x" * 10_000,  # larger than the first read buffer: exercises the BUFFER_TOO_SMALL retry
    b"",
    b"\x00\xff\x00",
    bytes(range(256)) * 40,
]


@pytest.mark.parametrize("value", ROUND_TRIP, ids=lambda v: f"{type(v).__name__}-{str(v)[:12]}")
def test_round_trip_every_type(store, value):
    store["k"] = value
    got = store["k"]
    assert type(got) is type(value)
    assert got == value
    got2, version = store.get_with_version("k")
    assert got2 == value and version >= 1


def test_nan_round_trips(store):
    store["nan"] = math.nan
    assert math.isnan(store["nan"])


def test_bytes_like_values_are_stored_as_bytes(store):
    store["ba"] = bytearray(b"ab\x00c")
    store["mv"] = memoryview(b"xyz")
    assert store["ba"] == b"ab\x00c" and type(store["ba"]) is bytes
    assert store["mv"] == b"xyz"


def test_bool_is_not_int(store):
    store["flag"] = True
    store["one"] = 1
    assert store["flag"] is True
    assert type(store["one"]) is int
    with pytest.raises(netrig.TypeMismatchError):
        store.add("flag")


def test_unsupported_values_and_keys_are_rejected_before_c(store):
    for bad in (None, [1], {"a": 1}, object(), 1j):
        with pytest.raises(TypeError):
            store["k"] = bad
    with pytest.raises(OverflowError):
        store["k"] = 2**63
    with pytest.raises(OverflowError):
        store["k"] = -(2**63) - 1
    with pytest.raises(ValueError):
        store["a\0b"] = 1
    with pytest.raises(ValueError):
        store["k"] = "a\0b"
    with pytest.raises(TypeError):
        store[b"k"] = 1
    with pytest.raises(TypeError):
        store[1] = 1
    assert len(store) == 0


def test_versions_increase_on_every_write(store):
    store["k"] = 1
    _, v1 = store.get_with_version("k")
    store["k"] = "now a str"
    value, v2 = store.get_with_version("k")
    assert value == "now a str" and v2 > v1


# -- errors from the store ---------------------------------------------------------------------


def test_type_mismatch_names_the_key(store):
    store["dut1/temp"] = "hot"
    out = c_int64(7)
    status = lib.netrig_store_get_int(store.handle, b"dut1/temp", byref(out), None)
    assert status == ffi.NETRIG_E_TYPE
    assert out.value == 7  # out-parameters are written only on success
    with pytest.raises(netrig.TypeMismatchError) as ei:
        raw_check(lib.netrig_store_get_int(store.handle, b"dut1/temp", byref(out), None))
    assert "dut1/temp" in str(ei.value) and "str" in ei.value.message
    assert isinstance(ei.value, TypeError)
    assert ei.value.status == ffi.NETRIG_E_TYPE and ei.value.status_name == "NETRIG_E_TYPE"
    with pytest.raises(netrig.TypeMismatchError, match="dut1/temp"):
        store.add("dut1/temp", 1)


def test_missing_key(store):
    with pytest.raises(KeyError) as ei:
        store["nope"]
    assert isinstance(ei.value, netrig.NotFoundError)
    assert "nope" in ei.value.message
    assert store.get("nope") is None
    assert store.get("nope", 42) == 42
    assert "nope" not in store
    with pytest.raises(netrig.NotFoundError, match="nope"):
        del store["nope"]
    with pytest.raises(KeyError):
        store.get_with_version("nope")


def test_delete_and_contains(store):
    store["a"] = 1
    assert "a" in store
    del store["a"]
    assert "a" not in store
    assert len(store) == 0


def test_bad_keys(store):
    with pytest.raises(netrig.InvalidArgError, match="empty"):
        store[""] = 1
    with pytest.raises(netrig.InvalidArgError, match="1048576"):
        store["k" * (1 << 20)] = 1
    with pytest.raises(netrig.InvalidArgError):
        store[""]
    assert len(store) == 0


def test_max_key_len_is_bytes_of_utf8():
    with netrig.Store(max_key_len=4) as s:
        s["abcd"] = 1
        s["éé"] = 2  # 4 bytes
        with pytest.raises(netrig.InvalidArgError):
            s["abcde"] = 1
        with pytest.raises(netrig.InvalidArgError):
            s["ééé"] = 1
        assert sorted(s.keys()) == ["abcd", "éé"]


def test_invalid_utf8_through_the_raw_layer(store):
    h = store.handle
    with pytest.raises(netrig.Utf8Error, match="key"):
        raw_check(lib.netrig_store_set_int(h, b"\xff\xfe", 1, -1))
    with pytest.raises(netrig.Utf8Error):
        raw_check(lib.netrig_store_set_str(h, b"k", b"ok\xc3\x28", -1))
    with pytest.raises(netrig.Utf8Error):
        raw_check(lib.netrig_store_keys(h, b"\x80", byref(ffi.netrig_strlist())))
    assert len(store) == 0


def test_null_pointers_through_the_raw_layer(store):
    h = store.handle
    with pytest.raises(netrig.NullArgError, match="key"):
        raw_check(lib.netrig_store_set_int(h, None, 1, -1))
    store["k"] = 1
    with pytest.raises(netrig.NullArgError):
        raw_check(lib.netrig_store_get_int(h, b"k", None, None))
    with pytest.raises(netrig.NullArgError):
        raw_check(lib.netrig_store_len(h, None))
    with pytest.raises(netrig.NullArgError):
        raw_check(lib.netrig_store_new(None, None))
    with pytest.raises(netrig.NullArgError):
        raw_check(lib.netrig_store_set_bytes(h, b"k", None, 3, -1))
    # NULL is fine where documented: bytes with length 0, options, optional out-parameters.
    raw_check(lib.netrig_store_set_bytes(h, b"empty", None, 0, -1))
    assert store["empty"] == b""
    raw_check(lib.netrig_store_add_int(h, b"k", 1, None))
    assert store["k"] == 2
    other = ffi.netrig_store()
    raw_check(lib.netrig_store_new(None, byref(other)))
    raw_check(lib.netrig_store_free(other))


def test_negative_ttl_through_the_raw_layer(store):
    with pytest.raises(netrig.InvalidArgError, match="ttl"):
        raw_check(lib.netrig_store_set_int(store.handle, b"k", 1, -7))


def test_buffer_too_small_gives_the_needed_length(store):
    store["s"] = "hello world"  # 11 bytes
    h, n, ver = store.handle, c_size_t(), c_uint64(0)
    assert lib.netrig_store_get_str(h, b"s", None, 0, byref(n), None) == ffi.NETRIG_E_BUFFER_TOO_SMALL
    assert n.value == 11
    buf = ctypes.create_string_buffer(11)  # no room for the NUL
    n.value = 0
    assert lib.netrig_store_get_str(h, b"s", buf, 11, byref(n), byref(ver)) == ffi.NETRIG_E_BUFFER_TOO_SMALL
    assert n.value == 11 and ver.value == 0
    with pytest.raises(netrig.BufferTooSmallError):
        raw_check(lib.netrig_store_get_str(h, b"s", buf, 11, byref(n), None))
    buf = ctypes.create_string_buffer(12)
    raw_check(lib.netrig_store_get_str(h, b"s", buf, 12, byref(n), byref(ver)))
    assert buf.value == b"hello world" and n.value == 11 and ver.value >= 1

    store["b"] = b"\x00\x01\x02\x03\x04"
    bbuf = ctypes.create_string_buffer(4)
    assert lib.netrig_store_get_bytes(h, b"b", bbuf, 4, byref(n), None) == ffi.NETRIG_E_BUFFER_TOO_SMALL
    assert n.value == 5
    bbuf = ctypes.create_string_buffer(5)
    raw_check(lib.netrig_store_get_bytes(h, b"b", bbuf, 5, byref(n), None))
    assert bbuf.raw == b"\x00\x01\x02\x03\x04" and n.value == 5


def test_get_type_raw(store):
    store["i"] = 3
    t, v = c_uint32(), c_uint64()
    raw_check(lib.netrig_store_get_type(store.handle, b"i", byref(t), byref(v)))
    assert t.value == ffi.NETRIG_TYPE_INT and v.value >= 1


# -- handles -----------------------------------------------------------------------------------


def test_freed_and_double_freed_store_handles():
    s = netrig.Store()
    h = s.handle
    s["k"] = 1
    s.close()
    s.close()  # idempotent: the wrapper never frees twice
    assert s.closed
    with pytest.raises(netrig.ClosedError):
        s["k"]
    n = c_size_t()
    with pytest.raises(netrig.InvalidHandleError):
        raw_check(lib.netrig_store_len(h, byref(n)))
    with pytest.raises(netrig.InvalidHandleError):
        raw_check(lib.netrig_store_free(h))  # the real double free
    with pytest.raises(netrig.InvalidHandleError):
        raw_check(lib.netrig_store_set_int(h, b"k", 1, -1))


def test_zero_forged_and_wrong_kind_handles(store):
    n = c_size_t()
    with pytest.raises(netrig.InvalidHandleError):
        raw_check(lib.netrig_store_len(ffi.netrig_store(0), byref(n)))
    with pytest.raises(netrig.InvalidHandleError):
        raw_check(lib.netrig_store_len(ffi.netrig_store(store.handle.id ^ 0xFFFF), byref(n)))
    with pytest.raises(netrig.InvalidHandleError):
        raw_check(lib.netrig_store_len(ffi.netrig_store(0xFFFF_FFFF_FFFF_FFFF), byref(n)))

    b = ffi.netrig_batch()
    raw_check(lib.netrig_batch_new(byref(b)))
    try:
        with pytest.raises(netrig.InvalidHandleError, match="netrig_batch"):
            raw_check(lib.netrig_store_len(ffi.netrig_store(b.id), byref(n)))
        with pytest.raises(netrig.InvalidHandleError):
            raw_check(lib.netrig_batch_len(ffi.netrig_batch(store.handle.id), byref(n)))
        with pytest.raises(netrig.InvalidHandleError):
            raw_check(lib.netrig_store_free(ffi.netrig_store(b.id)))
        # ctypes itself refuses a handle struct of the wrong Python type.
        with pytest.raises(ctypes.ArgumentError):
            lib.netrig_store_len(b, byref(n))
    finally:
        raw_check(lib.netrig_batch_free(b))
    with pytest.raises(netrig.InvalidHandleError):
        raw_check(lib.netrig_batch_free(b))
    assert len(store) == 0  # the store survived all of it


def test_del_frees_the_store():
    s = netrig.Store()
    h = s.handle
    del s
    gc.collect()
    with pytest.raises(netrig.InvalidHandleError):
        raw_check(lib.netrig_store_len(h, byref(c_size_t())))


def test_context_manager_closes():
    with netrig.Store() as s:
        s["a"] = 1
        h = s.handle
    assert s.closed
    with pytest.raises(netrig.InvalidHandleError):
        raw_check(lib.netrig_store_free(h))


def test_snapshot_and_strlist_handles_double_free(store):
    store["a"] = 1
    snap, lst = ffi.netrig_snapshot(), ffi.netrig_strlist()
    raw_check(lib.netrig_store_snapshot(store.handle, b"", byref(snap)))
    raw_check(lib.netrig_store_keys(store.handle, b"", byref(lst)))
    e = ffi.netrig_entry()
    with pytest.raises(netrig.NotFoundError):
        raw_check(lib.netrig_snapshot_get(snap, 1, byref(e)))
    raw_check(lib.netrig_snapshot_free(snap))
    raw_check(lib.netrig_strlist_free(lst))
    with pytest.raises(netrig.InvalidHandleError):
        raw_check(lib.netrig_snapshot_free(snap))
    with pytest.raises(netrig.InvalidHandleError):
        raw_check(lib.netrig_strlist_free(lst))
    with pytest.raises(netrig.InvalidHandleError):
        raw_check(lib.netrig_snapshot_get(snap, 0, byref(e)))


def test_store_options_are_validated():
    with pytest.raises(netrig.InvalidArgError):
        netrig.Store(max_entries=0)
    with pytest.raises(netrig.InvalidArgError):
        netrig.Store(max_bytes=0)
    with pytest.raises(ValueError):
        netrig.Store(default_ttl=0)
    with pytest.raises(ValueError):
        netrig.Store(default_ttl=-1)
    with pytest.raises(OverflowError):
        netrig.Store(max_entries=-1)


# -- panics ------------------------------------------------------------------------------------


def test_panic_is_caught_and_the_process_survives(store):
    store["before"] = 1
    with pytest.raises(netrig.PanicError) as ei:
        raw_check(lib.netrig_debug_panic(b"boom"))
    assert "boom" in ei.value.message
    assert ei.value.status == ffi.NETRIG_E_PANIC
    with pytest.raises(netrig.PanicError):
        raw_check(lib.netrig_debug_panic(None))
    # Still alive, and the library still works.
    store["after"] = 2
    assert store["before"] == 1 and store["after"] == 2


def test_panic_in_a_child_process_exits_cleanly():
    out = run_child_ok(
        """
        import netrig
        from netrig.ffi import lib
        for i in range(100):
            assert lib.netrig_debug_panic(b"boom %d" % i) == netrig.ffi.NETRIG_E_PANIC
        assert "boom 99" in netrig.last_error()
        print("alive")
        """,
        timeout=20,
    )
    assert out.strip() == "alive"


# -- TTLs --------------------------------------------------------------------------------------


def test_ttl_expiry(store):
    # 0.5 s: long enough to read "short" back under load before it expires.
    store.set("short", 1, ttl=0.5)
    store.set("long", 2, ttl=60)
    store.set("forever", 3, ttl=netrig.NEVER)
    assert store["short"] == 1 and len(store) == 3
    snap = store.snapshot()
    assert 0 < snap.ttl_remaining("short") <= 0.5
    assert 59 < snap.ttl_remaining("long") <= 60
    assert snap.ttl_remaining("forever") is None
    time.sleep(0.6)
    with pytest.raises(KeyError):
        store["short"]
    assert "short" not in store
    assert len(store) == 2
    assert store.keys() == ["forever", "long"]


def test_ttl_arguments_are_validated(store):
    for bad in (0, -1, math.nan, -math.inf):
        with pytest.raises(ValueError):
            store.set("k", 1, ttl=bad)
    for bad in ("1", True):
        with pytest.raises(TypeError):
            store.set("k", 1, ttl=bad)
    store.set("tiny", 1, ttl=1e-9)  # rounds up to 1 ms, never to "never"
    time.sleep(0.01)
    assert "tiny" not in store


def test_store_default_ttl():
    with netrig.Store(default_ttl=0.5) as s:  # 0.5 s: the count below sees all 5, also under load
        s["default"] = 1
        s.set("never", 2, ttl=netrig.NEVER)
        s.set("long", 3, ttl=60)
        s.add("counter", 5)  # a missing key created by add gets the default TTL
        s.cas("cas", 0, "x")
        assert len(s) == 5
        time.sleep(0.6)
        assert s.keys() == ["long", "never"]
        assert s.purge_expired() == 3
        assert s.purge_expired() == 0


def test_add_keeps_the_existing_ttl(store):
    store.set("n", 1, ttl=0.5)  # 0.5 s: still there for the add, also under load
    assert store.add("n", 1) == 2
    time.sleep(0.6)
    assert "n" not in store


def test_purge_expired_count(store):
    for i in range(5):
        store.set(f"tmp/{i}", i, ttl=0.5)  # 0.5 s: none expired at the first purge, also under load
    store["keep"] = True
    assert store.purge_expired() == 0
    time.sleep(0.6)
    assert len(store) == 1
    assert store.purge_expired() == 5
    assert store.purge_expired() == 0
    assert store.keys() == ["keep"]


def test_expired_key_counts_as_missing_for_cas(store):
    store.set("k", 1, ttl=0.02)
    time.sleep(0.04)
    v = store.cas("k", 0, 2)
    assert store.get_with_version("k") == (2, v)


# -- bounds ------------------------------------------------------------------------------------
# A single-key write that hits a bound runs in a child process: a library bug that hangs there
# must fail this test, not stall the whole run.


def test_max_entries_full_on_single_writes():
    run_child_ok(
        """
        import netrig
        s = netrig.Store(max_entries=3)
        for k in "abc":
            s[k] = 1
        for write in (lambda: s.set("d", 1), lambda: s.add("d", 1), lambda: s.cas("d", 0, 1)):
            try:
                write()
            except netrig.FullError as e:
                assert "3 of 3 entries" in e.message, e.message
            else:
                raise AssertionError("no FullError")
        assert "d" not in s and len(s) == 3
        s["a"] = "overwriting an existing key needs no new entry"
        del s["b"]
        s["d"] = 4
        assert s.keys() == ["a", "c", "d"]
        print("ok")
        """
    )


def test_max_bytes_full_on_single_writes():
    run_child_ok(
        """
        import netrig
        s = netrig.Store(max_bytes=100)
        s["a"] = b"x" * 50   # 1 + 50
        s["b"] = b"x" * 40   # 1 + 40 -> 92 in use
        try:
            s["c"] = b"x" * 10   # 1 + 10 -> 103
        except netrig.FullError as e:
            assert "bytes" in e.message, e.message
        else:
            raise AssertionError("no FullError")
        assert "c" not in s
        try:
            s["huge"] = b"x" * 200
        except netrig.FullError as e:
            assert "can never fit" in e.message, e.message
        else:
            raise AssertionError("no FullError for a value larger than max_bytes")
        assert s.keys() == ["a", "b"]
        s["c"] = b"x" * 7    # exactly 100
        s["a"] = b"x" * 10   # shrinking frees room
        s["d"] = b"x" * 30
        assert len(s) == 4
        print("ok")
        """
    )


def test_full_store_purges_expired_keys_to_make_room():
    run_child_ok(
        """
        import time, netrig
        s = netrig.Store(max_entries=2)
        s.set("old", 1, ttl=0.02)
        s["keep"] = 1
        time.sleep(0.04)
        s["new"] = 2       # room comes from the expired key
        assert s.keys() == ["keep", "new"]
        print("ok")
        """
    )


def test_value_too_large_for_max_bytes_in_a_batch():
    with netrig.Store(max_bytes=50) as s:
        with pytest.raises(netrig.FullError, match="can never fit"):
            with s.batch() as b:
                b.set("big", b"x" * 100)
        assert len(s) == 0


# -- CAS and add -------------------------------------------------------------------------------


def test_cas(store):
    v1 = store.cas("k", 0, 1)  # 0 = must not exist
    assert store.get_with_version("k") == (1, v1)
    with pytest.raises(netrig.ConflictError, match=str(v1)):
        store.cas("k", 0, 99)
    with pytest.raises(netrig.ConflictError) as ei:
        store.cas("k", v1 + 10, 99)
    assert f"found {v1}" in ei.value.message
    assert store["k"] == 1
    v2 = store.cas("k", v1, "now a str")
    assert v2 > v1 and store.get_with_version("k") == ("now a str", v2)
    v3 = store.cas("k", v2, b"\x00bytes")
    assert store["k"] == b"\x00bytes"
    v4 = store.cas("k", v3, 2.5, ttl=0.5)  # 0.5 s: read back below, also under load
    assert store["k"] == 2.5 and v4 > v3
    time.sleep(0.6)
    assert "k" not in store


def test_add_and_overflow(store):
    assert store.add("n") == 1
    assert store.add("n", 41) == 42
    assert store.add("n", -50) == -8
    store["big"] = 2**63 - 1
    with pytest.raises(netrig.NetrigOverflowError) as ei:
        store.add("big", 1)
    assert isinstance(ei.value, OverflowError) and "big" in ei.value.message
    assert store["big"] == 2**63 - 1
    store["small"] = -(2**63)
    with pytest.raises(netrig.NetrigOverflowError):
        store.add("small", -1)
    assert store["small"] == -(2**63)
    with pytest.raises(OverflowError):
        store.add("n", 2**64)
    with pytest.raises(TypeError):
        store.add("n", 1.5)


# -- batches -----------------------------------------------------------------------------------


def test_batch_applies_everything(store):
    store["gone"] = 1
    store["v"] = 1
    _, ver = store.get_with_version("v")
    with store.batch() as b:
        b.set("a", 1)
        b.set("b", "two", ttl=60)
        b.set("c", b"\x00\x03")
        b.set("d", True)
        b.set("e", 0.25)
        b.delete("gone")
        b.delete("never-existed")  # not an error in a batch
        b.expect_version("v", ver)
        b.expect_version("absent", 0)
        assert len(b) == 9
    assert store.items() == [("a", 1), ("b", "two"), ("c", b"\x00\x03"), ("d", True), ("e", 0.25), ("v", 1)]


def test_batch_with_a_failing_precondition_changes_nothing(store):
    store["a"] = 1
    store["x"] = "keep"
    before = store.snapshot()
    with pytest.raises(netrig.ConflictError, match="x"):
        with store.batch() as b:
            b.set("a", 2)
            b.set("new", 3)
            b.delete("x")
            b.expect_version("x", before.version("x") + 1)
    assert store.snapshot() == before
    assert store.snapshot().entries == before.entries
    with pytest.raises(netrig.ConflictError):
        with store.batch() as b:
            b.set("z", 1)
            b.expect_version("a", 0)  # a exists
    assert "z" not in store


def test_batch_past_the_bounds_changes_nothing():
    with netrig.Store(max_entries=3) as s:
        s["a"] = 1
        s["b"] = 2
        with pytest.raises(netrig.FullError):
            with s.batch() as b:
                b.set("a", 100)  # an overwrite: fits on its own
                b.set("c", 3)
                b.set("d", 4)  # the third entry too many
        assert s.items() == [("a", 1), ("b", 2)]
        with s.batch() as b:  # deleting in the same batch makes room
            b.delete("a")
            b.set("c", 3)
            b.set("d", 4)
        assert s.keys() == ["b", "c", "d"]


def test_batch_with_an_invalid_key_changes_nothing(store):
    store["a"] = 1
    with pytest.raises(netrig.InvalidArgError):
        with store.batch() as b:
            b.set("a", 2)
            b.set("", 1)
    assert store.items() == [("a", 1)]


def test_batch_discarded_on_exception(store):
    with pytest.raises(RuntimeError):
        with store.batch() as b:
            b.set("a", 1)
            h = b.handle
            raise RuntimeError("test aborts")
    assert len(store) == 0
    with pytest.raises(netrig.InvalidHandleError):
        raw_check(lib.netrig_batch_len(h, byref(c_size_t())))
    with pytest.raises(netrig.ClosedError):
        b.set("a", 1)


def test_batch_values_are_copied_when_added(store):
    with store.batch() as b:
        for i in range(50):
            b.set(f"k{i:02}", ("v%d" % i) * 10)
            b.set(f"b{i:02}", bytes([i]) * 100)
        gc.collect()
    assert store["k07"] == "v7" * 10
    assert store["b49"] == bytes([49]) * 100


def test_batch_value_validation(store):
    with store.batch() as b:
        with pytest.raises(TypeError):
            b.set("k", None)
        with pytest.raises(ValueError):
            b.set("k", 1, ttl=0)
        with pytest.raises(OverflowError):
            b.expect_version("k", -1)
        assert len(b) == 0
    v = ffi.netrig_value(kind=99)
    bh = ffi.netrig_batch()
    raw_check(lib.netrig_batch_new(byref(bh)))
    try:
        with pytest.raises(netrig.InvalidArgError, match="99"):
            raw_check(lib.netrig_batch_set(bh, b"k", byref(v), -1))
        with pytest.raises(netrig.NullArgError):
            raw_check(lib.netrig_batch_set(bh, b"k", None, -1))
    finally:
        raw_check(lib.netrig_batch_free(bh))


# -- keys, snapshots, JSON ---------------------------------------------------------------------


def test_keys_and_prefix(store):
    for k in ("dut2/temp", "dut1/temp", "dut1/state", "rig", "dut10/x", "ünï/1"):
        store[k] = 1
    assert store.keys() == sorted(["dut2/temp", "dut1/temp", "dut1/state", "rig", "dut10/x", "ünï/1"])
    assert store.keys("dut1/") == ["dut1/state", "dut1/temp"]
    assert store.keys("nothing") == []
    assert list(store) == store.keys()
    assert len(store) == 6


def test_snapshot_and_json(store):
    store["b"] = True
    store["i"] = -7
    store["d"] = 2.5
    store["s"] = 'quote " and \\ and ✓'
    store["x"] = b"\x00\xab"
    store.set("t", 1, ttl=60)
    store["other/key"] = 0
    store["inf"] = math.inf
    snap = store.snapshot()
    assert isinstance(snap, dict)
    assert list(snap) == sorted(snap)
    assert snap["s"] == 'quote " and \\ and ✓' and snap["x"] == b"\x00\xab"
    for k in snap:
        assert store.get_with_version(k) == (snap[k], snap.version(k))
    doc = json.loads(snap.to_json())
    assert set(doc) == set(snap)
    assert doc["b"] == {"type": "bool", "value": True, "version": snap.version("b"), "ttl_ms": None}
    assert doc["i"]["type"] == "int" and doc["i"]["value"] == -7
    assert doc["d"]["type"] == "double" and doc["d"]["value"] == 2.5
    assert doc["s"]["type"] == "str" and doc["s"]["value"] == snap["s"]
    assert doc["x"] == {"type": "bytes", "value": "00ab", "version": snap.version("x"), "ttl_ms": None}
    assert doc["inf"]["value"] == "inf"
    assert 59_000 < doc["t"]["ttl_ms"] <= 60_000
    sub = store.snapshot("other/")
    assert dict(sub) == {"other/key": 0}
    assert json.loads(sub.to_json()) == {"other/key": doc["other/key"]}
    assert store.items("other/") == [("other/key", 0)]
    assert store.values("other/") == [0]
    assert json.loads(store.snapshot("none/").to_json()) == {}


def test_clear_returns_count(store):
    for i in range(10):
        store[f"k{i}"] = i
    assert store.clear() == 10
    assert len(store) == 0 and store.clear() == 0


# -- threads -----------------------------------------------------------------------------------


def test_last_error_is_per_thread(store):
    failed_in_thread = threading.Event()
    main_failed = threading.Event()
    seen = {}

    def worker():
        seen["fresh"] = netrig.last_error()  # no netrig call has failed on this thread yet
        assert lib.netrig_store_delete(store.handle, b"alpha") == ffi.NETRIG_E_NOT_FOUND
        failed_in_thread.set()
        main_failed.wait(5)
        seen["after"] = netrig.last_error()

    t = threading.Thread(target=worker)
    t.start()
    failed_in_thread.wait(5)
    assert lib.netrig_store_get_int(store.handle, b"beta", byref(c_int64()), None) == ffi.NETRIG_E_NOT_FOUND
    main_failed.set()
    t.join(5)
    assert seen["fresh"] == ""
    assert "alpha" in seen["after"] and "beta" not in seen["after"]
    mine = netrig.last_error()
    assert "beta" in mine and "alpha" not in mine


def test_exceptions_carry_their_own_threads_message(store, fast_switching):
    errors = {}

    def worker(i):
        for _ in range(200):
            try:
                store[f"missing-{i}"]
            except netrig.NotFoundError as e:
                if f"missing-{i}'" not in e.message:
                    errors[i] = e.message
                    return

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == {}


@pytest.fixture
def fast_switching():
    """Makes the GIL change hands every few microseconds, so Python threads really interleave
    their netrig calls instead of running one after another for 5 ms each."""
    import sys

    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    yield
    sys.setswitchinterval(old)


def run_threads(n, target):
    barrier = threading.Barrier(n)
    failures = []

    def wrapped(i):
        try:
            barrier.wait(10)
            target(i)
        except BaseException as e:  # noqa: BLE001 - reported below
            failures.append((i, e))

    threads = [threading.Thread(target=wrapped, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
        assert not t.is_alive(), "worker thread hung"
    if failures:
        raise failures[0][1]


def test_threads_add_cas_and_batches_with_consistent_snapshots(store, fast_switching):
    THREADS, ADDS, CASES, BATCHES = 8, 4000, 400, 200
    store["cas"] = 0
    with store.batch() as b:
        for k in ("pair/a", "pair/b", "pair/n"):
            b.set(k, 0)
    done = threading.Event()
    snapshots = [0]
    torn = []

    def reader():
        while not done.is_set():
            snap = store.snapshot("pair/")
            snapshots[0] += 1
            if not snap["pair/a"] == snap["pair/b"] == snap["pair/n"]:
                torn.append(dict(snap))
            if len(store.keys("pair/")) != 3:
                torn.append("keys")

    def worker(i):
        cas_left, batches_left = CASES, BATCHES
        for j in range(ADDS):
            store.add("counter")
            if j % 10 == 0 and cas_left:
                while True:
                    value, version = store.get_with_version("cas")
                    try:
                        store.cas("cas", version, value + 1)
                        break
                    except netrig.ConflictError:
                        continue
                cas_left -= 1
            if j % 20 == 5 and batches_left:
                while True:
                    n, version = store.get_with_version("pair/n")
                    try:
                        with store.batch() as b:
                            b.expect_version("pair/n", version)
                            b.set("pair/a", n + 1)
                            b.set("pair/n", n + 1)
                            b.set("pair/b", n + 1)
                        break
                    except netrig.ConflictError:
                        continue
                batches_left -= 1
        assert cas_left == 0 and batches_left == 0

    readers = [threading.Thread(target=reader) for _ in range(2)]
    for r in readers:
        r.start()
    try:
        run_threads(THREADS, worker)
    finally:
        done.set()
        for r in readers:
            r.join(10)
    assert store["counter"] == THREADS * ADDS
    assert store["cas"] == THREADS * CASES
    assert store["pair/n"] == store["pair/a"] == store["pair/b"] == THREADS * BATCHES
    assert torn == []
    assert snapshots[0] > 0


def test_reads_survive_concurrent_type_changes(store, fast_switching):
    store["flip"] = 1
    stop = threading.Event()

    def writer():
        i = 0
        while not stop.is_set():
            store["flip"] = i if i % 2 else "s" * (i % 700)  # str sizes cross the read buffer
            i += 1

    w = threading.Thread(target=writer)
    w.start()
    try:

        def reader(_):
            for _ in range(3000):
                v = store["flip"]
                assert isinstance(v, int) or (isinstance(v, str) and set(v) <= {"s"})

        run_threads(4, reader)
    finally:
        stop.set()
        w.join(10)


def test_close_while_other_threads_use_the_store(fast_switching):
    s = netrig.Store()
    s["n"] = 0
    h = s.handle
    started = threading.Barrier(5)
    outcomes = []

    def user(_):
        started.wait(10)
        try:
            while True:
                s.add("n")
        except (netrig.ClosedError, netrig.InvalidHandleError) as e:
            outcomes.append(type(e))

    threads = [threading.Thread(target=user, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    started.wait(10)
    # Closed while the users are busy adding: seen in the counter, not assumed after a sleep.
    deadline = time.monotonic() + 10
    while s["n"] < 1000:
        assert time.monotonic() < deadline, "the users never got going"
        time.sleep(0.001)
    s.close()
    for t in threads:
        t.join(10)
        assert not t.is_alive()
    assert len(outcomes) == 4
    with pytest.raises(netrig.InvalidHandleError):
        raw_check(lib.netrig_store_free(h))


def test_readme_python_example_runs(capsys):
    """The README's Python block runs as shown, against the real library."""
    readme = (REPO / "README.md").read_text()
    block = readme.split("```python\n", 1)[1].split("```", 1)[0]
    exec(compile(block, "README.md", "exec"), {})
    out = capsys.readouterr().out
    snapshot = json.loads(out)
    assert snapshot["dut/1/state"]["value"] == "done"
    assert snapshot["dut/1/passed"]["value"] == 12


def test_reads_in_a_signal_handler_do_not_disturb_the_interrupted_read(store):
    """A SIGALRM handler reading the store interrupts reads on the same thread between
    bytecodes; each read must still return its own key's value."""
    import signal

    store["outer"] = "o" * 40
    store["inner"] = b"i" * 300  # larger than the first buffer, so the handler's read grows one
    seen = []

    def handler(signum, frame):
        seen.append(store["inner"])

    old = signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, 0.0002, 0.0002)
    try:
        deadline = time.monotonic() + 0.5
        while time.monotonic() < deadline:
            assert store["outer"] == "o" * 40
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0, 0)
        signal.signal(signal.SIGALRM, old)
    assert len(seen) > 10 and all(v == b"i" * 300 for v in seen)
