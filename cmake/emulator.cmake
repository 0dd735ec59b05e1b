# emulator.cmake - how a build for another target runs its programs on this host. Included by
# every toolchain file under cmake/ (one per target: the compiler, the Debian sysroot and the
# emulator that target needs); cmake/testing.cmake turns the answer into the way tests run.
#
#   cffi_target_emulator(NAME <what the log calls it>
#                        COMMAND <emulator> [args...]
#                        [PROBE_FLAGS <compiler flags for the probe>]
#                        [PROBE_SUFFIX <the target's executable suffix, e.g. .exe>]
#                        [RUNS_NATIVE_CODE] [OPTIONAL])
#
# Decides once per build tree, at configure time, by trying: a probe program is compiled with the
# toolchain's compiler and run directly. If this host runs it (an i386 program on a kernel that
# allows them), tests run natively and nothing changes. If it does not, every program the tests
# run goes through COMMAND: CMAKE_CROSSCOMPILING_EMULATOR (which CTest puts in front of a test
# whose command is an executable target) and CFFI_RUN (what testing.cmake puts in front of
# programs named by path: interpreters, programs built by a second compiler).
#
# RUNS_NATIVE_CODE: the "emulator" runs the target's machine code on this processor (wine), so
# nothing the tests check is hidden by a translation cache. OPTIONAL: where neither the host nor
# the emulator runs the probe, the build still configures and every test is registered as
# skipped with that reason, instead of failing (the 32-bit Windows build on a 64-bit-only wine).
#
# Cache entries it leaves:
#   CFFI_EMULATOR                   the emulator command, empty when the host runs the programs
#   CFFI_EMULATOR_NAME              NAME, for messages and skip reasons
#   CFFI_EMULATOR_RUNS_NATIVE_CODE  RUNS_NATIVE_CODE given
#   CFFI_TESTS_UNRUNNABLE           why no test can run here (OPTIONAL only), else empty

function(cffi_target_emulator)
  cmake_parse_arguments(PARSE_ARGV 0 arg "RUNS_NATIVE_CODE;OPTIONAL" "NAME;PROBE_SUFFIX"
                        "COMMAND;PROBE_FLAGS")
  # try_compile projects read the toolchain file too; they never run anything.
  if(CMAKE_IN_TRY_COMPILE OR DEFINED CACHE{CFFI_EMULATOR})
    return()
  endif()

  set(CFFI_EMULATOR_NAME "${arg_NAME}" CACHE STRING "The target, as messages name it")
  set(CFFI_EMULATOR_RUNS_NATIVE_CODE ${arg_RUNS_NATIVE_CODE} CACHE BOOL
      "The emulator runs the target's machine code natively")
  set(CFFI_TESTS_UNRUNNABLE "" CACHE STRING "Why this host cannot run this build's tests")
  set(dir "${CMAKE_BINARY_DIR}/CMakeFiles/cffi-emulator-probe")
  file(MAKE_DIRECTORY "${dir}")
  file(WRITE "${dir}/probe.c" "int main(void) { return 42; }\n")
  execute_process(
    COMMAND ${CMAKE_C_COMPILER} ${arg_PROBE_FLAGS} "${dir}/probe.c" -o "${dir}/probe${arg_PROBE_SUFFIX}"
    RESULT_VARIABLE built OUTPUT_QUIET ERROR_VARIABLE build_error)
  if(NOT built EQUAL 0)
    message(FATAL_ERROR "cffi: the ${arg_NAME} compiler cannot build a program: ${build_error}")
  endif()
  # 42, not 0: a shell that fails to exec the file and runs it as a script exits otherwise.
  execute_process(COMMAND "${dir}/probe${arg_PROBE_SUFFIX}" RESULT_VARIABLE ran OUTPUT_QUIET ERROR_QUIET)
  if(ran EQUAL 42)
    set(CFFI_EMULATOR "" CACHE STRING "Emulator that runs this target's programs (empty: native)")
    message(STATUS "cffi: this host runs ${arg_NAME} programs natively")
  else()
    list(GET arg_COMMAND 0 program)
    find_program(CFFI_EMULATOR_PROGRAM NAMES ${program})
    if(NOT CFFI_EMULATOR_PROGRAM)
      message(FATAL_ERROR "cffi: this host cannot run ${arg_NAME} programs (the probe gave "
                          "'${ran}') and '${program}' is not installed (Debian: qemu-user, or "
                          "run scripts/deps.sh test)")
    endif()
    set(command ${arg_COMMAND})
    list(REMOVE_AT command 0)
    list(PREPEND command "${CFFI_EMULATOR_PROGRAM}")
    execute_process(COMMAND ${command} "${dir}/probe${arg_PROBE_SUFFIX}" RESULT_VARIABLE emulated
                    OUTPUT_QUIET ERROR_QUIET)
    if(NOT emulated EQUAL 42 AND arg_OPTIONAL)
      set(CFFI_EMULATOR "" CACHE STRING "Emulator that runs this target's programs (empty: native)")
      set(CFFI_TESTS_UNRUNNABLE "neither this host nor ${program} runs ${arg_NAME} programs (the probe gave '${ran}', then '${emulated}'): the tests are built, not run" CACHE STRING "Why this host cannot run this build's tests" FORCE)
      message(STATUS "cffi: ${CFFI_TESTS_UNRUNNABLE}")
      return()
    elseif(NOT emulated EQUAL 42)
      message(FATAL_ERROR "cffi: ${program} does not run the ${arg_NAME} probe either "
                          "(it gave '${emulated}')")
    endif()
    set(CFFI_EMULATOR "${command}" CACHE STRING
        "Emulator that runs this target's programs (empty: native)")
    message(STATUS "cffi: this host does not run ${arg_NAME} programs (the probe gave '${ran}'): "
                   "tests run under ${command}")
  endif()
endfunction()
