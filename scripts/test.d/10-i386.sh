#!/usr/bin/env bash
# 10-i386.sh - the x86-32 configurations, built with gcc -m32 against Debian's i386 packages (a
# cached sysroot, cmake/i386-linux-gnu.cmake):
#   build-i386       warnings as errors, every C test (with spec/c/x86/) and busted spec
#   build-i386-asan  ASan + UBSan, the C tests
# Where the kernel refuses i386 programs, the tests run under qemu-i386 (cmake/emulator.cmake);
# what emulation cannot show is skipped with its reason (the W^X twins under PR_SET_MDWE, and the
# whole ASan configuration, whose runtime does not start under qemu-user).
# Called by scripts/test.sh; runs on its own too.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib.sh

# lua.rockspec builds and loads the module with the host's luarocks and compiler: a check of the
# rockspec, not of the target, and the native configuration runs it.
export CTEST_EXCLUDE='^lua\.rockspec$'

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
  grep -q "^CFFI_LUA_EXE:FILEPATH=$PWD/$dir/target-lua5.4\$" "$dir/CMakeCache.txt" || {
    echo "cffi: $dir does not run the specs under the i386 interpreter" >&2
    return 1
  }
}

# Both configurations run even when the first fails, so one failure does not hide the other's.
failed=()
toolchain=-DCMAKE_TOOLCHAIN_FILE=cmake/i386-linux-gnu.cmake
run_config build-i386-asan "$toolchain" -DCFFI_SANITIZE=address,undefined -DCFFI_BUILD_BENCH=OFF \
  -DCFFI_BUILD_LUA=OFF || failed+=(build-i386-asan)
{ run_config build-i386 "$toolchain" && check_specs build-i386; } || failed+=(build-i386)
if [ ${#failed[@]} -ne 0 ]; then
  echo "cffi: i386 configurations failed: ${failed[*]}" >&2
  exit 1
fi
