"""A small user script, written as a user of the installed package would, with full annotations.

Two tests use it: test_typing.py runs ``mypy --strict`` over it (every public entry it calls must
be typed, and its option names and types must be the ones the package declares), and
test_wheel.py runs it with the Python of a fresh venv that has only the wheel installed, against
one cisco_ios device of the fake fleet. Usage: ``python typed_user.py DEVICE_JSON`` where
DEVICE_JSON is an entry of fakedev's inventory (host, port, username, password, secret,
host_key_fingerprint). It prints one line per check, and where netrig loaded libnetrig from.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import netrig
from netrig import Device, DeviceOptions, Pool, Queue, Runner, Step, Store


def main(argv: list[str]) -> int:
    d = json.loads(argv[1])
    host: str = d["host"]
    port: int = d["port"]
    fingerprint: str = d["host_key_fingerprint"]

    print("netrig", netrig.__version__, "from", netrig.ffi.library_path)

    with Device(
        host,
        port,
        username=d["username"],
        password=d["password"],
        secret=d["secret"],
        platform="cisco_ios",
        host_key="pinned",
        fingerprint=fingerprint,
        connect_timeout=10.0,
        timeout=10.0,
        terminal=(200, 50),
    ) as dev:
        out = dev.send_command("show version")
        line = next(li for li in out.splitlines() if "Configuration register" in li)
        print("device:", line.strip(), f"({out.elapsed >= 0})")

    pool = Pool(max_per_host=1, idle_timeout=60.0)
    with pool.checkout(host, port, username=d["username"], password=d["password"], fingerprint=fingerprint, platform="cisco_ios") as lent:
        clock: str = lent.send_command("show clock").text
    with pool.checkout(host, port, username=d["username"], password=d["password"], fingerprint=fingerprint, platform="cisco_ios") as lent:
        lent.send_command("show clock")
    print("pool:", "UTC" in clock, "reused", pool.stats().reused)

    targets: list[DeviceOptions] = [
        {"host": host, "port": port, "username": d["username"], "password": d["password"], "fingerprint": fingerprint,
         "platform": "cisco_ios"},
        dict(host=host, port=port, username=d["username"], password=d["password"], fingerprint=fingerprint,
             timeout=10.0, platform="autodetect"),
    ]
    report = Runner(targets, [Step.command("show clock")], max_workers=2, strategy="linear", pool=pool).run()
    print("runner:", report.totals["succeeded"], "of", len(report.hosts), [h.state for h in report.hosts])
    pool.close()

    with Store() as store:
        store.set("dut/1/state", "running")
        store["dut/1/runs"] = 1
        runs = store.add("dut/1/runs", 2)
        state = store.get("dut/1/state")
        print("store:", state, runs)

    with tempfile.TemporaryDirectory() as tmp:
        queue = Queue.open(str(Path(tmp) / "queue.db"), name="jobs")
        job_id: int = queue.push(b"upgrade dut-1", priority=5)
        with queue.claim(timeout=5.0) as item:
            payload: bytes = item.payload
            item.complete()
        print("queue:", job_id == item.id, payload.decode(), queue.counts().completed)
        queue.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
