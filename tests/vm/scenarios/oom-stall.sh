# Scenario "oom-stall" VARIANT (runs inside the VM; sourced by /vm/run.sh).
# The kernel bug tierd guards against: demotion on, no swap, memory full -> reclaim
# keeps demoting into a full lower tier and the OOM killer comes late (2-4 min in
# this VM on 6.12).  Workload: stress-ng --oomable --memrate 4 --memrate-bytes 768M
# --memrate-rd-mbs 1 --memrate-wr-mbs 1 (3 GiB demand, 2 GiB RAM), timed by
# helpers/stallwatch.c; the figures are printed as key=value lines.
#   without-tierd  baseline: record only (fails only if memory never fills)
#   with-tierd     tierd --config /etc/tierd.conf runs first; the first OOM kill
#                  must come within 10 s of memory full; guard_trip_s= is when
#                  demotion_enabled turned false (seconds after the start)
variant=${1:?oom-stall: variant without-tierd|with-tierd}
deadline=${OOM_STALL_DEADLINE:-300}
limit=${OOM_STALL_LIMIT:-10}
D=/sys/kernel/mm/numa/demotion_enabled
swap=$(awk '/^SwapTotal:/ {print $2}' /proc/meminfo)
[ "$swap" = 0 ] || { echo "FAIL: the VM has swap (${swap} kB)"; exit 1; }
echo true > $D
echo "oom-stall: variant=$variant shape=$VM_SHAPE kernel=$(uname -r) demotion_enabled=$(cat $D) swap_kb=$swap deadline_s=$deadline"
tpid=
if [ "$variant" = with-tierd ]; then
  [ -x /usr/local/sbin/tierd ] || { echo "FAIL: no tierd in the VM"; exit 1; }
  tierd --config /etc/tierd.conf > /tmp/tierd.log 2>&1 &
  tpid=$!
  sleep 3
  if ! kill -0 $tpid 2>/dev/null; then
    echo "FAIL: tierd exited at start:"; cat /tmp/tierd.log; exit 1
  fi
  echo "oom-stall: tierd running (pid $tpid)"
  # When the knob flips (tierd's log has no timestamps): uptime, 50 ms steps
  ( while read -r v < $D && [ "$v" = true ]; do sleep 0.05; done; cut -d' ' -f1 /proc/uptime > /tmp/knob_off ) &
  wpid=$!
fi
t_start=$(cut -d' ' -f1 /proc/uptime)
# progress (every 10 s) and stress-ng's output stream to the console on stderr;
# the figures (stdout) are printed below
stallwatch --deadline "$deadline" --after-oom 3 -- \
  stress-ng --oomable --memrate 4 --memrate-bytes 768M --memrate-rd-mbs 1 --memrate-wr-mbs 1 \
  -t $((deadline + 60)) > /tmp/figures.txt
rc=$?
echo "oom-stall: figures ($variant, $VM_SHAPE):"
cat /tmp/figures.txt
if [ -n "$tpid" ]; then
  # demotion_enabled -> false, seconds after the workload start (stallwatch's t=0,
  # within a few ms); "none": the guard never tripped
  if [ -s /tmp/knob_off ]; then
    echo "guard_trip_s=$(awk -v a="$t_start" -v b="$(cat /tmp/knob_off)" 'BEGIN {printf "%.2f", b - a}')"
  else
    kill $wpid 2>/dev/null; echo "guard_trip_s=none"
  fi
fi
dmesg | grep -E 'Out of memory|Killed process|invoked oom-killer' | head -6 | sed 's/^/oom-stall: dmesg: /'
if [ -n "$tpid" ]; then
  echo "oom-stall: tierd log (last 30 lines):"; tail -30 /tmp/tierd.log | sed 's/^/   /'
  kill $tpid 2>/dev/null; wait $tpid 2>/dev/null
fi
[ $rc -eq 0 ] || { echo "FAIL: stallwatch exited $rc"; exit 1; }
val() { sed -n "s/^$1=//p" /tmp/figures.txt; }
if [ "$(val start_to_full_s)" = none ]; then
  echo "FAIL: memory never filled: the workload did not reproduce the setup"; exit 1
fi
if [ "$variant" = with-tierd ]; then
  f=$(val full_to_first_oom_s)
  if [ "$f" = none ]; then
    echo "FAIL: no OOM kill within ${deadline}s of the start (limit: ${limit}s after memory full)"; exit 1
  fi
  if ! awk -v f="$f" -v l="$limit" 'BEGIN {exit !(f <= l)}'; then
    echo "FAIL: first OOM kill ${f}s after memory full (limit ${limit}s)"; exit 1
  fi
  echo "oom-stall: PASS: first OOM kill ${f}s after memory full (limit ${limit}s)"
else
  echo "oom-stall: recorded (baseline, no assertion on the stall length)"
fi
exit 0
