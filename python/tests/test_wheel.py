"""The wheel: built from python/ as `pip wheel ./python` builds it, installed into a new venv
outside the repository, and used from there against the fake fleet.

One test, in steps (each asserts what it is for):

1. `pip wheel ./python --no-deps --no-build-isolation` (the backend setup.sh --test installed,
   checked against pyproject's [build-system] ranges), with the repository's cargo target dir,
   so only what changed since `cargo build --release` is compiled.
2. The wheel: its tag is py3-none-linux_<arch>, its version the crate's, and it holds
   netrig/py.typed and netrig/libnetrig.so, stripped (no .debug_* sections) with the SONAME.
3. `auditwheel repair` makes the manylinux wheel (`make wheel`'s), with libssl/libcrypto
   grafted, and `auditwheel show` agrees with its tag.
4. Each wheel (plain and manylinux) is installed offline (--no-index --no-deps) into its own
   venv in a temporary directory, and typed_user.py runs with that venv's Python, isolated
   (-I: no PYTHONPATH, no script directory), from a cwd outside the repository, with
   NETRIG_LIBRARY unset, against one cisco_ios device of fakedev: the output of each step
   is checked, and netrig and libnetrig.so come from inside the venv (also with NETRIG_LIBRARY
   set: the bundled library comes first).
"""

import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
import tomllib
import zipfile
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from conftest import FakeFleet

REPO = Path(__file__).resolve().parents[2]
PYTHON_DIR = REPO / "python"
TYPED_USER = Path(__file__).resolve().parent / "typed_user.py"


def crate_version() -> str:
    return tomllib.loads((REPO / "Cargo.toml").read_text())["package"]["version"]


def run(cmd, timeout=600, **kw) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=timeout, **kw)
    assert proc.returncode == 0, f"{' '.join(map(str, cmd))} failed (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    return proc


@pytest.fixture(scope="module")
def device(tmp_path_factory):
    """One cisco_ios device of fakedev: its inventory entry."""
    tmp = tmp_path_factory.mktemp("wheelfleet")
    fake = FakeFleet(tmp, '[[device]]\nprofile = "cisco_ios"\nname = "wheel"\n')
    devices = fake.devices
    assert len(devices) == 1 and devices[0]["profile"] == "cisco_ios", devices
    yield devices[0]
    fake.close()


def elf_sections(lib: Path) -> tuple[list[str], str]:
    sections = run(["readelf", "-SW", lib]).stdout
    names = re.findall(r"^\s*\[\s*\d+\]\s+(\S+)", sections, re.M)
    dynamic = run(["readelf", "-d", lib]).stdout
    return names, dynamic


def install_and_run(wheel: Path, where: Path, device: dict) -> str:
    """A venv in `where` with only `wheel` installed; runs typed_user.py there. Returns its output."""
    venv = where / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", venv], timeout=120)
    py = venv / "bin" / "python"
    run(
        [sys.executable, "-m", "pip", "--python", py, "install", "-q", "--no-index", "--no-deps", wheel],
        timeout=300,
    )
    work = where / "work"
    work.mkdir()
    script = work / "user.py"
    shutil.copy(TYPED_USER, script)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NETRIG_", "PYTHON"))}
    probe = run(
        [py, "-I", "-c", "import netrig, sys, importlib.metadata as md; "
         "print(netrig.__file__); print(netrig.ffi.library_path); print(netrig.__version__); "
         "print(md.version('netrig')); print(sys.path)"],
        cwd=work, env=env, timeout=60,
    ).stdout.splitlines()
    site = venv.resolve()
    package_file, library, version, dist_version, path = probe
    assert Path(package_file).resolve().is_relative_to(site), f"netrig imported from {package_file}, not the venv"
    assert Path(library).resolve() == Path(package_file).resolve().parent / "libnetrig.so", library
    assert version == dist_version == crate_version()
    assert str(REPO) not in path, f"the repository is on the venv's sys.path: {path}"
    # The bundled library comes first, before NETRIG_LIBRARY (netrig.ffi's lookup order).
    env_set = dict(env, NETRIG_LIBRARY="/nonexistent/libnetrig.so")
    again = run([py, "-I", "-c", "import netrig; print(netrig.ffi.library_path)"], cwd=work, env=env_set, timeout=60)
    assert again.stdout.strip() == library
    out = run([py, "-I", script, json.dumps(device)], cwd=work, env=env, timeout=120).stdout
    return out


