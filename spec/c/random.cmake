# Random differential test: spec/c/random/gen.lua writes one C program per seed with random
# signatures, each checked in both directions (cffi_call into compiled code, compiled code into a
# cffi_closure) with the compiler as the oracle. Every program is built twice: with the project's
# C compiler, and with clang when it is found, so two compilers' view of each ABI is checked.
#
#   -DCFFI_RANDOM_SEEDS="1;2;3"   seeds to generate (one program and one test per compiler each)
#   -DCFFI_RANDOM_AGG_SEEDS="1;2" seeds of programs that also pass structs and unions by value
#   -DCFFI_RANDOM_COUNT=200       signatures per program
#   -DCFFI_RANDOM_CLANG=OFF       skip the clang builds

set(CFFI_RANDOM_SEEDS "1;2;3;4" CACHE STRING "Seeds of the random signature tests")
set(CFFI_RANDOM_AGG_SEEDS "1;2;3;4" CACHE STRING
    "Seeds of the random signature tests with structs and unions by value")
set(CFFI_RANDOM_COUNT 200 CACHE STRING "Signatures per random signature test program")
option(CFFI_RANDOM_CLANG "Also build the random signature tests with clang" ON)

find_program(CFFI_LUA54 NAMES lua5.4 lua54)
if(NOT CFFI_LUA54)
  message(FATAL_ERROR "cffi: the random signature tests need the Lua 5.4 interpreter (lua5.4) to "
                      "generate their sources; install it (Debian: apt-get install lua5.4) or "
                      "configure with -DCFFI_BUILD_TESTS=OFF")
endif()

if(CFFI_ARCH MATCHES "^(x86_64|x86|aarch64|arm)$")
  set(_rand_arch ${CFFI_ARCH})
else()
  set(_rand_arch "")
  message(STATUS "cffi: no random signature tests for target ${CFFI_ARCH} yet")
endif()

# clang only where its output links with the project's toolchain: a native build or the -m32
# build of an x86-64 host. Compiled to an object here, linked by CMake below like the other
# build, so the library's own link dependencies come along.
set(_rand_clang "")
if(_rand_arch AND CFFI_RANDOM_CLANG AND NOT WIN32 AND NOT CMAKE_C_COMPILER_ID STREQUAL "Clang")
  find_program(CFFI_CLANG NAMES clang clang-16 clang-15 clang-14)
  if(CFFI_CLANG)
    set(_rand_clang ${CFFI_CLANG})
  endif()
endif()

set(_rand_dir ${CMAKE_CURRENT_BINARY_DIR}/random)
set(_rand_gen ${CMAKE_CURRENT_SOURCE_DIR}/random/gen.lua)

# Flags for the clang compile: the project's flags (-m32 when building for i386), the build
# type's, then -O2 whatever the build type (callers and callees optimised by a second compiler;
# clang's optimised callees rely on narrow arguments being widened by the caller), the warnings,
# the sanitizers.
# A cross toolchain file names clang's target (CFFI_CLANG_TARGET, e.g. --target=aarch64-linux-gnu);
# clang finds the cross GCC's headers and libraries itself.
separate_arguments(_rand_clang_flags UNIX_COMMAND "${CFFI_CLANG_TARGET} ${CMAKE_C_FLAGS}")
if(CMAKE_BUILD_TYPE)
  string(TOUPPER "${CMAKE_BUILD_TYPE}" _rand_bt)
  separate_arguments(_rand_bt_flags UNIX_COMMAND "${CMAKE_C_FLAGS_${_rand_bt}}")
  list(APPEND _rand_clang_flags ${_rand_bt_flags})
endif()
list(APPEND _rand_clang_flags -O2 -std=gnu11 ${CFFI_WARNINGS})
if(CFFI_SANITIZE)
  list(APPEND _rand_clang_flags -fsanitize=${CFFI_SANITIZE} -fno-omit-frame-pointer
       -fno-sanitize-recover=all)
endif()

