#!/usr/bin/env bash
# 10-i386.sh - the x86-32 configurations, built with gcc -m32 against Debian's i386 packages (a
# sysroot inside each build tree, fetched by scripts/i386-sysroot.sh on first configure) and run
# natively on the x86-64 kernel:
#   build-i386       warnings as errors, every C test (with spec/c/x86/) and busted spec
#   build-i386-asan  ASan + UBSan, the C tests
# Called by scripts/test.sh; runs on its own too.
set -euo pipefail
cd "$(dirname "$0")/../.."
jobs=$(nproc)
# One sysroot for both configurations (the toolchain file reads it from the environment).
export CFFI_I386_SYSROOT=${CFFI_I386_SYSROOT:-$PWD/build-i386/sysroot-i386}

run_i386() {  # build dir, cmake options...
  local dir=$1; shift
  echo "== cffi: configuration $dir"
  cmake -S . -B "$dir" -DCMAKE_TOOLCHAIN_FILE=cmake/i386-linux-gnu.cmake \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCFFI_WERROR=ON "$@" >/dev/null
  cmake --build "$dir" -j"$jobs"
  # lua.rockspec builds and loads the module with the host's luarocks and compiler: a check of the
  # rockspec, not of the target, and the native configuration runs it.
  (cd "$dir" && ctest --output-on-failure -j"$jobs" -E '^lua\.rockspec$' ${CTEST_ARGS:-})
}

run_i386 build-i386-asan -DCFFI_SANITIZE=address,undefined -DCFFI_BUILD_BENCH=OFF -DCFFI_BUILD_LUA=OFF
run_i386 build-i386
