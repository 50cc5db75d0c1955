import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

PYTHON_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PYTHON_DIR))

import netrig  # noqa: E402


@pytest.fixture
def store():
    s = netrig.Store()
    yield s
    s.close()


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
