# The wrapper that runs a test under Linux's "memory deny write-execute" (prctl PR_SET_MDWE), a
# check that it really enforces it, and every plain C test again under it (<test>.mdwe, through
# cffi_mdwe_twin in spec/CMakeLists.txt; the random, typed-thunk and busted tests register their
# own twins).
if(NOT CMAKE_SYSTEM_NAME STREQUAL "Linux")
  return()
endif()

add_executable(mdwe_exec ${CMAKE_CURRENT_LIST_DIR}/mdwe_exec.c)
target_compile_options(mdwe_exec PRIVATE ${CFFI_WARNINGS})

# The wrapper must really enforce the restriction, across execve, or the runs below prove
# nothing; and the check must notice when it is absent.
cffi_skip_under_emulation(c.mdwe.enforced "${CFFI_MDWE_EMULATED}")
if(NOT CFFI_SKIPPED)
  add_test(NAME c.mdwe.enforced
           COMMAND mdwe_exec $<TARGET_FILE:mdwe_exec> --verify-enforced)
endif()
set_tests_properties(c.mdwe.enforced PROPERTIES LABELS "c;mdwe" SKIP_RETURN_CODE 77)
add_test(NAME c.mdwe.check_detects_absence COMMAND mdwe_exec --verify-enforced)
set_tests_properties(c.mdwe.check_detects_absence PROPERTIES LABELS "c;mdwe" WILL_FAIL TRUE)

foreach(src ${CFFI_C_TESTS})
  get_filename_component(name ${src} NAME_WE)
  cffi_mdwe_twin(c.${name} $<TARGET_FILE:${name}>)
endforeach()
