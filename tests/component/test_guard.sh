#!/usr/bin/env bash
# The demotion guard end to end on a two-tier capture (Debian 6.12, HMAT):
# walk the slow node 1 through its watermarks by rewriting proc/zoneinfo and
# check what tierd does with demotion_enabled.
# Node 1 DMA32 (its only populated zone): min 8606, low 10757, high 12908,
# managed 257454 pages -> release line high+1% = 12908 + 2574 = 15482.
. "$(dirname "$0")/lib.sh"

new_root vm-6.12-hmat-2tier
echo true > "$ROOT/sys/kernel/mm/numa/demotion_enabled"
cat > "$CONF" <<CONF
[daemon]
interval = 200ms
min_interval = 10ms
max_interval = 1s
[guard]
mode = on
min_hold = 300ms
# the lines alone first; prediction is checked at the end
predict = no
CONF
# Node 0 under reclaim: DMA 3776 + DMA32 8000 free <= its high (205 + 12240).
set_free 0 DMA32 8000
set_free 1 DMA32 100000
start_tierd
check "far from the line: demotion stays on" [ "$(knob)" = true ]
check "guard is watching" [ "$(jqs .guard.state)" = watching ]

set_free 1 DMA32 12000          # between low and high: not yet
sleep 0.5
check "between low and high: still on" [ "$(knob)" = true ]

set_free 1 DMA32 10757          # at low: trip (free <= line)
check "at the low watermark: demotion off" wait_knob false
check "status: tripped" bash -c "'$TIERCTL' --socket '$SOCK' status --json | jq -r .guard.state | grep -q tripped"
check "status: a guard action with the reason" \
  [ "$(jqs '[.actions[] | select(.kind == "demotion" and (.reason | test("node 1 .tier 54. free .* <= low")))] | length')" = 1 ]
check "status: trips counted" [ "$(jqs .guard.trips)" = 1 ]
check "the original is in knobs.json" bash -c "jq -e '.entries[0].original == \"true\"' '$ROOT/run/tierd/knobs.json' >/dev/null"

set_free 1 DMA32 8000           # below min: stays off
sleep 0.3
check "below min: still off" [ "$(knob)" = false ]
set_free 1 DMA32 14000          # above high but under high+1%: hysteresis holds
sleep 0.6
check "above high, under the release line: still off" [ "$(knob)" = false ]
set_free 1 DMA32 20000          # above the release line: release
check "above the release line: demotion back on" wait_knob true
check "status: released" [ "$(jqs .guard.releases)" = 1 ]
check "knobs.json holds nothing once nothing is held" bash -c "jq -e '.entries == []' '$ROOT/run/tierd/knobs.json' >/dev/null"

# Flapping input right around the trip line must not flap the knob.
set_free 1 DMA32 10700
wait_knob false
writes_before=$(jqs '[.actions[] | select(.kind == "demotion")] | length')
for i in $(seq 10); do set_free 1 DMA32 $((i % 2 ? 10900 : 10600)); sleep 0.05; done
check "flapping around low: no release" [ "$(knob)" = false ]
check "flapping around low: no extra writes" [ "$(jqs '[.actions[] | select(.kind == "demotion")] | length')" = "$writes_before" ]

# An admin re-enables demotion during a trip: tierd adopts it.
echo true > "$ROOT/sys/kernel/mm/numa/demotion_enabled"
sleep 0.5
check "admin override is respected" [ "$(knob)" = true ]
check "admin override counted" [ "$(jqs .guard.admin_overrides)" = 1 ]

# Prediction: a steep fall trips before the line is crossed.
sed -i 's/^predict = no/predict = yes/' "$CONF"
check "reload with predict = yes" "$TIERCTL" --socket "$SOCK" reload
set_free 1 DMA32 60000; sleep 0.5
check "recovered before the prediction check" wait_knob true
set_free 1 DMA32 30000; sleep 0.05
set_free 1 DMA32 11000          # still above low (10757), falling fast
check "steep fall: tripped before crossing low" wait_knob false
check "the trip says it was predicted" \
  [ "$(jqs '[.actions[] | select(.kind == "demotion")] | last | .reason | test("predict|slope|eta|expected"; "i")')" = true ]
set_free 1 DMA32 60000
check "recovered" wait_knob true

# Trip again after recovery, then SIGTERM restores.
set_free 1 DMA32 20000; sleep 0.5
set_free 1 DMA32 9000
check "trips again after recovering" wait_knob false
stop_tierd TERM
check "SIGTERM restored demotion_enabled" [ "$(knob)" = true ]

# One tier (this dev machine's shape): quiet, and says why.
rm -rf "$WORK"; new_root host-1node-6.18
printf '[daemon]\ninterval = 100ms\n[guard]\nmode = on\n' > "$CONF"
echo true > "$ROOT/sys/kernel/mm/numa/demotion_enabled"
start_tierd
check "one tier: guard quiet" [ "$(jqs .guard.state)" = quiet ]
check "one tier: says why" bash -c "'$TIERCTL' --socket '$SOCK' status --json | jq -r .guard.why | grep -qi 'tier'"
check "one tier: knob untouched" [ "$(knob)" = true ]
stop_tierd TERM
finish
