#!/usr/bin/env bash
# `make stress`: shows that the demos and the timing-sensitive tests do not flake on a loaded
# machine. Two CPU-bound hog processes run beside everything (on a 2-core machine that is a
# machine busy twice over), while it runs
#   - each program of `make demo` ROUNDS times (default 20),
#   - each Rust test binary and the library's unit tests TEST_ROUNDS times (default 3),
#   - the Python suite TEST_ROUNDS times,
#   - the C++ tour and the C++ header's tests (examples-c) ROUNDS times against a fake fleet,
#   - the install test (scripts/install_test.sh) TEST_ROUNDS times,
# and prints a pass count per item. It exits 1 if anything failed once; the output of every
# failed run is kept under $STRESS_LOGS (default target/stress) for reading.
#
# Not part of `make test`: it takes a while (about 20-30 minutes here). Usage:
#   make stress                       # everything
#   ROUNDS=5 TEST_ROUNDS=1 make stress
#   ONLY=demo make stress             # demo | rust | python | cxx | install
set -uo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-20}
TEST_ROUNDS=${TEST_ROUNDS:-3}
ONLY=${ONLY:-}
LOGS=${STRESS_LOGS:-target/stress}
CARGO=${CARGO:-cargo}
DEMO_FLEET=${DEMO_FLEET:---devices 50 --auth-failures 2 --hangs 2 --drops 1}
CXX_FLEET=${CXX_FLEET:---devices 12 --auth-failures 1 --hangs 1 --drops 1}
mkdir -p "$LOGS"
rm -f "$LOGS"/*.log

hogs=()
stop_hogs() {
    for pid in "${hogs[@]}"; do kill "$pid" 2>/dev/null; done
    wait "${hogs[@]}" 2>/dev/null
}
trap stop_hogs EXIT
trap 'exit 130' INT TERM

summary=()
failed=0

# run_rounds NAME N COMMAND...: runs COMMAND N times, counts passes, keeps failed outputs.
run_rounds() {
    local name=$1 n=$2 pass=0 i start
    shift 2
    start=$(date +%s)
    for ((i = 1; i <= n; i++)); do
        local log="$LOGS/${name//\//_}.$i.log"
        if "$@" >"$log" 2>&1; then
            pass=$((pass + 1))
            rm -f "$log"
        else
            echo "stress: $name round $i FAILED (output kept in $log):" >&2
            tail -n 15 "$log" | sed 's/^/    /' >&2
        fi
    done
    local line
    line=$(printf '%-28s %3d/%-3d passed  (%ds)' "$name" "$pass" "$n" $(($(date +%s) - start)))
    echo "stress: $line"
    summary+=("$line")
    [ "$pass" -eq "$n" ] || failed=1
}

echo "stress: building (release) before the hogs start"
make --no-print-directory lib >/dev/null || exit 1
make --no-print-directory -C examples-c build >/dev/null || exit 1
want() { [ -z "$ONLY" ] || [ "$ONLY" = "$1" ]; }
if want rust; then
    $CARGO test --release --no-run >/dev/null 2>&1 || { echo "stress: cargo test --no-run failed" >&2; exit 1; }
fi

for _ in 1 2; do
    # A CPU-bound hog: a busy shell loop, niced like nothing (same priority as the tests).
    sh -c 'while :; do :; done' &
    hogs+=($!)
done
echo "stress: 2 CPU hogs running (pids ${hogs[*]}) on $(nproc) cores"

if want demo; then
    run_rounds demo/store_demo "$ROUNDS" ./examples-c/build/store_demo-shared
    run_rounds demo/queue_events_demo "$ROUNDS" ./examples-c/build/queue_events_demo-shared
    run_rounds demo/device_demo "$ROUNDS" ./examples-c/with_fleet.sh ./examples-c/build/device_demo-shared
    # shellcheck disable=SC2086 # the fleet options are words
    run_rounds demo/parallel_demo "$ROUNDS" ./examples-c/with_fleet.sh $DEMO_FLEET ./examples-c/build/parallel_demo-shared
fi

if want rust; then
    run_rounds rust/lib "$TEST_ROUNDS" $CARGO test --release --lib
    for t in tests/*.rs; do
        name=$(basename "$t" .rs)
        run_rounds "rust/$name" "$TEST_ROUNDS" $CARGO test --release --test "$name"
    done
    run_rounds rust/fakedev "$TEST_ROUNDS" $CARGO test --release -p fakedev
fi

if want python; then
    run_rounds python/tests "$TEST_ROUNDS" python3 -m pytest -q -p no:cacheprovider python/tests
fi

# The C++ programs against a fake fleet (as make c-test runs them), and the installed package.
if want cxx; then
    for p in cxx_tour cxx_header_test; do
        # shellcheck disable=SC2086 # the fleet options are words
        run_rounds "cxx/$p" "$ROUNDS" ./examples-c/with_fleet.sh $CXX_FLEET ./examples-c/build/$p-shared
    done
fi
if want install; then
    run_rounds install/install_test "$TEST_ROUNDS" ./scripts/install_test.sh
fi

echo
echo "stress: summary (2 CPU hogs beside every run)"
printf '  %s\n' "${summary[@]}"
if [ "$failed" -ne 0 ]; then
    echo "stress: FAILED (logs in $LOGS)"
    exit 1
fi
echo "stress: all passed"
