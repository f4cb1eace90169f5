#!/usr/bin/env bash
# The policies agree (issue 13): one owner for demotion_enabled.
#  A. guard and fencing both want demotion off: whichever lets go first, the
#     knob never reads true while the other still holds (13.1); status lists
#     every reason that holds.
#  B. tierctl pause while tierd holds demotion off keeps it off (the pause
#     reason) until resume.
#  C. dry-run -> live by reload really writes (13.4), a dry run says what it
#     would write once, not per look, and a reload to live is refused when a
#     previous run's state is not restored yet.
#  D. a setting that cannot be restored does not stop tierd (13.5): it
#     starts, says so, keeps the entry and retries it at stop.
# Fixture: the 2-tier capture.  Node 1 DMA32 low 10757, release line 15482.
. "$(dirname "$0")/lib.sh"

new_root vm-6.12-hmat-2tier
echo true > "$ROOT/sys/kernel/mm/numa/demotion_enabled"
CG=$ROOT/sys/fs/cgroup
mkdir -p "$CG/other"
printf 'cpuset cpu memory' > "$CG/cgroup.controllers"
printf 'cpuset memory' > "$CG/cgroup.subtree_control"
for c in "" /other; do
  printf 'cpuset memory' > "$CG$c/cgroup.controllers"; : > "$CG$c/cgroup.procs"
done
printf 'cpuset memory' > "$CG/other/cgroup.subtree_control"
: > "$CG/other/cpuset.mems"
base_conf() {
  cat <<CONF
[daemon]
interval = 100ms
min_interval = 10ms
[guard]
mode = on
min_hold = 0
predict = no
[relief]
enabled = no
CONF
}
fence_conf() {
  cat <<CONF
[fence]
private_nodes = 1
backend = cgroupfs
demotion = disable
CONF
}
set_free 0 DMA32 8000          # node 0 under reclaim (free <= high)
set_free 1 DMA32 100000
# Records every value the knob takes, sampled every 2 ms, into $1.
sample_knob() { while :; do echo "$(cat "$ROOT/sys/kernel/mm/numa/demotion_enabled")"; sleep 0.002; done > "$1"; }
reasons() { jqs '[.demotion.reasons[] | select(.overridden == false) | .reason] | sort | join(",")'; }

# ---- A. guard and fence
# The issue's order: the guard trips, fencing comes to need demotion off too
# (a reload adds the private node), the guard lets go first.
base_conf > "$CONF"
start_tierd
set_free 1 DMA32 10700
check "the guard trips" wait_knob false
{ base_conf; fence_conf; } > "$CONF"
check "reload with private node 1 (node 0 demotes into it)" "$TIERCTL" --socket "$SOCK" reload
check "status lists both reasons" wait_status '([.demotion.reasons[].reason] | sort) == ["fence","guard"]'
sample_knob "$WORK/knob-a" & SAMPLER=$!
set_free 1 DMA32 20000          # the guard lets go first
check "the guard released" wait_status '.guard.held == false'
sleep 0.5
kill $SAMPLER; wait $SAMPLER 2>/dev/null || true
check "guard released while fencing holds: the knob never read true ($(sort "$WORK/knob-a" | uniq -c | tr '\n' ' '))" \
  bash -c "! grep -qx true '$WORK/knob-a'"
check "status: fence alone holds" [ "$(reasons)" = fence ]
# The other order: both hold, fencing lets go (reload without private
# nodes) while the guard still holds.
set_free 1 DMA32 10700
check "the guard trips again" wait_status '.guard.held == true'
sample_knob "$WORK/knob-b" & SAMPLER=$!
base_conf > "$CONF"
check "reload without private nodes" "$TIERCTL" --socket "$SOCK" reload
check "fencing dropped its reason" wait_status '[.demotion.reasons[].reason] == ["guard"]'
sleep 0.3
kill $SAMPLER; wait $SAMPLER 2>/dev/null || true
check "fencing let go while the guard holds: the knob never read true" bash -c "! grep -qx true '$WORK/knob-b'"
set_free 1 DMA32 20000
check "no reason left: demotion back to true" wait_knob true
check "status: no reason holds" [ "$(reasons)" = "" ]
# Fencing alone from the start.
{ base_conf; fence_conf; } > "$CONF"
check "reload with private node 1 again" "$TIERCTL" --socket "$SOCK" reload
check "fencing alone holds demotion off" wait_knob false
check "status: the reason is fence" [ "$(reasons)" = fence ]
base_conf > "$CONF"
check "reload without" "$TIERCTL" --socket "$SOCK" reload
check "given back" wait_knob true