def test_wheel_builds_installs_and_runs_outside_the_repo(tmp_path, device):
    started = time.monotonic()
    # 1. The build, with the backend in pyproject's ranges.
    with open(PYTHON_DIR / "pyproject.toml", "rb") as f:
        requires = tomllib.load(f)["build-system"]["requires"]
    for r in map(Requirement, requires):
        assert r.specifier.contains(metadata.version(r.name), prereleases=True), (
            f"{r.name} {metadata.version(r.name)} is installed, pyproject.toml wants {r}; run scripts/setup.sh --test"
        )
    wheels = tmp_path / "wheels"
    env = dict(os.environ, CARGO_TARGET_DIR=str(REPO / "target"))
    run(
        [sys.executable, "-m", "pip", "wheel", PYTHON_DIR, "-w", wheels, "--no-deps", "--no-build-isolation", "-q"],
        env=env, cwd=tmp_path, timeout=900,
    )
    built = time.monotonic()
    assert not list((PYTHON_DIR / "netrig").glob("libnetrig*")), "the build left a library in python/netrig/"
    assert not list(PYTHON_DIR.glob("*.egg-info")) and not (PYTHON_DIR / "build").exists()

    # 2. The wheel's tag, version and contents.
    arch = platform.machine()
    version = crate_version()
    [wheel] = wheels.glob("*.whl")
    assert wheel.name == f"netrig-{version}-py3-none-linux_{arch}.whl"
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        assert {"netrig/libnetrig.so", "netrig/py.typed", "netrig/__init__.py", "netrig/ffi.py"} <= names
        meta = z.read(f"netrig-{version}.dist-info/WHEEL").decode()
        assert f"Tag: py3-none-linux_{arch}" in meta and "Root-Is-Purelib: false" in meta
        assert f"\nVersion: {version}\n" in z.read(f"netrig-{version}.dist-info/METADATA").decode()
        z.extract("netrig/libnetrig.so", tmp_path / "unpacked")
    sections, dynamic = elf_sections(tmp_path / "unpacked" / "netrig" / "libnetrig.so")
    assert ".text" in sections and not [s for s in sections if s.startswith(".debug")], sections
    assert "Library soname: [libnetrig.so.0]" in dynamic

    # 3. auditwheel: the manylinux wheel `make wheel` makes.
    repaired = tmp_path / "repaired"
    run([sys.executable, "-m", "auditwheel", "repair", "-w", repaired, wheel], timeout=300)
    [manylinux] = repaired.glob("*.whl")
    tag = re.fullmatch(rf"netrig-{re.escape(version)}-py3-none-(manylinux_2_\d+_{arch})\.whl", manylinux.name)
    assert tag, manylinux.name
    shown = run([sys.executable, "-m", "auditwheel", "show", manylinux]).stdout
    assert f'consistent with the\nfollowing platform tag: "{tag.group(1)}"' in shown, shown
    with zipfile.ZipFile(manylinux) as z:
        grafted = [n for n in z.namelist() if n.startswith("netrig.libs/")]
    assert any("libssl" in n for n in grafted) and any("libcrypto" in n for n in grafted), grafted

    # 4. Installed into fresh venvs outside the repository, run against the fake device.
    outputs = {}
    for name, w in (("plain", wheel), ("manylinux", manylinux)):
        where = tmp_path / name
        where.mkdir()
        outputs[name] = install_and_run(w, where, device)
    for name, out in outputs.items():
        lines = out.splitlines()
        assert re.fullmatch(rf"netrig {re.escape(version)} from .*/{name}/venv/lib/python3\.\d+/site-packages/netrig/libnetrig\.so", lines[0]), out
        assert lines[1:] == [
            "device: Configuration register is 0x2102 (True)",
            "pool: True reused 1",
            "runner: 2 of 2 ['ok', 'ok']",
            "store: running 3",
            "queue: True upgrade dut-1 1",
        ], out
    print(f"wheel build {built - started:.1f} s, whole test {time.monotonic() - started:.1f} s")
