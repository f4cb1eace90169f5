#!/usr/bin/env bash
# The fence audit against hostile processes (issue 12): N unprivileged
# processes with M mappings each (no resident page in them), on this
# host's real /proc, node 0 made private (a one-node host: every task is
# an intruder, nothing can be evicted anywhere, fencing refuses to plan).
# Prints figures, asserts nothing:
#  - the longest main-loop tick (daemon.tick_cost_usec_max): the old audit
#    ran inside the tick, synchronously;
#  - the audit job's slices (fence.audit: max slice, CPU of a run, slices,
#    numa_maps bytes read), where the daemon has it;
#  - how long a `tierctl status` takes while the audit runs (10 samples).
# Root only.  Run it on the code before and after a change:
#   TIERD=... TIERCTL=... tests/bench/fence-audit-bench.sh [N M]
set -euo pipefail
SRC=$(cd "$(dirname "$0")/../.." && pwd)
TIERD=${TIERD:-$SRC/build/daemon/tierd}
TIERCTL=${TIERCTL:-$SRC/build/daemon/tierctl}
HELPERS=${TIER_HELPERS:-$SRC/build/tests/helpers}
N=${1:-20} M=${2:-65000}
[[ $(id -u) -eq 0 ]] || { echo "needs root"; exit 77; }
exec 9>/tmp/tierd-cgroupfs.lock
flock -w 900 9 || { echo "lock busy"; exit 77; }
WORK=$(mktemp -d /tmp/tierd-abench-XXXXXX)
chmod 755 "$WORK"
SOCK=$WORK/sock CONF=$WORK/tierd.conf
TIERD_PID= PIDS=()
cleanup() {
  set +e
  [[ -n $TIERD_PID ]] && kill -KILL "$TIERD_PID" 2>/dev/null
  for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
st() { "$TIERCTL" --socket "$SOCK" status --json; }
for i in $(seq "$N"); do
  setpriv --reuid=65534 --regid=65534 --clear-groups "$HELPERS/manymaps" "$M" > "$WORK/mm$i" 2>&1 &
  PIDS+=($!)
done
for i in $(seq "$N"); do for _ in $(seq 300); do grep -q ready "$WORK/mm$i" && break; sleep 0.05; done; done
echo "== $N processes x $M mappings ($(wc -c < "/proc/${PIDS[0]}/numa_maps") bytes of numa_maps each)"
cat > "$CONF" <<CONF
[daemon]
interval = 1s
[fence]
private_nodes = 0
backend = cgroupfs
evict = no
full_pass = 600s
CONF
t0=$(date +%s%N)
"$TIERD" --root / --config "$CONF" --socket "$SOCK" --state-dir "$WORK/state" > "$WORK/log" 2>&1 &
TIERD_PID=$!
for _ in $(seq 600); do [[ -S $SOCK ]] && st >/dev/null 2>&1 && break; sleep 0.05; done
echo "start to first status answer: $((($(date +%s%N) - t0) / 1000000)) ms (the old audit ran in the first tick, before the socket served)"
lat=()
for _ in $(seq 10); do
  a=$(date +%s%N); st >/dev/null; b=$(date +%s%N); lat+=($(((b - a) / 1000)))
  sleep 0.1
done
echo "tierctl status while the audit runs (us): ${lat[*]}"
for _ in $(seq 1200); do
  r=$(st | jq -r '.fence.audit.runs // "old"')
  [[ $r == old || $r -ge 1 ]] && break
  sleep 0.05
done
sleep 1
st | jq -r '"longest tick: \(.daemon.tick_cost_usec_max) us",
  (if .fence.audit then "audit: \(.fence.audit.last_run_usec) us of CPU in \(.fence.audit.last_run_slices) slices, longest slice \(.fence.audit.max_slice_usec) us wall / \(.fence.audit.max_slice_cpu_usec) us CPU (pid \(.fence.audit.max_slice_pid)), \(.fence.audit.last_run_numa_maps_bytes) bytes of numa_maps (\(.fence.audit.numa_maps_read) processes), at most \(.fence.audit.max_slice_bytes) bytes / \(.fence.audit.max_slice_lines) lines in one slice" else "audit: no job statistics in this tierd (it ran inside the tick)" end),
  "intruders found: \(.fence.intruders_total)"'
