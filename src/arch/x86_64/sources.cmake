# x86-64: the System V and Microsoft x64 conventions, available on every OS.
list(APPEND CFFI_ARCH_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/abi_sysv.c
  ${CMAKE_CURRENT_LIST_DIR}/abi_win64.c
  ${CMAKE_CURRENT_LIST_DIR}/conventions.c
  ${CMAKE_CURRENT_LIST_DIR}/thunk.c
  ${CMAKE_CURRENT_LIST_DIR}/entry_sysv.S
  ${CMAKE_CURRENT_LIST_DIR}/entry_win64.S
  ${CMAKE_CURRENT_LIST_DIR}/call_sysv.S
  ${CMAKE_CURRENT_LIST_DIR}/call_win64.S
)
# Typed thunks: the template block (include/cffi_target.h) and the x86 relocator, shared with the
# other x86 target.
set(CFFI_ARCH_BAREFN_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/barefn_block.c
  ${CMAKE_CURRENT_LIST_DIR}/../x86_common/reloc_x86.c
)
