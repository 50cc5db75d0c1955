"""Ctrl-C during a blocking device, pool or runner call on the main thread (netrig._interrupt).

Each test runs a child Python against the real fake fleet: the child starts the call, a timer
sends it SIGINT at 0.5 s, and the child prints how long after the signal KeyboardInterrupt
came and what the device (or pool, or run) does next. The calls' own deadlines are 4 s or
more, so an interrupt seen "within 1 s" cannot be the deadline passing (the goal is 100 ms;
the bound leaves room for a loaded machine)."""

import json
import textwrap

import pytest

from conftest import FakeFleet, run_child

# Interrupted within this many seconds of SIGINT: far under every deadline of these calls.
PROMPT = 1.0

GROUPS = {
    "ok": "",
    "hang": 'faults = { hang_on = ["show hang"] }',
    # The login waits 30 s: the open (and a checkout that opens) blocks until then.
    "slowauth": "faults = { auth_delay_ms = 30000 }",
}

PRELUDE = """
import json, os, signal, sys, threading, time
import netrig

fleet = {d["name"].rsplit("-", 1)[0]: d for d in json.loads(os.environ["NETRIG_TEST_FLEET"])}

def target(name, **kw):
    d = fleet[name]
    return dict(host=d["host"], port=d["port"], username=d["username"], password=d["password"],
                platform="cisco_ios", fingerprint=d["host_key_fingerprint"], **kw)

def device(name, **kw):
    return netrig.Device(**target(name, **kw))

sent = []

def sigint_in(seconds):
    def fire():
        sent.append(time.monotonic())
        os.kill(os.getpid(), signal.SIGINT)
    threading.Timer(seconds, fire).start()

def interrupted(call):
    \"\"\"Runs call() with SIGINT coming at 0.5 s; prints how long after it KeyboardInterrupt came.\"\"\"
    sent.clear()
    sigint_in(0.5)
    started = time.monotonic()
    try:
        call()
    except KeyboardInterrupt:
        assert sent and sent[0] > started, "the signal came before the call began"
        print("interrupted after", round(time.monotonic() - sent[0], 3), flush=True)
        return
    print("not interrupted", flush=True)
"""


