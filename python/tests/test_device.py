"""netrig.Device against the real fake fleet: the fakedev binary, real SSH servers on loopback
(no mock of the SSH layer anywhere). One fakedev process serves every test of this file."""

import ctypes
import json
import os
import pickle
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import netrig
from netrig import Device, ffi
from netrig.ffi import lib

from conftest import FakeFleet

REPO = Path(__file__).resolve().parents[2]
PASSPHRASE = "correct horse"

# Groups of the fleet: name prefix -> (profile, extra TOML for the group).
GROUPS = {
    "ios": ("cisco_ios", ""),
    "junos": ("juniper_junos", ""),
    "eos": ("arista_eos", ""),
    "linux": ("linux", ""),
    "hang": ("cisco_ios", 'faults = { hang_on = ["show clock"] }'),
    "drop": ("cisco_ios", 'faults = { drop_on = ["show running-config"] }'),
    "slow": ("cisco_ios", "faults = { latency_ms = 300 }"),
}


def _keygen(path: Path, passphrase: str) -> str:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", passphrase, "-C", "netrig-py", "-f", str(path)],
        check=True,
        capture_output=True,
    )
    return path.with_suffix(".pub").read_text().strip()


@pytest.fixture(scope="session")
def fleet(tmp_path_factory):
    """Starts fakedev with one or more devices of every group; yields {prefix: device info}."""
    tmp = tmp_path_factory.mktemp("fleet")
    groups = dict(GROUPS)
    keys = {}
    if shutil.which("ssh-keygen"):
        keys = {"plain": tmp / "id_plain", "locked": tmp / "id_locked"}
        pubs = [_keygen(keys["plain"], ""), _keygen(keys["locked"], PASSPHRASE)]
        groups["keyed"] = ("cisco_ios", "authorized_keys = " + json.dumps(pubs))
    toml = [f'host_key = "{tmp / "host_key"}"']
    for prefix, (profile, extra) in groups.items():
        toml += ["[[device]]", f'profile = "{profile}"', f'name = "{prefix}"', extra]
    fake = FakeFleet(tmp, "\n".join(toml) + "\n")
    devices = fake.devices
    by_prefix = {}
    for d in devices:
        by_prefix.setdefault(d["name"].rsplit("-", 1)[0], d)
    assert set(by_prefix) == set(groups)
    by_prefix["_keys"] = keys

    def commands(prefix):
        """How many command lines the device of `prefix` has received (fakedev's stats)."""
        return fake.stats()[by_prefix[prefix]["name"]]["commands"]

    by_prefix["_commands"] = commands
    yield by_prefix
    fake.close()


def open_device(fleet, prefix, platform=None, **kw):
    d = fleet[prefix]
    opts = dict(
        username=d["username"],
        password=d["password"],
        secret=d["secret"],
        platform=platform or d["profile"],
        fingerprint=d["host_key_fingerprint"],
        timeout=5.0,
    )
    opts.update(kw)
    return Device(d["host"], d["port"], **opts)


@pytest.fixture(scope="module")
def ios(fleet):
    with open_device(fleet, "ios") as dev:
        yield dev


@pytest.fixture(scope="module")
def linux(fleet):
    with open_device(fleet, "linux") as dev:
        yield dev


@pytest.fixture
def hung(fleet):
    """A fresh session on the device that hangs after "show clock" (a hang ends its session)."""
    with open_device(fleet, "hang") as dev:
        yield dev


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_received(fleet, prefix, base):
    """Returns once the device of `prefix` has received a command line beyond `base` (fakedev's
    stats): the operation another thread started is running on the device."""
    give_up = time.monotonic() + 10
    while fleet["_commands"](prefix) == base:
        assert time.monotonic() < give_up, "the device never received the command"
        time.sleep(0.001)


def in_thread(fn, *args, **kwargs):
    """Runs fn in a thread; returns (thread, box) where box gets "result"/"error" and "at"."""
    box = {}

    def run():
        try:
            box["result"] = fn(*args, **kwargs)
        except BaseException as e:  # noqa: BLE001 - inspected by the test
            box["error"] = e
        box["at"] = time.monotonic()

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t, box


# -- commands on every platform --------------------------------------------------------------


