# Scenario "hotplug" (runs inside the VM, busybox sh; sourced by /vm/run.sh).
# tierd must follow memory hotplug at run time: with tierd running (tick
# interval 5 s, so only the uevent path can be fast), memory blocks of the
# slowest node are offlined and onlined through
# /sys/devices/system/memory/memoryN/online, and `tierctl status --json`
# must show a new topology generation, with the right summary, within a
# second each time.  Then every block of the node is offlined (if the kernel
# lets us): the node leaves its tier and tierd must see the tier map
# change; onlining brings it back.  Latency figures are printed as
# "hotplug: figure ..." lines: wall time from the sysfs write returning to
# the status showing the change (includes tierctl's own polling, 20 ms
# steps, and /proc/uptime's 10 ms resolution), and tierd's own
# first-uevent -> re-plan-done time (.topology.last_reaction_usec; a quiet
# host's first event rescans at once: .topology.leading_reaction_usec).
# With [fence] active (tierd status has a "fence" section whose private
# nodes include the node), the time until the re-onlined node is private
# again is reported too (report only: fencing asserts in its own tests).
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
pass() { echo "PASS: $*"; }
[ -x /usr/local/sbin/tierd ] && command -v tierctl >/dev/null || { echo "FAIL: tierd/tierctl not in the VM"; exit 1; }

MEM=/sys/devices/system/memory
NODE=/sys/devices/system/node
# The slowest node: the highest node id with memory.
SLOW=$(ls -d $NODE/node[0-9]* | sed 's/.*node//' | sort -n | while read -r n; do
  [ "$(awk '/MemTotal/ {print $4}' $NODE/node$n/meminfo)" -gt 0 ] && echo "$n"; done | tail -1)
[ -n "$SLOW" ] && [ "$SLOW" -gt 0 ] || { echo "FAIL: no slow node in shape $VM_SHAPE"; exit 1; }
BLOCKS=$(ls -d $NODE/node$SLOW/memory[0-9]* 2>/dev/null | sed 's/.*memory//' | sort -n)
bs=$(( $(cat $MEM/block_size_bytes | sed 's/^/0x/') >> 20 ))
echo "hotplug: kernel $(uname -r), shape $VM_SHAPE, slow node $SLOW, blocks $(echo $BLOCKS | wc -w) x ${bs} MiB," \
  "udevd: $([ -e /run/udev/control ] && echo yes || echo no)"

cat > /tmp/hotplug.conf <<'CONF'
[daemon]
interval = 5s
max_interval = 5s
[guard]
mode = off
CONF
# --env HOTPLUG_FENCE=1: nodes slower than DRAM are private; after the slow
# node comes back, report how long until tierd lists it as private again.
[ "${HOTPLUG_FENCE:-0}" = 1 ] && printf '[fence]\nprivate_slower_than = 4\n' >> /tmp/hotplug.conf
tierd --config /tmp/hotplug.conf --log-level debug > /tmp/tierd.log 2>&1 &
tpid=$!
i=0
while [ $i -lt 100 ] && ! tierctl status --json > /dev/null 2>&1; do sleep 0.1; i=$((i + 1)); done
kill -0 $tpid 2>/dev/null || { echo "FAIL: tierd exited at start:"; cat /tmp/tierd.log; exit 1; }

# The "topology" object of the status, on one line (it has no nested objects).
topo() { tierctl status --json 2>/dev/null | tr -d '\n' | sed -n 's/.*"topology": *{\([^}]*\)}.*/\1/p'; }
num() { echo "$1" | sed -n "s/.*\"$2\": *\([0-9][0-9]*\).*/\1/p"; }
str() { echo "$1" | sed -n "s/.*\"$2\": *\"\([^\"]*\)\".*/\1/p"; }
uptime_cs() { awk '{printf "%d\n", $1 * 100}' /proc/uptime; }
gen() { num "$(topo)" generation; }

T=$(topo)
echo "hotplug: tierd topology: mode $(str "$T" mode) ($(str "$T" mode_detail)), generation $(num "$T" generation)"
[ "$(str "$T" mode)" = uevent ] && pass "tierd follows uevents" || fail "tierd is not listening to uevents: $T"

