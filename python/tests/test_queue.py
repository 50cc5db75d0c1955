"""The work queue (netrig.Queue, netrig.Item) against the real libnetrig (no mocks)."""

import ctypes
import gc
import random
import threading
import time
from collections import Counter
from ctypes import byref
from pathlib import Path

import pytest
from conftest import run_child, run_child_ok, wait_until_blocked_in

import netrig
from netrig import ffi
from netrig.ffi import lib


@pytest.fixture
def long_main_slices(monkeypatch):
    """The main thread's claim waits in slices of 30 s instead of 0.25 s, so a wake-up that
    only came at the end of a slice (not from the push, close or lease expiry) cannot pass a
    "prompt" bound that leaves room for a loaded machine."""
    monkeypatch.setattr(netrig.queue, "_MAIN_THREAD_SLICE", 30.0)


@pytest.fixture
def q():
    queue = netrig.Queue()
    yield queue
    queue.close()


def elapsed_of(fn):
    t0 = time.monotonic()
    try:
        fn()
    except BaseException as e:  # noqa: BLE001
        return time.monotonic() - t0, e
    return time.monotonic() - t0, None


def run_thread(fn, started=None):
    """Starts `fn` in a thread; returns (thread, outcome) where outcome gets "value" or
    "error", and "at" (monotonic time it ended). `started`, an Event, is set right before
    `fn` is called."""
    outcome = {}

    def body():
        if started is not None:
            started.set()
        try:
            outcome["value"] = fn()
        except BaseException as e:  # noqa: BLE001
            outcome["error"] = e
        outcome["at"] = time.monotonic()

    t = threading.Thread(target=body)
    t.start()
    return t, outcome


# -- layout and raw calls ----------------------------------------------------------------------


def test_struct_layouts_and_defaults_match_the_header():
    o = ffi.netrig_queue_options
    assert ctypes.sizeof(o) == 32 and o.struct_size.offset == 0
    assert (o.max_items.offset, o.max_attempts.offset, o.lease_ms.offset, o.max_payload.offset) == (8, 16, 20, 24)
    assert ctypes.sizeof(ffi.netrig_queue_counts) == 40 and ffi.netrig_queue_counts.completed.offset == 32
    d = ffi.netrig_queue_options()
    assert lib.netrig_queue_options_default(byref(d), ctypes.sizeof(d)) == ffi.NETRIG_OK
    assert (d.max_items, d.max_attempts, d.lease_ms, d.max_payload) == (100000, 3, 30000, 16 << 20)
    assert ffi.NETRIG_WAIT_FOREVER == 0xFFFFFFFF


def test_raw_calls_with_bad_handles_and_options_return_statuses():
    h = ffi.netrig_queue()
    assert lib.netrig_queue_new(None, byref(h)) == ffi.NETRIG_OK  # NULL options: the defaults
    out = ffi.netrig_item()
    assert lib.netrig_queue_claim(ffi.netrig_queue(0), 0, byref(out)) == ffi.NETRIG_E_INVALID_HANDLE
    assert lib.netrig_queue_claim(h, 0, None) == ffi.NETRIG_E_NULL_ARG
    assert lib.netrig_queue_complete(h, ffi.netrig_item(h.id)) == ffi.NETRIG_E_INVALID_HANDLE  # wrong kind
    assert lib.netrig_item_free(ffi.netrig_item(12345)) == ffi.NETRIG_E_INVALID_HANDLE
    assert lib.netrig_queue_free(h) == ffi.NETRIG_OK
    assert lib.netrig_queue_free(h) == ffi.NETRIG_E_INVALID_HANDLE
    opts = ffi.netrig_queue_options()
    assert lib.netrig_queue_options_default(byref(opts), ctypes.sizeof(opts)) == ffi.NETRIG_OK
    opts.max_attempts = 0
    assert lib.netrig_queue_new(byref(opts), byref(h)) == ffi.NETRIG_E_INVALID_ARG
    assert "max_attempts" in netrig.last_error()
    # A struct never filled by netrig_queue_options_default has struct_size 0: refused.
    assert lib.netrig_queue_new(byref(ffi.netrig_queue_options()), byref(h)) == ffi.NETRIG_E_INVALID_ARG
    assert "struct_size is 0" in netrig.last_error()


