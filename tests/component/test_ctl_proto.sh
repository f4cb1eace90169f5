#!/usr/bin/env bash
# The framed control protocol (common-proto.h, version 2) at both ends:
# tierd answers every malformed, oversized, dribbled or other-version request
# with a clear error (and keeps serving), and tierctl facing a broken or
# hostile daemon (ctl-probe fake-daemon) exits with a clear error and the
# documented status, never a crash, a hang or escape sequences on the tty.
. "$(dirname "$0")/lib.sh"
[[ $(id -u) -eq 0 ]] || skip "needs root (the fixture's state dir under /run/tierd)"
. "$(dirname "$0")/ctl-lib.sh"

new_root vm-6.12-hmat-2tier
printf '[daemon]\ninterval = 200ms\n' > "$CONF"
start_tierd

# ---------------------------------------------------------------- tierd side
req() { "$PROBE" request "$SOCK" "$@" > "$WORK/req.out"; }
says() { grep -q -- "$1" "$WORK/req.out"; }
req --version 1
check "a version 1 request: protocol version mismatch, naming both versions" \
  says '"ok":false,"error":"protocol version mismatch: tierd speaks 2, the request has 1'
req --len 5000 --json '{}'
check "a header announcing 5,000 bytes: refused from the header" says 'request too large: message of 5000 bytes exceeds the limit of 4096 bytes'
req --len 0xffffffff --json ''
check "a header announcing 4 GiB with nothing after it: refused at once" says 'message of 4294967295 bytes exceeds the limit'
req --json 'this is not json'
check "garbage: malformed message" says '"error":"malformed message'
req --json '[1,2]'
check "an array: not a JSON object" says 'not a JSON object'
req --json '{"version":2,"command":"status"}{}'
check "two objects in one frame: refused" says '"error":"malformed message'
req --cmd evacuate
check "an unknown command is named" says 'unknown command \\"evacuate\\"'
req --json '{"version":2,"command":"status","uid":0}'
check "an unexpected key is refused" says 'unexpected key \\"uid\\"'
req --json ''
check "an empty frame: malformed (empty)" says 'malformed message: empty'
req --chunk 1 --gap-ms 20
check "a request written one byte at a time is served" says '"ok":true'
check "status counts 9 bad requests" [ "$(jqs .daemon.control.bad_requests_total)" = 9 ]
n=$(grep -c 'control: bad request' "$LOG" || true)
check "the log names at most 3 of them a minute ($n lines)" [ "$n" -le 3 ]
check "tierd still answers tierctl" "$TIERCTL" --socket "$SOCK" reload
stop_tierd TERM

# --------------------------------------------------------------- tierctl side
FAKE=$WORK/fake.sock
FAKE_PID=
NFAKE=0
fake() { # fake MODE: a fake daemon on $FAKE for one connection
  # A new output file each time: the child truncates it only after the fork,
  # and an old "listening" must not be taken for the new daemon's.
  NFAKE=$((NFAKE + 1))
  local out=$WORK/fake-$NFAKE.out
  "$PROBE" fake-daemon "$FAKE" "$1" > "$out" 2>&1 &
  FAKE_PID=$!
  for _ in $(seq 250); do grep -q listening "$out" 2>/dev/null && return 0; sleep 0.02; done
  return 1
}
unfake() { kill "$FAKE_PID" 2>/dev/null || true; wait "$FAKE_PID" 2>/dev/null || true; }
# against MODE EXPECTED_RC MESSAGE [tierctl args]: tierctl exits EXPECTED_RC and prints MESSAGE
against() {
  local mode=$1 want=$2 msg=$3; shift 3
  fake "$mode"
  "$TIERCTL" --socket "$FAKE" --timeout 2 "${@:-status}" > "$WORK/tc.out" 2>&1 && rc=0 || rc=$?
  unfake
  echo "   $mode: rc $rc: $(head -c 300 "$WORK/tc.out" | head -1)"
  check "tierctl vs a daemon sending '$mode': exit $want (got $rc), says '$msg'" \
    bash -c "[ $rc = $want ] && grep -q -- \"\$1\" '$WORK/tc.out'" _ "$msg"
}
against truncated 1 "truncated message: the connection was closed after 14 of 104 bytes"
against huge 1 "message of 4294967280 bytes exceeds the limit of 16777216 bytes"
against garbage 1 "no valid answer from tierd: malformed message"
against notobject 1 "not a JSON object"
against envelope 1 'malformed reply: no boolean "ok"'
against version3 5 "protocol version mismatch: tierd speaks 3, tierctl 2"
against close 1 "the connection was closed without an answer"
against silent 1 "no answer from tierd within 2.0 s"
against error 1 "tierctl: status: boom: something failed"
against seqpacket 5 "speaks protocol 1 (SOCK_SEQPACKET), tierctl .* speaks 2"
against wrongtypes 0 "tierd ?, pid -1"
against wrongtypes 0 '"tiers": 5' status --json
against dribble 0 "tierd dribbled"
fake big
"$TIERCTL" --socket "$FAKE" status --json > "$WORK/big.out" 2>&1 && rc=0 || rc=$?
unfake
check "a 4 MiB answer (many partial reads) is read whole (rc $rc)" [ "$rc" = 0 -a "$(jq -r '.pad | length' "$WORK/big.out")" = 4194304 ]
fake escape
"$TIERCTL" --socket "$FAKE" status > "$WORK/esc.out" 2>&1 && rc=0 || rc=$?
unfake
check "escape sequences from the daemon are shown as '?' (rc $rc): $(head -1 "$WORK/esc.out")" \
  bash -c "[ $rc = 0 ] && grep -q 'tierd ?\[31mred?\]0;t??1m' '$WORK/esc.out' && ! grep -q \$'\\x1b\\|\\x07\\|\\xc2\\x9b' '$WORK/esc.out'"
finish
