#!/usr/bin/env bash
# `make install-test` (part of `make test`): installs netrig into temporary prefixes and uses it
# the ways its users do. Run after `make lib` (the Makefile target depends on it).
#  1. make install PREFIX=$tmp/prefix: the tree, the SONAME and its links, stripped libraries
#     with their debug info beside, a static library whose only globals are netrig_ symbols.
#  2. pkg-config: examples-c/quickstart.c, own_sqlite.c and bad_input.c built with
#     `pkg-config --cflags --libs netrig` (shared) and `cc -static ... pkg-config --static`
#     (fully static), and run; own_sqlite proves the static netrig keeps its bundled SQLite to
#     itself beside the system -lsqlite3 (and, linked against cargo's unprocessed archive,
#     that it fails without that); bad_input that a panic still becomes NETRIG_E_PANIC.
#  3. CMake: examples-c/cmake (find_package(netrig CONFIG)) builds each C and C++ program against
#     netrig::netrig and netrig::netrig_static; all run, the C++ ones also under valgrind;
#     find_package refuses versions the package is not compatible with.
#  4. make install PREFIX=/opt/netrig DESTDIR=$tmp/stage: files land under the stage while the
#     paths written into them are /opt/netrig; the staged CMake package, used where it lies,
#     still builds (relocatable).
#  5. make uninstall removes every file installed.
#  6. README blocks: the README's Install, CMake, C++, Logs and fake-device blocks run as written.
# Prints one line per check and ends with "install_test: N passed, M failed".
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
for tool in cc c++ pkg-config cmake valgrind readelf nm; do
  command -v $tool >/dev/null || { echo "install_test: $tool is missing (scripts/setup.sh --test installs it)" >&2; exit 1; }
done
MAKE=${MAKE:-make}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
start=$(date +%s)
passed=0 failed=0
pass() { passed=$((passed + 1)); echo "  ok    $*"; }
fail() { failed=$((failed + 1)); echo "  FAIL  $*"; }
section() { echo "== $* (at $(($(date +%s) - start)) s)"; }
check() { local what=$1; shift; if "$@" >"$tmp/out" 2>&1; then pass "$what"; else fail "$what"; sed 's/^/        /' "$tmp/out" | tail -20; fi; }

version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -1)
real=libnetrig.so.$version soname=libnetrig.so.${version%%.*}
VALGRIND=(valgrind -q --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite)

# ---- 1. the installed tree
prefix=$tmp/prefix
lib=$prefix/lib
section "make install PREFIX=$prefix"
check "make install" $MAKE -s install PREFIX="$prefix"
(cd "$prefix" && find . -printf '%y %p %l\n' | sort -k2 | sed 's/^/        /')
for f in include/netrig.h lib/$real lib/libnetrig.a lib/.debug/$real.debug lib/pkgconfig/netrig.pc \
         lib/cmake/netrig/netrigConfig.cmake lib/cmake/netrig/netrigConfigVersion.cmake; do
  check "installed $f" test -f "$prefix/$f"
done
if [ -f include/netrig.hpp ]; then check "installed include/netrig.hpp" test -f "$prefix/include/netrig.hpp"; fi
check "lib/$soname -> $real" test "$(readlink "$lib/$soname")" = "$real"
check "lib/libnetrig.so -> $soname" test "$(readlink "$lib/libnetrig.so")" = "$soname"
check "$real has SONAME $soname" test "$(readelf -d "$lib/$real" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')" = "$soname"
no_section() { ! readelf -SW "$1" | grep -qE " \\$2 "; }
has_section() { readelf -SW "$1" | grep -qE " \\$2 "; }
check "$real is stripped (no .debug_info)" no_section "$lib/$real" .debug_info
check "$real is stripped (no .symtab)" no_section "$lib/$real" .symtab
check "$real links its debug info ($real.debug)" \
  bash -c "readelf -p .gnu_debuglink '$lib/$real' | grep -q '$real.debug'"
check ".debug/$real.debug has the debug info" has_section "$lib/.debug/$real.debug" .debug_info
check "libnetrig.a is stripped (no .debug_info)" no_section "$lib/libnetrig.a" .debug_info
check "libnetrig.so exports only netrig_ symbols" \
  bash -c "! nm -D --defined-only '$lib/$real' | awk '{print \$3}' | grep -v '^netrig_'"
