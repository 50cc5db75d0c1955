"""netrig.Pool and netrig.Runner against a real fake fleet (the fakedev binary: real SSH servers
on loopback). One fakedev process serves every test of this file."""

import json
import threading
import time
from pathlib import Path

import pytest

import netrig
from netrig import Pool, Runner, Step, ffi

from conftest import FakeFleet

REPO = Path(__file__).resolve().parents[2]

# Groups: name prefix -> (profile, count, extra TOML).
GROUPS = {
    "ios": ("cisco_ios", 30, ""),
    "hang": ("cisco_ios", 3, 'faults = { hang_on = ["show version"] }'),
    "drop": ("cisco_ios", 2, 'faults = { drop_on = ["show version"] }'),
    "denied": ("cisco_ios", 2, "faults = { auth_always_fails = true }"),
    "slow": ("cisco_ios", 3, "faults = { latency_ms = 200 }"),
}


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    """{prefix: [device info, ...]} of a fakedev fleet started for this module."""
    tmp = tmp_path_factory.mktemp("poolfleet")
    toml = []
    for prefix, (profile, count, extra) in GROUPS.items():
        toml += ["[[device]]", f'profile = "{profile}"', f'name = "{prefix}"', f"count = {count}", extra]
    fake = FakeFleet(tmp, "\n".join(toml) + "\n")
    devices = fake.devices
    groups = {}
    for d in devices:
        groups.setdefault(d["name"].rsplit("-", 1)[0], []).append(d)
    assert {k: len(v) for k, v in groups.items()} == {k: v[1] for k, v in GROUPS.items()}
    yield groups
    fake.close()


def target(d, **kw):
    t = dict(
        host=d["host"],
        port=d["port"],
        username=d["username"],
        password=d["password"],
        secret=d["secret"],
        platform="cisco_ios",
        fingerprint=d["host_key_fingerprint"],
        timeout=5.0,
        connect_timeout=3.0,
        auth_timeout=3.0,
    )
    t.update(kw)
    return t


def checkout(pool, d, **kw):
    t = target(d, **kw)
    return pool.checkout(t.pop("host"), t.pop("port"), **t)


# -- Pool ---------------------------------------------------------------------------------------


def test_checkout_returns_and_reuses(fleet):
    d = fleet["ios"][0]
    with Pool(max_per_host=2) as pool:
        with checkout(pool, d) as dev:
            assert "Cisco IOS" in dev.send_command("show version")
        with checkout(pool, d) as dev:
            assert dev.send_command("show clock")
        s = pool.stats()
        assert (s.created, s.reused, s.misses, s.hits, s.in_use, s.idle) == (1, 1, 1, 1, 0, 1)


