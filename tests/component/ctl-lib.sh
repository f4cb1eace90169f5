# Helpers of the control-socket tests (test_ctl_*.sh), sourced after lib.sh.
PROBE=${TIER_BINARY_DIR:?}/tests/ctl-probe
[[ -x $PROBE ]] || skip "ctl-probe is not built ($PROBE)"

# key=value from a ctl-probe output file
kv() { sed -n "s/^$1=//p" "$2" | tr -d "'"; }
nfds() { ls "/proc/$TIERD_PID/fd" | wc -l; }
# Wait until FILE has a line "ready=1" (ctl-probe hold prints it), max ~10 s
wait_ready() { for _ in $(seq 200); do grep -q '^ready=1' "$1" 2>/dev/null && return 0; sleep 0.05; done; return 1; }

# Move $CONF into a directory with a 120-character name: every reload action
# then has a long target (the config path) and a long reason (file:line: ...).
long_conf() {
  local d
  d=$WORK/$(printf 'c%.0s' $(seq 120))
  mkdir -p "$d"
  [[ -e $CONF ]] && mv "$CONF" "$d/tierd.conf"
  CONF=$d/tierd.conf
}
# fill_actions N: N failed reloads (one connection each, through ctl-probe),
# each recorded as an action of about 570 bytes of JSON; the good config is
# put back afterwards.
fill_actions() {
  cp "$CONF" "$CONF.good"
  printf '[guard]\ntrip_at = %s\n' "$(printf 'x%.0s' $(seq 150))" >> "$CONF"
  "$PROBE" repeat "$SOCK" "$1" reload > "$WORK/fill.out"
  mv "$CONF.good" "$CONF"
  [[ $(kv answered "$WORK/fill.out") == "$1" ]]
}
# A tierd wrapper with a lower descriptor limit: TIERD=$(tierd_with_nofile N)
tierd_with_nofile() {
  printf '#!/bin/sh\nulimit -n %s\nexec "%s" "$@"\n' "$1" "$TIERD" > "$WORK/tierd-nofile-$1"
  chmod +x "$WORK/tierd-nofile-$1"
  echo "$WORK/tierd-nofile-$1"
}
