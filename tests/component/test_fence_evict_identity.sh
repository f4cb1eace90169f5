#!/usr/bin/env bash
# Eviction knows whom it moves (issue 12 item 3, issue 13 item 6), on this
# host's real cgroup v1 cpuset tree and real processes:
#  - PID reuse, forced: pidreuse (tests/component/helpers) forks A into a
#    non-granted cpuset; tierd chooses A for eviction and holds right before
#    its checks (the test hook TIERD_DEBUG_EVICT_HOLD=PID:FILE, tierd(8));
#    A is killed and B made with the SAME PID (clone3 set_tid) in the
#    granted cgroup; released, tierd must see that its pidfd's process is
#    gone (and the start time changed) and not touch B: counted in
#    audit.evictions_identity_changed, no migrate_pages, logged.
#  - The target is the victim's own cpuset minus private nodes it is not
#    granted: this host has one node, made private here, so a task in a
#    cpuset with mems 0 has nowhere to go; tierd must say so (status, one
#    log line for that task) and leave its pages where they are.
. "$(dirname "$0")/hostlib.sh"
: "${TIER_HELPERS:?}"
need_root "cgroupfs, clone3 set_tid"
[[ -x $TIER_HELPERS/pidreuse && -x $TIER_HELPERS/manymaps ]] || skip "helpers missing in $TIER_HELPERS"
need_cpuset_v1
need_single_node
take_cgroupfs_lock
WORK=$(mktemp -d /tmp/tierd-ident-XXXXXX)
CG=$MNT/tierd-test-$$ REL=/tierd-test-$$
SOCK=$WORK/sock CONF=$WORK/tierd.conf LOG=$WORK/log
TIERD_PID= REUSE= C=
cleanup() {
  set +e
  touch "$WORK/swap" "$WORK/done" "$WORK/release" 2>/dev/null
  [[ -n $TIERD_PID ]] && kill -KILL "$TIERD_PID" 2>/dev/null
  [[ -n $C ]] && kill -KILL "$C" 2>/dev/null
  [[ -n $REUSE ]] && { sleep 0.1; kill -KILL "$REUSE" 2>/dev/null; }
  wait 2>/dev/null
  for t in "$CG"/*/tasks "$CG/tasks"; do [[ -f $t ]] && while read -r p; do kill -KILL "$p" 2>/dev/null; done < "$t"; done
  sleep 0.2
  [[ -d $CG ]] && find "$CG" -depth -type d -exec rmdir {} + 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

mkdir -p "$CG/victim" "$CG/granted"
for c in "$CG" "$CG/victim" "$CG/granted"; do
  cat "$MNT/cpuset.cpus" > "$c/cpuset.cpus"; echo 0 > "$c/cpuset.mems"
done

# A, in the non-granted cpuset
"$TIER_HELPERS/pidreuse" "$WORK" > "$WORK/reuse.log" 2>&1 &
REUSE=$!
wait_for 200 test -s "$WORK/a.pid" || { cat "$WORK/reuse.log"; exit 1; }
A=$(cat "$WORK/a.pid")
echo "$A" > "$CG/victim/tasks"
echo "$CG/granted/tasks" > "$WORK/b.tasks"
A_START=$(awk '{ sub(/.*\) /, ""); print $20 }' "/proc/$A/stat")
# C, the control: in the same non-granted cpuset, never replaced
"$TIER_HELPERS/manymaps" 1 64 > "$WORK/c.log" 2>&1 &
C=$!
wait_for 200 grep -q ready "$WORK/c.log"
echo "$C" > "$CG/victim/tasks"
C_N0=$(grep -o 'N0=[0-9]*' "/proc/$C/numa_maps" | awk -F= '{ s += $2 } END { print s }')

cat > "$CONF" <<CONF
[daemon]
interval = 200ms
[fence]
private_nodes = 0
backend = cgroupfs
evict = yes
full_pass = 1s
[grant granted]
cgroup = $REL/granted
nodes = 0
CONF
TIERD_DEBUG_EVICT_HOLD="$A:$WORK/release" "$TIERD" --root / --config "$CONF" --socket "$SOCK" \
  --state-dir "$WORK/state" -l info >>"$LOG" 2>&1 &
TIERD_PID=$!
check "tierd chose A (pid $A) and holds before its checks" \
  wait_for 600 grep -q "holding the eviction of pid $A until" "$LOG"

# the swap: A dies, B gets A's PID, in the granted cgroup
touch "$WORK/swap"
check "B was made with A's PID" wait_for 200 test -s "$WORK/b.pid"
check "B's PID is A's ($(cat "$WORK/b.pid" 2>/dev/null) = $A)" [ "$(cat "$WORK/b.pid" 2>/dev/null)" = "$A" ]
B_START=$(awk '{ sub(/.*\) /, ""); print $20 }' "/proc/$A/stat")
check "B is another process (start time $A_START -> $B_START)" [ "$A_START" != "$B_START" ]
check "B is in the granted cgroup" [ "$(cat "/proc/$A/cpuset")" = "$REL/granted" ]
touch "$WORK/release"
check "tierd saw the identity change" wait_for 200 \
  bash -c "[ \"\$('$TIERCTL' --socket '$SOCK' status --json | jq -r '.fence.audit.evictions_identity_changed')\" -ge 1 ]"
check "and said so" grep -q "fence: pid $A is .* since it was chosen: not evicting" "$LOG"
check "nothing was migrated (no eviction, no failed one)" [ "$(jqs .fence.evictions)/$(jqs .fence.eviction_failures)" = 0/0 ]
check "B was not judged for eviction (no target line for pid $A)" bash -c "! grep -q 'not evicting pid $A ' '$LOG'"

# the refusal: C has nowhere to go
check "C (pid $C) reported: its cpuset allows private node 0 only" wait_for 200 \
  grep -q "fence: not evicting pid $C (manymaps, cgroup $REL/victim): its cpuset allows node(s) 0 only" "$LOG"
check "status counts evictions without a target" [ "$(jqs .fence.audit.evictions_no_target)" -ge 1 ]
check "status shows the refusal" bash -c "'$TIERCTL' --socket '$SOCK' status --json | jq -r .fence.audit.no_target | grep -q 'allows node(s) 0 only'"
# once per task, not per audit: let two more audits (full_pass = 1s) run
runs=$(jqs .fence.audit.runs)
wait_for 200 bash -c "[ \"\$('$TIERCTL' --socket '$SOCK' status --json | jq -r .fence.audit.runs)\" -ge $((runs + 2)) ]" || true
check "the refusal for C is logged once ($(grep -c "not evicting pid $C " "$LOG"))" [ "$(grep -c "not evicting pid $C " "$LOG")" = 1 ]
C_N0_AFTER=$(grep -o 'N0=[0-9]*' "/proc/$C/numa_maps" | awk -F= '{ s += $2 } END { print s }')
check "C's pages stayed ($C_N0 -> $C_N0_AFTER pages on node 0)" [ "$C_N0_AFTER" -ge "$C_N0" ]

kill -TERM "$TIERD_PID"; wait "$TIERD_PID" && rc=0 || rc=$?; TIERD_PID=
check "tierd stopped cleanly" [ "$rc" = 0 ]
touch "$WORK/done"
host_finish "$LOG"
