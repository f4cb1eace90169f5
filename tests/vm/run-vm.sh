#!/bin/bash
# run-vm.sh - tierd's tiered-memory test VMs (QEMU, TCG) and their scenarios.
#
# Usage: tests/vm/run-vm.sh [options] COMMAND [ARGS]
#
#   shapes                          list the VM shapes
#   scenario NAME SHAPE [ARGS]      boot SHAPE, run tests/vm/scenarios/NAME.sh ARGS inside,
#                                   exit with its status (what ctest -L vm runs)
#   run SHAPE [--] 'COMMAND'        boot SHAPE, run `sh -c COMMAND` inside, exit with its status
#   shell SHAPE                     interactive shell in SHAPE (Ctrl-a x quits)
#   capture [DEST [FIXTURE...]]     refresh the VM fixtures (default DEST: tests/fixtures; all):
#                                   vm-6.12-hmat-{2tier,3tier,2tier-normal,2tier-siblings,
#                                   2tier-pressure} and vm-6.1-nvdimm-2tier
#   build SHAPE                     fetch the kernel and build the cached initramfs only;
#                                   prints the vmlinuz path, then the base image path
#   cmdline SHAPE                   print the qemu command line (shell-quoted, for eval)
#   demo [SHAPE]                    for people: the demotion stall without tierd acting, then
#                                   with tierd, side by side (2tier; about 2 minutes; builds
#                                   tierd first if build/daemon/tierd is missing)
#
# Options (environment variable in brackets):
#   --cache DIR      downloads, kernels, images, logs [VM_CACHE; default build/vm-cache]
#   --tierd PATH     tierd binary to put in the guest at /usr/local/sbin/tierd [TIERD]
#   --tierctl PATH   tierctl binary, guest /usr/local/bin/tierctl [TIERCTL]
#   --relief-bench PATH  tests/bench/relief-bench, guest /usr/local/bin/relief-bench
#                    (the relief scenario) [RELIEF_BENCH]
#   --conf FILE      guest /etc/tierd.conf [TIERD_CONF; default conf/tierd.conf]
#   --timeout SEC    host-side timeout of one boot [VM_TIMEOUT; default per scenario]
#   --env K=V        export K=V in the guest before the command (repeatable)
#   --share DIR      share DIR read-write at /mnt/host in the guest (virtio-9p)
#   --no-retry       do not boot again after a boot that died without an exit marker
#   -q, --quiet      do not echo the serial console (it is always in the log)
#
# Exit status: the guest command's; 77 skipped (no qemu, < 3 GiB available,
# no kernel, missing binary: the message says which); 124 host timeout (the guest
# hung); 125 the VM died without an exit marker twice (kernel panic, TCG flake);
# 2 usage errors.  Serial logs: $VM_CACHE/logs/<time>-<what>-<shape>[-attempt2].log.
# Never runs two VMs at once (flock on /tmp/tierd-vm.lock [VM_LOCK]; VM_LOCK_HELD=1
# if the caller holds it already): TCG uses both cores.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
VM_CACHE=${VM_CACHE:-$SRC/build/vm-cache}
TIERD=${TIERD:-} TIERCTL=${TIERCTL:-} RELIEF_BENCH=${RELIEF_BENCH:-} TIERD_CONF=${TIERD_CONF:-$SRC/conf/tierd.conf}
TIMEOUT=${VM_TIMEOUT:-} SHARE="" RETRY=1 QUIET=0
GUEST_ENV=()
LOCKFILE=${VM_LOCK:-/tmp/tierd-vm.lock}
MIN_AVAIL_KB=$(( ${VM_MIN_AVAIL_MB:-3072} * 1024 ))
SHAPES="2tier 3tier 2tier-normal 2tier-siblings 2tier-large nvdimm"

say() { echo "run-vm: $*" >&2; }
die() { say "$*"; exit 2; }
skip() { echo "SKIP: $*"; exit 77; }
usage() { awk 'NR > 1 && /^#/ {sub(/^# ?/, ""); print; next} NR > 1 {exit}' "$0"; }

while [ $# -gt 0 ]; do
  case $1 in
    --cache) VM_CACHE=$2; shift 2 ;;
    --tierd) TIERD=$2; shift 2 ;;
    --tierctl) TIERCTL=$2; shift 2 ;;
    --relief-bench) RELIEF_BENCH=$2; shift 2 ;;
    --conf) TIERD_CONF=$2; shift 2 ;;
    --timeout) TIMEOUT=$2; shift 2 ;;
    --env) GUEST_ENV+=("$2"); shift 2 ;;
    --share) SHARE=$2; shift 2 ;;
    --no-retry) RETRY=0; shift ;;
    -q|--quiet) QUIET=1; shift ;;
    -h|--help) usage; exit 0 ;;
    -*) die "unknown option $1 (try --help)" ;;
    *) break ;;
  esac
