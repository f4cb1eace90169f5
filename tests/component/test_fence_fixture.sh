#!/usr/bin/env bash
# Fencing against a fixture root with a fake cgroup v2 tree of plain files
# (the real 2-tier VM capture: node 0 DRAM, node 1 a slower tier that
# node 0 demotes to).  Checks the v2 semantics the planner promises on real
# files: top-level cgroups get explicit cpuset.mems, children inherit (left
# empty), a granted cgroup and its parent keep the private node, originals
# go to the state file before the write, the demotion conflict turns
# demotion off, an intruder is reported, a root-cgroup task is listed, and
# everything is restored on SIGTERM.  Plain files cannot emulate
# cgroup.subtree_control, so the tree has "cpuset" enabled already.
. "$(dirname "$0")/lib.sh"

new_root vm-6.12-hmat-2tier
echo true > "$ROOT/sys/kernel/mm/numa/demotion_enabled"
CG=$ROOT/sys/fs/cgroup
mkcg() { # mkcg PATH MEMS
  mkdir -p "$CG$1"
  printf '%s' "$2" > "$CG$1/cpuset.mems"
  printf 'cpuset memory' > "$CG$1/cgroup.subtree_control"
  printf 'cpuset memory' > "$CG$1/cgroup.controllers"
  : > "$CG$1/cgroup.procs"
}
mkdir -p "$CG"
printf 'cpuset cpu memory' > "$CG/cgroup.controllers"
printf 'cpuset memory' > "$CG/cgroup.subtree_control"
mkcg /system.slice ""
mkcg /system.slice/db.service ""
mkcg /system.slice/web.service ""
mkcg /user.slice "0-1"
mkcg /user.slice/u1 ""
mkcg /already "0"
# a task in the root cgroup and an intruder with pages on node 1
echo 4243 > "$CG/cgroup.procs"
mkdir -p "$ROOT/proc/4243" "$ROOT/proc/4242" "$ROOT/proc/4244"
printf 'rootd\n' > "$ROOT/proc/4243/comm"; printf 'rootd\0' > "$ROOT/proc/4243/cmdline"
printf '/\n' > "$ROOT/proc/4243/cpuset"; : > "$ROOT/proc/4243/numa_maps"
printf 'hog\n' > "$ROOT/proc/4242/comm"; printf 'hog\0' > "$ROOT/proc/4242/cmdline"
printf '/user.slice/u1\n' > "$ROOT/proc/4242/cpuset"
printf '7f00 interleave:0-1 anon=200 N0=100 N1=100 kernelpagesize_kB=4\n' > "$ROOT/proc/4242/numa_maps"
# a granted task with pages on node 1: not an intruder
printf 'db\n' > "$ROOT/proc/4244/comm"; printf 'db\0' > "$ROOT/proc/4244/cmdline"
printf '/system.slice/db.service\n' > "$ROOT/proc/4244/cpuset"
printf '7f00 bind:1 anon=50 N1=50 kernelpagesize_kB=4\n' > "$ROOT/proc/4244/numa_maps"

cat > "$CONF" <<CONF
[daemon]
interval = 100ms
[fence]
private_nodes = 1
backend = cgroupfs
demotion = disable
[grant db]
cgroup = /system.slice/db.service
nodes = 1
CONF

start_tierd
mems() { tr -d '\n' < "$CG$1/cpuset.mems"; }
check "fence status: fencing" wait_status '.fence.state == "fencing"'
check "hierarchy found from the fixture's mountinfo" [ "$(jqs .fence.hierarchy)" = "cgroup v2 at /sys/fs/cgroup" ]
check "/system.slice holds node 1 for its granted child: left inheriting" [ "$(mems /system.slice)" = "" ]
check "/system.slice/db.service (granted) inherits 0-1" [ "$(mems /system.slice/db.service)" = "" ]
check "/system.slice/web.service (sibling) fenced to 0" [ "$(mems /system.slice/web.service)" = 0 ]
check "/user.slice fenced to 0" [ "$(mems /user.slice)" = 0 ]
check "/user.slice/u1 inherits (left empty)" [ "$(mems /user.slice/u1)" = "" ]
check "/already untouched" [ "$(mems /already)" = 0 ]
check "status: nothing unfenced" [ "$(jqs .fence.unfenced)" = 0 ]
check "status: 7 cgroups" [ "$(jqs .fence.cgroups)" = 7 ]
check "status: grant db matches 1 cgroup" [ "$(jqs '.fence.grants[0].cgroups')" = 1 ]
ST=$ROOT/run/tierd/state.json
check "state: /user.slice original 0-1 recorded" \
  [ "$(jq -r '.entries[] | select(.key == "sys/fs/cgroup/user.slice/cpuset.mems") | .original' "$ST")" = 0-1 ]
