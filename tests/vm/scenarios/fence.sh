# Scenario "fence" (runs inside the VM, busybox sh; sourced by /vm/run.sh), on
# the 2tier shape: node 0 DRAM + CPUs, node 1 a CPU-less slower tier that node
# 0 demotes to.  The workload is helpers/interleave.c (the guest has no
# numactl): `interleave MiB [HOLD_S]` sets MPOL_INTERLEAVE over every node with
# memory, touches MiB and prints where its pages are (N0pages=, N1pages=).
#
# Node 1 is private, granted to /granted only.  Checks, on cgroup v2:
#  - tierd enables +cpuset at the root, fences /other (cpuset.mems 0), leaves
#    /granted inheriting 0-1, and turns demotion off (node 0 demotes into the
#    private node 1: [fence] demotion = disable);
#  - set_mempolicy(MPOL_INTERLEAVE, all nodes) in /other gets no page on
#    node 1, in /granted about half of them;
#  - an intruder (a root-cgroup task that interleaved onto node 1 before
#    tierd started) is reported and evicted ([fence] evict = yes);
#  - a cgroup made after tierd started is fenced within 100 ms of mkdir;
#  - SIGTERM restores cpuset.mems, subtree_control and demotion_enabled.
CG=/sys/fs/cgroup
D=/sys/kernel/mm/numa/demotion_enabled
fails=0
pass() { echo "fence: PASS: $*"; }
fail() { echo "fence: FAIL: $*"; fails=$((fails + 1)); }
check() { what=$1; shift; if "$@"; then pass "$what"; else fail "$what"; fi; }
n1() { sed -n 's/.*N1pages=\([0-9]*\).*/\1/p' "$1" | tail -1; }
n0() { sed -n 's/.*N0pages=\([0-9]*\).*/\1/p' "$1" | tail -1; }
cs() { tierctl status --json | tr -d ' \n'; }
uptime_cs() { awk '{ printf "%d", $1 * 100 }' /proc/uptime; }

