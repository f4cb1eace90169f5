# Scenario "demo" VARIANT (runs inside the VM; sourced by /vm/run.sh).  For
# `tests/vm/run-vm.sh demo` (a demonstration for people, not a ctest test):
# the upstream reproducer of the demotion stall (as in oom-stall), once with
# tierd only watching and once with tierd acting.
#   without-tierd  tierd --dry-run: it decides and logs but changes nothing,
#                  so the kernel behaves as without tierd; the run stops
#                  DEMO_MAX_STALL (60) s after memory is full
#   with-tierd     tierd with the shipped defaults: the guard turns demotion
#                  off, the OOM killer answers
# Both print `tierctl status` at the moment the guard tripped (in dry-run:
# would have tripped) and the figures as "demo-figure: key=value" lines, which
# run-vm.sh demo puts side by side.  stallwatch's progress lines come every
# 5 s (run-vm.sh adds a host-side line when the guest is silent for 10 s).
variant=${1:?demo: variant without-tierd|with-tierd}
max_stall=${DEMO_MAX_STALL:-60}
D=/sys/kernel/mm/numa/demotion_enabled
say() { echo "demo: $*"; }
[ -x /usr/local/sbin/tierd ] && [ -x /usr/local/bin/tierctl ] || { say "FAIL: tierd and tierctl are not in the VM"; exit 1; }
echo true > $D
if [ "$variant" = without-tierd ]; then
  mode="--dry-run"; what="tierd --dry-run: watches and logs what it would do, changes nothing"
else
  mode=""; what="tierd with the shipped /etc/tierd.conf (guard mode auto)"
fi
say "kernel $(uname -r), nodes with memory $(cat /sys/devices/system/node/has_memory), no swap, demotion_enabled=$(cat $D)"
say "workload: stress-ng --memrate 4 x 768M (3 GiB demand in 2 GiB of RAM: 1 GiB DRAM + 1 GiB slow tier)"
say "$what"
# (a dry run creates no state directory; the socket lives there)
mkdir -p /run/tierd
tierd --config /etc/tierd.conf $mode > /tmp/tierd.log 2>&1 &
tpid=$!
i=0; until tierctl status >/dev/null 2>&1; do
  i=$((i + 1)); [ $i -lt 100 ] && kill -0 $tpid 2>/dev/null || { say "FAIL: tierd did not come up:"; sed 's/^/demo: tierd: /' /tmp/tierd.log; exit 1; }
  sleep 0.1
done
# The moment the guard trips (in dry-run: would trip): uptime and tierctl status.
( until grep -q 'guard trip' /tmp/tierd.log; do sleep 0.05; done
  cut -d' ' -f1 /proc/uptime > /tmp/trip_at
  tierctl status > /tmp/status-at-trip.txt 2>&1
  cut -d' ' -f1 /proc/uptime > /tmp/status_done ) &
wpid=$!
t_start=$(cut -d' ' -f1 /proc/uptime)
say "starting the workload (progress every 5 s)"
stallwatch --deadline $((max_stall + 90)) --max-stall "$max_stall" --after-oom 2 --progress 5 -- \
  stress-ng --oomable --memrate 4 --memrate-bytes 768M --memrate-rd-mbs 1 --memrate-wr-mbs 1 \
  -t $((max_stall + 150)) > /tmp/figures.txt
rc=$?
val() { sed -n "s/^$1=//p" /tmp/figures.txt; }
if [ "$(val end_reason)" = stall-limit ]; then
  say "$max_stall s of stall and still no OOM kill: stopping the workload here."
  say "Left alone it goes on for minutes: in this VM the first OOM kill came 115-228 s after memory"
  say "was full, and once not at all within 300 s (tests/vm/README.md, oom-stall/without-tierd)."
fi
trip=none
[ -s /tmp/trip_at ] && trip=$(awk -v a="$t_start" -v b="$(cat /tmp/trip_at)" 'BEGIN {printf "%.1f", b - a}')
echo
say "tierctl status at the moment the guard $([ -n "$mode" ] && echo "would have tripped (dry-run)" || echo tripped) (t=${trip}s):"
if [ -s /tmp/status_done ]; then
  sed 's/^/   | /' /tmp/status-at-trip.txt
elif [ -s /tmp/trip_at ]; then
  say "(tierctl status did not answer before the run ended: the machine was stalled)"
else
  say "(the guard did not trip)"
fi
kill $wpid 2>/dev/null
echo
dmesg | grep -E 'Killed process' | head -2 | sed 's/^/demo: dmesg: /'
say "figures ($variant):"
sed 's/^/demo-figure: /' /tmp/figures.txt
echo "demo-figure: guard_trip_s=$trip"
echo "demo-figure: tierd_mode=${mode:-acting}"
kill $tpid 2>/dev/null; wait $tpid 2>/dev/null
say "demotion_enabled after tierd stopped: $(cat $D)"
[ $rc -eq 0 ] || { say "FAIL: stallwatch exited $rc"; exit 1; }
exit 0
