"""Change events, test-execution and service state, and durable stores, against the real
libnetrig (no mocks)."""

import ctypes
import gc
import os
import threading
import time
from ctypes import byref

from pathlib import Path

import pytest
from conftest import run_child, run_child_ok, wait_until_blocked_in

import netrig
from netrig import ffi
from netrig.ffi import lib


def os_thread_name() -> str:
    """The OS name of the calling thread (what the library named it, for a foreign thread)."""
    with open(f"/proc/self/task/{threading.get_native_id()}/comm") as f:
        return f.read().strip()


def wait_for(predicate, timeout=5.0, what="condition"):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.002)


def drain(sub):
    """Every change queued now."""
    out = []
    while True:
        try:
            out.append(sub.poll(0))
        except netrig.NetrigTimeoutError:
            return out


# -- layout and statuses -----------------------------------------------------------------------


def test_struct_layouts_match_the_header():
    # LP64 layout, checked against the header with offsetof when these were written.
    v = ffi.netrig_change_view
    assert ctypes.sizeof(v) == 80
    assert (v.key.offset, v.value.offset, v.version.offset, v.missed.offset) == (8, 16, 64, 72)
    assert ctypes.sizeof(ffi.netrig_test_info) == 48 and ffi.netrig_test_info.version.offset == 40
    f = ffi.netrig_test_fields
    assert ctypes.sizeof(f) == 64
    assert (f.set_pid.offset, f.pid.offset, f.field_names.offset, f.field_count.offset) == (24, 32, 40, 56)
    assert ctypes.sizeof(ffi.netrig_service_info) == 24 and ffi.netrig_service_info.version.offset == 16
    assert ctypes.sizeof(ffi.netrig_subscription_stats) == 24


def test_lagged_and_lease_statuses_have_classes():
    lag = netrig.errors.error_for(ffi.NETRIG_E_LAGGED, "subscription 'x/' lagged: 7 events dropped because ...")
    assert type(lag) is netrig.LaggedError and lag.missed == 7
    assert netrig.errors.error_for(ffi.NETRIG_E_LAGGED, "no count here").missed is None
    lease = netrig.errors.error_for(ffi.NETRIG_E_LEASE, "lease lost")
    assert type(lease) is netrig.LeaseError and lease.status_name == "NETRIG_E_LEASE"
    import pickle

    again = pickle.loads(pickle.dumps(lag))
    assert type(again) is netrig.LaggedError and again.missed == 7


# -- polled subscriptions ----------------------------------------------------------------------


VALUES = [True, False, 0, -(2**63), 2**63 - 1, 1.5, float("-inf"), "", "héllo ✓", "x" * 5000, b"", b"\x00\xff\x00", bytes(range(256))]


def test_set_delete_expire_with_every_type_and_version(store):
    with store.subscribe("k/") as sub:
        for i, value in enumerate(VALUES):
            store[f"k/{i}"] = value
        for i, value in enumerate(VALUES):
            c = sub.poll(1)
            assert (c.kind, c.key, c.missed) == ("set", f"k/{i}", 0)
            assert c.value == value and type(c.value) is type(value)
            assert c.version == store.get_with_version(f"k/{i}")[1]
        _, version = store.get_with_version("k/9")
        del store["k/9"]
        assert sub.poll(1) == netrig.Change("delete", "k/9", "x" * 5000, version)
        store.set("k/ttl", b"\x00gone", ttl=0.05)
        set_change = sub.poll(1)
        t0 = time.monotonic()
        expired = sub.poll(10)
        assert expired == netrig.Change("expire", "k/ttl", b"\x00gone", set_change.version)
        # Announced by the expiry timer, not on a later read; room for a loaded machine.
        assert time.monotonic() - t0 < 2.0
        st = sub.stats()
        assert (st.delivered, st.dropped, st.queued) == (len(VALUES) + 3, 0, 0)


