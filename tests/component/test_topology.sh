#!/usr/bin/env bash
# Dynamic topology end to end: tierd runs on a copy of the two-tier capture
# (6.12, HMAT: node0 DRAM tier 4, node1 slow tier 54) while the test
# "hot-adds" node 2 (the third node of the 3-tier capture: tier 270, 502 MiB)
# by writing its sysfs/procfs files, then removes it again.  Checked: the
# status' topology generation bumps, the node and its tier appear with the
# demotion targets the kernel would compute, a "topology" action and a
# "topology changed:" log line say what happened, and after the removal the
# node's state is gone and tierd is still fine.
#
# Phase 1 relies on the periodic diff alone (the polling fallback).  Phase 2
# (root only, with a working uevent socket) uses a long tick interval and
# sends a synthetic "change" uevent for node0 (writing "change" to
# /sys/devices/system/node/node0/uevent: the kernel emits the event again,
# nothing else happens) right after the edit, so the change must be seen
# through the uevent path within a second.
. "$(dirname "$0")/lib.sh"

new_root vm-6.12-hmat-2tier
THREE=$TIER_FIXTURES/vm-6.12-hmat-3tier
N=$ROOT/sys/devices/system/node
T=$ROOT/sys/devices/virtual/memory_tiering
cat > "$CONF" <<CONF
[daemon]
interval = 200ms
[guard]
mode = off
CONF

# Replace a file atomically (tierd must never read a half-written file).
put() { printf '%s\n' "$2" > "$1.new" && mv "$1.new" "$1"; }
# Node 2's zones, from the 3-tier capture (the sections after "Node 1 ...").
awk '/^Node 2,/ {on = 1} on' "$THREE/proc/zoneinfo" > "$WORK/zoneinfo.node2"
cp "$ROOT/proc/zoneinfo" "$WORK/zoneinfo.2nodes"
cat "$WORK/zoneinfo.2nodes" "$WORK/zoneinfo.node2" > "$WORK/zoneinfo.3nodes"

# In an order in which every intermediate tree is one a kernel could show.
add_node2() {
  for f in online possible has_memory has_normal_memory; do put "$N/$f" 0-2; done
  put "$N/node0/distance" "10 20 30"
  put "$N/node1/distance" "20 10 20"
  rm -rf "$WORK/node2.stage"; cp -a "$THREE/sys/devices/system/node/node2" "$WORK/node2.stage"
  mv "$WORK/node2.stage" "$N/node2"
  cp "$WORK/zoneinfo.3nodes" "$ROOT/proc/zoneinfo.new"; mv "$ROOT/proc/zoneinfo.new" "$ROOT/proc/zoneinfo"
  rm -rf "$WORK/tier.stage"; mkdir "$WORK/tier.stage"; echo 2 > "$WORK/tier.stage/nodelist"
  mv "$WORK/tier.stage" "$T/memory_tier270"
}
remove_node2() {
  rm -rf "$T/memory_tier270"
  cp "$WORK/zoneinfo.2nodes" "$ROOT/proc/zoneinfo.new"; mv "$ROOT/proc/zoneinfo.new" "$ROOT/proc/zoneinfo"
  mv "$N/node2" "$WORK/node2.gone"; rm -rf "$WORK/node2.gone"
  put "$N/node0/distance" "10 20"
  put "$N/node1/distance" "20 10"
  for f in online possible has_memory has_normal_memory; do put "$N/$f" 0-1; done
}
ADDED='([.tiers[] | select(.id == 270) | .nodes] == [[2]])
  and ([.nodes[] | select(.id == 2) | .tier] == [270])
  and ([.nodes[] | select(.id == 0) | .demotion_targets, .demotion_fallback] == [[1], [1,2]])
  and ([.nodes[] | select(.id == 1) | .demotion_targets, .demotion_fallback] == [[2], [2]])'
REMOVED='([.tiers[].id] == [4, 54])
  and ([.nodes[] | select(.id == 2)] == [])
  and ([.nodes[] | select(.id == 0) | .demotion_targets, .demotion_fallback] == [[1], [1]])
  and ([.nodes[] | select(.id == 1) | .demotion_targets, .demotion_fallback] == [[], []])'

start_tierd
mode=$(jqs .topology.mode)
echo "topology mode: $mode ($(jqs .topology.mode_detail))"
check "status: topology generation 1 at start" [ "$(jqs .topology.generation)" = 1 ]
check "status: no change yet" [ "$(jqs .topology.last_change)" = null ]
check "status: mode is uevent or polling" bash -c "[[ '$mode' == uevent || '$mode' == polling ]]"
check "the mode is logged at start" grep -q "topology: .*\(following hotplug through\|polling\)" "$LOG"

# ---- phase 1: seen by the periodic diff ----
g0=$(jqs .topology.generation)
add_node2
check "node 2 added: node, tier 270 and demotion targets appear" wait_status "$ADDED"
g1=$(jqs .topology.generation)
check "node 2 added: generation bumped ($g0 -> $g1)" [ "$g1" -gt "$g0" ]
check "node 2 added: seen by the periodic diff (no uevent was sent)" [ "$(jqs .topology.last_change_trigger)" = poll ]
check "node 2 added: last change is recent" [ "$(jqs '.topology.last_change_age_usec < 5000000')" = true ]
check "node 2 added: a topology action says so" \
  [ "$(jqs '[.actions[] | select(.kind == "topology" and (.reason | test("node 2 added \\(tier (270|none), 502 MiB\\)")))] | length')" -ge 1 ]
