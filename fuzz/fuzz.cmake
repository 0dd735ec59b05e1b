# fuzz.cmake - the fuzz targets (included from spec/c/hardening.cmake).
#
# Every configuration: each target is also built with replay_main.c as <target>_replay, and CTest
# replays its seed corpus and kept regression inputs (fuzz.replay.<target>), so every crash the
# fuzzer ever found stays a test, under whatever sanitizers or valgrind the configuration runs.
#
# -DCFFI_FUZZ=ON (clang): the libFuzzer builds <target>_fuzz, and fuzz.run.<target> runs each for
# CFFI_FUZZ_SECONDS over a working corpus in the build tree seeded from fuzz/corpus/<target>/.
# Crashes are written to <build>/fuzz-artifacts/<target>/; keep each as
# fuzz/regressions/<target>/<name> once fixed.
option(CFFI_FUZZ "Build the libFuzzer targets (needs clang)" OFF)
set(CFFI_FUZZ_SECONDS 60 CACHE STRING "Seconds each fuzz.run.* test fuzzes")

set(_fuzz ${PROJECT_SOURCE_DIR}/fuzz)
set(_fuzz_targets sig)
if(TARGET cffi_lua_static)
  list(APPEND _fuzz_targets lua)
endif()

foreach(t ${_fuzz_targets})
  add_executable(${t}_replay ${_fuzz}/${t}_fuzz.c ${_fuzz}/replay_main.c)
  target_compile_options(${t}_replay PRIVATE ${CFFI_WARNINGS})
  target_link_libraries(${t}_replay PRIVATE cffi_static)
  if(t STREQUAL "lua")
    target_link_libraries(${t}_replay PRIVATE cffi_lua_static ${CFFI_LUA_LINK_LIBRARIES})
  endif()
  # The seed corpus always exists; a target's regressions folder only once a crash was kept
  # (git keeps no empty folders).
  # CFFI_FUZZ_REPLAY_DIRS_<target> is also what the valgrind replays use (hardening.cmake).
  set(CFFI_FUZZ_REPLAY_DIRS_${t} ${_fuzz}/corpus/${t})
  if(IS_DIRECTORY ${_fuzz}/regressions/${t})
    list(APPEND CFFI_FUZZ_REPLAY_DIRS_${t} ${_fuzz}/regressions/${t})
  endif()
  add_test(NAME fuzz.replay.${t} COMMAND ${t}_replay ${CFFI_FUZZ_REPLAY_DIRS_${t}})
  set_tests_properties(fuzz.replay.${t} PROPERTIES LABELS "c;hardening;fuzz" TIMEOUT 600)
  list(APPEND CFFI_HARD_TESTS ${t}_replay)

  if(CFFI_FUZZ)
    if(NOT CMAKE_C_COMPILER_ID STREQUAL "Clang")
      message(FATAL_ERROR "cffi: CFFI_FUZZ needs clang (CC=clang)")
    endif()
    add_executable(${t}_fuzz ${_fuzz}/${t}_fuzz.c)
    target_compile_options(${t}_fuzz PRIVATE ${CFFI_WARNINGS} -fsanitize=fuzzer)
    target_link_options(${t}_fuzz PRIVATE -fsanitize=fuzzer)
    target_link_libraries(${t}_fuzz PRIVATE cffi_static)
    if(t STREQUAL "lua")
      target_link_libraries(${t}_fuzz PRIVATE cffi_lua_static ${CFFI_LUA_LINK_LIBRARIES})
    endif()
    set(_work ${CMAKE_BINARY_DIR}/fuzz-corpus/${t})
    set(_art ${CMAKE_BINARY_DIR}/fuzz-artifacts/${t}/)
    file(MAKE_DIRECTORY ${_work} ${_art})
    add_test(NAME fuzz.run.${t}
             COMMAND ${t}_fuzz -max_total_time=${CFFI_FUZZ_SECONDS} -timeout=20 -rss_limit_mb=2048
                     -max_len=4096 -print_final_stats=1 -artifact_prefix=${_art}
                     ${_work} ${_fuzz}/corpus/${t})
    math(EXPR _timeout "${CFFI_FUZZ_SECONDS} * 2 + 120")
    set_tests_properties(fuzz.run.${t} PROPERTIES LABELS "hardening;fuzz" TIMEOUT ${_timeout})
  endif()
endforeach()
