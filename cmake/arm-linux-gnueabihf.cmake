# arm-linux-gnueabihf.cmake - build cffi for 32-bit ARM Linux (Debian armhf: ARMv7, Thumb-2 code,
# VFPv3-D16, hard-float) on an x86-64 Debian host with the cross compiler, and run its tests under
# qemu-arm.
#
#   cmake -B build-armhf -DCMAKE_TOOLCHAIN_FILE=cmake/arm-linux-gnueabihf.cmake
#
# Debian packages: binutils-arm-linux-gnueabihf and libc6-dev-armhf-cross (the armhf C library
# under /usr/arm-linux-gnueabihf), qemu-user. The compiler is Debian's gcc-12-arm-linux-gnueabihf,
# unpacked into a cache (cffi_debian_cross_gcc: Debian's cross compilers conflict with
# gcc-multilib). Lua 5.4 and busted's C modules come from Debian's armhf packages (a sysroot).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR armv7l)
set(CMAKE_LIBRARY_ARCHITECTURE arm-linux-gnueabihf)

include(${CMAKE_CURRENT_LIST_DIR}/sysroot.cmake)
if(NOT CFFI_CROSS_GCC)
  cffi_debian_cross_gcc(TRIPLE arm-linux-gnueabihf VERSION 12 LIBARCH armhf)
endif()
set(CMAKE_C_COMPILER ${CFFI_CROSS_GCC})
set(CMAKE_ASM_COMPILER ${CFFI_CROSS_GCC})

# clang, where the tests build with it too (spec/c/random.cmake), compiles for the same target.
# (armhf's baseline: ARMv7-A, Thumb-2, VFPv3-D16, hard-float; as Debian's gcc defaults to.)
# It finds the headers, start files and libgcc in the unpacked cross compiler's tree (no cross GCC
# is installed where it would look by itself).
get_filename_component(_cffi_cross_prefix "${CFFI_CROSS_GCC}" DIRECTORY)
get_filename_component(_cffi_cross_prefix "${_cffi_cross_prefix}" DIRECTORY)
set(CFFI_CLANG_TARGET "--target=arm-linux-gnueabihf -march=armv7-a -mthumb -mfpu=vfpv3-d16 -mfloat-abi=hard --gcc-toolchain=${_cffi_cross_prefix}")

include(${CMAKE_CURRENT_LIST_DIR}/emulator.cmake)

cffi_debian_sysroot(ARCH armhf MULTIARCH arm-linux-gnueabihf PACKAGES
  liblua5.4-dev liblua5.4-0 lua5.4 libreadline8 libtinfo6
  libcapstone-dev libcapstone4
  lua-system lua-term lua-filesystem)

cffi_target_emulator(NAME armhf COMMAND qemu-arm -L /usr/arm-linux-gnueabihf)

list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES CFFI_SYSROOT CFFI_CROSS_GCC)