# -- order, payloads, bounds -------------------------------------------------------------------


def test_priority_then_fifo_order(q):
    pushed = [(b"low-1", 0), (b"high-1", 5), (b"neg", -3), (b"low-2", 0), (b"high-2", 5), (b"top", 2**31 - 1)]
    ids = [q.push(p, priority=prio) for p, prio in pushed]
    assert ids == list(range(1, 7))
    got = []
    for _ in pushed:
        with q.claim(0) as item:
            got.append((item.payload, item.priority))
            item.complete()
    assert got == [(b"top", 2**31 - 1), (b"high-1", 5), (b"high-2", 5), (b"low-1", 0), (b"low-2", 0), (b"neg", -3)]
    assert q.counts() == netrig.QueueCounts(0, 0, 0, 0, 6)


def test_payload_types_round_trip(q):
    payloads = ["héllo ✓", b"", b"\x00\xff\x00", bytearray(b"ba"), memoryview(b"mv"), bytes(range(256)) * 40]
    for p in payloads:
        q.push(p)
    got = [q.claim(0).payload for _ in payloads]
    assert got == ["héllo ✓".encode(), b"", b"\x00\xff\x00", b"ba", b"mv", bytes(range(256)) * 40]
    assert all(type(p) is bytes for p in got)


def test_full_queue_raises_full_error_naming_the_counts():
    with netrig.Queue(max_items=3, max_attempts=1) as q:
        for i in range(3):
            q.push(f"job {i}")
        q.suspend(1)
        with pytest.raises(netrig.FullError) as e:
            q.push("one too many")
        msg = str(e.value)
        assert "3 of 3 items" in msg and "2 pending" in msg and "1 suspended" in msg and "resume" in msg
        assert q.counts().pending == 2  # nothing changed
        item = q.claim(0)
        item.fail(retry=False)
        with pytest.raises(netrig.FullError, match=r"1 failed.*purge_failed"):
            q.push("still full")
        assert q.purge_failed() == 1
        assert q.push("room again") == 4


def test_payload_over_max_payload_is_refused():
    with netrig.Queue(max_payload=10) as q:
        assert q.push(b"x" * 10) == 1
        with pytest.raises(netrig.InvalidArgError, match="max_payload 10"):
            q.push(b"x" * 11)
        assert q.counts().pending == 1


# -- claims: timeouts, wake-ups, close, GIL, Ctrl-C ---------------------------------------------


def test_claim_timeout_accuracy(q):
    took, err = elapsed_of(lambda: q.claim(0))
    assert isinstance(err, netrig.NetrigTimeoutError) and isinstance(err, TimeoutError)
    assert "none pending" in str(err) and took < 1.0  # no wait (a wait would be unbounded)
    # The main thread waits in slices; the message gives the whole wait.
    took, err = elapsed_of(lambda: q.claim(0.6))
    # Never early; late only by a loaded machine's scheduling.
    assert isinstance(err, netrig.NetrigTimeoutError) and 0.6 <= took < 1.1, took
    waited = int(str(err).split("none came within ")[1].split(" ms")[0])
    assert 590 <= waited < 1100, str(err)
    # Another thread waits in one call.
    t, out = run_thread(lambda: elapsed_of(lambda: q.claim(0.3)))
    t.join(5)
    took, err = out["value"]
    assert isinstance(err, netrig.NetrigTimeoutError) and 0.3 <= took < 0.8, took


def test_a_blocked_claim_gets_an_item_pushed_by_another_thread_promptly(q, long_main_slices):
    started = threading.Event()
    t, out = run_thread(lambda: q.claim(None), started)
    wait_until_blocked_in(t, started, "claim")
    assert t.is_alive() and not out
    pushed_at = time.monotonic()
    q.push(b"work")
    t.join(10)
    # Prompt against a wait without limit, with room for a loaded 2-core machine.
    assert out["value"].payload == b"work" and out["at"] - pushed_at < 1.0
    # The main thread (waiting in a 30 s slice here) is woken as promptly.
    pushed = {}

    def push_later():
        pushed["at"] = time.monotonic()
        q.push(b"more")

    timer = threading.Timer(0.1, push_later)
    timer.start()
    item = q.claim(None)
    assert item.payload == b"more" and time.monotonic() - pushed["at"] < 1.0


