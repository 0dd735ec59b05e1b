#!/usr/bin/env bash
# 30-windows.sh - the Windows configurations, cross-built with mingw-w64 (cmake/<triple>.cmake;
# Lua 5.4, Capstone and busted's C modules cross-built from Debian's sources, cached):
#   build-win64  x86-64 Windows, warnings as errors, every C test (with spec/c/windows/), the
#                random differential, the typed-thunk matrix and the busted specs run by the
#                cross-built lua.exe, all under wine64
#   build-win32  x86-32 Windows, warnings as errors, built; its tests run where a 32-bit wine
#                runs them and are reported as skipped, with the reason, where none does (these
#                machines' kernels refuse i386 programs, which 32-bit wine needs)
# Called by scripts/test.sh; runs on its own too.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib.sh

# wine's first start in a fresh prefix creates it (about 20 s); the prefix is cached outside the
# clone (cmake/wine-run.sh).
failed=()
run_config build-win64 -DCMAKE_TOOLCHAIN_FILE=cmake/x86_64-w64-mingw32.cmake -DCFFI_BUILD_BENCH=OFF ||
  failed+=(build-win64)
run_config build-win32 -DCMAKE_TOOLCHAIN_FILE=cmake/i686-w64-mingw32.cmake -DCFFI_BUILD_BENCH=OFF ||
  failed+=(build-win32)
if [ ${#failed[@]} -ne 0 ]; then
  echo "cffi: Windows configurations failed: ${failed[*]}" >&2
  exit 1
fi
