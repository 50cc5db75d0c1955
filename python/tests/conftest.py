import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

PYTHON_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PYTHON_DIR))

import netrig  # noqa: E402
import netrig.errors  # noqa: E402
import netrig.ffi  # noqa: E402

# Every error text of the suite is checked for Rust Debug output and raw libssh2 codes: each
# text the package reads with netrig_last_error() and each NetrigError it builds is recorded,
# and a test whose texts show one of these fragments fails at teardown.
DEBUG_FRAGMENTS = ("(..)", "Some(", "Session(", "SFTP(", "Err(", "Ok(", "{ ")
_texts: list[str] = []
_last_error = netrig.ffi.last_error
_error_init = netrig.errors.NetrigError.__init__


def _recorded_last_error() -> str:
    text = _last_error()
    _texts.append(text)
    return text


def _recorded_error_init(self, message: str = "", *args, **kwargs):
    _texts.append(message)
    _error_init(self, message, *args, **kwargs)


netrig.ffi.last_error = _recorded_last_error
netrig.errors.NetrigError.__init__ = _recorded_error_init


@pytest.fixture(autouse=True)
def error_texts_are_readable():
    _texts.clear()
    yield
    bad = [(f, t) for t in list(_texts) for f in DEBUG_FRAGMENTS if f in t]
    assert not bad, "error texts show Rust Debug output or raw libssh2 codes: " + "; ".join(
        f"{f!r} in {t!r}" for f, t in bad
    )


@pytest.fixture
def store():
    s = netrig.Store()
    yield s
    s.close()


REPO = PYTHON_DIR.parent
FAKEDEV = REPO / "target" / "release" / "fakedev"


class FakeFleet:
    """A fakedev process (tests/fakedev) serving the inventory `toml` (its text), written to
    `tmp`/fleet.toml: `devices` is the JSON inventory it printed, `stats()` its per-device
    counters; closing its stdin (close(), or leaving the `with`) stops it."""

    def __init__(self, tmp: Path, toml: str):
        if not FAKEDEV.is_file():
            cargo = os.environ.get("CARGO", "cargo")
            subprocess.run([cargo, "build", "--release", "-p", "fakedev"], cwd=REPO, check=True)
        (tmp / "fleet.toml").write_text(toml)
        self._stderr = open(tmp / "fakedev.stderr", "w+")
        self.proc = subprocess.Popen(
            [str(FAKEDEV), "--inventory", str(tmp / "fleet.toml")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
        )
        self._stats_lock = threading.Lock()
        watchdog = threading.Timer(30, self.proc.kill)  # a fleet that never prints its inventory
        watchdog.start()
        lines: list[str] = []
        try:
            for line in self.proc.stdout:
                lines.append(line)
                if line.rstrip() == "]":
                    break
            self.devices = json.loads("".join(lines))
        except ValueError:
            self._stderr.seek(0)
            self.close()
            pytest.fail(f"fakedev printed no inventory: {''.join(lines)!r}\n{self._stderr.read()}")
        finally:
            watchdog.cancel()

    def stats(self) -> dict:
        """fakedev's counters, {device name: {"commands": n, ...}}."""
        with self._stats_lock:
            self.proc.stdin.write("stats\n")
            self.proc.stdin.flush()
            return json.loads(self.proc.stdout.readline())

    def close(self) -> None:
        if self.proc.stdin and not self.proc.stdin.closed:
            self.proc.stdin.close()  # EOF stops the fleet
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._stderr.close()

    def __enter__(self) -> "FakeFleet":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def run_child(body: str, timeout: float = 5.0, env: dict | None = None) -> subprocess.CompletedProcess:
    """Runs `body` in a fresh Python with this package importable.

    For calls that could hang or kill the process: a hang becomes a test failure after
    `timeout` seconds instead of a stuck test run.
    """
    code = textwrap.dedent(body)
    child_env = dict(os.environ)
    child_env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PYTHON_DIR), child_env.get("PYTHONPATH")]))
    child_env.pop("RUST_BACKTRACE", None)
    if env:
        child_env.update(env)
    try:
        return subprocess.run(
            [sys.executable, "-c", code], env=child_env, capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
    pytest.fail(f"child did not finish within {timeout} s (deadlock?); its output so far:\n{out}\ncode:\n{code}")


def run_child_ok(body: str, timeout: float = 5.0) -> str:
    proc = run_child(body, timeout)
    assert proc.returncode == 0, f"child failed (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def wait_until_blocked_in(thread: threading.Thread, started: threading.Event, function: str, timeout: float = 10.0):
    """Returns once `thread` has set `started` (right before it calls netrig's `function`) and
    its innermost Python frame is that function of the netrig package: it is inside the call,
    waiting in C (the GIL is free) or about to. A signal, not a sleep: under load a fixed sleep
    can end before the thread even started. Fails the test after `timeout` seconds."""
    assert started.wait(timeout), f"the thread did not start within {timeout} s"
    deadline = time.monotonic() + timeout
    while True:
        frame = sys._current_frames().get(thread.ident)
        code = frame.f_code if frame is not None else None
        if code is not None and code.co_name == function and f"{os.sep}netrig{os.sep}" in code.co_filename:
            return
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail(f"the thread never waited in netrig's {function}() (alive: {thread.is_alive()})")
        time.sleep(0.001)