@pytest.mark.parametrize(
    "prefix, command, expected",
    [
        ("ios", "show version", "Configuration register is 0x2102"),
        ("junos", "show version", "Junos: 21.4R3.15"),
        ("eos", "show version", "Software image version: 4.28.3M"),
        ("linux", "uptime", "load average"),
    ],
)
def test_send_command_on_each_platform(fleet, prefix, command, expected):
    with open_device(fleet, prefix) as dev:
        out = dev.send_command(command)
        assert isinstance(out, str) and isinstance(out, netrig.Output)
        assert expected in out
        assert type(out.text) is str and out.text == out
        assert not out.startswith(command), "the echo is removed"
        assert "\r" not in out
        assert 0 < out.elapsed < 5
        assert dev.is_alive()


def test_output_and_exec_result_types():
    out = netrig.Output("R1 uptime\n", 0.25)
    assert out == "R1 uptime\n" and out.elapsed == 0.25 and out.text == "R1 uptime\n"
    back = pickle.loads(pickle.dumps(out))
    assert type(back) is netrig.Output and back == out and back.elapsed == 0.25
    assert "elapsed=0.250" in repr(out)
    assert out.splitlines() == ["R1 uptime"]
    r = netrig.ExecResult(b"o", b"e", 3, 0.1)
    assert (r.stdout, r.stderr, r.exit_status, r.elapsed) == (b"o", b"e", 3, 0.1)


def test_paging_utf8_and_long_output(fleet):
    with open_device(fleet, "eos") as dev:
        out = dev.send_command("show tech-support", timeout=20)
        assert len(out.splitlines()) == 20000 and "More" not in out
    with open_device(fleet, "ios") as dev:
        assert "bâtiment Nord ✓" in dev.send_command("show interfaces description")


def test_expect_and_interactive_dialogues(ios):
    out = ios.send_command("copy running-config startup-config", expect=r"Destination filename")
    assert out == "Destination filename [startup-config]? \n"
    out = ios.send_command("", expect=r"\[yes/no\]: $")
    assert "Overwrite the existing startup-config?" in out
    assert "[OK]" in ios.send_command("y")

    steps = [("copy running-config startup-config", r"filename \[.*\]\? $"), ("", r"\[yes/no\]: $"), ("y", None)]
    out = ios.send_interactive(steps)
    assert "Destination filename" in out and out.endswith("[OK]\n")
    with pytest.raises(netrig.NetrigTimeoutError, match=r"\[confirm\]"):
        ios.send_interactive([("write memory", "never")], timeout=0.3)
    assert ios.is_alive(), "the device answers again after the abandoned question"


def test_send_command_timing(ios):
    t = time.monotonic()
    out = ios.send_command_timing("show version", quiet=0.15)
    assert out.startswith("Cisco IOS Software") and "Configuration register" in out
    assert time.monotonic() - t >= 0.15 and out.elapsed >= 0.15


def test_modes_enable_config_and_save(fleet):
    with open_device(fleet, "ios", secret=None) as dev:  # stays in user mode
        with pytest.raises(netrig.CommandError, match="Invalid input"):
            dev.send_command("write memory")
        with pytest.raises(netrig.AuthError, match="none was given"):
            dev.enable()
        assert dev.is_alive()
    with open_device(fleet, "ios") as dev:
        dev.exit_enable()
        assert "Invalid input" in dev.send_command("write memory", check=False)
        dev.enable()
        dev.config_mode()
        dev.config_mode()  # already there
        dev.exit_config_mode()
        dev.exit_config_mode()
        assert "[OK]" in dev.save_config()
        dev.config_mode()
        saved = dev.save_config()  # leaves config mode first
        assert "[OK]" in saved and saved.elapsed > 0
    with open_device(fleet, "linux") as dev:
        with pytest.raises(netrig.InvalidArgError):
            dev.save_config()


