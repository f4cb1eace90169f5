#!/usr/bin/env bash
# Regenerate the seed corpora (tests/fuzz/corpus/<harness>/seed-*) from real
# captures: the fixture trees in tests/fixtures (kernels 6.1, 6.12, 6.18),
# the malformed-config corpus, conf/tierd.conf, this host's /proc and /sys
# (a few small files), and the real tierd/tierctl of a build directory
# (`tierctl topology --json` of every fixture, `tierctl status --json` and
# the state file of a tierd running on fixture copies).
#
#   tests/fuzz/make-seeds.sh [--build DIR] [HARNESS...]
#
# The uevent seeds are kernel messages captured by hand (see README.md), not
# regenerated here.  Only files named seed-* are replaced; regression inputs (regress-*) and
# inputs found by fuzzing that were added by hand are never touched.  Run as
# root for the daemon captures (tierd writes its state file); without a
# build directory those harnesses keep their current seeds.
set -euo pipefail
cd "$(dirname "$0")/../.."
SRC=$PWD
FX=$SRC/tests/fixtures
OUT=$SRC/tests/fuzz/corpus
BUILD=
while (($#)); do
  case $1 in
    --build) BUILD=$(cd "$2" && pwd); shift 2 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) break ;;
  esac
done
WANT="$*"
only() { [[ -z $WANT || " $WANT " == *" $1 "* ]]; }   # only HARNESS: selected?