done
CMD=${1:-}; [ $# -gt 0 ] && shift
mkdir -p "$VM_CACHE"; VM_CACHE=$(cd "$VM_CACHE" && pwd)

# ------------------------------------------------------------------ shapes
# A shape is a kernel (6.12 from bookworm-security, 6.1 from bookworm), a route
# to slow memory (hmat: boot-time CPU-less nodes described by ACPI HMAT, tiers
# need >= 6.10; nvdimm: emulated NVDIMM -> devdax -> kmem, works on 6.1), the
# node sizes, HMAT latency/bandwidth per node, the SLIT distances, and what the
# kernel must make of it: tiers fast to slow, and demotion targets
# "node:preferred:fallback" (checked against dmesg, and used where the kernel
# does not print them: 6.1).
#
# 6.12 derives a node's abstract distance from HMAT relative to the DRAM node
# (mm/memory-tiers.c mt_perf_to_adistance(), integer math, read+write summed):
#   adist = 576 * lat / lat_dram * bw_dram / bw;  tier id = adist >> 7
#   300 ns, 5 GB/s: 576 * 600/200 = 1728 * 40/10 = 6912 -> memory_tier54
#   305 ns, 5 GB/s: 576 * 610/200 = 1756 * 40/10 = 7024 -> memory_tier54 (same tier,
#                   a different memory type: the siblings shape)
#   600 ns, 2 GB/s: 576 * 1200/200 = 3456 * 40/4 = 34560 -> memory_tier270
shape_load() {
  SHAPE=$1 KSEL=6.12 ROUTE=hmat HIGHMEM=0 NVDIMM_NORMAL=0 VCPUS=2
  case $SHAPE in
    2tier)
      NODE_MIB=(1024 1024) LAT=(100 300) BW=(20G 5G) DIST=("0 1 20")
      EXPECT_TIERS="0|1" EXPECT_DEMOTION="0:1:1 1::" FIXTURE=vm-6.12-hmat-2tier
      DESC="6.12 HMAT: node0 1 GiB DRAM + 2 CPUs (tier 4), node1 1 GiB slow (tier 54)" ;;
    3tier)
      NODE_MIB=(1024 1024 512) LAT=(100 300 600) BW=(20G 5G 2G) DIST=("0 1 20" "0 2 30" "1 2 20")
      EXPECT_TIERS="0|1|2" EXPECT_DEMOTION="0:1:1-2 1:2:2 2::" FIXTURE=vm-6.12-hmat-3tier
      DESC="6.12 HMAT: 2tier + node2 512 MiB slower (tier 270)" ;;
    2tier-normal)
      NODE_MIB=(1024 1024) LAT=(100 300) BW=(20G 5G) DIST=("0 1 20") HIGHMEM=1
      EXPECT_TIERS="0|1" EXPECT_DEMOTION="0:1:1 1::" FIXTURE=vm-6.12-hmat-2tier-normal
      DESC="6.12 HMAT: 2tier with RAM above 4 GiB (max-ram-below-4g=256M): Normal zones" ;;
    2tier-siblings)
      # Equal SLIT distances from node0: both siblings are preferred targets.
      NODE_MIB=(1024 512 512) LAT=(100 300 305) BW=(20G 5G 5G) DIST=("0 1 20" "0 2 20" "1 2 20")
      EXPECT_TIERS="0|1-2" EXPECT_DEMOTION="0:1-2:1-2 1:: 2::" FIXTURE=vm-6.12-hmat-2tier-siblings
      DESC="6.12 HMAT: node0 1 GiB DRAM, node1+node2 512 MiB each in one lower tier (54)" ;;
    2tier-large)
      # For the guard-under-load benchmark: a victim of several GiB on node1.
      NODE_MIB=(4096 4096) LAT=(100 300) BW=(20G 5G) DIST=("0 1 20") HIGHMEM=1
      EXPECT_TIERS="0|1" EXPECT_DEMOTION="0:1:1 1::" FIXTURE=
      DESC="6.12 HMAT: node0 4 GiB DRAM + 2 CPUs, node1 4 GiB slow, RAM above 4 GiB (Normal zones)" ;;
    nvdimm)
      KSEL=6.1 ROUTE=nvdimm NODE_MIB=(1024 1024) LAT=() BW=() DIST=("0 1 20")
      EXPECT_TIERS="0|1" EXPECT_DEMOTION="0:1:1 1::" FIXTURE=vm-6.1-nvdimm-2tier
      DESC="6.1 NVDIMM->kmem: node0 1 GiB DRAM, node1 1 GiB ZONE_MOVABLE (tier 22)" ;;
    *) die "unknown shape '$SHAPE' (shapes: $SHAPES)" ;;
  esac
}

# ------------------------------------------------------------------ host setup
# Host packages: installed with apt-get when missing (root only).
HOST_PKGS="qemu-system-x86 busybox-static cpio kmod xz-utils gzip ndctl daxctl stress-ng gcc libc6-dev libjson-c-dev jq"
host_packages() {
  local miss=() p
  for p in $HOST_PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || miss+=("$p")
  done
  [ ${#miss[@]} -eq 0 ] && return 0
  [ "$(id -u)" = 0 ] || skip "host packages missing (${miss[*]}) and not root to install them"
  say "installing host packages: ${miss[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${miss[@]}" >&2 ||
    { apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${miss[@]}" >&2; } ||
    skip "could not install host packages: ${miss[*]}"
}

host_checks() {
  host_packages
  command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 not found (apt-get install qemu-system-x86)"
  local avail
  avail=$(awk '/^MemAvailable:/ {print $2}' /proc/meminfo)
  [ "${avail:-0}" -ge $MIN_AVAIL_KB ] ||
    skip "only $((avail / 1024)) MiB of memory available; a VM needs $((MIN_AVAIL_KB / 1024)) MiB"
}

# Kernel: the linux-image-* package a meta package depends on, fetched with
# apt-get download and extracted into the cache (a security update changes it).
kernel_meta() {
  case $1 in
    6.12) echo linux-image-6.12-amd64 ;;   # bookworm-security
    6.1) echo linux-image-amd64 ;;         # bookworm
    *) die "unknown kernel selector $1" ;;
  esac
}