def test_close_from_another_thread_wakes_a_blocked_claim_and_the_gil_is_free():
    q = netrig.Queue()
    started = threading.Event()
    t, out = run_thread(lambda: q.claim(None), started)  # not the main thread: one C call, no limit
    wait_until_blocked_in(t, started, "claim")
    # While the claimer waits in C, this thread runs Python freely: the GIL is released.
    counted, t0 = 0, time.monotonic()
    while time.monotonic() - t0 < 0.2:
        counted += 1
    assert counted > 10_000
    assert t.is_alive() and "error" not in out
    closed_at = time.monotonic()
    q.close()
    t.join(10)
    assert not t.is_alive()
    # Prompt against a wait without limit, with room for a loaded 2-core machine.
    assert isinstance(out["error"], netrig.ClosedError) and out["at"] - closed_at < 1.0
    with pytest.raises(netrig.ClosedError):
        q.claim(0)
    with pytest.raises(netrig.ClosedError):
        q.push(b"x")
    q.close()  # idempotent


def test_close_from_another_thread_wakes_a_claim_on_the_main_thread(long_main_slices):
    q = netrig.Queue()
    closed = {}

    def close_later():
        closed["at"] = time.monotonic()
        q.close()

    threading.Timer(0.1, close_later).start()
    took, err = elapsed_of(lambda: q.claim(None))
    # Woken by the close, not by the end of the 30 s slice; room for a loaded machine.
    assert isinstance(err, netrig.ClosedError) and time.monotonic() - closed["at"] < 1.0, took


def test_ctrl_c_stops_a_claim_waiting_on_the_main_thread():
    out = run_child_ok(
        """
        import os, signal, threading, time, netrig
        q = netrig.Queue()
        threading.Timer(0.2, lambda: os.kill(os.getpid(), signal.SIGINT)).start()
        t0 = time.monotonic()
        try:
            q.claim()
        except KeyboardInterrupt:
            print("interrupted after", round(time.monotonic() - t0, 2))
        q.push(b"still usable")
        print(q.claim(0).payload)
        """,
        timeout=20,
    )
    lines = out.split("\n")
    assert lines[0].startswith("interrupted after") and float(lines[0].split()[-1]) < 1.0
    assert lines[1] == "b'still usable'"


# -- leases ------------------------------------------------------------------------------------


def test_lease_expiry_returns_the_item_and_a_late_complete_raises_lease_error(q):
    q.push(b"slow job")
    # 0.5 s: long enough that the count right after the claim still sees it held under load.
    first = q.claim(0, lease=0.5)
    assert first.attempt == 1 and q.counts().processing == 1
    time.sleep(0.6)
    c = q.counts()
    assert (c.pending, c.processing) == (1, 0)
    with pytest.raises(netrig.LeaseError, match=r"item 1: lease of claim 1 expired \d+ ms ago; the item is pending"):
        first.complete()
    second = q.claim(0)
    assert (second.id, second.attempt, second.payload) == (1, 2, b"slow job")
    with pytest.raises(netrig.LeaseError, match="processing again"):
        first.complete()  # a stale claim can never settle the new one
    second.complete()
    with pytest.raises(netrig.LeaseError, match="no longer in the queue"):
        second.complete()
    assert q.counts().completed == 1


def test_expired_lease_wakes_a_waiting_claimer(q, long_main_slices):
    q.push(b"j")
    t0 = time.monotonic()
    q.claim(0, lease=0.5)  # abandoned at once (the Item is garbage)
    again = q.claim(10.0)  # one 10 s slice: only the expiry can end it early
    took = time.monotonic() - t0
    # Not before the lease ran out; woken by its expiry with room for a loaded machine.
    assert again.attempt == 2 and 0.49 <= took < 1.5, took