def test_config_set_and_command_error_naming_the_line(ios):
    out = ios.send_config_set(["interface Gi0/1", "description uplink", "exit"])
    assert out.startswith("interface Gi0/1\n")
    assert "UTC" in ios.send_command("show clock"), "config mode was left"
    assert ios.send_config_set("interface Gi0/2").startswith("interface Gi0/2"), "a str is one line"

    with pytest.raises(netrig.CommandError) as ei:
        ios.send_config_set(["interface Gi0/1", "description x", "bogus command", "description never"])
    e = ei.value
    assert e.status == ffi.NETRIG_E_COMMAND and e.status_name == "NETRIG_E_COMMAND"
    assert "config line 3 'bogus command'" in e.message and "% Invalid input" in e.message
    assert "UTC" in ios.send_command("show clock"), "config mode was left after the error"

    ios.send_config_set(["interface Gi0/1"], exit=False)
    ios.exit_config_mode()
    assert "UTC" in ios.send_command("show clock")
    with pytest.raises(netrig.InvalidArgError, match="no commit"):
        ios.send_config_set(["x"], commit=True)
    with pytest.raises(netrig.InvalidArgError):
        ios.send_config_set(["x"], commit=True, commit_check=True)


def test_junos_commit_check_commit_and_save(fleet):
    with open_device(fleet, "junos") as dev:
        assert "configuration check succeeds" in dev.send_config_set(["set system host-name mx2"], commit_check=True)
        assert "commit complete" in dev.send_config_set(["set system host-name mx3"], commit=True)
        assert "Hostname: mx3" in dev.send_command("show version")
        with pytest.raises(netrig.CommandError, match=r"(?s)config line 2 'bogus stanza'.*syntax error"):
            dev.send_config_set(["set system host-name mx4", "bogus stanza"], commit=True)
        assert "Hostname: mx4" in dev.send_command("show version")
        assert "commit complete" in dev.save_config()


# -- exec and files --------------------------------------------------------------------------


def test_exec_streams_and_exit_status(linux, tmp_path):
    r = linux.exec("echo out; echo err >&2; exit 3")
    assert isinstance(r, netrig.ExecResult)
    assert (r.stdout, r.stderr, r.exit_status) == (b"out\n", b"err\n", 3)
    assert 0 < r.elapsed < 5
    r = linux.exec("frobnicate")
    assert r.exit_status == 127 and r.stdout == b"" and b"frobnicate" in r.stderr
    binary = bytes(range(256)) * 4
    (tmp_path / "bin").write_bytes(binary)
    linux.put_file(tmp_path / "bin", "/tmp/binary")
    assert linux.exec("cat /tmp/binary").stdout == binary, "stdout is bytes as received, NULs too"
    assert linux.send_command("whoami") == "admin\n", "the shell session is unaffected"


def test_sftp_put_and_get_with_progress(linux, tmp_path):
    data = os.urandom(3 * 1024 * 1024 + 17)
    local = tmp_path / "firmware.bin"
    local.write_bytes(data)
    calls = []
    sent = linux.put_file(local, "/tmp/fw.bin", progress=lambda done, total: calls.append((done, total)))
    assert sent == len(data)
    assert calls[-1] == (len(data), len(data))
    assert all(a[0] < b[0] for a, b in zip(calls, calls[1:])), "progress only grows"
    assert str(len(data)) in linux.exec("ls -l /tmp/fw.bin").stdout.decode()

    back = tmp_path / "back.bin"
    got_calls = []
    got = linux.get_file("/tmp/fw.bin", str(back), protocol="sftp", progress=lambda d, t: got_calls.append(d) or True)
    assert got == len(data) and back.read_bytes() == data
    assert got_calls[-1] == len(data)
    assert linux.get_file("/tmp/fw.bin", tmp_path / "again.bin") == len(data), "no progress callback"


def test_progress_returning_false_cancels(linux, tmp_path):
    local = tmp_path / "big.bin"
    local.write_bytes(os.urandom(2 * 1024 * 1024))
    linux.put_file(local, "/tmp/big.bin")
    back = tmp_path / "never.bin"
    with pytest.raises(netrig.CancelledError, match="progress callback"):
        linux.get_file("/tmp/big.bin", back, progress=lambda done, total: done < 512 * 1024)
    assert not back.exists() and not Path(f"{back}.part").exists()
    with pytest.raises(netrig.CancelledError):
        linux.put_file(local, "/tmp/big2.bin", progress=lambda done, total: False)
    assert linux.is_alive()


