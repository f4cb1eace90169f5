#!/usr/bin/env bash
# Fuzz every harness of tests/fuzz for a bounded time with libFuzzer, ASan
# and UBSan (the CI fuzz step; README.md in this folder).
#
#   tests/fuzz/run-fuzz.sh [--seconds N] [--build DIR] [--keep] [HARNESS...]
#
#   --seconds N   fuzzing time per harness (default $FUZZ_SECONDS or 35)
#   --build DIR   clang build directory (default build-fuzz), configured
#                 with CC=clang -DTIERD_FUZZ=ON if needed
#   --keep        keep each harness's grown corpus in DIR/fuzz-out/NAME/corpus
#                 between runs (default: start from the seeds every time)
#   HARNESS...    only these (default: every harness in tests/fuzz/CMakeLists.txt)
#
# Each harness starts from its seed corpus (read only: new inputs go to the
# build directory, never into the source tree) with its dictionary when
# dict/NAME.dict exists.  Any crash, leak, timeout (-timeout per input),
# out-of-memory or sanitizer report fails the run; the input is saved as
# DIR/fuzz-out/NAME/crash-* (or leak-, timeout-, oom-) and the report is
# printed.  At the end, one line per harness: executions, exec/s, coverage
# (cov: edges, ft: features, as libFuzzer's final stats line) and the verdict.
set -euo pipefail
cd "$(dirname "$0")/../.."
SRC=$PWD
SECONDS_EACH=${FUZZ_SECONDS:-35}
BUILD=build-fuzz
KEEP=0
while (($#)); do
  case $1 in
    --seconds) SECONDS_EACH=$2; shift 2 ;;
    --build) BUILD=$2; shift 2 ;;
    --keep) KEEP=1; shift ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    -*) echo "run-fuzz.sh: unknown option $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
[[ $SECONDS_EACH =~ ^[0-9]+$ && $SECONDS_EACH -gt 0 ]] || { echo "run-fuzz.sh: --seconds needs a positive integer" >&2; exit 2; }

mapfile -t ALL < <(sed -n 's/^tier_fuzz(\([a-z0-9-]*\).*/\1/p' tests/fuzz/CMakeLists.txt)
if (($#)); then HARNESSES=("$@"); else HARNESSES=("${ALL[@]}"); fi
for h in "${HARNESSES[@]}"; do
  [[ " ${ALL[*]} " == *" $h "* ]] || { echo "run-fuzz.sh: no harness '$h' (have: ${ALL[*]})" >&2; exit 2; }
done

command -v clang >/dev/null || { echo "run-fuzz.sh: clang not found (apt-get install clang libclang-rt-14-dev)" >&2; exit 1; }
t0=$(date +%s)
if [[ ! -f $BUILD/CMakeCache.txt ]] || ! grep -q '^TIERD_FUZZ:BOOL=ON' "$BUILD/CMakeCache.txt"; then
  CC=clang cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTIERD_FUZZ=ON >/dev/null
fi
cmake --build "$BUILD" -j"$(nproc)" --target fuzz-harnesses >/dev/null
echo "== fuzz harnesses built in $(($(date +%s) - t0)) s; ${SECONDS_EACH} s each: ${HARNESSES[*]}"

# UBSan reports must stop the run (the build has -fno-sanitize-recover=all
# too); libFuzzer turns ASan/UBSan/LSan reports and signals into a crash.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

OUT=$BUILD/fuzz-out
failed=()
summary=()
for h in "${HARNESSES[@]}"; do
  bin=$BUILD/tests/fuzz/fuzz-$h
  dir=$OUT/$h
  ((KEEP)) || rm -rf "$dir"
  mkdir -p "$dir/corpus"
  rm -f "$dir"/crash-* "$dir"/leak-* "$dir"/timeout-* "$dir"/oom-* "$dir"/slow-unit-*
  args=(-max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
        -artifact_prefix="$dir/")
  [[ -f tests/fuzz/dict/$h.dict ]] && args+=(-dict="tests/fuzz/dict/$h.dict")
  log=$dir/fuzz.log
  ts=$(date +%s)
  rc=0
  "$bin" "${args[@]}" "$dir/corpus" "tests/fuzz/corpus/$h" >"$log" 2>&1 || rc=$?
  took=$(($(date +%s) - ts))
  # "#123456 DONE cov: 812 ft: 2360 corp: 410/90Kb ..." (or the last status line on a crash)
  last=$(grep -E '^#[0-9]+[[:space:]]+(DONE|INITED|NEW|REDUCE|pulse)' "$log" | tail -1 || true)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  corp=$(sed -n 's/.* corp: \([^ ]*\).*/\1/p' <<<"$last")
  artifacts=$(ls "$dir" | grep -E '^(crash|leak|timeout|oom|slow-unit)-' || true)
  if ((rc != 0)) || [[ -n $artifacts ]]; then
    verdict="FAILED (exit $rc)"
    failed+=("$h")
    echo "---- $h: FAILED after ${took} s; libFuzzer's report:"
    # From the first report line (sanitizer, FUZZ_CHECK, assert, signal) on.
    first=$(grep -nE 'ERROR: |runtime error:|property does not hold|Assertion|deadly signal|SUMMARY: ' "$log" | head -1 | cut -d: -f1)
    sed -n "${first:-1},\$p" "$log" | grep -vE '^#[0-9]+[[:space:]]+(NEW|REDUCE|pulse|INITED)' | head -80
    for a in $artifacts; do echo "input saved: $dir/$a"; done
    echo "reproduce: $bin $dir/${artifacts%%$'\n'*}"
  else
    verdict=ok
  fi
  line=$(printf '%-14s %12s execs %8s/s  cov %5s  ft %6s  corp %-12s %4ss  %s' "$h" "${execs:-?}" "${rate:-?}" \
    "${cov:-?}" "${ft:-?}" "${corp:-?}" "$took" "$verdict")
  echo "$line"
  summary+=("$line")
done

echo "== fuzz summary (${SECONDS_EACH} s per harness, $(($(date +%s) - t0)) s in all)"
printf '%s\n' "${summary[@]}"
if ((${#failed[@]})); then
  echo "fuzz: ${#failed[@]} harness(es) failed: ${failed[*]}"
  exit 1
fi
echo "fuzz: ${#HARNESSES[@]} harnesses, no crash, leak, timeout or sanitizer report"
