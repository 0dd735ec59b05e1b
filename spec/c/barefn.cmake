# Typed thunk tests (spec/c/barefn/): every build of a template gives its prologue a different
# shape to relocate, so the template tests are built as a matrix: the project's compiler and clang
# (when found), each with the variants below, which between them put every flag in front of both
# compilers. Each build is one executable and one CTest test, c.barefn.<test>.<compiler>.<variant>.
#
#   -DCFFI_BAREFN_CLANG=OFF   skip the clang builds
if(NOT CFFI_HAVE_BAREFN)
  return()
endif()

option(CFFI_BAREFN_CLANG "Also build the typed thunk tests with clang" ON)

# name | compile flags, separated by ":" | link flags ("-" for none)
set(_bf_variants
  "O0|-O0:-fno-pie|-no-pie"
  "O2pic|-O2:-fPIC|-"
  "O3ssp|-O3:-fstack-protector-all:-fstack-clash-protection:-fno-pie|-no-pie"
  "Oscet|-Os:-fcf-protection=full:-fPIC|-"
  "O2asan|-O2:-fsanitize=address:-fno-omit-frame-pointer|-fsanitize=address"
)
if(WIN32)
  # mingw-w64: executables are not PIE, there is no AddressSanitizer runtime, and GCC 12 stops
  # with an internal error on -fstack-clash-protection (Windows probes large frames with
  # ___chkstk_ms anyway, which the O3ssp template then relocates).
  set(_bf_variants
    "O0|-O0|-"
    "O2|-O2|-"
    "O3ssp|-O3:-fstack-protector-all|-fstack-protector-all"
    "Oscet|-Os:-fcf-protection=full|-")
endif()
if(CFFI_ARCH STREQUAL "x86")
  set(_bf_matrix_tests barefn_x86 barefn_struct)
  set(_bf_single_tests barefn_place)
elseif(CFFI_ARCH STREQUAL "aarch64")
  # No AddressSanitizer in the emulated run's variants that matter here; the PIE and CET flags
  # are x86's. The AArch64 build already compiles everything with -mbranch-protection=standard.
  set(_bf_variants
    "O0|-O0|-"
    "O2|-O2|-"
    "O3ssp|-O3:-fstack-protector-all:-fstack-clash-protection|-"
    "Os|-Os|-")
  set(_bf_matrix_tests barefn_a64 barefn_struct)
  set(_bf_single_tests barefn_place)
elseif(CFFI_ARCH STREQUAL "arm")
  # Every variant in Thumb-2 (armhf's default) and in ARM state: the templates, and the C that
  # calls them, in each instruction set.
  set(_bf_variants
    "O0|-O0|-"
    "O2|-O2|-"
    "O2pic|-O2:-fPIC|-"
    "O3ssp|-O3:-fstack-protector-all:-fstack-clash-protection|-"
    "Os|-Os|-"
    "O0arm|-O0:-marm|-"
    "O2arm|-O2:-marm:-fPIC|-"
    "O3ssparm|-O3:-marm:-fstack-protector-all:-fstack-clash-protection|-")
  set(_bf_matrix_tests barefn_arm barefn_struct)
  set(_bf_single_tests barefn_place)
else()
  set(_bf_matrix_tests barefn_shapes barefn_prologue barefn_struct)
  set(_bf_single_tests barefn_many barefn_place)
endif()

set(_bf_dir ${CMAKE_CURRENT_LIST_DIR}/barefn)
set(_bf_out ${CMAKE_CURRENT_BINARY_DIR}/barefn)
set(_bf_includes -I${PROJECT_SOURCE_DIR}/src -I${PROJECT_SOURCE_DIR}/src/arch/${CFFI_ARCH}
                 -I${PROJECT_SOURCE_DIR}/src/os/${CFFI_OS}
                 -I${CFFI_TARGET_INCLUDE}
                 -I${CMAKE_CURRENT_LIST_DIR})

# The second compiler links on its own (its sanitizer runtime is not the project compiler's), so
# it is skipped when the library itself is built with sanitizers.
# A cross build is covered when this machine runs its programs: the i386 build (clang -m32, with
# the toolchain file's flags and the sysroot's libraries found through an rpath), and a toolchain
# that names clang's target (CFFI_CLANG_TARGET: the AArch64 build, run under its emulator).
set(_bf_clang "")
if(CFFI_BAREFN_CLANG AND NOT CMAKE_C_COMPILER_ID STREQUAL "Clang" AND NOT CFFI_SANITIZE
   AND NOT WIN32 AND (NOT CMAKE_CROSSCOMPILING OR CFFI_ARCH STREQUAL "x86" OR CFFI_CLANG_TARGET))
  find_program(CFFI_CLANG NAMES clang clang-16 clang-15 clang-14)
  if(CFFI_CLANG)
    set(_bf_clang ${CFFI_CLANG})
  endif()
