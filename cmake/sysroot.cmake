# sysroot.cmake - a sysroot of Debian packages for a cross build, shared by the toolchain files.
#
#   cffi_debian_sysroot(ARCH <debian-arch> MULTIARCH <triplet> PACKAGES <package>...)
#
# Unpacks the packages (scripts/debian-sysroot.sh) into a cache outside the build tree, keyed by
# what it is built from (architecture, package list, the script itself), so that a fresh clone or
# a new build tree reuses it and a changed list builds a new one; a missing cache is rebuilt.
# -DCFFI_SYSROOT=<dir> puts it elsewhere. Then points CMake's find_* and pkg-config at it.
#
# Leaves CFFI_SYSROOT (cache) and, when the sysroot holds Debian's lua5.4, CFFI_TARGET_LUA,
# CFFI_TARGET_LUA_LIBPATH and CFFI_TARGET_LUA_CPATH for cmake/lua.cmake, which wraps that
# interpreter (under the emulator where needed) to run the busted specs.

# cffi_cache_dir(<out-var> <name> <key input>...): ${XDG_CACHE_HOME:-~/.cache}/cffi/<name>-<hash>,
# the hash covering the inputs (file paths are hashed by their contents), so that a changed
# input makes a new cache and an unchanged one is reused by every clone and build tree.
function(cffi_cache_dir out name)
  set(key "")
  foreach(input ${ARGN})
    if(IS_ABSOLUTE "${input}" AND EXISTS "${input}" AND NOT IS_DIRECTORY "${input}")
      file(SHA256 "${input}" input)
    endif()
    string(APPEND key "${input};")
  endforeach()
  string(SHA256 key "${key}")
  string(SUBSTRING "${key}" 0 16 key)
  if(DEFINED ENV{XDG_CACHE_HOME} AND NOT "$ENV{XDG_CACHE_HOME}" STREQUAL "")
    set(cache "$ENV{XDG_CACHE_HOME}")
  elseif(DEFINED ENV{HOME})
    set(cache "$ENV{HOME}/.cache")
  else()
    set(cache "${CMAKE_BINARY_DIR}")
  endif()
  set(${out} "${cache}/cffi/${name}-${key}" PARENT_SCOPE)
endfunction()

function(cffi_debian_sysroot)
  cmake_parse_arguments(PARSE_ARGV 0 arg "" "ARCH;MULTIARCH" "PACKAGES")
  set(script "${CMAKE_CURRENT_FUNCTION_LIST_DIR}/../scripts/debian-sysroot.sh")
  if(NOT CFFI_SYSROOT)
    cffi_cache_dir(CFFI_SYSROOT sysroot-${arg_ARCH} ${arg_ARCH} ${arg_PACKAGES} "${script}")
  endif()
  set(CFFI_SYSROOT "${CFFI_SYSROOT}" CACHE PATH "Sysroot of Debian ${arg_ARCH} packages")

  if(NOT CMAKE_IN_TRY_COMPILE)
    execute_process(COMMAND bash "${script}" ${arg_ARCH} "${CFFI_SYSROOT}" ${arg_PACKAGES}
                    RESULT_VARIABLE rc)
    if(NOT rc EQUAL 0)
      message(FATAL_ERROR "cffi: scripts/debian-sysroot.sh ${arg_ARCH} failed (${rc})")
    endif()
  endif()

  set(root "${CFFI_SYSROOT}")
  # Libraries and headers from the sysroot first, then the compiler's own; programs (cmake's
  # helpers, pkg-config) from the host.
  set(CMAKE_FIND_ROOT_PATH "${root}" PARENT_SCOPE)
  set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER PARENT_SCOPE)
  set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY BOTH PARENT_SCOPE)
  set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH PARENT_SCOPE)
  set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH PARENT_SCOPE)
  # Debian's multiarch headers (lua5.4-deb-multiarch.h, included by luaconf.h) live under
  # include/<triplet>, which the compiler searches only on the host.
  set(CMAKE_C_STANDARD_INCLUDE_DIRECTORIES "${root}/usr/include/${arg_MULTIARCH}" PARENT_SCOPE)
  # pkg-config sees only the sysroot's .pc files, with paths moved into the sysroot.
  set(ENV{PKG_CONFIG_LIBDIR}
      "${root}/usr/lib/${arg_MULTIARCH}/pkgconfig:${root}/usr/share/pkgconfig")
  set(ENV{PKG_CONFIG_SYSROOT_DIR} "${root}")
  set(ENV{PKG_CONFIG_PATH} "")

  if(EXISTS "${root}/usr/bin/lua5.4")
    set(CFFI_TARGET_LUA "${root}/usr/bin/lua5.4" PARENT_SCOPE)
    set(CFFI_TARGET_LUA_LIBPATH "${root}/usr/lib/${arg_MULTIARCH}:${root}/lib/${arg_MULTIARCH}"
        PARENT_SCOPE)
    set(CFFI_TARGET_LUA_CPATH "${root}/usr/lib/${arg_MULTIARCH}/lua/5.4/?.so" PARENT_SCOPE)
  endif()
endfunction()

# cffi_debian_cross_gcc(TRIPLE <triple> VERSION <gcc major> LIBARCH <debian arch of the target>)
#
# Debian's cross compilers (gcc-<v>-<triple>) conflict with gcc-multilib, which the i386 build
# needs, so they are not installed: their packages are unpacked into a cache next to the
# sysroots (${XDG_CACHE_HOME:-~/.cache}/cffi/cross-gcc-<triple>-<hash>) and run from there. The
# unpacked compiler finds binutils and the C library of the target (binutils-<triple> and
# libc6-dev-<arch>-cross, which conflict with nothing and scripts/deps.sh installs) through a
# link to /usr/<triple>. Leaves CFFI_CROSS_GCC (cache): the compiler's path.
function(cffi_debian_cross_gcc)
  cmake_parse_arguments(PARSE_ARGV 0 arg "" "TRIPLE;VERSION;LIBARCH" "")
  set(script "${CMAKE_CURRENT_FUNCTION_LIST_DIR}/../scripts/debian-sysroot.sh")
  set(packages gcc-${arg_VERSION}-${arg_TRIPLE} cpp-${arg_VERSION}-${arg_TRIPLE}
      gcc-${arg_VERSION}-${arg_TRIPLE}-base libgcc-${arg_VERSION}-dev-${arg_LIBARCH}-cross)
  cffi_cache_dir(root cross-gcc-${arg_TRIPLE} ${arg_TRIPLE} ${packages} "${script}")
  set(gcc "${root}/usr/bin/${arg_TRIPLE}-gcc-${arg_VERSION}")
  if(NOT EXISTS "${gcc}")
    execute_process(COMMAND bash "${script}" amd64 "${root}" ${packages} RESULT_VARIABLE rc)
    if(NOT rc EQUAL 0)
      message(FATAL_ERROR "cffi: unpacking the ${arg_TRIPLE} cross compiler failed (${rc})")
    endif()
  endif()
  if(NOT EXISTS "/usr/${arg_TRIPLE}/bin/as")
    message(FATAL_ERROR "cffi: /usr/${arg_TRIPLE} has no binutils or C library (Debian: "
                        "binutils-${arg_TRIPLE} libc6-dev-${arg_LIBARCH}-cross, or run "
                        "scripts/deps.sh test)")
  endif()
  file(CREATE_LINK "/usr/${arg_TRIPLE}" "${root}/usr/${arg_TRIPLE}" SYMBOLIC)
  set(CFFI_CROSS_GCC "${gcc}" CACHE FILEPATH "The unpacked ${arg_TRIPLE} cross compiler")
endfunction()
