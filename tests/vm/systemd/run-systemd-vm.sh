#!/bin/bash
# run-systemd-vm.sh - tierd under a real systemd: a Debian 12 VM (debootstrap
# root file system, systemd as PID 1) booted with the 6.12 kernel in the
# tiered QEMU shape "2tier" of tests/vm/run-vm.sh, tierd installed from
# its Debian package (conf/debian/build-deb.sh) inside the guest with apt,
# and tests/vm/systemd/guest/scenario.sh run inside as a systemd service.
# See tests/vm/systemd/README.md.
#
# Usage: tests/vm/systemd/run-systemd-vm.sh [options] [test | run 'COMMAND' | image]
#   test            (default) boot, run the scenario, exit with its status
#   run 'COMMAND'   boot, run `bash -c COMMAND` as the test service instead
#   image           build the root file system, the initramfs and the disk image only
# Options (environment variable in brackets):
#   --cache DIR       downloads, kernels, rootfs, images, logs [VM_CACHE; default build/vm-cache]
#   --build-dir DIR   the CMake build the test runs from [TIER_BINARY_DIR; default build]
#                     (the package is built in VM_CACHE/systemd-deb-build)
#   --shape SHAPE     a run-vm.sh HMAT shape [default 2tier]
#   --timeout SEC     host-side timeout of one boot [VM_TIMEOUT; default 600]
#   --no-retry        do not boot again after a boot that died without an exit marker
#   -q, --quiet       do not echo the serial console (it is always in the log)
# Exit status: the scenario's (0 all passed, 1 a check failed); 77 skipped (no
# qemu, < 3 GiB available, no debootstrap/not root for a cold cache, no kernel);
# 124 host timeout; 125 the VM died twice without an exit marker; 2 usage.
# Never runs two VMs at once: flock on /tmp/tierd-vm.lock [VM_LOCK], the lock
# run-vm.sh takes too.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
VMDIR=$(cd "$HERE/.." && pwd)
SRC=$(cd "$HERE/../../.." && pwd)
RUNVM=$VMDIR/run-vm.sh
VM_CACHE=${VM_CACHE:-$SRC/build/vm-cache}
BUILD=${TIER_BINARY_DIR:-$SRC/build}
SHAPE=2tier TIMEOUT=${VM_TIMEOUT:-600} RETRY=1 QUIET=0
LOCKFILE=${VM_LOCK:-/tmp/tierd-vm.lock}

say() { echo "systemd-vm: $*" >&2; }
die() { say "$*"; exit 2; }
skip() { echo "SKIP: $*"; exit 77; }
usage() { awk 'NR > 1 && /^#/ {sub(/^# ?/, ""); print; next} NR > 1 {exit}' "$0"; }

while [ $# -gt 0 ]; do
  case $1 in
    --cache) VM_CACHE=$2; shift 2 ;;
    --build-dir) BUILD=$2; shift 2 ;;
    --shape) SHAPE=$2; shift 2 ;;
    --timeout) TIMEOUT=$2; shift 2 ;;
    --no-retry) RETRY=0; shift ;;
    -q|--quiet) QUIET=1; shift ;;
    -h|--help) usage; exit 0 ;;
    -*) die "unknown option $1 (try --help)" ;;
    *) break ;;
  esac
done
CMD=${1:-test}; [ $# -gt 0 ] && shift
GUEST_CMD=""
case $CMD in
  test|image) ;;
  run) [ $# -gt 0 ] || die "run: no command"; GUEST_CMD="$*" ;;
  *) die "unknown command '$CMD' (try --help)" ;;
esac
mkdir -p "$VM_CACHE"; VM_CACHE=$(cd "$VM_CACHE" && pwd)
[ -d "$BUILD" ] || die "no build directory $BUILD (--build-dir)"
BUILD=$(cd "$BUILD" && pwd)

T0=$(date +%s.%N)
elapsed() { awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}'; }

# ------------------------------------------------------------------ host side
command -v mkfs.ext4 >/dev/null || skip "mkfs.ext4 not found (apt-get install e2fsprogs)"

