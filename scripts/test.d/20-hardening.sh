#!/usr/bin/env bash
# 20-hardening.sh - the configurations that prove the safety promises (README: "Safety guarantees
# and how they are tested"). Run by scripts/test.sh; each part ends in a CTest run and stops the
# script on failure. About 10 minutes on 2 cores.
#   build-hard-asan      ASan + UBSan: hardening tests, fuzz replays, the busted specs in a host
#                        that links the binding statically (hard.busted.*)
#   build-hard-valgrind  memcheck over the C tests, hardening tests and busted specs
#   build-hard-tsan      ThreadSanitizer (clang): the thread tests and the thread stress
#   build-hard-fuzz      libFuzzer (clang + ASan + UBSan): each target for FUZZ_SECONDS (60)
# Full-size stress runs are scripts/stress.sh, not part of CI.
set -euo pipefail
cd "$(dirname "$0")/../.."
jobs=$(nproc)
fuzz_seconds=${FUZZ_SECONDS:-60}
common=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DCFFI_WERROR=ON -DCFFI_BUILD_BENCH=OFF
        -DCFFI_RANDOM_SEEDS=1 -DCFFI_RANDOM_CLANG=OFF)

configure() {  # dir, cmake options...
  local dir=$1; shift
  echo "== cffi: configuration $dir"
  cmake -S . -B "$dir" "${common[@]}" "$@" >/dev/null
}

run_ctest() {  # dir, ctest options...
  local dir=$1; shift
  (cd "$dir" && ctest --output-on-failure -j"$jobs" "$@")
}

# ASan + UBSan, with the Lua module (scripts/test.sh's build-asan runs the C tests without it).
configure build-hard-asan -DCFFI_SANITIZE=address,undefined
cmake --build build-hard-asan -j"$jobs"
run_ctest build-hard-asan -L hardening

# valgrind memcheck.
configure build-hard-valgrind -DCFFI_VALGRIND=ON
cmake --build build-hard-valgrind -j"$jobs"
run_ctest build-hard-valgrind -L valgrind

# ThreadSanitizer: clang, no Lua (the thread tests are C).
CC=clang configure build-hard-tsan -DCFFI_SANITIZE=thread -DCFFI_BUILD_LUA=OFF
cmake --build build-hard-tsan -j"$jobs" --target hard_stress test_threads
TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1} \
  run_ctest build-hard-tsan -R '^(hard\.stress\.threads|c\.test_threads)$'

# libFuzzer: a bounded run of each target, then the replays of corpora and kept crashes.
CC=clang configure build-hard-fuzz -DCFFI_SANITIZE=address,undefined \
  -DCMAKE_C_FLAGS=-fsanitize=fuzzer-no-link -DCFFI_FUZZ=ON -DCFFI_FUZZ_SECONDS="$fuzz_seconds"
cmake --build build-hard-fuzz -j"$jobs" --target sig_fuzz lua_fuzz sig_replay lua_replay
run_ctest build-hard-fuzz -L fuzz