def test_batches_and_clear_arrive_as_changes(store):
    store["b/old"] = 1
    with store.subscribe("b/") as sub:
        with store.batch() as b:
            b.set("b/1", 1)
            b.set("b/2", "two")
            b.delete("b/old")
        changes = drain(sub)
        assert sorted((c.kind, c.key) for c in changes) == [("delete", "b/old"), ("set", "b/1"), ("set", "b/2")]
        assert store.clear() == 2
        assert sorted((c.kind, c.key) for c in drain(sub)) == [("delete", "b/1"), ("delete", "b/2")]


def test_prefix_filtering(store):
    dut1, every = store.subscribe("dut1/"), store.subscribe()
    for key in ("dut1/temp", "dut10/temp", "dut2/temp", "dut1", "dut1/a/b"):
        store[key] = 1
    assert [c.key for c in drain(dut1)] == ["dut1/temp", "dut1/a/b"]
    assert [c.key for c in drain(every)] == ["dut1/temp", "dut10/temp", "dut2/temp", "dut1", "dut1/a/b"]
    dut1.close()
    every.close()


def test_snapshot_and_changes_have_no_gap(store):
    store["n/count"] = 0
    stop = threading.Event()

    def writer():
        while not stop.is_set():
            store.add("n/count")

    t = threading.Thread(target=writer)
    t.start()
    try:
        # Writes before the subscription and after it, observed rather than slept for.
        wait_for(lambda: store["n/count"] > 0, what="the writer's first write")
        sub = store.subscribe("n/", capacity=1 << 20)
        wait_for(lambda: sub.stats().queued > 0, what="a write after the subscription")
    finally:
        stop.set()
        t.join()
    start = sub.snapshot["n/count"]
    assert start > 0
    assert isinstance(sub.snapshot, netrig.Snapshot) and sub.snapshot is sub.snapshot
    values = [c.value for c in drain(sub)]
    assert values, "the writer kept writing after the subscription began"
    # Every write after the snapshot, and none before it: consecutive from start + 1.
    assert values == list(range(start + 1, start + 1 + len(values)))
    assert values[-1] == store["n/count"]
    sub.close()


def test_lag_gives_the_missed_count_then_later_changes(store):
    sub = store.subscribe("l/", capacity=4)
    for i in range(100):
        store[f"l/{i}"] = i
    assert [c.value for c in (sub.poll(0) for _ in range(4))] == [0, 1, 2, 3]
    with pytest.raises(netrig.LaggedError) as e:
        sub.poll(0)
    assert e.value.missed == 96 and "96" in str(e.value)
    assert sub.stats() == netrig.SubscriptionStats(delivered=4, dropped=96, queued=0)
    store["l/after"] = "x"
    assert sub.poll(0) == netrig.Change("set", "l/after", "x", store.get_with_version("l/after")[1])
    # In a for loop the gap comes out as the exception; iterating again goes on after it.
    for i in range(10):
        store[f"l/again{i}"] = i
    seen = []
    with pytest.raises(netrig.LaggedError):
        for c in sub:
            seen.append(c.value)
    assert seen == [0, 1, 2, 3]
    store["l/last"] = True
    assert next(iter(sub)).key == "l/last"
    sub.close()


def poll_timing(sub, timeout):
    t0 = time.monotonic()
    with pytest.raises(netrig.NetrigTimeoutError):
        sub.poll(timeout)
    return time.monotonic() - t0


def test_poll_timeout_is_accurate_on_main_and_other_threads(store):
    sub = store.subscribe("t/")
    assert poll_timing(sub, 0) < 1.0  # no wait (a wait would be unbounded)
    # Never early; late only by a loaded machine's scheduling (0.5 s of room).
    for timeout in (0.05, 0.3):  # 0.3 s spans more than one of the main thread's wait slices
        elapsed = poll_timing(sub, timeout)
        assert timeout - 0.002 <= elapsed < timeout + 0.5, (timeout, elapsed)
    results = []
    t = threading.Thread(target=lambda: results.append(poll_timing(sub, 0.2)))
    t.start()
    t.join(10)
    assert 0.2 - 0.002 <= results[0] < 0.7, results
    with pytest.raises(netrig.NetrigTimeoutError, match="t/"):
        sub.poll(0.001)
    # A change arriving during the wait ends it at once.
    threading.Timer(0.1, lambda: store.set("t/x", 1)).start()
    t0 = time.monotonic()
    assert sub.poll(5).key == "t/x"
    assert time.monotonic() - t0 < 1.0
    sub.close()


