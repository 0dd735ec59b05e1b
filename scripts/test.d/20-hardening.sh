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
source scripts/lib.sh
fuzz_seconds=${FUZZ_SECONDS:-60}
common=(-DCFFI_BUILD_BENCH=OFF -DCFFI_RANDOM_SEEDS=1 -DCFFI_RANDOM_CLANG=OFF)
failed=()

# ASan + UBSan, with the Lua module (scripts/test.sh's build-asan runs the C tests without it).
CTEST_ARGS="-L hardening" run_config build-hard-asan "${common[@]}" \
  -DCFFI_SANITIZE=address,undefined || failed+=(build-hard-asan)

# valgrind memcheck.
CTEST_ARGS="-L valgrind" run_config build-hard-valgrind "${common[@]}" -DCFFI_VALGRIND=ON ||
  failed+=(build-hard-valgrind)

# ThreadSanitizer: clang, no Lua (the thread tests are C).
TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1} CC=clang BUILD_TARGETS="hard_stress test_threads" \
  CTEST_ARGS="-R ^(hard\.stress\.threads|c\.test_threads)$" \
  run_config build-hard-tsan "${common[@]}" -DCFFI_SANITIZE=thread -DCFFI_BUILD_LUA=OFF ||
  failed+=(build-hard-tsan)

# libFuzzer: a bounded run of each target, then the replays of corpora and kept crashes.
CC=clang BUILD_TARGETS="sig_fuzz lua_fuzz sig_replay lua_replay" CTEST_ARGS="-L fuzz" \
  run_config build-hard-fuzz "${common[@]}" -DCFFI_SANITIZE=address,undefined \
  -DCMAKE_C_FLAGS=-fsanitize=fuzzer-no-link -DCFFI_FUZZ=ON -DCFFI_FUZZ_SECONDS="$fuzz_seconds" ||
  failed+=(build-hard-fuzz)

if [ ${#failed[@]} -ne 0 ]; then
  echo "cffi: hardening configurations failed: ${failed[*]}" >&2
  exit 1
fi
