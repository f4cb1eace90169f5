# Scenario "ctl" (runs inside the VM, busybox sh; sourced by /vm/run.sh):
# status replies of any size on a kernel with tiny socket buffers (issue 13,
# item 7).  net.core.wmem_max and wmem_default are lowered to the kernel's
# minimum (4096 is refused: 4608 on x86_64), so every socket's send buffer
# is a few KiB (SO_SNDBUF is capped at twice wmem_max, and new sockets
# start at wmem_default).  Protocol 1 (SOCK_SEQPACKET) needed a whole
# message in that buffer and failed with EMSGSIZE above ~9 KiB; the framed
# stream must carry a status of tens of KiB through it in many partial
# writes (EPOLLOUT), and tierctl must read it whole.  Short: one boot
# and 100 tierctl calls (about 20 s under TCG; CTL_RELOADS=N for more).
fails=0
pass() { echo "ctl: PASS: $*"; }
fail() { echo "ctl: FAIL: $*"; fails=$((fails + 1)); }
check() { what=$1; shift; if "$@"; then pass "$what"; else fail "$what"; fi; }
[ -x /usr/local/sbin/tierd ] && command -v tierctl >/dev/null || { echo "ctl: FAIL: tierd/tierctl not in the VM"; exit 1; }
N=${CTL_RELOADS:-100}

# The smallest the kernel takes: 4096 is below SOCK_MIN_SNDBUF (2 * (2048 +
# sizeof(struct sk_buff), aligned): 4608 on x86_64), which the sysctl
# refuses with EINVAL.
W=
for v in 4096 4608 5120 6144 8192; do
  echo $v > /proc/sys/net/core/wmem_max 2>/dev/null && echo $v > /proc/sys/net/core/wmem_default 2>/dev/null &&
    [ "$(cat /proc/sys/net/core/wmem_max)" = $v ] && { W=$v; break; }
done
echo "== kernel $(uname -r), wmem_max $(cat /proc/sys/net/core/wmem_max), wmem_default $(cat /proc/sys/net/core/wmem_default)"
check "net.core.wmem_max and wmem_default lowered to ${W:-?} (at most 8 KiB)" \
  [ -n "$W" -a "$(cat /proc/sys/net/core/wmem_default)" = "$W" ]

# A config in a long directory: every reload action then has a long target
# and a long reason (file:line: ...), about 570 bytes of JSON each.
DIR=/tmp/$(printf 'c%.0s' $(seq 120))
mkdir -p "$DIR"
C=$DIR/tierd.conf
printf '[daemon]\ninterval = 1s\nactions_kept = 1024\n[guard]\nmode = off\n' > "$C"
cp "$C" "$C.good"
tierd --config "$C" > /tmp/tierd.log 2>&1 &
tpid=$!
i=0
until tierctl status --json > /dev/null 2>&1; do
  i=$((i + 1)); [ $i -gt 100 ] && break; sleep 0.1
done
check "tierd answers under 4 KiB socket buffers" tierctl status --json > /dev/null

t0=$(cut -d' ' -f1 /proc/uptime)
printf '[relief]\nrate = %s\n' "$(printf 'x%.0s' $(seq 150))" >> "$C"
i=0 ok=0
while [ $i -lt "$N" ]; do
  if tierctl reload > /dev/null 2>&1; then ok=$((ok + 1)); fi
  i=$((i + 1))
done
cp "$C.good" "$C"
t1=$(cut -d' ' -f1 /proc/uptime)
echo "   $N failed reloads from $t0 s to $t1 s of uptime"
check "all $N reloads of the broken file failed, as they must ($ok succeeded)" [ "$ok" = 0 ]

tierctl status --json > /tmp/st.json; rc=$?
bytes=$(wc -c < /tmp/st.json)
acts=$(grep -c '"kind": "reload"' /tmp/st.json)
echo "   tierctl status --json: rc $rc, $bytes bytes pretty-printed, $acts reload actions"
check "tierctl status --json works (rc $rc)" [ $rc = 0 ]
check "it has every action ($acts of $N)" [ "$acts" = "$N" ]
check "the answer is many socket buffers long ($bytes bytes > 8 x $W)" [ "$bytes" -gt $((8 * ${W:-8192})) ]
check "it is whole: the JSON ends with the closing brace" [ "$(tail -c 2 /tmp/st.json | head -c 1)" = "}" ]
tierctl status > /tmp/st.txt; rc=$?
check "tierctl status (text) works (rc $rc) and lists the actions" \
  [ $rc = 0 -a "$(grep -c ' ago  reload ' /tmp/st.txt)" = "$N" ]
check "a good reload answers after that" tierctl reload
check "tierd logged no failed reply" sh -c "! grep -q 'reply to pid\|EMSGSIZE\|Message too long' /tmp/tierd.log"

kill -TERM $tpid; wait $tpid; rc=$?
check "tierd stopped cleanly (rc $rc)" [ $rc = 0 ]
[ $fails -gt 0 ] && { echo "   tierd log (last 20 lines):"; tail -20 /tmp/tierd.log | sed 's/^/   /'; }
echo "ctl: $VM_SHAPE: $fails failure(s)"
[ $fails -eq 0 ] && echo "ctl: PASS" || echo "ctl: FAIL"
exit $((fails > 0))
