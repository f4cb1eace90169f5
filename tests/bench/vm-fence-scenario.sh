#!/usr/bin/env bash
# The fence VM scenario (cgroup v2, private node 1 on the 2tier shape), run
# through the QEMU harness without touching it: the guest script
# (vm-fence-guest.sh) and a static helper (vm-interleave.c, the guest has no
# numactl) go to the VM through the 9p share.  To wire it as a regular
# scenario: copy vm-fence-guest.sh to tests/vm/scenarios/fence.sh, add
# vm-interleave.c to tests/vm/helpers/ (set FENCE_SHARE to where helpers are
# installed, or adjust $H), and add to tests/vm/CMakeLists.txt:
#   tier_vm_test(fence/2tier 600 fence 2tier)
#
#   tests/bench/vm-fence-scenario.sh [BUILD_DIR]      (default: build)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
BUILD=${1:-$SRC/build}
[[ -x $BUILD/daemon/tierd && -x $BUILD/daemon/tierctl ]] || { echo "build tierd first ($BUILD)"; exit 77; }
SHARE=$(mktemp -d /tmp/tierd-fence-vm-XXXXXX)
trap 'rm -rf "$SHARE"' EXIT
gcc -O2 -Wall -Wextra -Werror -static -o "$SHARE/vm-interleave" "$HERE/vm-interleave.c"
cp "$HERE/vm-fence-guest.sh" "$SHARE/fence-guest.sh"
bash "$SRC/tests/vm/run-vm.sh" --tierd "$BUILD/daemon/tierd" --tierctl "$BUILD/daemon/tierctl" \
  --share "$SHARE" --timeout 300 run 2tier -- 'sh /mnt/host/fence-guest.sh'
