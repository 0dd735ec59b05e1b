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
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCFFI_WERROR=ON "$@" >/dev/null &&
    cmake --build "$dir" -j"$jobs" || return
  # lua.rockspec builds and loads the module with the host's luarocks and compiler: a check of the
  # rockspec, not of the target, and the native configuration runs it.
  (cd "$dir" && ctest --output-on-failure -j"$jobs" -E '^lua\.rockspec$' ${CTEST_ARGS:-})
}

# The busted specs must really be registered (lua.cmake only warns when it finds no busted or no
# interpreter): one lua.<name> test per spec/*_spec.lua, run by the i386 interpreter.
check_specs() {  # build dir
  local dir=$1 want have
  want=$(ls spec/*_spec.lua | wc -l)
  # The plain runs only: each spec also has a twin under PR_SET_MDWE (lua.<name>.mdwe).
  have=$(cd "$dir" && ctest -N -R '^lua\.' -E '^lua\.rockspec$|\.mdwe$' | grep -c ' lua\.' || true)
  if [ "$have" -ne "$want" ]; then
    echo "cffi: $dir registers $have busted specs, expected $want" >&2
    return 1
  fi
  grep -q "^CFFI_LUA_EXE:FILEPATH=$CFFI_I386_SYSROOT/bin/lua5.4\$" "$dir/CMakeCache.txt" || {
    echo "cffi: $dir does not run the specs under the i386 interpreter" >&2
    return 1
  }
}

# Both configurations run even when the first fails, so one failure does not hide the other's.
failed=()
run_i386 build-i386-asan -DCFFI_SANITIZE=address,undefined -DCFFI_BUILD_BENCH=OFF -DCFFI_BUILD_LUA=OFF ||
  failed+=(build-i386-asan)
{ run_i386 build-i386 && check_specs build-i386; } || failed+=(build-i386)
if [ ${#failed[@]} -ne 0 ]; then
  echo "cffi: i386 configurations failed: ${failed[*]}" >&2
  exit 1
fi
