#!/usr/bin/env bash
# with_fleet.sh CMD [ARGS...]
#
# Starts one fake cisco_ios device (tests/fakedev, real SSH on loopback) whose CLI hangs on
# "show hang", runs
#
#     CMD ARGS... HOST PORT USERNAME PASSWORD SECRET HOST_KEY_FINGERPRINT
#
# stops the device, and exits with CMD's status. The device never outlives this script: it
# reads its stdin from a pipe that only this script holds open, so it stops when the script
# ends however it ends (even on SIGKILL), and the EXIT trap also waits for it and kills it if
# it lingers.
#
# Builds nothing. The fakedev binary is $FAKEDEV, by default target/release/fakedev of this
# checkout: `cargo build --release -p fakedev` (the root Makefile's `lib` target) builds it.
set -euo pipefail

if [ $# -eq 0 ]; then
  echo "usage: with_fleet.sh CMD [ARGS...]  (runs CMD ARGS... HOST PORT USERNAME PASSWORD SECRET FINGERPRINT)" >&2
  exit 2
fi

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
fakedev=${FAKEDEV:-$here/../target/release/fakedev}
if [ ! -x "$fakedev" ]; then
  echo "with_fleet.sh: no fakedev binary at $fakedev; build it with 'cargo build --release -p fakedev'" \
       "(or 'make lib' in the repository root), or set FAKEDEV" >&2
  exit 2
fi

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

cat >"$work/fleet.toml" <<'EOF'
[[device]]
profile = "cisco_ios"
name = "dut"

[device.faults]
hang_on = ["show hang"]
EOF

# The FIFO is opened read-write (which never blocks) and kept open only by this shell: neither
# fakedev nor CMD inherits the descriptor, so closing it (or this shell dying) is fakedev's EOF.
mkfifo "$work/stdin"
exec {stdin_fd}<>"$work/stdin"
"$fakedev" --inventory "$work/fleet.toml" <"$work/stdin" >"$work/inventory.json" 2>"$work/fakedev.log" \
  {stdin_fd}>&- &
fakedev_pid=$!

# fakedev prints the inventory (a pretty-printed JSON array) once every device listens.
for _ in $(seq 200); do
  grep -q '^]' "$work/inventory.json" 2>/dev/null && break
  if ! kill -0 "$fakedev_pid" 2>/dev/null; then
    echo "with_fleet.sh: fakedev exited before printing its inventory:" >&2
    cat "$work/fakedev.log" >&2
    exit 1
  fi
  sleep 0.05
done
if ! grep -q '^]' "$work/inventory.json"; then
  echo "with_fleet.sh: fakedev printed no inventory within 10 s" >&2
  exit 1
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

# CMD runs in the background with this script's stdin, so that `wait` (unlike a foreground
# command) lets a signal to this script through at once, and the EXIT trap then stops CMD too.
exec {cmd_stdin}<&0
"$@" "$host" "$port" "$username" "$password" "$secret" "$fingerprint" \
  <&"$cmd_stdin" {cmd_stdin}<&- {stdin_fd}>&- &
cmd_pid=$!
status=0
wait "$cmd_pid" || status=$?
cmd_pid=
stop_fakedev
exit "$status"
