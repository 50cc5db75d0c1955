#!/usr/bin/env bash
# Makes the shipped libnetrig.a from cargo's: one relocatable object whose only global
# definitions are the netrig_ symbols, so the bundled SQLite, libssh2, the Rust standard library
# and every crate inside stay netrig's own and never clash with (or stand in for) a program's
# -lsqlite3, -lssh2 or another Rust static library.
#
#   scripts/static_lib.sh IN.a OUT.a [--strip-debug]
#
# Steps (GNU binutils: ld, objcopy, ar, nm):
#  1. ld -r with every netrig_ symbol of IN.a as a root (-u) and --gc-sections: only the archive
#     members and sections reachable from the C ABI go in (.init_array, .eh_frame and TLS are kept
#     by ld; the unwind tables are what let a panic reach the C ABI guard);
#  2. objcopy: every defined global or weak symbol but netrig_* becomes local (references inside
#     the object were already resolved to them); undefined ones (libc, libpthread, libssl,
#     libcrypto, libz, the libgcc_s unwinder) stay undefined. It also removes what merging made
#     wrong or useless: .llvmbc/.llvmcmd (rustc's embedded bitcode: concatenated modules are not
#     valid bitcode, and LLVM's linker plugin aborts on them), .llvm_addrsig (symbol indices that
#     no longer match) and the COMDAT group of DW.ref.rust_eh_personality (its signature is now
#     local, and a program with another Rust library would discard netrig's copy by that name);
#  3. the object alone in a new archive, then the checks below: only netrig_ symbols defined
#     global, exactly as many as IN.a defines, no bitcode or groups left, .note.GNU-stack (a
#     non-executable stack) and .eh_frame kept.
# With --strip-debug the debug info goes too (what `make install` ships). About 3 s for the full
# build.
set -euo pipefail

if [ $# -lt 2 ] || [ $# -gt 3 ] || { [ $# = 3 ] && [ "$3" != --strip-debug ]; }; then
  echo "usage: $0 IN.a OUT.a [--strip-debug]" >&2
  exit 2
fi
in=$1 out=$2 strip=${3:-}
[ -f "$in" ] || { echo "static_lib: no archive $in (build it first: cargo build --release)" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The C ABI: every netrig_ symbol the archive defines (functions and data).
nm -g --defined-only --format=posix "$in" 2>/dev/null | awk '$1 ~ /^netrig_/ && $2 ~ /^[TDRBV]$/ {print $1}' | sort -u >"$tmp/api"
want=$(wc -l <"$tmp/api")
[ "$want" -gt 0 ] || { echo "static_lib: $in defines no netrig_ symbol" >&2; exit 1; }

sed 's/^/-u /' "$tmp/api" >"$tmp/roots"
ld -r --gc-sections @"$tmp/roots" -o "$tmp/merged.o" "$in"

objcopy_args=(-w --keep-global-symbol='netrig_*' -R .llvmbc -R .llvmcmd -R .llvm_addrsig -R .group)
[ -z "$strip" ] || objcopy_args+=(--strip-debug)
objcopy "${objcopy_args[@]}" "$tmp/merged.o" "$tmp/netrig.o"

mkdir -p "$(dirname "$out")"
rm -f "$out.tmp"
ar rcs "$out.tmp" "$tmp/netrig.o"

# The checks: fail rather than ship an archive that exports anything else.
others=$(nm -g --defined-only --format=posix "$out.tmp" | awk 'NF>=2 && $1 !~ /^netrig_/ && $1 !~ /:$/ {print $1}' | head -5)
if [ -n "$others" ]; then echo "static_lib: $out still defines non-netrig globals: $others" >&2; exit 1; fi
have=$(nm -g --defined-only --format=posix "$out.tmp" | awk '$1 ~ /^netrig_/' | wc -l)
if [ "$have" != "$want" ]; then echo "static_lib: $out defines $have netrig_ symbols, $in $want" >&2; exit 1; fi
sections=$(readelf -SW "$tmp/netrig.o")
if grep -qE '\.llvmbc|\.llvmcmd| GROUP ' <<<"$sections"; then
  echo "static_lib: $out still has embedded bitcode or a COMDAT group" >&2; exit 1
fi
# Without .note.GNU-stack a program linking it would get an executable stack; without
# .eh_frame a panic could not unwind to the guard.
for s in .note.GNU-stack .eh_frame; do
  grep -qF " $s " <<<"$sections" || { echo "static_lib: $out lost its $s section" >&2; exit 1; }
done
mv "$out.tmp" "$out"
echo "static_lib: $out: $have global symbols, all netrig_; $(stat -c %s "$in") -> $(stat -c %s "$out") bytes"
