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
