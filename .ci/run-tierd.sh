#!/usr/bin/env bash
# The README's run command: install build dependencies, build, show the
# topology, then run tierd in the foreground on this machine and show
# `tierctl status` once it is up.  Ctrl-C stops tierd, which restores every
# setting it changed.  Extra arguments go to tierd (e.g. --dry-run).
set -euo pipefail
cd "$(dirname "$0")/.."
.ci/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)"
echo "== tierctl topology"
build/daemon/tierctl topology
conf=conf/tierd.conf
sock=/run/tierd/tierd.sock
args=(--config "$conf")
if [[ $(id -u) -ne 0 ]]; then
  echo "(not root: running read-only with the socket and state in \$XDG_RUNTIME_DIR)"
  rt=${XDG_RUNTIME_DIR:-/tmp}/tierd; mkdir -p "$rt"
  sock=$rt/tierd.sock; args+=(--socket "$sock" --state-dir "$rt" --dry-run)
else
  mkdir -p /run/tierd
fi
echo "== starting tierd in the foreground (Ctrl-C to stop)"
build/daemon/tierd "${args[@]}" "$@" &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid' INT TERM
for _ in $(seq 50); do [[ -S $sock ]] && break; sleep 0.1; done
echo "== tierctl status"
build/daemon/tierctl --socket "$sock" status || true
echo "== tierd keeps running (pid $pid); tierctl --socket $sock status from another terminal"
wait $pid
