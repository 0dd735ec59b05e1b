#!/usr/bin/env bash
# stress.sh - the full-size stress runs (CI runs them scaled down as hard.stress.*):
#   1,000,000 live C closures; 10,000,000 create/free cycles with flat resident memory;
#   100,000 live Lua callbacks; 8 threads creating, calling and freeing closures for
#   STRESS_SECONDS (60) natively and under ThreadSanitizer; then each fuzz target for
#   FUZZ_SECONDS (600; 0 skips fuzzing).
# Usage: scripts/stress.sh          (about 25 minutes on 2 cores with the default fuzzing)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh test
jobs=$(nproc)
seconds=${STRESS_SECONDS:-60}
fuzz_seconds=${FUZZ_SECONDS:-600}
common=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DCFFI_BUILD_BENCH=OFF -DCFFI_RANDOM_SEEDS=1
        -DCFFI_RANDOM_CLANG=OFF)

cmake -S . -B build-hard-stress "${common[@]}" >/dev/null
cmake --build build-hard-stress -j"$jobs" --target hard_stress
stress=build-hard-stress/spec/c/hard_stress
"$stress" live 1000000
"$stress" cycles 10000000
"$stress" lua 100000
"$stress" threads 8 "$seconds"

CC=clang cmake -S . -B build-hard-tsan "${common[@]}" -DCFFI_SANITIZE=thread \
  -DCFFI_BUILD_LUA=OFF >/dev/null
cmake --build build-hard-tsan -j"$jobs" --target hard_stress
TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1} build-hard-tsan/spec/c/hard_stress threads 8 "$seconds"

if [ "$fuzz_seconds" -gt 0 ]; then
  CC=clang cmake -S . -B build-hard-fuzz "${common[@]}" -DCFFI_SANITIZE=address,undefined \
    -DCMAKE_C_FLAGS=-fsanitize=fuzzer-no-link -DCFFI_FUZZ=ON \
    -DCFFI_FUZZ_SECONDS="$fuzz_seconds" >/dev/null
  cmake --build build-hard-fuzz -j"$jobs" --target sig_fuzz lua_fuzz
  (cd build-hard-fuzz && ctest --output-on-failure -j"$jobs" -R '^fuzz\.run\.')
fi
echo "cffi: stress runs passed"
