#!/bin/sh
# guard-under-load: the guard's reaction time (the write that crosses the trip
# line -> the knob write) while hostile and heavy jobs run beside it (issue 12).
# Prints figures; asserts nothing.
#
#   tests/bench/guard-under-load.sh [--tierd PATH] [--tierctl PATH] [--tools DIR]
#       [--crossings N] [--loads "sparse maps clients cgroups resident"] [--label TEXT]
#
# Root only.  Where it runs:
#   - in the tiered VM (tests/vm/run-vm.sh scenario guard-under-load 2tier-large):
#     the real node 1 (4 GiB) holds the victims' pages and relief really moves
#     them to node 0;
#   - on this host (one node): the topology comes from the 2-tier fixture, so
#     relief has nothing to move ("sparse" and "resident" then only cost what
#     their reads cost); fencing, the control socket and the audits are real.
# How: tierd runs with --root pointing at a "hybrid" root in a private mount
# namespace: the real /proc and /sys bind-mounted, with only the memory state
# the guard reacts to replaced by files this script controls (proc/zoneinfo,
# nodeN/vmstat, and on the host the node and tier directories and the knob).
# guardcross (tests/vm/helpers) rewrites node 1's free pages in place and polls
# demotion_enabled: one crossing = free below the trip line (and node 0's
# pgdemote_kswapd bumped, so node 0 counts as demoting) -> knob false; then
# above the release line -> knob true.  [relief] stop_at = high+50% keeps
# relief active on node 1 between the crossings.
#
# Loads (all at once, after a first series without load):
#   sparse    an unprivileged process maps 16 TiB MAP_NORESERVE and touches its
#             first and last page (on node 1)
#   maps      20 unprivileged processes with 65,000 mappings each
#   clients   a socket-group member holds 1,100 idle control connections
#   cgroups   fencing manages 10,000 cgroups, 100 mkdir/rmdir per second beside
#   resident  a process with 3 GiB on node 1 (VM only) for relief to move
# POSIX sh (the VM guest has busybox sh, no bash).
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." 2>/dev/null && pwd || echo /)
TIERD=${TIERD:-$(command -v tierd || echo "$SRC/build/daemon/tierd")}
TIERCTL=${TIERCTL:-$(command -v tierctl || echo "$SRC/build/daemon/tierctl")}
TOOLS=${TOOLS:-$SRC/build/tests/tools}
CROSSINGS=60 LOADS="sparse maps clients cgroups resident" LABEL=""
while [ $# -gt 0 ]; do
  case $1 in
    --tierd) TIERD=$2; shift 2 ;;
    --tierctl) TIERCTL=$2; shift 2 ;;
    --tools) TOOLS=$2; shift 2 ;;
    --crossings) CROSSINGS=$2; shift 2 ;;
    --loads) LOADS=$2; shift 2 ;;
    --label) LABEL=$2; shift 2 ;;
    *) echo "usage: $0 [--tierd P] [--tierctl P] [--tools DIR] [--crossings N] [--loads LIST] [--label T]" >&2; exit 2 ;;
  esac
done
say() { echo "guard-under-load: $*"; }
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (bind mounts, cgroups)"; exit 77; }
tool() { if [ -x "$TOOLS/$1" ]; then echo "$TOOLS/$1"; else command -v "$1"; fi; }
for t in guardcross hostile sockhold notifylisten runas; do
  tool "$t" >/dev/null || { echo "SKIP: $t not found (build the tests, or --tools DIR)"; exit 77; }
done
# A private mount namespace: the bind mounts vanish with us.
if [ -z "${GUL_IN_NS:-}" ]; then
  export GUL_IN_NS=1 TIERD TIERCTL TOOLS
  exec unshare -m --propagation private "$0" --crossings "$CROSSINGS" --loads "$LOADS" --label "$LABEL"
fi