# ---- B. pause keeps it off
set_free 1 DMA32 10700
check "trip" wait_knob false
check "pause" "$TIERCTL" --socket "$SOCK" pause
check "status: the pause reason holds" wait_status '[.demotion.reasons[].reason] | index("pause") != null'
set_free 1 DMA32 20000
sleep 0.5
check "paused: the knob stays false though the guard would release" [ "$(knob)" = false ]
check "resume" "$TIERCTL" --socket "$SOCK" resume
check "resumed: demotion back to true" wait_knob true
stop_tierd TERM
check "stop restored true" [ "$(knob)" = true ]

# ---- C. dry-run, then live by reload
base_conf > "$CONF"
sed -i 's/^\[daemon\]$/[daemon]\ndry_run = yes/' "$CONF"
: > "$LOG"
start_tierd
set_free 1 DMA32 10700
check "dry-run trip" wait_status '.guard.held == true'
sleep 1
check "dry-run: the knob is untouched" [ "$(knob)" = true ]
n=$(grep -c 'dry-run: would write false' "$LOG" || true)
check "dry-run: 'would write false' said once in 1 s of looks, not per look ($n)" [ "$n" = 1 ]
check "dry-run: no 'wrote' in the log" bash -c "! grep -q 'wrote false' '$LOG'"
sed -i 's/^dry_run = yes$/dry_run = no/' "$CONF"
check "reload to dry_run = no" "$TIERCTL" --socket "$SOCK" reload
check "live now: the knob is written false" wait_knob false
check "live now: knobs.json records the original" \
  bash -c "jq -e '.entries[0].original == \"true\"' '$ROOT/run/tierd/knobs.json' >/dev/null"
set_free 1 DMA32 20000
check "live: released" wait_knob true
stop_tierd TERM
# A dry run that finds a previous run's state refuses to go live by reload.
cat > "$ROOT/run/tierd/knobs.json" <<'J'
{"version":1,"pid":1,"entries":[{"kind":"knob","key":"sys/kernel/mm/numa/demotion_enabled","original":"true","recorded_usec":1}]}
J
sed -i 's/^dry_run = no$/dry_run = yes/' "$CONF"
: > "$LOG"
start_tierd
check "dry-run says it found the previous run's state" grep -q "did not stop cleanly" "$LOG"
sed -i 's/^dry_run = yes$/dry_run = no/' "$CONF"
"$TIERCTL" --socket "$SOCK" reload > "$WORK/out" 2>&1 && rc=0 || rc=$?
check "reload to live refused (rc $rc)" [ "$rc" != 0 ]
check "and says why" grep -q "previous run's state file is not restored" "$WORK/out"
check "the leftover state is untouched" grep -q '"original":"true"' "$ROOT/run/tierd/knobs.json"
stop_tierd TERM
rm -f "$ROOT/run/tierd/knobs.json"

# ---- D. a restore that keeps failing
base_conf > "$CONF"
mkdir -p "$CG/broken/cpuset.mems"      # a directory: writing it fails (EISDIR), not "gone"
cat > "$ROOT/run/tierd/state.json" <<'J'
{"version":1,"pid":1,"entries":[{"kind":"cpuset_mems","key":"sys/fs/cgroup/broken/cpuset.mems","original":"0-1","recorded_usec":1}]}
J
: > "$LOG"
start_tierd
check "tierd starts although a setting cannot be restored" kill -0 "$TIERD_PID"
check "it says so" grep -q "could not be restored" "$LOG"
check "status: one setting of the previous run unrestored" [ "$(jqs .daemon.previous_run_unrestored)" = 1 ]
check "status: listed as a warning" bash -c "'$TIERCTL' --socket '$SOCK' status --json | jq -r '.warnings[]' | grep -q 'could not be restored'"
check "the entry is kept in state.json" grep -q 'broken/cpuset.mems' "$ROOT/run/tierd/state.json"
stop_tierd TERM
check "retried at stop, still failing: kept for the next start" grep -q 'broken/cpuset.mems' "$ROOT/run/tierd/state.json"
rmdir "$CG/broken/cpuset.mems"; printf '0' > "$CG/broken/cpuset.mems"
start_tierd
stop_tierd TERM
check "once it can be, it is restored" [ "$(tr -d '\n' < "$CG/broken/cpuset.mems")" = 0-1 ]
check "and nothing is left" [ ! -e "$ROOT/run/tierd/state.json" ]
finish