def test_close_from_another_thread_wakes_a_blocked_poll_and_the_gil_is_free(store):
    sub = store.subscribe("w/")
    outcome, started = {}, threading.Event()

    def poller():
        started.set()
        try:
            sub.poll(None)  # not the main thread: one C call waiting with no limit
        except BaseException as e:  # noqa: BLE001
            outcome["error"] = e
            outcome["at"] = time.monotonic()

    t = threading.Thread(target=poller)
    t.start()
    wait_until_blocked_in(t, started, "poll")
    # While the poller waits in C, this thread runs Python freely: the GIL is released.
    counted, t0 = 0, time.monotonic()
    while time.monotonic() - t0 < 0.2:
        counted += 1
    assert counted > 10_000
    assert t.is_alive() and "error" not in outcome
    closed_at = time.monotonic()
    sub.close()
    t.join(10)
    assert not t.is_alive()
    assert isinstance(outcome["error"], netrig.ClosedError)
    assert outcome["at"] - closed_at < 1.0  # prompt against a wait without limit, under load


def test_close_from_another_thread_wakes_the_main_thread_and_ends_iteration(store):
    sub = store.subscribe("m/")
    ticks = []

    def ticker():
        for _ in range(20):
            ticks.append(1)
            time.sleep(0.005)
        store["m/1"] = 1
        time.sleep(0.05)
        sub.close()

    t = threading.Thread(target=ticker)
    t0 = time.monotonic()
    t.start()
    keys = [c.key for c in sub]  # blocks on the main thread; ends when closed
    elapsed = time.monotonic() - t0
    t.join()
    assert keys == ["m/1"] and len(ticks) == 20
    assert elapsed < 1.0
    with pytest.raises(netrig.ClosedError):
        sub.poll(0)
    assert list(sub) == []


def test_store_close_ends_the_subscription_after_its_queued_changes():
    s = netrig.Store()
    sub = s.subscribe()
    s["a"], s["b"] = 1, 2
    s.close()
    assert [c.key for c in sub] == ["a", "b"]
    with pytest.raises(netrig.ClosedError):
        sub.poll(0)
    sub.close()
    sub.close()


def test_several_pollers_share_the_queue(store):
    sub = store.subscribe("p/", capacity=10_000)
    got, lock = [], threading.Lock()

    def poller():
        for c in sub:
            with lock:
                got.append(c.value)

    threads = [threading.Thread(target=poller) for _ in range(4)]
    for t in threads:
        t.start()
    for i in range(2000):
        store["p/k"] = i
    wait_for(lambda: len(got) == 2000, what="2000 changes")
    sub.close()
    for t in threads:
        t.join(2)
    assert sorted(got) == list(range(2000))


def test_ctrl_c_stops_a_poll_waiting_on_the_main_thread():
    out = run_child_ok(
        """
        import os, signal, threading, time, netrig
        s = netrig.Store()
        sub = s.subscribe()
        threading.Timer(0.2, lambda: os.kill(os.getpid(), signal.SIGINT)).start()
        t0 = time.monotonic()
        try:
            for change in sub:
                pass
        except KeyboardInterrupt:
            print("interrupted after", round(time.monotonic() - t0, 2))
        """,
        timeout=20,
    )
    assert out.startswith("interrupted after")
    assert float(out.split()[-1]) < 1.0


# -- callback subscriptions --------------------------------------------------------------------


def test_callback_runs_on_the_netrig_events_thread_in_order(store):
    calls = []

    def on_change(change):
        calls.append((change, threading.get_native_id(), os_thread_name()))

    store["c/0"] = "before"
    sub = store.subscribe("c/", callback=on_change)
    assert sub.snapshot == {"c/0": "before"}
    for i in range(1, 51):
        store[f"c/{i}"] = i
    store["other"] = 1
    wait_for(lambda: len(calls) == 50, what="50 callbacks")
    sub.close()
    assert [c.value for c, _, _ in calls] == list(range(1, 51))
    tids = {tid for _, tid, _ in calls}
    assert len(tids) == 1 and threading.get_native_id() not in tids
    assert {name for _, _, name in calls} == {"netrig-events"}
    with pytest.raises(TypeError, match="callback"):
        sub.poll(0)


