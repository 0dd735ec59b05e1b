# i386-linux-gnu.cmake - build cffi for x86-32 Linux on an x86-64 Debian host with gcc -m32.
#
#   cmake -B build-i386 -DCMAKE_TOOLCHAIN_FILE=cmake/i386-linux-gnu.cmake
#
# The compiler and the i386 C library come from gcc-multilib. Everything else (Lua 5.4, Capstone,
# libffi, the lua5.4 interpreter and the C modules busted loads) comes from Debian's i386
# packages, unpacked into a cached sysroot (cmake/sysroot.cmake) on first configure.
#
# Where the kernel runs i386 programs, the tests run natively. Where it refuses them ("Exec format
# error", although the kernel has IA32 emulation configured), they run under qemu-i386
# (cmake/emulator.cmake decides by trying a probe program).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR i686)
set(CMAKE_LIBRARY_ARCHITECTURE i386-linux-gnu)

set(CMAKE_C_COMPILER gcc)
set(CMAKE_ASM_COMPILER gcc)
set(CMAKE_C_FLAGS_INIT "-m32")
set(CMAKE_ASM_FLAGS_INIT "-m32")
set(CMAKE_EXE_LINKER_FLAGS_INIT "-m32")
set(CMAKE_SHARED_LINKER_FLAGS_INIT "-m32")
set(CMAKE_MODULE_LINKER_FLAGS_INIT "-m32")

include(${CMAKE_CURRENT_LIST_DIR}/sysroot.cmake)
include(${CMAKE_CURRENT_LIST_DIR}/emulator.cmake)

# Headers + libraries to build against, the interpreter and the C modules busted loads, and the
# shared libraries those need at run time that multilib does not provide.
cffi_debian_sysroot(ARCH i386 MULTIARCH i386-linux-gnu PACKAGES
  liblua5.4-dev liblua5.4-0 lua5.4 libreadline8 libtinfo6
  libcapstone-dev libcapstone4
  libffi-dev libffi8
  lua-system lua-term lua-filesystem)

# The i386 dynamic loader and C library are the host's multilib ones (/lib/ld-linux.so.2), so
# qemu-i386 needs no -L; the sysroot's libraries are found through the programs' run paths and
# LD_LIBRARY_PATH, as natively.
cffi_target_emulator(NAME i386 COMMAND qemu-i386 PROBE_FLAGS -m32)

list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES CFFI_SYSROOT)
