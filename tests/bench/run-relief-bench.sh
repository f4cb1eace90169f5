#!/bin/bash
# run-relief-bench.sh FROM TO [SIZE] [RUNS]
# Move the same SIZE (default 1G) of a child process's pages from node FROM to
# node TO with (a) tierd's mover, (b) migratepages(8) (numactl; the kernel's
# migrate_pages(2)), (c) move_pages(2) one page per call; print pages/s and
# the ratios (aim: tierd >= 0.9x migratepages, >= 10x one page per call).
# On a one-node host run it as `run-relief-bench.sh 0 0`: nothing migrates
# then, so the figures are call overhead only (and migratepages with equal
# node sets returns at once, so that ratio means nothing).
# The binary: $RELIEF_BENCH, else $TIER_BINARY_DIR/tests/bench/relief-bench,
# else build*/tests/bench/relief-bench next to this source tree.
set -euo pipefail
[ $# -ge 2 ] || { sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
FROM=$1 TO=$2 SIZE=${3:-1G} RUNS=${4:-3}
HERE=$(cd "$(dirname "$0")" && pwd)
BIN=${RELIEF_BENCH:-}
if [ -z "$BIN" ] && [ -n "${TIER_BINARY_DIR:-}" ]; then BIN=$TIER_BINARY_DIR/tests/bench/relief-bench; fi
if [ -z "$BIN" ] || [ ! -x "$BIN" ]; then
  BIN=$(ls -t "$HERE"/../../build*/tests/bench/relief-bench 2>/dev/null | head -1 || true)
fi
[ -n "$BIN" ] && [ -x "$BIN" ] || { echo "relief-bench not built (cmake --build BUILD --target relief-bench)"; exit 77; }
command -v migratepages >/dev/null || echo "note: no migratepages binary: (b) calls migrate_pages(2) through libnuma directly"
[ "$(id -u)" = 0 ] || echo "note: not root; moving another process's pages needs CAP_SYS_NICE or the same uid"
echo "kernel=$(uname -r) nodes=$(cat /sys/devices/system/node/online 2>/dev/null || echo ?) from=$FROM to=$TO size=$SIZE runs=$RUNS"
[ "$FROM" != "$TO" ] || echo "note: FROM == TO: nothing migrates; call overhead only"
exec "$BIN" --size "$SIZE" --runs "$RUNS" "$FROM" "$TO"
