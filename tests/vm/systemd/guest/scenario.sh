#!/bin/bash
# The systemd VM scenario (tests/vm/systemd): runs inside the Debian guest as
# tierd-vmtest.service, as root, with systemd as PID 1.  tierd comes as its
# Debian package (tierd_<version>_<arch>.deb, built on the host by
# conf/debian/build-deb.sh) and is installed here with apt-get, so its
# maintainer scripts run under the real systemd.  Every check prints PASS:,
# FAIL: or SKIPPED: (a feature not in this tierd), then the summary and
# @@TIERD_VM_EXIT=<0|1>@@ on the serial console, and the machine powers off.
#
# Order matters, each step builds on the last: apt-get install (enabled,
# started) -> start (notify/READY) -> guard writes the knob -> journalctl -x
# explains it (catalog) -> the metrics textfile under the unit's sandbox ->
# socket permissions -> journal fields -> reload good and broken (synchronous)
# -> relief moves another user's pages -> fencing -> stop restores everything
# -> SIGKILL then start restores from the state file -> a hung guard is killed
# by the watchdog and restarted, a hung main loop is not -> reload with the
# socket moved -> systemd-analyze security -> upgrade restarts, remove stops
# and keeps the config, purge leaves nothing.
set -u
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C

NPASS=0 NFAIL=0 NSKIP=0
pass() { echo "PASS: $*"; NPASS=$((NPASS + 1)); }
fail() { echo "FAIL: $*"; NFAIL=$((NFAIL + 1)); }
skipped() { echo "SKIPPED: $*"; NSKIP=$((NSKIP + 1)); }
ok() { local d=$1; shift; if "$@"; then pass "$d"; else fail "$d"; fi; }
info() { echo "   $*"; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
up() { cut -d' ' -f1 /proc/uptime; }
section() { echo "== $* (uptime $(up)s)"; }
# wait_for SECONDS COMMAND...: poll every 0.2 s until COMMAND succeeds
wait_for() {
  local end=$(( $(now_ms) + $1 * 1000 )); shift
  until "$@"; do [ "$(now_ms)" -ge "$end" ] && return 1; sleep 0.2; done
}
prop() { systemctl show -P "$1" "${2:-tierd.service}"; }
status_json() { tierctl status --json 2>/dev/null; }
st() { status_json | jq -r "$1" 2>/dev/null; }
gen() { st .daemon.config_generation; }
gen_is() { [ "$(gen)" = "$1" ]; }
knob() { cat /sys/kernel/mm/numa/demotion_enabled; }
knob_is() { [ "$(knob)" = "$1" ]; }
# pages of PID on NODE (from /proc/PID/numa_maps)
node_pages() {
  awk -v k="N$2=" '{for (i = 2; i <= NF; i++) if (index($i, k) == 1) s += substr($i, length(k) + 1)} END {print s + 0}' \
    "/proc/$1/numa_maps" 2>/dev/null || echo 0
}
mems_allowed() { awk '/^Mems_allowed_list/ {print $2}' "/proc/$1/status" 2>/dev/null; }
unit_pid() { prop MainPID "$1"; }
journal_json() { journalctl -u tierd.service -o json --no-pager 2>/dev/null; }
# journal sequence number from a cursor (journalctl 252 has no __SEQNUM in JSON)
cursor_seq() { sed -n 's/.*;i=\([0-9a-f]*\);.*/\1/p' | head -1 | { read -r h && [ -n "$h" ] && echo $((16#$h)); }; }
# Reclaim pressure on node0 for the guard: a hog (first touch, CPUs are on
# node0) bigger than node0's free memory takes node0 down to its low
# watermark, where allocations fall back to node1.  Free <= high is what the
# guard calls "under reclaim pressure"; with the trip line above node1's free
# memory (10-vmtest.conf) it then trips.
node0_free_mib() { awk '/MemFree/ {print int($4 / 1024)}' /sys/devices/system/node/node0/meminfo; }
pressure_on() {
  local mib=$(( $(node0_free_mib) + 64 )) pid
  systemd-run --quiet --unit=tierd-vm-pressure -p OOMScoreAdjust=0 /usr/local/bin/hog "$mib" -1
  pid=$(unit_pid tierd-vm-pressure.service)
  full() { [ "$(awk '/^VmRSS/ {print int($2 / 1024)}' "/proc/$pid/status" 2>/dev/null || echo 0)" -ge $((mib - 8)) ]; }
  wait_for 60 full
  info "pressure: hog of $mib MiB (pid $pid) holds node0 at $(node0_free_mib) MiB free"
}
pressure_off() { systemctl stop tierd-vm-pressure.service 2>/dev/null; }
reload_to() {  # reload (synchronous: ExecReload=tierctl reload), check the generation is $1
  systemctl reload tierd.service && wait_for 15 gen_is "$1"
}

D=/sys/kernel/mm/numa/demotion_enabled
CONF=/etc/tierd.conf
DROP=/etc/tierd.conf.d
UNITD=/etc/systemd/system/tierd.service.d
MID_STARTED=577aa9409c6c4d2db727f91c1cffb35f
MID_RELOAD=05c158ad77bf48b186ce25aac0470cb8
MID_KNOB=73cfe3be7a5843c4829307b0df5a7d15
MID_RESTORE=9a76cef60de74a02b51b671ffa41d518
MID_GUARD=8cadf2fe4c494d78b0ad8b97340ad0a5
MID_UNIT_STARTED=39f53479d3a045ac8e11786248231fbf   # systemd: "Started UNIT"
DEB=$(ls /usr/local/lib/tierd-vmtest/tierd_*.deb 2>/dev/null | head -1)
export DEBIAN_FRONTEND=noninteractive

# ---------------------------------------------------------------- package
# Paths named *tierd* where a package or its scripts could put them (not
# all of /usr: find is slow under TCG; not the test's /usr/local/lib).
tierd_paths() {
  find /etc /lib/systemd /usr/lib /usr/sbin /usr/bin /usr/share/doc /usr/share/man /usr/share/bash-completion \
    /usr/share/lintian /var/lib/systemd /var/lib/dpkg/info /var/lib/prometheus /run -name '*tierd*' 2>/dev/null | sort
}
# apt-get install ./tierd_*.deb: the postinst enables and starts the unit
# (deb-systemd-helper, deb-systemd-invoke), systemd's dpkg trigger adds the
# journal catalog.  Then stopped again, so "start" below starts it cold.
pkg_install() {
  section "package: apt-get install ./$(basename "$DEB")"
  tierd_paths > /tmp/tierd-paths.before
  local t0 rc
  t0=$(now_ms)
  apt-get install -y --no-install-recommends "$DEB" > /tmp/apt-install.log 2>&1; rc=$?
  sed 's/^/   apt> /' /tmp/apt-install.log | grep -v -e '^   apt> $' | tail -12
  info "apt-get install took $(( $(now_ms) - t0 )) ms"
  ok "apt-get install ./$(basename "$DEB") succeeded (offline: the dependencies are installed), rc $rc" [ $rc = 0 ]
  ok "dpkg: tierd $(dpkg-query -W -f='${Version}' tierd 2>/dev/null) is installed" \
    [ "$(dpkg-query -W -f='${Status}' tierd 2>/dev/null)" = "install ok installed" ]
  dpkg -L tierd > /tmp/tierd.files 2>/dev/null
  local f missing=
  for f in /usr/sbin/tierd /usr/bin/tierctl /lib/systemd/system/tierd.service /etc/tierd.conf \
           /usr/share/man/man8/tierd.8.gz /usr/share/man/man5/tierd.conf.5.gz \
           /usr/share/bash-completion/completions/tierctl /usr/lib/systemd/catalog/tierd.catalog; do
    [ -e "$f" ] || missing="$missing $f"
  done
  ok "the package's files are in place (dpkg -L: $(wc -l < /tmp/tierd.files) paths)${missing:+; missing:$missing}" [ -z "$missing" ]
  ok "/etc/tierd.conf is registered as a conffile" sh -c "dpkg-query -W -f='\${Conffiles}' tierd | grep -q '^ /etc/tierd.conf '"
  ok "postinst enabled the unit (is-enabled: $(systemctl is-enabled tierd.service 2>&1))" \
    [ "$(systemctl is-enabled tierd.service)" = enabled ]
  ok "postinst started it (is-active: $(prop ActiveState)/$(prop SubState))" [ "$(prop ActiveState)/$(prop SubState)" = active/running ]
  ok "systemd's trigger added the catalog (journalctl --list-catalog has the guard's entry)" \
    sh -c "journalctl --list-catalog 2>/dev/null | grep -q '^$MID_GUARD tierd: '"
  ok "tierctl answers: $(tierctl status --json 2>/dev/null | jq -r '"tierd \(.daemon.version), \(.tiers | length) tiers"')" \
    sh -c 'tierctl status >/dev/null'
  systemctl stop tierd.service
  ok "stopped again for the cold start below; demotion_enabled still the admin's true" knob_is true
}

# journalctl -x prints the catalog's explanation next to the guard's trip.
catalog_check() {
  section "journalctl -x -u tierd: the catalog explains the guard trip"
  journalctl -x -u tierd.service --no-pager -o short-monotonic MESSAGE_ID=$MID_GUARD > /tmp/journal-x.txt 2>&1
  sed -n '1,14p' /tmp/journal-x.txt | sed 's/^/   /'
  ok "journalctl -x shows the guard entry's subject next to the trip" grep -q 'Subject: tierd demotion guard: trip' /tmp/journal-x.txt
  ok "and its explanation (why, what to do)" \
    sh -c "grep -q 'Why it exists' /tmp/journal-x.txt && grep -q 'What to do' /tmp/journal-x.txt"
}

# [daemon] metrics_textfile under the hardened unit: ProtectSystem=strict
# refuses /var until a drop-in allows exactly that directory.
metrics_check() {
  section "metrics: the textfile for node_exporter under the unit's sandbox"
  local dir=/var/lib/prometheus/node-exporter g
  mkdir -p $dir   # what the prometheus-node-exporter package creates
  printf '[daemon]\nmetrics_textfile = %s/tierd.prom\nmetrics_interval = 1s\n' $dir > "$DROP/60-metrics.conf"
  g=$(gen); reload_to $((g + 1)) || fail "reload with metrics_textfile (last_reload $(st .daemon.last_reload))"
  refused() { journalctl -u tierd.service --no-pager -o cat | grep -q "metrics: writing $dir/tierd.prom failed: .*Read-only file system"; }
  ok "without a drop-in the sandbox refuses the write, and the journal says so" wait_for 5 refused
  journalctl -u tierd.service --no-pager -o cat | grep -m1 'metrics: writing' | cut -c1-240 | sed 's/^/   journal: /'
  ok "tierctl status shows the error" sh -c "tierctl status --json | jq -r .metrics.last_error | grep -q 'Read-only file system'"
  mkdir -p $UNITD
  printf '[Service]\nReadWritePaths=%s\n' $dir > $UNITD/60-metrics.conf
  systemctl daemon-reload
  systemctl restart tierd.service
  info "drop-in $UNITD/60-metrics.conf: ReadWritePaths=$(prop ReadWritePaths)"
  written() { [ -s $dir/tierd.prom ]; }
  ok "with ReadWritePaths=$dir the textfile is written" wait_for 10 written
  ok "mode 0644 for node_exporter's user despite UMask=0077 ($(stat -c '%a %U' $dir/tierd.prom 2>/dev/null))" \
    [ "$(stat -c %a $dir/tierd.prom 2>/dev/null)" = 644 ]
  ok "no temp file left ($(ls -A $dir | tr '\n' ' '))" [ "$(ls -A $dir)" = tierd.prom ]
  grep -E '^tierd_(build_info|node_free_bytes|guard_trips_total|demotion_enabled) ' $dir/tierd.prom | head -5 | sed 's/^/   /'
  ok "tierctl metrics and the textfile have the same series" \
    sh -c "[ \"\$(tierctl metrics | grep -v '^#' | cut -d' ' -f1 | sort)\" = \"\$(grep -v '^#' $dir/tierd.prom | cut -d' ' -f1 | sort)\" ]"
  ok "the file is only writable there: /var/lib/prometheus itself stays read-only for tierd" \
    sh -c "nsenter -t $(prop MainPID) -m sh -c 'touch /var/lib/prometheus/x' 2>/dev/null; [ ! -e /var/lib/prometheus/x ]"
  rm -f "$DROP/60-metrics.conf"
  g=$(gen); reload_to $((g + 1)) || fail "reload without metrics_textfile"
  ok "metrics_textfile removed + reload: the file is gone (no stale series)" sh -c "[ ! -e $dir/tierd.prom ]"
  rm -f $UNITD/60-metrics.conf; systemctl daemon-reload
  rm -rf /var/lib/prometheus
}

# Upgrade (reinstall: prerm upgrade, postinst configure OLD) restarts tierd
# and keeps the admin's edits; remove stops it (the host restored) and keeps
# the config; purge leaves nothing of tierd behind.  dpkg directly (apt-get
# calls the same scripts; dpkg is much faster under TCG).
pkg_upgrade_remove_purge() {
  section "package: upgrade restarts, remove stops, purge leaves nothing"
  local p0 p1 rc
  systemctl start tierd.service
  p0=$(prop MainPID)
  dpkg -i "$DEB" > /tmp/apt-reinstall.log 2>&1; rc=$?
  p1=$(prop MainPID)
  ok "dpkg -i of the same package again (the upgrade path) rc $rc restarted tierd (MainPID $p0 -> $p1)" \
    [ $rc = 0 -a "$p1" != "$p0" -a "$p1" != 0 -a "$(prop ActiveState)" = active ]
  ok "the admin's edit of /etc/tierd.conf survived (conffile kept: $(grep -m1 '^interval' $CONF))" grep -q '^interval = 500ms$' $CONF
  ok "still enabled" [ "$(systemctl is-enabled tierd.service)" = enabled ]
  # tierd holds demotion off when the package goes: removal must give it back.
  pressure_on
  wait_for 20 knob_is false || fail "guard did not trip before the removal"
  info "before removal: demotion_enabled=$(knob), tierd pid $(prop MainPID)"
  dpkg -r tierd > /tmp/apt-remove.log 2>&1; rc=$?
  pressure_off
  ok "dpkg -r tierd (remove), rc $rc" [ $rc = 0 ]
  ok "prerm stopped tierd, which restored demotion_enabled=true" knob_is true
  ok "no tierd process left" sh -c '! pgrep -x tierd >/dev/null'
  ok "the unit and the binaries are gone" sh -c '[ ! -e /lib/systemd/system/tierd.service ] && [ ! -e /usr/sbin/tierd ] && [ ! -e /usr/bin/tierctl ]'
  ok "the configuration is kept on remove (dpkg: $(dpkg-query -W -f='${Status}' tierd 2>/dev/null))" \
    sh -c "[ -f $CONF ] && [ \"\$(dpkg-query -W -f='\${Status}' tierd)\" = 'deinstall ok config-files' ]"
  # The admin removes the drop-ins they made (not the package's files);
  # then purge must leave nothing of tierd anywhere.
  rm -rf "$DROP"/*.conf "$UNITD" /run/systemd/system/tierd.service.d
  systemctl daemon-reload
  dpkg -P tierd > /tmp/apt-purge.log 2>&1; rc=$?
  ok "dpkg -P tierd (purge), rc $rc" [ $rc = 0 ]
  ok "dpkg no longer knows tierd" sh -c '! dpkg-query -W tierd >/dev/null 2>&1'
  ok "/etc/tierd.conf and /etc/tierd.conf.d are gone" sh -c "[ ! -e $CONF ] && [ ! -e $DROP ]"
  ok "/run/tierd is gone" [ ! -e /run/tierd ]
  ok "the enablement symlink and deb-systemd-helper's state are gone" \
    sh -c '[ ! -e /etc/systemd/system/multi-user.target.wants/tierd.service ] &&
           ! find /var/lib/systemd/deb-systemd-helper-enabled /var/lib/systemd/deb-systemd-helper-masked -name "*tierd*" 2>/dev/null | grep -q .'
  ok "systemd forgot the unit (LoadState=$(prop LoadState))" [ "$(prop LoadState)" = not-found ]
  ok "the catalog entries are gone (the trigger ran again)" sh -c "! journalctl --list-catalog 2>/dev/null | grep -q '^$MID_GUARD '"
  # A directory of dpkg -L that another package owns too (/usr/share/doc) stays.
  left=$(while read -r f; do [ -e "$f" ] && echo "$f"; done < /tmp/tierd.files | while read -r f; do
    [ -d "$f" ] && dpkg -S "$f" >/dev/null 2>&1 && continue; echo "$f"; done | head -5)
  ok "no file of the package is left (dpkg -L before the removal; shared directories aside)${left:+: $left}" [ -z "$left" ]
  tierd_paths > /tmp/tierd-paths.after
  # Runtime state of the test's own transient units, and the runtime
  # property drop-ins PID 1 keeps for units whose AllowedMemoryNodes=
  # fencing set and reset (shown below, not the package's files).
  new=$(comm -13 /tmp/tierd-paths.before /tmp/tierd-paths.after |
    grep -v -e '^/run/systemd/transient' -e '^/run/systemd/units' -e '^/run/systemd/system.control/' | head -5)
  ok "no path named *tierd* that was not there before the installation${new:+: $new}" [ -z "$new" ]
  for f in $(find /run/systemd/system.control -type f 2>/dev/null | head -8); do
    info "left by PID 1 for fencing's runtime properties: $f: $(tr '\n' ' ' < "$f" | cut -c1-120)"
  done
  ok "host restored: demotion_enabled is the admin's true" knob_is true
  find /sys/fs/cgroup -name cpuset.mems -exec sh -c 'for f; do echo "$f=$(cat "$f")"; done' _ {} + | sort > /tmp/cpuset.purged
  find /sys/fs/cgroup -name cgroup.subtree_control -exec sh -c 'for f; do echo "$f=$(cat "$f")"; done' _ {} + | sort > /tmp/subtree.purged
  changed=$(cmp_before_after /tmp/subtree.before /tmp/subtree.purged)
  ok "host restored: every cgroup.subtree_control as before tierd${changed:+: $changed}" [ -z "$changed" ]
  changed=$(cmp_before_after /tmp/cpuset.before /tmp/cpuset.purged)
  ok "host restored: every cpuset.mems as before tierd${changed:+: $changed}" [ -z "$changed" ]
}

echo "@@TIERD_VM_READY uptime=$(up)@@"
section "guest"
info "kernel $(uname -r); $(systemctl --version | head -1); $(tierd --version)"
tiers=$(for t in /sys/devices/virtual/memory_tiering/memory_tier*; do echo "$(basename "$t")=$(cat "$t/nodelist")"; done | tr '\n' ' ')
info "nodes with memory: $(cat /sys/devices/system/node/has_memory); tiers: $tiers"
info "cgroup controllers at the root: $(cat /sys/fs/cgroup/cgroup.subtree_control)"
# Checks the host made on the staged install (run-systemd-vm.sh).
if [ -f /usr/local/lib/tierd-vmtest/host-checks ]; then
  while IFS= read -r l; do
    case $l in PASS:*) pass "${l#PASS: }" ;; FAIL:*) fail "${l#FAIL: }" ;; *) info "$l" ;; esac
  done < /usr/local/lib/tierd-vmtest/host-checks
fi

# ---------------------------------------------------------------- setup
section "setup"
mkdir -p "$DROP"
# socket_group for the permission checks; the guard with lines a calm system
# is already below (free <= managed memory < 99% of it + high), so it trips at
# once and never releases: the knob write is guaranteed.
cat > "$DROP/10-vmtest.conf" <<'EOF'
[daemon]
socket_group = tierstat
[guard]
mode = on
trip_at = high+99%
release_at = high+100%
EOF
echo true > $D   # the admin's setting, which tierd must put back
systemd-run --quiet --unit=tierd-vm-plain sleep infinity
systemd-run --quiet --unit=tierd-vm-granted sleep infinity
PLAIN_PID=$(unit_pid tierd-vm-plain.service) GRANTED_PID=$(unit_pid tierd-vm-granted.service)
# Every cpuset.mems before tierd (restore check at stop).
find /sys/fs/cgroup -name cpuset.mems -exec sh -c 'for f; do echo "$f=$(cat "$f")"; done' _ {} + | sort > /tmp/cpuset.before
find /sys/fs/cgroup -name cgroup.subtree_control -exec sh -c 'for f; do echo "$f=$(cat "$f")"; done' _ {} + | sort > /tmp/subtree.before
PLAIN_MEMS0=$(mems_allowed "$PLAIN_PID") GRANTED_MEMS0=$(mems_allowed "$GRANTED_PID")
info "demotion_enabled=$(knob); tierd-vm-plain pid $PLAIN_PID Mems_allowed_list=$PLAIN_MEMS0;" \
  "cpuset.mems files: $(wc -l < /tmp/cpuset.before)"

pkg_install

# ---------------------------------------------------------------- start
section "systemctl enable --now / start: Type=notify, READY=1"
systemctl enable tierd.service 2>&1 | sed 's/^/   /'
ok "systemctl enable tierd: is-enabled says enabled" [ "$(systemctl is-enabled tierd.service)" = enabled ]
t0=$(now_ms)
systemctl start tierd.service; rc=$?
t1=$(now_ms)
status_json > /tmp/status.start; src=$?
info "systemctl start took $((t1 - t0)) ms (rc $rc)"
ok "systemctl start tierd returned 0 and the unit is active (running)" \
  [ $rc = 0 -a "$(prop ActiveState)" = active -a "$(prop SubState)" = running ]
ok "Type=notify (NotifyAccess=$(prop NotifyAccess))" [ "$(prop Type)" = notify ]
ok "the control socket answered right after start returned" [ $src = 0 ]
ticks=$(jq -r .daemon.ticks /tmp/status.start 2>/dev/null)
ok "tierd had finished its first tick when start returned (ticks=$ticks): READY=1 is sent after it" \
  [ "${ticks:-0}" -ge 1 ]
# Causality in the journal: tierd logs "started" on the native journal socket
# before its first tick and READY=1; PID 1 logs "Started tierd.service" on the
# same socket only once READY=1 arrived.  So the started event's sequence
# number must be the lower one (for Type=simple it would not be).
PID1=$(prop MainPID)
sq_started=$(journal_json | jq -r --arg p "$PID1" --arg m $MID_STARTED \
  'select(.MESSAGE_ID == $m and ._PID == $p) | .__CURSOR' | cursor_seq)
sq_unit=$(journalctl -o json --no-pager MESSAGE_ID=$MID_UNIT_STARTED UNIT=tierd.service _PID=1 |
  jq -r .__CURSOR | tail -1 | cursor_seq)
d_usec=$(( $(prop ActiveEnterTimestampMonotonic) - $(prop ExecMainStartTimestampMonotonic) ))
info "journal seqnum: tierd 'started' $sq_started, systemd 'Started tierd.service' $sq_unit;" \
  "exec -> active took $((d_usec / 1000)) ms"
seq_ok() { [ -n "$sq_started" ] && [ -n "$sq_unit" ] && [ "$sq_started" -lt "$sq_unit" ]; }
ok "systemd declared tierd started only after tierd's own startup (journal order)" seq_ok

# ---------------------------------------------------------------- guard
section "guard: writes /sys/kernel/mm/numa/demotion_enabled under the unit's hardening"
info "guard before pressure: $(st '.guard.state') / $(st '.guard.why')"
pressure_on
ok "guard turned demotion_enabled off (the admin had it on)" wait_for 20 knob_is false
info "guard: $(st '.guard.state') / $(st '.guard.why')"
pressure_off   # the guard keeps holding: node1 never gets above the release line
ok "tierd recorded demotion_enabled_original=true" [ "$(st .demotion_enabled_original)" = true ]
ok "the knob write is an action with result ok" \
  [ "$(st '[.actions[] | select(.target | test("demotion_enabled")) | .result] | first')" = ok ]
catalog_check
metrics_check

# ---------------------------------------------------------------- socket
section "control socket: root, socket_group, others"
ls -l /run/tierd/ | sed 's/^/   /'
SOCK=/run/tierd/tierd.sock
info "socket $(stat -c '%U:%G %a' $SOCK)"
tierctl status > /tmp/status.root 2>&1; ok "root: tierctl status works" [ $? = 0 ]
runuser -u alice -- tierctl status > /tmp/status.alice 2>&1; rc=$?
ok "alice (in socket_group tierstat): tierctl status works (read-only), rc $rc" [ $rc = 0 ]
head -5 /tmp/status.alice | sed 's/^/   alice> /'
runuser -u alice -- tierctl pause > /tmp/pause.alice 2>&1; rc=$?
ok "alice: tierctl pause (a mutation) is refused with exit 4, rc $rc: $(head -1 /tmp/pause.alice)" [ $rc = 4 ]
ok "and the daemon is not paused" [ "$(st .daemon.paused)" = false ]
runuser -u bob -- tierctl status > /tmp/status.bob 2>&1; rc=$?
ok "bob (not in the group): tierctl status is refused with exit 4, rc $rc" [ $rc = 4 ]

# ---------------------------------------------------------------- journal
section "journal: structured fields"
journal_json > /tmp/journal.json
for m in "started:$MID_STARTED:SYSLOG_IDENTIFIER" "knob written:$MID_KNOB:TIERD_KNOB" \
         "knob written:$MID_KNOB:TIERD_VALUE" "guard trip:$MID_GUARD:TIERD_NODE" \
         "guard trip:$MID_GUARD:TIERD_TARGET_NODE" "guard trip:$MID_GUARD:TIERD_GUARD_ACTION"; do
  IFS=: read -r what mid field <<< "$m"
  n=$(jq -r --arg m "$mid" --arg f "$field" 'select(.MESSAGE_ID == $m and has($f)) | .MESSAGE_ID' /tmp/journal.json | wc -l)
  ok "journalctl -u tierd -o json: $what event (MESSAGE_ID=$mid) carries $field ($n entries)" [ "$n" -ge 1 ]
done
jq -c --arg m $MID_GUARD 'select(.MESSAGE_ID == $m) | {MESSAGE, MESSAGE_ID, PRIORITY, TIERD_GUARD_ACTION,
  TIERD_NODE, TIERD_TARGET_NODE, TIERD_FREE_PAGES, TIERD_LINE_PAGES}' /tmp/journal.json | head -1 | sed 's/^/   /'

# ---------------------------------------------------------------- reload
# (the ctl helper's checks: synchronous reload through ExecReload=tierctl
# reload; kept in these two functions)
ctl_reload_checks() {
  section "reload: edit /etc/tierd.conf, systemctl reload (ExecReload=tierctl reload, synchronous)"
  local g0 rc t0 g_after out statusline
  info "ExecReload: $(prop ExecReload | sed 's/ ; ignore_errors.*//')"
  g0=$(gen)
  sed -i 's/^#interval = 1s$/interval = 500ms/' $CONF
  ok "edited $CONF: interval = 500ms" grep -q '^interval = 500ms$' $CONF
  t0=$(now_ms)
  systemctl reload tierd.service; rc=$?
  g_after=$(gen)
  info "systemctl reload returned $rc after $(( $(now_ms) - t0 )) ms; generation right then: $g_after"
  ok "systemctl reload tierd returned 0 with the new generation already in force ($g0 -> $g_after, no waiting)" \
    [ $rc = 0 -a "$g_after" = $((g0 + 1)) ]
  ok "last_reload is ok" [ "$(st .daemon.last_reload)" = ok ]
  n=$(journal_json | jq -r --arg m $MID_RELOAD --arg g $((g0 + 1)) \
    'select(.MESSAGE_ID == $m and .TIERD_CONFIG_GENERATION == $g) | .MESSAGE' | wc -l)
  ok "the reload is in the journal with TIERD_CONFIG_GENERATION=$((g0 + 1))" [ "$n" -ge 1 ]
  # broken edit: systemctl reload itself fails
  sed -i 's/^interval = 500ms$/interval = banana/' $CONF
  t0=$(now_ms)
  out=$(systemctl reload tierd.service 2>&1); rc=$?
  info "systemctl reload (broken file) returned $rc after $(( $(now_ms) - t0 )) ms; what the admin sees:"
  echo "$out" | sed 's/^/   systemctl> /'
  ok "a broken edit makes systemctl reload tierd exit non-zero (rc $rc)" [ $rc != 0 ]
  ok "and keeps generation $((g0 + 1)), last_reload says why at once" \
    sh -c "[ '$(gen)' = $((g0 + 1)) ] && tierctl status --json | jq -r .daemon.last_reload | grep -q '^reload failed: $CONF:[0-9]*: \[daemon\] interval'"
  ok "tierd is still active (running)" [ "$(prop ActiveState)/$(prop SubState)" = active/running ]
  info "ReloadResult=$(prop ReloadResult 2>/dev/null)"
  journalctl -u tierd.service --no-pager -o cat -n 40 | grep -F 'tierctl: reload:' | tail -1 | sed 's/^/   journal> /'
  ok "the journal has tierctl's file:line message from ExecReload=" \
    sh -c "journalctl -u tierd.service --no-pager -o cat | grep -q 'tierctl: reload: reload failed: $CONF:[0-9]*:'"
  systemctl status tierd.service --no-pager -n 4 2>/dev/null | sed 's/^/   status> /'
  statusline=$(systemctl status tierd.service --no-pager 2>/dev/null | grep -m1 'Status:')
  ok "systemctl status tierd shows the file:line error in its Status: line" \
    sh -c "echo '$statusline' | grep -q 'reload failed: .*tierd.conf:[0-9]*'"
  sed -i 's/^interval = banana$/interval = 500ms/' $CONF
  systemctl reload tierd.service; rc=$?
  g_after=$(gen)
  no_error() { [ $rc = 0 ] && [ "$g_after" = $((g0 + 2)) ] && ! prop StatusText | grep -q 'reload failed'; }
  ok "fixed + reload: rc 0, generation $((g0 + 2)) at once, and the Status: line no longer shows the error" no_error
}

# The socket moved with Environment=TIERD_SOCKET= (tierd and the tierctl of
# ExecReload= both read it): systemctl reload keeps working.
ctl_reload_alt_socket_checks() {
  section "reload with the control socket elsewhere (Environment=TIERD_SOCKET=)"
  local alt=/run/tierd/alt.sock g0 rc
  mkdir -p $UNITD
  printf '[Service]\nEnvironment=TIERD_SOCKET=%s\n' $alt > $UNITD/60-vmtest-socket.conf
  systemctl daemon-reload
  systemctl restart tierd.service
  ok "tierd listens on $alt" [ -S $alt ]
  tierctl status > /dev/null 2>&1; rc=$?
  ok "and not on the default socket (tierctl without --socket: exit 3, rc $rc)" [ $rc = 3 ]
  altgen() { tierctl --socket $alt status --json 2>/dev/null | jq -r .daemon.config_generation; }
  g0=$(altgen)
  sed -i 's/^interval = 500ms$/interval = 400ms/' $CONF
  systemctl reload tierd.service; rc=$?
  ok "systemctl reload works on the moved socket (rc $rc, generation $g0 -> $(altgen))" \
    [ $rc = 0 -a "$(altgen)" = $((g0 + 1)) ]
  sed -i 's/^interval = 400ms$/interval = lots/' $CONF
  systemctl reload tierd.service > /dev/null 2>&1; rc=$?
  ok "and fails there on a broken file (rc $rc)" [ $rc != 0 ]
  sed -i 's/^interval = lots$/interval = 500ms/' $CONF
  # No restart back to the default socket (a restart costs 10-20 s under
  # TCG): the final stop ends this instance.
  rm -f $UNITD/60-vmtest-socket.conf
  systemctl daemon-reload
}

ctl_reload_checks

# ---------------------------------------------------------------- relief
section "relief: moves another user's pages"
if [ "$(st '.relief | type')" = object ] && [ -x /usr/local/bin/hog ]; then
  systemd-run --quiet --unit=tierd-vm-hog --uid=bob -p OOMScoreAdjust=0 /usr/local/bin/hog 128 -1 1
  HOG=$(unit_pid tierd-vm-hog.service)
  hog_ready() { [ "$(node_pages "$HOG" 1)" -ge 30000 ]; }
  wait_for 30 hog_ready
  n1a=$(node_pages "$HOG" 1) n0a=$(node_pages "$HOG" 0)
  info "hog pid $HOG (user bob, mbind node1): node0 $n0a pages, node1 $n1a pages"
  # Relief on at once: node1 is always "below" high+99%; everything of a
  # victim moves (move_all), to the faster node (the only one in 2tier).
  g=$(gen)
  cat > "$DROP/30-relief.conf" <<'EOF'
[relief]
enabled = yes
start_at = high+99%
stop_at = high+100%
move_all = yes
targets = faster
tick_budget = 256M
cooldown = 0
EOF
  reload_to $((g + 1)) || fail "reload with the relief drop-in (generation $(gen), last_reload $(st .daemon.last_reload))"
  moved() { [ "$(node_pages "$HOG" 1)" -le $((n1a / 10)) ]; }
  wait_for 30 moved
  n1b=$(node_pages "$HOG" 1) n0b=$(node_pages "$HOG" 0)
  info "after: node0 $n0b pages, node1 $n1b pages; relief moved_bytes_total=$(st .relief.moved_bytes_total)" \
    "failures=$(status_json | jq -c .relief.failures)"
  ok "relief moved bob's pages node1 -> node0 with move_pages (node1 $n1a -> $n1b pages)" \
    [ "$n1b" -le $((n1a / 10)) -a "$n0b" -ge $((n0a + n1a / 2)) ]
  ok "relief status counts the bytes it moved" [ "$(st .relief.moved_bytes_total)" -gt 0 ]
  rm -f "$DROP/30-relief.conf"; g=$(gen); reload_to $((g + 1)) || fail "reload without the relief drop-in"
  systemctl stop tierd-vm-hog.service
else
  skipped "relief: this tierd has no [relief] status section (or no hog helper)"
fi

# ---------------------------------------------------------------- fence
section "fence: private node 1, granted unit, AllowedMemoryNodes / cpuset.mems"
if grep -q '^\[fence\]' $CONF && [ "$(st '.fence | type')" = object ]; then
  g=$(gen)
  cat > "$DROP/40-fence.conf" <<'EOF'
[fence]
private_nodes = 1
[grant vmtest]
cgroup = /system.slice/tierd-vm-granted.service
nodes = 1
EOF
  reload_to $((g + 1)) || fail "reload with the fence drop-in (last_reload $(st .daemon.last_reload))"
  CG=/sys/fs/cgroup/system.slice
  fenced() { [ "$(mems_allowed "$PLAIN_PID")" = 0 ]; }
  wait_for 20 fenced
  info "fence: state $(st .fence.state), backend $(st .fence.backend), fenced $(st .fence.fenced), writes $(st .fence.writes), problem $(st .fence.problem)"
  info "tierd-vm-plain: AllowedMemoryNodes='$(prop AllowedMemoryNodes tierd-vm-plain.service)'" \
    "cpuset.mems='$(cat $CG/tierd-vm-plain.service/cpuset.mems 2>/dev/null)'" \
    "effective='$(cat $CG/tierd-vm-plain.service/cpuset.mems.effective 2>/dev/null)'"
  info "tierd-vm-granted: AllowedMemoryNodes='$(prop AllowedMemoryNodes tierd-vm-granted.service)'" \
    "effective='$(cat $CG/tierd-vm-granted.service/cpuset.mems.effective 2>/dev/null)'"
  ok "a running non-granted unit is fenced off node 1 (its task's Mems_allowed_list $(mems_allowed "$PLAIN_PID"))" fenced
  ok "the granted unit keeps node 1 (Mems_allowed_list $(mems_allowed "$GRANTED_PID"))" \
    [ "$(mems_allowed "$GRANTED_PID")" = 0-1 ]
  systemd-run --quiet --unit=tierd-vm-late sleep infinity
  LATE_PID=$(unit_pid tierd-vm-late.service)
  late_fenced() { [ "$(mems_allowed "$LATE_PID")" = 0 ]; }
  ok "a unit started after fencing is fenced too" wait_for 10 late_fenced
  # The kernel enforces it: a task in the fenced unit cannot bind to node 1.
  # (hog's raw mbind(MPOL_BIND, node 1), not numactl: libnuma already refuses
  # nodes outside the cpuset itself, without asking the kernel.)
  out=$(sh -c "echo \$\$ > $CG/tierd-vm-plain.service/cgroup.procs && exec hog 16 0 1" 2>&1); rc=$?
  info "mbind(node 1) inside tierd-vm-plain's cgroup: rc $rc ($(echo "$out" | grep -m1 mbind))"
  ok "the kernel refuses mbind to node 1 inside a fenced unit" sh -c "[ $rc != 0 ] && echo '$out' | grep -q 'mbind: Invalid argument'"
else
  skipped "fence: this tierd has no [fence] section / fence status"
fi

# ---------------------------------------------------------------- stop
section "systemctl stop: restores everything"
systemctl stop tierd.service; rc=$?
info "stop rc $rc; result $(prop Result); demotion_enabled=$(knob)"
ok "systemctl stop tierd restored demotion_enabled=true" knob_is true
ok "the state files are gone after a clean stop" [ ! -e /run/tierd/state.json ] && [ ! -e /run/tierd/knobs.json ]
find /sys/fs/cgroup -name cpuset.mems -exec sh -c 'for f; do echo "$f=$(cat "$f")"; done' _ {} + | sort > /tmp/cpuset.after
find /sys/fs/cgroup -name cgroup.subtree_control -exec sh -c 'for f; do echo "$f=$(cat "$f")"; done' _ {} + | sort > /tmp/subtree.after
cmp_before_after() {  # $1 before $2 after: lines "path=value" of paths in both that differ
  awk -F= 'NR == FNR {b[$1] = $2; next} ($1 in b) && b[$1] != $2 {print $1 "=" b[$1] "->" $2}' "$1" "$2" | head -5
}
if [ -s /tmp/cpuset.before ]; then
  changed=$(cmp_before_after /tmp/cpuset.before /tmp/cpuset.after)
  ok "every cpuset.mems that existed before is as before ($(wc -l < /tmp/cpuset.before) files)${changed:+: $changed}" [ -z "$changed" ]
else
  info "no cpuset.mems existed before tierd (cpuset not enabled anywhere); $(wc -l < /tmp/cpuset.after) now"
fi
changed=$(cmp_before_after /tmp/subtree.before /tmp/subtree.after)
ok "every cgroup.subtree_control is as before ($(wc -l < /tmp/subtree.before) cgroups)${changed:+: $changed}" [ -z "$changed" ]
extra=$(comm -13 <(cut -d= -f1 /tmp/cpuset.before) <(cut -d= -f1 /tmp/cpuset.after) | while read -r f; do
  v=$(cat "$f" 2>/dev/null); [ -z "$v" ] || echo "$f=$v"; done | head -5)
ok "cpuset.mems files that appeared meanwhile are empty (no restriction)${extra:+: $extra}" [ -z "$extra" ]
ok "tierd-vm-plain's task may use every node again ($(mems_allowed "$PLAIN_PID"), was $PLAIN_MEMS0)" \
  [ "$(mems_allowed "$PLAIN_PID")" = "$PLAIN_MEMS0" ]
ok "tierd-vm-granted's task has its nodes as before ($(mems_allowed "$GRANTED_PID"), was $GRANTED_MEMS0)" \
  [ "$(mems_allowed "$GRANTED_PID")" = "$GRANTED_MEMS0" ]
ok "tierd-vm-plain's AllowedMemoryNodes is back to unset" [ -z "$(prop AllowedMemoryNodes tierd-vm-plain.service)" ]
if [ -n "${LATE_PID:-}" ]; then
  ok "tierd-vm-late (created while fenced) may use every node ($(mems_allowed "$LATE_PID"))" \
    [ "$(mems_allowed "$LATE_PID")" = "$PLAIN_MEMS0" ]
fi
rm -f "$DROP/40-fence.conf"

# ---------------------------------------------------------------- SIGKILL
section "systemctl kill -s KILL, then start: restore from the state file"
systemctl start tierd.service
pressure_on
wait_for 20 knob_is false || fail "guard did not trip after the restart"
mkdir -p /run/systemd/system/tierd.service.d
printf '[Service]\nRestart=no\n' > /run/systemd/system/tierd.service.d/50-vmtest-norestart.conf
systemctl daemon-reload
KPID=$(prop MainPID)
systemctl kill -s KILL tierd.service
dead() { case $(prop ActiveState) in failed|inactive) true ;; *) false ;; esac; }
wait_for 10 dead
info "after SIGKILL of $KPID: $(prop ActiveState) ($(prop Result)); /run/tierd: $(ls /run/tierd | tr '\n' ' ')"
ok "the killed tierd left demotion_enabled=false (nothing restored it)" knob_is false
ok "/run/tierd/knobs.json survived the failed unit (RuntimeDirectoryPreserve=yes)" \
  [ "$(jq -r '.entries[0].original' /run/tierd/knobs.json 2>/dev/null)" = true ]
jq -c '.' /run/tierd/knobs.json 2>/dev/null | cut -c1-300 | sed 's/^/   knobs.json: /'
# The next instance must restore the recorded value; with the guard off it
# then leaves the knob alone, so the restored value stays visible.
pressure_off
printf '[guard]\nmode = off\n' > "$DROP/20-guard-off.conf"
rm -f /run/systemd/system/tierd.service.d/50-vmtest-norestart.conf; systemctl daemon-reload
systemctl start tierd.service; rc=$?
RPID=$(prop MainPID)
ok "systemctl start after the kill: active, rc $rc" [ $rc = 0 -a "$(prop ActiveState)" = active ]
ok "the new tierd restored demotion_enabled=true from the state file" knob_is true
n=$(journal_json | jq -r --arg p "$RPID" 'select(._PID == $p) | .MESSAGE' | grep -c 'from a previous run')
m=$(journal_json | jq -r --arg p "$RPID" --arg mid $MID_RESTORE 'select(._PID == $p and .MESSAGE_ID == $mid) | .MESSAGE' | head -3)
info "restore events of pid $RPID: $(echo "$m" | tr '\n' ';')"
ok "its journal says it found the state file and restored (MESSAGE_ID restore)" [ "$n" -ge 1 -a -n "$m" ]
rm -f "$DROP/20-guard-off.conf"

# ---------------------------------------------------------------- watchdog
section "watchdog: the guard thread pings it; a hung guard is killed and restarted"
mkdir -p $UNITD
printf '[Service]\nWatchdogSec=4s\nEnvironment=TIERD_DEBUG_HANG_ON_SIGUSR1=guard\n' > $UNITD/50-vmtest-watchdog.conf
systemctl daemon-reload
systemctl restart tierd.service
ok "WatchdogSec=4s from the drop-in (WatchdogUSec=$(prop WatchdogUSec))" [ "$(prop WatchdogUSec)" = 4s ]
pressure_on
wait_for 20 knob_is false || fail "guard did not trip after the restart"
n0=$(prop NRestarts) p0=$(prop MainPID)
t0=$(now_ms)
systemctl kill -s USR1 --kill-who=main tierd.service
restarted() { [ "$(prop NRestarts)" -gt "$n0" ] && [ "$(prop MainPID)" != "$p0" ] && [ "$(prop MainPID)" != 0 ] &&
  [ "$(prop ActiveState)/$(prop SubState)" = active/running ]; }
wait_for 40 restarted; rc=$?
p1=$(prop MainPID)
info "SIGUSR1 to $p0 -> restarted as $p1 after $(( $(now_ms) - t0 )) ms; NRestarts $n0 -> $(prop NRestarts)"
ok "the watchdog killed the tierd whose guard hung and systemd restarted it (NRestarts +1, new MainPID)" [ $rc = 0 ]
journalctl -u tierd.service --no-pager -o cat --since "-2min" | grep -E 'Watchdog|SIGABRT|blocking the|previous run|status=6' |
  tail -8 | sed 's/^/   journal: /'
ok "systemd logged the watchdog timeout" sh -c "journalctl -u tierd.service --no-pager -o cat | grep -q 'Watchdog timeout'"
ok "tierd logged the debug hang before it (TIERD_DEBUG_HANG_ON_SIGUSR1=guard)" \
  sh -c "journalctl -u tierd.service --no-pager -o cat _PID=$p0 | grep -q 'blocking the guard thread forever'"
n=$(journal_json | jq -r --arg p "$p1" 'select(._PID == $p) | .MESSAGE' | grep -c 'from a previous run')
ok "the restarted tierd restored from the state file the hung one left" [ "$n" -ge 1 ]
ok "and answers on its socket" sh -c 'tierctl status >/dev/null'
pressure_off

section "watchdog: a hung main loop is not killed; the guard goes on"
printf '[Service]\nWatchdogSec=4s\nEnvironment=TIERD_DEBUG_HANG_ON_SIGUSR1=main\n' > $UNITD/50-vmtest-watchdog.conf
systemctl daemon-reload
systemctl restart tierd.service
wait_for 20 knob_is true || fail "demotion not back on after the restart"
n0=$(prop NRestarts) p0=$(prop MainPID)
systemctl kill -s USR1 --kill-who=main tierd.service
wait_for 10 sh -c "journalctl -u tierd.service --no-pager -o cat _PID=$p0 | grep -q 'blocking the event loop forever'"
pressure_on
wait_for 20 knob_is false; rc=$?
ok "main loop hung: the guard still trips (demotion_enabled=false)" [ $rc = 0 ]
# (No release to wait for: with this scenario's lines node1 is always at
# the trip line; the component test test_guard_isolation.sh checks the
# release with the main loop hung.)
pressure_off
sleep 4
ok "main loop hung for > 2 x WatchdogSec: not killed (NRestarts $n0 -> $(prop NRestarts), MainPID $p0 -> $(prop MainPID))" \
  [ "$(prop NRestarts)" = "$n0" -a "$(prop MainPID)" = "$p0" ]
wait_for 20 sh -c "journalctl -u tierd.service --no-pager -o cat _PID=$p0 | grep -q 'the main loop has not ticked'"; rc=$?
ok "tierd logged that its main loop stalled" [ $rc = 0 ]
# SIGTERM waits in the hung loop: kill it, and start clean without the hook
# (Restart=on-failure may have started it again already: restart either way).
systemctl kill -s KILL tierd.service
sleep 0.5
rm -f $UNITD/50-vmtest-watchdog.conf; systemctl daemon-reload
systemctl restart tierd.service
ok "restarted clean after the hung main loop ($(prop ActiveState))" [ "$(prop ActiveState)" = active ]
ok "demotion_enabled is true again" knob_is true

ctl_reload_alt_socket_checks

# ---------------------------------------------------------------- security
section "systemd-analyze security tierd"
systemd-analyze security tierd.service --no-pager 2>&1 | sed 's/^/   /' > /tmp/security.txt
cat /tmp/security.txt
score=$(grep -o 'Overall exposure level for tierd.service: .*' /tmp/security.txt)
echo "EXPOSURE: ${score:-unknown}"

# ---------------------------------------------------------------- end
section "final stop"
systemctl stop tierd.service
ok "final stop: demotion_enabled is the admin's true again" knob_is true
pkg_upgrade_remove_purge
if [ $NFAIL -gt 0 ]; then
  echo "== tierd journal (last 60 lines)"
  journalctl -u tierd.service --no-pager -o short-monotonic | tail -60
fi
echo "== summary: $NPASS passed, $NFAIL failed, $NSKIP skipped (uptime $(up)s)"
rc=0; [ $NFAIL -eq 0 ] || rc=1
echo "@@TIERD_VM_EXIT=$rc@@"
systemctl poweroff --no-block
exit 0
