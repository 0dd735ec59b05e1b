#!/usr/bin/env bash
# 50-armhf.sh - the 32-bit ARM Linux configuration (Debian armhf), built with the cross compiler
# against Debian's armhf packages (a cached sysroot, cmake/arm-linux-gnueabihf.cmake):
#   build-armhf  warnings as errors: every C test (with spec/c/arm/), the random differential for
#                both conventions (aapcs_vfp and aapcs) with gcc (Thumb-2 and ARM state) and
#                clang, the typed-thunk matrix (templates in Thumb-2 and ARM state, gcc and
#                clang), the hardening tests and every busted spec under the armhf interpreter
# Where this machine is not ARM, everything runs under qemu-arm (cmake/emulator.cmake); what
# emulation cannot show is skipped with its reason.
# Called by scripts/test.sh; runs on its own too.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib.sh

# lua.rockspec checks the host's luarocks build, which the native configuration runs.
export CTEST_EXCLUDE='^lua\.rockspec$'
run_config build-armhf -DCMAKE_TOOLCHAIN_FILE=cmake/arm-linux-gnueabihf.cmake -DCFFI_BUILD_BENCH=OFF