# One generated program: kind is "" (scalar signatures) or "agg" (with aggregates by value);
# gen_flags are gen.lua's extra options. Tests c.random.<compiler>[.agg].seed<N>.
function(cffi_random_program seed kind gen_flags)
  if(kind)
    set(tag ${kind}_seed${seed})
    set(test_tag ${kind}.seed${seed})
  else()
    set(tag seed${seed})
    set(test_tag seed${seed})
  endif()
  set(src ${_rand_dir}/random_${tag}.c)
  add_custom_command(
    OUTPUT ${src}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${_rand_dir}
    COMMAND ${CFFI_LUA54} ${_rand_gen} --seed ${seed} --count ${CFFI_RANDOM_COUNT}
            --arch ${_rand_arch} ${gen_flags} --out ${src}
    DEPENDS ${_rand_gen}
    COMMENT "Generating random signature test ${tag}"
    VERBATIM)

  set(exe random_gcc_${tag})
  add_executable(${exe} ${src})
  target_link_libraries(${exe} PRIVATE cffi_static)
  target_compile_options(${exe} PRIVATE ${CFFI_WARNINGS})
  if(CMAKE_C_COMPILER_ID STREQUAL "GNU")
    # GCC's identical code folding merges callers whose bodies match but whose function
    # pointers differ only in pcs("aapcs") vs pcs("aapcs-vfp") (GCC 12, ARM): the compiled
    # reference would then call with the wrong convention.
    target_compile_options(${exe} PRIVATE -fno-ipa-icf)
  endif()
  add_test(NAME c.random.gcc.${test_tag} COMMAND ${exe})
  set_tests_properties(c.random.gcc.${test_tag} PROPERTIES LABELS "c;random" TIMEOUT 120)
  cffi_mdwe_twin(c.random.gcc.${test_tag} $<TARGET_FILE:${exe}>)

  # 32-bit ARM: the same program in ARM state too (the build's default is Thumb-2), so that
  # thunks are called, and compiled functions called, from and in both instruction sets.
  if(CFFI_ARCH STREQUAL "arm")
    set(exe random_gcc_arm_state_${tag})
    add_executable(${exe} ${src})
    target_link_libraries(${exe} PRIVATE cffi_static)
    target_compile_options(${exe} PRIVATE ${CFFI_WARNINGS} -marm -fno-ipa-icf)
    add_test(NAME c.random.gcc.arm_state.${test_tag} COMMAND ${exe})
    set_tests_properties(c.random.gcc.arm_state.${test_tag} PROPERTIES
      LABELS "c;random" TIMEOUT 120)
  endif()

  if(_rand_clang)
    set(obj ${_rand_dir}/random_clang_${tag}.o)
    add_custom_command(
      OUTPUT ${obj}
      COMMAND ${_rand_clang} ${_rand_clang_flags} -I${PROJECT_SOURCE_DIR}/src -I${CFFI_TARGET_INCLUDE} -c ${src} -o ${obj}
      DEPENDS ${src} ${PROJECT_SOURCE_DIR}/src/cffi.h
      COMMENT "Compiling random signature test ${tag} with clang"
      VERBATIM)
    set_source_files_properties(${obj} PROPERTIES EXTERNAL_OBJECT TRUE GENERATED TRUE)
    set(exe random_clang_${tag})
    add_executable(${exe} ${obj})
    set_target_properties(${exe} PROPERTIES LINKER_LANGUAGE C)
    target_link_libraries(${exe} PRIVATE cffi_static)
    add_test(NAME c.random.clang.${test_tag} COMMAND ${exe})
    set_tests_properties(c.random.clang.${test_tag} PROPERTIES LABELS "c;random" TIMEOUT 120)
    cffi_mdwe_twin(c.random.clang.${test_tag} $<TARGET_FILE:${exe}>)
  endif()
endfunction()

if(_rand_arch)
  foreach(seed IN LISTS CFFI_RANDOM_SEEDS)
    cffi_random_program(${seed} "" "")
  endforeach()
  # Aggregates by value (every target carries them).
  if(_rand_arch MATCHES "^(x86_64|x86|aarch64|arm)$")
    foreach(seed IN LISTS CFFI_RANDOM_AGG_SEEDS)
      cffi_random_program(${seed} agg --aggregates)
    endforeach()
  endif()
endif()
