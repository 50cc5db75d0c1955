"""netrig's log records in Python's logging (netrig.log), against the real fake fleet: the
records and their levels, loggers, device names and times; a handler that calls netrig; exit
with records in flight; and silence without any logging configuration."""

import json
import logging
import re
import time

import pytest

import netrig
from netrig import ffi
from netrig.ffi import lib

from conftest import run_child
from test_device import fleet, open_device  # noqa: F401  (the session's fakedev fleet)


def _name(d):
    return f"{d['host']}:{d['port']}"


def _device_json(d):
    keys = ("host", "port", "username", "password", "secret", "profile", "host_key_fingerprint")
    return json.dumps({k: d[k] for k in keys})


# Opens the device described by DEV (JSON) in a child process.
CHILD_OPEN = """
import json, logging, os, sys, threading, time
import netrig
d = json.loads(os.environ["DEV"])
def open_dev():
    return netrig.Device(d["host"], d["port"], username=d["username"], password=d["password"],
                         secret=d["secret"], platform=d["profile"], fingerprint=d["host_key_fingerprint"],
                         timeout=10.0)
"""


def test_device_open_and_close_are_info_records_with_the_device_name(fleet, caplog):
    d = fleet["ios"]
    caplog.set_level(logging.INFO, logger="netrig")
    before = time.time()
    dev = open_device(fleet, "ios")
    dev.send_command("show version")
    dev.close()
    netrig.log.flush()
    after = time.time()
    mine = [r for r in caplog.records if r.name == "netrig.device" and r.netrig_device == _name(d)]
    opened = [r for r in mine if r.getMessage().startswith(f"{_name(d)}: opened (cisco_ios, user 'admin') in ")]
    closed = [r for r in mine if re.match(rf"{_name(d)}: closed (in [\d.]+ ms, |\(freed\), )after [\d.]+ s open$", r.getMessage())]
    assert len(opened) == 1 and len(closed) == 1, [r.getMessage() for r in caplog.records]
    assert opened[0].levelno == logging.INFO and opened[0].levelname == "INFO"
    # `created` is when the library made the record.
    assert before - 0.01 <= opened[0].created <= closed[0].created <= after + 0.01
    assert not [r for r in caplog.records if r.name.startswith("netrig") and r.levelno < logging.INFO]
    assert lib.netrig_get_log_level() == ffi.NETRIG_LOG_INFO


def test_debug_shows_the_connect_steps_and_trace_the_bytes_redacted(fleet, caplog):
    d = fleet["ios"]
    caplog.set_level(logging.DEBUG, logger="netrig.device")
    with open_device(fleet, "ios") as dev:
        dev.send_command("show clock")
    netrig.log.flush()
    text = [r.getMessage() for r in caplog.records if r.name == "netrig.device" and r.levelno == logging.DEBUG]
    for step in ("TCP connected to", "SSH handshake done", "host key accepted", "auth method password",
                 "prompt found: R1", "setup command 'terminal length 0' done", "command 'show clock': ended in"):
        assert any(t.startswith(f"{_name(d)}: {step}") for t in text), (step, text)
    assert lib.netrig_get_log_level() == ffi.NETRIG_LOG_DEBUG

    caplog.clear()
    caplog.set_level(netrig.log.TRACE, logger="netrig.device")
    with open_device(fleet, "ios") as dev:
        dev.send_command("show clock")
    netrig.log.flush()
    trace = [r for r in caplog.records if r.levelno == netrig.log.TRACE]
    assert trace and all(r.levelname == "TRACE" for r in trace)
    sent = [r.getMessage() for r in trace if ": sent " in r.getMessage()]
    assert any(m.endswith(": sent 11 bytes: ********\\n") for m in sent), sent  # the enable secret
    assert not any(d["secret"] in r.getMessage() for r in caplog.records)


def test_a_handler_that_calls_netrig_does_not_deadlock(fleet):
    body = CHILD_OPEN + """
store = netrig.Store()
dev = open_dev()
other = open_dev()
done = threading.Event()

class Calls(logging.Handler):
    def emit(self, record):
        if "command 'show clock': ended" in record.getMessage() and not done.is_set():
            store.set("seen", record.getMessage())
            assert store.get("seen").startswith(d["host"])
            # A device command from the logging thread, which itself logs.
            assert "UTC" in other.send_command("show clock").text
            netrig.log.flush()  # returns at once from inside a handler
            done.set()

logging.getLogger("netrig").addHandler(Calls())
logging.getLogger("netrig").setLevel(logging.DEBUG)
dev.send_command("show clock")
assert done.wait(20), "the handler never finished"
netrig.log.flush(20)
print("ok", store.get("seen"))
"""
    proc = run_child(body, timeout=60, env={"DEV": _device_json(fleet["ios"])})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"ok {_name(fleet['ios'])}: command 'show clock': ended in"), proc.stdout


