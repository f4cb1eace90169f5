#!/bin/bash
# build-deb.sh - build tierd_<version>_<arch>.deb from this tree, the way a
# Debian maintainer would: Debian's build flags (dpkg-buildflags, with
# hardening=+all: fortify, stack protector, relro, bindnow), prefix /usr,
# RelWithDebInfo, then CPack's DEB generator (conf/debian/cpack.cmake) and,
# when lintian is installed, lintian on the result.
#
# Usage: conf/debian/build-deb.sh [BUILD_DIR]     (default: build-deb)
#   prints the path of the .deb on the last line of stdout.
# Environment: LINTIAN=0 skips lintian; JOBS (default nproc).
set -euo pipefail
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
OUT=${1:-$SRC/build-deb}
command -v dpkg-buildflags >/dev/null || { echo "build-deb: dpkg-buildflags not found (apt-get install dpkg-dev)" >&2; exit 2; }
command -v dpkg-shlibdeps >/dev/null || { echo "build-deb: dpkg-shlibdeps not found (apt-get install dpkg-dev)" >&2; exit 2; }
# CMake reads CFLAGS and LDFLAGS from the environment at the first
# configure, not CPPFLAGS: fold it in.
eval "$(DEB_BUILD_MAINT_OPTIONS=hardening=+all dpkg-buildflags --export=sh)"
export CFLAGS="$CFLAGS $CPPFLAGS" LDFLAGS
if [ -f "$OUT/CMakeCache.txt" ] && ! grep -q -- "-D_FORTIFY_SOURCE=2" "$OUT/CMakeCache.txt"; then
  echo "build-deb: $OUT was configured without Debian's build flags: configure it afresh" >&2
  rm -rf "$OUT"
fi
cmake -S "$SRC" -B "$OUT" -DCMAKE_INSTALL_PREFIX=/usr -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DTIERD_BUILD_TESTS=OFF -DTIERD_SANITIZE=OFF -DTIERD_STATIC=OFF >&2
cmake --build "$OUT" -j"${JOBS:-$(nproc)}" >&2
rm -f "$OUT"/tierd_*.deb
(cd "$OUT" && cpack -G DEB >&2)
deb=$(ls "$OUT"/tierd_*.deb)
if [ "${LINTIAN:-1}" = 1 ] && command -v lintian >/dev/null; then
  echo "build-deb: lintian -I --pedantic $(basename "$deb"):" >&2
  lintian -I --pedantic "$deb" >&2 || { echo "build-deb: lintian found errors" >&2; exit 1; }
  echo "build-deb: lintian: clean" >&2
fi
echo "$deb"
