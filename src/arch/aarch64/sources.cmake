# AArch64: the AAPCS64 procedure call standard (Linux; Apple's arm64 variant differs only in how
# stack arguments are packed, see abi_aapcs64.c).
list(APPEND CFFI_ARCH_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/abi_aapcs64.c
  ${CMAKE_CURRENT_LIST_DIR}/conventions.c
  ${CMAKE_CURRENT_LIST_DIR}/thunk.c
  ${CMAKE_CURRENT_LIST_DIR}/entry_aapcs64.S
  ${CMAKE_CURRENT_LIST_DIR}/call_aapcs64.S
)
# Typed thunks: the template block (include/cffi_target.h) and the AArch64 relocator.
set(CFFI_ARCH_BAREFN_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/barefn_block.c
  ${CMAKE_CURRENT_LIST_DIR}/reloc_a64.c
)