# Kernel, host checks (qemu, memory) and the QEMU shape: reused from
# run-vm.sh, which caches the kernel in the same VM_CACHE.  `build` also
# builds its static helpers (hog is used here).
set +e
out=$(bash "$RUNVM" --cache "$VM_CACHE" build "$SHAPE")
rc=$?
set -e
[ $rc -eq 77 ] && { echo "$out"; exit 77; }
[ $rc -eq 0 ] || die "run-vm.sh build $SHAPE failed ($rc)"
VMLINUZ=$(echo "$out" | grep -m1 '/vmlinuz-')
KDIR=$(dirname "$(dirname "$VMLINUZ")")
KPKG=$(basename "$KDIR")
MODVER=$(ls "$KDIR/lib/modules" | head -1)
HELPERS=$(ls -td "$VM_CACHE"/helpers/*/ 2>/dev/null | while read -r d; do [ -f "$d/.ok" ] && echo "${d%/}" && break; done)
# The shape's QEMU command line, up to (not including) -kernel: we bring our own
# kernel command line, initramfs and disk.
eval "QSHAPE=($(bash "$RUNVM" --cache "$VM_CACHE" cmdline "$SHAPE"))"
Q=()
for a in "${QSHAPE[@]}"; do [ "$a" = -kernel ] && break; Q+=("$a"); done
[ ${#Q[@]} -gt 10 ] || die "could not read the QEMU command line from run-vm.sh cmdline $SHAPE"
say "kernel $KPKG, shape $SHAPE (run-vm.sh), $(elapsed)s"

# The Debian root file system (cached; debootstrap on a cold cache).
set +e
ROOTFS=$(bash "$HERE/build-rootfs.sh" "$VM_CACHE")
rc=$?
set -e
[ $rc -eq 77 ] && { echo "$ROOTFS"; exit 77; }
[ $rc -eq 0 ] && [ -d "$ROOTFS" ] || die "building the root file system failed ($rc)"
say "rootfs $ROOTFS, $(elapsed)s"

# The initramfs: busybox and the modules to mount the root disk (Debian's
# 6.12 has virtio_blk and ext4 as modules; virtio_pci is built in), then
# switch_root to systemd.  Cached per kernel package and this script.
build_initrd() {
  local sum m f R
  sum=$( { cat "$0"; echo "$KPKG"; dpkg-query -W -f='${Version}' busybox-static 2>/dev/null; } | sha1sum | cut -c1-12)
  INITRD=$VM_CACHE/systemd-rootfs/initrd-$KPKG-$sum.cpio.gz
  [ -f "$INITRD" ] && return 0
  rm -f "$VM_CACHE/systemd-rootfs/initrd-$KPKG"-*.cpio.gz
  R=$(mktemp -d "$VM_CACHE/systemd-rootfs/initrd.XXXXXX")
  mkdir -p "$R"/{bin,proc,sys,dev,newroot,lib/modules}
  cp /usr/bin/busybox "$R/bin/busybox"
  for a in sh mount umount insmod switch_root sleep cat echo poweroff mkdir ls; do ln -s busybox "$R/bin/$a"; done
  [ -f "$KDIR/lib/modules/$MODVER/modules.dep" ] || depmod -b "$KDIR" "$MODVER"
  # crc32c: ext4 asks the crypto API for it at mount time (request_module,
  # which cannot work here), so it is loaded explicitly.
  for m in virtio_blk crc32c_generic crc32c_intel ext4; do
    modprobe -C /nonexistent -d "$KDIR" -S "$MODVER" --show-depends "$m" 2>/dev/null || true
  done | awk '$1 == "insmod" && !seen[$2]++ {print $2}' | while read -r f; do
    m=$(basename "$f"); m=${m%.xz}; m=${m%.zst}
    case $f in
      *.xz) xz -dc "$f" > "$R/lib/modules/$m" ;;
      *.zst) zstd -qdc "$f" > "$R/lib/modules/$m" ;;
      *) cp "$f" "$R/lib/modules/$m" ;;
    esac
    echo "$m" >> "$R/lib/modules/order"
  done
  cat > "$R/init" <<'EOF'
#!/bin/sh
# initramfs of the systemd VM test: load the disk and ext4 modules, mount
# /dev/vda and hand over to systemd.
mount -t proc proc /proc; mount -t sysfs sysfs /sys; mount -t devtmpfs devtmpfs /dev
for m in $(cat /lib/modules/order); do
  insmod /lib/modules/$m 2>/dev/null || echo "initramfs: insmod $m failed"
done
i=0; while [ ! -b /dev/vda ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
if ! mount -t ext4 -o rw,noatime /dev/vda /newroot; then
  echo "initramfs: cannot mount /dev/vda"; poweroff -f
fi
mount --move /dev /newroot/dev; umount /proc /sys
exec switch_root /newroot /sbin/init
EOF
  chmod +x "$R/init"
  (cd "$R" && find . | cpio -o -H newc --quiet) | gzip -1 > "$INITRD.tmp"
  mv "$INITRD.tmp" "$INITRD"; rm -rf "$R"
  say "initramfs $INITRD ($(grep -c . <(gzip -dc "$INITRD" | cpio -t --quiet 2>/dev/null)) entries)"
}
build_initrd

# tierd is installed from its Debian package, as an admin would install it:
# conf/debian/build-deb.sh builds tierd_<version>_<arch>.deb from the same
# sources (Debian's build flags, prefix /usr, CPack, lintian) in
# VM_CACHE/systemd-deb-build (incremental), and the guest installs it with
# `apt-get install ./tierd_*.deb`, so the maintainer scripts run under the
# real systemd.  --build-dir only names the tree the ctest runs from.
DEB_BUILD=$VM_CACHE/systemd-deb-build
: > "$VM_CACHE/systemd-build.log"
set +e
DEB=$(JOBS=$(nproc) bash "$SRC/conf/debian/build-deb.sh" "$DEB_BUILD" 2>"$VM_CACHE/systemd-build.log")
rc=$?
set -e
[ $rc -eq 0 ] && [ -f "$DEB" ] || { tail -30 "$VM_CACHE/systemd-build.log" >&2; die "building the package failed ($rc)"; }
say "package $(basename "$DEB") built in $DEB_BUILD, $(elapsed)s"
sed -n '/^build-deb: lintian/,$p' "$VM_CACHE/systemd-build.log" | grep -v 'not recommended' | sed 's/^/  /' >&2

# The disk image: a copy of the cached tree (hard links: the tree is never
# written to, every file added below is a new file), the package, the
# scenario and its service, then mkfs.ext4 -d.  No loop mount, no root
# needed for this part.
RUNDIR=$(mktemp -d "$VM_CACHE/systemd-rootfs/run.XXXXXX")
trap 'rm -rf "$RUNDIR"' EXIT
STAGE=$RUNDIR/root
cp -al "$ROOTFS" "$STAGE"
G=$STAGE/usr/local/lib/tierd-vmtest
mkdir -p "$G"
install -m 644 "$DEB" "$G/"
# What the package must hold, and where (Debian 12's places), checked on the
# .deb itself; reported by the guest scenario as PASS/FAIL lines.
{
  dpkg-deb -c "$DEB" | awk '{print $6}' | sed 's#^\.##' > "$RUNDIR/deb.files"
  for f in /usr/sbin/tierd /usr/bin/tierctl /lib/systemd/system/tierd.service /etc/tierd.conf \
           /usr/share/man/man8/tierd.8.gz /usr/share/man/man8/tierctl.8.gz /usr/share/man/man5/tierd.conf.5.gz \
           /usr/share/bash-completion/completions/tierctl /usr/share/bash-completion/completions/tierd \
           /usr/lib/systemd/catalog/tierd.catalog /usr/share/doc/tierd/copyright /usr/share/doc/tierd/changelog.gz; do
    if grep -qx "$f" "$RUNDIR/deb.files"; then echo "PASS: the package ships $f"; else echo "FAIL: the package does not ship $f"; fi
  done
  if grep -q -e '^/usr/include' -e '\.a$' -e '\.pc$' "$RUNDIR/deb.files"; then echo "FAIL: the package ships development files"
  else echo "PASS: no development files (libtier-dev) in the package"; fi
  name=$(basename "$DEB")
  case $name in tierd_*_"$(dpkg --print-architecture)".deb) echo "PASS: file name $name is tierd_<version>_<arch>.deb" ;;
    *) echo "FAIL: file name $name is not tierd_<version>_<arch>.deb" ;; esac
  dep=$(dpkg-deb -f "$DEB" Depends)
  echo "INFO: Depends: $dep"
  ok=1; for l in libc6 libsystemd0 libnuma1 libjson-c5 libinih1 libcgroup2; do case $dep in *"$l "*|*"$l,"*|*"$l") ;; *) ok=0 ;; esac; done
  if [ $ok = 1 ]; then echo "PASS: Depends (dpkg-shlibdeps) names every shared library's package"; else echo "FAIL: Depends lacks a library package: $dep"; fi
  if dpkg-deb --ctrl-tarfile "$DEB" | tar -xO ./conffiles 2>/dev/null | grep -qx /etc/tierd.conf; then echo "PASS: /etc/tierd.conf is a conffile"
  else echo "FAIL: /etc/tierd.conf is not a conffile"; fi
  unit=$(dpkg-deb --fsys-tarfile "$DEB" | tar -xO ./lib/systemd/system/tierd.service)
  if grep -q '^ExecStart=/usr/sbin/tierd$' <<< "$unit"; then echo "PASS: the packaged unit runs ExecStart=/usr/sbin/tierd"
  else echo "FAIL: the packaged unit's ExecStart is '$(grep '^ExecStart=' <<< "$unit")', not /usr/sbin/tierd"; fi
  for s in postinst prerm postrm; do
    if dpkg-deb --ctrl-tarfile "$DEB" | tar -xO "./$s" 2>/dev/null | grep -q 'deb-systemd-'; then echo "PASS: $s uses deb-systemd-helper/deb-systemd-invoke"
    else echo "FAIL: $s does not handle the service"; fi
  done
  if grep -q '^build-deb: lintian: clean' "$VM_CACHE/systemd-build.log"; then echo "PASS: lintian -I --pedantic: no finding (reviewed overrides: conf/debian/lintian-overrides)"
  elif grep -q '^build-deb: lintian' "$VM_CACHE/systemd-build.log"; then echo "FAIL: lintian reported findings (see $VM_CACHE/systemd-build.log)"
  else echo "INFO: lintian is not installed on the host: not run"; fi
} > "$G/host-checks"
grep -a '^FAIL' "$G/host-checks" >&2 || true
if [ "$(id -u)" = 0 ]; then
  # The guest has exactly the libraries of its packages: nothing missing?
  mkdir -p "$STAGE/tmp/deb"; dpkg-deb -x "$DEB" "$STAGE/tmp/deb"
  miss=$(chroot "$STAGE" ldd /tmp/deb/usr/sbin/tierd /tmp/deb/usr/bin/tierctl 2>&1 | grep 'not found' || true)
  rm -rf "$STAGE/tmp/deb"
  [ -z "$miss" ] || die "tierd/tierctl need libraries the root file system lacks (add the package to build-rootfs.sh): $miss"
fi
cp "$HERE/guest/scenario.sh" "$G/"
if [ -n "$GUEST_CMD" ]; then
  printf '#!/bin/bash\necho "@@TIERD_VM_READY uptime=$(cut -d" " -f1 /proc/uptime)@@"\nbash -c %q\nrc=$?\necho "@@TIERD_VM_EXIT=$rc@@"\nsystemctl poweroff --no-block\n' \
    "$GUEST_CMD" > "$G/run.sh"
else
  printf '#!/bin/bash\nexec /usr/local/lib/tierd-vmtest/scenario.sh\n' > "$G/run.sh"
fi
chmod 755 "$G"/*.sh
# hog (tests/vm/helpers/hog.c, built by run-vm.sh): the memory pressure and
# the relief victim.
[ -n "$HELPERS" ] && [ -x "$HELPERS/hog" ] || die "run-vm.sh did not build its helpers (no hog in $VM_CACHE/helpers)"
cp "$HELPERS/hog" "$STAGE/usr/local/bin/hog"
cp "$HERE/guest/tierd-vmtest.service" "$STAGE/etc/systemd/system/"
mkdir -p "$STAGE/etc/systemd/system/multi-user.target.wants"
ln -s ../tierd-vmtest.service "$STAGE/etc/systemd/system/multi-user.target.wants/tierd-vmtest.service"
IMG=$RUNDIR/disk.img
truncate -s 1G "$IMG"
mkfs.ext4 -q -F -L tierd-vm -E root_owner=0:0 -d "$STAGE" "$IMG" ||
  die "mkfs.ext4 -d failed"
rm -rf "$STAGE"
say "disk image $(du -h "$IMG" | cut -f1) (1G sparse), $(elapsed)s"
[ "$CMD" = image ] && { say "image only: done"; exit 0; }

# ------------------------------------------------------------------ boot
Q+=(-kernel "$VMLINUZ" -initrd "$INITRD"
    -drive "file=$IMG,if=virtio,format=raw,cache=unsafe"
    -append "console=ttyS0 panic=-1 quiet root=/dev/vda rw systemd.show_status=error")

boot_once() {
  local log=$1 t0 qrc
  B_LOG=$log
  t0=$(date +%s.%N)
  set +e
  if [ "$QUIET" = 1 ]; then
    timeout -k 10 "$TIMEOUT" "${Q[@]}" </dev/null >"$log" 2>&1; qrc=$?
  else
    timeout -k 10 "$TIMEOUT" "${Q[@]}" </dev/null 2>&1 | tee "$log"; qrc=${PIPESTATUS[0]}
  fi
  set -e
  B_WALL=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}')
  B_READY=$(grep -ao '@@TIERD_VM_READY uptime=[0-9.]*' "$log" | head -1 | sed 's/.*uptime=//' || true)
  B_RC=$(grep -ao '@@TIERD_VM_EXIT=[0-9]*@@' "$log" | tail -1 | tr -dc '0-9' || true)
  if [ -n "$B_RC" ]; then B_HOW="guest exit $B_RC"
  elif [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then B_RC=124 B_HOW="host timeout (${TIMEOUT}s) fired"
  else B_RC=125 B_HOW="VM died without an exit marker (qemu status $qrc)"
  fi
  B_SUMMARY="$B_HOW, wall ${B_WALL}s, scenario started at ${B_READY:-never}s guest uptime, log $log"
}

mkdir -p "$VM_CACHE/logs"
exec 9>"$LOCKFILE"
if ! flock -n 9; then say "another VM is running (lock $LOCKFILE): waiting"; flock 9; fi
stamp=$(date +%Y%m%d-%H%M%S)
# The disk is written by the guest: keep a pristine copy for a retry.
cp --sparse=always "$IMG" "$RUNDIR/disk.pristine"
say "booting: systemd in $SHAPE, timeout ${TIMEOUT}s (prepared in $(elapsed)s)"
boot_once "$VM_CACHE/logs/$stamp-systemd-$SHAPE.log"
first=$B_SUMMARY
if [ "$RETRY" = 1 ] && { [ "$B_RC" = 125 ] || { [ "$B_RC" = 124 ] && [ -z "$B_READY" ]; }; }; then
  say "attempt 1: $first"
  say "retrying once"
  cp --sparse=always "$RUNDIR/disk.pristine" "$IMG"
  boot_once "$VM_CACHE/logs/$stamp-systemd-$SHAPE-attempt2.log"
  say "attempt 2: $B_SUMMARY"
else
  say "$first"
fi
exec 9>&-
# -q: the console was not shown; show the scenario's part of it.
[ "$QUIET" = 1 ] && sed -n '/@@TIERD_VM_READY/,/@@TIERD_VM_EXIT/p' "$B_LOG" | grep -av '^\[ *[0-9.]*\] '
say "total $(elapsed)s"
exit "$B_RC"
