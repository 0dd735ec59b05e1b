# 32-bit ARM (Linux, armhf): AAPCS with VFP (the native C convention) and the base AAPCS, both in
# one build. Typed thunks (an ARM and Thumb-2 relocator) are not ported yet: CFFI_BAREFN*
# templates do not compile on this target ("not ported").
list(APPEND CFFI_ARCH_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/abi_aapcs.c
  ${CMAKE_CURRENT_LIST_DIR}/conventions.c
  ${CMAKE_CURRENT_LIST_DIR}/thunk.c
  ${CMAKE_CURRENT_LIST_DIR}/entry_aapcs.S
  ${CMAKE_CURRENT_LIST_DIR}/call_aapcs.S
)
