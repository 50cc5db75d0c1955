"""What the Ctrl-C path (python/netrig/_interrupt.py) costs a Python loop of commands.

    cargo build --release && cargo build --release -p fakedev
    python3 benches/py_interrupt.py [COMMANDS]        # default 2000

Runs `show clock` COMMANDS times on one fake cisco_ios device (tests/fakedev, real SSH on
loopback) on the main thread, in alternating rounds of three kinds, in the same run:

* "old":  the SIGINT handler is not Python's default, so Device takes the path it took before
  Ctrl-C support (no registration; the check that decides this is all it pays);
* "ctrl-c": the default handler, so every command registers its cancel with the watcher;
* "raw":  netrig_device_send_command through ctypes directly, no Python layer at all.

Prints each kind's mean per command and the ratio ctrl-c / old (the cost of the feature) and
old / raw (the cost of the Python layer). Not a timed test: it fails nothing.
"""

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from ctypes import byref
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "python"))

import netrig  # noqa: E402
from netrig import _interrupt, ffi  # noqa: E402
from netrig.ffi import lib  # noqa: E402


def main() -> None:
    total = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    rounds = 12
    per_round = max(1, total // rounds)
    with tempfile.TemporaryDirectory() as tmp:
        inv = Path(tmp) / "fleet.toml"
        inv.write_text('[[device]]\nprofile = "cisco_ios"\nname = "bench"\n')
        proc = subprocess.Popen(
            [str(REPO / "target" / "release" / "fakedev"), "--inventory", str(inv)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if line.rstrip() == "]":
                break
        d = json.loads("".join(lines))[0]
        try:
            with netrig.Device(d["host"], d["port"], username=d["username"], password=d["password"],
                               platform="cisco_ios", fingerprint=d["host_key_fingerprint"]) as dev:
                times = {"old": 0.0, "ctrl-c": 0.0, "raw": 0.0}
                for _ in range(3 * per_round // 10 or 1):  # warm up
                    dev.send_command("show clock")
                kinds = list(times)
                for r in range(rounds):
                    # Each round in another order: the round after another kind pays for the
                    # switch (caches, the scheduler), and that must not land on one kind only.
                    for kind in kinds[r % 3 :] + kinds[: r % 3]:
                        times[kind] += run_round(dev, kind, per_round)
        finally:
            proc.stdin.close()
            proc.wait(10)
    n = rounds * per_round
    for kind, t in times.items():
        print(f"{kind:>7}: {t / n * 1e6:8.1f} us per command ({n} commands)")
    print(f"ratio ctrl-c / old = {times['ctrl-c'] / times['old']:.3f}")
    # The registration alone, without the device's noise: what the ratio above should show.
    handle = ffi.netrig_device()
    reps = 200_000
    t0 = time.perf_counter()
    for _ in range(reps):
        previous = _interrupt.watch(lib.netrig_device_cancel, handle)
        _interrupt.unwatch(previous)
    print(f"watch + unwatch: {(time.perf_counter() - t0) / reps * 1e6:.2f} us per call")
    print(f"ratio old / raw    = {times['old'] / times['raw']:.3f}")


def run_round(dev: netrig.Device, kind: str, n: int) -> float:
    previous = signal.getsignal(signal.SIGINT)
    if kind == "old":
        signal.signal(signal.SIGINT, lambda *_: None)
    try:
        if kind == "raw":
            handle, cmd = dev.handle, b"show clock"
            t0 = time.perf_counter()
            for _ in range(n):
                out = ffi.netrig_output()
                if lib.netrig_device_send_command(handle, cmd, 0, byref(out)):
                    raise RuntimeError(ffi.last_error())
                lib.netrig_output_free(out)
            return time.perf_counter() - t0
        t0 = time.perf_counter()
        for _ in range(n):
            dev.send_command("show clock")
        return time.perf_counter() - t0
    finally:
        signal.signal(signal.SIGINT, previous)


if __name__ == "__main__":
    main()
