#!/bin/bash
# build-rootfs.sh - a small Debian 12 root file system with systemd for the
# systemd VM test (tests/vm/systemd/run-systemd-vm.sh), built with debootstrap
# from Debian's archive and cached.
#
# Usage: build-rootfs.sh CACHE_DIR
#   Prints the path of the finished tree (CACHE_DIR/systemd-rootfs/<hash>/root)
#   on stdout.  The tree is rebuilt only when this script (and so the package
#   list below) changes: <hash> is a hash of this file.  Downloaded .debs are
#   kept in CACHE_DIR/systemd-debs, so a rebuild does not download again.
#   Exit 77 (skip) when it cannot be built here: not root (debootstrap needs
#   chroot and mknod) or debootstrap missing and not installable.
#
# The tree holds no tierd: run-systemd-vm.sh installs it per run with
# `cmake --install` into a copy.  Users and groups for the socket-group checks
# are made here (they do not depend on tierd):
#   group tierstat; user alice (member of tierstat); user bob (not a member).
set -euo pipefail

CACHE=${1:?usage: build-rootfs.sh CACHE_DIR}
mkdir -p "$CACHE"; CACHE=$(cd "$CACHE" && pwd)   # debootstrap wants absolute paths
SUITE=bookworm
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
# systemd/udev/dbus: the init under test.  numactl, stress-ng, jq: the
# scenario's tools.  libnuma1 libjson-c5 libinih1 libcgroup2: tierd's and
# tierctl's shared libraries (libsystemd0 comes with systemd); the run script
# checks with ldd in the chroot that nothing is missing.  procps: pgrep/ps.
PKGS="systemd systemd-sysv udev dbus kmod procps numactl stress-ng jq libnuma1 libjson-c5 libinih1 libcgroup2"

say() { echo "build-rootfs: $*" >&2; }
skip() { echo "SKIP: $*"; exit 77; }

HASH=$(sha1sum "$0" | cut -c1-12)
TOP=$CACHE/systemd-rootfs
OUT=$TOP/$HASH
if [ -f "$OUT/.ok" ]; then
  echo "$OUT/root"
  exit 0
fi

[ "$(id -u)" = 0 ] || skip "building the Debian root file system needs root (debootstrap: chroot, mknod); no cached tree in $TOP"
if ! command -v debootstrap >/dev/null; then
  say "installing debootstrap"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap >&2 ||
    { apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap >&2; } ||
    skip "debootstrap is not installed and could not be installed (apt-get install debootstrap)"
fi

mkdir -p "$TOP" "$CACHE/systemd-debs"
TMP=$TOP/tmp.$$
cleanup() {
  # a failed chroot step may leave these mounted
  for m in proc sys dev/pts dev; do mountpoint -q "$TMP/root/$m" 2>/dev/null && umount -l "$TMP/root/$m"; done
  rm -rf "$TMP"
}
trap cleanup EXIT
rm -rf "$TMP"; mkdir -p "$TMP"
R=$TMP/root
t0=$(date +%s)
say "debootstrap $SUITE ($MIRROR) into $R: ${PKGS// /,}"
debootstrap --variant=minbase --include="${PKGS// /,}" --cache-dir="$CACHE/systemd-debs" \
  "$SUITE" "$R" "$MIRROR" > "$TMP/debootstrap.log" 2>&1 || {
  tail -30 "$TMP/debootstrap.log" >&2
  say "debootstrap failed (log above)"; exit 1
}
say "debootstrap done in $(( $(date +%s) - t0 ))s"

# --- Configuration of the guest (all of it is for a throw-away test VM) ---
echo tierd-vm > "$R/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 tierd-vm\n' > "$R/etc/hosts"
# The root file system is the virtio disk; the initramfs mounts it rw already.
echo "/dev/vda / ext4 rw,noatime,errors=remount-ro 0 1" > "$R/etc/fstab"
: > "$R/etc/machine-id"   # systemd makes a fresh one per boot (transient)
# Volatile journal: nothing to flush to disk, and the image is discarded anyway.
mkdir -p "$R/etc/systemd/journald.conf.d"
printf '[Journal]\nStorage=volatile\nRateLimitBurst=0\n' > "$R/etc/systemd/journald.conf.d/vm.conf"
# No logins: the test runs as a service and reports on the serial console.
# Masked: gettys (the console belongs to the test), timers and jobs that only
# cost boot time under TCG.
for u in getty@tty1.service serial-getty@ttyS0.service getty.target console-getty.service \
         apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer e2scrub_reap.service \
         fstrim.timer dpkg-db-backup.timer systemd-timesyncd.service \
         systemd-tmpfiles-clean.timer man-db.timer; do
  ln -sf /dev/null "$R/etc/systemd/system/$u"
done
ln -sf /lib/systemd/system/multi-user.target "$R/etc/systemd/system/default.target"
# The socket-group users.
chroot "$R" /usr/sbin/groupadd --system tierstat
chroot "$R" /usr/sbin/useradd --create-home --shell /bin/sh --groups tierstat alice
chroot "$R" /usr/sbin/useradd --create-home --shell /bin/sh bob
chroot "$R" /usr/bin/passwd -d root >/dev/null
# Shrink: documentation and translations are not needed in the guest.
rm -rf "$R"/usr/share/doc/* "$R"/usr/share/locale/* "$R"/usr/share/info/* \
       "$R"/var/cache/apt/archives/*.deb "$R"/var/lib/apt/lists/*_Packages
dpkg-query --admindir="$R/var/lib/dpkg" -W -f='${Package} ${Version}\n' > "$TMP/packages.txt"
du -sh "$R" | awk '{print "build-rootfs: tree size " $1}' >&2

rm -rf "$OUT"; mkdir -p "$OUT"
mv "$R" "$OUT/root"; mv "$TMP/packages.txt" "$TMP/debootstrap.log" "$OUT/"
touch "$OUT/.ok"
# Older trees (other script versions) are only disk space now.
for d in "$TOP"/*/; do
  d=${d%/}
  [ "$d" = "$OUT" ] || [ ! -f "$d/.ok" ] || rm -rf "$d"
done
say "built $OUT/root in $(( $(date +%s) - t0 ))s"
echo "$OUT/root"