check "libnetrig.a defines only netrig_ symbols as globals" \
  bash -c "! nm -g --defined-only --format=posix '$lib/libnetrig.a' | awk 'NF>=2 && \$1 !~ /:\$/ {print \$1}' | grep -v '^netrig_'"
check "libnetrig.a defines the same netrig_ symbols as libnetrig.so exports" \
  bash -c "diff <(nm -D --defined-only '$lib/$real' | awk '{print \$3}' | sort) \
                <(nm -g --defined-only --format=posix '$lib/libnetrig.a' | awk '\$1 ~ /^netrig_/ {print \$1}' | sort)"
check "libnetrig.a leaves libc/OpenSSL/unwinder symbols undefined" \
  bash -c "nm -u --format=posix '$lib/libnetrig.a' | awk '{print \$1}' | grep -qx malloc &&
           nm -u --format=posix '$lib/libnetrig.a' | awk '{print \$1}' | grep -qx _Unwind_RaiseException"
echo "        sizes: $real $(stat -c %s "$lib/$real") (built $(stat -c %s target/release/libnetrig.so)), libnetrig.a $(stat -c %s "$lib/libnetrig.a") (built $(stat -c %s target/release/libnetrig.a))"

# ---- 2. pkg-config
section "pkg-config"
# Not exported: cargo (run by make install below) would rebuild openssl-sys and libssh2-sys,
# whose build scripts watch PKG_CONFIG_PATH.
pkg-config() { PKG_CONFIG_PATH=$lib/pkgconfig command pkg-config "$@"; }
check "pkg-config --modversion netrig is $version" test "$(pkg-config --modversion netrig)" = "$version"
check "pkg-config --cflags --libs netrig names the prefix" \
  bash -c "echo '$(pkg-config --cflags --libs netrig)' | grep -q -- '-I$prefix/include' &&
           echo '$(pkg-config --libs netrig)' | grep -q -- '-L$lib -lnetrig'"
out=$tmp/pc
mkdir -p "$out"
# bad_input includes netrig_debug_panic: NETRIG_E_PANIC from the installed libraries, also in
# a -static program, where libgcc_eh's unwinder (not libgcc_s) carries the panic to the guard.
for prog in quickstart own_sqlite bad_input; do
  extra=""; [ $prog = own_sqlite ] && extra=-lsqlite3
  # shellcheck disable=SC2046,SC2086
  check "pkg-config: $prog-shared builds" cc -Wall -Wextra -Werror -O2 -o "$out/$prog-shared" examples-c/$prog.c \
    $(pkg-config --cflags --libs netrig) $extra
  check "pkg-config: $prog-shared needs $soname" \
    bash -c "readelf -d '$out/$prog-shared' | grep -q 'NEEDED.*\\[$soname\\]'"
  check "pkg-config: $prog-shared runs (LD_LIBRARY_PATH=$lib)" env LD_LIBRARY_PATH="$lib" "$out/$prog-shared" "$tmp"
  # Fully static, as a firmware rig links: every library from its .a (glibc warns about the
  # resolver and dlopen in static programs; the programs here use neither).
  # shellcheck disable=SC2046,SC2086
  check "pkg-config --static: $prog-static builds with cc -static" cc -static -Wall -Wextra -Werror -O2 -o "$out/$prog-static" \
    examples-c/$prog.c $extra $(pkg-config --static --cflags --libs netrig)
  check "pkg-config --static: $prog-static is a static program (no interpreter, no NEEDED)" \
    bash -c "readelf -lW '$out/$prog-static' | grep -q LOAD && ! readelf -lW '$out/$prog-static' | grep -q INTERP &&
             ! readelf -d '$out/$prog-static' | grep -q NEEDED"
  check "pkg-config --static: $prog-static runs" "$out/$prog-static" "$tmp"
done

