"""TextFSM parsing (netrig.parse, Output.parse, send_command(parse=True)) with ntc-templates'
own templates (the ntc_templates package, installed by scripts/setup.sh --test), against the
fake fleet; every fake profile command that has a template parses to the records Python's
textfsm (ntc_templates.parse_output) gives."""
import json
import os
import tomllib
from pathlib import Path

import pytest
import ntc_templates
from ntc_templates.parse import parse_output

import netrig
from conftest import FakeFleet

REPO = Path(__file__).resolve().parents[2]
PROFILES = REPO / "tests" / "fakedev" / "profiles"
OWN = REPO / "tests" / "parse_templates"
NTC = Path(ntc_templates.__file__).resolve().parent / "templates"

# Netrig platform -> ntc-templates' name, where they differ (netrig looks up cisco_xe in the
# cisco_ios rows itself; ntc_templates.parse_output does not).
NTC_NAME = {"cisco_xe": "cisco_ios"}


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("parse-fleet")
    toml = [f'host_key = "{tmp / "host_key"}"']
    for p in ("cisco_ios", "arista_eos"):
        toml += ["[[device]]", f'profile = "{p}"', f'name = "{p}"']
    with FakeFleet(tmp, "\n".join(toml) + "\n") as fake:
        yield {d["name"].rsplit("-", 1)[0]: d for d in fake.devices}


def open_device(fleet, name, **kw):
    d = fleet[name]
    return netrig.Device(
        d["host"],
        d["port"],
        username=d["username"],
        password=d["password"],
        platform=d["profile"],
        fingerprint=d["host_key_fingerprint"],
        timeout=5.0,
        **kw,
    )


def profile_outputs():
    """(profile, hostname-filled command, text) for every plain-text command of every profile."""
    for f in sorted(PROFILES.glob("*.toml")):
        d = tomllib.loads(f.read_text())
        for cmd, out in d.get("commands", {}).items():
            if isinstance(out, str):
                yield d["name"], cmd, out.replace("{host}", d.get("hostname", "host")).replace("\r", "")


def test_records_equal_python_textfsm_on_every_fake_profile_command():
    compared = 0
    for platform, cmd, text in profile_outputs():
        try:
            want = parse_output(platform=NTC_NAME.get(platform, platform), command=cmd, data=text)
        except Exception as e:  # no template, or the template's Error action: netrig must fail too
            with pytest.raises(netrig.NetrigError):
                netrig.parse(text, platform, cmd, templates=NTC)
            assert "No template" in str(e) or "Error" in str(e), e
            continue
        got = netrig.parse(text, platform, cmd, templates=NTC)
        assert got == want, f"{platform} {cmd}"
        compared += bool(want)
    assert compared >= 25, f"only {compared} commands parsed to records"


def test_parse_text_from_anywhere_with_abbreviations():
    text = (PROFILES / "cisco_ios.toml").read_text()
    brief = tomllib.loads(text)["commands"]["show ip interface brief"].replace("\r", "")
    rows = netrig.parse(brief, "cisco_ios", "sh ip int br", templates=NTC)
    assert [(r["interface"], r["ip_address"], r["status"], r["proto"]) for r in rows] == [
        ("GigabitEthernet0/0", "10.0.0.1", "up", "up"),
        ("GigabitEthernet0/1", "192.168.1.1", "up", "up"),
        ("GigabitEthernet0/2", "unassigned", "administratively down", "down"),
        ("Loopback0", "1.1.1.1", "up", "up"),
    ]
    assert list(rows[0]) == ["interface", "ip_address", "status", "proto"], "the template's order, lower case"


def test_templates_come_from_the_argument_the_environment_or_ntc_templates(monkeypatch, tmp_path):
    monkeypatch.delenv("NETRIG_TEMPLATES", raising=False)
    assert netrig.templates_dir() == str(NTC)
    assert netrig.parse("nothing\n", "cisco_ios", "show version") == []
    monkeypatch.setenv("NETRIG_TEMPLATES", str(tmp_path))
    with pytest.raises(netrig.NotFoundError, match="index"):
        netrig.parse("x\n", "cisco_ios", "show version")
    assert netrig.parse("x\n", "cisco_ios", "show version", templates=NTC) == []


def test_errors_name_platform_command_file_and_line():
    with pytest.raises(netrig.NotFoundError) as e:
        netrig.parse("x\n", "cisco_ios", "show frobnicator", templates=NTC)
    assert "cisco_ios" in str(e.value) and "show frobnicator" in str(e.value) and "index" in str(e.value)
    with pytest.raises(netrig.InvalidArgError, match=r"broken_show_thing\.textfsm:2"):
        netrig.parse("a 1\n", "own_os", "show thing", templates=OWN / "broken")
    with pytest.raises(netrig.CommandError, match="own_show_fail"):
        netrig.parse("bad line\n", "own_os", "show fail", templates=OWN / "own")
    with pytest.raises(TypeError):
        netrig.parse(b"bytes", "cisco_ios", "show version", templates=NTC)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        netrig.parse("x", "cisco\0ios", "show version", templates=NTC)


