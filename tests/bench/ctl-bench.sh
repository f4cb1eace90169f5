#!/usr/bin/env bash
# Control-socket benchmark: status round-trip latency (connect, request,
# whole answer; ctl-probe latency, in process, no tierctl exec) of the real
# tierd on a fixture root, quiet and under the loads of issue 12: 1,100 idle
# connections of one socket-group member (tierd at ulimit -n 1,024), every
# non-root slot held by two users, a client that never reads a large answer,
# and another client requesting status in a loop.  Prints figures; asserts
# nothing (exits non-zero only if a status failed).  Root only.
#
#   tests/bench/ctl-bench.sh [ROUNDS]    (default 200 round trips per case)
#   TIERD=... TIERCTL=... PROBE=... to pick binaries (default build/)
set -euo pipefail
SRC=$(cd "$(dirname "$0")/../.." && pwd)
TIERD=${TIERD:-$SRC/build/daemon/tierd}
TIERCTL=${TIERCTL:-$SRC/build/daemon/tierctl}
PROBE=${PROBE:-$SRC/build/tests/ctl-probe}
N=${1:-200}
[[ $(id -u) -eq 0 ]] || { echo "needs root (clients of other uids)"; exit 77; }
for b in "$TIERD" "$TIERCTL" "$PROBE"; do [[ -x $b ]] || { echo "not built: $b"; exit 77; }; done

WORK=$(mktemp -d /tmp/tierd-cbench-XXXXXX)
chmod 755 "$WORK"
ROOT=$WORK/root SOCK=$WORK/sock LOG=$WORK/log
DIR=$WORK/$(printf 'c%.0s' $(seq 120))
mkdir -p "$ROOT" "$DIR"
CONF=$DIR/tierd.conf
cp -a "$SRC/tests/fixtures/vm-6.12-hmat-2tier/." "$ROOT/"
printf '[daemon]\ninterval = 100ms\nsocket_group = nogroup\nactions_kept = 1024\n' > "$CONF"
TIERD_PID= BG=()
cleanup() {
  set +e
  for p in "${BG[@]}"; do kill "$p" 2>/dev/null; done
  [[ -n $TIERD_PID ]] && kill -TERM "$TIERD_PID" 2>/dev/null
  wait 2>/dev/null
  [[ -n ${KEEP:-} ]] && echo "kept $WORK" || rm -rf "$WORK"
}
trap cleanup EXIT
# Not a function: "f &" would fork a subshell, and killing it would leave
# the client running.
ASUID="setpriv --regid=nogroup --clear-groups --reuid"
sh -c 'ulimit -n 1024; exec "$0" "$@"' "$TIERD" --root "$ROOT" --config "$CONF" --socket "$SOCK" \
  --state-dir /run/tierd >"$LOG" 2>&1 &
TIERD_PID=$!
for _ in $(seq 100); do "$TIERCTL" --socket "$SOCK" status >/dev/null 2>&1 && break; sleep 0.05; done
wait_ready() { for _ in $(seq 200); do grep -q '^ready=1' "$1" 2>/dev/null && return 0; sleep 0.05; done; return 1; }
# Stop the background clients and wait until they are gone (their
# connections with them) before the next case.
stop_bg() {
  local p
  for p in "${BG[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${BG[@]}"; do wait "$p" 2>/dev/null || true; done
  BG=()
  sleep 0.2
}
fails=0
figure() { # figure LABEL: one line of figures
  local out
  out=$("$PROBE" latency "$SOCK" "$N")
  printf '%-52s %s\n' "$1" "$out"
  [[ $out == *" failed=0 "* ]] || fails=$((fails + 1))
}
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "status round trips, $N per case (tierd $("$TIERD" --version | cut -d' ' -f2), $(nproc) CPUs, $(uname -r))"
figure "quiet, small status"

cp "$CONF" "$CONF.good"
printf '[guard]\ntrip_at = %s\n' "$(printf 'x%.0s' $(seq 150))" >> "$CONF"
"$PROBE" repeat "$SOCK" 1100 reload >/dev/null
mv "$CONF.good" "$CONF"
figure "quiet, status with 1,024 actions"

$ASUID nobody "$PROBE" hold "$SOCK" 1100 30 > "$WORK/flood.out" & BG+=($!)
wait_ready "$WORK/flood.out"
figure "1,100 idle connections of uid nobody (28 held)"
stop_bg

$ASUID nobody "$PROBE" hold "$SOCK" 28 30 > "$WORK/u1.out" & BG+=($!)
$ASUID 65533 "$PROBE" hold "$SOCK" 28 30 > "$WORK/u2.out" & BG+=($!)
wait_ready "$WORK/u1.out"; wait_ready "$WORK/u2.out"
echo "   (held: uid nobody $(sed -n 's/^held=//p' "$WORK/u1.out"), uid 65533 $(sed -n 's/^held=//p' "$WORK/u2.out"))"
figure "all 56 non-root slots held (two users)"
stop_bg

"$PROBE" noread "$SOCK" 30 > /dev/null & BG+=($!)
sleep 0.5
figure "a client not reading its 578 KB answer"
stop_bg

( while :; do "$PROBE" latency "$SOCK" 50 >/dev/null; done ) & BG+=($!)
sleep 0.5
figure "another client requesting status in a loop"
stop_bg

echo "control counters: $("$TIERCTL" --socket "$SOCK" status --json | jq -c '.daemon.control | {accepted_total, served_total, refused_total, timeouts_total}')"
echo "tierd log: $(grep -cE 'control: (refused|dropped|bad request|accept)' "$LOG" || true) lines about refused," \
  "dropped or bad clients, of $(wc -l < "$LOG") (most are the 1,100 failed reloads that fill the actions)"
exit $((fails > 0))
