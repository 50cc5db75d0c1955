"""netrig.Inventory (Nornir-style YAML) and named runner targets, against a fake fleet (the
fakedev binary: real SSH servers on loopback). The YAML is written per test from the fleet's
ports and host keys."""

import json
import typing
from pathlib import Path

import pytest

import netrig
from netrig import Inventory, Runner, Step

from conftest import FakeFleet


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    """{prefix: [device info, ...]}: 4 good cisco_ios devices and one that hangs on show clock."""
    tmp = tmp_path_factory.mktemp("invfleet")
    toml = (
        '[[device]]\nprofile = "cisco_ios"\nname = "ios"\ncount = 4\n'
        '[[device]]\nprofile = "cisco_ios"\nname = "hang"\ncount = 1\nfaults = { hang_on = ["show clock"] }\n'
    )
    fake = FakeFleet(tmp, toml)
    groups = {}
    for d in fake.devices:
        groups.setdefault(d["name"].rsplit("-", 1)[0], []).append(d)
    yield groups
    fake.close()


def write_inventory(tmp: Path, fleet, env_var: str) -> Path:
    """sw1..sw4 (the good devices; sw1-sw2 in core, sw3-sw4 in access) and hung (edge);
    the password comes from `env_var`."""
    devs = fleet["ios"] + fleet["hang"]
    names = ["sw1", "sw2", "sw3", "sw4", "hung"]
    groups = ["core", "core", "access", "access", "edge"]
    hosts = ""
    for i, (name, group, d) in enumerate(zip(names, groups, devs)):
        hosts += (
            f"{name}:\n  port: {d['port']}\n  fingerprint: '{d['host_key_fingerprint']}'\n"
            f"  groups: [{group}]\n  data:\n    index: {i}\n    rack: {{row: {i // 2}}}\n"
        )
    (tmp / "hosts.yaml").write_text(hosts)
    (tmp / "groups.yaml").write_text(
        "ios:\n  platform: cisco_ios\n  data: {os: ios, site: lab}\n"
        "core:\n  groups: [ios]\n  data: {role: core}\n"
        "access:\n  groups: [ios]\n  data: {role: access, site: branch}\n"
        "edge:\n  groups: [ios]\n  data: {role: edge}\n"
    )
    d = devs[0]
    (tmp / "defaults.yaml").write_text(
        f"hostname: 127.0.0.1\nusername: {d['username']}\npassword: '${{env:{env_var}}}'\n"
        f"secret: {d['secret']}\ntimeout: 5\nconnect_timeout: 3\n"
    )
    return tmp


def load(tmp):
    return Inventory.from_files(tmp / "hosts.yaml", tmp / "groups.yaml", tmp / "defaults.yaml")


def test_from_files_resolves_groups_defaults_and_env_credentials(fleet, tmp_path, monkeypatch):
    monkeypatch.setenv("NETRIG_PY_INV_PASSWORD", fleet["ios"][0]["password"])
    inv = load(write_inventory(tmp_path, fleet, "NETRIG_PY_INV_PASSWORD"))
    assert len(inv) == 5
    assert [h.name for h in inv] == ["sw1", "sw2", "sw3", "sw4", "hung"]
    sw3 = inv["sw3"]
    assert sw3.groups == ["access"]
    assert sw3.all_groups == ["access", "ios"]
    assert sw3.data == {"index": 2, "rack": {"row": 1}, "role": "access", "site": "branch", "os": "ios"}
    assert (sw3.hostname, sw3.port, sw3.platform) == ("127.0.0.1", fleet["ios"][2]["port"], "cisco_ios")
    assert sw3.options["password"] == fleet["ios"][0]["password"]
    assert "password" not in repr(sw3) and fleet["ios"][0]["password"] not in repr(sw3)
    assert set(inv.hosts) == {"sw1", "sw2", "sw3", "sw4", "hung"}
    assert "sw1" in inv and "nope" not in inv
    monkeypatch.delenv("NETRIG_PY_INV_PASSWORD")
    with pytest.raises(netrig.InvalidArgError, match=r"defaults\.yaml, line 3: password: environment variable NETRIG_PY_INV_PASSWORD is not set"):
        load(tmp_path)


def test_filter_by_name_group_data_strings_and_callables(fleet, tmp_path, monkeypatch):
    monkeypatch.setenv("NETRIG_PY_INV_PASSWORD", "x")
    inv = load(write_inventory(tmp_path, fleet, "NETRIG_PY_INV_PASSWORD"))
    names = lambda i: [h.name for h in i]  # noqa: E731
    assert names(inv.filter(name="sw*")) == ["sw1", "sw2", "sw3", "sw4"]
    assert names(inv.filter(group="core")) == ["sw1", "sw2"]
    assert names(inv.filter(group="ios")) == ["sw1", "sw2", "sw3", "sw4", "hung"]
    assert names(inv.filter(site="branch")) == ["sw3", "sw4"]
    assert names(inv.filter(rack__row=1)) == ["sw3", "sw4"]
    assert names(inv.filter(index=4, role="edge")) == ["hung"]
    assert names(inv.filter("group=core or role=edge")) == ["sw1", "sw2", "hung"]
    assert names(inv.filter("not site=lab", name="sw?")) == ["sw3", "sw4"]
    assert names(inv.filter(lambda h: h.data["index"] % 2 == 0)) == ["sw1", "sw3", "hung"]
    # Filters narrow what is already narrowed.
    assert names(inv.filter(group="core").filter(name="*2")) == ["sw2"]
    with pytest.raises(netrig.InvalidArgError, match="ends where a term was expected"):
        inv.filter("group=core and")
    with pytest.raises(TypeError):
        inv.filter(rack={"row": 1})