# The check own_sqlite makes can fail: linked against cargo's own archive, which exports the
# bundled SQLite, the program's sqlite3_libversion() is netrig's SQLite, not the system's.
# shellcheck disable=SC2046
check "own_sqlite linked against cargo's unprocessed libnetrig.a builds" cc -O2 -o "$out/own_sqlite-unprocessed" \
  -Iinclude examples-c/own_sqlite.c target/release/libnetrig.a -lsqlite3 $(pkg-config --static --libs-only-l netrig | sed 's/-lnetrig//')
check "own_sqlite linked against cargo's unprocessed libnetrig.a fails: one SQLite for both" \
  bash -c "! '$out/own_sqlite-unprocessed' '$tmp' >'$tmp/unprocessed.log' 2>&1 &&
           grep -q 'sqlite3_libversion() is not the system SQLite' '$tmp/unprocessed.log'"

# ---- 3. CMake find_package
cmake_consumer() { # $1 prefix path, $2 build dir, then extra cmake arguments
  local path=$1 dir=$2; shift 2
  cmake -S examples-c/cmake -B "$dir" -DCMAKE_PREFIX_PATH="$path" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >"$dir.log" 2>&1 &&
    cmake --build "$dir" -j 2 >>"$dir.log" 2>&1 || { cat "$dir.log"; return 1; }
}
# What a program runs inside: cxx_tour takes a fake fleet's file (examples-c/with_fleet.sh starts
# the fleet and appends it; fewer devices under valgrind, as examples-c/Makefile does), the
# others a directory for their files.
FLEET=(./examples-c/with_fleet.sh --devices 12 --auth-failures 1 --hangs 1 --drops 1)
VALGRIND_FLEET=(./examples-c/with_fleet.sh --devices 6 --auth-failures 1 --hangs 1 --drops 1)
run_cmake_programs() { # $1 build dir, $2 label
  local b
  for b in "$1"/*-shared "$1"/*-static; do
    case "$(basename "$b")" in
      cxx_tour-*) check "$2: $(basename "$b") runs against a fake fleet" "${FLEET[@]}" "$b" ;;
      *) check "$2: $(basename "$b") runs" "$b" "$tmp" ;;
    esac
  done
}
section "CMake find_package(netrig)"
cm=$tmp/cmake
check "cmake: configure and build examples-c/cmake" cmake_consumer "$prefix" "$cm"
cxx=$(sed -n 's/^set(NETRIG_CXX_SOURCES \(.*\))$/\1/p' examples-c/cmake/CMakeLists.txt)
for b in "$cm"/*-shared; do
  check "cmake: $(basename "$b") needs $soname (netrig::netrig)" bash -c "readelf -d '$b' | grep -q 'NEEDED.*\\[$soname\\]'"
done
for b in "$cm"/*-static; do
  check "cmake: $(basename "$b") has netrig linked in (netrig::netrig_static)" \
    bash -c "! readelf -d '$b' | grep -q 'NEEDED.*libnetrig' && nm '$b' | grep -q ' T netrig_version$'"
done
run_cmake_programs "$cm" cmake
for src in $cxx; do
  name=${src%.*}
  for kind in shared static; do
    case "$name" in
      cxx_tour) check "cmake: $name-$kind runs under valgrind against a fake fleet" \
                  env NETRIG_PARALLEL_WORKERS=4 NETRIG_PARALLEL_STEP_TIMEOUT_MS=3000 \
                  "${VALGRIND_FLEET[@]}" "${VALGRIND[@]}" "$cm/$name-$kind" ;;
      *) check "cmake: $name-$kind runs under valgrind" "${VALGRIND[@]}" "$cm/$name-$kind" ;;
    esac
  done
done
check "cmake: find_package(netrig 1.0) is refused (another ABI major)" \
  bash -c "! cmake -S examples-c/cmake -B '$tmp/cmake-v1' -DCMAKE_PREFIX_PATH='$prefix' -DNETRIG_WANT_VERSION=1.0 >'$tmp/v1.log' 2>&1 &&
           grep -q 'not compatible\\|unsuitable\\|Could not find a configuration file' '$tmp/v1.log'"
check "cmake: find_package(netrig 0.99) is refused (newer than $version)" \
  bash -c "! cmake -S examples-c/cmake -B '$tmp/cmake-v099' -DCMAKE_PREFIX_PATH='$prefix' -DNETRIG_WANT_VERSION=0.99 >/dev/null 2>&1"

# ---- 4. DESTDIR, and a package used where it was unpacked
stage=$tmp/stage
section "make install PREFIX=/opt/netrig DESTDIR=$stage"
check "make install DESTDIR" $MAKE -s install PREFIX=/opt/netrig DESTDIR="$stage"
check "DESTDIR: files under the stage only" test -f "$stage/opt/netrig/lib/$real" -a ! -e /opt/netrig/lib/$real
check "DESTDIR: netrig.pc says prefix=/opt/netrig" grep -qx 'prefix=/opt/netrig' "$stage/opt/netrig/lib/pkgconfig/netrig.pc"
check "DESTDIR: no file names the stage" bash -c "! grep -rl '$stage' '$stage/opt/netrig/lib/pkgconfig' '$stage/opt/netrig/lib/cmake'"
check "relocated: the staged CMake package builds examples-c/cmake" cmake_consumer "$stage/opt/netrig" "$tmp/cmake-staged"
check "relocated: its programs use the staged library" \
  bash -c "readelf -d '$tmp/cmake-staged/quickstart-shared' | grep -q 'R.*PATH.*$stage/opt/netrig/lib'"
run_cmake_programs "$tmp/cmake-staged" relocated

# ---- 5. make uninstall
section "make uninstall"
check "make uninstall" $MAKE -s uninstall PREFIX="$prefix"
check "uninstall: no file or link left" test -z "$(find "$prefix" ! -type d)"
check "make uninstall DESTDIR" $MAKE -s uninstall PREFIX=/opt/netrig DESTDIR="$stage"
check "uninstall DESTDIR: no file or link left" test -z "$(find "$stage" ! -type d)"

# ---- 6. README blocks
# The README's Install, CMake, C++, Logs and fake-device blocks, as written (tests/repo_rules.rs,
# every_readme_code_block_is_checked, holds the table that names this section for them):
#  - "## Install" ```sh: line by line in bash -e from a scratch directory of symlinks to the
#    repository's top-level entries, with only these changes: /usr/local -> a temporary prefix,
#    `sudo ` removed, ldconfig -> a no-op that sets LD_LIBRARY_PATH to the prefix's lib, pip -> a
#    fresh venv's pip (--system-site-packages: the build backend setup.sh --test installed;
#    PIP_NO_BUILD_ISOLATION=0, which pip reads inverted: 0 turns isolation off; PIP_NO_INDEX=1).
#    make and pip run without PKG_CONFIG_PATH (cargo would rebuild openssl-sys and libssh2-sys),
#    the cc lines with it at the prefix. Neither rebuilds anything: the scratch path's cargo
#    and pip's cargo (from python/) reuse target/release.
#  - "## Install" ```cmake: the CMakeLists.txt of a project whose app.c is examples-c/quickstart.c
#    and app.cpp the "## C++" ```cpp block, against that prefix; app, app-static and app-cxx run,
#    app-cxx also against a fake device (examples-c/with_fleet.sh appends its six arguments).
#  - "## Logs" ```sh: runs from the checkout; stderr has NETRIG_LOG's lines in the documented
#    format, stdout the demo's success.
#  - "## Fake devices for tests (tests/fakedev)" ```sh: each line runs with stdin closed, and
#    exits for it: the first prints an inventory of 500 cisco_ios devices, the second the fleet
#    of tests/fakedev/fleet.example.toml.
section "README blocks"
readme_block() { # HEADING LANG [N]: the Nth (default 1st) ```LANG block under the heading line HEADING
  awk -v h="$1" -v l="$2" -v n="${3:-1}" '
    inb { if (/^```/) { inb = 0; if (sel) exit; next } if (sel) print; next }
    /^```/ { inb = 1; sel = (head == h && substr($0, 4) == l && ++k == n); next }
    /^#/ { head = $0 }' README.md
}
rd=$tmp/readme rprefix=$tmp/readme/prefix
scratch=$rd/scratch
mkdir -p "$scratch"
for e in "$root"/* "$root"/.[!.]*; do ln -s "$e" "$scratch/"; done
install_block=$(readme_block "## Install" sh)
check "README Install block: found (pip, make install, ldconfig, two cc lines, the run)" \
  test "$(grep -cE '^(pip install|sudo make install|sudo ldconfig|cc |\./app)' <<<"$install_block")" = 6
# The venv's own seeded setuptools (older) would shadow the one setup.sh --test installed.
check "README Install: a venv with the system's site packages" \
  bash -c "python3 -m venv --system-site-packages '$rd/venv' && '$rd/venv/bin/pip' uninstall -q -y setuptools"
{
  echo "pip() { env -u PKG_CONFIG_PATH PIP_NO_BUILD_ISOLATION=0 PIP_NO_INDEX=1 '$rd/venv/bin/pip' \"\$@\"; }"
  echo "make() { env -u PKG_CONFIG_PATH make \"\$@\"; }"
  echo "ldconfig() { export LD_LIBRARY_PATH='$rprefix/lib'; }"
  echo "export PKG_CONFIG_PATH='$rprefix/lib/pkgconfig'"
  echo "set -x"
  sed -e "s#/usr/local#$rprefix#g" -e 's/sudo //g' <<<"$install_block"
} >"$rd/install.sh"
sed 's/^/        /' "$rd/install.sh"
check "README Install block runs in bash -e (in $scratch)" \
  bash -c "cd '$scratch' && env -u PYTHONPATH -u NETRIG_LIBRARY bash -e '$rd/install.sh' >'$rd/install.log' 2>&1 || { cat '$rd/install.log'; exit 1; }"
check "README Install: pip built without build isolation (PIP_NO_BUILD_ISOLATION=0)" \
  bash -c "grep -q 'Successfully installed netrig' '$rd/install.log' && ! grep -qi 'installing build dependencies' '$rd/install.log'"
check "README Install: ./app and ./app-static ran (quickstart's output twice)" \
  test "$(grep -c '^dut/1/passed = ' "$rd/install.log")" = 2
check "README Install: ./app-static is a static program" bash -c "! readelf -lW '$scratch/app-static' | grep -q INTERP"
check "README Install: the venv's python imports netrig, and its library, from the venv" \
  bash -c "cd '$rd' && env -u PYTHONPATH -u NETRIG_LIBRARY '$rd/venv/bin/python' -c '
import netrig, netrig.ffi
print(netrig.__file__, netrig.ffi.library_path)
assert netrig.__file__.startswith(\"$rd/venv/\") and str(netrig.ffi.library_path).startswith(\"$rd/venv/\")'"
cmk=$rd/cmake
mkdir -p "$cmk"
readme_block "## Install" cmake >"$cmk/CMakeLists.txt"
cp examples-c/quickstart.c "$cmk/app.c"
readme_block "## C++" cpp >"$cmk/app.cpp"
check "README CMake block: found, and the C++ block" bash -c "grep -q find_package '$cmk/CMakeLists.txt' && grep -q netrig.hpp '$cmk/app.cpp'"
check "README CMake block: configures and builds app, app-static, app-cxx against the prefix" \
  bash -c "cmake -S '$cmk' -B '$cmk/build' -DCMAKE_PREFIX_PATH='$rprefix' >'$cmk.log' 2>&1 &&
           cmake --build '$cmk/build' -j 2 >>'$cmk.log' 2>&1 || { cat '$cmk.log'; exit 1; }"
check "README CMake: app runs" "$cmk/build/app"
check "README CMake: app-static runs, without libnetrig.so" \
  bash -c "'$cmk/build/app-static' && ! readelf -d '$cmk/build/app-static' | grep -q 'NEEDED.*libnetrig'"
check "README C++: app-cxx runs (NOT_FOUND caught, dut/1/temp_c = 42)" \
  bash -c "'$cmk/build/app-cxx' >'$rd/cxx.out' && grep -q '^NETRIG_E_NOT_FOUND: ' '$rd/cxx.out' &&
           grep -q '^dut/1/temp_c = 42 after 2 changes$' '$rd/cxx.out' || { cat '$rd/cxx.out'; exit 1; }"
check "README C++: app-cxx against a fake device prints show version" \
  bash -c "./examples-c/with_fleet.sh '$cmk/build/app-cxx' >'$rd/cxx-fleet.out' 2>&1 &&
           grep -q '^Cisco IOS Software, C2900 Software' '$rd/cxx-fleet.out' || { cat '$rd/cxx-fleet.out'; exit 1; }"
logs_line=$(readme_block "## Logs" sh)
check "README Logs line: examples-c/build/device_demo-shared builds" $MAKE -s -C examples-c build/device_demo-shared
check "README Logs line runs: $logs_line" bash -c "$logs_line >'$rd/logs.out' 2>'$rd/logs.err' || { cat '$rd/logs.err'; exit 1; }"
check "README Logs line: stderr has '<UTC time> DEBUG netrig::device <device>: ...' lines" \
  bash -c "grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z DEBUG netrig::device 127\.0\.0\.1:[0-9]+: TCP connected to ' '$rd/logs.err' &&
           grep -Eq '^[0-9T:.Z-]+ INFO netrig::device 127\.0\.0\.1:[0-9]+: opened \(cisco_ios, ' '$rd/logs.err' || { head -20 '$rd/logs.err'; exit 1; }"
check "README Logs line: stdout still has the demo's success" grep -qx 'device_demo: all checks passed' "$rd/logs.out"
fake_block=$(readme_block "## Fake devices for tests (tests/fakedev)" sh)
check "README fakedev block: two lines" test "$(wc -l <<<"$fake_block")" = 2
[ "$(ulimit -Sn)" -ge 2048 ] || ulimit -Sn "$(ulimit -Hn)" 2>/dev/null || true  # 500 devices: ~1100 open files
n=0
while IFS= read -r line; do
  n=$((n + 1))
  check "README fakedev line $n runs and exits when stdin closes: ${line%%  *}" \
    bash -c "env -u PKG_CONFIG_PATH bash -c \"\$0\" </dev/null >'$rd/fake$n.out' 2>'$rd/fake$n.err' &&
             grep -q '^fakedev: stdin closed, stopping [0-9]* devices$' '$rd/fake$n.err' || { cat '$rd/fake$n.err'; exit 1; }" "$line"
done <<<"$fake_block"
fake_inventory() { # FILE COUNT NAMES...: FILE is a JSON inventory of COUNT devices whose names start with NAMES
  python3 - "$@" <<'EOF'
import json, sys
text, count, names = open(sys.argv[1]).read(), int(sys.argv[2]), sys.argv[3:]
inventory = json.loads(text)
got = sorted({d["name"].rsplit("-", 1)[0] for d in inventory})
assert len(inventory) == count and got == sorted(names), (len(inventory), got)
assert all(d["host"] == "127.0.0.1" and d["port"] > 0 and d["host_key_fingerprint"].startswith("SHA256:") for d in inventory)
EOF
}
check "README fakedev line 1: a JSON inventory of 500 cisco_ios devices" \
  fake_inventory "$rd/fake1.out" 500 cisco_ios
check "README fakedev line 2: the fleet of tests/fakedev/fleet.example.toml" \
  fake_inventory "$rd/fake2.out" 8 dut slow flaky server
# The block's comment: a "stats" line on stdin prints counters (also when end of input follows).
fake_line2=$(sed -n 2p <<<"$fake_block")
check "README fakedev: stdin \"stats\" prints one JSON line of counters" \
  bash -c "printf 'stats\n' | env -u PKG_CONFIG_PATH bash -c \"\$0\" >'$rd/stats.out' 2>'$rd/stats.err' &&
           python3 -c 'import json, sys; *inv, stats = open(sys.argv[1]).read().splitlines(); names = sorted(d[\"name\"] for d in json.loads(chr(10).join(inv))); counters = json.loads(stats); assert sorted(counters) == names and all(\"commands\" in c for c in counters.values()), stats' '$rd/stats.out' ||
           { cat '$rd/stats.err'; exit 1; }" "$fake_line2"

echo "install_test: $((passed + failed)) checks in $(($(date +%s) - start)) s"
echo "install_test: $passed passed, $failed failed"
[ "$failed" = 0 ]
