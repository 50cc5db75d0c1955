#!/usr/bin/env bash
# Installs (or with --uninstall removes) the built netrig library: `make install` and
# `make uninstall` run it. GNU conventions, from the environment:
#   PREFIX      /usr/local
#   LIBDIR      $PREFIX/lib
#   INCLUDEDIR  $PREFIX/include
#   DESTDIR     empty; prepended to every path written, never to the paths written into files
#   BUILD       target/release (where cargo put libnetrig.so and libnetrig.a)
#
# What it installs (the version from Cargo.toml, checked against NETRIG_VERSION_* in src/lib.rs;
# the SONAME, libnetrig.so.MAJOR, from build.rs):
#   INCLUDEDIR/netrig.h (and netrig.hpp when include/ has it)
#   LIBDIR/libnetrig.so.X.Y.Z          strip --strip-unneeded, with a .gnu_debuglink to
#   LIBDIR/.debug/libnetrig.so.X.Y.Z.debug   its debug info (objcopy --only-keep-debug), where
#                                      gdb looks beside a library without further setup
#   LIBDIR/libnetrig.so.MAJOR -> libnetrig.so.X.Y.Z, LIBDIR/libnetrig.so -> libnetrig.so.MAJOR
#   LIBDIR/libnetrig.a                 scripts/static_lib.sh --strip-debug: only netrig_ globals
#   LIBDIR/pkgconfig/netrig.pc         Libs.private/Requires.private: what libnetrig.a needs
#   LIBDIR/cmake/netrig/netrigConfig.cmake, netrigConfigVersion.cmake
#                                      netrig::netrig, netrig::netrig_static; relocatable
# The static library's system needs come from its undefined symbols (OpenSSL and zlib only in a
# build with the ssh feature), so a store-only build (--no-default-features) installs the same way.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
PREFIX=${PREFIX:-/usr/local}
LIBDIR=${LIBDIR:-$PREFIX/lib}
INCLUDEDIR=${INCLUDEDIR:-$PREFIX/include}
DESTDIR=${DESTDIR:-}
BUILD=${BUILD:-$root/target/release}
PKGCONFIGDIR=$LIBDIR/pkgconfig
CMAKEDIR=$LIBDIR/cmake/netrig
DEBUGDIR=$LIBDIR/.debug

