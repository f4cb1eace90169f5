#!/bin/sh
# Copied from shared/tools/capture-fixture.sh (the project's own fixture capture tool; keep the
# two in step: tests/fixtures/*/ were made with it).  run-vm.sh capture runs it in the VM.
# capture-fixture.sh DEST — copy the sysfs/procfs files tierd reads into DEST,
# keeping their paths, so tests can use DEST as a fake root. Plain POSIX sh (runs in busybox).
set -u
dest=${1:?usage: capture-fixture.sh DEST}
mkdir -p "$dest"
cp_file() { [ -r "$1" ] || return 0; mkdir -p "$dest$(dirname "$1")"; cat "$1" > "$dest$1" 2>/dev/null || rm -f "$dest$1"; }
for f in /proc/zoneinfo /proc/vmstat /proc/meminfo /proc/buddyinfo /proc/sys/kernel/numa_balancing \
         /proc/sys/kernel/numa_balancing_promote_rate_limit_MBps /proc/sys/vm/min_free_kbytes \
         /proc/sys/vm/watermark_scale_factor /proc/version /proc/self/mountinfo /proc/cgroups \
         /proc/pressure/memory /sys/kernel/mm/numa/demotion_enabled \
         /sys/kernel/mm/transparent_hugepage/enabled; do cp_file "$f"; done
for f in /sys/devices/system/node/online /sys/devices/system/node/possible /sys/devices/system/node/has_cpu \
         /sys/devices/system/node/has_memory /sys/devices/system/node/has_normal_memory \
         /sys/devices/system/node/has_generic_initiator; do cp_file "$f"; done
for n in /sys/devices/system/node/node[0-9]*; do
  [ -d "$n" ] || continue
  for f in meminfo vmstat numastat distance cpulist cpumap; do cp_file "$n/$f"; done
  for a in "$n"/access[0-9]*; do
    [ -d "$a" ] || continue
    for f in "$a"/initiators/*; do [ -f "$f" ] && cp_file "$f"; done
  done
done
for t in /sys/devices/virtual/memory_tiering/memory_tier*; do
  [ -d "$t" ] && cp_file "$t/nodelist"
done
echo "captured into $dest"
