#!/usr/bin/env bash
# Status replies of any size (issue 13, item 7): with actions_kept at its
# maximum (1024) and every action about 570 bytes, status is larger than the
# 425,984-byte socket buffer that capped version 1 (SOCK_SEQPACKET, EMSGSIZE).
# It must arrive whole, as JSON and as text, and a reload that shrinks the
# ring keeps the newest actions.
. "$(dirname "$0")/lib.sh"
[[ $(id -u) -eq 0 ]] || skip "needs root (the fixture's state dir under /run/tierd)"
. "$(dirname "$0")/ctl-lib.sh"

new_root vm-6.12-hmat-2tier
long_conf
printf '[daemon]\ninterval = 200ms\nactions_kept = 1024\n' > "$CONF"
start_tierd
check "1,100 failed reloads, one action each" fill_actions 1100
"$PROBE" request "$SOCK" > "$WORK/raw.out"
bytes=$(kv reply_bytes "$WORK/raw.out")
echo "   status on the wire: $bytes bytes"
check "the status frame is larger than version 1's 425,984-byte limit ($bytes bytes)" [ "${bytes:-0}" -gt 425984 ]
check "the frame's payload is the whole JSON (parses, 1024 actions)" \
  [ "$(sed -n 's/^reply=//p' "$WORK/raw.out" | jq '.data.actions | length')" = 1024 ]
"$TIERCTL" --socket "$SOCK" status --json > "$WORK/st.json"
check "tierctl status --json: 1024 actions" [ "$(jq '.actions | length' "$WORK/st.json")" = 1024 ]
check "the newest action is a failed reload, and generation 1 is still in force" \
  [ "$(jq -r '(.actions[-1].reason | startswith("reload failed: ")) and .daemon.config_generation == 1' "$WORK/st.json")" = true ]
check "every action carries its long target" \
  [ "$(jq --arg c "$CONF" '[.actions[] | select(.target == $c)] | length' "$WORK/st.json")" = 1024 ]
"$TIERCTL" --socket "$SOCK" status > "$WORK/st.txt"
check "tierctl status (text): 1024 action lines" [ "$(grep -c ' ago  reload ' "$WORK/st.txt")" = 1024 ]
sed -i 's/^actions_kept = 1024$/actions_kept = 16/' "$CONF"
check "reload to actions_kept = 16" "$TIERCTL" --socket "$SOCK" reload
check "16 actions kept, the newest one the reload just made" \
  [ "$(jqs '(.actions | length == 16) and (.actions[-1].reason == "configuration reloaded")')" = true ]
stop_tierd TERM
finish
