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
command -v valgrind >/dev/null || need_apt+=(valgrind)
command -v git >/dev/null || need_apt+=(git)

if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: installing ${need_apt[*]}"
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if [ "${1:-}" = "--test" ]; then
  python3 -c 'import pytest' 2>/dev/null || {
    echo "setup: installing pytest"
    python3 -m pip install -q pytest
  }
fi