def test_extend_keeps_the_lease(q):
    q.push(b"long job")
    item = q.claim(0, lease=0.5)  # 0.5 s: still held when extended right away, also under load
    item.extend(5.0)
    time.sleep(0.6)  # past the first lease
    assert q.counts().processing == 1
    q.extend(item, 0.05)
    time.sleep(0.1)
    with pytest.raises(netrig.LeaseError):
        item.extend(1.0)  # a lease that ran out cannot be renewed
    assert q.counts().pending == 1


def test_fail_retries_up_to_max_attempts_then_failed():
    with netrig.Queue(max_attempts=3) as q:
        q.push(b"flaky")
        statuses = []
        for attempt in (1, 2, 3):
            with q.claim(0) as item:
                assert item.attempt == attempt
                statuses.append(item.fail(error=f"try {attempt}"))
        assert statuses == ["pending", "pending", "failed"]
        with pytest.raises(netrig.NetrigTimeoutError, match="1 failed"):
            q.claim(0)
        assert q.counts() == netrig.QueueCounts(0, 0, 0, 1, 0)
        (info,) = q.snapshot()["items"]
        assert (info["status"], info["attempts"], info["last_error"]) == ("failed", 3, "try 3")
        # Without retry, failed at the first attempt; the lease ends with it.
        q.push(b"fatal")
        item = q.claim(0)
        assert q.fail(item, retry=False, error="x" * 10_000) == "failed"
        with pytest.raises(netrig.LeaseError, match="already ended with fail"):
            item.complete()
        errors = {i["id"]: i["last_error"] for i in q.snapshot()["items"]}
        assert len(errors[2]) == ffi.NETRIG_QUEUE_MAX_ERROR_LEN
        # The last lease running out fails the item too.
        with netrig.Queue(max_attempts=1) as q1:
            q1.push(b"hang")
            q1.claim(0, lease=0.02)
            time.sleep(0.05)
            assert q1.counts().failed == 1
            assert "expired" in q1.snapshot()["items"][0]["last_error"]


# -- operators ---------------------------------------------------------------------------------


def test_suspend_resume_retry_purge(q):
    ids = [q.push(f"job {i}".encode()) for i in range(6)]
    q.suspend(ids[0])
    q.suspend(ids[0])  # already suspended: harmless
    q.suspend(ids[1])
    held = q.claim(0)
    assert held.id == ids[2]  # suspended items are skipped
    q.suspend(held.id)  # revokes the lease
    with pytest.raises(netrig.LeaseError, match="revoked by suspend"):
        held.complete()
    assert q.counts() == netrig.QueueCounts(3, 0, 3, 0, 0)
    q.resume(ids[1])
    q.resume(ids[3])  # pending: left as it is
    assert q.claim(0).id == ids[1]  # its original place in line
    assert q.resume_all() == 2
    assert q.resume_all() == 0
    assert [q.claim(0).id for _ in range(2)] == [ids[0], ids[2]]
    for _ in range(3):
        q.fail(q.claim(0), retry=False)
    assert q.counts().failed == 3
    with pytest.raises(netrig.InvalidArgError, match="failed"):
        q.suspend(ids[3])
    with pytest.raises(netrig.InvalidArgError, match="retry_failed"):
        q.resume(ids[3])
    assert q.retry_failed() == 3
    item = q.claim(0)
    assert item.attempt == 1  # attempts were reset
    q.fail(item, retry=False)
    assert q.purge_failed() == 1 and q.purge_failed() == 0
    with pytest.raises(netrig.NotFoundError) as e:
        q.suspend(item.id)
    assert isinstance(e.value, KeyError) and "not there" in str(e.value)
    with pytest.raises(netrig.NotFoundError):
        q.resume(999)
    assert q.counts().failed == 0


