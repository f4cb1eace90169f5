# Scenario "capture" NAME MODE (runs inside the VM; used by `run-vm.sh capture`).
# Copies the files tierd reads into /mnt/host/NAME (the 9p share) with
# /vm/capture-fixture.sh.  MODE idle: as booted (demotion_enabled false);
# pressure: demotion on, a hog holding memory once it is full (node1 <= low, near min).
name=${1:?capture: NAME} mode=${2:-idle}
grep -q ' /mnt/host 9p ' /proc/mounts || { echo "FAIL: /mnt/host (9p) is not mounted"; exit 1; }
# FILE (a zoneinfo): node N's free pages at or below the sum of its zones' low watermarks
node_low() {
  awk -v want="$2" '/^Node/ {split($2, a, ","); n = a[1]} n == want && /pages free/ {f = $3}
       n == want && / low / {l = $2} n == want && /present/ && $2 > 0 {F += f; L += l}
       END {exit !(L > 0 && F <= L)}' "$1"
}
rm -rf "/mnt/host/$name"
if [ "$mode" = pressure ]; then
  # Demotion on; a hog (oom_score_adj 0) allocates until memory is full (every big
  # zone at or below low, see hog -f) and then holds it: kswapd keeps demoting
  # into node1, which sits near or below its min watermark.  The hog stops there
  # instead of pushing into the demotion stall, so the capture (many forks) runs
  # on a machine that is under pressure but not wedged, and the files agree.
  echo true > /sys/kernel/mm/numa/demotion_enabled
  : > /tmp/hog.out
  sh -c 'echo 0 > /proc/self/oom_score_adj; exec hog -f 1900 -1' > /tmp/hog.out 2>&1 &
  hpid=$!
  i=0
  while [ $i -lt 240 ] && ! grep -q -e 'memory full' -e reached /tmp/hog.out; do
    kill -0 $hpid 2>/dev/null || { cat /tmp/hog.out; echo "FAIL: hog ended early"; exit 1; }
    sleep 0.5; i=$((i + 1))
  done
  grep -v '^hog: [0-9]' /tmp/hog.out
  sleep 2  # let kswapd settle
  sh /vm/capture-fixture.sh "/mnt/host/$name" || exit 1
  kill -9 $hpid
  grep -q '^oom_kill 0$' "/mnt/host/$name/proc/vmstat" || { echo "FAIL: an OOM kill happened"; exit 1; }
  node_low "/mnt/host/$name/proc/zoneinfo" 1 || { echo "FAIL: node1 is not under pressure in the capture"; exit 1; }
else
  sh /vm/capture-fixture.sh "/mnt/host/$name" || exit 1
fi
awk '/^Node/ {z=$0} /pages free/ {f=$3} / min / {m=$2} /present/ && $2 > 0 {print "   " z ": free=" f " min=" m}' \
  "/mnt/host/$name/proc/zoneinfo"
echo "capture: $name done ($(find "/mnt/host/$name" -type f | wc -l) files)"