# The "topology changed" lines tierd logged for generations above $1, as
# "GEN SUMMARY" (stderr format: "<5>topology changed: SUMMARY TIERD_...=...").
changes_since() {
  sed -n 's/^<5>topology changed: \(.*\) TIERD_TOPOLOGY_GENERATION=\([0-9]*\) .*/\2 \1/p' /tmp/tierd.log |
    awk -v g="$1" '$1 > g'
}
# wait_change WHAT PATTERN: after sysfs writes (between t_before and t_after),
# wait up to 3 s for tierd to log a change above generation $g0 matching
# PATTERN (grep -E), then for the status to show that generation; figures.
# A burst's first event rescans at once, so with several blocks the match can
# come during the writes (reported as such).
wait_change() {
  what=$1 pat=$2 hit=""
  while [ $(( $(uptime_cs) - t_after )) -lt 300 ]; do
    hit=$(changes_since "$g0" | grep -E "$pat" | head -1)
    [ -n "$hit" ] && break
    sleep 0.02
  done
  t_seen=$(uptime_cs)
  if [ -z "$hit" ]; then
    fail "$what: no matching change logged within 3 s; changes since generation $g0:"
    changes_since "$g0" | sed 's/^/   /'
    return 1
  fi
  hg=${hit%% *} ms=$(( (t_seen - t_after) * 10 ))
  while [ $(( $(uptime_cs) - t_after )) -lt 500 ]; do
    T=$(topo); g=$(num "$T" generation)
    [ -n "$g" ] && [ "$g" -ge "$hg" ] && break
    sleep 0.02
  done
  [ "$g" -ge "$hg" ] || fail "$what: the status never showed generation $hg"
  echo "hotplug: figure $what: writes took $(( (t_after - t_before) * 10 )) ms; tierd logged it" \
    "$([ $ms -le 0 ] && echo "during the writes" || echo "${ms} ms after them");" \
    "first uevent -> re-plan done: last $(num "$T" last_reaction_usec) us, burst's first event" \
    "$(num "$T" leading_reaction_usec) us (uevents so far $(num "$T" uevents), trigger $(str "$T" last_change_trigger))"
  changes_since "$g0" | sed 's/^/hotplug:   generation /'
  if [ $ms -le 1000 ]; then pass "$what: seen within a second"; else fail "$what: seen after ${ms} ms"; fi
  [ "$(str "$T" last_change_trigger)" = uevent ] || fail "$what: seen by polling, not through a uevent"
  return 0
}

# Report only (fencing asserts in its own tests): the node came back at
# t_after; when does the status list it as private again?
fence_window() {
  while [ $(( $(uptime_cs) - t_after )) -lt 300 ]; do
    pn=$(tierctl status --json 2>/dev/null | tr -d '\n' | sed -n 's/.*"fence": *{.*"private_nodes": *"\([^"]*\)".*/\1/p')
    case ",$pn," in *",$SLOW,"*|*",$SLOW-"*|*"-$SLOW,"*) break ;; esac
    sleep 0.02
  done
  echo "hotplug: figure fence: private nodes '$pn' $(( ($(uptime_cs) - t_after) * 10 )) ms after node $SLOW came back (report only)"
}

# set_blocks 0|1 BLOCK...: offline/online each; prints the ones that changed.
set_blocks() {
  v=$1; shift
  for b in "$@"; do
    [ "$(cat $MEM/memory$b/online)" = "$v" ] && continue
    echo "$v" > $MEM/memory$b/online 2>/dev/null && echo "$b"
  done
}
mib() { awk '/MemTotal/ {printf "%d\n", $4 / 1024}' $NODE/node$SLOW/meminfo; }

# 1. Offline two blocks (a burst of 2 uevents), then online them again.
rev=$(echo $BLOCKS | tr ' ' '\n' | sort -rn)
g0=$(gen); t_before=$(uptime_cs)
done1=""
for b in $rev; do
  [ "$(echo $done1 | wc -w)" -ge 2 ] && break
  done1="$done1 $(set_blocks 0 $b)"
done
t_after=$(uptime_cs)
n1=$(echo $done1 | wc -w)
echo "hotplug: offlined $n1 block(s) of node $SLOW:$done1 -> $(mib) MiB"
if [ "$n1" -ge 1 ]; then
  wait_change "offline $n1 block(s)" "node $SLOW memory [0-9]+ → [0-9]+ MiB"
  g0=$(gen); t_before=$(uptime_cs)
  set_blocks 1 $done1 > /dev/null
  t_after=$(uptime_cs)
  echo "hotplug: onlined them again -> $(mib) MiB"
  wait_change "online $n1 block(s)" "node $SLOW memory [0-9]+ → [0-9]+ MiB"
else
  fail "no block of node $SLOW could be offlined"
fi

# 2. Every block: the node leaves its tier (6.12 clears a node without memory
# from its memory tier), then comes back.
g0=$(gen); t_before=$(uptime_cs)
off=$(set_blocks 0 $rev)
t_after=$(uptime_cs)
left=0
for b in $BLOCKS; do [ "$(cat $MEM/memory$b/online)" = 1 ] && left=$((left + 1)); done
echo "hotplug: offlined $(echo $off | wc -w) more block(s); $left still online (busy); node $SLOW: $(mib) MiB," \
  "has_memory $(cat $NODE/has_memory)"
