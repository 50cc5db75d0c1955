"""netrig.netmiko: typical netmiko scripts (python/tests/netmiko_scripts) run against the fake
fleet with only their import line changed, and the facade's own promises.

Each script runs in a child Python whose HOME holds a ~/.ssh/known_hosts with the fleet's host
key (netrig.netmiko checks host keys; netmiko scripts never pass one), with the device's address
and credentials in environment variables the scripts read."""

import json
import os
import socket
import tomllib
from pathlib import Path

import pytest

import netrig
import netrig.netmiko as nm

from conftest import FakeFleet, run_child

SCRIPTS = Path(__file__).resolve().parent / "netmiko_scripts"
REPO = Path(__file__).resolve().parents[2]

GROUPS = {
    "dut": "",
    "authfail": "faults = { auth_always_fails = true }",
    "slowbanner": "faults = { banner_delay_ms = 30000 }",
    "hang": 'faults = { hang_on = ["show hang"] }',
}


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    """{name prefix: device}, plus "_env": the child environment (HOME with known_hosts)."""
    tmp = tmp_path_factory.mktemp("netmiko-fleet")
    toml = []
    for name, extra in GROUPS.items():
        toml += ["[[device]]", 'profile = "cisco_ios"', f'name = "{name}"', extra]
    with FakeFleet(tmp, "\n".join(toml) + "\n") as fake:
        devices = {d["name"].rsplit("-", 1)[0]: d for d in fake.devices}
        home = tmp / "home"
        (home / ".ssh").mkdir(parents=True)
        known = home / ".ssh" / "known_hosts"
        dut = devices["dut"]
        # Record the fleet's key (every device serves the same one) for each device's port.
        netrig.Device(dut["host"], dut["port"], username=dut["username"], password=dut["password"],
                      platform="cisco_ios", host_key="accept-new", known_hosts=known).close()
        key = known.read_text().split()[1:3]
        known.write_text("".join(f"[{d['host']}]:{d['port']} {' '.join(key)}\n" for d in devices.values()))
        env = {
            "HOME": str(home),
            "DUT_HOST": dut["host"],
            "DUT_PORT": str(dut["port"]),
            "DUT_USER": dut["username"],
            "DUT_PASS": dut["password"],
            "DUT_SECRET": dut["secret"],
            "AUTHFAIL_PORT": str(devices["authfail"]["port"]),
            "SLOWBANNER_PORT": str(devices["slowbanner"]["port"]),
            "HANG_PORT": str(devices["hang"]["port"]),
            "CLOSED_PORT": str(closed_port()),
            "SESSION_LOG": str(tmp / "session.log"),
            "CONFIG_FILE": str(tmp / "config_changes.txt"),
        }
        devices["_env"] = env
        devices["_tmp"] = tmp
        yield devices


def run_script(fleet, name: str, timeout: float = 60) -> str:
    """Runs netmiko_scripts/`name` with its netmiko import pointed at netrig.netmiko."""
    text = (SCRIPTS / name).read_text()
    assert text.count("from netmiko import ") == 1, f"{name}: one netmiko import line, nothing else to change"
    code = text.replace("from netmiko import ", "from netrig.netmiko import ")
    proc = run_child(code, timeout=timeout, env=fleet["_env"])
    assert proc.returncode == 0, f"{name} failed (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def test_simple_connection(fleet):
    assert run_script(fleet, "conn_simple.py").splitlines() == ["R1>", "True", "False"]


def test_show_command(fleet):
    out = run_script(fleet, "show_command.py").splitlines()
    assert out[0].startswith("Interface") and "IP-Address" in out[0]
    assert out[1].split()[:2] == ["GigabitEthernet0/0", "10.0.0.1"]
    # The refused command's text comes back, not an exception.
    assert "% Invalid input detected at '^' marker." in out
    assert "show clock | R1>" in out
    assert out[-1] == "*10:42:13.123 UTC Sat Nov 21 2026"


@pytest.mark.parametrize("name", ["enable_show_run.py", "textfsm_parse.py", "expect_string.py", "send_command_timing.py", "config_changes.py", "exceptions.py"])
def test_debug(fleet, name):
    print("=====", name)
    print(run_script(fleet, name))