def test_bad_files_name_file_line_and_key(tmp_path):
    (tmp_path / "hosts.yaml").write_text("sw1:\n  username: u\n  password: p\n  platform: cisco_ios\n  groups: [core]\n")
    with pytest.raises(netrig.InvalidArgError, match=r"hosts\.yaml, line 5: sw1\.groups: group 'core' is not defined"):
        Inventory.from_files(tmp_path / "hosts.yaml")
    (tmp_path / "hosts.yaml").write_text("sw1:\n  username: u\n  pasword: p\n")
    with pytest.raises(netrig.InvalidArgError, match=r"hosts\.yaml, line 3: sw1\.pasword: unknown key 'pasword'"):
        Inventory.from_files(tmp_path / "hosts.yaml")
    with pytest.raises(netrig.NotFoundError, match="no such file"):
        Inventory.from_files(tmp_path / "missing.yaml")


def test_a_run_over_an_inventory_names_results_and_carries_data(fleet, tmp_path, monkeypatch):
    monkeypatch.setenv("NETRIG_PY_INV_PASSWORD", fleet["ios"][0]["password"])
    inv = load(write_inventory(tmp_path, fleet, "NETRIG_PY_INV_PASSWORD"))
    events = []
    report = Runner(inv.filter("group=core or role=edge"), [Step.command("show clock", timeout=1.5)], max_workers=3).run(
        progress=events.append
    )
    assert [h.name for h in report.hosts] == ["sw1", "sw2", "hung"]
    assert report.failed_hosts == ["hung"]
    sw2 = report.host("sw2")
    assert sw2.ok, sw2.steps[0].error
    assert "UTC" in sw2.steps[0].output
    assert sw2.data == {"index": 1, "rack": {"row": 0}, "role": "core", "os": "ios", "site": "lab"}
    hung = report.by_name["hung"]
    assert hung.state == "timed_out"
    assert hung.steps[0].error.startswith("hung step 1 (command 'show clock'): ")
    assert json.loads(report.json)["hosts"][2]["data"]["role"] == "edge"
    finished = {e.name for e in events if e.kind == "host_finished"}
    assert finished == {"sw1", "sw2", "hung"}
    assert all(e.name == report.hosts[e.host].name for e in events if e.host is not None)
    assert [e.name for e in events if e.kind == "run_finished"] == [None]
    with pytest.raises(KeyError):
        report.host("sw3")
    # A pool prewarms the same hosts, an inventory's hosts as they are.
    with netrig.Pool() as pool:
        assert pool.prewarm(inv.filter("group=core")) == {}
        assert pool.stats().idle == 2


def test_plain_targets_take_a_name_and_data(fleet):
    # For type checkers: netrig.Target is DeviceOptions plus the two keys.
    hints = typing.get_type_hints(netrig.Target)
    assert hints == {**typing.get_type_hints(netrig.DeviceOptions), "name": str, "data": typing.Dict[str, typing.Any]}
    assert netrig.Target.__required_keys__ == netrig.DeviceOptions.__required_keys__
    d = fleet["ios"][3]
    base = dict(
        host=d["host"], port=d["port"], username=d["username"], password=d["password"], platform="cisco_ios",
        fingerprint=d["host_key_fingerprint"], timeout=5.0,
    )
    with Runner([dict(base, name="lab-sw", data={"site": "lab"}), base], [Step.command("show clock")]).start(
        events=True
    ) as run:
        named = {(e.host, e.name) for e in run.events(timeout=30) if e.kind == "host_finished"}
        report = run.wait()
    assert named == {(0, "lab-sw"), (1, f"{d['host']}:{d['port']}")}
    assert [h.name for h in report.hosts] == ["lab-sw", f"{d['host']}:{d['port']}"]
    assert report.hosts[0].data == {"site": "lab"}
    assert report.hosts[1].data == {}
    assert all(h.ok for h in report.hosts), [h.steps[0].error for h in report.hosts]
    with pytest.raises(ValueError, match="non-empty"):
        Runner([dict(base, name="")], [])
    with pytest.raises(TypeError, match="JSON-serializable"):
        Runner([dict(base, data={"x": object()})], [])


def test_readme_inventory_blocks_run(fleet, tmp_path, monkeypatch, capsys):
    """The README's "### Inventories" blocks: the YAML (its three files, split at their
    "# <file>" lines, with each 10.0.0.N address made a fake device's 127.0.0.1 and port) and
    the Python block, run as shown."""
    from test_readme import readme_block

    yaml = readme_block("### Inventories", "yaml", "# hosts.yaml")
    files, name = {}, None
    for line in yaml.splitlines():
        if line.startswith("# ") and line.endswith(".yaml"):
            name = line[2:]
            files[name] = ""
        else:
            files[name] += line + "\n"
    assert sorted(files) == ["defaults.yaml", "groups.yaml", "hosts.yaml"]
    devs = fleet["ios"]
    assert devs[0]["username"] == "admin"
    for n in (1, 2):
        files["hosts.yaml"] = files["hosts.yaml"].replace(
            f"hostname: 10.0.0.{n}\n", f"hostname: 127.0.0.1\n  port: {devs[n - 1]['port']}\n"
        )
    for file, text in files.items():
        (tmp_path / file).write_text(text)
    monkeypatch.setenv("LAB_PASSWORD", devs[0]["password"])
    monkeypatch.chdir(tmp_path)
    block = readme_block("### Inventories", "py", "from netrig import Inventory")
    exec(compile(block, "README.md", "exec"), {})
    assert capsys.readouterr().out == "sw1 core ok\n"
    # accept-new recorded the device's key, in the folder of defaults.yaml.
    assert str(devs[0]["port"]) in (tmp_path / "lab_known_hosts").read_text()
