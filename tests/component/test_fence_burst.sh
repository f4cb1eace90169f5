#!/usr/bin/env bash
# Batched saves, pruning and the inotify table on this host's REAL cgroup v1
# cpuset tree (issue 12):
#  - a burst of 1,000 cgroup creations is fenced with far fewer saves of
#    the state file than creations (status fence.state_saves), and every
#    one is recorded in the state file (checked in the file) and was saved
#    before its write: fence.state_unsaved_writes, the writer's own check
#    right before each write, stays 0;
#  - removing them prunes their entries (inotify IN_IGNORED) and the state
#    file shrinks back;
#  - churn: 20 rounds of 200 creations and removals leave the watch table
#    the size of the live tree (a hash, not an array indexed by the
#    cyclically growing watch descriptors).
. "$(dirname "$0")/hostlib.sh"
need_root "writes the host's cgroupfs"
command -v python3 >/dev/null || skip "python3 is not installed"
need_cpuset_v1
take_cgroupfs_lock
WORK=$(mktemp -d /tmp/tierd-burst-XXXXXX)
CG=$MNT/tierd-test-$$
SOCK=$WORK/sock CONF=$WORK/tierd.conf LOG=$WORK/log STATE=$WORK/state
TIERD_PID=
cleanup() {
  set +e
  [[ -n $TIERD_PID ]] && kill -KILL "$TIERD_PID" 2>/dev/null; wait 2>/dev/null
  [[ -d $CG ]] && find "$CG" -depth -type d -exec rmdir {} + 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
key() { echo "${MNT#/}/tierd-test-$$$1/cpuset.mems"; }

mkdir -p "$CG/burst"
cat > "$CONF" <<CONF
[daemon]
interval = 200ms
[fence]
private_nodes = 1
backend = cgroupfs
full_pass = 60s
CONF
"$TIERD" --root / --config "$CONF" --socket "$SOCK" --state-dir "$STATE" -l info >>"$LOG" 2>&1 &
TIERD_PID=$!
check "first full pass done" wait_status '.fence.full_passes >= 1' 600
saves0=$(jqs .fence.state_saves) created0=$(jqs .fence.new_cgroups_fenced)

python3 - "$CG/burst" <<'PY'
import os, sys
for i in range(1000):
    os.mkdir(f"{sys.argv[1]}/b{i}")
PY
check "all 1,000 fenced" bash -c "for i in \$(seq 400); do n=0; for f in $CG/burst/b*/cpuset.mems; do [ -n \"\$(cat \$f)\" ] && n=\$((n+1)); done; [ \$n = 1000 ] && exit 0; sleep 0.05; done; exit 1"
check "status counts the 1,000 creations" wait_status ".fence.new_cgroups_fenced >= $((created0 + 1000))"
saves=$(($(jqs .fence.state_saves) - saves0))
batches=$(jqs .fence.new_cgroup_batches)
echo "figures: 1,000 creations fenced with $saves state-file saves ($batches inotify batches so far)"
check "far fewer saves than creations ($saves < 250)" [ "$saves" -lt 250 ]
check "no write before its record was saved (state_unsaved_writes = 0)" [ "$(jqs .fence.state_unsaved_writes)" = 0 ]
n=$(jq --arg p "${MNT#/}/tierd-test-$$/burst/b" '[.entries[] | select(.key | startswith($p))] | length' "$STATE/state.json")
check "every one of them is recorded in the state file ($n)" [ "$n" = 1000 ]
check "with its original ''" [ "$(jq -r --arg k "$(key /burst/b777)" '.entries[] | select(.key == $k) | .original' "$STATE/state.json")" = "" ]

# removal prunes
held=$(jqs .fence.restrictions_held)
find "$CG/burst" -mindepth 1 -depth -type d -exec rmdir {} +
check "removed cgroups pruned from the state" wait_status ".fence.restrictions_held == $((held - 1000))"
check "and from the file" bash -c "for i in \$(seq 100); do n=\$(jq --arg p '${MNT#/}/tierd-test-$$/burst/b' '[.entries[] | select(.key | startswith(\$p))] | length' '$STATE/state.json'); [ \"\$n\" = 0 ] && exit 0; sleep 0.05; done; exit 1"
check "status counts the removals" [ "$(jqs .fence.removed_cgroups)" -ge 1000 ]

# churn: watch descriptors keep growing, the table must not
for r in $(seq 20); do
  python3 - "$CG/burst" "$r" <<'PY'
import os, sys
for i in range(200):
    os.mkdir(f"{sys.argv[1]}/r{sys.argv[2]}-{i}")
for i in range(200):
    os.rmdir(f"{sys.argv[1]}/r{sys.argv[2]}-{i}")
PY
done
live=$(find "$MNT" -type d | wc -l)
check "after churn the watches match the live tree" wait_status ".fence.watches == $live"
slots=$(jqs .fence.watch_table_slots)
echo "figures: $live cgroups, $(jqs .fence.watches) watches, $slots table slots after 4,000 more creations and removals"
check "the watch table follows the live tree ($slots <= 4 x $live + 64)" [ "$slots" -le $((4 * live + 64)) ]
check "no write failures" [ "$(jqs .fence.write_failures)" = 0 ]
kill -TERM "$TIERD_PID"; wait "$TIERD_PID" && rc=0 || rc=$?; TIERD_PID=
check "SIGTERM: clean exit" [ "$rc" = 0 ]
check "restore: state file removed" [ ! -e "$STATE/state.json" ]
host_finish "$LOG"
