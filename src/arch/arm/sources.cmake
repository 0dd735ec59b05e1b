# 32-bit ARM (Linux, armhf): AAPCS with VFP (the native C convention) and the base AAPCS, both in
# one build.
list(APPEND CFFI_ARCH_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/abi_aapcs.c
  ${CMAKE_CURRENT_LIST_DIR}/conventions.c
  ${CMAKE_CURRENT_LIST_DIR}/thunk.c
  ${CMAKE_CURRENT_LIST_DIR}/entry_aapcs.S
  ${CMAKE_CURRENT_LIST_DIR}/call_aapcs.S
)
# Typed thunks: the template block (include/cffi_target.h) and the ARM and Thumb-2 relocator.
set(CFFI_ARCH_BAREFN_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/barefn_block.c
  ${CMAKE_CURRENT_LIST_DIR}/reloc_arm.c
)
