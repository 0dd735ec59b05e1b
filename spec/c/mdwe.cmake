# Every C test again under Linux's "memory deny write-execute" (prctl PR_SET_MDWE), as
# c.mdwe.<name>: cffi must create and run closures where the kernel refuses writable-and-
# executable pages and protection changes that add execute permission. The wrapper exits 77
# (skipped) on kernels without MDWE.
if(NOT CMAKE_SYSTEM_NAME STREQUAL "Linux")
  return()
endif()

add_executable(mdwe_exec ${CMAKE_CURRENT_LIST_DIR}/mdwe_exec.c)
target_compile_options(mdwe_exec PRIVATE ${CFFI_WARNINGS})

# The wrapper must really enforce the restriction, across execve, or the runs below prove
# nothing; and the check must notice when it is absent.
add_test(NAME c.mdwe.enforced
         COMMAND mdwe_exec $<TARGET_FILE:mdwe_exec> --verify-enforced)
set_tests_properties(c.mdwe.enforced PROPERTIES LABELS "c;mdwe" SKIP_RETURN_CODE 77)
add_test(NAME c.mdwe.check_detects_absence COMMAND mdwe_exec --verify-enforced)
set_tests_properties(c.mdwe.check_detects_absence PROPERTIES LABELS "c;mdwe" WILL_FAIL TRUE)

foreach(src ${CFFI_C_TESTS})
  get_filename_component(name ${src} NAME_WE)
  add_test(NAME c.mdwe.${name} COMMAND mdwe_exec $<TARGET_FILE:${name}>)
  set_tests_properties(c.mdwe.${name} PROPERTIES
    LABELS "c;mdwe" TIMEOUT 300 SKIP_RETURN_CODE 77 DEPENDS c.mdwe.enforced)
endforeach()
