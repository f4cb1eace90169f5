#!/usr/bin/env bash
# Fencing on the REAL cgroup v1 cpuset hierarchy of this host (root "/"):
# a test subtree is created, tierd fences it (this host has one node, so
# the private node 1 has no memory and every cpuset gets "0": the
# mechanics are what is tested: writes, originals in the state file, the
# v1 rule that an empty cpuset is filled, inotify fencing of a new cgroup
# within 100 ms of mkdir, nested creation races, restore on SIGTERM, a v1
# cpuset with tasks that cannot be emptied again, restore after SIGKILL,
# dry-run).  tierd fences every cpuset cgroup of the host, not only ours:
# run it on a test machine.  The subtree is removed on every exit.
. "$(dirname "$0")/hostlib.sh"
need_root "writes the host's cgroupfs"
need_cpuset_v1
take_cgroupfs_lock

WORK=$(mktemp -d /tmp/tierd-fence-XXXXXX)
CG=$MNT/tierd-test-$$
SOCK=$WORK/sock CONF=$WORK/tierd.conf LOG=$WORK/log STATE=$WORK/state
TIERD_PID= SLEEPER=
cleanup() {
  set +e   # every step runs, whatever failed before
  [[ -n $TIERD_PID ]] && kill -KILL "$TIERD_PID" 2>/dev/null; wait 2>/dev/null || true
  [[ -n $SLEEPER ]] && kill -KILL "$SLEEPER" 2>/dev/null; wait 2>/dev/null || true
  [[ -d $CG ]] && find "$CG" -depth -type d -exec rmdir {} + 2>/dev/null || true
  [[ -d $CG ]] && echo "WARNING: could not remove $CG"
  rm -rf "$WORK"
}
trap cleanup EXIT

start() { # start [args]
  "$TIERD" --root / --config "$CONF" --socket "$SOCK" --state-dir "$STATE" -l debug "$@" >>"$LOG" 2>&1 &
  TIERD_PID=$!
  for _ in $(seq 100); do
    [[ -S $SOCK ]] && "$TIERCTL" --socket "$SOCK" status --json >/dev/null 2>&1 && return 0
    kill -0 "$TIERD_PID" 2>/dev/null || { echo "tierd died:"; cat "$LOG"; return 1; }
    sleep 0.05
  done
  echo "tierd did not come up"; cat "$LOG"; return 1
}
stop() { kill -"${1:-TERM}" "$TIERD_PID" 2>/dev/null || true; wait "$TIERD_PID" 2>/dev/null && rc=0 || rc=$?; TIERD_PID=; }
mems() { cat "$CG$1/cpuset.mems"; }

mkdir -p "$CG/a/b" "$CG/pre"
# configured already (v1: a child within its parent): not touched, not recorded
echo 0 > "$CG/cpuset.mems"; echo 0 > "$CG/pre/cpuset.mems"
cat > "$CONF" <<CONF
[daemon]
interval = 200ms
[fence]
private_nodes = 1
backend = cgroupfs
full_pass = 2s
CONF

start
check "fencing on cgroup v1" wait_status ".fence.state == \"fencing\" and .fence.hierarchy == \"cgroup v1 at $MNT\""
check "empty v1 cpusets filled: /a" [ "$(mems /a)" = 0 ]
check "empty v1 cpusets filled: /a/b" [ "$(mems /a/b)" = 0 ]
ST=$STATE/state.json
key() { echo "${MNT#/}/tierd-test-$$$1/cpuset.mems"; }
check "state records /a/b with original ''" \
  [ "$(jq -r --arg k "$(key /a/b)" '.entries[] | select(.key == $k) | .original' "$ST")" = "" ]
check "state records /a/b exactly once" [ "$(jq --arg k "$(key /a/b)" '[.entries[] | select(.key == $k)] | length' "$ST")" = 1 ]
check "configured /pre not recorded" [ "$(jq --arg k "$(key /pre)" '[.entries[] | select(.key == $k)] | length' "$ST")" = 0 ]
check "status: nothing unfenced" [ "$(jqs .fence.unfenced)" = 0 ]

