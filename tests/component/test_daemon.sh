#!/usr/bin/env bash
# The real tierd against a writable copy of a two-tier capture: start,
# status fields, reload good and bad, pause/resume, non-root clients,
# restore on SIGTERM and after SIGKILL.
. "$(dirname "$0")/lib.sh"
[[ $(id -u) -eq 0 ]] || skip "needs root (setpriv to uid nobody, chown of the socket)"

new_root vm-6.12-hmat-2tier
echo true > "$ROOT/sys/kernel/mm/numa/demotion_enabled"
cat > "$CONF" <<CONF
[daemon]
interval = 100ms
socket_group = nogroup
CONF

start_tierd
check "status: daemon.pid is tierd's" [ "$(jqs .daemon.pid)" = "$TIERD_PID" ]
check "status: config generation 1" [ "$(jqs .daemon.config_generation)" = 1 ]
check "status: not paused, not dry-run" [ "$(jqs '.daemon.paused or .daemon.dry_run')" = false ]
check "status: two tiers 4 and 54" [ "$(jqs '[.tiers[].id] | join(",")')" = "4,54" ]
check "status: node 0 demotes to node 1" [ "$(jqs '.nodes[0].demotion_targets | join(",")')" = 1 ]
check "status: node 1 headroom is free - min" \
  [ "$(jqs '.nodes[1].headroom_pages == .nodes[1].free_pages - .nodes[1].min_pages')" = true ]
check "status: actions is an array" [ "$(jqs '.actions | type')" = array ]
check "status: guard watching" [ "$(jqs .guard.state)" = watching ]
check "status: ticks advance" wait_status '.daemon.ticks >= 3'
check "text status shows the config generation" \
  bash -c "'$TIERCTL' --socket '$SOCK' status | grep -q 'generation 1'"

# reload: good config bumps the generation
echo "actions_kept = 10" >> "$CONF"
check "reload (tierctl) succeeds" "$TIERCTL" --socket "$SOCK" reload
check "reload bumped the generation to 2" [ "$(jqs .daemon.config_generation)" = 2 ]
# reload by SIGHUP
kill -HUP "$TIERD_PID"
check "SIGHUP reload bumped the generation to 3" wait_status '.daemon.config_generation == 3'
# a broken edit keeps the old generation and says why, with file:line
cp "$CONF" "$WORK/good.conf"
printf '[guard]\ntrip_at = lo\n' >> "$CONF"
"$TIERCTL" --socket "$SOCK" reload >"$WORK/out" 2>&1 && rc=0 || rc=$?
check "bad reload fails (exit 1)" [ "$rc" = 1 ]
check "bad reload names file:line" grep -q "$CONF:6:" "$WORK/out"
check "bad reload keeps generation 3" [ "$(jqs .daemon.config_generation)" = 3 ]
check "status shows the failed reload" bash -c "'$TIERCTL' --socket '$SOCK' status --json | jq -r .daemon.last_reload | grep -q '^reload failed: $CONF:6:'"
cp "$WORK/good.conf" "$CONF"

# pause / resume
check "pause" "$TIERCTL" --socket "$SOCK" pause
check "status says paused" [ "$(jqs .daemon.paused)" = true ]
check "resume" "$TIERCTL" --socket "$SOCK" resume
check "status says running" [ "$(jqs .daemon.paused)" = false ]

# non-root: may read (in the socket group), may not change anything
asnobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
check "non-root in the socket group reads status" asnobody "$TIERCTL" --socket "$SOCK" status --json
asnobody "$TIERCTL" --socket "$SOCK" reload >"$WORK/out" 2>&1 && rc=0 || rc=$?
check "non-root reload refused with exit 4" [ "$rc" = 4 ]
check "refusal says permission denied" grep -q "permission denied" "$WORK/out"
asnobody "$TIERCTL" --socket "$SOCK" pause >/dev/null 2>&1 && rc=0 || rc=$?
check "non-root pause refused" [ "$rc" = 4 ]
check "generation unchanged after refusals" [ "$(jqs .daemon.config_generation)" = 3 ]

# a second tierd on the same state dir refuses to start
"$TIERD" --root "$ROOT" --config "$CONF" --socket "$WORK/other.sock" --state-dir /run/tierd >"$WORK/out" 2>&1 && rc=0 || rc=$?
check "second tierd refuses to start" [ "$rc" = 1 ]
check "second tierd says why" grep -q "another tierd is already running" "$WORK/out"
stop_tierd TERM
check "socket removed on stop" [ ! -e "$SOCK" ]
"$TIERCTL" --socket "$SOCK" status >"$WORK/out" 2>&1 && rc=0 || rc=$?
check "tierctl: daemon not running -> exit 3" [ "$rc" = 3 ]

# Restore: the pressure capture makes the guard turn demotion off.
rm -rf "$WORK"; new_root vm-6.12-hmat-2tier-pressure
printf '[daemon]\ninterval = 100ms\n' > "$CONF"
check "pressure fixture starts with demotion on" grep -qx true "$ROOT/sys/kernel/mm/numa/demotion_enabled"
start_tierd
check "guard wrote false" grep -qx false "$ROOT/sys/kernel/mm/numa/demotion_enabled"
check "knobs.json records the original" bash -c "jq -e '.entries[0].original == \"true\"' '$ROOT/run/tierd/knobs.json' >/dev/null"
check "state.json does not (one owner, one file)" [ ! -e "$ROOT/run/tierd/state.json" ]
check "status: original value shown" [ "$(jqs .demotion_enabled_original)" = true ]
stop_tierd TERM
check "SIGTERM restored demotion_enabled=true" grep -qx true "$ROOT/sys/kernel/mm/numa/demotion_enabled"
check "SIGTERM removed the state files" [ ! -e "$ROOT/run/tierd/state.json" ] && [ ! -e "$ROOT/run/tierd/knobs.json" ]

start_tierd
check "guard wrote false again" grep -qx false "$ROOT/sys/kernel/mm/numa/demotion_enabled"
stop_tierd KILL
check "after SIGKILL the knob is still false" grep -qx false "$ROOT/sys/kernel/mm/numa/demotion_enabled"
check "after SIGKILL knobs.json is left with the original" bash -c "jq -e '.entries[0].original == \"true\"' '$ROOT/run/tierd/knobs.json' >/dev/null"
# Restart against a relieved tier: the crash restore must run first.
cp "$TIER_FIXTURES/vm-6.12-hmat-2tier/proc/zoneinfo" "$ROOT/proc/zoneinfo"
start_tierd
check "restart restored demotion_enabled=true from the state file" grep -qx true "$ROOT/sys/kernel/mm/numa/demotion_enabled"
check "log says it restored after an unclean stop" grep -q "did not stop cleanly" "$LOG"
stop_tierd TERM
finish
