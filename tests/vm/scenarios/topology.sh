# Scenario "topology" (runs inside the VM, busybox sh; sourced by /vm/run.sh).
# `tierctl topology --json` must match the kernel: tiers (memory_tierN nodelists),
# nodes and their tiers, demotion targets (the kernel's own boot log line
# "Demotion targets for Node N: preferred: X, fallback: Y"; the shape's
# expectation where the kernel prints none, i.e. 6.1), free/min pages
# (/proc/zoneinfo).  Checked with demotion_enabled false and true; the plain
# `tierctl topology` must also succeed.  The checker is helpers/topocheck.c.
fails=0
D=/sys/kernel/mm/numa/demotion_enabled
dmesg > /tmp/dmesg.txt
echo "== kernel: $(uname -r), shape $VM_SHAPE, nodes with memory: $(cat /sys/devices/system/node/has_memory)"
for t in /sys/devices/virtual/memory_tiering/memory_tier*; do
  [ -e "$t/nodelist" ] && echo "   $(basename "$t"): $(cat "$t/nodelist")"
done
grep -o 'Demotion targets for Node .*' /tmp/dmesg.txt | sed 's/^/   dmesg: /'
for n in /sys/devices/system/node/node*/access0/initiators; do
  [ -e "$n/read_latency" ] && echo "   $(echo "$n" | cut -d/ -f6): HMAT read_latency=$(cat "$n/read_latency") read_bandwidth=$(cat "$n/read_bandwidth")"
done
awk '/^Node/ {z = $2 $4} /pages free/ {f = $3} / min / {m = $2} / low / {l = $2} / high / {h = $2}
  /present/ && $2 > 0 {printf "   zone %-12s free=%s min=%s low=%s high=%s present=%s\n", z, f, m, l, h, $2}' /proc/zoneinfo
orig=$(cat $D)
for demo in false true; do
  echo "== demotion_enabled=$demo"
  echo $demo > $D
  cat /proc/zoneinfo > /tmp/zoneinfo.before
  if ! tierctl topology --json > /tmp/topology.json 2> /tmp/tierctl.err; then
    echo "FAIL: tierctl topology --json exited $?:"; cat /tmp/tierctl.err
    fails=$((fails + 1)); continue
  fi
  if ! topocheck --dmesg /tmp/dmesg.txt --expect-tiers "$VM_EXPECT_TIERS" \
      --expect-demotion "$VM_EXPECT_DEMOTION" --zoneinfo-before /tmp/zoneinfo.before \
      /tmp/topology.json; then
    fails=$((fails + 1))
    sed 's/^/   json: /' /tmp/topology.json
  fi
done
echo "$orig" > $D
echo "== tierctl topology"
if tierctl topology > /tmp/topology.txt 2>&1; then
  sed 's/^/   /' /tmp/topology.txt
else
  echo "FAIL: tierctl topology exited non-zero:"; cat /tmp/topology.txt; fails=$((fails + 1))
fi
echo "topology: $VM_SHAPE: $fails failure(s)"
[ $fails -eq 0 ] && echo "topology: PASS" || echo "topology: FAIL"
exit $((fails > 0))
