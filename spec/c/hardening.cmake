# Hardening: the safety promises of the README ("Safety guarantees and how they are tested"),
# each shown by a test. Included by spec/c/CMakeLists.txt like every spec/c/*.cmake.
#
#   hard.failure          allocator and out-of-memory failure paths (spec/c/hardening/test_failure.c)
#   hard.wx[.mdwe]        no writable-and-executable mapping after closures of every convention,
#                         typed thunks and Lua callbacks exist (also under PR_SET_MDWE)
#   hard.stress.*         scaled-down stress runs (full sizes: scripts/stress.sh)
#   fuzz.replay.*         every fuzz corpus and regression input, replayed (fuzz/fuzz.cmake)
#   hard.busted.*         the busted specs inside a C host that links the module statically, so
#                         sanitizers see the binding (configurations with CFFI_SANITIZE)
#   valgrind.*            memcheck over the C tests and the busted specs (-DCFFI_VALGRIND=ON)
#
# Options:
#   CFFI_VALGRIND=ON            register the valgrind.* tests
#   CFFI_HARD_STRESS_SCALE=N    multiply the stress sizes (1 in CI)
#   CFFI_FUZZ=ON                build the libFuzzer targets (clang; see fuzz/fuzz.cmake)
option(CFFI_VALGRIND "Register memcheck runs of the C tests and busted specs" OFF)
set(CFFI_HARD_STRESS_SCALE 1 CACHE STRING "Multiplier for the CTest stress sizes")

set(_hard ${CMAKE_CURRENT_LIST_DIR}/hardening)
set(_hard_lua OFF)
if(TARGET cffi_lua_static)
  set(_hard_lua ON)
endif()
set(CFFI_HARD_TESTS "")   # executables to run again under valgrind

function(_hard_exe name)
  add_executable(${name} ${ARGN})
  target_include_directories(${name} PRIVATE ${CMAKE_CURRENT_LIST_DIR} ${_hard})
  target_compile_options(${name} PRIVATE ${CFFI_WARNINGS})
  target_link_libraries(${name} PRIVATE cffi_static cffi_internal)
  if(CFFI_HAVE_BAREFN)
    target_compile_definitions(${name} PRIVATE CFFI_TEST_BAREFN=1)
  endif()
endfunction()

function(_hard_link_lua name)
  if(_hard_lua)
    target_compile_definitions(${name} PRIVATE CFFI_TEST_LUA=1)
    target_link_libraries(${name} PRIVATE cffi_lua_static ${CFFI_LUA_LINK_LIBRARIES})
  endif()
endfunction()

# --- failure paths ---------------------------------------------------------------------------
_hard_exe(hard_failure ${_hard}/test_failure.c)
target_link_options(hard_failure PRIVATE
  -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=free)
add_test(NAME hard.failure COMMAND hard_failure)
set_tests_properties(hard.failure PROPERTIES LABELS "c;hardening" TIMEOUT 300)
list(APPEND CFFI_HARD_TESTS hard_failure)

# --- a C host embedding Lua: lua_close with finalizers, out of memory inside callbacks --------
if(_hard_lua)
  _hard_exe(hard_lua_host ${_hard}/test_lua_host.c)
  _hard_link_lua(hard_lua_host)
  add_test(NAME hard.lua_host COMMAND hard_lua_host)
  set_tests_properties(hard.lua_host PROPERTIES LABELS "c;lua;hardening" TIMEOUT 300)
  list(APPEND CFFI_HARD_TESTS hard_lua_host)
endif()

if(WIN32)
  # Reads /proc/self/maps; on Windows c.test_win_memory checks the same promise with VirtualQuery.
  add_test(NAME hard.wx COMMAND sh ${PROJECT_SOURCE_DIR}/cmake/skip-test.sh
    "reads Linux's /proc/self/maps; on Windows c.test_win_memory checks W^X with VirtualQuery")
  set_tests_properties(hard.wx PROPERTIES LABELS "c;hardening;skipped")
