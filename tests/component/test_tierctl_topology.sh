#!/usr/bin/env bash
# `tierctl topology` (no daemon) on every fixture: the JSON agrees with the
# files themselves (recomputed here with awk, independently of libtier), the
# text view matches its reviewed golden file, and bad input fails clearly.
# Regenerate a golden file after an intended change of the text view with
#   tierctl topology --root tests/fixtures/NAME > tests/component/golden/topology-NAME.txt
. "$(dirname "$0")/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
WORK_TXT=$(mktemp)
trap 'rm -f "$WORK_TXT"' EXIT

# Sum of a zoneinfo field over node N's populated zones ("free" = pages free).
zsum() { # zsum ROOT NODE FIELD
  awk -v n="$2" -v fld="$3" '
    /^Node / { cur = ($2 == n ","); pop = 0; next }
    cur && $1 == "pages" && $2 == "free" { fr = $3; next }
    cur && $1 == fld && fld != "free" { v[fld] = $2 }
    cur && $1 == "managed" { if ($2 > 0) { t += (fld == "free" ? fr : v[fld]) } }
    END { print t + 0 }' "$1/proc/zoneinfo"
}

for dir in "$TIER_FIXTURES"/*/; do
  name=$(basename "$dir")
  [[ -d $dir/proc ]] || continue
  [[ $name == edge-truncated-zoneinfo ]] && continue
  json=$("$TIERCTL" topology --root "$dir" --json)
  # tiers: every memory_tierN directory, fast (small N) to slow
  want=$( (ls "$dir/sys/devices/virtual/memory_tiering" 2>/dev/null || true) | sed -n "s/^memory_tier//p" | sort -n | paste -sd, -)
  check "$name: tiers in order ($want)" [ "$(jq -r '[.tiers[].id] | join(",")' <<<"$json")" = "$want" ]
  # nodes: every nodeN directory
  want=$(ls "$dir/sys/devices/system/node" | sed -n 's/^node\([0-9]*\)$/\1/p' | sort -n | paste -sd, -)
  check "$name: nodes ($want)" [ "$(jq -r '[.nodes[].id] | join(",")' <<<"$json")" = "$want" ]
  for n in ${want//,/ }; do
    for fld in free min low high; do
      w=$(zsum "$dir" "$n" "$fld")
      got=$(jq -r ".nodes[] | select(.id == $n) | .${fld}_pages" <<<"$json")
      [[ $got == "$w" ]] || fail "$name: node $n ${fld}_pages $got, zoneinfo says $w"
    done
    check "$name: node $n headroom = free - min" \
      [ "$(jq -r ".nodes[] | select(.id == $n) | (.headroom_pages == .free_pages - .min_pages)" <<<"$json")" = true ]
  done
  d=$( { tr -d "\n" < "$dir/sys/kernel/mm/numa/demotion_enabled"; } 2>/dev/null || echo null)
  check "$name: demotion_enabled $d" [ "$(jq -r .demotion_enabled <<<"$json")" = "$d" ]
  "$TIERCTL" topology --root "$dir" > "$WORK_TXT" 2>&1
  check "$name: text view matches golden/topology-$name.txt" diff -u "$here/golden/topology-$name.txt" "$WORK_TXT"
done

# Demotion targets the kernel printed in the VM ("Demotion targets for Node 0:
# preferred: 1, fallback: 1-2" on the 3-tier shape).
j=$("$TIERCTL" topology --root "$TIER_FIXTURES/vm-6.12-hmat-3tier" --json)
check "3tier: node 0 preferred 1" [ "$(jq -r '.nodes[0].demotion_targets | join(",")' <<<"$j")" = 1 ]
check "3tier: node 0 fallback 1-2" [ "$(jq -r '.nodes[0].demotion_fallback | join(",")' <<<"$j")" = 1,2 ]
check "3tier: node 1 preferred 2" [ "$(jq -r '.nodes[1].demotion_targets | join(",")' <<<"$j")" = 2 ]
check "3tier: node 2 none" [ "$(jq -r '.nodes[2].demotion_targets | length' <<<"$j")" = 0 ]

# Bad input: a clear error naming the file, exit 1; usage errors exit 2.
"$TIERCTL" topology --root "$TIER_FIXTURES/edge-truncated-zoneinfo" > "$WORK_TXT" 2>&1 && rc=0 || rc=$?
check "truncated zoneinfo: exit 1" [ "$rc" = 1 ]
check "truncated zoneinfo: names proc/zoneinfo and the line" grep -q "proc/zoneinfo: line 235" "$WORK_TXT"
"$TIERCTL" topology --root /nonexistent > "$WORK_TXT" 2>&1 && rc=0 || rc=$?
check "missing root: exit 1 with a message" bash -c "[ $rc = 1 ] && grep -q 'cannot open root /nonexistent' '$WORK_TXT'"
"$TIERCTL" topology --bogus > /dev/null 2>&1 && rc=0 || rc=$?
check "unknown option: exit 2" [ "$rc" = 2 ]
# This machine, whatever it is: it must parse.
check "this host: topology reads" "$TIERCTL" topology --json
finish
