#!/usr/bin/env bash
# test.sh - build cffi in every configuration CI checks and run every test through CTest.
#   build-test : the native build, warnings as errors, every C test and busted spec
#   build-asan : ASan + UBSan, every C test
# Extra configurations (i386, ...) are added by scripts/test.d/*.sh, each ending in a CTest run.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh test
jobs=$(nproc)

run_config() {  # name, cmake options...
  local dir=$1; shift
  echo "== cffi: configuration $dir"
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCFFI_WERROR=ON "$@" >/dev/null
  cmake --build "$dir" -j"$jobs"
  (cd "$dir" && ctest --output-on-failure -j"$jobs" ${CTEST_ARGS:-})
}

run_config build-asan -DCFFI_SANITIZE=address,undefined -DCFFI_BUILD_BENCH=OFF -DCFFI_BUILD_LUA=OFF
for extra in scripts/test.d/*.sh; do
  [ -e "$extra" ] || continue
  echo "== cffi: $extra"
  bash "$extra"
done
# The native configuration last, so the run ends with its CTest summary.
run_config build-test
