#!/usr/bin/env bash
# Given back on the REAL cgroup v1 cpuset tree (issue 13 item 3): tierd
# fences fresh (empty) v1 cpusets with private node 1; a reload that empties
# private_nodes gives every restriction back while tierd keeps running:
# the cpusets are empty again (a v1 cpuset that has a task since cannot be
# emptied: left as is, logged, no longer held), status goes to "off" only
# when nothing is held, and the state file is gone.
. "$(dirname "$0")/hostlib.sh"
need_root "writes the host's cgroupfs"
need_cpuset_v1
take_cgroupfs_lock
WORK=$(mktemp -d /tmp/tierd-giveback-XXXXXX)
CG=$MNT/tierd-test-$$
SOCK=$WORK/sock CONF=$WORK/tierd.conf LOG=$WORK/log STATE=$WORK/state
TIERD_PID= SLEEPER=
cleanup() {
  set +e
  [[ -n $TIERD_PID ]] && kill -KILL "$TIERD_PID" 2>/dev/null
  [[ -n $SLEEPER ]] && kill -KILL "$SLEEPER" 2>/dev/null
  wait 2>/dev/null
  [[ -d $CG ]] && find "$CG" -depth -type d -exec rmdir {} + 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
mems() { cat "$CG$1/cpuset.mems"; }

mkdir -p "$CG/a/b" "$CG/t"
printf '[daemon]\ninterval = 200ms\n[fence]\nprivate_nodes = 1\nbackend = cgroupfs\nfull_pass = 60s\n' > "$CONF"
"$TIERD" --root / --config "$CONF" --socket "$SOCK" --state-dir "$STATE" -l info >>"$LOG" 2>&1 &
TIERD_PID=$!
check "fenced" wait_status '.fence.state == "fencing" and .fence.unfenced == 0' 600
check "fresh cpusets filled: /a /a/b /t" [ "$(mems /a)|$(mems /a/b)|$(mems /t)" = "0|0|0" ]
held=$(jqs .fence.restrictions_held)
check "restrictions held ($held)" [ "$held" -ge 4 ]
# a task in /t: v1 cannot empty its mems again
cat "$MNT/cpuset.cpus" > "$CG/cpuset.cpus"; cat "$MNT/cpuset.cpus" > "$CG/t/cpuset.cpus"
sleep 1000 & SLEEPER=$!
echo "$SLEEPER" > "$CG/t/tasks"

printf '[daemon]\ninterval = 200ms\n[fence]\nbackend = cgroupfs\nfull_pass = 60s\n' > "$CONF"
check "reload without private nodes" "$TIERCTL" --socket "$SOCK" reload
seen=$WORK/seen
for _ in $(seq 200); do
  "$TIERCTL" --socket "$SOCK" status --json | jq -r '"\(.fence.state) \(.fence.restrictions_held)"' >> "$seen"
  [[ $(tail -1 "$seen") == "off 0" ]] && break
  sleep 0.05
done
echo "states seen: $(sort -u "$seen" | tr '\n' ';')"
check "everything given back: off, none held" [ "$(tail -1 "$seen")" = "off 0" ]
check "never 'off' while a restriction was held" bash -c "! grep -qE '^off [1-9]' '$seen'"
check "/a and /a/b empty again" [ "$(mems /a)|$(mems /a/b)" = "|" ]
check "/t has a task: keeps 0" [ "$(mems /t)" = 0 ]
check "that is logged" grep -q "has tasks now (v1 cannot empty it)" "$LOG"
check "the state file is gone" [ ! -e "$STATE/state.json" ]
check "status counts them" [ "$(jqs .fence.given_back)" -ge 3 ]
kill -TERM "$TIERD_PID"; wait "$TIERD_PID" && rc=0 || rc=$?; TIERD_PID=
check "SIGTERM: clean exit" [ "$rc" = 0 ]
kill "$SLEEPER"; wait "$SLEEPER" 2>/dev/null || true; SLEEPER=
host_finish "$LOG"
