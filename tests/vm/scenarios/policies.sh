# Scenario "policies" (runs inside the VM, busybox sh; sourced by /vm/run.sh):
# guard, relief and fencing together (issue 13), node 1 private and granted
# to /granted, [fence] demotion = disable (node 0 demotes into node 1: the
# conflict holds demotion off from the start).  After every step:
#  - demotion_enabled is false whenever any reason holds (fence always; the
#    guard on top while node 0 and node 1 are under pressure);
#  - tierctl status lists exactly the reasons that hold;
#  - no page of a non-granted task (a root-cgroup task) reaches node 1
#    through relief.
# 2tier: three rounds of pressure and recovery on node 0 and node 1 (a hog in
#   /granted filling memory to the low watermarks: the guard trips, relief
#   is active on node 1); a root-cgroup task bound to node 0 is watched.
# 3tier: two rounds of a root-cgroup task bound to node 2 pushing node 2
#   below relief's start_at: relief moves its pages to a faster node, and node 1, the
#   nearest faster one, is private: they must all go to node 0.
# At the end SIGTERM restores demotion_enabled, cpuset.mems and
# subtree_control.
CG=/sys/fs/cgroup
D=/sys/kernel/mm/numa/demotion_enabled
fails=0
pass() { echo "policies: PASS: $*"; }
fail() { echo "policies: FAIL: $*"; fails=$((fails + 1)); }
check() { what=$1; shift; if "$@"; then pass "$what"; else fail "$what"; fi; }
st() { tierctl status --json 2>/dev/null | jq -r "$1" 2>/dev/null; }
reasons() { st '[.demotion.reasons[] | select(.overridden == false) | .reason] | sort | join(",")'; }
wait_for() { # wait_for SECONDS command...
  local end=$(( $(cut -d. -f1 /proc/uptime) + $1 )); shift
  until "$@"; do [ "$(cut -d. -f1 /proc/uptime)" -ge "$end" ] && return 1; sleep 0.2; done
}
on_node() { # on_node PID NODE -> pages of PID on NODE (pagecheck lists nodes with pages only)
  local v
  v=$(pagecheck -p "$1" 2>/dev/null | sed -n "s/.*node$2=\([0-9]*\).*/\1/p")
  echo "${v:-0}"
}
reasons_are() { [ "$(reasons)" = "$1" ]; }
knob_is() { [ "$(cat $D)" = "$1" ]; }
free_mib() { awk -v n="$1" '/^Node / { node = $2; sub(",", "", node) } node == n && $1 == "pages" && $2 == "free" { f += $3 }
  END { print int(f * 4 / 1024) }' /proc/zoneinfo; }
low_mib() { awk -v n="$1" '/^Node / { node = $2; sub(",", "", node) } node == n && $1 == "low" { l += $2 }
  END { print int(l * 4 / 1024) }' /proc/zoneinfo; }
# The guest's init runs at oom_score_adj -1000 (the machinery must survive);
# a workload goes back to 0 so that an OOM has something to kill.  Run as
# sh -c "$HOG0" hog ARGS... &: the shell execs hog, so $! is hog's PID.
HOG0='echo 0 > /proc/self/oom_score_adj && exec hog "$@"'
# Every node with memory but node 1, as cpuset.mems prints it ("0", "0,2").
others=$(awk -F, '{ for (i = 1; i <= NF; i++) { n = split($i, r, "-"); for (k = r[1]; k <= r[n]; k++)
  if (k != 1) o = o (o == "" ? "" : ",") k } } END { print o }' /sys/devices/system/node/has_memory)

grep -qw cpuset $CG/cgroup.controllers || { echo "policies: SKIP: no cpuset controller in cgroup v2"; exit 77; }
command -v jq >/dev/null || { echo "policies: SKIP: no jq in the guest"; exit 77; }
echo "== kernel $(uname -r), shape $VM_SHAPE, nodes with memory $(cat /sys/devices/system/node/has_memory)"
echo true > $D
mkdir -p $CG/granted $CG/other

# 3tier: relief runs from 64 MiB to 128 MiB above node 2's low watermark,
# and the victim (bound to node 2) stops 32 MiB above it: relief has work,
# the guard does not trip, and the victim never nears min (where, bound, it
# would be killed).
RELIEF_START=
[ "$VM_SHAPE" = 3tier ] && RELIEF_START="start_at = low+64M
stop_at = low+128M"
cat > /tmp/policies.conf <<CONF
[daemon]
interval = 200ms
[guard]
min_hold = 0
[relief]
rate = 512M
$RELIEF_START
[fence]
private_nodes = 1
backend = cgroupfs
demotion = disable
full_pass = 2s
[grant db]
cgroup = /granted
nodes = 1
CONF
tierd --config /tmp/policies.conf > /tmp/tierd.log 2>&1 &
tpid=$!
wait_for 20 sh -c "tierctl status --json 2>/dev/null | jq -e '.fence.state == \"fencing\"' >/dev/null"
check "tierd is fencing" [ "$(st .fence.state)" = fencing ]
check "/other fenced to the nodes but 1 ($others)" [ "$(cat $CG/other/cpuset.mems)" = "$others" ]
check "step 0: the fence conflict holds demotion off" wait_for 10 knob_is false
check "step 0: status lists the fence reason alone" reasons_are fence

if [ "$VM_SHAPE" = 2tier ]; then
  # A root-cgroup task whose pages can only be on node 0 (MPOL_BIND): any
  # page of it on node 1 would have been put there by relief.
  sh -c "$HOG0" hog 64 -1 0 > /tmp/watched.log 2>&1 &
  wpid=$!
  wait_for 20 grep -q "reached" /tmp/watched.log
  echo "   watched root-cgroup task $wpid: $(pagecheck -p $wpid)"
  # (so that "no page on node 1" below is about its 64 MiB, not about nothing)
  check "the watched task's 64 MiB are on node 0" [ "$(on_node $wpid 0)" -ge 16384 ]
  for round in 1 2 3; do
    sh -c "echo \$\$ > $CG/granted/cgroup.procs && echo 0 > /proc/self/oom_score_adj && exec hog -f 4096 -1" > /tmp/hog.log 2>&1 &
    hpid=$!
    wait_for 60 grep -q "memory full" /tmp/hog.log
    echo "   round $round: $(tail -1 /tmp/hog.log); node0 free $(free_mib 0) MiB, node1 free $(free_mib 1) MiB"
    wait_for 20 sh -c "[ \"\$(tierctl status --json | jq -r .guard.held)\" = true ]"
    check "round $round, pressure: the guard trips too" [ "$(st .guard.held)" = true ]
    check "round $round, pressure: the knob is off" knob_is false
    check "round $round, pressure: status lists fence and guard ($(reasons))" reasons_are fence,guard
    # (relief runs while node 1 is below start_at; kswapd may lift it above
    # for a moment, so look for up to 10 s)
    check "round $round, pressure: relief is relieving node 1" \
      wait_for 10 sh -c "tierctl status --json | jq -r .relief.state | grep -q 'node 1'"
    echo "   relief: $(st .relief.state)"
    check "round $round, pressure: no page of the root-cgroup task on node 1 ($(pagecheck -p $wpid))" [ "$(on_node $wpid 1)" = 0 ]
    kill $hpid; wait $hpid 2>/dev/null
    wait_for 30 sh -c "[ \"\$(tierctl status --json | jq -r .guard.held)\" = false ]"
    echo "   round $round, recovered: node0 free $(free_mib 0) MiB, node1 free $(free_mib 1) MiB"
    check "round $round, recovery: the guard let go" [ "$(st .guard.held)" = false ]
    check "round $round, recovery: the knob is still off (fence holds)" knob_is false
    check "round $round, recovery: status lists the fence reason alone ($(reasons))" reasons_are fence
    check "round $round, recovery: no page of the root-cgroup task on node 1" [ "$(on_node $wpid 1)" = 0 ]
  done
  kill $wpid; wait $wpid 2>/dev/null
else
  for round in 1 2; do
    # node 2 below relief's start_at with pages of a root-cgroup task
    mib=$(( $(free_mib 2) - $(low_mib 2) - 32 ))
    sh -c "$HOG0" hog "$mib" -1 2 > /tmp/victim.log 2>&1 &
    vpid=$!
    wait_for 60 grep -q "reached" /tmp/victim.log
    echo "   round $round: victim of $mib MiB on node 2; node2 free $(free_mib 2) MiB (low $(low_mib 2) MiB)"
    # 16 MiB at least, so that "none to node 1" is about real traffic
    moved() { [ "$(on_node $vpid 0)" -ge 4096 ]; }
    wait_for 90 moved
    echo "   round $round: victim now $(pagecheck -p $vpid); relief: $(st .relief.state)"
    check "round $round: the victim is alive" kill -0 $vpid
    check "round $round: relief moved 16 MiB of the root-cgroup task off node 2 to node 0" moved
    check "round $round: none of them to private node 1" [ "$(on_node $vpid 1)" = 0 ]
    check "round $round: the knob is off" knob_is false
    check "round $round: status lists the fence reason alone ($(reasons))" reasons_are fence
    kill $vpid; wait $vpid 2>/dev/null
    sleep 1
  done
fi

echo "== tierctl status"
tierctl status 2>&1 | sed -n '/^demotion held off/,/^Guard/p;/^Relief/,/^$/p' | sed 's/^/   /'
kill -TERM $tpid; wait $tpid; rc=$?
check "tierd stopped cleanly" [ $rc = 0 ]
check "restore: demotion_enabled true" knob_is true
check "restore: /other cpuset.mems empty again" [ -z "$(cat $CG/other/cpuset.mems 2>/dev/null)" ]
check "restore: +cpuset disabled at the root" sh -c "! grep -qw cpuset $CG/cgroup.subtree_control"
[ $fails -gt 0 ] && { echo "   tierd log (last 40 lines):"; tail -40 /tmp/tierd.log | sed 's/^/   /'; }
rmdir $CG/other $CG/granted 2>/dev/null
echo "policies: $VM_SHAPE: $fails failure(s)"
[ $fails -eq 0 ] && echo "policies: PASS" || echo "policies: FAIL"
exit $((fails > 0))