def test_exception_in_progress_cancels_and_is_reraised(linux, tmp_path, capfd):
    local = tmp_path / "data.bin"
    local.write_bytes(os.urandom(1024 * 1024))
    seen = []

    def explode(done, total):
        seen.append(done)
        raise ZeroDivisionError("boom in progress")

    with pytest.raises(ZeroDivisionError, match="boom in progress") as ei:
        linux.put_file(local, "/tmp/data.bin", progress=explode)
    assert len(seen) == 1, "the transfer stopped at the first callback"
    assert any(f.name == "explode" for f in ei.traceback), "the callback's frame is in the traceback"
    back = tmp_path / "back.bin"
    linux.put_file(local, "/tmp/data.bin")
    with pytest.raises(KeyError):
        linux.get_file("/tmp/data.bin", back, progress=lambda d, t: {}["x"])
    assert not back.exists()
    assert "Exception ignored" not in capfd.readouterr().err, "ctypes never saw the exception"
    assert linux.send_command("pwd"), "the device is usable afterwards"


def test_transfer_errors(linux, tmp_path):
    with pytest.raises(netrig.NetrigIOError, match="nope") as ei:
        linux.put_file(tmp_path / "nope", "/tmp/x")
    assert isinstance(ei.value, OSError) and ei.value.status == ffi.NETRIG_E_IO
    local_back = tmp_path / "never.bin"
    with pytest.raises(netrig.NetrigIOError, match="/no/such/file"):
        linux.get_file("/no/such/file", local_back)
    assert not local_back.exists()
    with pytest.raises(ValueError, match="ftp"):
        linux.put_file(tmp_path / "nope", "/tmp/x", protocol="ftp")
    with pytest.raises(TypeError):
        linux.put_file(tmp_path / "nope", "/tmp/x", progress="not callable")


def test_scp_to_a_device_without_scp_fails(linux, tmp_path):
    """fakedev's linux board serves SFTP but has no `scp` program (exec "scp -t ..." exits 127),
    like many network devices and busybox boards. Both directions must fail, not report success."""
    assert linux.exec("scp -t /tmp/x").exit_status == 127
    local = tmp_path / "small.bin"
    local.write_bytes(b"x" * 1000)
    linux.put_file(local, "/tmp/present.bin")  # over SFTP, so the remote file exists
    back = tmp_path / "back.bin"
    failures = []
    try:
        got = linux.get_file("/tmp/present.bin", back, protocol="scp")
        failures.append(f"get reported {got} bytes of 1000, local file has {back.stat().st_size}")
    except netrig.NetrigIOError:
        pass
    try:
        sent = linux.put_file(local, "/tmp/scp-put.bin", protocol="scp")
        stored = linux.exec("cat /tmp/scp-put.bin")
        failures.append(f"put reported {sent} bytes; the device has: {stored.stdout[:20]!r} {stored.stderr!r}")
    except netrig.NetrigIOError:
        pass
    assert failures == []


# -- deadlines, cancel, busy, threads --------------------------------------------------------


def test_timeout_at_the_deadline_with_the_last_bytes(hung):
    t = time.monotonic()
    with pytest.raises(TimeoutError) as ei:
        hung.send_command("show clock", timeout=0.5)
    took = time.monotonic() - t
    e = ei.value
    assert isinstance(e, netrig.NetrigTimeoutError) and e.status == ffi.NETRIG_E_TIMEOUT
    assert "UTC" in e.message, "the message ends with the last bytes received"
    assert "device 127.0.0.1:" in e.message
    assert 0.5 <= took <= 1.5, took  # never early; late only by a loaded machine's scheduling
    assert not hung.is_alive(timeout=0.3), "the hung device does not answer"


def test_cancel_from_another_thread_busy_and_the_gil(fleet, hung):
    base = fleet["_commands"]("hang")
    worker, box = in_thread(hung.send_command, "show clock", timeout=10)
    wait_until_received(fleet, "hang", base)  # the worker holds the device from here on
    # This thread runs Python while the worker is blocked in the library: the GIL is free.
    spins, until = 0, time.monotonic() + 0.3
    while time.monotonic() < until:
        spins += 1
    assert spins > 1000 and worker.is_alive()

    t = time.monotonic()
    with pytest.raises(netrig.BusyError, match="another operation"):
        hung.try_send_command("show version")
    assert time.monotonic() - t < 1.0, "try_ does not wait (the other call has 10 s)"
    with pytest.raises(netrig.NetrigTimeoutError, match="another operation held the device"):
        hung.send_command("show version", timeout=0.2)
    with pytest.raises(netrig.NetrigTimeoutError):
        hung.is_alive(timeout=0.2)

    cancelled_at = time.monotonic()
    hung.cancel()
    worker.join(2)
    assert not worker.is_alive()
    assert isinstance(box.get("error"), netrig.CancelledError), box
    assert box["at"] - cancelled_at < 1.0, f"returned {box['at'] - cancelled_at:.3f} s after cancel"
    assert "show clock" in box["error"].message or "cancelled" in box["error"].message