check "state: web.service original '' recorded" \
  [ "$(jq -r '.entries[] | select(.key == "sys/fs/cgroup/system.slice/web.service/cpuset.mems") | .original' "$ST")" = "" ]
check "state: /already not recorded" \
  [ "$(jq '[.entries[] | select(.key | contains("already"))] | length' "$ST")" = 0 ]
# demotion: node 0 demotes into private node 1
check "demotion conflict detected" [ "$(jqs .fence.demotion.conflict)" = true ]
check "demotion conflict names the nodes" bash -c "'$TIERCTL' --socket '$SOCK' status --json | jq -r .fence.demotion.why | grep -q 'private node 1 is a demotion target of node 0'"
check "answer disable: demotion_enabled written false" grep -qx false "$ROOT/sys/kernel/mm/numa/demotion_enabled"
check "knobs.json: demotion original true recorded by its owner" \
  [ "$(jq -r '.entries[] | select(.kind == "knob") | .original' "$ROOT/run/tierd/knobs.json")" = true ]
check "state.json holds no knob (one owner, one file)" \
  [ "$(jq '[.entries[] | select(.kind == "knob")] | length' "$ST")" = 0 ]
# audit
check "root-cgroup task counted" [ "$(jqs .fence.root_tasks)" = 1 ]
check "root-cgroup task listed" [ "$(jqs '.fence.root_task_list[0].comm')" = rootd ]
check "one intruder" [ "$(jqs .fence.intruders_total)" = 1 ]
check "intruder is pid 4242 in /user.slice/u1" [ "$(jqs '.fence.intruders[0] | "\(.pid) \(.cgroup)"')" = "4242 /user.slice/u1" ]
check "intruder bytes = 100 pages" [ "$(jqs .fence.intruder_bytes)" = $((100 * 4096)) ]
check "text status has a Fencing section" bash -c "'$TIERCTL' --socket '$SOCK' status | grep -q -i fenc"

# a new top-level cgroup is fenced via inotify; a new child of a fenced one is left inheriting
mkcg /new.slice ""
mkdir "$CG/user.slice/u2"; : > "$CG/user.slice/u2/cpuset.mems"
check "new top-level cgroup fenced" bash -c "for i in \$(seq 100); do [ \"\$(tr -d '\n' < '$CG/new.slice/cpuset.mems')\" = 0 ] && exit 0; sleep 0.02; done; exit 1"
check "new child of a fenced cgroup left inheriting" [ "$(mems /user.slice/u2)" = "" ]
check "status counts the creations" wait_status '.fence.new_cgroups_fenced >= 2'

# reload with a grant for /user.slice/u1: /user.slice must hold node 1 again
cat >> "$CONF" <<CONF
[grant users]
cgroup = /user.slice/u1
nodes = 1
CONF
check "reload with a new grant" "$TIERCTL" --socket "$SOCK" reload
check "/user.slice widened back for its granted child" \
  bash -c "for i in \$(seq 100); do [ \"\$(tr -d '\n' < '$CG/user.slice/cpuset.mems')\" = 0-1 ] && exit 0; sleep 0.05; done; exit 1"
check "/user.slice/u2 (not granted) now needs its own value" [ "$(mems /user.slice/u2)" = 0 ]
check "the former intruder is granted now: no intruders" wait_status '.fence.intruders_total == 0'
check "state: /user.slice forgotten (back at its original 0-1)" \
  [ "$(jq '[.entries[] | select(.key == "sys/fs/cgroup/user.slice/cpuset.mems")] | length' "$ST")" = 0 ]

stop_tierd TERM
check "restore: /user.slice back to 0-1" [ "$(mems /user.slice)" = 0-1 ]
check "restore: web.service back to empty" [ "$(mems /system.slice/web.service)" = "" ]
check "restore: new.slice back to empty" [ "$(mems /new.slice)" = "" ]
check "restore: u2 back to empty" [ "$(mems /user.slice/u2)" = "" ]
check "restore: demotion_enabled true" grep -qx true "$ROOT/sys/kernel/mm/numa/demotion_enabled"
check "state file removed" [ ! -e "$ST" ]
check "log: restored entries" grep -q "restored sys/fs/cgroup/system.slice/web.service/cpuset.mems" "$LOG"
finish
