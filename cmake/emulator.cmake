# emulator.cmake - how a build for another target runs its programs on this host. Included by
# every toolchain file under cmake/ (one per target: the compiler, the Debian sysroot and the
# emulator that target needs); cmake/testing.cmake turns the answer into the way tests run.
#
#   cffi_target_emulator(NAME <what the log calls it>
#                        COMMAND <emulator> [args...]
#                        [PROBE_FLAGS <compiler flags for the probe>])
#
# Decides once per build tree, at configure time, by trying: a probe program is compiled with the
# toolchain's compiler and run directly. If this host runs it (an i386 program on a kernel that
# allows them), tests run natively and nothing changes. If it does not, every program the tests
# run goes through COMMAND: CMAKE_CROSSCOMPILING_EMULATOR (which CTest puts in front of a test
# whose command is an executable target) and CFFI_RUN (what testing.cmake puts in front of
# programs named by path: interpreters, programs built by a second compiler).
#
# Cache entries it leaves:
#   CFFI_EMULATOR       the emulator command, empty when the host runs the target's programs
#   CFFI_EMULATOR_NAME  NAME, for messages and skip reasons

function(cffi_target_emulator)
  cmake_parse_arguments(PARSE_ARGV 0 arg "" "NAME" "COMMAND;PROBE_FLAGS")
  # try_compile projects read the toolchain file too; they never run anything.
  if(CMAKE_IN_TRY_COMPILE OR DEFINED CACHE{CFFI_EMULATOR})
    return()
  endif()

  set(dir "${CMAKE_BINARY_DIR}/CMakeFiles/cffi-emulator-probe")
  file(MAKE_DIRECTORY "${dir}")
  file(WRITE "${dir}/probe.c" "int main(void) { return 42; }\n")
  execute_process(
    COMMAND ${CMAKE_C_COMPILER} ${arg_PROBE_FLAGS} "${dir}/probe.c" -o "${dir}/probe"
    RESULT_VARIABLE built OUTPUT_QUIET ERROR_VARIABLE build_error)
  if(NOT built EQUAL 0)
    message(FATAL_ERROR "cffi: the ${arg_NAME} compiler cannot build a program: ${build_error}")
  endif()
  # 42, not 0: a shell that fails to exec the file and runs it as a script exits otherwise.
  execute_process(COMMAND "${dir}/probe" RESULT_VARIABLE ran OUTPUT_QUIET ERROR_QUIET)
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
    execute_process(COMMAND ${command} "${dir}/probe" RESULT_VARIABLE emulated
                    OUTPUT_QUIET ERROR_QUIET)
    if(NOT emulated EQUAL 42)
      message(FATAL_ERROR "cffi: ${program} does not run the ${arg_NAME} probe either "
                          "(it gave '${emulated}')")
    endif()
    set(CFFI_EMULATOR "${command}" CACHE STRING
        "Emulator that runs this target's programs (empty: native)")
    message(STATUS "cffi: this host does not run ${arg_NAME} programs (the probe gave '${ran}'): "
                   "tests run under ${command}")
  endif()
  set(CFFI_EMULATOR_NAME "${arg_NAME}" CACHE STRING "The target, as messages name it")
endfunction()
