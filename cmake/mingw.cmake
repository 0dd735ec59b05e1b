# mingw.cmake - what the Windows toolchain files share (cmake/<triple>.cmake): a mingw-w64 cross
# compiler from Debian and the Windows builds of cffi's dependencies.
#
#   cffi_mingw_toolchain(TRIPLE <triple> PROCESSOR <x86_64|i686>)
#
# The compilers are Debian's mingw-w64 ones in their POSIX thread model (winpthreads), which the
# tests use for their threads; the library itself calls the Win32 API only. Programs are linked
# statically, so that they run with nothing but the system's DLLs.
#
# Lua 5.4, Capstone and busted's C modules have no Windows build in Debian:
# scripts/mingw-deps.sh cross-builds them from Debian's source packages into a cache outside the
# build tree, keyed by what they are built from (the triple and the script), so a fresh clone
# reuses it and a missing one is rebuilt; -DCFFI_MINGW_DEPS=<dir> puts it elsewhere. pkg-config
# then sees only those .pc files.
#
# Leaves CFFI_MINGW_DEPS (cache), and CFFI_TARGET_LUA / CFFI_TARGET_LUA_CPATH /
# CFFI_TARGET_LUA_PATH for cmake/lua.cmake, which wraps that lua.exe for the busted specs.

include(${CMAKE_CURRENT_LIST_DIR}/sysroot.cmake) # cffi_cache_dir

macro(cffi_mingw_toolchain)
  cmake_parse_arguments(cffi_mingw "" "TRIPLE;PROCESSOR" "" ${ARGN})
  set(CMAKE_SYSTEM_NAME Windows)
  set(CMAKE_SYSTEM_PROCESSOR ${cffi_mingw_PROCESSOR})
  set(CMAKE_C_COMPILER ${cffi_mingw_TRIPLE}-gcc-posix)
  set(CMAKE_CXX_COMPILER ${cffi_mingw_TRIPLE}-g++-posix)
  set(CMAKE_ASM_COMPILER ${cffi_mingw_TRIPLE}-gcc-posix)
  set(CMAKE_RC_COMPILER ${cffi_mingw_TRIPLE}-windres)
  set(CMAKE_EXE_LINKER_FLAGS_INIT "-static")
  set(CMAKE_SHARED_LINKER_FLAGS_INIT "-static")
  set(CMAKE_MODULE_LINKER_FLAGS_INIT "-static")
  set(CMAKE_FIND_ROOT_PATH /usr/${cffi_mingw_TRIPLE})
  set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
  set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
  set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
  set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

  set(_script "${CMAKE_CURRENT_LIST_DIR}/../scripts/mingw-deps.sh")
  if(NOT CFFI_MINGW_DEPS)
    cffi_cache_dir(CFFI_MINGW_DEPS mingw-${cffi_mingw_TRIPLE} ${cffi_mingw_TRIPLE} "${_script}"
                   "${CMAKE_CURRENT_LIST_DIR}/../spec/support/windows/system_core.c")
  endif()
  set(CFFI_MINGW_DEPS "${CFFI_MINGW_DEPS}" CACHE PATH "Windows builds of Lua and Capstone")
  if(NOT CMAKE_IN_TRY_COMPILE)
    execute_process(COMMAND bash "${_script}" ${cffi_mingw_TRIPLE} "${CFFI_MINGW_DEPS}"
                    RESULT_VARIABLE _rc)
    if(NOT _rc EQUAL 0)
      message(FATAL_ERROR "cffi: scripts/mingw-deps.sh ${cffi_mingw_TRIPLE} failed (${_rc})")
    endif()
  endif()
  list(APPEND CMAKE_FIND_ROOT_PATH "${CFFI_MINGW_DEPS}")
  set(ENV{PKG_CONFIG_LIBDIR} "${CFFI_MINGW_DEPS}/lib/pkgconfig")
  set(ENV{PKG_CONFIG_PATH} "")
  set(ENV{PKG_CONFIG_SYSROOT_DIR} "")
  set(CFFI_TARGET_LUA "${CFFI_MINGW_DEPS}/bin/lua.exe")
  set(CFFI_TARGET_LUA_CPATH "${CFFI_MINGW_DEPS}/lua/?.dll")
  # Windows Lua searches next to lua.exe by default; busted's Lua code is the host's package.
  set(CFFI_TARGET_LUA_PATH ";/usr/share/lua/5.4/?.lua;/usr/share/lua/5.4/?/init.lua")
  list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES CFFI_MINGW_DEPS)
endmacro()