def test_counts_and_snapshot(q):
    q.push("a", priority=1)
    q.push(b"\xff\xfe", priority=2)
    q.push("c")
    q.push("d")
    held = q.claim(0, lease=10)  # id 2
    q.suspend(4)
    failing = q.claim(0)  # id 1
    failing.fail(retry=False, error="bad")
    snap = q.snapshot()
    assert snap["queue"] == "memory"
    assert snap["counts"] == {"pending": 1, "processing": 1, "suspended": 1, "failed": 1, "completed": 0}
    assert q.counts() == netrig.QueueCounts(**snap["counts"])
    items = snap["items"]
    assert [(i["id"], i["status"]) for i in items] == [(3, "pending"), (2, "processing"), (4, "suspended"), (1, "failed")]
    by_id = {i["id"]: i for i in items}
    assert (by_id[2]["payload"], by_id[2]["payload_encoding"]) == ("fffe", "hex")
    assert (by_id[3]["payload"], by_id[3]["payload_encoding"]) == ("c", "utf8")
    assert 9000 < by_id[2]["lease_remaining_ms"] <= 10000 and by_id[3]["lease_remaining_ms"] is None
    assert by_id[1]["last_error"] == "bad" and by_id[2]["attempts"] == 1
    held.complete()
    assert q.counts().completed == 1


def test_snapshot_larger_than_the_first_buffer(q):
    for i in range(200):
        q.push(f"{i:05d}".encode() * 200)  # 1000 bytes each
    snap = q.snapshot()
    assert len(snap["items"]) == 200 and snap["items"][199]["payload"] == "00199" * 200
    assert len(q.snapshot()["items"]) == 200  # from the remembered size


# -- items -------------------------------------------------------------------------------------


def test_item_context_manager_frees_without_settling(q):
    q.push(b"p")
    with q.claim(0, lease=5) as item:
        assert not item.closed
    assert item.closed and item.payload == b"p" and item.id == 1 and item.attempt == 1
    assert q.counts().processing == 1  # freeing did not settle it
    with pytest.raises(netrig.ClosedError, match="can no longer be settled"):
        item.complete()
    with pytest.raises(netrig.ClosedError):
        q.fail(item)
    item.close()  # idempotent
    assert "closed" in repr(item)
    with pytest.raises(TypeError):
        netrig.Item()


def test_items_outlive_their_queue_and_refuse_other_queues():
    a, b = netrig.Queue(), netrig.Queue()
    a.push(b"from a")
    b.push(b"from b")
    item_a, item_b = a.claim(0), b.claim(0)
    with pytest.raises(ValueError, match="claimed from"):
        a.complete(item_b)
    with pytest.raises(TypeError):
        a.complete("1")
    a.close()
    assert item_a.payload == b"from a"
    with pytest.raises(netrig.ClosedError):
        item_a.complete()
    item_b.complete()
    b.close()
    del item_a
    gc.collect()


def test_garbage_collected_items_and_queues_are_freed():
    q = netrig.Queue()
    q.push(b"x")
    item = q.claim(0, lease=0.05)
    raw_item, raw_queue = ffi.netrig_item(item.handle.id), ffi.netrig_queue(q.handle.id)
    del item
    gc.collect()
    assert lib.netrig_item_free(raw_item) == ffi.NETRIG_E_INVALID_HANDLE
    del q
    gc.collect()
    assert lib.netrig_queue_close(raw_queue) == ffi.NETRIG_E_INVALID_HANDLE


# -- many threads ------------------------------------------------------------------------------