# ---- variant "v1": a real cgroup v1 cpuset hierarchy, reloads ----
# issue 13 item 3 on a real v1 tree.  Debian's 6.12 is built without
# CONFIG_CPUSETS_V1, so this runs on the 6.1 kernel (shape nvdimm: nodes
# 0-1); with nodes 0-2 (a 6.1 shape with three nodes) it also checks a
# reload from private 1-2 to 2.  The cpusets: /a empty, /b the admin's
# 0-1, /c (three nodes) the admin's 0-2, a task in /a.
#  - fenced: every cpuset 0, the task may use node 0 only;
#  - (0-2) reload to private 2: within one full pass /a /b /c hold 0-1
#    (computed from the recorded originals), the task may use node 1 again;
#  - reload to no private node: status off, /b (and /c) back to the admin's
#    values, the task may use every node again, /a (it has a task: v1
#    cannot empty it) left as is and logged.
if [ "${1:-}" = v1 ]; then
  NODES=$(cat /sys/devices/system/node/has_memory)
  case $NODES in
    0-1) PRIV=1 ALL=0-1 ;;
    0-2) PRIV=1-2 ALL=0-2 ;;
    *) echo "fence: SKIP: v1 needs nodes 0-1 or 0-2 with memory (has $NODES)"; exit 77 ;;
  esac
  V1=/run/cpuset-v1
  mkdir -p $V1
  # cpuset is not enabled anywhere in cgroup v2 here, so v1 may take it
  mount -t cgroup -o cpuset cpuset $V1 ||
    { echo "fence: SKIP: cannot mount the cpuset controller as v1 (CONFIG_CPUSETS_V1?)"; exit 77; }
  echo 0 > $V1/cgroup.clone_children
  mkdir $V1/a $V1/b
  echo 0-1 > $V1/b/cpuset.mems
  [ $ALL = 0-2 ] && { mkdir $V1/c; echo 0-2 > $V1/c/cpuset.mems; }
  echo "== kernel $(uname -r), cgroup v1 cpuset at $V1 (root mems $(cat $V1/cpuset.mems))"
  v1conf() {
    cat > /tmp/fence-v1.conf <<CONF
[daemon]
interval = 200ms
[fence]
private_nodes = $1
backend = cgroupfs
demotion = allow
full_pass = 60s
CONF
  }
  passes() { tierctl status --json | tr -d ' \n' | sed -n 's/.*"full_passes":\([0-9]*\).*/\1/p'; }
  wait_passes() { i=0; while [ "$(passes)" -lt "$1" ] && [ $i -lt 100 ]; do i=$((i + 1)); sleep 0.1; done; }
  allowed() { sed -n 's/^Mems_allowed_list:[[:space:]]*//p' /proc/$spid/status; }
  v1conf $PRIV
  tierd --config /tmp/fence-v1.conf -l debug > /tmp/tierd-v1.log 2>&1 &
  tpid=$!
  i=0; until [ "$(passes 2>/dev/null)" -ge 1 ] 2>/dev/null; do i=$((i + 1)); [ $i -gt 100 ] && break; sleep 0.1; done
  check "v1: fenced with private $PRIV: /a /b = 0" [ "$(cat $V1/a/cpuset.mems)|$(cat $V1/b/cpuset.mems)" = "0|0" ]
  cat $V1/cpuset.cpus > $V1/a/cpuset.cpus
  sleep 1000 & spid=$!
  echo $spid > $V1/a/tasks
  check "v1: a task in /a may use node 0 only" [ "$(allowed)" = 0 ]
  if [ $ALL = 0-2 ]; then
    check "v1: /c = 0" [ "$(cat $V1/c/cpuset.mems)" = 0 ]
    n=$(passes)
    v1conf 2
    tierctl reload > /dev/null
    wait_passes $((n + 1))
    echo "   after the reload to 2: /a $(cat $V1/a/cpuset.mems), /b $(cat $V1/b/cpuset.mems), /c $(cat $V1/c/cpuset.mems)"
    check "v1: node 1 given back within one pass: /a /b /c = 0-1" \
      [ "$(cat $V1/a/cpuset.mems)|$(cat $V1/b/cpuset.mems)|$(cat $V1/c/cpuset.mems)" = "0-1|0-1|0-1" ]
    check "v1: the task in /a may use node 1 again" [ "$(allowed)" = 0-1 ]
  fi
  v1conf ""
  tierctl reload > /dev/null
  i=0; until tierctl status --json | tr -d ' \n' | grep -q '"fence":{"state":"off"'; do i=$((i + 1)); [ $i -gt 100 ] && break; sleep 0.1; done
  echo "   after the reload to none: /a $(cat $V1/a/cpuset.mems), /b $(cat $V1/b/cpuset.mems)"
  check "v1: nothing private: status off" sh -c "tierctl status --json | tr -d ' \n' | grep -q '\"fence\":{\"state\":\"off\"'"
  check "v1: /b back to the admin's 0-1" [ "$(cat $V1/b/cpuset.mems)" = 0-1 ]
  [ $ALL = 0-2 ] && check "v1: /c back to the admin's 0-2" [ "$(cat $V1/c/cpuset.mems)" = 0-2 ]
  check "v1: /a has a task (v1 cannot empty it): given its parent's nodes $ALL" [ "$(cat $V1/a/cpuset.mems)" = $ALL ]
  check "v1: the task in /a may use every node again" [ "$(allowed)" = $ALL ]
  check "v1: that is logged" grep -q "has tasks now (v1 cannot empty it): given its parent's nodes $ALL instead" /tmp/tierd-v1.log
  kill -TERM $tpid; wait $tpid; rc=$?
  check "v1: tierd stopped cleanly" [ $rc = 0 ]
  kill $spid; wait $spid 2>/dev/null
  [ $fails -gt 0 ] && { echo "   tierd log (last 30 lines):"; tail -30 /tmp/tierd-v1.log | sed 's/^/   /'; }
  rmdir $V1/a $V1/b $V1/c 2>/dev/null; umount $V1
  echo "fence: $VM_SHAPE v1: $fails failure(s)"
  [ $fails -eq 0 ] && echo "fence: PASS" || echo "fence: FAIL"
  exit $((fails > 0))
fi

grep -qw cpuset $CG/cgroup.controllers || { echo "fence: SKIP: no cpuset controller in cgroup v2"; exit 77; }
command -v interleave >/dev/null || { echo "fence: FAIL: no interleave helper in the guest"; exit 1; }
[ "$(cat /sys/devices/system/node/has_memory)" = 0-1 ] || { echo "fence: SKIP: needs nodes 0-1 with memory"; exit 77; }
echo "== kernel $(uname -r), shape $VM_SHAPE, root subtree_control '$(cat $CG/cgroup.subtree_control)'"
echo true > $D
mkdir -p $CG/granted $CG/other

# The intruder: a root-cgroup task (the root cannot be fenced) interleaving
# over 0-1 before tierd runs.
interleave 64 -1 > /tmp/intruder.log 2>&1 &
ipid=$!
sleep 3
echo "   intruder before tierd: $(head -1 /tmp/intruder.log)"
check "the intruder has pages on node 1 to begin with" [ "$(n1 /tmp/intruder.log)" -gt 0 ]

