#!/usr/bin/env bash
# The README's test command: install dependencies, build, run every test.
#   .ci/test.sh              normal build in build/
#   .ci/test.sh --sanitize   ASan+UBSan build in build-asan/
# Extra arguments after -- go to ctest (e.g. -- -L unit).
# VM tests (label vm) run when qemu and enough memory are there; they skip (77) otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
san=OFF; dir=build
if [[ "${1:-}" == "--sanitize" ]]; then san=ON; dir=build-asan; shift; fi
[[ "${1:-}" == "--" ]] && shift
.ci/deps.sh --vm
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTIERD_SANITIZE="$san"
cmake --build "$dir" -j"$(nproc)"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
cd "$dir"
ctest --output-on-failure --timeout 1800 "$@"