endif()
separate_arguments(_bf_clang_base UNIX_COMMAND "${CFFI_CLANG_TARGET} ${CMAKE_C_FLAGS}")
set(_bf_clang_rpath "")
foreach(lib ${CAPSTONE_LINK_LIBRARIES})
  get_filename_component(libdir ${lib} DIRECTORY)
  if(libdir)
    list(APPEND _bf_clang_rpath -Wl,-rpath,${libdir})
  endif()
endforeach()
string(TOLOWER "${CMAKE_C_COMPILER_ID}" _bf_cc)

# One test built by the project's compiler with the variant's flags.
function(_bf_native test variant cflags lflags)
  set(exe ${test}_${_bf_cc}_${variant})
  add_executable(${exe} ${_bf_dir}/${test}.c)
  target_link_libraries(${exe} PRIVATE cffi_static cffi_internal Threads::Threads)
  target_include_directories(${exe} PRIVATE ${CMAKE_CURRENT_LIST_DIR})
  target_compile_options(${exe} PRIVATE ${CFFI_WARNINGS} ${cflags})
  if(NOT lflags STREQUAL "-")
    target_link_options(${exe} PRIVATE ${lflags})
  endif()
  set_target_properties(${exe} PROPERTIES POSITION_INDEPENDENT_CODE OFF)
  add_test(NAME c.barefn.${test}.${_bf_cc}.${variant} COMMAND ${exe})
  set_tests_properties(c.barefn.${test}.${_bf_cc}.${variant} PROPERTIES LABELS "c;barefn" TIMEOUT 120)
  cffi_mdwe_twin(c.barefn.${test}.${_bf_cc}.${variant} $<TARGET_FILE:${exe}>)
endfunction()

# The same with clang, compiled and linked by a custom command.
function(_bf_clang test variant cflags lflags)
  set(exe ${_bf_out}/${test}_clang_${variant})
  set(link ${lflags})
  if(link STREQUAL "-")
    set(link "")
  endif()
  add_custom_command(
    OUTPUT ${exe}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${_bf_out}
    COMMAND ${_bf_clang} -std=gnu11 ${_bf_clang_base} ${CFFI_WARNINGS} ${cflags} ${_bf_includes}
            ${_bf_dir}/${test}.c $<TARGET_FILE:cffi_static> ${CAPSTONE_LINK_LIBRARIES} -lpthread
            ${_bf_clang_rpath} ${link} -o ${exe}
    DEPENDS ${_bf_dir}/${test}.c cffi_static ${PROJECT_SOURCE_DIR}/src/cffi.h
            ${CMAKE_CURRENT_LIST_DIR}/check.h
    COMMENT "Building ${test} with clang (${variant})"
    VERBATIM)
  add_custom_target(${test}_clang_${variant} ALL DEPENDS ${exe})
  add_test(NAME c.barefn.${test}.clang.${variant} COMMAND ${CFFI_RUN} ${exe})
  set_tests_properties(c.barefn.${test}.clang.${variant} PROPERTIES LABELS "c;barefn" TIMEOUT 120)
  cffi_mdwe_twin(c.barefn.${test}.clang.${variant} ${exe})
endfunction()

foreach(v IN LISTS _bf_variants)
  string(REPLACE "|" ";" parts "${v}")
  list(GET parts 0 name)
  list(GET parts 1 cflags)
  list(GET parts 2 lflags)
  string(REPLACE ":" ";" cflags "${cflags}")
  foreach(test IN LISTS _bf_matrix_tests)
    _bf_native(${test} ${name} "${cflags}" "${lflags}")
    if(_bf_clang)
      _bf_clang(${test} ${name} "${cflags}" "${lflags}")
    endif()
  endforeach()
endforeach()

foreach(test IN LISTS _bf_single_tests)
  _bf_native(${test} O2 "-O2" "-")
  if(_bf_clang)
    _bf_clang(${test} O2 "-O2" "-")
  endif()
endforeach()
