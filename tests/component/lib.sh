# Shared helpers for the component tests, sourced by component/test_*.sh.
set -euo pipefail

: "${TIERD:?TIERD must point to the tierd binary}"
: "${TIERCTL:?TIERCTL must point to the tierctl binary}"
: "${TIER_FIXTURES:?}"

fails=0
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
check() { # check "description" command...
  local what=$1; shift
  if "$@"; then pass "$what"; else fail "$what"; fi
}
skip() { echo "SKIP: $*"; exit 77; }
finish() {
  if ((fails)); then echo "$fails check(s) failed"; exit 1; fi
  echo "all checks passed"
}

command -v jq >/dev/null || skip "jq is not installed (apt-get install jq)"

# A writable copy of a fixture, under a world-traversable temp dir (the
# non-root checks connect from uid nobody).
new_root() { # new_root FIXTURE -> sets ROOT, WORK
  WORK=$(mktemp -d /tmp/tierd-comp-XXXXXX)
  chmod 755 "$WORK"
  ROOT=$WORK/root
  mkdir -p "$ROOT"
  cp -a "$TIER_FIXTURES/$1/." "$ROOT/"
  SOCK=$WORK/tierd.sock
  CONF=$WORK/tierd.conf
  LOG=$WORK/tierd.log
}

TIERD_PID=
start_tierd() { # start_tierd [extra args]
  "$TIERD" --root "$ROOT" --config "$CONF" --socket "$SOCK" --state-dir /run/tierd "$@" >>"$LOG" 2>&1 &
  TIERD_PID=$!
  for _ in $(seq 100); do
    [[ -S $SOCK ]] && "$TIERCTL" --socket "$SOCK" status --json >/dev/null 2>&1 && return 0
    kill -0 "$TIERD_PID" 2>/dev/null || { echo "tierd died:"; cat "$LOG"; return 1; }
    sleep 0.05
  done
  echo "tierd did not come up:"; cat "$LOG"; return 1
}

stop_tierd() { # stop_tierd [signal]
  [[ -n $TIERD_PID ]] || return 0
  kill -"${1:-TERM}" "$TIERD_PID" 2>/dev/null || true
  wait "$TIERD_PID" 2>/dev/null || true
  TIERD_PID=
}

status_json() { "$TIERCTL" --socket "$SOCK" status --json; }
jqs() { status_json | jq -r "$1"; }

# Wait until a jq expression on the status is "true" (max ~5 s).
wait_status() {
  for _ in $(seq 100); do
    [[ $(status_json 2>/dev/null | jq -r "$1") == true ]] && return 0
    sleep 0.05
  done
  return 1
}

cleanup() { stop_tierd KILL; [[ -n ${WORK:-} ]] && rm -rf "$WORK"; }
trap cleanup EXIT

# Rewrite the "pages free" of one zone in $ROOT/proc/zoneinfo, atomically
# (tierd must never read a half-written file): set_free NODE ZONE PAGES
set_free() {
  local zi=$ROOT/proc/zoneinfo
  awk -v node="$1" -v zone="$2" -v pages="$3" '
    /^Node / { hit = ($2 == node "," && $4 == zone) }
    hit && /^  pages free/ { sub(/[0-9]+$/, pages); hit = 0 }
    { print }' "$zi" > "$zi.new"
  mv "$zi.new" "$zi"
}
knob() { cat "$ROOT/sys/kernel/mm/numa/demotion_enabled"; }
# Wait (max ~5 s) until the knob reads $1.
wait_knob() {
  for _ in $(seq 250); do [[ $(knob) == "$1" ]] && return 0; sleep 0.02; done
  return 1
}