WORK=$(mktemp -d /tmp/guard-under-load.XXXXXX)
chmod 755 "$WORK"   # the unprivileged clients reach the socket in it
ROOT=$WORK/root
PIDS=""
mounts_under() { # the mount points at or below $1 (/proc/self/mounts)
  awk -v r="$1" '$2 == r || index($2, r "/") == 1 { print $2 }' /proc/self/mounts
}
cleanup() {
  set +e
  for p in $PIDS ${CHURN:-}; do kill "$p" 2>/dev/null; done
  for p in $PIDS ${CHURN:-}; do wait "$p" 2>/dev/null; done
  if [ -n "${TPID:-}" ] && kill -0 "$TPID" 2>/dev/null; then kill -TERM "$TPID"; wait "$TPID"; fi
  if [ -n "${BENCHCG:-}" ] && [ -d "$BENCHCG" ]; then
    find "$BENCHCG" -mindepth 1 -depth -type d -exec rmdir {} + 2>/dev/null; rmdir "$BENCHCG" 2>/dev/null
  fi
  # Unmount everything under ROOT, deepest first (busybox umount has no -R),
  # and never remove the tree while anything is still mounted in it: rm -rf
  # would walk into the real /proc and /sys (and unlink what sysfs, cgroupfs,
  # pstore or efivarfs let root unlink).
  for m in $(mounts_under "$ROOT" | sort -r); do
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
  done
  if [ -n "$(mounts_under "$ROOT")" ]; then
    echo "guard-under-load: still mounted under $ROOT; $WORK left in place" >&2
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT

mkdir -p "$ROOT/proc" "$ROOT/sys" "$ROOT/run/tierd"
mount --bind /proc "$ROOT/proc"
mount --rbind /sys "$ROOT/sys"
has_node1=$(cat /sys/devices/system/node/has_memory 2>/dev/null)
if [ -r /sys/devices/system/node/node1/meminfo ] && [ "$has_node1" != 0 ]; then
  MODE=vm
  cp /proc/zoneinfo "$WORK/zoneinfo"
  cp /sys/devices/system/node/node0/vmstat "$WORK/node0-vmstat"
  mount --bind "$WORK/node0-vmstat" "$ROOT/sys/devices/system/node/node0/vmstat"
  KNOB=/sys/kernel/mm/numa/demotion_enabled
  DEMOTE=$WORK/node0-vmstat
else
  MODE=host
  FIX=$SRC/tests/fixtures/vm-6.12-hmat-2tier
  [ -d "$FIX" ] || { echo "SKIP: no fixture $FIX"; exit 77; }
  cp "$FIX/proc/zoneinfo" "$WORK/zoneinfo"
  cp -a "$FIX/sys/devices/system/node" "$WORK/node"
  cp -a "$FIX/sys/devices/virtual/memory_tiering" "$WORK/memory_tiering"
  echo true > "$WORK/knob"
  mount --bind "$WORK/node" "$ROOT/sys/devices/system/node"
  mount --bind "$WORK/memory_tiering" "$ROOT/sys/devices/virtual/memory_tiering"
  mount --bind "$WORK/knob" "$ROOT/sys/kernel/mm/numa/demotion_enabled"
  KNOB=$WORK/knob
  DEMOTE=$WORK/node/node0/vmstat
fi
# Room for any value: guardcross rewrites the numbers in place, same length.
awk '/^  pages free/ { printf "  pages free %20d\n", $3; next } { print }' "$WORK/zoneinfo" > "$WORK/zi" && cat "$WORK/zi" > "$WORK/zoneinfo"
awk '$1 == "pgdemote_kswapd" { printf "pgdemote_kswapd %20d\n", $2; next } { print }' "$DEMOTE" > "$WORK/dv" && cat "$WORK/dv" > "$DEMOTE"
mount --bind "$WORK/zoneinfo" "$ROOT/proc/zoneinfo"
echo true > "$KNOB"

# Node 1's lines from the zoneinfo (sums over populated zones) and the zone
# whose free pages the crossings move (the largest).
awk '
  /^Node / { node = $2; sub(",", "", node); zone = $4; next }
  node == 1 && $1 == "pages" && $2 == "free" { free[zone] = $3 }
  node == 1 && $1 == "min" { min += $2 } node == 1 && $1 == "low" { low += $2 }
  node == 1 && $1 == "high" { high += $2 }
  node == 1 && $1 == "present" { present[zone] = $2 }
  node == 1 && $1 == "managed" { man[zone] = $2; mtot += $2 }
  END {
    best = ""; for (z in man) if (present[z] > 0 && (best == "" || man[z] > man[best])) best = z
    other = 0; for (z in free) if (z != best && present[z] > 0) other += free[z]
    # below: the node at low - 256 pages; above: high + 1.5% (between the
    # guard release line high+1% and relief stop line high+50%)
    printf "%s %d %d\n", best, low - 256 - other, high + int(mtot * 15 / 1000) - other
  }' "$WORK/zoneinfo" > "$WORK/lines"
read -r ZONE BELOW ABOVE < "$WORK/lines"
say "mode $MODE; node 1 zone $ZONE: free $BELOW (below the trip line) <-> $ABOVE (above the release line)"

CONF=$WORK/tierd.conf SOCK=$WORK/tierd.sock LOG=$WORK/tierd.log NOTIFY=$WORK/notify
grep -q '^tierdbench:' /etc/group || echo "tierdbench:x:4242:" >> /etc/group
GROUP_GID=$(awk -F: '$1 == "tierdbench" {print $3}' /etc/group)
cat > "$CONF" <<CONF
[daemon]
socket_group = tierdbench
[guard]
mode = on
min_hold = 0
[relief]
stop_at = high+50%
[fence]
private_nodes = 1
demotion = allow
[grant bench]
cgroup = /tierd-bench-granted
nodes = 1
CONF
"$(tool notifylisten)" "$NOTIFY" 100000 > "$WORK/pings" &
PIDS="$PIDS $!"
for _ in $(seq 50); do [ -S "$NOTIFY" ] && break; sleep 0.02; done
NOTIFY_SOCKET=$NOTIFY WATCHDOG_USEC=30000000 "$TIERD" --root "$ROOT" --config "$CONF" --socket "$SOCK" \
  --state-dir /run/tierd > "$LOG" 2>&1 &
TPID=$!
for _ in $(seq 200); do "$TIERCTL" --socket "$SOCK" status >/dev/null 2>&1 && break; sleep 0.05; done
say "tierd $("$TIERD" --version 2>/dev/null) pid $TPID up"

cross() {  # cross LABEL
  "$(tool guardcross)" --zoneinfo "$WORK/zoneinfo" --node 1 --zone "$ZONE" --below "$BELOW" --above "$ABOVE" \
    --knob "$KNOB" --demote "$DEMOTE" --crossings "$CROSSINGS" --timeout-ms 5000 --give-up 3 --label "$1"
}
cross "${LABEL:+$LABEL }idle"

# ---- the loads
NOBODY=65534
for l in $LOADS; do
  case $l in
    sparse)
      node=1; [ $MODE = host ] && node=-1
      "$(tool runas)" $NOBODY $NOBODY "$(tool hostile)" sparse 16 $node > "$WORK/sparse" 2>&1 & PIDS="$PIDS $!" ;;
    maps)
      for i in $(seq 20); do
        "$(tool runas)" $NOBODY $NOBODY "$(tool hostile)" maps 65000 > "$WORK/maps$i" 2>&1 & PIDS="$PIDS $!"
      done ;;
    clients)
      "$(tool runas)" $NOBODY "$NOBODY,$GROUP_GID" "$(tool sockhold)" "$SOCK" 1100 100000 > "$WORK/clients" 2>&1 &
      PIDS="$PIDS $!" ;;
    cgroups)
      if [ -d /sys/fs/cgroup/cpuset ] && [ -f /sys/fs/cgroup/cpuset/cpuset.mems ]; then CG=/sys/fs/cgroup/cpuset
      else CG=/sys/fs/cgroup; grep -qw cpuset $CG/cgroup.subtree_control || echo +cpuset > $CG/cgroup.subtree_control; fi
      BENCHCG=$CG/tierd-bench
      mkdir -p "$BENCHCG"
      t0=$(date +%s.%N)
      for i in $(seq 100); do mkdir "$BENCHCG/g$i"; for j in $(seq 100); do mkdir "$BENCHCG/g$i/c$j"; done; done
      say "cgroups: 10,100 made in $(awk -v a="$t0" -v b="$(date +%s.%N)" "BEGIN { printf \"%.1f\", b - a }") s"
      ( while :; do for k in $(seq 100); do mkdir "$BENCHCG/churn$k" 2>/dev/null; rmdir "$BENCHCG/churn$k" 2>/dev/null; done
          sleep 1; done ) &
      CHURN=$! ;;
    resident)
      [ $MODE = vm ] && { "$(tool hostile)" resident 3072 1 > "$WORK/resident" 2>&1 & PIDS="$PIDS $!"; } ;;
  esac
