"""platform="autodetect" and the required platform, from Python, against the fake fleet (the
fakedev binary: real SSH servers on loopback)."""

import logging

import pytest

import netrig
from netrig import Device, Pool, Runner, Step, ffi

from conftest import FakeFleet

# Every fake profile: tests/detect.rs checks each one in Rust; here a Cisco-like, a Junos-like, a
# Linux-like and a Huawei-like CLI go through the Python package.
PROFILES = ["cisco_ios", "cisco_xe", "juniper_junos", "paloalto_panos", "linux", "busybox", "huawei_vrp", "hp_comware"]


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("detect")
    toml = [f'host_key = "{tmp / "host_key"}"']
    for p in PROFILES:
        toml += ["[[device]]", f'profile = "{p}"', f'name = "{p}"']
    fake = FakeFleet(tmp, "\n".join(toml) + "\n")
    by_profile = {d["profile"]: d for d in fake.devices}
    assert set(by_profile) == set(PROFILES)
    yield by_profile
    fake.close()


def options(d, **kw):
    o = dict(
        username=d["username"],
        password=d["password"],
        secret=d["secret"],
        platform="autodetect",
        fingerprint=d["host_key_fingerprint"],
        timeout=20.0,
    )
    o.update(kw)
    return o


@pytest.mark.parametrize("profile", PROFILES)
def test_autodetect_finds_each_profile(fleet, profile):
    d = fleet[profile]
    with Device(d["host"], d["port"], **options(d)) as dev:
        assert dev.platform == profile
        assert dev.is_alive()


def test_the_platform_is_required_and_named_after_open(fleet):
    d = fleet["cisco_ios"]
    o = options(d)
    del o["platform"]
    with pytest.raises(netrig.InvalidArgError, match="platform is required") as ei:
        Device(d["host"], d["port"], **o)
    text = str(ei.value)
    assert '"autodetect"' in text and "cisco_ios" in text and "juniper_junos" in text and "platform_file=" in text
    assert ei.value.status == ffi.NETRIG_E_INVALID_ARG
    # A prompt_pattern alone does not pick a platform either.
    with pytest.raises(netrig.InvalidArgError, match="platform is required"):
        Device(d["host"], d["port"], **o, prompt_pattern=r"^\S+[>#]$")
    # A netmiko device_type name is the platform it stands for.
    with Device(d["host"], d["port"], **options(d, platform="cisco_ios_ssh")) as dev:
        assert dev.platform == "cisco_ios"
    dev.close()
    with pytest.raises(netrig.ClosedError):
        dev.platform


def test_the_platform_detected_is_logged(fleet):
    d = fleet["linux"]
    records = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(record)

    logger = logging.getLogger("netrig")
    handler = Keep(level=logging.INFO)
    logger.addHandler(handler)
    old = logger.level
    logger.setLevel(logging.INFO)
    try:
        with Device(d["host"], d["port"], **options(d)):
            pass
        netrig.log.flush()  # records reach logging on netrig's logging thread
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old)
    texts = [r.getMessage() for r in records]
    assert any("platform detected: linux" in t and "uname -a" in t for t in texts), texts


def test_a_wrong_platform_names_it_and_quotes_the_last_line(fleet):
    d = fleet["linux"]
    with pytest.raises(netrig.PromptError, match=r'platform cisco_ios assumed: the last line "admin@board1:~\$"'):
        Device(d["host"], d["port"], **options(d, platform="cisco_ios", timeout=10.0))


def test_pool_and_runner_take_autodetect(fleet):
    ios = fleet["cisco_ios"]
    with Pool() as pool:
        with pool.checkout(ios["host"], ios["port"], **options(ios)) as dev:
            assert dev.platform == "cisco_ios"
        with pool.checkout_key(ios["host"], ios["port"], username=ios["username"], platform="autodetect") as dev:
            assert dev.platform == "cisco_ios"
        assert pool.stats().created == 1
    xe = fleet["cisco_xe"]
    targets = [dict(host=d["host"], port=d["port"], **options(d)) for d in (ios, xe)]
    report = Runner(targets, [Step.command("show version")], max_workers=2).run()
    assert [h.state for h in report.hosts] == ["ok", "ok"], report.json
    assert "Cisco IOS XE Software" in report.hosts[1].steps[0].output


def test_pool_and_runner_require_the_platform_too(fleet):
    d = fleet["cisco_ios"]
    o = options(d)
    del o["platform"]
    with Pool() as pool:
        with pytest.raises(netrig.InvalidArgError, match="platform is required"):
            pool.checkout(d["host"], d["port"], **o)
        assert pool.stats().created == 0
    with pytest.raises(netrig.InvalidArgError, match="platform is required"):
        Runner([dict(host=d["host"], port=d["port"], **o)], [Step.command("show clock")])