def test_callback_may_read_and_write_the_store(store):
    responses = store.subscribe("resp/")

    def on_request(change):
        if change.kind == "set":
            store[change.key.replace("req/", "resp/")] = store[change.key] * 2

    with store.subscribe("req/", callback=on_request):
        for i in range(20):
            store[f"req/{i}"] = i
        got = {c.key: c.value for c in (responses.poll(2) for _ in range(20))}
    assert got == {f"resp/{i}": 2 * i for i in range(20)}
    responses.close()


def test_closing_from_inside_the_callback(store):
    calls, holder, closed = [], {}, threading.Event()

    def on_change(change):
        calls.append(change.value)
        if len(calls) == 3:
            holder["sub"].close()  # does not wait for itself
            closed.set()

    holder["sub"] = store.subscribe("x/", callback=on_change)
    for i in range(10):
        store[f"x/{i}"] = i
    assert closed.wait(2)
    assert holder["sub"].closed
    store["x/late"] = 1
    time.sleep(0.1)
    assert calls == [0, 1, 2]
    holder["sub"].close()  # idempotent


def test_callback_exception_is_raised_by_close_and_the_dispatcher_goes_on(store):
    seen = []

    def on_change(change):
        if change.key == "e/bad":
            raise ValueError("bad change")
        seen.append(change.key)

    sub = store.subscribe("e/", callback=on_change)
    store["e/1"], store["e/bad"], store["e/2"] = 1, 2, 3
    wait_for(lambda: seen == ["e/1", "e/2"], what="the change after the failing one")
    assert [type(e) for e in sub.callback_errors] == [ValueError]
    with pytest.raises(ValueError, match="bad change"):
        sub.close()
    sub.close()  # raised once
    assert sub.callback_errors == []


def test_no_callback_after_close_returns(store):
    count, in_flight = [0], []
    stop = threading.Event()

    def on_change(change):
        if change.value == 0:
            in_flight.append("start")
            time.sleep(0.2)  # close() below waits for this call
            in_flight.append("end")
        count[0] += 1

    def writer():
        i = 0
        while not stop.is_set():
            store["n/k"] = i
            i += 1

    sub = store.subscribe("n/", capacity=16, callback=on_change)
    t = threading.Thread(target=writer)
    t.start()
    try:
        wait_for(lambda: in_flight == ["start"], what="the first callback")
        sub.close()
        assert in_flight == ["start", "end"]
        after_close = count[0]
        time.sleep(0.1)
        assert count[0] == after_close
    finally:
        stop.set()
        t.join()


def test_close_delivers_the_changes_queued_before_it(store):
    got, entered, release = [], threading.Event(), threading.Event()

    def on_change(change):
        if change.value == 0:
            entered.set()
            assert release.wait(10)  # the nine later changes queue up meanwhile
        got.append(change.value)

    sub = store.subscribe("q/", callback=on_change)
    store["q/k"] = 0
    assert entered.wait(10)
    for i in range(1, 10):
        store["q/k"] = i
    assert sub.stats().queued == 9
    # The first callback is let go 0.3 s into close(), which waits for it and the nine queued.
    threading.Timer(0.3, release.set).start()
    sub.close()
    assert got == list(range(10))
    store["q/k"] = 99
    assert got == list(range(10))


def test_callback_gets_lagged_with_the_missed_count(store):
    changes, release = [], threading.Event()

    def on_change(change):
        changes.append(change)
        if len(changes) == 1:
            release.wait(5)  # hold the dispatcher while the queue overflows

    sub = store.subscribe("g/", capacity=4, callback=on_change)
    store["g/0"] = 0
    wait_for(lambda: len(changes) == 1, what="the first callback")
    for i in range(1, 100):
        store[f"g/{i}"] = i
    release.set()
    wait_for(lambda: len(changes) == 6, what="4 changes and a lag mark after the first")
    store["g/after"] = "x"
    wait_for(lambda: len(changes) == 7, what="the change after the gap")
    sub.close()
    assert [c.value for c in changes[:5]] == [0, 1, 2, 3, 4]
    assert changes[5] == netrig.Change("lagged", "", None, 0, missed=95)
    assert changes[6].key == "g/after"
    assert sub.snapshot == {}


