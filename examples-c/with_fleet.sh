#!/usr/bin/env bash
# with_fleet.sh CMD [ARGS...]
#
# Starts one fake cisco_ios device (tests/fakedev, real SSH on loopback) whose CLI hangs on
# "show hang", runs
#
#     CMD ARGS... HOST PORT USERNAME PASSWORD SECRET HOST_KEY_FINGERPRINT
#
# stops the device, and exits with CMD's status.
#
# with_fleet.sh --devices N [--auth-failures A] [--hangs H] [--drops D] CMD [ARGS...]
#
# Starts N fake cisco_ios devices instead, of which A refuse every login, H hang (print their
# output but never a prompt again) on "show version", and D cut the connection in the middle of
# "show version"; the other N-A-H-D behave. Runs
#
#     CMD ARGS... FLEET_FILE
#
# where FLEET_FILE has one line per device, fields separated by single spaces:
#
#     NAME HOST PORT USERNAME PASSWORD SECRET HOST_KEY_FINGERPRINT FAULTS
#
# FAULTS is "-" for a device that behaves, else its faults as fakedev's inventory names them,
# comma-separated (auth_always_fails, hang, drop). Names say the group: dut-, authfail-, hang-,
# drop-.
#
# The devices never outlive this script: fakedev reads its stdin from a pipe that only this
# script holds open, so it stops when the script ends however it ends (even on SIGKILL), and
# the EXIT trap also waits for it and kills it if it lingers.
#
# Builds nothing. The fakedev binary is $FAKEDEV, by default target/release/fakedev of this
# checkout: `cargo build --release -p fakedev` (the root Makefile's `lib` target) builds it.
# CMD sees it as $FAKEDEV (an absolute path).
set -euo pipefail

usage() {
  echo "usage: with_fleet.sh CMD [ARGS...]  (runs CMD ARGS... HOST PORT USERNAME PASSWORD SECRET FINGERPRINT)" >&2
  echo "       with_fleet.sh --devices N [--auth-failures A] [--hangs H] [--drops D] CMD [ARGS...]" \
       " (runs CMD ARGS... FLEET_FILE)" >&2
  exit 2
}

devices= auth_failures=0 hangs=0 drops=0
count_arg() {
  case "$2" in
    ''|*[!0-9]*) echo "with_fleet.sh: $1 needs a number, got '$2'" >&2; usage;;
  esac
}
while [ $# -gt 0 ]; do
  case "$1" in
    --devices) count_arg "$1" "${2:-}"; devices=$2; shift 2;;
    --auth-failures) count_arg "$1" "${2:-}"; auth_failures=$2; shift 2;;
    --hangs) count_arg "$1" "${2:-}"; hangs=$2; shift 2;;
    --drops) count_arg "$1" "${2:-}"; drops=$2; shift 2;;
    --) shift; break;;
    -*) echo "with_fleet.sh: unknown option $1" >&2; usage;;
    *) break;;
  esac
