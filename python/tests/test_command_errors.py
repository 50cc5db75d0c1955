"""Failure detection on every command, from Python, against the fake fleet: a refused command
raises CommandError with the device's answer in .output; check=False returns it with .failed;
error_pattern= replaces the patterns; Device(check_errors=False); each call kind; pickling;
the runner's command step; and normal output that mentions errors is no failure."""

import pickle

import pytest

import netrig
from netrig import CommandError, Device, Output, Runner, Step

from conftest import FakeFleet

REFUSAL = "% Invalid input detected at '^' marker."
CLOCK = "*10:42:13.123 UTC Sat Nov 21 2026\n"


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("command-errors")
    toml = [f'host_key = "{tmp / "host_key"}"']
    for profile in ("cisco_ios", "juniper_junos", "linux"):
        toml += ["[[device]]", f'profile = "{profile}"', f'name = "{profile}"']
    with FakeFleet(tmp, "\n".join(toml) + "\n") as fake:
        yield {d["profile"]: d for d in fake.devices}


def options(d, **kw):
    o = dict(
        username=d["username"],
        password=d["password"],
        secret=d["secret"],
        platform=d["profile"],
        fingerprint=d["host_key_fingerprint"],
        timeout=5.0,
    )
    o.update(kw)
    return o


def open_device(fleet, profile, **kw):
    d = fleet[profile]
    return Device(d["host"], d["port"], **options(d, **kw))


@pytest.fixture(scope="module")
def ios(fleet):
    with open_device(fleet, "cisco_ios") as dev:
        yield dev


def test_a_refused_command_raises_with_its_output(ios):
    with pytest.raises(CommandError) as info:
        ios.send_command("show ip bgp summary bogus")
    e = info.value
    assert e.status == netrig.ffi.NETRIG_E_COMMAND
    assert "device 127.0.0.1:" in e.message and "command 'show ip bgp summary bogus' failed" in e.message
    assert f'"{REFUSAL}"' in e.message
    out = e.output
    assert isinstance(out, Output) and isinstance(out, str)
    assert out.failed and out.error == REFUSAL and out.endswith(REFUSAL + "\n") and "^" in out
    assert (out.command, out.platform) == ("show ip bgp summary bogus", "cisco_ios")
    # The device stays usable, and a normal output is not failed.
    ok = ios.send_command("show clock")
    assert ok == CLOCK and not ok.failed and ok.error is None
    assert (ok.command, ok.platform) == ("show clock", "cisco_ios")


def test_check_false_returns_the_output_marked(ios):
    out = ios.send_command("show bogus", check=False)
    assert out.failed and out.error == REFUSAL and out.text.endswith(REFUSAL + "\n")
    # The other call kinds take check= too.
    assert ios.send_command("show bogus", expect=r"marker\.", check=False).failed
    assert ios.send_command_timing("show bogus", quiet=0.2, check=False).error == REFUSAL
    steps = [("delete flash:old.bin", r"\? $"), ("", r"\[confirm\]"), ("n", None)]
    dialogue = ios.send_interactive(steps, check=False)
    assert dialogue.error == "%Error: delete aborted" and "Delete filename [old.bin]?" in dialogue
    out = ios.send_config_set(["bogus line", "hostname R8"], check=False)
    assert out.failed and out.error == REFUSAL and out.command == "bogus line\nhostname R8"
    assert "R8 uptime" in ios.send_command("show version"), "every line was sent"


def test_each_call_kind_raises(ios):
    with pytest.raises(CommandError, match="command 'show bogus' failed") as info:
        ios.send_command("show bogus", expect=r"marker\.")
    assert info.value.output.error == REFUSAL
    with pytest.raises(CommandError, match="command 'show bogus' failed"):
        ios.send_command_timing("show bogus", quiet=0.2)
    with pytest.raises(CommandError, match="step 3 'n' of the dialogue failed") as info:
        ios.send_interactive([("delete flash:old.bin", r"\? $"), ("", r"\[confirm\]"), ("n", "")])
    assert info.value.output.error == "%Error: delete aborted"
    with pytest.raises(CommandError, match="config line 2 'bogus line' was rejected") as info:
        ios.send_config_set(["hostname R7", "bogus line", "hostname R9"])
    out = info.value.output
    assert out.error == REFUSAL and out.startswith("hostname R7\n") and "hostname R9" not in out


def test_error_pattern_replaces_the_patterns_for_one_call(ios):
    with pytest.raises(CommandError) as info:
        ios.send_command("show clock", error_pattern=r"\butc\b")
    assert info.value.output.error == CLOCK.strip(), "matched case-insensitively"
    assert not ios.send_command("show bogus", error_pattern="(?-i)utc").failed
    out = ios.send_command("show version", check=False, error_pattern="uptime")
    assert out.failed and "uptime is" in out.error
    with pytest.raises(netrig.InvalidArgError, match=r"error_pattern '\('"):
        ios.send_command("show clock", error_pattern="(")
    with pytest.raises(TypeError, match="check is a bool"):
        ios.send_command("show clock", check="no")


def test_the_devices_check_errors_and_error_pattern(fleet):
    with open_device(fleet, "cisco_ios", check_errors=False) as dev:
        out = dev.send_command("show bogus")
        assert out.failed and out.error == REFUSAL
        with pytest.raises(CommandError):
            dev.send_command("show bogus", check=True)
    with open_device(fleet, "cisco_ios", error_pattern="^Processor board") as dev:
        assert not dev.send_command("show bogus").failed
        with pytest.raises(CommandError, match="Processor board ID"):
            dev.send_command("show version")


def test_other_platforms_refusals_and_normal_output(fleet):
    with open_device(fleet, "juniper_junos") as dev:
        with pytest.raises(CommandError, match="syntax error, expecting <command>"):
            dev.send_command("frobnicate")
        assert "Hostname:" in dev.send_command("show version")
    with open_device(fleet, "linux") as dev:
        with pytest.raises(CommandError) as info:
            dev.send_command("frobnicate --now")
        assert info.value.output.error == "sh: 1: frobnicate: not found"
        # A normal line that says "error" and "failed" is not a refusal.
        out = dev.send_command("echo '0 input errors, 0 CRC; 0 failed logins; invalid packets: 0'")
        assert not out.failed and "0 input errors" in out


def test_outputs_and_command_errors_pickle(ios):
    with pytest.raises(CommandError) as info:
        ios.send_command("show bogus")
    e = pickle.loads(pickle.dumps(info.value))
    assert isinstance(e, CommandError) and e.message == info.value.message
    assert e.output == info.value.output and e.output.error == REFUSAL and e.output.command == "show bogus"
    out = pickle.loads(pickle.dumps(ios.send_command("show clock")))
    assert type(out) is Output and out == CLOCK and out.platform == "cisco_ios" and not out.failed
    assert CommandError("no output").output is None


def test_a_runner_command_step_fails_and_keeps_the_output(fleet):
    d = fleet["cisco_ios"]
    target = dict(host=d["host"], port=d["port"], **options(d))
    steps = [Step.command("show clock"), Step.command("show bogus"), Step.command("show version")]
    report = Runner([target], steps, max_workers=1).run()
    host = report.hosts[0]
    assert host.state == "failed"
    ok, bad, skipped = host.steps
    assert ok.state == "ok" and ok.output == CLOCK
    assert bad.state == "failed" and bad.status == "NETRIG_E_COMMAND"
    assert "show bogus" in bad.error and REFUSAL in bad.error
    assert bad.output.endswith(REFUSAL + "\n")
    assert skipped.state == "skipped"
