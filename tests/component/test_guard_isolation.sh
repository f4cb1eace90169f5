#!/usr/bin/env bash
# The guard answers whatever else tierd is doing (issue 12): it runs on a
# thread of its own with pre-opened files.
#  1. The main loop hangs (TIERD_DEBUG_HANG_ON_SIGUSR1=main, what a wedged
#     cgroup write would do): the guard still trips and releases, and still
#     pings the watchdog (NOTIFY_SOCKET/WATCHDOG_USEC of a fake systemd); the
#     stall is logged.
#  2. The fd table is full (a low RLIMIT_NOFILE and a client holding idle
#     connections): the guard still reads the memory state and trips.
#  3. The guard thread hangs (=guard): the watchdog pings stop, so systemd
#     would restart tierd.
# Same fixture and lines as test_guard.sh: node 1 DMA32 low 10757, release
# line 15482 pages.
. "$(dirname "$0")/lib.sh"
: "${TIER_TOOLS:?}"

new_root vm-6.12-hmat-2tier
echo true > "$ROOT/sys/kernel/mm/numa/demotion_enabled"
cat > "$CONF" <<CONF
[daemon]
interval = 100ms
min_interval = 10ms
max_interval = 1s
[guard]
mode = on
min_hold = 0
predict = no
CONF
set_free 0 DMA32 8000
set_free 1 DMA32 100000
NOTIFY=$WORK/notify.sock
PINGS=$WORK/pings

# ---- 1. the main loop hangs
"$TIER_TOOLS/notifylisten" "$NOTIFY" 60 > "$PINGS" &
LISTENER=$!
for _ in $(seq 50); do [[ -S $NOTIFY ]] && break; sleep 0.02; done
NOTIFY_SOCKET=$NOTIFY WATCHDOG_USEC=400000 TIERD_DEBUG_HANG_ON_SIGUSR1=main start_tierd
check "guard watching" wait_status '.guard.state == "watching"'
check "the guard runs on its own thread" [ "$(jqs .guard.thread)" = running ]
check "READY=1 reached the notify socket" grep -q 'READY=1' "$PINGS"
kill -USR1 "$TIERD_PID"
for _ in $(seq 100); do grep -q "blocking the event loop forever" "$LOG" && break; sleep 0.02; done
check "the main loop is hung" grep -q "blocking the event loop forever" "$LOG"
timeout 1 "$TIERCTL" --socket "$SOCK" status >/dev/null 2>&1 && answered=1 || answered=0
before=$(grep -c 'WATCHDOG=1' "$PINGS" || true)
set_free 1 DMA32 10700
check "main loop hung: the guard still trips" wait_knob false
set_free 1 DMA32 20000
check "main loop hung: the guard still releases" wait_knob true
sleep 1
after=$(grep -c 'WATCHDOG=1' "$PINGS" || true)
check "main loop hung: the watchdog is still pinged (guard alive: $before -> $after pings)" [ "$after" -ge $((before + 3)) ]
for _ in $(seq 150); do grep -q "the main loop has not ticked" "$LOG" && break; sleep 0.1; done
check "the stall of the main loop is logged" grep -q "the main loop has not ticked" "$LOG"
check "status did not answer while the loop hung (the hang is real)" [ "$answered" = 0 ]
stop_tierd KILL
kill "$LISTENER" 2>/dev/null; wait "$LISTENER" 2>/dev/null || true
rm -f "$ROOT/run/tierd/knobs.json" "$ROOT/run/tierd/state.json"
echo true > "$ROOT/sys/kernel/mm/numa/demotion_enabled"

# ---- 2. the fd table is full
# /proc/zoneinfo keeps its inode; a rename (set_free) would need an open()
# to be seen, which EMFILE forbids: rewrite in place, as the kernel does.
set_free_inplace() {
  awk -v node="$1" -v zone="$2" -v pages="$3" '
    /^Node / { hit = ($2 == node "," && $4 == zone) }
    hit && /^  pages free/ { sub(/[0-9]+$/, pages); hit = 0 }
    { print }' "$ROOT/proc/zoneinfo" > "$WORK/zi.new"
  cat "$WORK/zi.new" > "$ROOT/proc/zoneinfo"
}
set_free 1 DMA32 100000
(ulimit -n 48; exec "$TIERD" --root "$ROOT" --config "$CONF" --socket "$SOCK" --state-dir /run/tierd >>"$LOG" 2>&1) &
TIERD_PID=$!
for _ in $(seq 100); do [[ -S $SOCK ]] && "$TIERCTL" --socket "$SOCK" status >/dev/null 2>&1 && break; sleep 0.05; done
"$TIER_TOOLS/sockhold" "$SOCK" 200 8 > "$WORK/hold" &
HOLDER=$!
# sockhold says "held" once the daemon takes no more (it retries a full
# backlog for up to 10 s).
for _ in $(seq 300); do grep -q '^held' "$WORK/hold" && break; sleep 0.05; done
set_free_inplace 1 DMA32 10700
check "fds exhausted ($(cat "$WORK/hold")): the guard still reads and trips" wait_knob false
check "the fd table really was full (accept failed with EMFILE)" grep -qi "too many open files" "$LOG"
set_free_inplace 1 DMA32 20000
check "fds exhausted: the guard still releases" wait_knob true
wait "$HOLDER" 2>/dev/null || true
check "clients gone: status answers again" wait_status '.guard.trips >= 1'
stop_tierd TERM
check "restored on stop" [ "$(knob)" = true ]

# ---- 3. the guard thread hangs: the watchdog pings stop
"$TIER_TOOLS/notifylisten" "$NOTIFY" 60 > "$PINGS" &
LISTENER=$!
for _ in $(seq 50); do [[ -S $NOTIFY ]] && break; sleep 0.02; done
NOTIFY_SOCKET=$NOTIFY WATCHDOG_USEC=400000 TIERD_DEBUG_HANG_ON_SIGUSR1=guard start_tierd
sleep 0.5
kill -USR1 "$TIERD_PID"
for _ in $(seq 100); do grep -q "blocking the guard thread forever" "$LOG" && break; sleep 0.02; done
sleep 0.3
before=$(grep -c 'WATCHDOG=1' "$PINGS" || true)
sleep 1.2
after=$(grep -c 'WATCHDOG=1' "$PINGS" || true)
check "guard hung: no watchdog ping in 1.2 s ($before -> $after): systemd would restart tierd" [ "$after" = "$before" ]
check "guard hung: the main loop still answers status" bash -c "'$TIERCTL' --socket '$SOCK' status --json >/dev/null"
stop_tierd KILL
kill "$LISTENER" 2>/dev/null; wait "$LISTENER" 2>/dev/null || true
finish
