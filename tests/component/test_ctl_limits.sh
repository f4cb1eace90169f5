#!/usr/bin/env bash
# The control socket cannot be exhausted (issue 12, item 4): the client cap
# with root's and each user's share, the idle timeout for a client that
# sends nothing or never reads its answer, and 1,100 idle connections from
# one process under a 1,024-descriptor limit.  Asserts behaviour (who is
# served, who is refused, what is logged), never how fast.
. "$(dirname "$0")/lib.sh"
[[ $(id -u) -eq 0 ]] || skip "needs root (clients of other uids with setpriv)"
. "$(dirname "$0")/ctl-lib.sh"

new_root vm-6.12-hmat-2tier
long_conf
cat > "$CONF" <<CONF
[daemon]
interval = 200ms
socket_group = nogroup
max_clients = 8
CONF
# uid nobody and a second non-root uid (no passwd entry needed), both in
# the socket group.
asuid() { local u=$1; shift; setpriv --reuid="$u" --regid=nogroup --clear-groups "$@"; }
ctl_json() { jqs ".daemon.control.$1"; }
# status as root answers (the JSON is checked, not shown)
root_status() { "$TIERCTL" --socket "$SOCK" --timeout 3 status --json | jq -e .daemon.pid >/dev/null; }
# Lines of tierd's log about the control socket
ctl_lines() { grep -c 'control:' "$LOG" || true; }

start_tierd
BASE_FDS=$(nfds)
check "status shows the shares of max_clients 8 (root 1, per user 3)" \
  [ "$(jqs '[.daemon.control.max_clients, .daemon.control.root_reserve, .daemon.control.per_user] | join(",")')" = "8,1,3" ]

# ---- the cap: 8 held by root, the 9th refused; the 8 are then served
"$PROBE" hold "$SOCK" 9 0 --request > "$WORK/cap.out"
check "root: 9 connected" [ "$(kv connected "$WORK/cap.out")" = 9 ]
check "root: 8 held (max_clients)" [ "$(kv held "$WORK/cap.out")" = 8 ]
check "root: the 9th refused at once with an error frame" [ "$(kv refused "$WORK/cap.out")" = 1 ]
check "the refusal says why" grep -q "too many connections: 8 held (max_clients 8)" "$WORK/cap.out"
check "the 8 held connections are then served" [ "$(kv served "$WORK/cap.out")" = 8 ]
check "status counts the refusal" [ "$(ctl_json refused_total)" -ge 1 ]

# ---- shares: one user gets 3, another 3 more, then the non-root share (7)
# is full and only root gets in
asuid nobody "$PROBE" hold "$SOCK" 5 4 > "$WORK/u1.out" &
U1=$!
wait_ready "$WORK/u1.out"
check "uid nobody: 3 of 5 held (its share)" [ "$(kv held "$WORK/u1.out")" = 3 ]
check "uid nobody: the other 2 refused, naming the per-user share" \
  grep -q "uid 65534 holds 3, the most one user may" "$WORK/u1.out"
asuid 65533 "$PROBE" hold "$SOCK" 5 3 > "$WORK/u2.out" &
U2=$!
wait_ready "$WORK/u2.out"
check "uid 65533: 3 held too (its own share)" [ "$(kv held "$WORK/u2.out")" = 3 ]
asuid 65532 "$PROBE" hold "$SOCK" 2 0 > "$WORK/u3.out"
check "uid 65532: 1 held (the non-root share of 7 is then full)" [ "$(kv held "$WORK/u3.out")" = 1 ]
check "uid 65532: the 2nd refused, naming root's share" grep -q "kept for root" "$WORK/u3.out"
check "root still gets status with 7 connections held by others" root_status
"$TIERCTL" --socket "$SOCK" --timeout 3 reload > "$WORK/reload.out" 2>&1
check "root's reload works while group members hold their shares" grep -q "configuration reloaded" "$WORK/reload.out"
wait $U1 $U2

