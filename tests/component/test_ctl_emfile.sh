#!/usr/bin/env bash
# EMFILE on accept (issue 12, item 4): tierd runs with `ulimit -n 64` and a
# client opens 100 idle connections.  tierd must refuse what it cannot take
# (clients told why, not left in the listen queue), say so a bounded number
# of times for the episode (the issue saw 10 M "accept: Too many open files"
# lines in 15 s), and answer again once the clients are gone, with no
# descriptor lost.  The guard must keep reading and acting meanwhile: that
# holds once the guard has a thread of its own with pre-opened descriptors
# (the lead's guard thread); before it, the check is reported as expected to
# fail and not counted (it is counted as soon as tierd runs more than one
# thread).
. "$(dirname "$0")/lib.sh"
[[ $(id -u) -eq 0 ]] || skip "needs root (the fixture's state dir, the probe as root)"
. "$(dirname "$0")/ctl-lib.sh"

new_root vm-6.12-hmat-2tier
echo true > "$ROOT/sys/kernel/mm/numa/demotion_enabled"
printf '[daemon]\ninterval = 100ms\n[guard]\nmin_hold = 0\n' > "$CONF"
TIERD=$(tierd_with_nofile 64) start_tierd
BASE_FDS=$(nfds)
echo "   tierd holds $BASE_FDS descriptors at rest, limit 64"
check "tierd warned at start that 64 descriptors are too few for max_clients" \
  grep -q "file descriptor limit 64 is below max_clients 64" "$LOG"
check "the knob is on before the episode" wait_knob true

"$PROBE" hold "$SOCK" 100 4 > "$WORK/hold.out" &
HP=$!
wait_ready "$WORK/hold.out"
sed 's/^/   probe: /' "$WORK/hold.out"
check "the probe made 100 connections" [ "$(kv connected "$WORK/hold.out")" = 100 ]

# During the episode: a status request gets a clear answer or a clear
# error, never a hang.
"$TIERCTL" --socket "$SOCK" --timeout 3 status > "$WORK/during.out" 2>&1 && rc=0 || rc=$?
echo "   tierctl status during the episode: rc $rc: $(head -1 "$WORK/during.out")"
check "tierctl status during the episode ends with an answer or a clear error (rc $rc)" \
  bash -c "[ $rc = 0 ] || grep -q 'out of file descriptors\|closed without an answer' '$WORK/during.out'"

# The guard meanwhile: node 1 under pressure must turn demotion off.
# In place, as the kernel's file behaves: a rename would need an open() to
# be seen, and the fd table is full.
cat "$TIER_FIXTURES/vm-6.12-hmat-2tier-pressure/proc/zoneinfo" > "$ROOT/proc/zoneinfo"
threads=$(awk '/^Threads:/ {print $2}' "/proc/$TIERD_PID/status")
tripped=no
for _ in $(seq 40); do [[ $(knob) == false ]] && { tripped=yes; break; }; sleep 0.05; done
still_holding=$(kill -0 "$HP" 2>/dev/null && echo yes || echo no)
if [[ $threads -gt 1 ]]; then
  check "the guard (own thread) turned demotion off during the EMFILE episode" [ "$tripped" = yes -a "$still_holding" = yes ]
elif [[ $tripped == yes ]]; then
  pass "the guard turned demotion off during the EMFILE episode"
else
  echo "XFAIL: the guard did not act during the EMFILE episode: tierd has $threads thread, the guard still reads" \
    "through the main loop's open() per tick (passes once the guard thread with pre-opened descriptors lands)"
fi
wait $HP
# Told at once or, for those still queued while accepting was paused, at the
# next resume: either way before the probe let go.
sed -n 's/^\(dropped_by_daemon\|drop_message\)=/   probe after: \1=/p' "$WORK/hold.out"
check "tierd told the ones it could not take that it is out of descriptors" \
  grep -q "tierd is out of file descriptors" "$WORK/hold.out"

# After: accepting again, status works, nothing leaked.
check "status answers again once the clients are gone" wait_status '.daemon.control.accept_paused == false'
check "and the topology is read again (no acquire error)" wait_status '.daemon.acquire_error == null'
check "the guard acts after the episode (demotion off)" wait_knob false
lines=$(grep -c 'control: accept' "$LOG" || true)
grep 'control: accept' "$LOG" | sed 's/^/   log: /'
check "the episode is logged $lines times (once at the start, once at the end)" [ "$lines" = 2 ]
check "the end of the episode says how many were refused" \
  grep -q "control: accepting connections again after .* connections were refused meanwhile" "$LOG"
check "status counts one descriptor shortage" [ "$(jqs .daemon.control.fd_shortages_total)" = 1 ]
check "status counts the connections refused for lack of descriptors" [ "$(jqs .daemon.control.refused_no_fd_total)" -ge 1 ]
check "tierd is back to its descriptors at rest ($BASE_FDS, now $(nfds))" [ "$(nfds)" -le "$BASE_FDS" ]
check "a second episode can still shed (the reserve descriptor is back)" \
  bash -c "'$PROBE' hold '$SOCK' 100 0 | grep -q 'out of file descriptors'"
check "and is logged as its own episode" wait_status '.daemon.control.fd_shortages_total == 2'
stop_tierd TERM
check "SIGTERM restored demotion_enabled=true" wait_knob true
finish