def test_send_command_parse_and_output_parse(fleet):
    with open_device(fleet, "cisco_ios", templates=NTC) as dev:
        version = dev.send_command("show version", parse=True)
        assert isinstance(version, list) and version[0]["version"] == "15.7(3)M4"
        assert version[0]["hostname"] == "R1" and version[0]["serial"] == ["FTX1840ALBS"]
        out = dev.send_command("show interfaces")
        ints = out.parse()
        assert [(r["interface"], r["link_status"], r["ip_address"]) for r in ints] == [
            ("GigabitEthernet0/0", "up", "10.0.0.1"),
            ("GigabitEthernet0/1", "up", "192.168.1.1"),
            ("GigabitEthernet0/2", "administratively down", ""),
        ]
        assert out.parse(NTC) == ints
        assert netrig.parse(out, "cisco_ios", "show interfaces", templates=NTC) == ints, "an Output is a str"
    d = fleet["arista_eos"]
    with netrig.Device(
        d["host"], d["port"], username=d["username"], password=d["password"], platform="autodetect",
        fingerprint=d["host_key_fingerprint"], timeout=5.0,
    ) as dev:  # the detected platform picks the template; no templates=: an installed ntc_templates
        rows = dev.send_command("show ip interface brief", parse=True)
        assert (rows[0]["interface"], rows[0]["ip_address"], rows[0]["status"]) == ("Ethernet1", "10.1.1.1/31", "up")
        assert json.loads(json.dumps(rows)) == rows


def test_runner_command_steps_carry_records(fleet):
    d = fleet["cisco_ios"]
    target = dict(
        host=d["host"], port=d["port"], username=d["username"], password=d["password"], platform="cisco_ios",
        fingerprint=d["host_key_fingerprint"], timeout=5.0, templates=str(NTC), name="r1",
    )
    steps = [
        netrig.Step.command("show ip interface brief", parse=True),
        netrig.Step.command("show clock"),
        netrig.Step.command("show running-config", parse=True),  # no ntc template
    ]
    host = netrig.Runner([target], steps, max_workers=1).run().hosts[0]
    brief, clock, config = host.steps
    assert brief.ok and [(r["interface"], r["status"]) for r in brief.records][:2] == [
        ("GigabitEthernet0/0", "up"),
        ("GigabitEthernet0/1", "up"),
    ]
    assert clock.ok and clock.records is None
    assert config.state == "failed" and config.status == "NETRIG_E_NOT_FOUND"
    assert "r1" in config.error and "show running-config" in config.error


def test_readme_parsing_block_runs(fleet, monkeypatch):
    """README.md "### Parsing output": run against the fake cisco_ios device with the installed
    ntc_templates found without configuration; checks what it prints."""
    import contextlib
    import io
    import re

    text = (REPO / "README.md").read_text()
    block = re.search(r"### Parsing output\n.*?```py\n(.*?)```", text, re.S).group(1)
    monkeypatch.delenv("NETRIG_TEMPLATES", raising=False)
    printed = io.StringIO()
    with open_device(fleet, "cisco_ios") as dev, contextlib.redirect_stdout(printed):
        exec(compile(block, "README.md ### Parsing output", "exec"), {"dev": dev})
    assert printed.getvalue().splitlines() == [
        "GigabitEthernet0/0 10.0.0.1 up",
        "GigabitEthernet0/1 192.168.1.1 up",
        "GigabitEthernet0/2 unassigned administratively down",
        "Loopback0 1.1.1.1 up",
        "15.7(3)M4 R1 ['FTX1840ALBS']",
        "{'interface': 'Loopback0', 'ip_address': '1.1.1.1', 'status': 'up', 'proto': 'up'}",
    ]


def test_a_template_file_without_an_index(fleet, tmp_path):
    f = tmp_path / "clock.textfsm"
    f.write_text("Value TIME (\\S+)\nValue ZONE (\\S+)\n\nStart\n  ^\\*?${TIME} ${ZONE} -> Record\n")
    with open_device(fleet, "cisco_ios") as dev:
        out = dev.send_command("show clock")
        assert out.parse(f) == [{"time": "10:42:13.123", "zone": "UTC"}]
        assert netrig.parse_template(out, f) == out.parse(str(f))
    with pytest.raises(netrig.NotFoundError, match="nope.textfsm"):
        netrig.parse_template("x", tmp_path / "nope.textfsm")
    with pytest.raises(netrig.InvalidArgError, match=r"broken_show_thing\.textfsm:2"):
        netrig.parse_template("x", OWN / "broken" / "broken_show_thing.textfsm")
