# testing.cmake - how this build's tests run: natively, under the target's emulator
# (cmake/emulator.cmake, chosen by the toolchain file), or not at all where this host cannot show
# what they check. Included by the top-level CMakeLists.txt before any test program is defined.
#
# What it gives the test rules:
#   CFFI_RUN                   the command prefix for running one of this build's programs when a
#                              test names it by path (interpreters, programs a second compiler
#                              built); empty for a native build. Tests whose command is an
#                              executable target get it from CTest (CMAKE_CROSSCOMPILING_EMULATOR).
#   CFFI_EMULATED              true when programs run under an emulator that translates code
#                              (qemu-user); wine runs the code natively and is not "emulated" here
#   cffi_skip_under_emulation(<test> <reason>)
#                              register <test> as skipped when emulated, its reason printed in its
#                              output; returns with CFFI_SKIPPED set to TRUE then (the caller does
#                              not register the real test), FALSE otherwise
#   cffi_finish_tests()        at the end of every directory that registers tests: exit code 77
#                              means skipped, for every test there

set(CFFI_RUN "")
set(CFFI_EMULATED FALSE)
set(_cffi_skip_runner sh ${CMAKE_CURRENT_LIST_DIR}/skip-test.sh)

if(CFFI_TESTS_UNRUNNABLE)
  # Nothing runs here: every test prints why and counts as skipped (cmake/emulator.cmake).
  set(CFFI_RUN ${_cffi_skip_runner} "${CFFI_TESTS_UNRUNNABLE}")
  set(CMAKE_CROSSCOMPILING_EMULATOR ${CFFI_RUN})
elseif(CFFI_EMULATOR AND CFFI_EMULATOR_RUNS_NATIVE_CODE)
  # wine: the target's code runs on this processor; the programs need no special treatment.
  set(CFFI_RUN ${CFFI_EMULATOR})
  set(CMAKE_CROSSCOMPILING_EMULATOR ${CFFI_RUN})
elseif(CFFI_EMULATOR)
  set(CFFI_EMULATED TRUE)
  # Through a runner that turns LeakSanitizer off (it hangs under qemu-user) and says so.
  set(CFFI_RUN sh ${CMAKE_CURRENT_LIST_DIR}/emulated-run.sh ${CFFI_EMULATOR_NAME} ${CFFI_EMULATOR} --)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${CFFI_RUN})
endif()

function(cffi_skip_under_emulation test reason)
  set(CFFI_SKIPPED FALSE PARENT_SCOPE)
  if(NOT CFFI_EMULATED)
    return()
  endif()
  add_test(NAME ${test} COMMAND ${_cffi_skip_runner} "${reason}")
  set_tests_properties(${test} PROPERTIES SKIP_RETURN_CODE 77 LABELS "skipped")
  set(CFFI_SKIPPED TRUE PARENT_SCOPE)
endfunction()

function(cffi_finish_tests)
  get_directory_property(tests TESTS)
  if(tests)
    set_tests_properties(${tests} PROPERTIES SKIP_RETURN_CODE 77)
  endif()
endfunction()