done
ready() { for f in "$WORK"/sparse "$WORK"/maps* "$WORK"/clients "$WORK"/resident; do
  [ -e "$f" ] || continue; grep -q -E '^(ready|held)' "$f" || return 1; done; }
for _ in $(seq 600); do ready && break; sleep 0.1; done
for f in "$WORK"/sparse "$WORK"/maps1 "$WORK"/clients "$WORK"/resident; do
  [ -e "$f" ] && say "load: $(head -1 "$f")"
done
sleep 2
cross "${LABEL:+$LABEL }under-load($LOADS)"

# ---- what tierd did meanwhile
"$TIERCTL" --socket "$SOCK" status --json > "$WORK/status.json" 2>/dev/null || echo '{}' > "$WORK/status.json"
jq -r '"status: looks \(.guard.looks // "n/a"), look cost max \(.guard.look_cost_usec_max // "n/a") us; slow tick max \(.daemon.tick_cost_usec_max // "n/a") us; relief moved \(.relief.moved_bytes_total // "n/a") B; fence cgroups \(.fence.cgroups // "n/a"), unfenced \(.fence.unfenced // "n/a"); jobs: \([(.daemon.jobs // [])[] | "\(.name) max slice \(.max_slice_usec) us"] | join(", "))"' \
  "$WORK/status.json" 2>/dev/null | sed 's/^/guard-under-load: /' || true
awk '/WATCHDOG=1/ { if (last) { g = $1 - last; if (g > max) max = g } last = $1; n++ }
     END { printf "guard-under-load: watchdog pings %d, longest gap %.1f s (WatchdogSec=30s kills at 30 s)\n", n, max / 1000 }' "$WORK/pings"
say "tierd log lines: $(wc -l < "$LOG"), accept failures logged: $(grep -ci 'accept' "$LOG" || true)"
kill -0 "$TPID" 2>/dev/null && say "tierd still running" || say "tierd DIED: $(tail -3 "$LOG")"