elseif(EXISTS ${_hard}/test_wx.c)
  _hard_exe(hard_wx ${_hard}/test_wx.c)
  _hard_link_lua(hard_wx)
  # Under qemu-user, /proc/self/maps is the emulator's rendering of its own page table, not the
  # kernel's (qemu-aarch64 7.2 shows a PROT_WRITE|PROT_EXEC page as rw-p): it proves nothing.
  cffi_skip_under_emulation(hard.wx "under ${CFFI_EMULATOR_NAME} emulation /proc/self/maps is qemu-user's rendering of its own page table, not the kernel's (qemu-aarch64 7.2 shows a writable and executable page as rw-p), so the scan proves nothing; it runs in the native configurations")
  if(NOT CFFI_SKIPPED)
    add_test(NAME hard.wx COMMAND hard_wx)
  endif()
  set_tests_properties(hard.wx PROPERTIES LABELS "c;hardening" TIMEOUT 300)
  cffi_skip_under_emulation(hard.wx.mdwe "${CFFI_MDWE_EMULATED}")
  if(TARGET mdwe_exec AND NOT CFFI_SKIPPED)
    add_test(NAME hard.wx.mdwe COMMAND mdwe_exec $<TARGET_FILE:hard_wx>)
    set_tests_properties(hard.wx.mdwe PROPERTIES
      LABELS "c;hardening;mdwe" TIMEOUT 300 SKIP_RETURN_CODE 77)
  endif()
  list(APPEND CFFI_HARD_TESTS hard_wx)
endif()

# --- fuzz targets and their replays ------------------------------------------------------------
include(${PROJECT_SOURCE_DIR}/fuzz/fuzz.cmake)

# --- stress, scaled down (full sizes: scripts/stress.sh) ---------------------------------------
_hard_exe(hard_stress ${_hard}/stress.c)
_hard_link_lua(hard_stress)
if(WIN32)
  target_link_libraries(hard_stress PRIVATE psapi) # GetProcessMemoryInfo
endif()
math(EXPR _live "100000 * ${CFFI_HARD_STRESS_SCALE}")
math(EXPR _cycles "1000000 * ${CFFI_HARD_STRESS_SCALE}")
math(EXPR _lua "20000 * ${CFFI_HARD_STRESS_SCALE}")
add_test(NAME hard.stress.live COMMAND hard_stress live ${_live})
add_test(NAME hard.stress.cycles COMMAND hard_stress cycles ${_cycles})
add_test(NAME hard.stress.threads COMMAND hard_stress threads 8 3)
add_test(NAME hard.stress.lua COMMAND hard_stress lua ${_lua})
set_tests_properties(hard.stress.live hard.stress.cycles hard.stress.threads hard.stress.lua
  PROPERTIES LABELS "c;hardening;stress" TIMEOUT 600 SKIP_RETURN_CODE 77)

