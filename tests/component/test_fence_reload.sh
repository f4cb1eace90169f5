#!/usr/bin/env bash
# Given back what is no longer private (issue 13 item 3), on a fixture root
# with a fake cgroup v2 tree of plain files (the 3-tier VM capture: nodes
# 0, 1, 2 with memory).  Plans start from the recorded originals, so:
#  - a reload from private_nodes = 1,2 to private_nodes = 2 gives node 1
#    back within ONE full pass: /a (inheriting) gets 0-1, /c (the admin's
#    0-2) gets 0-1, /b (the admin's 0-1) and /db (inheriting, granted 2)
#    get their own values back and their entries leave the state file;
#  - with private_nodes emptied every restriction is given back (the
#    originals restored while tierd runs), status says "giving back" while
#    any is held and never "off" before none is.
# Before this, the second pass planned 0 operations and /a stayed 0.
. "$(dirname "$0")/lib.sh"

new_root vm-6.12-hmat-3tier
echo true > "$ROOT/sys/kernel/mm/numa/demotion_enabled"
CG=$ROOT/sys/fs/cgroup
mkcg() { # mkcg PATH MEMS
  mkdir -p "$CG$1"
  printf '%s' "$2" > "$CG$1/cpuset.mems"
  printf 'cpuset memory' > "$CG$1/cgroup.subtree_control"
  printf 'cpuset memory' > "$CG$1/cgroup.controllers"
  : > "$CG$1/cgroup.procs"
}
mkdir -p "$CG"
printf 'cpuset cpu memory' > "$CG/cgroup.controllers"
printf 'cpuset memory' > "$CG/cgroup.subtree_control"
: > "$CG/cgroup.procs"
mkcg /a ""
mkcg /b "0-1"
mkcg /c "0-2"
mkcg /db ""
conf() { # conf PRIVATE
  cat > "$CONF" <<CONF
[daemon]
interval = 100ms
[fence]
private_nodes = $1
backend = cgroupfs
full_pass = 60s
[grant db]
cgroup = /db
nodes = 2
CONF
}
mems() { tr -d '\n' < "$CG$1/cpuset.mems"; }
ST=$ROOT/run/tierd/state.json
recorded() { jq -r --arg k "sys/fs/cgroup$1/cpuset.mems" '[.entries[] | select(.key == $k) | .original] | if length == 0 then "none" else .[0] end' "$ST"; }

conf 1-2
start_tierd
check "fenced with private 1-2" wait_status '.fence.state == "fencing" and .fence.unfenced == 0'
check "/a := 0" [ "$(mems /a)" = 0 ]
check "/b := 0" [ "$(mems /b)" = 0 ]
check "/c := 0" [ "$(mems /c)" = 0 ]
check "/db := 0,2 (granted 2, not 1)" [ "$(mems /db)" = "0,2" ]
check "originals recorded: /a '' /b 0-1 /c 0-2 /db ''" \
  [ "$(recorded /a)|$(recorded /b)|$(recorded /c)|$(recorded /db)" = "|0-1|0-2|" ]

passes=$(jqs .fence.full_passes)
conf 2
check "reload to private_nodes = 2" "$TIERCTL" --socket "$SOCK" reload
check "one more full pass" wait_status ".fence.full_passes >= $((passes + 1))"
check "within that pass: /a given node 1 back (0-1)" [ "$(mems /a)" = 0-1 ]
check "/c given node 1 back (0-1; node 2 still private)" [ "$(mems /c)" = 0-1 ]
check "/b back to its own 0-1" [ "$(mems /b)" = 0-1 ]
check "/db back to inheriting (its own '')" [ "$(mems /db)" = "" ]
check "/b and /db no longer held, /a and /c still are" \
  [ "$(recorded /a)|$(recorded /b)|$(recorded /c)|$(recorded /db)" = "|none|0-2|none" ]
check "status counts what was given back" [ "$(jqs .fence.given_back)" -ge 2 ]
check "nothing unfenced" [ "$(jqs .fence.unfenced)" = 0 ]

# nothing private any more: everything goes back, and status says so
conf ""
"$TIERCTL" --socket "$SOCK" reload >/dev/null
seen=$WORK/seen
for _ in $(seq 100); do
  status_json | jq -r '"\(.fence.state) \(.fence.restrictions_held)"' >> "$seen"
  [[ $(tail -1 "$seen") == "off 0" ]] && break
  sleep 0.05
done
echo "states seen: $(sort -u "$seen" | tr '\n' ';')"
check "every restriction given back: state off, none held" [ "$(tail -1 "$seen")" = "off 0" ]
check "never 'off' while a restriction was held" bash -c "! grep -qE '^off [1-9]' '$seen'"
check "/a back to ''" [ "$(mems /a)" = "" ]
check "/c back to 0-2" [ "$(mems /c)" = 0-2 ]
check "/b 0-1, /db ''" [ "$(mems /b)|$(mems /db)" = "0-1|" ]
check "no cpuset entry left in the state file" \
  bash -c "[ ! -e '$ST' ] || [ \"\$(jq '[.entries[] | select(.kind != \"knob\")] | length' '$ST')\" = 0 ]"
check "logged" grep -q "no private node left: .* restriction(s) given back" "$LOG"
stop_tierd TERM
check "stop: nothing else changed (/a '' /b 0-1 /c 0-2 /db '')" \
  [ "$(mems /a)|$(mems /b)|$(mems /c)|$(mems /db)" = "|0-1|0-2|" ]
finish
