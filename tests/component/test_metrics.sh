#!/usr/bin/env bash
# Prometheus metrics of the real tierd: `tierctl metrics` on every fixture
# passes `promtool check metrics` (Debian's prometheus package) and says what
# the status JSON says; the [daemon] metrics_textfile writer: atomic, mode
# 0644, no temp file left, at most one write per interval, a failure logged
# once per episode and recovered, a planted symlink not followed, a
# read-only directory explained (the unit's ProtectSystem=strict), reload
# on and off, the file removed on stop.
. "$(dirname "$0")/lib.sh"
command -v promtool >/dev/null || skip "promtool is not installed (apt-get install prometheus; .ci/deps.sh does)"

metrics() { "$TIERCTL" --socket "$SOCK" metrics; }
# promtool check metrics: exit 0 and no complaint at all (lint findings are
# printed even when they are not errors).
promtool_clean() { # promtool_clean FILE
  local out rc
  out=$(promtool check metrics < "$1" 2>&1) && rc=0 || rc=$?
  [[ $rc -eq 0 && -z $out ]] || { echo "promtool (rc $rc): $out" | head -20; return 1; }
}
# The value of one series (exact name and labels) in a file.
series() { awk -v s="$2" '$1 == s {print $2; found = 1} END {exit !found}' "$1"; }

