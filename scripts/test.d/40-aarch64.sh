#!/usr/bin/env bash
# 40-aarch64.sh - the AArch64 Linux configuration, built with aarch64-linux-gnu-gcc against
# Debian's arm64 packages (a cached sysroot, cmake/aarch64-linux-gnu.cmake):
#   build-aarch64  warnings as errors, -mbranch-protection=standard: every C test (with
#                  spec/c/aarch64/: BTI, and its fallback on a CPU without BTI), the random
#                  differential (gcc and clang), the hardening tests and every busted spec run by
#                  the arm64 interpreter
# Where this machine is not AArch64, everything runs under qemu-aarch64 (cmake/emulator.cmake);
# what emulation cannot show is skipped with its reason.
# Called by scripts/test.sh; runs on its own too.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib.sh

# lua.rockspec checks the host's luarocks build, which the native configuration runs.
export CTEST_EXCLUDE='^lua\.rockspec$'
run_config build-aarch64 -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake -DCFFI_BUILD_BENCH=OFF