for t in /sys/devices/virtual/memory_tiering/memory_tier*; do echo "hotplug:   $(basename $t): $(cat $t/nodelist)"; done
if [ $left -eq 0 ]; then
  wait_change "offline all of node $SLOW" "tiers .* → .*node $SLOW tier [0-9]+ → none"
  g0=$(gen); t_before=$(uptime_cs)
  set_blocks 1 $BLOCKS > /dev/null
  t_after=$(uptime_cs)
  wait_change "online all of node $SLOW" "tiers .* → .*node $SLOW tier none → [0-9]+"
  [ "${HOTPLUG_FENCE:-0}" = 1 ] && fence_window
else
  echo "hotplug: node $SLOW still has $left busy block(s) (boot memory holding unmovable pages):" \
    "the whole-node step needs the kmem route (shape nvdimm)"
  [ -n "$off" ] && wait_change "offline $(echo $off | wc -w) more block(s)" "node $SLOW memory [0-9]+ → [0-9]+ MiB"
  g0=$(gen); t_before=$(uptime_cs)
  on=$(set_blocks 1 $BLOCKS)
  t_after=$(uptime_cs)
  [ -n "$on" ] && wait_change "online the rest of node $SLOW" "node $SLOW"
fi

# 3. Real hot-remove and hot-add (kmem route): the dax device of the slow
# node goes back to devdax (its memory is offlined and removed: the node
# loses its memory and, having no CPUs, is unregistered), then to
# system-ram again (memory hot-added, the node registered, blocks onlined).
if [ "$VM_ROUTE" = nvdimm ] && command -v daxctl > /dev/null; then
  for dev in $(ls /sys/bus/dax/devices/ 2>/dev/null); do
    [ "$(cat /sys/bus/dax/devices/$dev/target_node 2>/dev/null)" = "$SLOW" ] || continue
    g0=$(gen); t_before=$(uptime_cs)
    if ! daxctl reconfigure-device -f -m devdax "$dev" > /tmp/daxctl.out 2>&1; then
      fail "daxctl reconfigure-device -m devdax $dev: $(cat /tmp/daxctl.out)"; continue
    fi
    t_after=$(uptime_cs)
    echo "hotplug: $dev -> devdax: node $SLOW $([ -d $NODE/node$SLOW ] && echo "registered, $(mib) MiB" || echo unregistered)," \
      "online nodes $(cat $NODE/online), has_memory $(cat $NODE/has_memory)"
    wait_change "hot-remove of node $SLOW ($dev)" "node $SLOW (removed|tier [0-9]+ → none)"
    # daxctl refuses when the kernel would auto-online (see guest/init)
    aob=$(cat $MEM/auto_online_blocks 2>/dev/null)
    [ -n "$aob" ] && [ "$aob" != offline ] && echo offline > $MEM/auto_online_blocks
    mv=; [ "$VM_NVDIMM_NORMAL" = 1 ] && mv=--no-movable
    g0=$(gen); t_before=$(uptime_cs)
    daxctl reconfigure-device -m system-ram $mv "$dev" > /tmp/daxctl.out 2>&1 ||
      fail "daxctl reconfigure-device -m system-ram $dev: $(cat /tmp/daxctl.out)"
    t_after=$(uptime_cs)
    [ -n "$aob" ] && [ "$aob" != offline ] && echo "$aob" > $MEM/auto_online_blocks
    echo "hotplug: $dev -> system-ram: node $SLOW $(mib) MiB, has_memory $(cat $NODE/has_memory)"
    wait_change "hot-add of node $SLOW ($dev)" "node $SLOW (added|tier none → [0-9]+)"
    [ "${HOTPLUG_FENCE:-0}" = 1 ] && fence_window
  done
fi

# tierd still fine, and it stops cleanly.
kill -0 $tpid 2>/dev/null && pass "tierd still running" || fail "tierd died"
if grep -q "reading the topology failed" /tmp/tierd.log; then
  echo "hotplug: note: a snapshot caught sysfs mid-change (retried):"; grep "reading the topology failed" /tmp/tierd.log | head -3
fi
kill $tpid 2>/dev/null; wait $tpid 2>/dev/null
echo "hotplug: tierd log (topology lines):"
grep -E "topology|uevent" /tmp/tierd.log | grep -v "^<7>uevent" | tail -20 | sed 's/^/   /'
echo "hotplug: uevents received: $(grep -c '^<7>uevent' /tmp/tierd.log)"
echo "hotplug: $VM_SHAPE: $fails failure(s)"
[ $fails -eq 0 ] && echo "hotplug: PASS" || echo "hotplug: FAIL"
exit $((fails > 0))
