#!/usr/bin/env bash
# tierd's textfile through the real prometheus-node-exporter: the textfile
# collector pointed at the directory tierd writes, /metrics fetched over
# HTTP on the loopback, tierd's series (with their HELP and TYPE) found there
# with the values of the file, and no textfile scrape error.
. "$(dirname "$0")/lib.sh"
NE=$(command -v prometheus-node-exporter || command -v node_exporter || true)
[[ -n $NE ]] || skip "prometheus-node-exporter is not installed (apt-get install prometheus-node-exporter; .ci/deps.sh does)"
command -v curl >/dev/null || skip "curl is not installed (apt-get install curl)"

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
for _ in $(seq 100); do [[ -s $TF/tierd.prom ]] && break; sleep 0.05; done
check "tierd wrote its textfile" [ -s "$TF/tierd.prom" ]
# let the guard's trip (and the knob it wrote, read back by the next tick)
# reach the file
tripped() { grep -qx 'tierd_guard_tripped 1' "$1" && grep -qx 'tierd_demotion_enabled 0' "$1"; }
for _ in $(seq 60); do tripped "$TF/tierd.prom" && break; sleep 0.1; done
# node_exporter re-emits the series with labels in name order and numbers
# in Go's float format: compare label sets sorted and values as numbers.
norm() { perl -ne 'if (/^([a-zA-Z_:][a-zA-Z0-9_:]*)\{(.*)\}$/) { my @l = split /(?<="),/, $2;
  print "$1\{", join(",", sort @l), "}\n" } else { print }'; }
value() { awk -v s="$2" '{k = $1; v = $2} k == s {print v; exit}' "$1"; }
same_number() { [ -n "$1" ] && [ -n "$2" ] && awk -v a="$1" -v b="$2" 'BEGIN {exit !(a + 0 == b + 0)}'; }

# node_exporter on a free loopback port: try a few random ones (a port taken
# meanwhile makes it exit at once).
NE_PID=
cleanup_ne() { if [[ -n $NE_PID ]]; then kill "$NE_PID" 2>/dev/null; wait "$NE_PID" 2>/dev/null || true; fi; NE_PID=; }
trap 'cleanup_ne; cleanup' EXIT
port=
for _ in 1 2 3 4 5; do
  p=$((20000 + RANDOM % 40000))
  "$NE" --web.listen-address="127.0.0.1:$p" --collector.disable-defaults --collector.textfile \
    --collector.textfile.directory="$TF" >"$WORK/ne.log" 2>&1 &
  NE_PID=$!
  for _ in $(seq 50); do
    curl -sf "http://127.0.0.1:$p/metrics" -o /dev/null 2>/dev/null && { port=$p; break; }
    kill -0 "$NE_PID" 2>/dev/null || break
    sleep 0.1
  done
  [[ -n $port ]] && break
  cleanup_ne
done
[[ -n $port ]] || { cat "$WORK/ne.log"; fail "node_exporter did not come up on a loopback port"; finish; }
echo "node_exporter $("$NE" --version 2>&1 | head -1 | awk '{print $3}') on 127.0.0.1:$port"

curl -sf "http://127.0.0.1:$port/metrics" -o "$WORK/scrape.txt"
cp "$TF/tierd.prom" "$WORK/file.txt"    # the file as of (just after) the scrape
check "scrape: no textfile error (node_textfile_scrape_error 0)" grep -qx 'node_textfile_scrape_error 0' "$WORK/scrape.txt"
check "scrape: node_exporter saw tierd.prom (node_textfile_mtime_seconds)" \
  grep -q "^node_textfile_mtime_seconds{file=\"$TF/tierd.prom\"} " "$WORK/scrape.txt"
check "scrape: tierd_build_info is there" grep -qx 'tierd_build_info{version="[^"]*"} 1' "$WORK/scrape.txt"
check "scrape: HELP and TYPE come through" \
  bash -c "grep -q '^# HELP tierd_node_free_bytes Free memory of the node' '$WORK/scrape.txt' && grep -qx '# TYPE tierd_node_free_bytes gauge' '$WORK/scrape.txt'"
# Every series of the file is in the scrape; the static ones (a fixture's
# memory does not move) with the same value.
grep -v '^#' "$WORK/file.txt" | cut -d' ' -f1 | norm | sort > "$WORK/f.series"
grep '^tierd_' "$WORK/scrape.txt" | cut -d' ' -f1 | norm | sort > "$WORK/s.series"
missing=$(comm -23 "$WORK/f.series" "$WORK/s.series" | head -5)
check "scrape: every one of tierd's $(wc -l < "$WORK/f.series") series is served${missing:+; missing: $missing}" [ -z "$missing" ]
for s in 'tierd_node_free_bytes{node="1",tier="54"}' 'tierd_node_headroom_bytes{node="1",tier="54"}' \
         'tierd_node_min_watermark_bytes{node="0",tier="4"}' 'tierd_guard_tripped' 'tierd_demotion_enabled' \
         'tierd_node_demotion_target{node="0",target="1"}'; do
  a=$(value "$WORK/file.txt" "$s")
  b=$(value "$WORK/scrape.txt" "$(echo "$s" | norm)")
  check "scrape: $s = $b, as in the file ($a)" same_number "$a" "$b"
done
check "scrape: the guard's trip shows (tierd_guard_tripped 1, demotion off)" tripped "$WORK/scrape.txt"
cleanup_ne
stop_tierd TERM
finish