check "node 2 added: the tier map before -> after is reported" \
  [ "$(jqs '[.actions[] | select(.kind == "topology") | .reason | test("270:2")] | any')" = true ]
check "node 2 added: event logged" grep -q "topology changed: tiers 4:0 54:1 .*node 2 added" "$LOG"
check "node 2 added: snapshot read without a lasting error" wait_status '.daemon.acquire_error == null'

remove_node2
check "node 2 removed: node and tier gone, targets back" wait_status "$REMOVED"
g2=$(jqs .topology.generation)
check "node 2 removed: generation bumped ($g1 -> $g2)" [ "$g2" -gt "$g1" ]
check "node 2 removed: a topology action says so" \
  [ "$(jqs '[.actions[] | select(.kind == "topology" and (.reason | test("node 2 removed")))] | length')" -ge 1 ]
check "node 2 removed: a change names the new tier map" \
  [ "$(jqs '[.actions[] | select(.kind == "topology") | .reason | test("→ 4:0 54:1(;|$)")] | any')" = true ]
check "node 2 removed: tierd still running" kill -0 "$TIERD_PID"
check "node 2 removed: snapshot reads fine" wait_status '.daemon.acquire_error == null'
sleep 0.5
check "no change: generation stays" [ "$(jqs .topology.generation)" = "$g2" ]
check "guard still answers" [ "$(jqs .guard.mode)" = off ]

# A small memory change (4 MiB: a balloon step) is below the threshold.
awk '/^Node 1, zone +DMA32/ {hit = 1} hit && /^ +managed/ {sub(/[0-9]+$/, $2 - 1024); hit = 0} {print}' \
  "$WORK/zoneinfo.2nodes" > "$ROOT/proc/zoneinfo.new"
mv "$ROOT/proc/zoneinfo.new" "$ROOT/proc/zoneinfo"
sleep 0.6
check "4 MiB less on node 1: no new generation" [ "$(jqs .topology.generation)" = "$g2" ]
# 128 MiB (a memory block offlined) is significant.
awk '/^Node 1, zone +DMA32/ {hit = 1} hit && /^ +managed/ {sub(/[0-9]+$/, $2 - 32768); hit = 0} {print}' \
  "$WORK/zoneinfo.2nodes" > "$ROOT/proc/zoneinfo.new"
mv "$ROOT/proc/zoneinfo.new" "$ROOT/proc/zoneinfo"
check "128 MiB less on node 1: new generation" wait_status ".topology.generation > $g2"
check "128 MiB less on node 1: summary" [ "$(jqs .topology.last_change)" = "tiers 4:0 54:1 (unchanged); node 1 memory 1006 → 878 MiB" ]
cp "$WORK/zoneinfo.2nodes" "$ROOT/proc/zoneinfo.new"; mv "$ROOT/proc/zoneinfo.new" "$ROOT/proc/zoneinfo"
check "memory back: another generation" wait_status '.topology.last_change | test("node 1 memory 878 → 1006 MiB")'

# ---- phase 2: the uevent path ----
UEV=/sys/devices/system/node/node0/uevent
if [[ $mode == uevent && -w $UEV ]]; then
  sed -i 's/^interval = .*/interval = 20s\nmax_interval = 20s/' "$CONF"
  check "reload with a 20 s tick" "$TIERCTL" --socket "$SOCK" reload
  check "the tick interval is 20 s" wait_status '.daemon.interval_usec == 20000000'
  g3=$(jqs .topology.generation)
  u0=$(jqs .topology.uevents)
  t0=$(date +%s%N)
  add_node2
  echo change > "$UEV"
  check "uevent: node 2 seen within a second" wait_status "$ADDED and (.topology.generation > $g3)"
  t1=$(date +%s%N)
  echo "uevent -> status shows node 2: $(((t1 - t0) / 1000000)) ms (tierctl polling every 50 ms included)"
  check "uevent: well before the 20 s tick" [ $(((t1 - t0) / 1000000)) -lt 1000 ]
  check "uevent: counted" [ "$(jqs .topology.uevents)" -gt "$u0" ]
  check "uevent: the change came from the uevent path" [ "$(jqs .topology.last_change_trigger)" = uevent ]
  react=$(jqs .topology.last_reaction_usec)
  echo "reaction (first uevent -> re-plan done): ${react} us"
  check "uevent: reaction time measured and < 1 s" bash -c "[[ '$react' =~ ^[0-9]+$ ]] && (( $react < 1000000 ))"
  check "uevent: a quiet host's first event rescans at once (leading edge)" \
    [ "$(jqs .topology.leading_reaction_usec)" = "$react" ]
  sleep 0.2
  b0=$(jqs .topology.uevent_bursts); u0=$(jqs .topology.uevents)
  remove_node2
  echo change > "$UEV"; echo change > "$UEV"; echo change > "$UEV"
  check "uevent: node 2 removal seen within a second" wait_status "$REMOVED"
  check "uevent: three events counted" wait_status ".topology.uevents == $u0 + 3"
  check "uevent: ... as one burst (the rest coalesced)" [ "$(jqs .topology.uevent_bursts)" = $((b0 + 1)) ]
else
  echo "SKIP (phase 2): mode $mode, $UEV not writable: the uevent path is covered by the VM scenario"
fi

stop_tierd
check "clean stop" grep -q "tierd stopped" "$LOG"
check "no sanitizer or crash report" bash -c "! grep -qE 'AddressSanitizer|runtime error|Segmentation' '$LOG'"
finish