# mkdir-to-fenced latency through inotify
lat_ms() { # lat_ms DIR -> prints ms until cpuset.mems is non-empty (or 9999)
  local t0 t1; t0=$(date +%s%N); mkdir "$1"
  for _ in $(seq 20000); do [[ -n $(cat "$1/cpuset.mems") ]] && break; done
  t1=$(date +%s%N); [[ -n $(cat "$1/cpuset.mems") ]] && echo $(((t1 - t0) / 1000000)) || echo 9999
}
worst=0
for i in 1 2 3 4 5; do
  l=$(lat_ms "$CG/a/new$i"); echo "mkdir-to-fenced: ${l} ms"; ((l > worst)) && worst=$l
done
check "new cgroups fenced within 100 ms of mkdir (worst ${worst} ms)" [ "$worst" -lt 100 ]
check "status: new cgroups counted" wait_status '.fence.new_cgroups_fenced >= 5'
mkdir -p "$CG/deep/x/y/z"
check "mkdir -p deep/x/y/z: every level fenced" bash -c \
  "for i in \$(seq 50); do [ \"\$(cat $CG/deep/x/y/z/cpuset.mems)\" = 0 ] && [ \"\$(cat $CG/deep/x/cpuset.mems)\" = 0 ] && exit 0; sleep 0.02; done; exit 1"
rmdir "$CG/a/new5"
check "a removed cgroup drops out of the count" wait_status ".fence.cgroups == $(find "$MNT" -type d | wc -l)"

# a task in /a/b: v1 cannot empty its mems again at restore
echo 0 > "$CG/cpuset.cpus"; echo 0 > "$CG/a/cpuset.cpus"; echo 0 > "$CG/a/b/cpuset.cpus"
sleep 1000 & SLEEPER=$!
echo "$SLEEPER" > "$CG/a/b/tasks"
check "periodic full pass runs" wait_status '.fence.full_passes >= 2'
check "fence writes have no failures" [ "$(jqs .fence.write_failures)" = 0 ]

stop TERM
check "SIGTERM: clean exit" [ "$rc" = 0 ]
check "restore: /a keeps 0 too (its child /a/b holds it)" [ "$(mems /a)" = 0 ]
check "restore: /a/new1 back to empty" [ "$(mems /a/new1)" = "" ]
check "restore: /deep/x/y/z back to empty" [ "$(mems /deep/x/y/z)" = "" ]
check "restore: /pre untouched" [ "$(mems /pre)" = 0 ]
check "restore: /a/b has a task and keeps 0" [ "$(mems /a/b)" = 0 ]
check "restore: that case is logged" grep -q "has tasks now (v1 cannot empty it)" "$LOG"
check "restore: state file removed" [ ! -e "$ST" ]
kill "$SLEEPER"; wait "$SLEEPER" 2>/dev/null || true; SLEEPER=
# back to a host without tierd's values (the test's own cleanup)
echo > "$CG/a/b/cpuset.mems"; echo > "$CG/a/b/cpuset.cpus"; echo > "$CG/a/cpuset.mems"; echo > "$CG/a/cpuset.cpus"

# crash: SIGKILL leaves the state file; the next start restores it first
start
check "fenced again" wait_status '.fence.unfenced == 0 and .fence.writes >= 1'
stop KILL
check "after SIGKILL: state file kept" [ -s "$ST" ]
check "after SIGKILL: /a still fenced" [ "$(mems /a)" = 0 ]
printf '[daemon]\ninterval = 200ms\n' > "$CONF"     # no private nodes now
start
check "next start restored /a" [ "$(mems /a)" = "" ]
check "next start restored /deep" [ "$(mems /deep)" = "" ]
check "next start logged the crash restore" grep -q "did not stop cleanly: restoring" "$LOG"
check "fence off without private nodes" [ "$(jqs .fence.state)" = off ]
stop TERM
check "no state file left" [ ! -e "$ST" ]

# dry-run: plans, writes nothing, records nothing
printf '[daemon]\ninterval = 200ms\n[fence]\nprivate_nodes = 1\n' > "$CONF"
start --dry-run
check "dry-run: pending writes reported" wait_status '.fence.dry_run_pending_writes >= 1'
mkdir "$CG/dry"; sleep 0.3
check "dry-run: new cgroup left empty" [ "$(mems /dry)" = "" ]
check "dry-run: /a left empty" [ "$(mems /a)" = "" ]
check "dry-run: no state file" [ ! -e "$ST" ]
stop TERM

if ((fails)); then echo "$fails check(s) failed"; exit 1; fi
echo "all checks passed"
