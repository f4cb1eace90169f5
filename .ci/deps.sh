#!/usr/bin/env bash
# Install what tierd needs to build and test on Debian 12 (bookworm).
# Idempotent: installs only what is missing; needs root (or sudo).
#   .ci/deps.sh [--vm] [--fuzz]
set -euo pipefail
pkgs=(build-essential cmake pkg-config libnuma-dev libsystemd-dev libcgroup-dev libinih-dev
      libjson-c-dev libcmocka-dev numactl util-linux procps jq
      # metrics tests: promtool (prometheus), node_exporter, curl
      prometheus prometheus-node-exporter curl
      # completions: bash-completion (its completionsdir, its loader in the test)
      bash-completion)
# Only their binaries are used; these two packages ship services that
# Debian starts on installation (where systemd runs): see below.
services=(prometheus prometheus-node-exporter)
for arg in "$@"; do
  case $arg in
    --vm)
      # The tiered-VM tests (tests/vm) also need these; the harness installs them itself too.
      pkgs+=(qemu-system-x86 busybox-static cpio kmod xz-utils ndctl daxctl stress-ng jq
             # vm/systemd builds the Debian package (conf/debian/build-deb.sh) and lints it
             dpkg-dev lintian) ;;
    --fuzz)
      # tests/fuzz/run-fuzz.sh: clang, and compiler-rt's libFuzzer, ASan and
      # UBSan runtimes (Debian 12 packages them apart from clang).
      pkgs+=(clang libclang-rt-14-dev) ;;
  esac
done
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=; [[ $(id -u) -eq 0 ]] || SUDO=sudo
  echo "installing: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
  # A test machine does not need a Prometheus server and an exporter
  # listening on :9090 and :9100: stop and disable the ones installed just
  # now (never those that were there before).
  if [[ -d /run/systemd/system ]]; then
    for s in "${services[@]}"; do
      if [[ " ${missing[*]} " == *" $s "* ]]; then
        echo "stopping and disabling $s.service (installed for its binary only)"
        $SUDO systemctl disable --now "$s.service" >/dev/null 2>&1 || true
      fi
    done
  fi
fi
