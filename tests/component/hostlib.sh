# Helpers for the component tests that run tierd on this HOST's real
# cgroup tree and /proc (sourced; lib.sh is for fixture roots).
set -euo pipefail
: "${TIERD:?TIERD must point to the tierd binary}" "${TIERCTL:?TIERCTL must point to the tierctl binary}"

fails=0
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
check() { local what=$1; shift; if "$@"; then pass "$what"; else fail "$what"; fi; }
skip() { echo "SKIP: $*"; exit 77; }

need_root() { [[ $(id -u) -eq 0 ]] || skip "needs root ($*)"; command -v jq >/dev/null || skip "jq is not installed"; }
# MNT: the host's cgroup v1 cpuset hierarchy, or skip.
need_cpuset_v1() {
  MNT=$(awk '$3 == "cgroup" && $4 ~ /(^|,)cpuset(,|$)/ { print $2; exit }' /proc/self/mounts)
  [[ -n $MNT && -w $MNT/cpuset.mems ]] || skip "no writable cgroup v1 cpuset hierarchy"
  [[ $(cat "$MNT/cgroup.clone_children") == 0 ]] || skip "cgroup.clone_children=1 at $MNT: new cpusets are not empty"
}
need_single_node() {
  [[ $(cat /sys/devices/system/node/has_memory 2>/dev/null) == 0 ]] || skip "needs a host whose only memory node is 0"
}
# One test on the host's cpuset tree at a time: tierd fences every cpuset
# cgroup of the host, so two of them (tests, benchmarks, in other worktrees
# too) would write each other's cgroups.
take_cgroupfs_lock() {
  exec 9>/tmp/tierd-cgroupfs.lock
  flock -w 900 9 || skip "/tmp/tierd-cgroupfs.lock is held by another run"
}

jqs() { "$TIERCTL" --socket "$SOCK" status --json | jq -r "$1"; }
# wait_status JQ-EXPR [tries of 50 ms, default 200]
wait_status() { for _ in $(seq "${2:-200}"); do [[ $(jqs "$1" 2>/dev/null) == true ]] && return 0; sleep 0.05; done; return 1; }
# wait_for TRIES COMMAND...: every 50 ms
wait_for() { local n=$1; shift; for _ in $(seq "$n"); do "$@" && return 0; sleep 0.05; done; return 1; }

host_finish() { # host_finish LOG
  if ((fails)); then echo "$fails check(s) failed"; grep -E '^<[0-4]>' "$1" | head -20; tail -20 "$1"; exit 1; fi
  echo "all checks passed"
}