fresh() { # fresh HARNESS: remove its seeds, print its directory
  mkdir -p "$OUT/$1"
  find "$OUT/$1" -maxdepth 1 -name 'seed-*' -delete
  echo "$OUT/$1"
}
# put DIR NAME < content: write a seed unless an identical one exists
put() {
  local dir=$1 name=$2 tmp
  tmp=$(mktemp)
  cat > "$tmp"
  [[ -s $tmp ]] || { rm -f "$tmp"; return 0; }   # nothing captured
  local f
  for f in "$dir"/seed-*; do
    [[ -e $f ]] && cmp -s "$f" "$tmp" && { rm -f "$tmp"; return 0; }
  done
  mv "$tmp" "$dir/seed-$name"
  chmod 644 "$dir/seed-$name"
}
fixtures() { # tree fixtures (not procmaps)
  local f
  for f in "$FX"/*/; do
    f=${f%/}
    [[ -d $f/sys/devices/system/node ]] && basename "$f"
  done
}

if only zoneinfo; then
  d=$(fresh zoneinfo)
  for f in $(fixtures); do
    [[ -f $FX/$f/proc/zoneinfo ]] && put "$d" "$f" < "$FX/$f/proc/zoneinfo"
  done
  put "$d" "host-$(uname -r)" < /proc/zoneinfo
fi

if only node-readers; then
  # The harness's file order (fuzz-node-readers.c); the first two node
  # directories and tiers of a fixture become node0/node1 and the
  # harness's two tiers.  An empty part is an absent file.
  d=$(fresh node-readers)
  for f in $(fixtures); do
    r=$FX/$f
    mapfile -t nodes < <(cd "$r/sys/devices/system/node" && ls -d node[0-9]* | sort -V | head -2)
    ((${#nodes[@]} == 2)) || continue
    mapfile -t tiers < <(cd "$r/sys/devices/virtual/memory_tiering" 2>/dev/null && ls -d memory_tier[0-9]* | sort -V | head -2)
    N=sys/devices/system/node
    files=($N/possible $N/online $N/has_cpu $N/has_memory $N/has_normal_memory)
    for n in "${nodes[@]}"; do
      files+=("$N/$n/cpulist" "$N/$n/distance" "$N/$n/meminfo" "$N/$n/vmstat")
    done
    files+=("$N/${nodes[1]}/access0/initiators/read_latency" "$N/${nodes[1]}/access0/initiators/read_bandwidth")
    T=sys/devices/virtual/memory_tiering
    files+=("$T/${tiers[0]:-none}/nodelist" "$T/${tiers[1]:-none}/nodelist")
    files+=(sys/kernel/mm/numa/demotion_enabled proc/sys/kernel/numa_balancing proc/vmstat proc/zoneinfo)
    {
      first=1
      for p in "${files[@]}"; do
        ((first)) || printf '%%%%\n'
        first=0
        [[ -f $r/$p ]] && cat "$r/$p"
      done
    } | put "$d" "$f"
  done
fi

if only nodelist; then
  d=$(fresh nodelist)
  for f in $(fixtures); do
    for p in "$FX/$f"/sys/devices/system/node/{possible,online,has_cpu,has_memory,has_normal_memory} \
             "$FX/$f"/sys/devices/system/node/node*/cpulist \
             "$FX/$f"/sys/devices/virtual/memory_tiering/memory_tier*/nodelist; do
      [[ -f $p ]] && put "$d" "$f-$(basename "$(dirname "$p")")-$(basename "$p")" < "$p"
    done
  done
  for p in /sys/devices/system/node/{possible,online,has_cpu,has_memory} /sys/devices/system/cpu/{online,possible}; do
    [[ -r $p ]] && put "$d" "host-$(basename "$(dirname "$p")")-$(basename "$p")" < "$p"
  done
  printf '0-1023\n' | put "$d" "widest-nodemask"
  printf '0-8191\n' | put "$d" "widest-cpumask"
fi

if only config-values; then
  # Every value written in the config corpus and the default config, as inih
  # hands it to the typed parsers (trimmed, inline comment cut).
  d=$(fresh config-values)
  i=0
  cat "$SRC"/conf/tierd.conf "$SRC"/tests/unit/config-corpus/*.conf |
    sed -n 's/^[[:space:]]*[#;]*[[:space:]]*[A-Za-z_]*[[:space:]]*=[[:space:]]*//p' |
    sed 's/[[:space:]][#;].*//; s/[[:space:]]*$//' | sort -u |
    while IFS= read -r v; do
      i=$((i + 1))
      printf '%s' "$v" | put "$d" "$(printf 'value-%03d' "$i")"
    done
fi

if only config-file; then
  d=$(fresh config-file)
  put "$d" "tierd.conf" < "$SRC/conf/tierd.conf"
  for f in "$SRC"/tests/unit/config-corpus/*.conf; do
    put "$d" "$(basename "$f" .conf)" < "$f"
  done
  # The default file with drop-ins: a valid override, a grant split over two
  # drop-ins, and a drop-in from the malformed corpus.
  { cat "$SRC/conf/tierd.conf"; printf '%%%%\n[guard]\nmode = on\ntrip_at = min+64M\n'; } | put "$d" "dropin-override"
  { printf '[fence]\nprivate_nodes = 1-2\n%%%%\n[grant db]\ncgroup = /system.slice/db.service\n%%%%\n[grant db]\nnodes = 1\n'; } | put "$d" "dropin-grant"
  { cat "$SRC/conf/tierd.conf"; printf '%%%%\n'; cat "$SRC/tests/unit/config-corpus/45-several-errors.conf"; } | put "$d" "dropin-errors"
fi

for h in numa_maps maps status cgroup; do
  name=${h/_/-}
  only "$name" || continue
  d=$(fresh "$name")
  for p in "$FX"/procmaps/*/proc/*/"$h"; do
    [[ -s $p ]] || continue
    cap=$(basename "$(dirname "$(dirname "$(dirname "$p")")")")
    put "$d" "$cap-$(basename "$(dirname "$p")")" < "$p"
  done
  # This host: the reading process itself and PID 1.
  put "$d" "host-self" < "/proc/self/$h"
  # PID 1's numa_maps may be refused (ptrace access mode) even to root.
  tmp=$(mktemp)
  if cat "/proc/1/$h" > "$tmp" 2>/dev/null && [[ -s $tmp ]]; then put "$d" "host-1" < "$tmp"; fi
  rm -f "$tmp"
done

# A protocol 2 frame: stdin with its 4-byte big-endian length in front.
frame() {
  local f n b
  f=$(mktemp); cat > "$f"; n=$(stat -c %s "$f")
  for b in 24 16 8 0; do printf "\\$(printf %03o $(( (n >> b) & 255 )))"; done
  cat "$f"; rm -f "$f"
}

if only proto-request; then
  # What tierctl sends (tierd_proto_request(), JSON_C_TO_STRING_PLAIN).
  d=$(fresh proto-request)
  for c in status reload pause resume; do
    printf '{"version":2,"command":"%s"}' "$c" | frame | put "$d" "$c"
  done
  printf '{"version":1,"command":"status"}' | frame | put "$d" "version-1"
fi

# The daemon captures need a build and root.
capture_daemon() {
  local TIERD=$BUILD/daemon/tierd TIERCTL=$BUILD/daemon/tierctl
  [[ -x $TIERD && -x $TIERCTL && $(id -u) == 0 ]] || return 1
  command -v jq >/dev/null || return 1
  local work
  work=$(mktemp -d /tmp/tierd-seeds-XXXXXX)
  # guard: the pressure capture trips it (state file: the knob's original)
  mkdir -p "$work/guard"
  cp -a "$FX/vm-6.12-hmat-2tier-pressure/." "$work/guard/"
  printf '[daemon]\ninterval = 100ms\n' > "$work/guard.conf"
  # fence: the 2-tier capture with the cgroup v2 tree of test_fence_fixture.sh
  mkdir -p "$work/fence"
  cp -a "$FX/vm-6.12-hmat-2tier/." "$work/fence/"
  echo true > "$work/fence/sys/kernel/mm/numa/demotion_enabled"
  local CG=$work/fence/sys/fs/cgroup
  mkdir -p "$CG"
  printf 'cpuset cpu memory' > "$CG/cgroup.controllers"
  printf 'cpuset memory' > "$CG/cgroup.subtree_control"
  for cg in /system.slice /system.slice/db.service /user.slice /user.slice/u1; do
    mkdir -p "$CG$cg"; : > "$CG$cg/cpuset.mems"
    printf 'cpuset memory' > "$CG$cg/cgroup.subtree_control"
    printf 'cpuset memory' > "$CG$cg/cgroup.controllers"
    : > "$CG$cg/cgroup.procs"
  done
  printf '[daemon]\ninterval = 100ms\n[fence]\nprivate_nodes = 1\nbackend = cgroupfs\n[grant db]\ncgroup = /system.slice/db.service\nnodes = 1\n' > "$work/fence.conf"
  local s pid
  for s in guard fence; do
    "$TIERD" --root "$work/$s" --config "$work/$s.conf" --socket "$work/$s.sock" --state-dir /run/tierd \
      >"$work/$s.log" 2>&1 &
    pid=$!
    sleep 2
    "$TIERCTL" --socket "$work/$s.sock" status --json | jq -c '{version: 2, ok: true, data: .}' | frame > "$work/$s.reply" || true
    kill -KILL "$pid"; wait "$pid" 2>/dev/null || true
    cp "$work/$s/run/tierd/state.json" "$work/$s.state" 2>/dev/null || true
    cp "$work/$s/run/tierd/knobs.json" "$work/$s.knobs" 2>/dev/null || true
  done
  echo "$work"
}

if only tierctl-reply || only state; then
  work=
  [[ -n $BUILD ]] && work=$(capture_daemon) || true
  if only tierctl-reply && [[ -n $BUILD && -x $BUILD/daemon/tierctl ]]; then
    d=$(fresh tierctl-reply)
    for f in $(fixtures); do
      # (edge-truncated-zoneinfo does not read: no reply to capture)
      if "$BUILD/daemon/tierctl" topology --root "$FX/$f" --json > "$d/.topo" 2>/dev/null; then
        jq -c '{version: 2, ok: true, data: .}' < "$d/.topo" | frame | put "$d" "topology-$f"
      fi
    done
    rm -f "$d/.topo"
    printf '{"version":2,"ok":false,"error":"permission denied: reload needs root (caller uid 65534)"}' | frame | put "$d" "error-denied"
    for s in guard fence; do
      [[ -n $work && -s $work/$s.reply ]] && put "$d" "status-$s" < "$work/$s.reply"
    done
  fi
  if only state && [[ -n $work ]]; then
    d=$(fresh state)
    for s in guard fence; do
      [[ -s $work/$s.state ]] && put "$d" "tierd-$s" < "$work/$s.state"
      [[ -s $work/$s.knobs ]] && put "$d" "tierd-$s-knobs" < "$work/$s.knobs"
    done
  fi
  [[ -n $work ]] && rm -rf "$work"
fi

if only pagemap; then
  # Relief's locator: each pagemap capture's block size (text), then its
  # block list and the first 4 KiB of its pagemap (binary, fuzz-pagemap.c).
  d=$(fresh pagemap)
  for f in "$FX"/pagemap-*/; do
    f=${f%/}
    python3 - "$f" <<'PY' | put "$d" "$(basename "$f")"
import os, struct, sys
f = sys.argv[1]
bs = open(f + "/sys/devices/system/memory/block_size_bytes").read()
pairs = []
nd = f + "/sys/devices/system/node"
for n in sorted(os.listdir(nd)):
    if n.startswith("node") and n[4:].isdigit():
        for m in sorted(os.listdir(nd + "/" + n)):
            if m.startswith("memory") and m[6:].isdigit():
                pairs.append((int(m[6:]), int(n[4:])))
pairs = pairs[:64]
out = bs.encode() + b"%%\n" + struct.pack("<QB", int(bs, 16), len(pairs))
out += b"".join(struct.pack("<IB", b, n) for b, n in pairs)
out += open(f + "/pagemap.bin", "rb").read(4096)
sys.stdout.buffer.write(out)
PY
  done
  printf '%s' "$(cat /sys/devices/system/memory/block_size_bytes 2>/dev/null)" | put "$d" "host-block-size"
fi

for h in $(ls "$OUT"); do
  printf '%-16s %3d inputs\n' "$h" "$(find "$OUT/$h" -maxdepth 1 -type f | wc -l)"
done
