#!/usr/bin/env bash
# The fence audit against hostile processes (issue 12), on this host's real
# /proc: 20 unprivileged processes with 65,000 mappings each (no resident
# page in them: the numa_maps lines without kernelpagesize_kB that made the
# old parser quadratic, 1.75 s per process).  tierd runs with node 0 private
# (this host has one node: every task not granted is an intruder, and with
# nothing else to evict to, nothing is moved; fencing itself refuses to
# plan, since no node would be left for the other cgroups), so the audit
# reads every task's numa_maps.  Asserted is the WORK per slice, which
# cannot flake: numa_maps bytes read in one slice stay within the cap, lines
# parsed in one slice within what those bytes can hold, and the run was cut
# into at least bytes/cap slices; the slices' times are printed as figures
# (tests/bench/fence-audit-bench.sh measures them), not asserted.
. "$(dirname "$0")/hostlib.sh"
: "${TIER_HELPERS:?}"
need_root "reads every process's numa_maps"
[[ -x $TIER_HELPERS/manymaps ]] || skip "no manymaps helper in $TIER_HELPERS"
(( $(sysctl -n vm.max_map_count) >= 65100 )) || skip "vm.max_map_count < 65100"
need_single_node
take_cgroupfs_lock
WORK=$(mktemp -d /tmp/tierd-hostile-XXXXXX)
chmod 755 "$WORK"
SOCK=$WORK/sock CONF=$WORK/tierd.conf LOG=$WORK/log
TIERD_PID= PIDS=()
cleanup() {
  set +e
  [[ -n $TIERD_PID ]] && kill -KILL "$TIERD_PID" 2>/dev/null
  for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

N=${HOSTILE_PROCS:-20} MAPS=${HOSTILE_MAPS:-65000}
for i in $(seq "$N"); do
  setpriv --reuid=65534 --regid=65534 --clear-groups "$TIER_HELPERS/manymaps" "$MAPS" > "$WORK/mm$i" 2>&1 &
  PIDS+=($!)
done
for i in $(seq "$N"); do
  for _ in $(seq 300); do grep -q ready "$WORK/mm$i" && break; sleep 0.05; done
  grep -q "ready $MAPS" "$WORK/mm$i" || { echo "manymaps $i did not start:"; cat "$WORK/mm$i"; exit 1; }
done
check "$N processes with $MAPS mappings each" \
  [ "$(wc -l < "/proc/${PIDS[0]}/numa_maps")" -ge "$MAPS" ]

cat > "$CONF" <<CONF
[daemon]
interval = 1s
[fence]
private_nodes = 0
backend = cgroupfs
evict = no
full_pass = 600s
CONF
"$TIERD" --root / --config "$CONF" --socket "$SOCK" --state-dir "$WORK/state" -l info >>"$LOG" 2>&1 &
TIERD_PID=$!
for _ in $(seq 1200); do
  [[ $(jqs '.fence.audit.runs // 0' 2>/dev/null) -ge 1 ]] && break
  kill -0 "$TIERD_PID" 2>/dev/null || break
  sleep 0.05
done
check "one audit run finished" [ "$(jqs .fence.audit.runs)" -ge 1 ]
A=$("$TIERCTL" --socket "$SOCK" status --json | jq -c .fence.audit)
echo "audit: $A"
cap=$(jq .slice_bytes_cap <<<"$A") maxb=$(jq .max_slice_bytes <<<"$A") maxl=$(jq .max_slice_lines <<<"$A")
bytes=$(jq .last_run_numa_maps_bytes <<<"$A") slices=$(jq .last_run_slices <<<"$A")
check "numa_maps of at least the $N hostile processes read" [ "$(jq .numa_maps_read <<<"$A")" -ge "$N" ]
check "at least $N intruders found (every hostile process has pages on node 0)" [ "$(jqs .fence.intruders_total)" -ge "$N" ]
check "the run read at least $N x ${MAPS} lines' worth of numa_maps ($bytes bytes)" [ "$bytes" -ge $((N * MAPS * 18)) ]
check "bytes read in one slice capped ($maxb <= $cap)" [ "$maxb" -le "$cap" -a "$maxb" -gt 0 ]
check "lines parsed in one slice capped ($maxl <= cap/17 = $((cap / 17)))" [ "$maxl" -le $((cap / 17)) ]
check "the run was cut into at least bytes/cap slices ($slices >= $((bytes / cap)))" [ "$slices" -ge $((bytes / cap)) ]
check "status still answers" [ "$(jqs .fence.audit.running)" = false ]
echo "figures: max slice $(jq .max_slice_usec <<<"$A") us, run $(jq .last_run_usec <<<"$A") us of CPU in $slices slices"
kill -TERM "$TIERD_PID"; wait "$TIERD_PID" && rc=0 || rc=$?; TIERD_PID=
check "tierd stopped cleanly" [ "$rc" = 0 ]
host_finish "$LOG"
