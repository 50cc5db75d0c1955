"""The package's types as a user's mypy sees them (python/netrig/py.typed).

mypy --strict runs over typed_user.py, a user script that calls Device, Pool.checkout, Runner
targets, Store and Queue: it must pass, and a script with wrong option names and types must
fail, naming each. The package's own modules are checked as mypy checks an installed package
(errors inside it are not the user's: `ignore_errors` for netrig.*), but every public entry the
scripts call is still held to --strict from the calling side (an untyped call or an Any result
would fail typed_user.py). The explicit keyword parameters of Device, Pool.checkout and
device_options must agree with DeviceOptions, the runner's target type: checked here too.
"""

import inspect
import subprocess
import sys
import textwrap
import typing
from pathlib import Path

import pytest

import netrig
from netrig import Device, DeviceOptions, Pool, Runner, Step
from netrig.device import device_options

PYTHON_DIR = Path(__file__).resolve().parents[1]
TYPED_USER = Path(__file__).resolve().parent / "typed_user.py"

MYPY_INI = """\
[mypy]
strict = True
python_version = 3.9
[mypy-netrig.*]
ignore_errors = True
"""


def mypy(tmp_path: Path, script: Path) -> subprocess.CompletedProcess:
    cfg = tmp_path / "mypy.ini"
    cfg.write_text(MYPY_INI)
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(cfg), "--cache-dir", str(tmp_path / "cache"), str(script)],
        env={"MYPYPATH": str(PYTHON_DIR), "PATH": "/usr/bin:/bin"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_typed_user_script_passes_mypy_strict(tmp_path):
    proc = mypy(tmp_path, TYPED_USER)
    assert proc.returncode == 0, f"mypy --strict failed on typed_user.py:\n{proc.stdout}{proc.stderr}"
    assert proc.stdout.startswith("Success: no issues found in 1 source file"), proc.stdout


# Each line marked `# E: fragment` must get a mypy error on that line containing the fragment.
BAD_SCRIPT = """\
from netrig import Device, DeviceOptions, Pool, Queue, Runner, Step, Store

dev = Device("10.0.0.1", username="admin", pasword="x")  # E: Unexpected keyword argument "pasword" for "Device"
dev2 = Device("10.0.0.1", username="admin", timeout="10")  # E: Argument "timeout" to "Device" has incompatible type "str"; expected "float"
dev3 = Device("10.0.0.1", password="x")  # E: Missing named argument "username" for "Device"
dev4 = Device("10.0.0.1", username="admin", host_key="trust-me")  # E: Argument "host_key" to "Device" has incompatible type
pool = Pool(max_per_host="2")  # E: Argument "max_per_host" to "Pool" has incompatible type "str"; expected "int"
lent = pool.checkout("10.0.0.1", username="admin", plaform="linux")  # E: Unexpected keyword argument "plaform" for "checkout" of "Pool"
lent2 = pool.checkout("10.0.0.1", 22, username="admin", connect_timeout=None)  # E: Argument "connect_timeout" to "checkout" of "Pool" has incompatible type "None"; expected "float"
typo: DeviceOptions = {"host": "10.0.0.1", "username": "admin", "prot": 22}  # E: Extra key "prot" for TypedDict "DeviceOptions"
no_user: DeviceOptions = {"host": "10.0.0.1"}  # E: Missing key "username" for TypedDict "DeviceOptions"
port_text: DeviceOptions = {"host": "10.0.0.1", "username": "admin", "port": "22"}  # E: Incompatible types (expression has type "str", TypedDict item "port" has type "int")
runner = Runner([{"host": "h", "username": "u", "keepalive": "30"}], [Step.command("show clock")])  # E: Incompatible types (expression has type "str", TypedDict item "keepalive" has type "float | None")
runner2 = Runner([typo], [Step.command("show clock")], strategy="fastest")  # E: Argument "strategy" to "Runner" has incompatible type
out: int = dev.send_command("show clock")  # E: Incompatible types in assignment (expression has type "Output", variable has type "int")
store = Store()
store.test_start("smoke.py", 42, owner=7)  # E: Argument "owner" to "test_start" of "Store" has incompatible type "int"; expected "str"
queue = Queue()
queue.push(1234)  # E: Argument 1 to "push" of "Queue" has incompatible type "int"
item_id: str = queue.claim().id  # E: Incompatible types in assignment (expression has type "int", variable has type "str")
"""


def test_mypy_names_wrong_option_names_and_types(tmp_path):
    script = tmp_path / "bad_user.py"
    script.write_text(BAD_SCRIPT)
    proc = mypy(tmp_path, script)
    assert proc.returncode == 1, f"mypy passed a script full of type errors:\n{proc.stdout}{proc.stderr}"
    errors: dict[int, list[str]] = {}
    for line in proc.stdout.splitlines():
        parts = line.split(":", 3)
        if len(parts) == 4 and parts[0].endswith("bad_user.py") and parts[2].strip() == "error":
            errors.setdefault(int(parts[1]), []).append(parts[3].strip())
    expected = {
        n: line.split("# E: ", 1)[1] for n, line in enumerate(BAD_SCRIPT.splitlines(), start=1) if "# E: " in line
    }
    assert len(expected) == 16
    missing = {n: want for n, want in expected.items() if not any(want in e for e in errors.get(n, []))}
    assert not missing, f"mypy did not report these (line: expected):\n{missing}\nmypy said:\n{proc.stdout}"
    unexpected = {n: e for n, e in errors.items() if n not in expected}
    assert not unexpected, f"mypy errors on lines that are right: {unexpected}"


def _options(fn, skip=()) -> dict:
    """{name: (type, default)} of the keyword options of `fn` (after host and port)."""
    hints = typing.get_type_hints(fn)
    params = list(inspect.signature(fn).parameters.values())
    return {
        p.name: (hints[p.name], p.default)
        for p in params
        if p.kind is inspect.Parameter.KEYWORD_ONLY and p.name not in skip
    }


def test_device_checkout_and_target_options_agree():
    # device_options is the one that builds the C struct; the others spell its options out.
    ref = _options(device_options)
    assert len(ref) == 29 and ref["username"] == (str, inspect.Parameter.empty)
    assert ref["host_key"][0] == typing.Optional[typing.Literal["strict", "pinned", "accept-new", "insecure"]]
    assert _options(Device.__init__) == ref
    # In checkout, `timeout` is the wait for a session (not the operation timeout).
    checkout = _options(Pool.checkout)
    assert checkout.pop("timeout") == (typing.Optional[float], None)
    assert checkout == {k: v for k, v in ref.items() if k != "timeout"}
    # DeviceOptions: host and username required, port and every option optional, same types.
    hints = typing.get_type_hints(DeviceOptions)
    assert DeviceOptions.__required_keys__ == {"host", "username"}
    assert hints == {"host": str, "port": int, **{k: t for k, (t, _) in ref.items()}}
    for fn in (Device.__init__, device_options, Pool.checkout):
        params = inspect.signature(fn).parameters
        assert params["host"].annotation in ("str", str) and params["port"].default == 22


@pytest.mark.parametrize(
    "call",
    [
        lambda: Device("127.0.0.1", 1, username="u", pasword="x"),
        lambda: Pool().checkout("127.0.0.1", 1, username="u", pasword="x"),
        lambda: Runner([{"host": "127.0.0.1", "username": "u", "pasword": "x"}], [Step.command("x")]),
        lambda: Pool().prewarm([{"host": "127.0.0.1", "username": "u", "pasword": "x"}]),
    ],
    ids=["Device", "Pool.checkout", "Runner target", "Pool.prewarm target"],
)
def test_unknown_option_is_a_type_error_naming_it(call):
    # Raised before anything connects (port 1 would refuse).
    with pytest.raises(TypeError, match="unexpected keyword argument 'pasword'"):
        call()


def test_package_is_typed():
    assert (PYTHON_DIR / "netrig" / "py.typed").is_file()
    assert "DeviceOptions" in netrig.__all__
