#!/bin/bash
# Relief's mover on the real kernel of this host: a child process with known
# pages (64 MiB, checksummed) is located (PAGEMAP_SCAN, pagemap PFNs, the
# memory blocks, kpageflags) and moved to node 0 by tierd's mover
# (tests/bench/relief-bench --check drives daemon/tierd-relief.c the way the
# relief job does).  On a one-node host the move is a no-op, which must still
# report every page as found and on the target, no failures, full batches, an
# identity check before every call, no status query when pagemap gave the
# node; also with 4 KiB pages and THP, without PAGEMAP_SCAN (--no-scan, as on
# 6.1) and without PFNs (--no-pfn, as without CAP_SYS_ADMIN).  With a second
# node with memory, the pages also go node0 -> nodeN and back.
set -euo pipefail
: "${TIER_BINARY_DIR:?}"
BIN=$TIER_BINARY_DIR/tests/bench/relief-bench
[ -x "$BIN" ] || { echo "SKIP: $BIN not built"; exit 77; }
[ -d /sys/devices/system/node/node0 ] || { echo "SKIP: no NUMA in this kernel"; exit 77; }
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (move_pages on a child is fine, but numa_maps of it is read too)"; exit 77; }
fails=0
run() { echo "+ relief-bench $*"; "$BIN" "$@" || fails=$((fails + 1)); }
run --check --size 64M --batch 512 0 0
run --check --size 8M --batch 1000 0 0
for mode in "--no-scan" "--no-pfn" "--no-scan --no-pfn" "--thp" "--thp --no-pfn" "--thp --no-scan"; do
  run --check $mode --size 64M --batch 1024 0 0
done
other=$(awk -F, '{for(i=1;i<=NF;i++) print $i}' /sys/devices/system/node/has_memory 2>/dev/null |
  awk -F- '{ if (NF==2) for(n=$1;n<=$2;n++) print n; else print $1 }' | grep -vx 0 | head -1 || true)
if [ -n "$other" ]; then
  run --check --size 64M 0 "$other"
  run --check --size 64M "$other" 0
else
  echo "note: one memory node: only the no-op move was exercised"
fi
((fails == 0)) || { echo "$fails run(s) failed"; exit 1; }
echo "all checks passed"