def test_an_unreferenced_callback_subscription_is_closed_by_the_gc(store):
    calls = []
    store.subscribe("u/", callback=calls.append)  # dropped at once
    gc.collect()
    store["u/1"] = 1
    time.sleep(0.05)
    assert calls == []


def test_exit_with_an_open_callback_subscription_and_busy_writers():
    # The dispatcher thread must not call into a Python being finalized.
    out = run_child_ok(
        """
        import threading, netrig
        s = netrig.Store()
        calls = []
        sub = s.subscribe(callback=lambda c: calls.append(c.key))
        def writer():
            i = 0
            while True:
                s["k"] = i
                i += 1
        threading.Thread(target=writer, daemon=True).start()
        while len(calls) < 100:
            pass
        print("ok")
        """,
        timeout=20,
    )
    assert out.strip() == "ok"


# -- bad input and raw misuse --------------------------------------------------------------------


def test_bad_subscribe_arguments(store):
    with pytest.raises(TypeError, match="prefix"):
        store.subscribe(b"x/")
    with pytest.raises(TypeError, match="prefix"):
        store.subscribe(None)
    with pytest.raises(ValueError, match="NUL"):
        store.subscribe("a\0b")
    with pytest.raises(TypeError, match="capacity"):
        store.subscribe("", capacity="4")
    with pytest.raises(ValueError, match="capacity"):
        store.subscribe("", capacity=-1)
    with pytest.raises(netrig.InvalidArgError, match="capacity"):
        store.subscribe("", capacity=1 << 25)
    with pytest.raises(TypeError, match="callback"):
        store.subscribe("", callback=42)
    with pytest.raises(TypeError):
        netrig.Subscription()
    sub = store.subscribe()
    for bad in ("1", -1, float("nan")):
        with pytest.raises((TypeError, ValueError)):
            sub.poll(bad)
    sub.close()


def test_closed_subscription_and_closed_store_give_clear_errors():
    s = netrig.Store()
    sub = s.subscribe("a/")
    sub.close()
    assert sub.closed and "closed" in repr(sub)
    with pytest.raises(netrig.ClosedError, match="'a/'.*closed"):
        sub.poll(0)
    with pytest.raises(netrig.ClosedError):
        sub.stats()
    with pytest.raises(netrig.ClosedError):
        sub.handle
    s.close()
    with pytest.raises(netrig.ClosedError):
        s.subscribe()


def test_forged_and_freed_handles_through_the_raw_layer(store):
    out, view = ffi.netrig_change(), ffi.netrig_change_view()
    assert lib.netrig_subscription_poll(ffi.netrig_subscription(0), 0, byref(out)) == ffi.NETRIG_E_INVALID_HANDLE
    assert lib.netrig_subscription_poll(ffi.netrig_subscription(store.handle.id), 0, byref(out)) == ffi.NETRIG_E_INVALID_HANDLE
    assert lib.netrig_change_get(ffi.netrig_change(12345), byref(view)) == ffi.NETRIG_E_INVALID_HANDLE
    assert lib.netrig_change_free(ffi.netrig_change(0)) == ffi.NETRIG_E_INVALID_HANDLE
    with pytest.raises(ctypes.ArgumentError):
        lib.netrig_subscription_poll(store.handle, 0, byref(out))  # a store is not a subscription
    sub = store.subscribe("r/")
    store["r/1"] = 1
    assert lib.netrig_subscription_poll(sub.handle, 0, None) == ffi.NETRIG_E_NULL_ARG
    assert lib.netrig_subscription_poll(sub.handle, 0, byref(out)) == ffi.NETRIG_OK
    assert lib.netrig_change_get(out, byref(view)) == ffi.NETRIG_OK and view.key == b"r/1"
    assert lib.netrig_change_free(out) == ffi.NETRIG_OK
    assert lib.netrig_change_free(out) == ffi.NETRIG_E_INVALID_HANDLE
    assert lib.netrig_change_get(out, byref(view)) == ffi.NETRIG_E_INVALID_HANDLE
    handle = sub.handle
    sub.close()
    assert lib.netrig_subscription_free(handle) == ffi.NETRIG_E_INVALID_HANDLE
    assert lib.netrig_store_subscribe_callback(store.handle, b"", 0, ffi.netrig_change_fn(), None, byref(ffi.netrig_subscription()), None) == ffi.NETRIG_E_NULL_ARG