# ---- idle timeout: a client that sends nothing is dropped (and told why);
# so is one that sends half a header and stops
"$PROBE" hold "$SOCK" 1 8 > "$WORK/idle.out"
check "an idle connection was held at first" [ "$(kv held "$WORK/idle.out")" = 1 ]
check "and dropped by tierd within 8 s" [ "$(kv dropped_by_daemon "$WORK/idle.out")" = 1 ]
check "with a timeout message" grep -q "timed out: no complete request within 5 s" "$WORK/idle.out"
check "status counts the timeout" [ "$(ctl_json timeouts_total)" -ge 1 ]
"$PROBE" request "$SOCK" --chunk 2 --gap-ms 8000 > "$WORK/half.out"
check "a client that stops after 2 header bytes is dropped with the timeout message" \
  grep -q "timed out: no complete request" "$WORK/half.out"
check "log: the drops are logged" grep -q "control: dropped pid .*: no complete request within 5 s" "$LOG"

# ---- a client that never reads its answer blocks nobody: 1,024 actions of
# about 570 bytes make the answer larger than any socket buffer
echo "actions_kept = 1024" >> "$CONF"
"$TIERCTL" --socket "$SOCK" reload >/dev/null
check "1,100 failed reloads answered (1,024 actions kept)" fill_actions 1100
"$PROBE" noread "$SOCK" 7 > "$WORK/noread.out" &
NR=$!
sleep 1
check "while a client does not read its answer, status answers another client" root_status
check "so does a reload" "$TIERCTL" --socket "$SOCK" --timeout 3 reload
wait $NR
cat "$WORK/noread.out" | sed 's/^/   noread: /'
check "the non-reader's answer was bigger than what it got before tierd dropped it" \
  [ "$(kv complete "$WORK/noread.out")" = no -a "$(kv eof "$WORK/noread.out")" = yes ]
check "log: the drop of a non-reader names how much it read" grep -q "control: dropped pid .*: it read [0-9]* of the" "$LOG"
check "tierd holds no more descriptors than before ($BASE_FDS)" [ "$(nfds)" -le "$BASE_FDS" ]
stop_tierd TERM

# ---- 1,100 idle connections from one group member, tierd at 1,024 fds
rm -rf "$WORK"; new_root vm-6.12-hmat-2tier
printf '[daemon]\ninterval = 200ms\nsocket_group = nogroup\n' > "$CONF"
TIERD=$(tierd_with_nofile 1024) start_tierd
BASE_FDS=$(nfds)
lines0=$(ctl_lines)
asuid nobody "$PROBE" hold "$SOCK" 1100 7 > "$WORK/flood.out" &
FL=$!
wait_ready "$WORK/flood.out"
sed 's/^/   flood: /' "$WORK/flood.out"
check "1,100 connections made" [ "$(kv connected "$WORK/flood.out")" = 1100 ]
check "tierd held 28 of them (one user's share of max_clients 64)" [ "$(kv held "$WORK/flood.out")" = 28 ]
check "and refused the other 1,072 at once" [ "$(kv refused "$WORK/flood.out")" = 1072 ]
check "meanwhile root's status answers" root_status
other_status() { asuid 65533 "$TIERCTL" --socket "$SOCK" --timeout 3 status --json | jq -e .daemon.pid >/dev/null; }
check "and another group member's status answers" other_status
check "tierd never had more than max_clients + a few descriptors" [ "$(nfds)" -le $((BASE_FDS + 64 + 2)) ]
check "ticks advance during the flood" wait_status '.daemon.ticks >= 10'
wait $FL
check "the held connections were dropped by the idle timeout" [ "$(kv dropped_by_daemon "$WORK/flood.out")" = 28 ]
lines=$(( $(ctl_lines) - lines0 ))
echo "   control lines in the log for the flood: $lines"
check "the log stays bounded: $lines control lines for 1,100 refusals and 28 drops (<= 8)" [ "$lines" -le 8 ]
check "status counts the refusals" [ "$(ctl_json refused_total)" -ge 1072 ]
check "tierd is back to its descriptors before the flood ($BASE_FDS)" [ "$(nfds)" -le "$BASE_FDS" ]
check "no EMFILE in the log" bash -c "! grep -q 'Too many open files' '$LOG'"
stop_tierd TERM
finish
