#!/usr/bin/env bash
# Guard benchmark: reaction time from a zoneinfo change to the knob write, and
# tierd's CPU cost while idle; plus the per-tick cost tierd reports itself.
#   tests/bench/run-guard-bench.sh [BUILD_DIR] [RUNS]
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$src/build}
runs=${2:-5}
"$build/tests/bench/bench_guard_reaction" "$build/daemon/tierd" "$src/tests/fixtures" "$runs"

# Per-tick cost as tierd measures it (acquire + decide + apply), 2-tier fixture.
work=$(mktemp -d); trap 'kill $pid 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
cp -a "$src/tests/fixtures/vm-6.12-hmat-3tier/." "$work/"
printf '[daemon]\ninterval = 10ms\nmin_interval = 10ms\n[guard]\nmode = on\n' > "$work/tierd.conf"
"$build/daemon/tierd" --root "$work" --config "$work/tierd.conf" --socket "$work/s" 2>/dev/null & pid=$!
sleep 3
"$build/daemon/tierctl" --socket "$work/s" status --json |
  jq -r '.daemon | "tick cost (3-tier fixture, \(.ticks) ticks at 10 ms): avg \(.tick_cost_usec_avg) us, max \(.tick_cost_usec_max) us"'