# -- test-execution state --------------------------------------------------------------------


def test_sixteen_threads_race_to_start_a_test(store):
    barrier = threading.Barrier(16)
    won, busy = [], []

    def racer(i):
        barrier.wait()
        try:
            won.append(store.test_start(f"script{i}.py", 1000 + i, bin="/opt/rig", topology="t2"))
        except netrig.BusyError as e:
            busy.append(e)

    threads = [threading.Thread(target=racer, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(won) == 1 and len(busy) == 15
    winner = won[0]
    assert winner.running and winner.run == 1
    for e in busy:
        assert f"'{winner.script}'" in e.message and f"pid {winner.pid}" in e.message
    assert store.test_state() == winner


def test_state_lifecycle(store):
    idle = store.test_state()
    assert idle == netrig.TestState(False, None, None, None, None, 0, None, None, {}, 0)
    with pytest.raises(netrig.NotFoundError, match="none was started"):
        store.test_stop()

    started = store.test_start("bgp.py", 4242, bin="/opt/bin", topology="2x7050", dut="sw1", phase="setup")
    assert started.running and started.run == 1 and started.stopped_ms is None
    assert abs(started.started_ms - time.time() * 1000) < 60_000
    assert started.fields == {"dut": "sw1", "phase": "setup"}
    assert store.test_state() == started

    updated = store.test_update(pid=4343, topology="4x7050", fields={"phase": "flap 1/3", "dut": None, "k2": "v2"})
    assert (updated.script, updated.pid, updated.bin, updated.topology) == ("bgp.py", 4343, "/opt/bin", "4x7050")
    assert updated.fields == {"phase": "flap 1/3", "k2": "v2"}
    assert updated.running and updated.version > started.version
    assert store.test_update().version > updated.version  # an empty update still moves the version

    with pytest.raises(netrig.BusyError, match="bgp.py"):
        store.test_start("other.py", 1)

    stopped = store.test_stop()
    assert not stopped.running and stopped.stopped_ms >= stopped.started_ms
    assert (stopped.script, stopped.pid, stopped.fields) == ("bgp.py", 4343, {"phase": "flap 1/3", "k2": "v2"})
    assert store.test_state() == stopped
    with pytest.raises(netrig.NotFoundError, match="bgp.py"):
        store.test_stop()
    assert store.test_update(fields={"note": "after"}).fields["note"] == "after"  # allowed while idle

    again = store.test_start("next.py", 7)
    assert again.run == 2 and again.fields == {} and (again.bin, again.topology) == ("", "")
    assert store.test_state() == again
    assert store["netrig/test/script"] == "next.py"  # plain store keys underneath


def test_state_changes_are_change_events(store):
    with store.subscribe("netrig/test/") as sub:
        store.test_start("a.sh", 1, k="v")
        keys = {c.key for c in drain(sub)}
    assert {"netrig/test/running", "netrig/test/script", "netrig/test/field/k"} <= keys


def test_state_bad_input(store):
    with pytest.raises(netrig.InvalidArgError, match="a/b"):
        store.test_start("x.py", 1, **{"a/b": "v"})
    with pytest.raises(TypeError, match="pid"):
        store.test_start("x.py", "1")
    with pytest.raises(TypeError, match="pid"):
        store.test_start("x.py", True)
    with pytest.raises(OverflowError):
        store.test_start("x.py", 2**63)
    with pytest.raises(TypeError, match="field"):
        store.test_start("x.py", 1, build=1234)
    with pytest.raises(TypeError, match="script"):
        store.test_start(None, 1)
    with pytest.raises(ValueError, match="NUL"):
        store.test_start("x\0.py", 1)
    with pytest.raises(TypeError, match="fields"):
        store.test_update(fields=["a"])
    with pytest.raises(netrig.InvalidArgError):
        store.test_update(fields={"": "v"})
    assert not store.test_state().running  # nothing half-done


# -- services --------------------------------------------------------------------------------


def test_services(store):
    assert store.services() == {}
    with pytest.raises(netrig.NotFoundError, match="qsfp"):
        store.service("qsfp")
    store.service_set("qsfp", True, "pid 7")
    first = store.service("qsfp")
    assert (first.name, first.running, first.detail) == ("qsfp", True, "pid 7")
    assert abs(first.since_ms - time.time() * 1000) < 60_000

    time.sleep(0.005)
    long_detail = "détail ✓ " * 100  # longer than the first buffer: the BUFFER_TOO_SMALL retry
    store.service_set("qsfp", True, long_detail)
    same = store.service("qsfp")
    assert same.detail == long_detail and same.since_ms == first.since_ms and same.version > first.version

    time.sleep(0.005)
    store.service_set("qsfp", False)
    flipped = store.service("qsfp")
    assert not flipped.running and flipped.detail == "" and flipped.since_ms > first.since_ms
    store.service_set("fan", 1, "ok")

    everything = store.services()
    assert list(everything) == ["fan", "qsfp"]
    assert everything["qsfp"] == flipped and everything["fan"].running is True

    store.service_remove("qsfp")
    assert list(store.services()) == ["fan"]
    with pytest.raises(netrig.NotFoundError):
        store.service_remove("qsfp")
    with pytest.raises(netrig.NotFoundError):
        store.service("qsfp")


def test_service_bad_input(store):
    for bad in ("a/b", "", "/"):
        with pytest.raises(netrig.InvalidArgError, match="service name"):
            store.service_set(bad, True)
        with pytest.raises(netrig.InvalidArgError):
            store.service(bad)
    with pytest.raises(TypeError, match="service name"):
        store.service(3)
    with pytest.raises(TypeError, match="running"):
        store.service_set("s", "yes")
    with pytest.raises(ValueError, match="running"):
        store.service_set("s", 2)
    with pytest.raises(TypeError, match="detail"):
        store.service_set("s", True, None)
    assert store.services() == {}


# -- durable stores ------------------------------------------------------------------------


def test_durable_store_survives_close_and_reopen(tmp_path):
    path = tmp_path / "rig.db"
    with netrig.Store.open(path) as s:  # os.PathLike
        assert s.path == str(path) and "rig.db" in repr(s)
        for i, value in enumerate(VALUES):
            s[f"v/{i}"] = value
        s.set("v/short", 1, ttl=0.05)
        s.set("v/long", 2, ttl=3600)
        with s.batch() as b:
            b.set("v/b1", 1)
            b.delete("v/0")
        s.test_start("dur.py", 99, dut="sw3")
        s.test_stop()
        s.service_set("qsfp", True, "pid 1")
        versions = {k: s.get_with_version(k)[1] for k in s.keys("v/")}
    time.sleep(0.1)
    with netrig.Store.open(str(path)) as s:  # str
        assert "v/0" not in s and "v/short" not in s
        for i, value in enumerate(VALUES[1:], 1):
            assert s[f"v/{i}"] == value
        assert s["v/b1"] == 1 and 3500 < s.snapshot("v/long").ttl_remaining("v/long") <= 3600
        assert {k: s.get_with_version(k)[1] for k in s.keys("v/")} == {k: v for k, v in versions.items() if k != "v/short"}
        state = s.test_state()
        assert (state.running, state.script, state.pid, state.run, state.fields) == (False, "dur.py", 99, 1, {"dut": "sw3"})
        assert s.service("qsfp").detail == "pid 1"
        s["v/1"] = "new"
        kept = [v for k, v in versions.items() if k != "v/short"]
        assert s.get_with_version("v/1")[1] > max(kept)  # versions continue above the file's highest


def test_durable_versions_never_repeat_across_delete_and_reopen(tmp_path):
    path = tmp_path / "aba.db"
    with netrig.Store.open(path) as s:
        s["k"] = "a"
        _, seen = s.get_with_version("k")
        s["k"] = "b"
        del s["k"]
    with netrig.Store.open(path) as s:
        s["k"] = "c"
        with pytest.raises(netrig.ConflictError):
            s.cas("k", seen, "written by someone who last saw 'a'")


def test_a_file_is_open_as_one_store_at_a_time(tmp_path):
    path = tmp_path / "once.db"
    with netrig.Store.open(path):
        with pytest.raises(netrig.BusyError, match="already open"):
            netrig.Store.open(path)
    with netrig.Store.open(path) as s:
        s["k"] = 1


def test_durable_power_loss_and_options(tmp_path):
    path = tmp_path / "p.db"
    with netrig.Store.open(path, "power_loss", max_entries=2) as s:
        s["a"], s["b"] = 1, 2
        with pytest.raises(netrig.FullError):
            s["c"] = 3
    with netrig.Store.open(path, durability="power_loss") as s:
        assert dict(s.items()) == {"a": 1, "b": 2}


def test_durable_write_survives_kill_9(tmp_path):
    path = tmp_path / "k.db"
    proc = run_child(
        f"""
        import os, signal, netrig
        s = netrig.Store.open({str(path)!r})
        s["acked"] = "yes"
        s.test_start("crashing.py", os.getpid())
        os.kill(os.getpid(), signal.SIGKILL)
        """,
        timeout=20,
    )
    assert proc.returncode == -9
    with netrig.Store.open(path) as s:
        assert s["acked"] == "yes"
        assert s.test_state().script == "crashing.py" and s.test_state().running


def test_durable_bad_arguments(tmp_path):
    missing = tmp_path / "no-such-dir" / "x.db"
    with pytest.raises(netrig.NetrigIOError) as e:
        netrig.Store.open(missing)
    assert isinstance(e.value, OSError) and str(missing) in str(e.value)
    with pytest.raises(OSError, match="a-dir"):
        (tmp_path / "a-dir").mkdir()
        netrig.Store.open(tmp_path / "a-dir")
    not_sqlite = tmp_path / "garbage.db"
    not_sqlite.write_bytes(b"this is not a database" * 100)
    with pytest.raises(netrig.NetrigIOError, match="garbage.db"):
        netrig.Store.open(not_sqlite)
    for bad in ("crash", "POWER_LOSS", 0, None):
        with pytest.raises(ValueError, match="durability"):
            netrig.Store.open(tmp_path / "d.db", durability=bad)
    with pytest.raises(TypeError, match="path"):
        netrig.Store.open(3)
    with pytest.raises(ValueError, match="NUL"):
        netrig.Store.open("a\0b")
    with pytest.raises(netrig.InvalidArgError):
        netrig.Store.open(tmp_path / "e.db", max_entries=0)
    assert not (tmp_path / "d.db").exists()
    with pytest.raises(TypeError):
        netrig.Store.open(tmp_path / "f.db", "process_crash", 5)  # options are keyword-only


def test_readme_events_block_runs(tmp_path, monkeypatch, capsys):
    """The README's events / state / durable block runs as shown, and its file reopens."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    block = next(b.split("```")[0] for b in readme.split("```py\n")[1:] if "Store.open(" in b)
    monkeypatch.chdir(tmp_path)
    exec(compile(block, "README.md", "exec"), {})
    out = capsys.readouterr().out
    assert "set dut1/temp 41.5" in out and "{'dut': 'sw1', 'phase': 'flap 3/10'}" in out
    with netrig.Store.open(tmp_path / "rig-state.db") as s:
        assert s["dut1/temp"] == 41.5 and s.service("qsfp_service").detail == "pid 4242"
        assert s.test_state().script == "bgp_flap.py" and not s.test_state().running