def test_exit_with_records_in_flight_is_clean(fleet):
    body = CHILD_OPEN + """
logging.basicConfig(level=logging.DEBUG, stream=sys.stdout, format="%(name)s %(message)s")
devs = [open_dev() for _ in range(3)]

def work(dev):
    for _ in range(5):
        dev.send_command("show clock")

threads = [threading.Thread(target=work, args=(dev,)) for dev in devs]
for t in threads:
    t.start()
for t in threads:
    t.join()
# A daemon thread still making records while the interpreter exits.
go = threading.Event()
def forever(dev):
    go.set()
    while True:
        dev.send_command("show clock")
threading.Thread(target=forever, args=(devs[0],), daemon=True).start()
go.wait()
print("exiting", file=sys.stderr)  # not stdout, where the log thread's lines go
"""
    proc = run_child(body, timeout=60, env={"DEV": _device_json(fleet["ios"])})
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "exiting" in proc.stderr
    # The threads' records reached logging before the exit: 15 commands on 3 devices.
    assert len(re.findall(r"^netrig\.device \S+: command 'show clock': ended in", out, re.M)) >= 15, out


def test_without_logging_configuration_nothing_is_printed(fleet):
    body = CHILD_OPEN + """
dev = open_dev()
dev.send_command("show clock")
dev.close()
try:
    dev.send_command("show clock")
except netrig.ClosedError:
    pass
netrig.log.flush()
print(netrig.ffi.lib.netrig_get_log_level())
"""
    proc = run_child(body, timeout=60, env={"DEV": _device_json(fleet["ios"])})
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    # The root logger's default, WARNING: only warnings and errors are made at all.
    assert proc.stdout == f"{ffi.NETRIG_LOG_WARN}\n"


def test_netrig_log_in_the_environment_keeps_the_stderr_sink(fleet):
    body = CHILD_OPEN + """
got = []
class Keep(logging.Handler):
    def emit(self, record):
        got.append(record)
logging.getLogger("netrig").addHandler(Keep())
logging.getLogger("netrig").setLevel(logging.DEBUG)
assert netrig.log.installed is False
with open_dev() as dev:
    dev.send_command("show clock")
print(len(got))
"""
    proc = run_child(body, timeout=60, env={"DEV": _device_json(fleet["ios"]), "NETRIG_LOG": "info"})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "0\n"
    name = _name(fleet["ios"])
    assert re.search(rf"^\d{{4}}-\d\d-\d\dT[\d:.]+Z INFO netrig::device {re.escape(name)}: opened ", proc.stderr, re.M)
    assert " DEBUG " not in proc.stderr


def test_the_session_log_timestamps_option(fleet, tmp_path):
    plain, stamped = tmp_path / "plain.log", tmp_path / "stamped.log"
    with open_device(fleet, "ios", session_log=str(plain)) as dev:
        dev.send_command("show clock")
    with open_device(fleet, "ios", session_log=str(stamped), session_log_timestamps=True) as dev:
        dev.send_command("show clock")
    marker = re.compile(r"^\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z (<<|>>)\] ", re.M)
    assert not marker.search(plain.read_text())
    text = stamped.read_text()
    kinds = [m.group(1) for m in marker.finditer(text)]
    assert "<<" in kinds and ">>" in kinds, text
    assert re.search(r"^\[[^\]]+ >>\] show clock$", text, re.M), text


def test_the_native_level_follows_the_netrig_loggers():
    root, device = logging.getLogger("netrig"), logging.getLogger("netrig.device")
    old = (root.level, device.level)
    try:
        root.setLevel(logging.ERROR)
        device.setLevel(logging.NOTSET)
        netrig.Store().close()  # an entry point: re-syncs
        assert lib.netrig_get_log_level() == ffi.NETRIG_LOG_ERROR
        device.setLevel(logging.DEBUG)  # a child finer than its parent counts
        netrig.log.sync()
        assert lib.netrig_get_log_level() == ffi.NETRIG_LOG_DEBUG
        device.setLevel(netrig.log.TRACE)
        netrig.log.sync()
        assert lib.netrig_get_log_level() == ffi.NETRIG_LOG_TRACE
        logging.disable(logging.CRITICAL)
        netrig.log.sync()
        assert lib.netrig_get_log_level() == ffi.NETRIG_LOG_OFF
    finally:
        logging.disable(logging.NOTSET)
        root.setLevel(old[0])
        device.setLevel(old[1])
        netrig.log.sync()