# --------------------------------------------------------------- every fixture
for fx in "$TIER_FIXTURES"/*/; do
  fx=$(basename "$fx")
  [[ -d $TIER_FIXTURES/$fx/proc ]] || continue   # procmaps/ holds no root
  new_root "$fx"
  printf '[daemon]\ninterval = 100ms\n' > "$CONF"
  start_tierd
  wait_status '.daemon.ticks >= 2' || true
  metrics > "$WORK/m.txt"
  status_json > "$WORK/s.json"
  check "$fx: promtool check metrics passes on tierctl metrics" promtool_clean "$WORK/m.txt"
  check "$fx: tierd_build_info names the version" \
    [ "$(series "$WORK/m.txt" "tierd_build_info{version=\"$(jq -r .daemon.version "$WORK/s.json")\"}")" = 1 ]
  check "$fx: config generation as in status" \
    [ "$(series "$WORK/m.txt" tierd_config_generation)" = "$(jq -r .daemon.config_generation "$WORK/s.json")" ]
  # Every node with memory: free/min/low/high bytes = pages x page size, as
  # the status JSON has them (a fixture does not change between the calls).
  want=$(jq -r '.page_size as $p | .nodes[] | select(.has_memory) |
    "tierd_node_free_bytes{node=\"\(.id)\",tier=\"\(.tier // "")\"} \(.free_pages * $p)",
    "tierd_node_min_watermark_bytes{node=\"\(.id)\",tier=\"\(.tier // "")\"} \(.min_pages * $p)",
    "tierd_node_high_watermark_bytes{node=\"\(.id)\",tier=\"\(.tier // "")\"} \(.high_pages * $p)",
    "tierd_node_headroom_bytes{node=\"\(.id)\",tier=\"\(.tier // "")\"} \(.headroom_bytes)"' "$WORK/s.json" 2>/dev/null || true)
  missing=$(while read -r s v; do [[ -z $s ]] || [[ "$(series "$WORK/m.txt" "$s")" == "$v" ]] || echo "$s $v"; done <<< "$want")
  check "$fx: per-node bytes equal the status ($(grep -c . <<< "$want") series)${missing:+; wrong: $missing}" [ -z "$missing" ]
  want=$(jq -r '.nodes[]? | .id as $n | .demotion_targets[]? | "tierd_node_demotion_target{node=\"\($n)\",target=\"\(.)\"}"' "$WORK/s.json" | sort)
  got=$(grep '^tierd_node_demotion_target{' "$WORK/m.txt" | cut -d' ' -f1 | sort || true)
  check "$fx: one tierd_node_demotion_target per demotion target in status" [ "$want" = "$got" ]
  if [[ $(jq -r .demotion_enabled "$WORK/s.json") != null ]]; then
    check "$fx: tierd_demotion_enabled as in status" \
      [ "$(series "$WORK/m.txt" tierd_demotion_enabled)" = "$(jq -r 'if .demotion_enabled then 1 else 0 end' "$WORK/s.json")" ]
  fi
  if [[ $fx == edge-truncated-zoneinfo ]]; then
    check "$fx: tierd_acquire_failing 1 (zoneinfo cannot be read)" [ "$(series "$WORK/m.txt" tierd_acquire_failing)" = 1 ]
  fi
  stop_tierd TERM
  rm -rf "$WORK"
done

# --------------------------------------------------------------- the textfile
new_root vm-6.12-hmat-2tier-pressure
TF=$WORK/textfile
mkdir -p "$TF"
cat > "$CONF" <<CONF
[daemon]
interval = 100ms
metrics_textfile = $TF/tierd.prom
metrics_interval = 1s
CONF
start_tierd
waitfile() { for _ in $(seq 100); do [[ -s $1 ]] && return 0; sleep 0.05; done; return 1; }
check "textfile written at start" waitfile "$TF/tierd.prom"
check "textfile mode 0644 (readable by node_exporter's user, whatever the umask)" [ "$(stat -c %a "$TF/tierd.prom")" = 644 ]
check "promtool check metrics passes on the textfile" promtool_clean "$TF/tierd.prom"
check "no temp file left beside it" [ "$(ls -A "$TF")" = tierd.prom ]
# the same series as tierctl metrics (values move: ticks, uptime; so do
# label values such as the guard's state, which may still be "starting" in
# the first file): names and label names
names() { grep -v '^#' | sed 's/="\([^"\\]\|\\.\)*"/=""/g' | cut -d' ' -f1 | sort; }
metrics | names > "$WORK/a"
names < "$TF/tierd.prom" > "$WORK/b"
check "the textfile has exactly the series of tierctl metrics ($(wc -l < "$WORK/a"))" cmp -s "$WORK/a" "$WORK/b"
cmp -s "$WORK/a" "$WORK/b" || diff "$WORK/a" "$WORK/b" | head -20 || true
check "the guard's trip is in the textfile" bash -c "sleep 1.2; grep -qx 'tierd_guard_tripped 1' '$TF/tierd.prom'"
w0=$(jqs .metrics.writes); sleep 3; w1=$(jqs .metrics.writes)
check "at most one write per metrics_interval (3 s: $((w1 - w0)) writes)" [ $((w1 - w0)) -ge 2 -a $((w1 - w0)) -le 4 ]
check "tierd_metrics_textfile_writes_total counts them" \
  [ "$(series "$TF/tierd.prom" tierd_metrics_textfile_writes_total)" -ge "$w0" ]

# A planted symlink at the temp name is replaced, never followed.
echo precious > "$WORK/victim"
ln -s "$WORK/victim" "$TF/.tierd.prom.tmp"
sleep 1.5
check "a symlink planted at the temp name is not followed" grep -qx precious "$WORK/victim"
check "and the textfile is still written" promtool_clean "$TF/tierd.prom"

# Failures: the directory goes away; logged once, counted, retried; back.
rm -rf "$TF"
sleep 3.5
n=$(grep -c 'metrics: writing .* failed' "$LOG" || true)
check "a failing write is logged once per episode ($n lines after 3 intervals)" [ "$n" = 1 ]
check "status counts the failures" [ "$(jqs .metrics.write_failures)" -ge 2 ]
check "status shows the last error" bash -c "'$TIERCTL' --socket '$SOCK' status --json | jq -r .metrics.last_error | grep -q 'No such file or directory'"
mkdir -p "$TF"
check "the textfile comes back with its directory" waitfile "$TF/tierd.prom"
check "recovery is logged" grep -q "metrics: writing $TF/tierd.prom works again" "$LOG"
check "the last error is cleared" [ "$(jqs .metrics.last_error)" = null ]

# Reload: off removes the file, on writes it at once.
sed -i '/^metrics_textfile/d' "$CONF"
"$TIERCTL" --socket "$SOCK" reload >/dev/null
check "reload without metrics_textfile removes the file" [ ! -e "$TF/tierd.prom" ]
echo "metrics_textfile = $TF/other.prom" >> "$CONF"
"$TIERCTL" --socket "$SOCK" reload >/dev/null
check "reload with a new path writes it at once" waitfile "$TF/other.prom"
check "tierd_config_generation follows the reloads" bash -c "sleep 1.2; grep -qx 'tierd_config_generation 3' '$TF/other.prom'"
stop_tierd TERM
check "a clean stop removes the textfile (no stale series)" [ ! -e "$TF/other.prom" ]
check "and leaves no temp file" [ -z "$(ls -A "$TF")" ]

# ProtectSystem=strict in the unit makes /var read-only for tierd: the log
# must say which drop-in is missing.  A read-only bind mount in a private
# mount namespace stands in for the sandbox.
if [[ $(id -u) -eq 0 ]] && command -v unshare >/dev/null; then
  mkdir -p "$TF/ro"
  printf '[daemon]\ninterval = 100ms\nmetrics_textfile = %s/ro/tierd.prom\nmetrics_interval = 1s\n' "$TF" > "$CONF"
  : > "$LOG"
  if unshare --mount --propagation private true 2>/dev/null; then
    unshare --mount --propagation private bash -c \
      'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && exec "$2" --root "$3" --config "$4" --socket "$5" --state-dir /run/tierd' \
      _ "$TF/ro" "$TIERD" "$ROOT" "$CONF" "$SOCK" >>"$LOG" 2>&1 &
    TIERD_PID=$!
    for _ in $(seq 100); do grep -q 'metrics: writing' "$LOG" && break; sleep 0.05; done
    sleep 0.3
    check "read-only directory: the log says Read-only file system" grep -q 'metrics: writing .* failed: .*Read-only file system' "$LOG"
    check "and names the drop-in that allows it (ReadWritePaths=)" grep -q 'ReadWritePaths=DIR' "$LOG"
    stop_tierd TERM
  else
    echo "SKIP: unshare --mount does not work here: read-only check not run"
  fi
fi
finish