resolve_kernel() {  # $1 = 6.12|6.1 -> KPKG
  local meta rec
  meta=$(kernel_meta "$1") rec=$VM_CACHE/kernels/$meta.pkg
  KPKG=$(apt-cache depends "$meta" 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
  if [ -z "$KPKG" ] && [ "$(id -u)" = 0 ]; then
    say "apt-cache does not know $meta: running apt-get update"
    apt-get update -q >&2 || true
    KPKG=$(apt-cache depends "$meta" 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
  fi
  if [ -z "$KPKG" ] && [ -s "$rec" ]; then
    KPKG=$(cat "$rec"); say "cannot resolve $meta, using the cached $KPKG"
  fi
  [ -n "$KPKG" ] || return 1
  mkdir -p "$VM_CACHE/kernels"; echo "$KPKG" > "$rec"
}

fetch_kernel() {  # KPKG -> KDIR VMLINUZ MODVER
  KDIR=$VM_CACHE/kernels/$KPKG
  if [ ! -f "$KDIR/.ok" ]; then
    local deb tmp
    mkdir -p "$VM_CACHE/debs"
    say "downloading $KPKG"
    (cd "$VM_CACHE/debs" && apt-get download -q -o APT::Sandbox::User=root "$KPKG" >&2) || return 1
    deb=$(ls -t "$VM_CACHE/debs/${KPKG}"_*.deb 2>/dev/null | head -1)
    [ -n "$deb" ] || return 1
    tmp=$KDIR.tmp.$$; rm -rf "$tmp" "$KDIR"; mkdir -p "$tmp"
    dpkg-deb -x "$deb" "$tmp" || { rm -rf "$tmp"; return 1; }
    mv "$tmp" "$KDIR"; touch "$KDIR/.ok"
    rm -f "$deb"  # the extracted tree is the cache
  fi
  VMLINUZ=$(ls "$KDIR"/boot/vmlinuz-* | head -1)
  MODVER=$(ls "$KDIR/lib/modules" | head -1)
}

kernel_for_shape() {
  resolve_kernel "$KSEL" || skip "no kernel for $KSEL: apt-cache cannot resolve $(kernel_meta "$KSEL") (no network or apt lists?)"
  fetch_kernel && return 0
  # Stale apt lists name a version the archive no longer has: update, retry once.
  if [ "$(id -u)" = 0 ]; then
    say "download of $KPKG failed: running apt-get update and retrying"
    apt-get update -q >&2 || true
    resolve_kernel "$KSEL" && fetch_kernel && return 0
  fi
  skip "could not download or extract $KPKG"
}

# ------------------------------------------------------------------ initramfs
# The base image (per kernel package) holds busybox, the nvdimm/9p modules,
# ndctl/daxctl, stress-ng and the static helpers; it is cached under a hash of
# its inputs (this script, the kernel package, the host packages' versions, the
# helpers' sources).  Each boot appends a small overlay (init, scenarios, tierd,
# tierctl, config) built fresh.

# Copy a host binary and the shared libraries ldd lists for it into root $1 at
# the same paths (tierd/tierctl are dynamic: Debian has no static libsystemd).
copy_bin() {  # ROOT HOSTPATH [GUESTPATH]
  local root=$1 bin=$2 dst=${3:-$2} l
  mkdir -p "$root$(dirname "$dst")"
  cp -L "$bin" "$root$dst" && chmod +x "$root$dst" || return 1
  for l in $(ldd "$bin" 2>/dev/null | awk '/=> \// {print $3} /^\t\/lib/ {print $1}'); do
    [ -e "$root$l" ] && continue
    mkdir -p "$root$(dirname "$l")" && cp -L "$l" "$root$l" || return 1
  done
}

mod_list() {  # dependency-ordered module paths (relative to lib/modules/$MODVER) for $@
  local m
  for m in "$@"; do
    modprobe -C /nonexistent -d "$KDIR" -S "$MODVER" --show-depends "$m" 2>/dev/null || true
  done | awk '$1 == "insmod" && !seen[$2]++ {print $2}' | sed "s#^$KDIR/lib/modules/$MODVER/##"
}

# Every helpers/NAME.c becomes /usr/local/bin/NAME (topocheck links json-c).
HELPERS=$(cd "$HERE/helpers" && ls -- *.c | sed 's/\.c$//' | tr '\n' ' ')
CFLAGS_HELPERS="-std=gnu11 -O2 -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Werror=format=2 -Werror"
build_helpers() {  # -> HELPER_DIR with static binaries
  local h sum
  sum=$(cat "$HERE"/helpers/*.c "$HERE"/helpers/*.h <(echo "$CFLAGS_HELPERS") | sha1sum | cut -c1-12)
  HELPER_DIR=$VM_CACHE/helpers/$sum
  [ -f "$HELPER_DIR/.ok" ] && return 0
  rm -rf "$HELPER_DIR"; mkdir -p "$HELPER_DIR"
  for h in $HELPERS; do
    local libs=""; [ "$h" = topocheck ] && libs="-ljson-c"
    # shellcheck disable=SC2086
    gcc $CFLAGS_HELPERS -static -o "$HELPER_DIR/$h" "$HERE/helpers/$h.c" $libs ||
      die "building helper $h failed"
  done
  touch "$HELPER_DIR/.ok"
}

build_base() {  # -> BASE
  build_helpers
  local sum vers
  vers=$(dpkg-query -W -f='${Package}=${Version} ' busybox-static ndctl daxctl stress-ng libc6 2>/dev/null || true)
  sum=$( { cat "$0"; echo "$KPKG $vers ${HELPER_DIR##*/}"; } | sha1sum | cut -c1-12)
  mkdir -p "$VM_CACHE/images"
  BASE=$VM_CACHE/images/$KPKG-$sum.cpio.gz
  [ -f "$BASE" ] && return 0
  rm -f "$VM_CACHE/images/$KPKG"-*.cpio.gz
  say "building the base initramfs for $KPKG"
  local R
  R=$(mktemp -d "$VM_CACHE/images/root.XXXXXX")
  build_base_tree "$R"
  (cd "$R" && find . | cpio -o -H newc --quiet) | gzip -1 > "$BASE.tmp.$$"
  mv "$BASE.tmp.$$" "$BASE"
  rm -rf "$R"
  say "base initramfs: $BASE ($(du -h "$BASE" | cut -f1))"
}

build_base_tree() {
  local R=$1 a set f b
  mkdir -p "$R"/{bin,sbin,usr/bin,usr/sbin,usr/local/bin,usr/local/sbin,proc,sys,dev,tmp,run,etc,root,mnt/host,vm}
  mkdir -p "$R/lib/modules/$MODVER" "$R/lib64" "$R/etc/ndctl.conf.d" "$R/etc/daxctl.conf.d"
  cp /usr/bin/busybox "$R/bin/busybox"
  for a in $(/usr/bin/busybox --list); do [ "$a" = busybox ] || ln -sf busybox "$R/bin/$a"; done
  # nvdimm/dax/kmem stack and virtio-9p, decompressed: busybox insmod cannot read .ko.xz (6.12)
  [ -f "$KDIR/lib/modules/$MODVER/modules.dep" ] || depmod -b "$KDIR" "$MODVER"
  for set in "nvdimm:nfit nd_e820 nd_pmem dax_pmem device_dax kmem" "9p:virtio_pci 9pnet_virtio 9p"; do
    : > "$R/etc/mods.${set%%:*}"
    for f in $(mod_list ${set#*:}); do
      [ -f "$KDIR/lib/modules/$MODVER/$f" ] || die "module $f not found under $KDIR"
      mkdir -p "$R/lib/modules/$MODVER/$(dirname "$f")"
      case $f in
        *.xz) xz -dc "$KDIR/lib/modules/$MODVER/$f" > "$R/lib/modules/$MODVER/${f%.xz}" || die "xz -d $f"; f=${f%.xz} ;;
        *.zst) zstd -qdc "$KDIR/lib/modules/$MODVER/$f" > "$R/lib/modules/$MODVER/${f%.zst}" || die "zstd -d $f"; f=${f%.zst} ;;
        *) cp "$KDIR/lib/modules/$MODVER/$f" "$R/lib/modules/$MODVER/$f" || die "cp $f" ;;
      esac
      echo "$f" >> "$R/etc/mods.${set%%:*}"
    done
    [ -s "$R/etc/mods.${set%%:*}" ] || die "no modules found for ${set#*:} in $KDIR"
  done
  for b in /usr/bin/ndctl /usr/bin/daxctl /usr/bin/stress-ng /usr/bin/jq; do copy_bin "$R" "$b" || die "copying $b"; done
  [ -e "$R/lib64/ld-linux-x86-64.so.2" ] || cp -L /lib64/ld-linux-x86-64.so.2 "$R/lib64/" || die "copying ld.so"
  for b in $HELPERS; do cp "$HELPER_DIR/$b" "$R/usr/local/bin/" || die "copying helper $b"; done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' > "$R/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' > "$R/etc/group"
}

# Per-boot overlay: $1 = directory to fill, then packed to $1.cpio.gz.
build_overlay() {
  local O=$1 kv
  mkdir -p "$O/etc" "$O/vm/scenarios"
  cp "$HERE/guest/init" "$O/init"; chmod +x "$O/init"
  cp "$HERE"/scenarios/*.sh "$O/vm/scenarios/"
  # Benchmarks that run in a guest (tests/bench/*.sh) at /vm/bench.
  mkdir -p "$O/vm/bench"; cp "$SRC"/tests/bench/*.sh "$O/vm/bench/"
  cp "$HERE/capture-fixture.sh" "$O/vm/"
  {
    printf 'VM_SHAPE=%s\nVM_ROUTE=%s\nVM_NVDIMM_NORMAL=%s\nVM_SHARE=%s\n' "$SHAPE" "$ROUTE" "$NVDIMM_NORMAL" "${SHARE:+1}"
    printf "VM_NODE_MIB='%s'\nVM_EXPECT_TIERS='%s'\nVM_EXPECT_DEMOTION='%s'\nVM_FIXTURE=%s\n" \
      "${NODE_MIB[*]}" "$EXPECT_TIERS" "$EXPECT_DEMOTION" "$FIXTURE"
  } > "$O/etc/vm.conf"
  sed 's/^/export /' "$O/etc/vm.conf" > "$O/etc/vm.env"
  for kv in "${GUEST_ENV[@]}"; do
    case $kv in [A-Za-z_]*=*) ;; *) die "--env wants K=V, got '$kv'" ;; esac
    printf "export %s='%s'\n" "${kv%%=*}" "$(printf '%s' "${kv#*=}" | sed "s/'/'\\\\''/g")" >> "$O/etc/vm.env"
  done
  # A path given for a binary that is not built (yet) is left out with a note:
  # only the scenarios that need it fail (they skip on the host side first).
  if [ -n "$TIERD" ]; then
    if [ -x "$TIERD" ]; then copy_bin "$O" "$TIERD" /usr/local/sbin/tierd || die "copying $TIERD"; else say "no tierd at $TIERD: not in the guest"; fi
  fi
  if [ -n "$TIERCTL" ]; then
    if [ -x "$TIERCTL" ]; then copy_bin "$O" "$TIERCTL" /usr/local/bin/tierctl || die "copying $TIERCTL"; else say "no tierctl at $TIERCTL: not in the guest"; fi
  fi
  if [ -n "$RELIEF_BENCH" ]; then
    if [ -x "$RELIEF_BENCH" ]; then copy_bin "$O" "$RELIEF_BENCH" /usr/local/bin/relief-bench || die "copying $RELIEF_BENCH"; else say "no relief-bench at $RELIEF_BENCH: not in the guest"; fi
  fi
  [ -f "$TIERD_CONF" ] && cp "$TIERD_CONF" "$O/etc/tierd.conf"
  printf '%s\n' "$GUEST_RUN" > "$O/vm/run.sh"
  (cd "$O" && find . | cpio -o -H newc --quiet) | gzip -1 > "$O.cpio.gz"
}

# ------------------------------------------------------------------ qemu
qemu_argv() {  # -> Q (array); INITRD must be set
  local n total=0 nn=${#NODE_MIB[@]} mach=q35 d
  for n in "${NODE_MIB[@]}"; do total=$((total + n)); done
  [ "$HIGHMEM" = 1 ] && mach="$mach,max-ram-below-4g=256M"
  # shellcheck disable=SC2054  # the commas are qemu's
  Q=(qemu-system-x86_64 -nodefaults -no-user-config -display none -monitor none -serial stdio -no-reboot
     -accel tcg,thread=multi -cpu max -smp "$VCPUS,sockets=1,cores=$VCPUS")
  if [ "$ROUTE" = hmat ]; then
    Q+=(-machine "$mach,hmat=on" -m "${total}M")
    for ((n = 0; n < nn; n++)); do
      # hmat=on wants an initiator on every CPU-less node
      local init=""; [ $n -eq 0 ] || init=",initiator=0"
      Q+=(-object "memory-backend-ram,id=m$n,size=${NODE_MIB[n]}M" -numa "node,nodeid=$n,memdev=m$n$init")
    done
    Q+=(-numa "cpu,node-id=0,socket-id=0")
    for ((n = 0; n < nn; n++)); do
      Q+=(-numa "hmat-lb,initiator=0,target=$n,hierarchy=memory,data-type=access-latency,latency=${LAT[n]}"
          -numa "hmat-lb,initiator=0,target=$n,hierarchy=memory,data-type=access-bandwidth,bandwidth=${BW[n]}")
    done
  else
    # node0 = RAM + CPUs; node1.. = memory-less at boot, one emulated NVDIMM each.
    # +128 MiB per NVDIMM: the devdax info block + 2 MiB alignment cost the first
    # 128 MiB memory block (kmem hot-adds whole blocks only).  Device ids slow1,
    # slow2: QEMU 7.2 emits NVDIMM SRAT entries in QOM hash order of the ids, and
    # nvdimm1/nvdimm2 would swap node1 and node2.
    local extra=0
    for ((n = 1; n < nn; n++)); do extra=$((extra + NODE_MIB[n] + 128)); done
    Q+=(-machine "$mach,nvdimm=on" -m "${NODE_MIB[0]}M,slots=$((nn > 1 ? nn - 1 : 1)),maxmem=$((NODE_MIB[0] + extra + 512))M"
        -object "memory-backend-ram,id=m0,size=${NODE_MIB[0]}M" -numa "node,nodeid=0,memdev=m0")
    for ((n = 1; n < nn; n++)); do
      Q+=(-numa "node,nodeid=$n" -object "memory-backend-ram,id=nv$n,size=$((NODE_MIB[n] + 128))M"
          -device "nvdimm,id=slow$n,memdev=nv$n,node=$n")
    done
    Q+=(-numa "cpu,node-id=0,socket-id=0")
  fi
  for d in "${DIST[@]}"; do
    set -- $d
    Q+=(-numa "dist,src=$1,dst=$2,val=$3")
  done
  if [ -n "$SHARE" ]; then
    mkdir -p "$SHARE"
    Q+=(-virtfs "local,path=$SHARE,mount_tag=host,security_model=none,id=host0")
  fi
  Q+=(-kernel "$VMLINUZ" -initrd "$INITRD" -append "console=ttyS0 panic=-1 quiet")
}

# ------------------------------------------------------------------ boot
# One boot: B_RC (guest status, 124 timeout, 125 no exit marker), B_READY
# (guest uptime at READY, "" if never), B_WALL (s), B_HOW, B_SUMMARY.
boot_once() {
  local log=$1 t0 t1 qrc
  t0=$(date +%s.%N)
  set +e
  if [ "$QUIET" = 1 ]; then
    timeout -k 10 "$TIMEOUT" "${Q[@]}" </dev/null >"$log" 2>&1; qrc=$?
  else
    timeout -k 10 "$TIMEOUT" "${Q[@]}" </dev/null 2>&1 | tee "$log"; qrc=${PIPESTATUS[0]}
  fi
  set -e
  t1=$(date +%s.%N)
  B_WALL=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", b - a}')
  B_READY=$(grep -ao '@@TIERD_VM_READY uptime=[0-9.]*' "$log" | head -1 | sed 's/.*uptime=//' || true)
  B_RC=$(grep -ao '@@TIERD_VM_EXIT=[0-9]*@@' "$log" | tail -1 | tr -dc '0-9' || true)
  if [ -n "$B_RC" ]; then
    B_HOW="guest exit $B_RC"
  elif [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
    B_RC=124 B_HOW="host timeout (${TIMEOUT}s) fired"
  else
    B_RC=125 B_HOW="VM died without an exit marker (qemu status $qrc)"
  fi
  B_SUMMARY="$B_HOW, wall ${B_WALL}s, ready at ${B_READY:-never}s guest uptime, log $log"
}

# One VM at a time on this machine (TCG uses both cores); the lock also covers
# building the cached images.  Held on fd 9 until exit (qemu inherits it).
# VM_LOCK_HELD=1: the caller (a wrapper such as systemd/run-systemd-vm.sh)
# already holds the lock.
LOCKED=${VM_LOCK_HELD:-0}
take_lock() {
  [ "$LOCKED" = 1 ] && return 0
  LOCKED=1
  exec 9>"$LOCKFILE"
  if ! flock -n 9; then say "another VM is running (lock $LOCKFILE): waiting"; flock 9; fi
}

# Boot (with lock, retry) and exit with the result.  $1 = log name tag.
boot_and_exit() {
  local tag=$1 stamp rc
  [ -n "$TIMEOUT" ] || TIMEOUT=300
  take_lock
  mkdir -p "$VM_CACHE/logs" "$VM_CACHE/runs"
  RUNDIR=$(mktemp -d "$VM_CACHE/runs/run.XXXXXX")
  trap 'rm -rf "$RUNDIR"' EXIT
  build_base
  build_overlay "$RUNDIR/ovl"
  INITRD=$RUNDIR/initrd.gz
  cat "$BASE" "$RUNDIR/ovl.cpio.gz" > "$INITRD"
  qemu_argv
  stamp=$(date +%Y%m%d-%H%M%S)
  say "shape $SHAPE: $DESC; kernel $KPKG; timeout ${TIMEOUT}s"
  boot_once "$VM_CACHE/logs/$stamp-$tag-$SHAPE.log"
  local first=$B_SUMMARY
  # A boot that dies without an exit marker (TCG occasionally oopses in timer
  # code early in boot), or hangs before the READY marker, is retried once.
  if [ "$RETRY" = 1 ] && { [ "$B_RC" = 125 ] || { [ "$B_RC" = 124 ] && [ -z "$B_READY" ]; }; }; then
    say "attempt 1: $first"
    say "retrying once"
    boot_once "$VM_CACHE/logs/$stamp-$tag-$SHAPE-attempt2.log"
    say "attempt 2: $B_SUMMARY"
  else
    say "$first"
  fi
  rc=$B_RC
  exit "$rc"
}

# ------------------------------------------------------------------ scenarios
# Host-side prerequisites and defaults per scenario; GUEST_RUN is the guest command.
scenario_setup() {
  local name=$1; shift
  [ -f "$HERE/scenarios/$name.sh" ] || die "no scenario '$name' (tests/vm/scenarios/*.sh)"
  case $name in
    topology)
      [ -n "$TIERCTL" ] && [ -x "$TIERCTL" ] || skip "topology needs tierctl (TIERCTL='$TIERCTL' is not built)"
      : "${TIMEOUT:=150}" ;;
    oom-stall)
      case ${1:-} in
        without-tierd) : "${TIMEOUT:=420}" ;;
        with-tierd)
          [ -n "$TIERD" ] && [ -x "$TIERD" ] || skip "oom-stall with-tierd needs tierd (TIERD='$TIERD' is not built)"
          : "${TIMEOUT:=240}" ;;
        *) die "oom-stall needs a variant: without-tierd | with-tierd" ;;
      esac ;;
    hotplug|relief|fence|policies|guard-under-load|ctl)
      [ -n "$TIERD" ] && [ -x "$TIERD" ] && [ -n "$TIERCTL" ] && [ -x "$TIERCTL" ] ||
        skip "$name needs tierd and tierctl (TIERD='$TIERD', TIERCTL='$TIERCTL')"
      if [ "$name" = relief ]; then
        [ -n "$RELIEF_BENCH" ] && [ -x "$RELIEF_BENCH" ] ||
          skip "relief needs tests/bench/relief-bench (RELIEF_BENCH='$RELIEF_BENCH' is not built)"
        : "${TIMEOUT:=360}"  # the benchmark: ~1 min per run under TCG
      fi
      [ "$name" = guard-under-load ] && : "${TIMEOUT:=1200}"  # a benchmark, not a test
      : "${TIMEOUT:=240}" ;;
    capture)
      [ -n "$SHARE" ] || die "the capture scenario writes to a --share DIR (use: run-vm.sh capture)"
      : "${TIMEOUT:=180}" ;;
    demo)
      [ -n "$TIERD" ] && [ -x "$TIERD" ] && [ -n "$TIERCTL" ] && [ -x "$TIERCTL" ] ||
        skip "demo needs tierd and tierctl (TIERD='$TIERD', TIERCTL='$TIERCTL')"
      : "${TIMEOUT:=170}" ;;
  esac
  local args=""
  if [ $# -gt 0 ]; then args=$(printf " '%s'" "$@"); fi
  GUEST_RUN="set --$args; . /vm/scenarios/$name.sh"
}

capture_all() {  # [DEST [FIXTURE...]]
  local dest=${1:-$SRC/tests/fixtures} share s rc=0 names=() name mode only opts=()
  [ $# -gt 0 ] && shift
  only=" $* "
  mkdir -p "$dest"; dest=$(cd "$dest" && pwd)
  share=$(mktemp -d "${TMPDIR:-/tmp}/tierd-vm-capture.XXXXXX")
  opts=(--cache "$VM_CACHE" --share "$share")
  [ -n "$TIMEOUT" ] && opts+=(--timeout "$TIMEOUT")
  [ "$QUIET" = 1 ] && opts+=(-q)
  [ "$RETRY" = 0 ] && opts+=(--no-retry)
  for s in $SHAPES 2tier:pressure; do
    mode=idle; [ "${s#*:}" != "$s" ] && mode=${s#*:} s=${s%%:*}
    shape_load "$s"
    [ -n "$FIXTURE" ] || continue   # a shape with no captured fixture
    name=$FIXTURE; [ "$mode" = pressure ] && name=${FIXTURE}-pressure
    [ "$only" = "  " ] || [ "${only#* $name }" != "$only" ] || continue
    say "capturing $name"
    # one boot per fixture, as its own run-vm.sh (own lock, retry, log)
    if "$0" "${opts[@]}" scenario capture "$s" "$name" "$mode" && [ -f "$share/$name/proc/zoneinfo" ]; then
      rm -rf "${dest:?}/$name"; mv "$share/$name" "$dest/$name"; names+=("$name")
    else
      say "capture of $name FAILED"; rc=1
    fi
  done
  rm -rf "$share"
  say "refreshed in $dest: ${names[*]:-nothing}"
  return $rc
}

# ------------------------------------------------------------------ demo
# Two boots of SHAPE, scenarios/demo.sh without-tierd (tierd --dry-run only
# watches; stopped DEMO_MAX_STALL=60 s into the stall) and with-tierd; only
# the demo's own lines of the consoles are shown, each with the host's
# elapsed time, and a host line whenever a guest is silent for 10 s; then
# the figures side by side.  Full consoles: $VM_CACHE/logs/*-demo-*.log.
demo_all() {
  local shape=${1:-2tier} t0 v rc out tmo kv envargs=()
  t0=$(date +%s)
  for kv in "${GUEST_ENV[@]}"; do envargs+=(--env "$kv"); done
  if [ -z "$TIERD" ] && [ ! -x "$SRC/build/daemon/tierd" ] || [ -z "$TIERCTL" ] && [ ! -x "$SRC/build/daemon/tierctl" ]; then
    say "building tierd first (build/): .ci/deps.sh, cmake"
    "$SRC/.ci/deps.sh" >&2 && cmake -S "$SRC" -B "$SRC/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null &&
      cmake --build "$SRC/build" -j"$(nproc)" >/dev/null || die "building tierd failed"
  fi
  : "${TIERD:=$SRC/build/daemon/tierd}" "${TIERCTL:=$SRC/build/daemon/tierctl}"
  shape_load "$shape"
  host_checks
  take_lock
  kernel_for_shape
  t0=$(date +%s)   # the demo's own time, not the wait for another VM
  echo "== tierd demo: the demotion stall on $DESC"
  echo "   Linux $KPKG under QEMU (TCG: emulated, slower than real hardware); two boots, about 2 minutes"
  out=$(mktemp -d "${TMPDIR:-/tmp}/tierd-demo.XXXXXX")
  for v in without-tierd with-tierd; do
    echo
    if [ $v = without-tierd ]; then
      echo "== 1/2: without tierd acting (tierd --dry-run watches and changes nothing)"; tmo=${TIMEOUT:-170}
    else
      echo "== 2/2: with tierd (the demotion guard with its defaults)"; tmo=${TIMEOUT:-90}
    fi
    set +e
    VM_LOCK_HELD=1 "$0" --cache "$VM_CACHE" --tierd "$TIERD" --tierctl "$TIERCTL" --conf "$TIERD_CONF" \
      --timeout "$tmo" "${envargs[@]}" scenario demo "$shape" "$v" 2>&1 | demo_filter "$t0" "$out/$v.txt"
    rc=${PIPESTATUS[0]}
    set -e
    [ "$rc" = 77 ] && { rm -rf "$out"; exit 77; }
    [ "$rc" = 0 ] || echo "[$(demo_t "$t0")] the VM ended with status $rc ($( [ "$rc" = 124 ] && echo "the host stopped it: the guest was stalled" || echo "see the log"))"
  done
  demo_summary "$out/without-tierd.txt" "$out/with-tierd.txt"
  echo
  echo "demo took $(( $(date +%s) - t0 )) s in all"
  rm -rf "$out"
}
demo_t() { printf '%4ds' $(( $(date +%s) - $1 )); }
# Show the demo's lines with the elapsed time; keep them all in $2; say so
# when the guest is silent for 10 s.
demo_filter() {
  local t0=$1 keep=$2 line silent=0
  : > "$keep"
  while :; do
    if IFS= read -r -t 10 line; then
      silent=0
      line=${line%$'\r'}
      printf '%s\n' "$line" >> "$keep"
      case $line in
        demo-figure:*) ;;
        demo:*|stallwatch:*|"   | "*) echo "[$(demo_t "$t0")] $line" ;;
        "run-vm: shape"*|"run-vm: guest exit"*|"run-vm: attempt"*|"run-vm: host timeout"*|"run-vm: VM died"*)
          echo "[$(demo_t "$t0")] $line" ;;
      esac
    elif [ $? -gt 128 ]; then
      silent=$((silent + 10))
      echo "[$(demo_t "$t0")] (host) the VM has printed nothing for ${silent} s"
    else
      break
    fi
  done
}
demo_summary() {
  local a=$1 b=$2
  fig() { sed -n "s/^demo-figure: $2=//p" "$1" | tail -1; }
  secs() { case $1 in ""|none) echo "${2:-none}" ;; *) echo "$1 s" ;; esac; }
  demoted() { sed -n 's/^demo-figure: pgdemote_[a-z]*=//p' "$1" | awk '{s += $1} END {print s + 0}'; }
  probe() { local ms; ms=$(fig "$1" probe_max_ms_in_stall); [ "$(fig "$1" probes_in_stall)" = 0 ] && { echo "n/a (no stall)"; return; }
            awk -v m="${ms:-0}" 'BEGIN {printf "%.1f s", m / 1000}'; }
  firstoom() { local f; f=$(fig "$1" full_to_first_oom_s)
    if [ "$f" = none ] || [ -z "$f" ]; then
      [ "$(fig "$1" end_reason)" = stall-limit ] && echo "none in $(fig "$1" stall_s) s (stopped)" || echo none
    else echo "$f s"; fi; }
  echo
  echo "== side by side (stress-ng, 3 GiB demand in 1 GiB DRAM + 1 GiB slow memory, no swap)"
  printf '   %-40s %-30s %s\n' "" "without tierd acting" "with tierd"
  printf '   %-40s %-30s %s\n' "memory full after the start" "$(secs "$(fig "$a" start_to_full_s)")" "$(secs "$(fig "$b" start_to_full_s)")"
  printf '   %-40s %-30s %s\n' "guard trip after the start" "$(secs "$(fig "$a" guard_trip_s)") (dry-run: nothing)" "$(secs "$(fig "$b" guard_trip_s)") (demotion off)"
  printf '   %-40s %-30s %s\n' "first OOM kill after memory full" "$(firstoom "$a")" "$(firstoom "$b")"
  printf '   %-40s %-30s %s\n' "OOM kills" "$(fig "$a" oom_kill)" "$(fig "$b" oom_kill)"
  printf '   %-40s %-30s %s\n' "pages demoted into the full slow tier" "$(demoted "$a")" "$(demoted "$b")"
  printf '   %-40s %-30s %s\n' "longest wait of a shell in the stall" "$(probe "$a")" "$(probe "$b")"
  printf '   %-40s %-30s %s\n' "shell answered within 1 s" "$(fig "$a" shell_within_1s)" "$(fig "$b" shell_within_1s)"
  echo "   Without tierd the host sits at the min watermark of both tiers, demoting into the full"
  echo "   slow tier, and allocations never reach the OOM killer (measured here: 2-4 minutes, once more"
  echo "   than 5; tests/vm/README.md).  tierd's guard turns demotion off as the slow tier reaches its"
  echo "   low watermark, and the OOM killer answers within seconds."
}

# ------------------------------------------------------------------ main
case $CMD in
  shapes)
    for s in $SHAPES; do shape_load "$s"; printf '%-15s %s\n' "$s" "$DESC"; done ;;
  cmdline)
    shape_load "${1:?cmdline SHAPE}"; host_checks; kernel_for_shape; INITRD=INITRD.cpio.gz; qemu_argv
    printf '%q ' "${Q[@]}"; echo ;;
  build)
    shape_load "${1:?build SHAPE}"; host_checks; take_lock; kernel_for_shape; build_base; echo "$VMLINUZ"; echo "$BASE" ;;
  run)
    shape_load "${1:?run SHAPE COMMAND}"; shift; [ "${1:-}" = -- ] && shift
    [ $# -gt 0 ] || die "run: no guest command"
    GUEST_RUN="$*"
    host_checks; take_lock; kernel_for_shape; boot_and_exit run ;;
  scenario)
    [ $# -ge 2 ] || die "scenario NAME SHAPE [ARGS]"
    name=$1 s=$2; shift 2
    shape_load "$s"; scenario_setup "$name" "$@"
    host_checks; take_lock; kernel_for_shape; boot_and_exit "$name${1:+-$1}" ;;
  shell)
    shape_load "${1:?shell SHAPE}"; host_checks; take_lock; kernel_for_shape
    GUEST_RUN="" RUNDIR=$(mktemp -d "${TMPDIR:-/tmp}/tierd-vm.XXXXXX")
    trap 'rm -rf "$RUNDIR"' EXIT
    take_lock; build_base; build_overlay "$RUNDIR/ovl"; INITRD=$RUNDIR/initrd.gz
    cat "$BASE" "$RUNDIR/ovl.cpio.gz" > "$INITRD"; qemu_argv
    Q=("${Q[@]/#stdio/mon:stdio}")
    "${Q[@]}" ;;
  capture)
    host_checks; capture_all "$@" ;;
  demo)
    demo_all "$@" ;;
  ""|-h|--help|help) usage ;;
  *) die "unknown command '$CMD' (try --help)" ;;
esac