done
[ $# -gt 0 ] || usage
if [ -z "$devices" ] && [ $((auth_failures + hangs + drops)) -gt 0 ]; then
  echo "with_fleet.sh: --auth-failures, --hangs and --drops need --devices" >&2
  usage
fi
if [ -n "$devices" ]; then
  good=$((devices - auth_failures - hangs - drops))
  if [ "$devices" -lt 1 ] || [ "$good" -lt 0 ]; then
    echo "with_fleet.sh: --devices $devices is fewer than the $((auth_failures + hangs + drops)) faulty ones" >&2
    exit 2
  fi
fi

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
fakedev=${FAKEDEV:-$here/../target/release/fakedev}
if [ ! -x "$fakedev" ]; then
  echo "with_fleet.sh: no fakedev binary at $fakedev; build it with 'cargo build --release -p fakedev'" \
       "(or 'make lib' in the repository root), or set FAKEDEV" >&2
  exit 2
fi
# The program may start devices of its own (cxx_header_test starts a fake Linux board): it
# finds the same binary here, from any working directory.
FAKEDEV=$(cd "$(dirname "$fakedev")" && pwd)/$(basename "$fakedev")
export FAKEDEV

work=$(mktemp -d "${TMPDIR:-/tmp}/netrig-fleet.XXXXXX")
fakedev_pid=
stdin_fd=

stop_fakedev() {
  [ -n "$fakedev_pid" ] || return 0
  # EOF on its stdin is fakedev's normal stop; SIGTERM, then SIGKILL, if it does not go.
  if [ -n "$stdin_fd" ]; then
    exec {stdin_fd}>&-
    stdin_fd=
  fi
  local i
  for i in $(seq 50); do
    kill -0 "$fakedev_pid" 2>/dev/null || break
    [ "$i" = 30 ] && kill -TERM "$fakedev_pid" 2>/dev/null
    sleep 0.1
  done
  kill -KILL "$fakedev_pid" 2>/dev/null || true
  wait "$fakedev_pid" 2>/dev/null || true
  fakedev_pid=
}

cmd_pid=
cleanup() {
  # Reached on a signal while CMD runs, too: CMD goes first, then the device.
  if [ -n "$cmd_pid" ]; then
    kill -TERM "$cmd_pid" 2>/dev/null || true
    wait "$cmd_pid" 2>/dev/null || true
  fi
  stop_fakedev
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

if [ -z "$devices" ]; then
  cat >"$work/fleet.toml" <<'EOF'
[[device]]
profile = "cisco_ios"
name = "dut"

[device.faults]
hang_on = ["show hang"]
EOF
else
  # One group per kind of device; empty groups are left out.
  group() { # NAME COUNT [FAULT LINE]
    [ "$2" -gt 0 ] || return 0
    printf '[[device]]\nprofile = "cisco_ios"\nname = "%s"\ncount = %s\n' "$1" "$2"
    [ -z "${3:-}" ] || printf '[device.faults]\n%s\n' "$3"
    printf '\n'
  }
  {
    group dut "$good"
    group authfail "$auth_failures" 'auth_always_fails = true'
    group hang "$hangs" 'hang_on = ["show version"]'
    group drop "$drops" 'drop_on = ["show version"]'
  } >"$work/fleet.toml"
fi

# The FIFO is opened read-write (which never blocks) and kept open only by this shell: neither
# fakedev nor CMD inherits the descriptor, so closing it (or this shell dying) is fakedev's EOF.
mkfifo "$work/stdin"
exec {stdin_fd}<>"$work/stdin"
"$fakedev" --inventory "$work/fleet.toml" <"$work/stdin" >"$work/inventory.json" 2>"$work/fakedev.log" \
  {stdin_fd}>&- &
fakedev_pid=$!

# fakedev prints the inventory (a pretty-printed JSON array) once every device listens.
for _ in $(seq 600); do
  grep -q '^]' "$work/inventory.json" 2>/dev/null && break
  if ! kill -0 "$fakedev_pid" 2>/dev/null; then
    echo "with_fleet.sh: fakedev exited before printing its inventory:" >&2
    cat "$work/fakedev.log" >&2
    exit 1
  fi
  sleep 0.05
done
if ! grep -q '^]' "$work/inventory.json"; then
  echo "with_fleet.sh: fakedev printed no inventory within 30 s" >&2
  exit 1
fi

# CMD runs in the background with this script's stdin, so that `wait` (unlike a foreground
# command) lets a signal to this script through at once, and the EXIT trap then stops CMD too.
run_cmd() {
  exec {cmd_stdin}<&0
  "$@" <&"$cmd_stdin" {cmd_stdin}<&- {stdin_fd}>&- &
  cmd_pid=$!
  status=0
  wait "$cmd_pid" || status=$?
  cmd_pid=
  stop_fakedev
  exit "$status"
}

if [ -n "$devices" ]; then
  # The pretty-printed inventory has one "key": value per line; "faults" is a list, on one
  # line when empty ([]) or one item per line.
  awk '
    function field(line) { sub(/^ *"[a-z_]+": */, "", line); sub(/,$/, "", line); gsub(/"/, "", line); return line }
    /^  \{/ { delete d; faults = ""; in_faults = 0; next }
    in_faults && /^ *\]/ { in_faults = 0; next }
    in_faults { f = $0; gsub(/[ ",]/, "", f); faults = faults (faults == "" ? "" : ",") f; next }
    /^ *"faults": \[\]/ { next }
    /^ *"faults": \[/ { in_faults = 1; next }
    /^ *"[a-z_]+": / { k = $1; gsub(/[":]/, "", k); d[k] = field($0); next }
    /^  \}/ {
      secret = (d["secret"] == "" || d["secret"] == "null") ? "-" : d["secret"]
      print d["name"], d["host"], d["port"], d["username"], d["password"], secret, d["host_key_fingerprint"], (faults == "" ? "-" : faults)
    }
  ' "$work/inventory.json" >"$work/fleet.txt"
  lines=$(wc -l <"$work/fleet.txt")
  if [ "$lines" -ne "$devices" ]; then
    echo "with_fleet.sh: the inventory lists $lines devices, not $devices:" >&2
    cat "$work/inventory.json" >&2
    exit 1
  fi
  echo "with_fleet.sh: $devices fake cisco_ios devices ($good good, $auth_failures refusing logins," \
       "$hangs hanging and $drops dropping the connection on 'show version')" >&2
  run_cmd "$@" "$work/fleet.txt"
fi

# One device, so each key appears once: `"key": "text",` or `"key": 1234,` on a line of its own.
field() {
  sed -n -E "s/^ *\"$1\": (\"([^\"\\\\]*)\"|([0-9]+)),?\$/\\2\\3/p" "$work/inventory.json" | head -n 1
}
name=$(field name)
host=$(field host)
port=$(field port)
username=$(field username)
password=$(field password)
secret=$(field secret)
fingerprint=$(field host_key_fingerprint)
for v in name host port username password secret fingerprint; do
  if [ -z "${!v}" ]; then
    echo "with_fleet.sh: no '$v' in the inventory:" >&2
    cat "$work/inventory.json" >&2
    exit 1
  fi
done
echo "with_fleet.sh: fake device $name (cisco_ios, hangs on 'show hang') on $host:$port" >&2

run_cmd "$@" "$host" "$port" "$username" "$password" "$secret" "$fingerprint"
