# x86-32 only: C tests of cdecl, stdcall, fastcall and thiscall against GCC's own code. Each
# spec/c/x86/test_*.c is one executable and one CTest test, like the generic C tests.
if(NOT CFFI_ARCH STREQUAL "x86")
  return()
endif()

file(GLOB CFFI_X86_TESTS CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/x86/test_*.c)
foreach(src ${CFFI_X86_TESTS})
  get_filename_component(name ${src} NAME_WE)
  add_executable(${name} ${src})
  target_include_directories(${name} PRIVATE ${CMAKE_CURRENT_LIST_DIR})
  target_link_libraries(${name} PRIVATE cffi_static cffi_internal)
  # -fno-defer-pop: ESP is back to its level right after every call, which READ_ESP relies on.
  target_compile_options(${name} PRIVATE ${CFFI_WARNINGS} -fno-defer-pop)
  add_test(NAME c.x86.${name} COMMAND ${name})
  set_tests_properties(c.x86.${name} PROPERTIES LABELS "c;x86" TIMEOUT 300)
endforeach()