def test_cancel_without_an_operation_does_not_hit_the_next_one(ios):
    ios.cancel()
    assert "UTC" in ios.send_command("show clock")


def test_busy_and_waiting_callers_get_their_own_output(fleet):
    with open_device(fleet, "slow") as dev:
        base = fleet["_commands"]("slow")
        worker, box = in_thread(dev.send_command, "show clock")
        # Running once the device has the command: it answers 300 ms later.
        give_up = time.monotonic() + 10
        while fleet["_commands"]("slow") == base:
            assert time.monotonic() < give_up, "the device never received the command"
            time.sleep(0.001)
        with pytest.raises(netrig.BusyError):
            dev.try_send_command("show clock")
        waited = dev.send_command("show ip interface brief")
        assert "GigabitEthernet0/0" in waited
        worker.join(5)
        assert "UTC" in box["result"]


def test_a_timing_read_that_ends_early_does_not_shift_later_outputs(fleet):
    with open_device(fleet, "slow") as dev:  # every answer comes 300 ms late
        early = dev.send_command_timing("show clock", quiet=0.1)
        assert early == ""  # the quiet period ended before the answer: fine for timing mode
        out = dev.send_command("show ip interface brief")
        assert "GigabitEthernet0/0" in out and "UTC" not in out, out


def test_eight_threads_share_one_device(linux):
    n_threads, per_thread = 8, 12
    barrier = threading.Barrier(n_threads)
    failures, done = [], []

    def work(i):
        try:
            barrier.wait(5)
            for j in range(per_thread):
                if j % 4 == 3:  # each thread's exception carries its own thread's error text
                    with pytest.raises(netrig.InvalidArgError) as ei:
                        linux.send_command("echo x", expect=f"(t{i}-{j}")
                    assert f"(t{i}-{j}" in ei.value.message, (i, j, ei.value.message)
                elif j % 3 == 2:
                    r = linux.exec(f"echo x{i}-{j}; echo e{i}-{j} >&2")
                    assert (r.stdout, r.stderr, r.exit_status) == (f"x{i}-{j}\n".encode(), f"e{i}-{j}\n".encode(), 0)
                else:
                    out = linux.send_command(f"echo t{i}-{j}")
                    assert out == f"t{i}-{j}\n", (i, j, out)
                done.append((i, j))
        except BaseException as e:  # noqa: BLE001
            failures.append((i, e))

    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    try:
        threads = [threading.Thread(target=work, args=(i,)) for i in range(n_threads)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
            assert not t.is_alive(), "a worker hung"
    finally:
        sys.setswitchinterval(old)
    assert failures == []
    assert len(done) == n_threads * per_thread


def test_close_from_another_thread_cancels_the_running_operation(fleet):
    dev = open_device(fleet, "hang")
    base = fleet["_commands"]("hang")
    worker, box = in_thread(dev.send_command, "show clock", timeout=10)
    wait_until_received(fleet, "hang", base)  # the operation is running, not about to start
    t = time.monotonic()
    dev.close()
    assert time.monotonic() - t < 1.0, "close does not wait for the running operation (10 s)"
    worker.join(2)
    assert isinstance(box.get("error"), netrig.CancelledError), box
    assert box["at"] - t < 1.0
    with pytest.raises(netrig.ClosedError):
        dev.send_command("show version")


def test_dropped_connection_is_closed_not_hung(fleet):
    with open_device(fleet, "drop") as dev:
        with pytest.raises(netrig.ClosedError):
            dev.send_command("show running-config")
        with pytest.raises(netrig.ClosedError):
            dev.send_command("show clock")
        assert dev.is_alive() is False


# -- lifetime --------------------------------------------------------------------------------


def test_context_manager_closes_and_frees(fleet):
    with open_device(fleet, "ios") as dev:
        assert not dev.closed and "open" in repr(dev)
        raw = dev.handle
        assert "UTC" in dev.send_command("show clock")
    assert dev.closed and "closed" in repr(dev)
    with pytest.raises(netrig.ClosedError):
        dev.send_command("show clock")
    with pytest.raises(netrig.ClosedError):
        dev.exec("true")
    assert dev.is_alive() is False
    dev.cancel()  # nothing to cancel: no error
    dev.close()  # idempotent
    assert lib.netrig_device_free(raw) == ffi.NETRIG_E_INVALID_HANDLE, "the C handle was freed"
    assert lib.netrig_device_cancel(raw) == ffi.NETRIG_E_INVALID_HANDLE


def test_exception_inside_with_still_closes(fleet):
    with pytest.raises(RuntimeError):
        with open_device(fleet, "ios") as dev:
            raise RuntimeError("test failed")
    assert dev.closed


def test_session_log_has_the_session_but_no_secret(fleet, tmp_path):
    log = tmp_path / "session.log"
    d = fleet["ios"]
    with open_device(fleet, "ios", session_log=log) as dev:
        dev.send_command("show clock")
        dev.exit_enable()
        dev.enable()
    text = log.read_text()
    assert "show clock" in text and "UTC" in text
    assert d["secret"] not in text and "********" in text


def test_generic_platform(fleet):
    with open_device(fleet, "linux", platform="generic", prompt_pattern=r"^admin@board1:~\$ ?$") as dev:
        assert dev.send_command("echo generic") == "generic\n"


@pytest.mark.skipif(not shutil.which("ssh-keygen"), reason="ssh-keygen is not installed")
def test_key_authentication_from_file_and_memory(fleet):
    keys = fleet["_keys"]
    common = dict(password=None, platform="cisco_ios")
    with open_device(fleet, "keyed", private_key_file=keys["plain"], **common) as dev:
        assert "UTC" in dev.send_command("show clock")
    pem = keys["locked"].read_text()
    with open_device(fleet, "keyed", private_key=pem, passphrase=PASSPHRASE, **common) as dev:
        assert "UTC" in dev.send_command("show clock")
    with pytest.raises(netrig.AuthError):
        open_device(fleet, "keyed", private_key=pem, passphrase="wrong", **common)
    with pytest.raises(netrig.AuthError):
        open_device(fleet, "ios", private_key_file=keys["plain"], **common)  # not authorized there


# -- open failures and invalid arguments -----------------------------------------------------


def test_auth_errors(fleet):
    with pytest.raises(netrig.AuthError) as ei:
        open_device(fleet, "ios", password="wrong")
    assert ei.value.status == ffi.NETRIG_E_AUTH and ei.value.message
    with pytest.raises(netrig.AuthError, match="enable secret refused"):
        open_device(fleet, "ios", secret="not-the-secret")


def test_host_key_policies(fleet, tmp_path):
    d = fleet["ios"]
    with pytest.raises(netrig.HostKeyError) as ei:
        open_device(fleet, "ios", fingerprint="SHA256:" + "A" * 43)
    assert ei.value.status == ffi.NETRIG_E_HOSTKEY and d["host_key_fingerprint"] in ei.value.message
    known = tmp_path / "known_hosts"
    known.write_text("")
    with pytest.raises(netrig.HostKeyError):
        open_device(fleet, "ios", fingerprint=None, host_key="strict", known_hosts=known)
    with open_device(fleet, "ios", fingerprint=None, host_key="accept-new", known_hosts=known) as dev:
        assert dev.is_alive()
    assert known.read_text().strip(), "accept-new recorded the key"
    with open_device(fleet, "ios", fingerprint=None, host_key="strict", known_hosts=str(known)) as dev:
        assert dev.is_alive()
    with open_device(fleet, "ios", fingerprint=None, host_key="insecure") as dev:
        assert dev.is_alive()
    with pytest.raises(ValueError, match="host_key='pinned'"):
        open_device(fleet, "ios", host_key="strict")  # a fingerprint that would be ignored
    with pytest.raises(netrig.InvalidArgError, match="fingerprint"):
        open_device(fleet, "ios", fingerprint=None, host_key="pinned")


def test_connect_error():
    t = time.monotonic()
    with pytest.raises(netrig.ConnectError):
        Device(
            "127.0.0.1", free_port(), username="a", password="b", platform="cisco_ios", host_key="insecure",
            connect_timeout=10,
        )
    assert time.monotonic() - t < 2  # refused at once, not after the 10 s connect timeout


def test_invalid_arguments(fleet, ios):
    with pytest.raises(netrig.InvalidArgError, match="nope") as ei:
        open_device(fleet, "ios", platform="nope")
    assert isinstance(ei.value, ValueError) and ei.value.status == ffi.NETRIG_E_INVALID_ARG
    with pytest.raises(netrig.InvalidArgError, match="prompt_pattern"):
        open_device(fleet, "ios", platform="generic")
    with pytest.raises(netrig.InvalidArgError, match="options.prompt_pattern: pattern"):
        open_device(fleet, "ios", platform="generic", prompt_pattern="(")
    with pytest.raises(netrig.InvalidArgError, match="go together"):
        open_device(fleet, "ios", platform="generic", prompt_pattern=r"\w+#$", config_command="conf t")
    with pytest.raises(netrig.InvalidArgError, match="credentials"):
        open_device(fleet, "ios", password=None)
    with pytest.raises(netrig.InvalidArgError, match="port"):
        Device("127.0.0.1", 0, username="a", password="b", platform="cisco_ios")
    with pytest.raises(netrig.InvalidArgError, match="term"):
        open_device(fleet, "ios", terminal=(0, 24))
    with pytest.raises(ValueError, match="host_key"):
        open_device(fleet, "ios", host_key="trust-me")
    with pytest.raises(ValueError, match="port"):
        Device("127.0.0.1", 70000, username="a", password="b")
    with pytest.raises(TypeError):
        Device("127.0.0.1", "22", username="a", password="b")
    with pytest.raises(TypeError):
        open_device(fleet, "ios", terminal=80)
    for bad in (0, -1, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="timeout"):
            open_device(fleet, "ios", timeout=bad)
        with pytest.raises(ValueError, match="timeout"):
            ios.send_command("show clock", timeout=bad)
    with pytest.raises(TypeError, match="seconds"):
        ios.send_command("show clock", timeout="5")
    with pytest.raises(ValueError, match="NUL"):
        ios.send_command("show\0clock")
    with pytest.raises(ValueError, match="NUL"):
        open_device(fleet, "ios", password="ad\0min")
    with pytest.raises(TypeError):
        ios.send_command(b"show clock")
    with pytest.raises(netrig.InvalidArgError, match="expect"):
        ios.send_command("show clock", expect="(")
    with pytest.raises(TypeError, match="steps"):
        ios.send_interactive(["show clock"])
    for quiet in (0, -1):
        with pytest.raises(ValueError, match="quiet"):
            ios.send_command_timing("show clock", quiet=quiet)
    assert "UTC" in ios.send_command("show clock"), "nothing reached the device"


def test_raw_device_calls_check_their_arguments(ios):
    out = ffi.netrig_output()
    assert lib.netrig_device_send_command(ios.handle, None, 0, ctypes.byref(out)) == ffi.NETRIG_E_NULL_ARG
    assert lib.netrig_device_send_command(ios.handle, b"\xff", 0, ctypes.byref(out)) == ffi.NETRIG_E_UTF8
    zero = ffi.netrig_device(0)
    assert lib.netrig_device_send_command(zero, b"x", 0, ctypes.byref(out)) == ffi.NETRIG_E_INVALID_HANDLE
    assert netrig.last_error(), "the failure has its text"
    assert lib.netrig_output_free(ffi.netrig_output(12345)) == ffi.NETRIG_E_INVALID_HANDLE
    opts = ffi.netrig_device_options()
    assert lib.netrig_device_options_default(ctypes.byref(opts), ctypes.sizeof(opts)) == ffi.NETRIG_OK
    assert (opts.port, opts.connect_timeout_ms, opts.timeout_ms, opts.term_cols, opts.term_rows) == (
        22,
        10_000,
        30_000,
        511,
        24,
    )
    # x86-64 / aarch64 LP64 layout of the header's struct (checked with offsetof in C).
    o = ffi.netrig_device_options
    assert ctypes.sizeof(o) == 240 and o.struct_size.offset == 0
    assert (o.use_agent.offset, o.term_cols.offset, o.session_log.offset) == (64, 176, 184)
    assert o.session_log_timestamps.offset == 192
    assert (o.platform_file.offset, o.platform_text.offset, o.error_pattern.offset) == (200, 208, 216)
    assert (o.check_errors.offset, o.templates.offset) == (224, 232)
