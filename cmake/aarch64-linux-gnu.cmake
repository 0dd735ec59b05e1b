# aarch64-linux-gnu.cmake - build cffi for AArch64 Linux (Debian arm64) on an x86-64 Debian host
# with the cross compiler, and run its tests under qemu-aarch64.
#
#   cmake -B build-aarch64 -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake
#
# Debian packages: binutils-aarch64-linux-gnu and libc6-dev-arm64-cross (the arm64 C library
# under /usr/aarch64-linux-gnu), qemu-user. The compiler is Debian's gcc-12-aarch64-linux-gnu,
# unpacked into a cache rather than installed (it conflicts with gcc-multilib, which the i386
# build needs: cffi_debian_cross_gcc in cmake/sysroot.cmake). Lua 5.4, its interpreter and the C
# modules busted loads come from Debian's arm64 packages, unpacked into a cached sysroot.
#
# Everything is compiled with -mbranch-protection=standard: C functions get BTI landing pads and
# sign their return addresses (PAC), so the tests show that stubs and thunks work with both.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)

include(${CMAKE_CURRENT_LIST_DIR}/sysroot.cmake)
if(NOT CFFI_CROSS_GCC)
  cffi_debian_cross_gcc(TRIPLE aarch64-linux-gnu VERSION 12 LIBARCH arm64)
endif()
set(CMAKE_C_COMPILER ${CFFI_CROSS_GCC})
set(CMAKE_ASM_COMPILER ${CFFI_CROSS_GCC})
set(CMAKE_C_FLAGS_INIT "-mbranch-protection=standard")
set(CMAKE_ASM_FLAGS_INIT "-mbranch-protection=standard")

# clang, where the tests build with it too (spec/c/random.cmake), compiles for the same target.
# It finds the headers, start files and libgcc in the unpacked cross compiler's tree (no cross GCC
# is installed where it would look by itself).
get_filename_component(_cffi_cross_prefix "${CFFI_CROSS_GCC}" DIRECTORY)
get_filename_component(_cffi_cross_prefix "${_cffi_cross_prefix}" DIRECTORY)
set(CFFI_CLANG_TARGET "--target=aarch64-linux-gnu --gcc-toolchain=${_cffi_cross_prefix}")

include(${CMAKE_CURRENT_LIST_DIR}/emulator.cmake)

cffi_debian_sysroot(ARCH arm64 MULTIARCH aarch64-linux-gnu PACKAGES
  liblua5.4-dev liblua5.4-0 lua5.4 libreadline8 libtinfo6
  libcapstone-dev libcapstone4
  lua-system lua-term lua-filesystem)

# The arm64 dynamic loader and C library are the cross toolchain's (/usr/aarch64-linux-gnu); the
# sysroot's libraries are found through LD_LIBRARY_PATH, as for i386.
cffi_target_emulator(NAME aarch64 COMMAND qemu-aarch64 -L /usr/aarch64-linux-gnu)

list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES CFFI_SYSROOT CFFI_CROSS_GCC)
