# x86-32: cdecl, stdcall, fastcall and thiscall; one entry stub and one call stub serve all four.
list(APPEND CFFI_ARCH_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/abi_i386.c
  ${CMAKE_CURRENT_LIST_DIR}/conventions.c
  ${CMAKE_CURRENT_LIST_DIR}/thunk.c
  ${CMAKE_CURRENT_LIST_DIR}/entry_i386.S
  ${CMAKE_CURRENT_LIST_DIR}/call_i386.S
)