def test_stampede_opens_one_session_and_threads_share_it(fleet):
    d = fleet["ios"][1]
    with Pool(max_per_host=1) as pool:
        errors, outputs = [], []

        def worker():
            try:
                with checkout(pool, d, timeout=20.0) as dev:
                    outputs.append(dev.send_command("show clock"))
            except Exception as e:  # noqa: BLE001
                errors.append(e)

        threads = [threading.Thread(target=worker) for _ in range(32)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert len(outputs) == 32
        s = pool.stats()
        assert s.created == 1, s
        assert s.peak_in_use == 1
        assert s.waits >= 1


def test_waiter_times_out_with_a_clear_error(fleet):
    d = fleet["ios"][2]
    with Pool(max_per_host=1) as pool:
        held = checkout(pool, d)
        start = time.monotonic()
        with pytest.raises(netrig.NetrigTimeoutError) as e:
            checkout(pool, d, timeout=0.3)
        took = time.monotonic() - start
        assert 0.29 <= took < 1.3, took  # never early; late only by a loaded machine's scheduling
        assert "no session" in str(e.value) and str(d["port"]) in str(e.value)
        assert pool.stats().timed_out_waits == 1
        held.close()
        with checkout(pool, d, timeout=0.3) as dev:  # the returned session, at once
            assert dev.send_command("show clock")


def test_broken_session_is_discarded(fleet):
    d = fleet["hang"][0]
    with Pool() as pool:
        with checkout(pool, d) as dev:
            with pytest.raises(netrig.NetrigTimeoutError):
                dev.send_command("show version", timeout=0.3)
        s = pool.stats()
        assert (s.discarded_broken, s.idle) == (1, 0)
        with checkout(pool, d) as dev:
            assert dev.send_command("show clock")
        assert pool.stats().created == 2


def test_discard_and_close_all(fleet):
    a, b = fleet["ios"][3], fleet["ios"][4]
    with Pool() as pool:
        dev = checkout(pool, a)
        Pool.discard(dev)
        assert dev.closed
        with pytest.raises(netrig.ClosedError):
            dev.send_command("show clock")
        with checkout(pool, b):
            pass
        lent = checkout(pool, a)
        assert pool.stats().idle == 1
        pool.close_all()
        assert pool.stats().idle == 0
        lent.close()
        s = pool.stats()
        assert s.idle == 0 and s.closed_by_close_all == 2 and s.discarded_broken == 1


def test_prewarm_reports_the_hosts_that_failed(fleet):
    good = [target(d) for d in fleet["ios"][5:9]]
    bad = [target(d) for d in fleet["denied"]]
    with Pool() as pool:
        failed = pool.prewarm(good + bad, parallel=4)
        assert set(failed) == {f"{t['host']}:{t['port']}" for t in bad}
        assert all(isinstance(e, netrig.AuthError) for e in failed.values())
        assert pool.stats().idle == 4
        d = fleet["ios"][5]
        with pool.checkout_key(d["host"], d["port"], username=d["username"], platform="cisco_ios") as dev:
            assert dev.send_command("show clock")
        assert pool.stats().created == 4
        with pytest.raises(netrig.NotFoundError):
            pool.checkout_key("127.0.0.1", 1, username="nobody", platform="cisco_ios")

    # Runner targets with a name and data, as an inventory gives them: failures by name.
    named = [dict(target(d), name=f"denied{i}", data={"rack": i}) for i, d in enumerate(fleet["denied"])]
    with Pool() as pool:
        failed = pool.prewarm([dict(target(fleet["ios"][9]), name="ok1")] + named)
        assert set(failed) == {f"denied{i}" for i in range(len(named))}, failed
        assert pool.stats().idle == 1


def test_pool_options_are_checked():
    with pytest.raises(ValueError):
        Pool(max_per_host=0)
    with pytest.raises(TypeError):
        Pool(max_total="many")
    with pytest.raises(ValueError):
        Pool(idle_timeout=-1)


# -- Runner -------------------------------------------------------------------------------------


def fleet_targets(fleet, groups):
    return [target(d) for g in groups for d in fleet[g]]


def test_run_on_a_mixed_fleet(fleet):
    groups = ["ios", "hang", "drop", "denied", "slow"]
    targets = fleet_targets(fleet, groups)
    steps = [Step.command("show clock"), Step.command("show version", timeout=1.0), Step.command("show clock")]
    events = []
    threads = set()

    def progress(e):
        events.append(e)
        # Python calls a foreign thread "Dummy-N"; the OS knows the name netrig gave it.
        threads.add(Path(f"/proc/self/task/{threading.get_native_id()}/comm").read_text().strip())

    start = time.monotonic()
    report = Runner(targets, steps, max_workers=16).run(progress=progress)
    wall = time.monotonic() - start
    by_group = {}
    for t, h in zip(targets, report.hosts):
        g = next(g for g in groups if any(d["port"] == t["port"] for d in fleet[g]))
        by_group.setdefault(g, set()).add(h.state)
    assert by_group == {
        "ios": {"ok"},
        "slow": {"ok"},
        "hang": {"timed_out"},
        "drop": {"failed"},
        "denied": {"failed"},
    }
    for h in report.hosts:
        if h.name.endswith(tuple(f":{d['port']}" for d in fleet["denied"])):
            assert h.connect.status == "NETRIG_E_AUTH" and all(s.state == "skipped" for s in h.steps)
        if h.state == "timed_out":
            assert h.steps[1].status == "NETRIG_E_TIMEOUT" and h.steps[2].state == "skipped"
            assert 0.9 < h.steps[1].duration < 2.0  # its 1 s timeout; room for 16 workers under load
    assert report.totals == {"succeeded": 33, "failed": 4, "timed_out": 3, "cancelled": 0, "skipped": 0}
    assert len(report.failed_hosts) == 7
    assert wall < 10, wall
    assert events[-1].kind == "run_finished"
    assert sum(e.kind == "host_finished" for e in events) == len(targets)
    assert len({e.worker for e in events}) <= 16
    assert threads and all(n.startswith("netrig-run-") for n in threads), threads
    j = json.loads(report.json)
    assert j["totals"] == report.totals


def test_linear_orders_steps_across_hosts_with_a_pool(fleet):
    targets = fleet_targets(fleet, ["ios"])[:10]
    steps = [Step.command("show clock"), Step.command("show ip interface brief")]
    with Pool() as pool:
        with Runner(targets, steps, max_workers=4, strategy="linear", pool=pool).start(events=True) as run:
            events = list(run.events(timeout=30))
            report = run.wait()
        assert report.totals["succeeded"] == 10
        finished_0 = [i for i, e in enumerate(events) if e.kind == "step_finished" and e.step == 0]
        started_1 = [i for i, e in enumerate(events) if e.kind == "step_started" and e.step == 1]
        assert len(finished_0) == len(started_1) == 10
        assert max(finished_0) < min(started_1)
        assert events[-1].kind == "run_finished"
        assert pool.stats().idle == 10  # every session went back


def test_abort_stops_the_run(fleet):
    targets = fleet_targets(fleet, ["denied"]) + fleet_targets(fleet, ["ios"])
    report = Runner(targets, [Step.command("show clock")], max_workers=1, on_failure="abort").run()
    assert report.aborted
    assert str(fleet["denied"][0]["port"]) in report.aborted
    assert report.hosts[0].state == "failed"
    assert report.totals["skipped"] == len(targets) - 1


def test_cancel_from_another_thread(fleet):
    targets = fleet_targets(fleet, ["hang"])
    with Runner(targets, [Step.command("show version", timeout=30)], max_workers=8).start(events=True) as run:
        # Cancel once every host is inside its (hung) step, told by the run's own events.
        events = run.events(timeout=30)
        started = 0
        while started < min(len(targets), 8):
            started += next(events).kind == "step_started"
        start = time.monotonic()
        run.cancel()
        report = run.wait(timeout=5)
        took = time.monotonic() - start
    # Prompt against the steps' 30 s timeout, with room for a loaded 2-core machine.
    assert took < 1.5, took
    assert report.cancelled
    assert {h.state for h in report.hosts} == {"cancelled"}
    assert all(h.steps[0].status == "NETRIG_E_CANCELLED" for h in report.hosts)


def test_wait_timeout_and_events_need_asking(fleet):
    targets = fleet_targets(fleet, ["hang"])[:1]
    with Runner(targets, [Step.command("show version", timeout=2)], max_workers=1).start() as run:
        with pytest.raises(netrig.NetrigTimeoutError):
            run.wait(timeout=0.1)
        with pytest.raises(netrig.InvalidArgError):
            next(run.events(timeout=0.1))
        run.cancel()
        assert run.wait(timeout=5).cancelled


def test_progress_exception_is_reraised_after_the_run(fleet):
    targets = fleet_targets(fleet, ["ios"])[:3]

    def progress(e):
        raise RuntimeError("boom in progress")

    with pytest.raises(RuntimeError, match="boom in progress"):
        Runner(targets, [Step.command("show clock")], max_workers=2).run(progress=progress)


def test_runner_checks_its_arguments(fleet):
    t = fleet_targets(fleet, ["ios"])[:1]
    with pytest.raises(ValueError):
        Runner(t, [], strategy="sideways")
    with pytest.raises(ValueError):
        Runner(t, [], on_failure="shrug")
    with pytest.raises(ValueError):
        Runner(t, [], max_workers=0)
    with pytest.raises(TypeError):
        Runner(t, ["show clock"])
    with pytest.raises(ValueError):
        Runner([dict(port=22)], [])
    with pytest.raises(ValueError):
        Step.command("a\0b")
