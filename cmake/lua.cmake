# lua.cmake - the Lua 5.4 module (cffi.so), a static build of the binding for C hosts, install
# rules for LuaRocks, and cffi_add_busted_specs() (called from spec/CMakeLists.txt) which
# registers the busted specs, the C host test and the rockspec check with CTest.
#
# The module links the cffi objects but not liblua: the interpreter that loads it provides Lua.

pkg_check_modules(CFFI_LUA REQUIRED lua5.4)
set(CFFI_LUA_ROOT ${CMAKE_CURRENT_SOURCE_DIR})
file(GLOB CFFI_LUA_SOURCES CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/src/lua/*.c)

add_library(cffi_lua MODULE ${CFFI_LUA_SOURCES})
set_target_properties(cffi_lua PROPERTIES
  OUTPUT_NAME cffi
  PREFIX ""
  LIBRARY_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR})
target_include_directories(cffi_lua PRIVATE ${CFFI_LUA_INCLUDE_DIRS} ${CMAKE_CURRENT_SOURCE_DIR}/src)
target_compile_options(cffi_lua PRIVATE ${CFFI_WARNINGS})
target_link_libraries(cffi_lua PRIVATE cffi_static ${CMAKE_DL_LIBS} m)
# Never unloaded: lua_close dlcloses C modules, but freed callbacks' addresses must go on
# reaching the dead trap (and the slot lists) that live in this module.
if(NOT WIN32 AND NOT APPLE)
  target_link_options(cffi_lua PRIVATE -Wl,-z,nodelete)
endif()

# The same binding as a static library, for hosts that link luaopen_cffi in (and call it through
# luaL_requiref or package.preload).
add_library(cffi_lua_static STATIC ${CFFI_LUA_SOURCES})
target_include_directories(cffi_lua_static
  PUBLIC ${CFFI_LUA_INCLUDE_DIRS} ${CMAKE_CURRENT_SOURCE_DIR}/src)
target_compile_options(cffi_lua_static PRIVATE ${CFFI_WARNINGS})
target_link_libraries(cffi_lua_static PUBLIC cffi_static ${CMAKE_DL_LIBS} m)

# LuaRocks (build.type "cmake") passes LUA_LIBDIR-style variables; CFFI_LUA_CMOD_DIR is where the
# module goes, relative to the install prefix unless absolute.
set(CFFI_LUA_CMOD_DIR "lib/lua/5.4" CACHE STRING "Install directory of cffi.so")
install(TARGETS cffi_lua LIBRARY DESTINATION ${CFFI_LUA_CMOD_DIR})
if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/lua/cffi.lua)
  set(CFFI_LUA_LMOD_DIR "share/lua/5.4" CACHE STRING "Install directory of Lua files")
  install(FILES ${CMAKE_CURRENT_SOURCE_DIR}/lua/cffi.lua DESTINATION ${CFFI_LUA_LMOD_DIR})
endif()

function(cffi_add_busted_specs)
  # A small C library the specs call: callers of callbacks with many arguments, from another
  # pthread, with errno set, and native functions of every scalar type (and on x86-32, of every
  # calling convention).
  add_library(cffi_spec_helper MODULE ${CFFI_LUA_ROOT}/spec/support/helper.c)
  set_target_properties(cffi_spec_helper PROPERTIES
    PREFIX "" LIBRARY_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR} C_VISIBILITY_PRESET default)
  target_compile_options(cffi_spec_helper PRIVATE ${CFFI_WARNINGS})
  target_link_libraries(cffi_spec_helper PRIVATE Threads::Threads)
  # x86-32: compiled callers and callees of each of GCC's four conventions, measuring the bytes a
  # callee pops (with EBP to return by when a callee pops wrongly).
  if(CFFI_ARCH STREQUAL "x86")
    set(x86_callers ${CFFI_LUA_ROOT}/spec/support/x86_callers.c)
    target_sources(cffi_spec_helper PRIVATE ${x86_callers})
    set_source_files_properties(${x86_callers} PROPERTIES
      COMPILE_OPTIONS -fno-omit-frame-pointer)
  endif()

  find_program(CFFI_LUA_EXE NAMES lua5.4 lua)
  find_program(CFFI_BUSTED NAMES busted PATHS /usr/bin)
  # Escaped semicolons: Lua's path separators, not CMake list separators.
  set(env
    "LUA_CPATH=${CMAKE_BINARY_DIR}/?.so\;\;"
    "LUA_PATH=${CFFI_LUA_ROOT}/lua/?.lua\;${CFFI_LUA_ROOT}/spec/?.lua\;\;"
    "CFFI_SPEC_HELPER=$<TARGET_FILE:cffi_spec_helper>"
    "CFFI_LUA=${CFFI_LUA_EXE}")
  if(CFFI_LUA_EXE AND CFFI_BUSTED)
    file(GLOB specs CONFIGURE_DEPENDS ${CFFI_LUA_ROOT}/spec/*_spec.lua)
    foreach(spec ${specs})
      get_filename_component(name ${spec} NAME_WE)
      string(REGEX REPLACE "_spec$" "" name ${name})
      add_test(NAME lua.${name}
        COMMAND ${CFFI_LUA_EXE} ${CFFI_BUSTED} --output=plainTerminal ${spec}
        WORKING_DIRECTORY ${CFFI_LUA_ROOT})
      set_tests_properties(lua.${name} PROPERTIES
        ENVIRONMENT "${env}" LABELS "lua" TIMEOUT 600)
      # And the whole suite again under PR_SET_MDWE (spec/CMakeLists.txt: cffi_mdwe_twin).
      if(COMMAND cffi_mdwe_twin)
        cffi_mdwe_twin(lua.${name} ${CFFI_LUA_EXE} ${CFFI_BUSTED} --output=plainTerminal ${spec})
        if(TEST lua.${name}.mdwe)
          set_tests_properties(lua.${name}.mdwe PROPERTIES ENVIRONMENT "${env}")
        endif()
      endif()
    endforeach()
  else()
    message(WARNING "cffi: lua5.4 or busted not found; the busted specs are not registered")
  endif()

  # The C host: two lua_States in one process, cffi linked in statically.
  add_executable(lua_host ${CFFI_LUA_ROOT}/spec/c/host/host.c)
  target_include_directories(lua_host PRIVATE ${CFFI_LUA_ROOT}/spec/c)
  target_compile_options(lua_host PRIVATE ${CFFI_WARNINGS})
  target_link_libraries(lua_host PRIVATE cffi_lua_static ${CFFI_LUA_LINK_LIBRARIES})
  add_test(NAME c.lua_host COMMAND lua_host)
  set_tests_properties(c.lua_host PROPERTIES LABELS "c;lua" TIMEOUT 300)

  # The rockspec builds offline with luarocks (skipped where luarocks is absent). LuaRocks builds
  # for the machine it runs on, so a cross or toolchain build does not check it.
  if(CMAKE_CROSSCOMPILING OR CMAKE_TOOLCHAIN_FILE)
    return()
  endif()
  add_test(NAME lua.rockspec
    COMMAND sh ${CFFI_LUA_ROOT}/spec/support/rockspec_check.sh ${CFFI_LUA_ROOT}
      ${CMAKE_BINARY_DIR}/rockspec-check)
  set_tests_properties(lua.rockspec PROPERTIES
    LABELS "lua" TIMEOUT 900 SKIP_RETURN_CODE 77)
endfunction()
