# i386-linux-gnu.cmake - build cffi for x86-32 Linux on an x86-64 Debian host with gcc -m32.
#
#   cmake -B build-i386 -DCMAKE_TOOLCHAIN_FILE=cmake/i386-linux-gnu.cmake
#
# The compiler and the i386 C library come from gcc-multilib. Everything else (Lua 5.4, Capstone,
# libffi, the lua5.4 interpreter and the C modules busted loads) comes from Debian's i386
# packages, unpacked by scripts/i386-sysroot.sh into a sysroot inside the build tree
# (CFFI_I386_SYSROOT, default <build>/sysroot-i386), fetched on first configure. The programs
# built here run natively on the x86-64 kernel.
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

# The sysroot: from the cache, the environment (try_compile projects see it there), or default.
if(NOT CFFI_I386_SYSROOT)
  if(DEFINED ENV{CFFI_I386_SYSROOT})
    set(CFFI_I386_SYSROOT "$ENV{CFFI_I386_SYSROOT}")
  else()
    set(CFFI_I386_SYSROOT "${CMAKE_BINARY_DIR}/sysroot-i386")
  endif()
endif()
set(CFFI_I386_SYSROOT "${CFFI_I386_SYSROOT}" CACHE PATH "Sysroot with Debian's i386 packages")
set(ENV{CFFI_I386_SYSROOT} "${CFFI_I386_SYSROOT}")

if(NOT EXISTS "${CFFI_I386_SYSROOT}/.complete")
  execute_process(
    COMMAND bash "${CMAKE_CURRENT_LIST_DIR}/../scripts/i386-sysroot.sh" "${CFFI_I386_SYSROOT}"
    RESULT_VARIABLE _cffi_sysroot_rc)
  if(NOT _cffi_sysroot_rc EQUAL 0)
    message(FATAL_ERROR "cffi: scripts/i386-sysroot.sh failed (${_cffi_sysroot_rc})")
  endif()
endif()

# Libraries and headers from the sysroot first, then the host's multilib defaults; programs
# (cmake's own helpers, pkg-config) from the host.
set(CMAKE_FIND_ROOT_PATH "${CFFI_I386_SYSROOT}")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)

# Debian's multiarch headers (lua5.4-deb-multiarch.h, included by luaconf.h) live under
# include/i386-linux-gnu, which gcc -m32 searches only on the host.
set(CMAKE_C_STANDARD_INCLUDE_DIRECTORIES "${CFFI_I386_SYSROOT}/usr/include/i386-linux-gnu")

# pkg-config sees only the sysroot's i386 .pc files, with paths moved into the sysroot.
set(ENV{PKG_CONFIG_LIBDIR}
    "${CFFI_I386_SYSROOT}/usr/lib/i386-linux-gnu/pkgconfig:${CFFI_I386_SYSROOT}/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_SYSROOT_DIR} "${CFFI_I386_SYSROOT}")
set(ENV{PKG_CONFIG_PATH} "")

# The busted specs run under the i386 interpreter (a wrapper the sysroot script writes, which
# finds the interpreter's libraries and the C modules busted loads in the sysroot); cmake/lua.cmake
# takes it from the cache instead of finding the host's.
set(CFFI_LUA_EXE "${CFFI_I386_SYSROOT}/bin/lua5.4" CACHE FILEPATH "Lua 5.4 interpreter for the specs")

list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES CFFI_I386_SYSROOT)