cat > /tmp/fence.conf <<CONF
[daemon]
interval = 200ms
[fence]
private_nodes = 1
backend = cgroupfs
demotion = disable
evict = yes
full_pass = 2s
[grant db]
cgroup = /granted
nodes = 1
CONF
tierd --config /tmp/fence.conf -l debug > /tmp/tierd.log 2>&1 &
tpid=$!
i=0
until cs 2>/dev/null | grep -q '"fence":{"state":"fencing"'; do
  i=$((i + 1)); [ $i -gt 100 ] && break; sleep 0.1
done
check "tierd is fencing" sh -c "tierctl status --json | tr -d ' \n' | grep -q '\"fence\":{\"state\":\"fencing\"'"
check "+cpuset enabled at the root" grep -qw cpuset $CG/cgroup.subtree_control
check "/other fenced to node 0" [ "$(cat $CG/other/cpuset.mems)" = 0 ]
check "/other effective 0" [ "$(cat $CG/other/cpuset.mems.effective)" = 0 ]
check "/granted left inheriting (empty)" [ -z "$(cat $CG/granted/cpuset.mems)" ]
check "/granted effective 0-1" [ "$(cat $CG/granted/cpuset.mems.effective)" = 0-1 ]
check "demotion conflict found, demotion turned off" [ "$(cat $D)" = false ]

run_in() { # run_in CGROUP LOG: 64 MiB interleaved inside CGROUP
  sh -c "echo \$\$ > $CG/$1/cgroup.procs && exec interleave 64 0" > "$2" 2>&1
}
run_in other /tmp/other.log
echo "   /other:   $(head -1 /tmp/other.log)"
check "interleave=all in /other: no page on node 1" [ "$(n1 /tmp/other.log)" = 0 ]
check "interleave=all in /other: all 16384 pages on node 0" [ "$(n0 /tmp/other.log)" = 16384 ]
run_in granted /tmp/granted.log
echo "   /granted: $(head -1 /tmp/granted.log)"
check "interleave=all in /granted: pages on node 1" [ "$(n1 /tmp/granted.log)" -gt 4096 ]

# The intruder: found and evicted (audit every full pass, 2 s here).
i=0
until [ "$(n1 /tmp/intruder.log)" = 0 ]; do i=$((i + 1)); [ $i -gt 100 ] && break; sleep 0.1; done
echo "   intruder now: $(tail -1 /tmp/intruder.log)"
check "the intruder's pages were moved off node 1" [ "$(n1 /tmp/intruder.log)" = 0 ]
check "tierd logged the eviction" grep -q "evicted .* of pid $ipid" /tmp/tierd.log
check "status counts the eviction" sh -c "tierctl status --json | tr -d ' \n' | grep -q '\"evictions\":[1-9]'"
kill $ipid; wait $ipid 2>/dev/null

# A new top-level cgroup: inherits all of the root until tierd writes it.
t0=$(uptime_cs)
mkdir $CG/late
i=0
while [ "$(cat $CG/late/cpuset.mems 2>/dev/null)" != 0 ] && [ $i -lt 5000 ]; do i=$((i + 1)); done
t1=$(uptime_cs)
echo "   mkdir-to-fenced: $(((t1 - t0) * 10)) ms (10 ms resolution; $i polls)"
check "new cgroup fenced" [ "$(cat $CG/late/cpuset.mems)" = 0 ]
check "new cgroup fenced within 100 ms of mkdir" [ $(((t1 - t0) * 10)) -le 100 ]
run_in late /tmp/late.log
check "interleave=all in the new cgroup: no page on node 1" [ "$(n1 /tmp/late.log)" = 0 ]

echo "== tierctl status (fence)"
tierctl status 2>&1 | sed -n '/Fencing/,/^$/p' | sed 's/^/   /'

kill -TERM $tpid; wait $tpid; rc=$?
check "tierd stopped cleanly" [ $rc = 0 ]
check "restore: /other cpuset.mems empty again" [ -z "$(cat $CG/other/cpuset.mems 2>/dev/null)" ]
check "restore: +cpuset disabled at the root" sh -c "! grep -qw cpuset $CG/cgroup.subtree_control"
check "restore: demotion_enabled true" [ "$(cat $D)" = true ]
[ $fails -gt 0 ] && { echo "   tierd log (last 40 lines):"; tail -40 /tmp/tierd.log | sed 's/^/   /'; }
rmdir $CG/late $CG/other $CG/granted 2>/dev/null
echo "fence: $VM_SHAPE: $fails failure(s)"
[ $fails -eq 0 ] && echo "fence: PASS" || echo "fence: FAIL"
exit $((fails > 0))
