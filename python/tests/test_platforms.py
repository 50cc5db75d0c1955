"""Platforms as data from Python, against the real fake fleet: the built-in list, a platform
file (by path and by text) opening a device no built-in platform knows, a file that is refused
with its line and field, error patterns, a prompt pattern that changes a built-in platform,
netmiko names, and a platform file in a runner target."""

import re
from pathlib import Path

import pytest

import netrig
from netrig import Device, Runner, Step

from conftest import REPO, FakeFleet

ACME = """\
# The fake IOS device with made-up prompts: only this file opens it.
name = "acme_os"
description = "Acme OS"
extends = "cisco_ios"

[prompt]
pattern = '^acme7 :: (user|root|config[\\w\\-]*) > $'
user = ':: user > $'
config = ':: config'
"""


def _profile(tmp: Path, name: str, replace: dict) -> Path:
    """A copy of a fake profile of the repo with some lines replaced."""
    text = (REPO / "tests" / "fakedev" / "profiles" / f"{name}.toml").read_text()
    for old, new in replace.items():
        assert old in text, old
        text = text.replace(old, new)
    path = tmp / f"{name}-{len(replace)}-{abs(hash(tuple(replace.items())))}.toml"
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("platforms")
    acme = _profile(
        tmp,
        "cisco_ios",
        {
            'hostname = "R1"': 'hostname = "acme7"',
            'user = "{host}>"': 'user = "{host} :: user > "',
            'enable = "{host}#"': 'enable = "{host} :: root > "',
            'config = "{host}(config)#"': 'config = "{host} :: config > "',
            'config_sub = "{host}({sub})#"': 'config_sub = "{host} :: {sub} > "',
        },
    )
    failing = _profile(tmp, "cisco_ios", {'invalid = "{caret}\\r\\n% Invalid input detected at \'^\' marker.\\r\\n"': 'invalid = "FAILED: line not accepted\\r\\n"'})
    re0 = _profile(tmp, "juniper_junos", {'user = "{user}@{host}> "': 'user = "{user}@{host}:RE0> "'})
    groups = [("acme", acme), ("failing", failing), ("re0", re0), ("ios", "cisco_ios")]
    toml = [f'host_key = "{tmp / "host_key"}"']
    for name, profile in groups:
        toml += ["[[device]]", f'profile = "{profile}"', f'name = "{name}"']
    fake = FakeFleet(tmp, "\n".join(toml) + "\n")
    by_name = {d["name"].rsplit("-", 1)[0]: d for d in fake.devices}
    (tmp / "acme.toml").write_text(ACME)
    yield by_name, tmp
    fake.close()


def _opts(d, **kw):
    o = dict(username=d["username"], password=d["password"], secret=d["secret"], fingerprint=d["host_key_fingerprint"], timeout=5.0)
    o.update(kw)
    return o


def test_platforms_lists_the_built_in_files():
    names = netrig.platforms()
    files = sorted(p.stem for p in (REPO / "src" / "device" / "platform" / "builtin").glob("*.toml"))
    assert names == files
    assert {"cisco_ios", "juniper_junos", "linux", "busybox", "generic"} <= set(names)


def test_a_platform_file_opens_a_device_by_path_and_by_text(fleet):
    devices, tmp = fleet
    d = devices["acme"]
    with Device(d["host"], d["port"], **_opts(d, platform_file=tmp / "acme.toml")) as dev:
        assert dev.send_command("show clock") == "*10:42:13.123 UTC Sat Nov 21 2026\n"
        with pytest.raises(netrig.CommandError, match=r"config line 1 'bogus x' was rejected"):
            dev.send_config_set(["bogus x"])
        assert "[OK]" in dev.save_config()
    with Device(d["host"], d["port"], **_opts(d, platform_text=ACME, platform="acme_os")) as dev:
        assert "UTC" in dev.send_command("show clock")
    # The built-in platform does not know the prompt, and says which platforms would.
    with pytest.raises(netrig.NetrigError, match=r"does not match platform cisco_ios's prompt pattern"):
        Device(d["host"], d["port"], **_opts(d, platform="cisco_ios", timeout=3.0))


def test_a_bad_platform_file_names_the_file_the_line_and_the_field(fleet, tmp_path):
    devices, _ = fleet
    d = devices["ios"]
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "bad"\n\n[prompt]\npattern = \'^(R1\'\n')
    with pytest.raises(netrig.InvalidArgError) as e:
        Device(d["host"], d["port"], **_opts(d, platform_file=bad))
    assert f"platform file {bad}, line 4: prompt.pattern" in str(e.value)
    bad.write_text('name = "bad"\n[prompt]\npattern = \'^R1[>#]$\'\nsetup = 3\n')
    with pytest.raises(netrig.InvalidArgError, match=r"line 4: prompt.setup: unknown field `setup`"):
        Device(d["host"], d["port"], **_opts(d, platform_file=bad))
    with pytest.raises(netrig.InvalidArgError, match="give one of them"):
        Device(d["host"], d["port"], **_opts(d, platform_file=bad, platform_text=ACME))
    with pytest.raises(netrig.InvalidArgError, match="No such file"):
        Device(d["host"], d["port"], **_opts(d, platform_file=tmp_path / "absent.toml"))


def test_error_pattern_and_prompt_pattern_change_a_built_in_platform(fleet):
    devices, _ = fleet
    d = devices["failing"]
    with Device(d["host"], d["port"], **_opts(d, platform="cisco_ios")) as dev:
        dev.send_config_set(["bogus x"])  # "FAILED:" is no error line of cisco_ios
    with Device(d["host"], d["port"], **_opts(d, platform="cisco_ios", error_pattern="^failed:")) as dev:
        with pytest.raises(netrig.CommandError, match="FAILED: line not accepted"):
            dev.send_config_set(["bogus x"])
    d = devices["re0"]
    with Device(d["host"], d["port"], **_opts(d, platform="juniper", prompt_pattern=r"^admin@mx1:RE0[>#] $")) as dev:
        assert "Hostname: mx1" in dev.send_command("show version")


def test_a_runner_target_names_its_platform_file(fleet):
    devices, tmp = fleet
    d = devices["acme"]
    target = dict(host=d["host"], port=d["port"], **_opts(d, platform_file=str(tmp / "acme.toml")))
    report = Runner([target], [Step.command("show clock")]).run()
    host = report.hosts[0]
    assert host.state == "ok", host
    assert host.steps[-1].output == "*10:42:13.123 UTC Sat Nov 21 2026\n"