def test_producers_and_consumers_settle_every_item_exactly_once():
    producers, per_producer, consumers = 3, 200, 4
    q = netrig.Queue(max_attempts=3, lease=0.05)
    lock = threading.Lock()
    pushed, completed, claims, lease_errors = [], [], [], []
    failed_by_fail = set()
    producing = [producers]

    def producer(n):
        rng = random.Random(n)
        for i in range(per_producer):
            item_id = q.push(f"p{n}-{i}", priority=rng.randrange(3))
            with lock:
                pushed.append(item_id)
        with lock:
            producing[0] -= 1

    def consumer(n):
        rng = random.Random(100 + n)
        while True:
            try:
                item = q.claim(0.1)
            except netrig.NetrigTimeoutError:
                c = q.counts()
                with lock:
                    done = producing[0] == 0
                if done and c.pending == 0 and c.processing == 0:
                    return
                continue
            with item:
                with lock:
                    claims.append((item.id, item.attempt))
                assert 1 <= item.attempt <= 3
                roll = rng.random()
                try:
                    if roll < 0.6:
                        item.complete()
                        with lock:
                            completed.append(item.id)
                    elif roll < 0.85:
                        if item.fail(error="flaky") == "failed":
                            with lock:
                                failed_by_fail.add(item.id)
                    # else: abandoned; the lease runs out and the item comes back
                except netrig.LeaseError:
                    with lock:
                        lease_errors.append(item.id)  # held longer than 50 ms under load

    threads = [threading.Thread(target=producer, args=(n,)) for n in range(producers)]
    threads += [threading.Thread(target=consumer, args=(n,)) for n in range(consumers)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not any(t.is_alive() for t in threads)
    assert time.monotonic() - t0 < 15

    all_ids = set(range(1, producers * per_producer + 1))
    assert sorted(pushed) == sorted(all_ids)
    counts = q.counts()
    snap = q.snapshot()
    failed = {i["id"] for i in snap["items"]}
    assert all(i["status"] == "failed" for i in snap["items"])
    assert len(completed) == len(set(completed)), "an item was completed twice"
    assert set(completed) | failed == all_ids and not set(completed) & failed
    assert failed_by_fail <= failed
    assert (counts.pending, counts.processing, counts.suspended) == (0, 0, 0)
    assert counts.completed == len(completed) and counts.failed == len(failed)
    # Each claim of an item is a new attempt: (id, attempt) never repeats.
    dup = [k for k, n in Counter(claims).items() if n > 1]
    assert not dup, dup
    for i in snap["items"]:
        assert i["attempts"] == 3
    q.close()


# -- durable queues ----------------------------------------------------------------------------


def test_durable_queue_reopens_with_claims_pending_and_counts_kept(tmp_path):
    path = tmp_path / "work.db"
    with netrig.Queue.open(path, "jobs", lease=30) as q:
        assert q.path == str(path) and q.name == "jobs"
        assert [q.push(p) for p in (b"a", b"b", b"c", b"d")] == [1, 2, 3, 4]
        held = q.claim(0)  # a: claimed, never settled
        q.claim(0).complete()  # b
        q.fail(q.claim(0), retry=False, error="broken")  # c
        q.suspend(4)
        assert held.id == 1
    assert held.payload == b"a"
    with pytest.raises(netrig.ClosedError):
        held.complete()
    with netrig.Queue.open(path, "jobs") as q:
        assert q.counts() == netrig.QueueCounts(pending=1, processing=0, suspended=1, failed=1, completed=1)
        again = q.claim(0)
        assert (again.id, again.payload, again.attempt) == (1, b"a", 2)  # its first attempt counted
        again.complete()
        items = {i["id"]: i for i in q.snapshot()["items"]}
        assert items[3]["last_error"] == "broken" and items[4]["status"] == "suspended"
        assert q.push(b"e") == 5  # ids continue
        assert q.counts().completed == 2
    with netrig.Queue.open(str(path), "other") as other:  # another name in the same file
        assert other.counts() == netrig.QueueCounts(0, 0, 0, 0, 0)


def test_durable_queue_survives_a_crash(tmp_path):
    path = tmp_path / "crash.db"
    proc = run_child(
        f"""
        import os, netrig
        q = netrig.Queue.open({str(path)!r}, durability="power_loss")
        for i in range(3):
            q.push(f"job {{i}}")
        q.claim(0).complete()
        item = q.claim(0)
        os._exit(9)  # no close, no commit at exit
        """,
        timeout=20,
    )
    assert proc.returncode == 9, proc.stderr
    with netrig.Queue.open(path) as q:
        assert q.counts() == netrig.QueueCounts(2, 0, 0, 0, 1)
        item = q.claim(0)
        assert (item.payload, item.attempt) == (b"job 1", 2)


def test_second_open_of_the_same_name_is_busy(tmp_path):
    path = tmp_path / "busy.db"
    first = netrig.Queue.open(path, "q")
    with pytest.raises(netrig.BusyError):
        netrig.Queue.open(path, "q")
    first.push(b"x")
    first.close()
    with netrig.Queue.open(path, "q") as again:
        assert again.counts().pending == 1


def test_durable_open_errors(tmp_path):
    for bad in ("crash", "POWER_LOSS", 0, None):
        with pytest.raises(ValueError, match="durability"):
            netrig.Queue.open(tmp_path / "d.db", durability=bad)
    with pytest.raises(TypeError, match="path"):
        netrig.Queue.open(3)
    with pytest.raises(ValueError, match="NUL"):
        netrig.Queue.open("a\0b")
    with pytest.raises(TypeError, match="name"):
        netrig.Queue.open(tmp_path / "d.db", 3)
    with pytest.raises(ValueError, match="NUL"):
        netrig.Queue.open(tmp_path / "d.db", "a\0b")
    for name in ("", "n" * 257):
        with pytest.raises(netrig.InvalidArgError, match="1 to 256 bytes"):
            netrig.Queue.open(tmp_path / "d.db", name)
    with pytest.raises(TypeError):
        netrig.Queue.open(tmp_path / "d.db", "q", "process_crash", 5)  # options are keyword-only
    with pytest.raises(netrig.NetrigIOError) as e:
        netrig.Queue.open(tmp_path)  # a directory
    assert isinstance(e.value, OSError) and str(tmp_path) in str(e.value)


# -- bad arguments -----------------------------------------------------------------------------


def test_bad_arguments_raise_clear_errors(q):
    for kwargs, exc in [
        (dict(max_items=0), ValueError),
        (dict(max_items=-1), ValueError),
        (dict(max_items="3"), TypeError),
        (dict(max_items=True), TypeError),
        (dict(max_attempts=2**32), ValueError),
        (dict(lease=0), ValueError),
        (dict(lease=-1), ValueError),
        (dict(lease=float("nan")), ValueError),
        (dict(lease="30"), TypeError),
        (dict(max_payload=1.5), TypeError),
    ]:
        with pytest.raises(exc):
            netrig.Queue(**kwargs)
    for payload in (123, None, ["a"], 1.5, object()):
        with pytest.raises(TypeError, match="bytes or str"):
            q.push(payload)
    with pytest.raises(ValueError, match="UTF-8"):
        q.push("\ud800")  # a lone surrogate has no UTF-8 form
    with pytest.raises(OverflowError):
        q.push(b"x", priority=2**31)
    for prio in ("1", 1.5, None, True):
        with pytest.raises(TypeError, match="priority"):
            q.push(b"x", priority=prio)
    for timeout, exc in ((-1, ValueError), ("1", TypeError), (float("nan"), ValueError), (1e12, ValueError)):
        with pytest.raises(exc):
            q.claim(timeout)
    with pytest.raises(ValueError):
        q.claim(0, lease=0)
    q.push(b"x")
    item = q.claim(0)
    with pytest.raises(TypeError, match="retry"):
        q.fail(item, "some error")  # the error text passed as `retry` by mistake
    with pytest.raises(TypeError, match="error"):
        item.fail(error=3)
    with pytest.raises(ValueError, match="NUL"):
        item.fail(error="a\0b")
    with pytest.raises(ValueError):
        item.extend(0)
    for bad_id, exc in (("1", TypeError), (-1, OverflowError), (2**64, OverflowError), (1.0, TypeError)):
        with pytest.raises(exc):
            q.suspend(bad_id)
    assert q.counts().processing == 1  # nothing above touched the claimed item
    item.complete()


# -- README ------------------------------------------------------------------------------------


def test_readme_queue_block_runs(tmp_path, monkeypatch, capsys):
    """The README's work-queue block runs as shown, and its file reopens."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    block = next(b.split("```")[0] for b in readme.split("```py\n")[1:] if "Queue.open(" in b)
    monkeypatch.chdir(tmp_path)
    exec(compile(block, "README.md", "exec"), {})
    out = capsys.readouterr().out
    assert "1 pending" in out
    assert "QueueCounts(pending=0, processing=0, suspended=0, failed=0, completed=2)" in out
    with netrig.Queue.open(tmp_path / "rig-queue.db", "uploads") as q:
        assert q.counts().completed == 2
