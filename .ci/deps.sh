#!/usr/bin/env bash
# Install what tierd needs to build and test on Debian 12 (bookworm).
# Idempotent: installs only what is missing; needs root (or sudo).
#   .ci/deps.sh [--vm | --fuzz]
set -euo pipefail
pkgs=(build-essential cmake pkg-config libnuma-dev libsystemd-dev libcgroup-dev libinih-dev
      libjson-c-dev libcmocka-dev numactl util-linux procps jq)
case "${1:-}" in
  --vm)
    # The tiered-VM tests (tests/vm) also need these; the harness installs them itself too.
    pkgs+=(qemu-system-x86 busybox-static cpio kmod xz-utils ndctl daxctl stress-ng jq) ;;
  --fuzz)
    # tests/fuzz/run-fuzz.sh: clang, and compiler-rt's libFuzzer, ASan and
    # UBSan runtimes (Debian 12 packages them apart from clang).
    pkgs+=(clang libclang-rt-14-dev) ;;
esac
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=; [[ $(id -u) -eq 0 ]] || SUDO=sudo
  echo "installing: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