# --- the busted specs in a host that links the binding statically -----------------------------
# Registered in sanitizer configurations, where only an instrumented executable can load the
# instrumented binding. Reuses cmake/lua.cmake's spec list (spec/*_spec.lua) and environment.
find_program(CFFI_HARD_BUSTED NAMES busted PATHS /usr/bin)
file(GLOB _hard_specs CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/spec/*_spec.lua)
set(_hard_spec_env
  "LUA_PATH=${PROJECT_SOURCE_DIR}/lua/?.lua\;${PROJECT_SOURCE_DIR}/spec/?.lua\;\;"
  "CFFI_SPEC_HELPER=${CMAKE_BINARY_DIR}/cffi_spec_helper.so")
if(_hard_lua AND CFFI_SANITIZE AND CFFI_HARD_BUSTED)
  foreach(kind busted lua)
    _hard_exe(hard_${kind} ${_hard}/busted_host.c)
    target_link_libraries(hard_${kind} PRIVATE cffi_lua_static ${CFFI_LUA_LINK_LIBRARIES})
    # Lua's C modules (busted's lfs, term, system) find the Lua API in the executable.
    target_link_options(hard_${kind} PRIVATE -rdynamic)
  endforeach()
  target_compile_definitions(hard_busted PRIVATE CFFI_HOST_BUSTED=1)
  foreach(spec ${_hard_specs})
    get_filename_component(name ${spec} NAME_WE)
    string(REGEX REPLACE "_spec$" "" name ${name})
    # Resident-memory assertions measure the sanitizer's own quarantine here; they run in the
    # plain configurations (and hard.stress.cycles checks RSS under every one).
    add_test(NAME hard.busted.${name}
      COMMAND hard_busted --output=plainTerminal "--filter-out=keeps memory flat" ${spec}
      WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
    set_tests_properties(hard.busted.${name} PROPERTIES
      ENVIRONMENT "${_hard_spec_env};CFFI_LUA=$<TARGET_FILE:hard_lua>;LSAN_OPTIONS=suppressions=${_hard}/lsan.supp:print_suppressions=0"
      LABELS "lua;hardening" TIMEOUT 900)
  endforeach()
endif()

# --- valgrind memcheck over the C tests and the busted specs (-DCFFI_VALGRIND=ON) --------------
if(CFFI_VALGRIND)
  find_program(CFFI_VALGRIND_EXE valgrind REQUIRED)
  set(_vg ${CFFI_VALGRIND_EXE} --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite
          --show-leak-kinds=definite --keep-debuginfo=yes
          --suppressions=${_hard}/valgrind.supp -q)
  set(_vg_runs "")
  foreach(src ${CFFI_C_TESTS})
    get_filename_component(name ${src} NAME_WE)
    list(APPEND _vg_runs "${name}|${name}")
  endforeach()
  if(_hard_lua)
    list(APPEND _vg_runs "hard.lua_host|hard_lua_host")
  endif()
  list(APPEND _vg_runs "hard.failure|hard_failure" "hard.wx|hard_wx"
       "hard.stress.live|hard_stress|live|20000" "hard.stress.cycles|hard_stress|cycles|100000"
       "hard.stress.threads|hard_stress|threads|4|1" "hard.stress.lua|hard_stress|lua|2000")
  foreach(t sig lua)
    if(TARGET ${t}_replay)
      string(REPLACE ";" "|" _dirs "${CFFI_FUZZ_REPLAY_DIRS_${t}}")
      list(APPEND _vg_runs "fuzz.replay.${t}|${t}_replay|${_dirs}")
    endif()
  endforeach()
  foreach(run ${_vg_runs})
    string(REPLACE "|" ";" run "${run}")
    list(POP_FRONT run name exe)
    add_test(NAME valgrind.${name} COMMAND ${_vg} $<TARGET_FILE:${exe}> ${run})
    set_tests_properties(valgrind.${name} PROPERTIES
      LABELS "valgrind;hardening" TIMEOUT 900 SKIP_RETURN_CODE 77)
  endforeach()

  # The busted specs: lua5.4 and busted under memcheck, cffi.so as built here.
  find_program(CFFI_HARD_LUA NAMES lua5.4 lua)
  if(_hard_lua AND CFFI_HARD_LUA AND CFFI_HARD_BUSTED)
    foreach(spec ${_hard_specs})
      get_filename_component(name ${spec} NAME_WE)
      string(REGEX REPLACE "_spec$" "" name ${name})
      add_test(NAME valgrind.lua.${name}
        COMMAND ${_vg} ${CFFI_HARD_LUA} ${CFFI_HARD_BUSTED} --output=plainTerminal
                "--filter-out=keeps memory flat" ${spec}
        WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
      set_tests_properties(valgrind.lua.${name} PROPERTIES
        ENVIRONMENT "${_hard_spec_env};LUA_CPATH=${CMAKE_BINARY_DIR}/?.so\;\;;CFFI_LUA=${CFFI_HARD_LUA}"
        LABELS "valgrind;lua;hardening" TIMEOUT 900)
    endforeach()
  endif()
endif()

# --- freed callbacks after lua_close unloads cffi.so -------------------------------------------
if(_hard_lua AND NOT CFFI_SANITIZE)
  add_executable(hard_unload ${_hard}/test_unload.c)
  # src/ for check.h's cffi.h; the program itself does not link cffi (it loads cffi.so).
  target_include_directories(hard_unload PRIVATE ${CMAKE_CURRENT_LIST_DIR} ${PROJECT_SOURCE_DIR}/src
                             ${CFFI_TARGET_INCLUDE}
                             ${CFFI_LUA_INCLUDE_DIRS})
  target_compile_options(hard_unload PRIVATE ${CFFI_WARNINGS})
  target_link_libraries(hard_unload PRIVATE ${CFFI_LUA_LINK_LIBRARIES} ${CMAKE_DL_LIBS})
  if(NOT WIN32)
    target_link_options(hard_unload PRIVATE -rdynamic)
  endif()
  add_dependencies(hard_unload cffi_lua)
  add_test(NAME hard.unload COMMAND hard_unload)
  set_tests_properties(hard.unload PROPERTIES LABELS "c;lua;hardening" TIMEOUT 120
    ENVIRONMENT "LUA_CPATH=${CMAKE_BINARY_DIR}/?${CMAKE_SHARED_MODULE_SUFFIX}")
  if(CFFI_VALGRIND)
    add_test(NAME valgrind.hard.unload COMMAND ${_vg} $<TARGET_FILE:hard_unload>)
    set_tests_properties(valgrind.hard.unload PROPERTIES LABELS "valgrind;hardening" TIMEOUT 300
      ENVIRONMENT "LUA_CPATH=${CMAKE_BINARY_DIR}/?.so")
  endif()
endif()
