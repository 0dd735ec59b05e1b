# x86-32: cdecl, stdcall, fastcall and thiscall; one entry stub and one call stub serve all four.
list(APPEND CFFI_ARCH_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/abi_i386.c
  ${CMAKE_CURRENT_LIST_DIR}/conventions.c
  ${CMAKE_CURRENT_LIST_DIR}/thunk.c
  ${CMAKE_CURRENT_LIST_DIR}/entry_i386.S
  ${CMAKE_CURRENT_LIST_DIR}/call_i386.S
)
# Typed thunks: the template block (include/cffi_target.h) and the x86 relocator, shared with the
# other x86 target.
set(CFFI_ARCH_BAREFN_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/barefn_block.c
  ${CMAKE_CURRENT_LIST_DIR}/../x86_common/reloc_x86.c
)
