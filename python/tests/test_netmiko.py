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

# name prefix -> (profile, the group's faults)
GROUPS = {
    "dut": ("cisco_ios", ""),
    "authfail": ("cisco_ios", "faults = { auth_always_fails = true }"),
    "slowbanner": ("cisco_ios", "faults = { banner_delay_ms = 30000 }"),
    "hang": ("cisco_ios", 'faults = { hang_on = ["show hang"] }'),
    "junos": ("juniper_junos", ""),
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
    for name, (profile, extra) in GROUPS.items():
        toml += ["[[device]]", f'profile = "{profile}"', f'name = "{name}"', extra]
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
            # The installed ntc_templates, whatever the environment points at.
            "NET_TEXTFSM": "",
            "NETRIG_TEMPLATES": "",
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



def test_enable_and_show_run(fleet):
    assert run_script(fleet, "enable_show_run.py").splitlines() == [
        "enable mode: True",
        "Building configuration...",
        "True",
        "R1>",
    ]


def test_use_textfsm(fleet):
    out = run_script(fleet, "textfsm_parse.py").splitlines()
    assert "list ['GigabitEthernet0/0', 'GigabitEthernet0/1', 'GigabitEthernet0/2', 'Loopback0']" in out
    assert "'ip_address': '10.0.0.1'" in "\n".join(out)  # pprint of the records
    assert out[-1] == "str"  # no template for "show running-config": the text


def test_expect_string_answers_the_questions(fleet):
    out = run_script(fleet, "expect_string.py")
    assert "delete flash:old.bin\nDelete filename [old.bin]?" in out
    assert "Delete flash0:/old.bin? [confirm]" in out
    assert "aborted" not in out and "Invalid input" not in out, out


def test_send_command_timing_answers_the_questions(fleet):
    out = run_script(fleet, "send_command_timing.py")
    assert out.startswith("copy running-config startup-config\nDestination filename [startup-config]?")
    assert "Overwrite the existing startup-config? [yes/no]:" in out
    assert "Building configuration...\n[OK]" in out and "aborted" not in out, out


def test_config_changes_and_save(fleet):
    out = run_script(fleet, "config_changes.py").splitlines()
    assert out[:4] == ["interface GigabitEthernet0/1", "description uplink to core", "exit", "logging buffered 20000"]
    assert "[OK]" in out and "config mode after: False" in out
    assert "interface GigabitEthernet0/2" in out and "shutdown" in out
    # The rejected line's answer comes back (netmiko does not raise without error_pattern) ...
    assert "% Invalid input detected at '^' marker." in out
    # ... and raises with it.
    assert "ConfigInvalidException raised" in out
    assert out[-2:] == ["R1(config)# True", "R1# False"]
    log = Path(fleet["_env"]["SESSION_LOG"]).read_text()
    assert "description uplink to core" in log and fleet["_env"]["DUT_SECRET"] not in log


def test_exception_handling(fleet):
    assert run_script(fleet, "exceptions.py").splitlines() == [
        "good connected: R1>",
        "authfail NetmikoAuthenticationException",
        "slowbanner NetmikoTimeoutException",
        "closed NetmikoTimeoutException",
        "hang ReadTimeout",
        "ValueError: Unsupported 'device_type' 'cisco_nonsense': currently supported platforms are:",
    ]


# -- the facade's own promises ------------------------------------------------------------------


def dut_options(fleet, **kw):
    d = fleet["dut"]
    return dict(device_type="cisco_ios", host=d["host"], port=d["port"], username=d["username"],
                password=d["password"], fingerprint=d["host_key_fingerprint"], **kw)


def test_device_types_are_the_platform_files_netmiko_names():
    """The facade's table equals the `netmiko` lists of the built-in platform files."""
    files = {}
    for path in (REPO / "src" / "device" / "platform" / "builtin").glob("*.toml"):
        data = tomllib.loads(path.read_text())
        files[data["name"]] = sorted(data.get("netmiko", []))
    assert {p: sorted(n) for p, n in nm._NETMIKO_NAMES.items()} == {p: n for p, n in files.items() if n}
    assert set(files) == set(netrig.platforms())
    for platform, names in files.items():
        for name in [platform, *names]:
            assert nm._DEVICE_TYPES[name] == platform
    assert nm.platforms == sorted(nm._DEVICE_TYPES)


def test_unknown_device_type_and_keywords_fail_before_connecting():
    with pytest.raises(ValueError, match=r"(?s)Unsupported 'device_type' 'cisco_nonsense'.*\ncisco_ios\n.*juniper\n"):
        nm.ConnectHandler(device_type="cisco_nonsense", host="192.0.2.1", username="u")
    with pytest.raises(ValueError, match="ip or host"):
        nm.ConnectHandler(device_type="cisco_ios", username="u")
    with pytest.raises(TypeError, match="unexpected keyword argument 'colour'"):
        nm.ConnectHandler(device_type="cisco_ios", host="192.0.2.1", username="u", colour="red")
    with pytest.raises(TypeError, match="does not support sock="):
        nm.ConnectHandler(device_type="cisco_ios", host="192.0.2.1", username="u", sock=object())
    with pytest.raises(TypeError, match="session_log is a file path"):
        nm.ConnectHandler(device_type="cisco_ios", host="192.0.2.1", username="u", session_log=object())
    with pytest.raises(TypeError, match="keyword arguments only"):
        nm.ConnectHandler("cisco_ios")


def test_an_unknown_host_key_says_how_to_pass_one(fleet, tmp_path):
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    opts = dut_options(fleet)
    del opts["fingerprint"]
    with pytest.raises(nm.NetmikoHostKeyException) as e:
        nm.ConnectHandler(**opts, known_hosts=empty)
    text = str(e.value)
    assert "known_hosts=" in text and "fingerprint=" in text and "accept-new" in text
    assert isinstance(e.value.__cause__, netrig.HostKeyError)
    # netmiko's own way to name a known_hosts file works too.
    netrig.Device(opts["host"], opts["port"], username=opts["username"], password=opts["password"],
                  platform="cisco_ios", host_key="accept-new", known_hosts=empty).close()
    with nm.ConnectHandler(**opts, alt_host_keys=True, alt_key_file=str(empty)) as conn:
        assert conn.is_alive()


def test_netmiko_knobs_are_accepted_and_the_connection_is_a_netrig_device(fleet):
    with nm.ConnectHandler(**dut_options(fleet, global_delay_factor=2, fast_cli=True, verbose=True)) as conn:
        assert isinstance(conn.device, netrig.Device)
        assert conn.base_prompt == "R1"
        assert not conn.check_enable_mode() and not conn.check_config_mode()
        with pytest.raises(ValueError, match="Failed to enter enable mode"):
            conn.enable()  # no secret given
        assert conn.send_command("show clock", delay_factor=4, max_loops=1000).startswith("*10:42")
        with pytest.raises(ValueError, match="TextFSM only"):
            conn.send_command("show clock", use_genie=True)
    assert not conn.is_alive()
    # netrig's own keywords pass through: this connection raises on the device's error lines.
    with nm.ConnectHandler(**dut_options(fleet, check_errors=True)) as conn:
        with pytest.raises(netrig.CommandError) as e:
            conn.send_command("show ip bgp summary bogus")
        assert e.value.output.failed and "% Invalid input" in e.value.output


def test_textfsm_template_and_net_textfsm(fleet, tmp_path, monkeypatch):
    monkeypatch.delenv("NET_TEXTFSM", raising=False)
    template = tmp_path / "clock.textfsm"
    template.write_text("Value TIME (\\S+)\nValue TZ (\\S+)\n\nStart\n  ^\\*${TIME}\\s+${TZ} -> Record\n")
    with nm.ConnectHandler(**dut_options(fleet)) as conn:
        assert conn.send_command("show clock", textfsm_template=str(template)) == [
            {"time": "10:42:13.123", "tz": "UTC"}
        ]
        # NET_TEXTFSM (netmiko's variable) points at a templates directory without this
        # command: the text comes back.
        index_dir = tmp_path / "templates"
        index_dir.mkdir()
        (index_dir / "index").write_text("Template, Hostname, Platform, Command\n\nclock.textfsm, .*, cisco_ios, sh[[ow]] cl[[ock]]\n")
        (index_dir / "clock.textfsm").write_text(template.read_text())
        monkeypatch.setenv("NET_TEXTFSM", str(tmp_path))
    with nm.ConnectHandler(**dut_options(fleet)) as conn:
        assert conn.send_command("show clock", use_textfsm=True) == [{"time": "10:42:13.123", "tz": "UTC"}]
        assert isinstance(conn.send_command("show version", use_textfsm=True), str)


def test_readme_coming_from_netmiko_block_runs(fleet, capsys, monkeypatch):
    """README "### Coming from netmiko": run against the fleet's device."""
    monkeypatch.delenv("NET_TEXTFSM", raising=False)
    monkeypatch.delenv("NETRIG_TEMPLATES", raising=False)
    readme = (REPO / "README.md").read_text()
    section = readme.split("### Coming from netmiko", 1)[1]
    block = section.split("```py\n", 1)[1].split("```", 1)[0]
    d = fleet["dut"]
    assert block.count('"host": "10.0.0.5"') == 1 and block.count('"SHA256:..."') == 1
    code = block.replace('"host": "10.0.0.5"', f'"host": "{d["host"]}", "port": {d["port"]}').replace(
        '"SHA256:..."', json.dumps(d["host_key_fingerprint"])
    )
    exec(compile(code, "README.md", "exec"), {})
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "R1#"
    assert out[1] == "GigabitEthernet0/0 10.0.0.1"
    assert "% Invalid input detected at '^' marker." in out[2:]


def test_commit_on_junos(fleet):
    d = fleet["junos"]
    with nm.ConnectHandler(device_type="juniper", host=d["host"], port=d["port"], username=d["username"],
                           password=d["password"], fingerprint=d["host_key_fingerprint"]) as conn:
        conn.send_config_set(["set system host-name R2"], exit_config_mode=False)
        assert conn.check_config_mode()
        assert "commit complete" in conn.commit()
        assert conn.check_config_mode()  # netmiko's commit stays in configuration mode ...
        conn.commit(and_quit=True)  # ... unless asked to leave
        assert not conn.check_config_mode()
        assert conn.find_prompt().endswith("@R2>")
        with pytest.raises(ValueError, match="no comment or confirm"):
            conn.commit(comment="x")


def test_device_find_prompt_and_mode(fleet):
    """Device.find_prompt / mode (netrig_device_prompt), which the facade stands on."""
    d = fleet["dut"]
    with netrig.Device(d["host"], d["port"], username=d["username"], password=d["password"], secret=d["secret"],
                       platform="cisco_ios", fingerprint=d["host_key_fingerprint"]) as dev:
        assert (dev.find_prompt(), dev.mode()) == ("R1#", "privileged")
        dev.config_mode()
        assert (dev.find_prompt(), dev.mode()) == ("R1(config)#", "config")
        long_name = "R" * 63  # the longest IOS hostname: a prompt longer than the first buffer tried
        dev.send_config_set([f"hostname {long_name}"], exit=False)
        assert (dev.find_prompt(), dev.mode()) == (f"{long_name}(config)#", "config")
        dev.send_config_set(["hostname R1"])
        dev.exit_enable()
        assert (dev.find_prompt(), dev.mode()) == ("R1>", "user")
    with pytest.raises(netrig.ClosedError):
        dev.find_prompt()


def test_sshdetect_and_autodetect(fleet):
    for prefix, platform in (("dut", "cisco_ios"), ("junos", "juniper_junos")):
        d = fleet[prefix]
        device = dict(device_type="autodetect", host=d["host"], port=d["port"], username=d["username"],
                      password=d["password"], fingerprint=d["host_key_fingerprint"])
        guesser = nm.SSHDetect(**device)
        best_match = guesser.autodetect()
        assert best_match == platform and guesser.potential_matches == {platform: 99}
        # netmiko's next step: connect with the match.
        device["device_type"] = best_match
        with nm.ConnectHandler(**device) as conn:
            assert conn.platform == platform
        # ConnectHandler(device_type="autodetect") detects at open too.
        with nm.ConnectHandler(**dict(device, device_type="autodetect")) as conn:
            assert conn.platform == platform and conn.device_type == "autodetect"
    with pytest.raises(ValueError, match="must be 'autodetect'"):
        nm.SSHDetect(device_type="cisco_ios", host="192.0.2.1")