@pytest.fixture(scope="module")
def fleet_env(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("interrupt-fleet")
    toml = []
    for name, extra in GROUPS.items():
        toml += ["[[device]]", 'profile = "cisco_ios"', f'name = "{name}"', extra]
    with FakeFleet(tmp, "\n".join(toml) + "\n") as fake:
        yield {"NETRIG_TEST_FLEET": json.dumps(fake.devices)}


def child(fleet_env, body: str) -> list[str]:
    proc = run_child(PRELUDE + textwrap.dedent(body), timeout=30, env=fleet_env)
    assert proc.returncode == 0, f"child failed (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout.splitlines()


def assert_prompt(line: str) -> None:
    assert line.startswith("interrupted after"), line
    assert float(line.split()[-1]) < PROMPT, line


def test_ctrl_c_cancels_a_command_waiting_for_a_pattern_and_the_device_goes_on(fleet_env):
    # The device answered, but the expect pattern never matches: the call would wait its 4 s.
    out = child(
        fleet_env,
        """
        dev = device("ok")
        interrupted(lambda: dev.send_command("show clock", expect="never-printed", timeout=4))
        print("next:", "R1 uptime" in dev.send_command("show version", timeout=10))
        print("alive:", dev.is_alive())
        """,
    )
    assert_prompt(out[0])
    assert out[1:] == ["next: True", "alive: True"]


def test_ctrl_c_cancels_a_command_on_a_hung_device(fleet_env):
    # The device prints its output and then never a prompt again, and ignores all input: the
    # next command can only time out (naming the earlier operation); closed, it says closed.
    out = child(
        fleet_env,
        """
        dev = device("hang")
        interrupted(lambda: dev.send_command("show hang", timeout=4))
        try:
            dev.send_command("show clock", timeout=1)
        except netrig.NetrigTimeoutError as e:
            print("next: timeout;", "earlier operation" in str(e))
        dev.close()
        try:
            dev.send_command("show clock")
        except netrig.ClosedError as e:
            print("after close:", type(e).__name__)
        """,
    )
    assert_prompt(out[0])
    assert out[1:] == ["next: timeout; True", "after close: ClosedError"]


def test_ctrl_c_during_config_mode_changes_and_is_alive(fleet_env):
    # Every blocking device call takes the same path, not only send_command.
    out = child(
        fleet_env,
        """
        dev = device("hang", secret=fleet["hang"]["secret"])
        interrupted(lambda: dev.send_config_set(["show hang"], timeout=4))
        dev.close()
        dev = device("hang")
        try:
            dev.send_command("show hang", timeout=0.3)  # hangs the device
        except netrig.NetrigTimeoutError:
            pass
        interrupted(lambda: dev.is_alive(timeout=4))
        """,
    )
    assert_prompt(out[0])
    assert_prompt(out[1])


def test_ctrl_c_during_an_open_closes_what_it_opened(fleet_env):
    out = child(
        fleet_env,
        """
        interrupted(lambda: device("slowauth", auth_timeout=60))
        print("another open:", device("ok").is_alive())
        """,
    )
    assert_prompt(out[0])
    assert out[1] == "another open: True"


def test_ctrl_c_during_a_pool_checkout(fleet_env):
    out = child(
        fleet_env,
        """
        pool = netrig.Pool()
        t = target("slowauth", auth_timeout=60)
        host, port = t.pop("host"), t.pop("port")
        interrupted(lambda: pool.checkout(host, port, **t))
        t = target("ok")
        host, port = t.pop("host"), t.pop("port")
        with pool.checkout(host, port, **t) as dev:
            print("pool usable:", "R1 uptime" in dev.send_command("show version"))
        # A checkout waiting for a session of a host at its limit is interrupted too.
        small = netrig.Pool(max_per_host=1)
        held = small.checkout(host, port, **t)
        interrupted(lambda: small.checkout(host, port, timeout=10, **t))
        held.close()
        with small.checkout(host, port, timeout=10, **t) as dev:
            print("after the wait:", dev.is_alive())
        # A prewarm that waits on a slow login; the fast host's session stays in the pool.
        warm = netrig.Pool()
        interrupted(lambda: warm.prewarm([target("slowauth", auth_timeout=60), target("ok")]))
        deadline = time.monotonic() + 10
        while warm.stats().idle < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        print("prewarmed:", warm.stats().idle)
        """,
    )
    assert_prompt(out[0])
    assert out[1] == "pool usable: True"
    assert_prompt(out[2])
    assert out[3] == "after the wait: True"
    assert_prompt(out[4])
    assert out[5] == "prewarmed: 1"


def test_ctrl_c_during_a_run_wait_leaves_the_run_to_cancel(fleet_env):
    out = child(
        fleet_env,
        """
        runner = netrig.Runner([target("hang")], [netrig.Step.command("show hang", timeout=20)])
        with runner.start() as run:
            interrupted(run.wait)
            print("still going:", not run.done())
            run.cancel()
            report = run.wait(timeout=10)
            print("cancelled:", report.cancelled, report.hosts[0].steps[0].state)
        # Runner.run() cancels the run on its way out.
        t0 = time.monotonic()
        interrupted(lambda: runner.run())
        """,
    )
    assert_prompt(out[0])
    assert out[1] == "still going: True"
    assert out[2] == "cancelled: True cancelled"
    assert_prompt(out[3])


def test_a_wait_in_slices_still_times_out_with_its_whole_timeout(fleet_env):
    out = child(
        fleet_env,
        """
        runner = netrig.Runner([target("hang")], [netrig.Step.command("show hang", timeout=20)])
        with runner.start() as run:
            t0 = time.monotonic()
            try:
                run.wait(timeout=0.3)
            except netrig.NetrigTimeoutError as e:
                print(round(time.monotonic() - t0, 1) >= 0.3, e)
        """,
    )
    assert out[0] == "True the run is still running after 300 ms [NETRIG_E_TIMEOUT]", out


def test_a_program_with_its_own_sigint_handler_keeps_it(fleet_env):
    # Only Python's default handler takes the interruptible path: a program that handles SIGINT
    # itself sees its handler run, and the call is not cancelled behind its back.
    out = child(
        fleet_env,
        """
        seen = []
        signal.signal(signal.SIGINT, lambda *a: seen.append(time.monotonic()))
        dev = device("ok")
        sigint_in(0.3)
        try:
            dev.send_command("show clock", expect="never-printed", timeout=1.5)
        except netrig.NetrigTimeoutError:
            print("timed out; handler ran:", len(seen))
        """,
    )
    assert out == ["timed out; handler ran: 1"]
