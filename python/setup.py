"""Builds libnetrig from ../Cargo.toml into the package (see pyproject.toml for the why).

- The library: `cargo rustc --lib --crate-type cdylib --release` through setuptools-rust
  (Binding.NoBinding), copied into the wheel as netrig/libnetrig.so (the name netrig.ffi looks
  for beside the package) and stripped of its debug info there (Strip.Debug, `strip -S`). The
  repository's release profile keeps `debug = 1`; stripping the copy costs a second, where a
  dedicated cargo profile without debug info would rebuild every dependency (~4 min here).
- The cargo target directory is cargo's own (the workspace's target/, or $CARGO_TARGET_DIR),
  and the unit is the one `cargo build --release` builds, so a wheel build after it compiles
  nothing (and from scratch, the same ~4 min as `cargo build --release`).
- Nothing is written into the source tree: setuptools' build and egg-info directories go under
  the cargo target directory (target/python-build), and an in-place (editable) build is refused,
  because a libnetrig.so left in python/netrig/ would shadow target/release's fresh build for
  the repository's own tests (netrig.ffi tries the bundled library first).
- The wheel is tagged py3-none-<platform>: the library does not use the Python C API, so one
  wheel serves every Python 3 on that platform.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.bdist_wheel import bdist_wheel
from setuptools_rust import Binding, RustExtension, Strip
from setuptools_rust.build import build_rust

HERE = Path(__file__).resolve().parent
MANIFEST = HERE.parent / "Cargo.toml"

if sys.platform == "darwin":
    LIBRARY_NAME = "libnetrig.dylib"
elif sys.platform == "win32":
    LIBRARY_NAME = "netrig.dll"
else:
    LIBRARY_NAME = "libnetrig.so"


def crate_version() -> str:
    """[package] version of ../Cargo.toml (a regex: tomllib is Python 3.11+)."""
    try:
        text = MANIFEST.read_text(encoding="utf-8")
    except FileNotFoundError:
        sys.exit(f"netrig setup.py: {MANIFEST} not found; build from a checkout of the netrig repository")
    package = re.search(r"^\[package\]\s*$(.*?)(?=^\[)", text, re.M | re.S)
    version = package and re.search(r'^version\s*=\s*"([^"]+)"', package.group(1), re.M)
    if not version:
        sys.exit(f"netrig setup.py: no [package] version in {MANIFEST}")
    return version.group(1)


def build_base() -> str:
    """Where setuptools puts build/ and egg-info: beside cargo's output, outside the source tree."""
    target = os.environ.get("CARGO_TARGET_DIR") or str(HERE.parent / "target")
    return os.path.join(os.path.abspath(target), "python-build")


class build_netrig(build_rust):
    """setuptools-rust's build_rust, but the library keeps its plain name (libnetrig.so, not
    libnetrig.cpython-311-x86_64-linux-gnu.so) and never lands in the source tree."""

    def run(self) -> None:
        if self.inplace:
            sys.exit(
                "netrig setup.py: an in-place (editable) build would put libnetrig.so into "
                "python/netrig/, where it shadows target/release for the repository's tests; "
                "use `cargo build --release` with PYTHONPATH=python, or `pip install ./python`"
            )
        super().run()

    def get_dylib_ext_path(self, ext: RustExtension, target_fname: str) -> str:
        path = super().get_dylib_ext_path(ext, target_fname)
        return os.path.join(os.path.dirname(path), LIBRARY_NAME)


class bdist_wheel_py3_none(bdist_wheel):
    """py3-none-<platform>: a platform wheel (it holds a native library) for any Python 3."""

    def get_tag(self) -> tuple[str, str, str]:
        _, _, plat = super().get_tag()
        return "py3", "none", plat


os.makedirs(build_base(), exist_ok=True)
setup(
    version=crate_version(),
    rust_extensions=[
        RustExtension(
            "netrig.libnetrig",
            path=str(MANIFEST),
            binding=Binding.NoBinding,
            # The crate types of Cargo.toml's [lib], so this is the same unit as `cargo build
            # --release` (one fingerprint: no rebuild either way). setuptools-rust's default,
            # `--crate-type cdylib` alone, makes a different unit that overwrites
            # target/release/libnetrig.so, and each later `cargo build` rebuilds it (~40 s).
            args=["--crate-type", "cdylib,staticlib,rlib"],
            strip=Strip.Debug,
            debug=False,
        )
    ],
    cmdclass={"build_rust": build_netrig, "bdist_wheel": bdist_wheel_py3_none},
    options={"build": {"build_base": build_base()}, "egg_info": {"egg_base": build_base()}},
    zip_safe=False,
)