for d in PREFIX LIBDIR INCLUDEDIR; do
  case ${!d} in /*) ;; *) echo "install: $d must be an absolute path, not '${!d}'" >&2; exit 2;; esac
done

version=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$root/Cargo.toml" | head -1)
major=${version%%.*}
for part in MAJOR MINOR PATCH; do
  v=$(sed -n "s/^pub const NETRIG_VERSION_$part: u32 = \([0-9]*\);$/\1/p" "$root/src/lib.rs")
  case $part in MAJOR) want=$major;; MINOR) want=$(echo "$version" | cut -d. -f2);; PATCH) want=$(echo "$version" | cut -d. -f3);; esac
  if [ "$v" != "$want" ]; then
    echo "install: NETRIG_VERSION_$part in src/lib.rs is '$v' but Cargo.toml's version is $version" >&2; exit 1
  fi
done
real=libnetrig.so.$version
soname=libnetrig.so.$major

headers=(netrig.h)
[ -f "$root/include/netrig.hpp" ] && headers+=(netrig.hpp)
# Everything installed, for --uninstall (netrig.hpp whether or not this checkout has it).
files=("$INCLUDEDIR/netrig.h" "$INCLUDEDIR/netrig.hpp" "$LIBDIR/$real" "$LIBDIR/$soname" "$LIBDIR/libnetrig.so"
       "$LIBDIR/libnetrig.a" "$DEBUGDIR/$real.debug" "$PKGCONFIGDIR/netrig.pc"
       "$CMAKEDIR/netrigConfig.cmake" "$CMAKEDIR/netrigConfigVersion.cmake")

if [ "${1:-}" = --uninstall ]; then
  for f in "${files[@]}"; do
    if [ -e "$DESTDIR$f" ] || [ -L "$DESTDIR$f" ]; then rm -f "$DESTDIR$f"; echo "removed $DESTDIR$f"; fi
  done
  # Directories only netrig uses, when empty.
  for d in "$CMAKEDIR" "$DEBUGDIR"; do rmdir "$DESTDIR$d" 2>/dev/null || true; done
  exit 0
fi
[ $# = 0 ] || { echo "usage: $0 [--uninstall]  (PREFIX, LIBDIR, INCLUDEDIR, DESTDIR, BUILD from the environment)" >&2; exit 2; }

for f in libnetrig.so libnetrig.a; do
  [ -f "$BUILD/$f" ] || { echo "install: no $BUILD/$f: build first (cargo build --release)" >&2; exit 1; }
done
have_soname=$(readelf -d "$BUILD/libnetrig.so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
if [ "$have_soname" != "$soname" ]; then
  echo "install: $BUILD/libnetrig.so has SONAME '$have_soname', not $soname" >&2; exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The shared library: debug info to its own file, the library stripped and linked to it.
objcopy --only-keep-debug "$BUILD/libnetrig.so" "$tmp/$real.debug"
strip --strip-unneeded -o "$tmp/$real" "$BUILD/libnetrig.so"
(cd "$tmp" && objcopy --add-gnu-debuglink="$real.debug" "$real")
# The static library: one object, only netrig_ symbols global, no debug info.
"$root/scripts/static_lib.sh" "$BUILD/libnetrig.a" "$tmp/libnetrig.a" --strip-debug >/dev/null

# What libnetrig.a needs from the system, read from its undefined symbols; rustc's
# --print native-static-libs list (less -lc, and less -lgcc_s, which a dynamic link gets from
# the compiler driver and a -static one must not name: libgcc_eh stands in for it).
undefined=$(nm -u --format=posix "$tmp/libnetrig.a" | awk '{print $1}')
requires=() libs_private=() cmake_libs=() find_deps=()
if grep -qx 'SSL_ctrl' <<<"$undefined"; then
  if pkg-config --exists openssl 2>/dev/null; then requires+=(openssl); else libs_private+=(-lssl -lcrypto); fi
  cmake_libs+=(OpenSSL::SSL OpenSSL::Crypto); find_deps+=("find_dependency(OpenSSL)")
fi
if grep -qx 'inflate' <<<"$undefined"; then
  if pkg-config --exists zlib 2>/dev/null; then requires+=(zlib); else libs_private+=(-lz); fi
  cmake_libs+=(ZLIB::ZLIB); find_deps+=("find_dependency(ZLIB)")
fi
libs_private+=(-lutil -lrt -lpthread -lm -ldl)
cmake_libs+=(Threads::Threads '${CMAKE_DL_LIBS}' m util rt)

# Paths inside the files: pkg-config's relative to ${prefix} where they are under PREFIX, and
# CMake's relative to the package's own directory (relocatable).
pc_path() { case $1 in "$PREFIX"/*) echo "\${prefix}${1#"$PREFIX"}";; *) echo "$1";; esac; }
rel() { realpath -m --relative-to="$1" "$2"; }
bits=$(readelf -h "$BUILD/libnetrig.so" | awk '/Class:/ {print ($2 == "ELF64") ? 64 : 32}')
subst() {
  sed -e "s|@PREFIX@|$PREFIX|g" -e "s|@PC_LIBDIR@|$(pc_path "$LIBDIR")|g" \
      -e "s|@PC_INCLUDEDIR@|$(pc_path "$INCLUDEDIR")|g" -e "s|@VERSION@|$version|g" -e "s|@MAJOR@|$major|g" \
      -e "s|@REQUIRES_PRIVATE@|${requires[*]:-}|g" -e "s|@LIBS_PRIVATE@|${libs_private[*]}|g" \
      -e "s|@CMAKE_TO_LIBDIR@|$(rel "$CMAKEDIR" "$LIBDIR")|g" \
      -e "s|@CMAKE_TO_INCLUDEDIR@|$(rel "$CMAKEDIR" "$INCLUDEDIR")|g" \
      -e "s|@CMAKE_LINK_LIBRARIES@|$(IFS=';'; echo "${cmake_libs[*]}")|g" \
      -e "s|@FIND_DEPENDENCIES@|$(IFS=';'; echo "${find_deps[*]:-}" | sed 's/;/\\n/g')|g" \
      -e "s|@SIZEOF_VOID_P@|$((bits / 8))|g" -e "s|@BITS@|$bits|g" "$1"
}
subst "$root/packaging/netrig.pc.in" | sed '/^Requires.private: *$/d' >"$tmp/netrig.pc"
subst "$root/packaging/netrigConfig.cmake.in" >"$tmp/netrigConfig.cmake"
subst "$root/packaging/netrigConfigVersion.cmake.in" >"$tmp/netrigConfigVersion.cmake"
if grep -q '@[A-Z_]*@' "$tmp/netrig.pc" "$tmp/netrigConfig.cmake" "$tmp/netrigConfigVersion.cmake"; then
  echo "install: a template placeholder was left unfilled" >&2; exit 1
fi

d=$DESTDIR
install -d "$d$INCLUDEDIR" "$d$LIBDIR" "$d$DEBUGDIR" "$d$PKGCONFIGDIR" "$d$CMAKEDIR"
for h in "${headers[@]}"; do install -m 644 "$root/include/$h" "$d$INCLUDEDIR/$h"; done
install -m 755 "$tmp/$real" "$d$LIBDIR/$real"
ln -sfn "$real" "$d$LIBDIR/$soname"
ln -sfn "$soname" "$d$LIBDIR/libnetrig.so"
install -m 644 "$tmp/libnetrig.a" "$d$LIBDIR/libnetrig.a"
install -m 644 "$tmp/$real.debug" "$d$DEBUGDIR/$real.debug"
install -m 644 "$tmp/netrig.pc" "$d$PKGCONFIGDIR/netrig.pc"
install -m 644 "$tmp/netrigConfig.cmake" "$tmp/netrigConfigVersion.cmake" "$d$CMAKEDIR/"
echo "install: netrig $version into ${d}$PREFIX: $real $(stat -c %s "$d$LIBDIR/$real") bytes" \
     "(built $(stat -c %s "$BUILD/libnetrig.so")), libnetrig.a $(stat -c %s "$d$LIBDIR/libnetrig.a")" \
     "(built $(stat -c %s "$BUILD/libnetrig.a")), debug info in ${DEBUGDIR#"$LIBDIR"/}/$real.debug"
