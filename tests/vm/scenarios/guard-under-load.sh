# Scenario "guard-under-load" (runs inside the VM): the benchmark
# tests/bench/guard-under-load.sh on the real kernel (use the 2tier-large
# shape: a 3 GiB relief victim on node 1).  A benchmark, not a test: it prints
# figures and fails only when it cannot run.  BENCH_TIERD (--env, a path in
# the guest, e.g. under --share) benchmarks another tierd binary, such as the
# one before a change; GUL_CROSSINGS and GUL_LOADS (--env) pass through.
T=${BENCH_TIERD:-/usr/local/sbin/tierd}
echo "== guard-under-load: kernel $(uname -r), shape $VM_SHAPE, tierd $T"
TOOLS=/usr/local/bin TIERD=$T TIERCTL=/usr/local/bin/tierctl \
  sh /vm/bench/guard-under-load.sh --crossings "${GUL_CROSSINGS:-60}" \
  --loads "${GUL_LOADS:-sparse maps clients cgroups resident}" --label "${GUL_LABEL:-}"
