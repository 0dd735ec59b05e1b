rockspec_format = "3.0"
package = "cffi"
version = "scm-1"
source = {
   url = "git+https://example.invalid/cffi.git",
}
description = {
   summary = "Lua functions as bare native function pointers, for any calling convention",
   detailed = [[
cffi turns a Lua function into a bare, context-free native function pointer for a chosen calling
convention and a signature given as a string (cffi.wrap), manages its lifetime, and calls any
native function pointer through the same signatures (cffi.cast, cffi.call).
]],
   license = "MIT",
}
dependencies = {
   "lua >= 5.4, < 5.5",
}
build = {
   type = "cmake",
   variables = {
      CMAKE_BUILD_TYPE = "Release",
      CMAKE_INSTALL_PREFIX = "$(PREFIX)",
      CFFI_LUA_CMOD_DIR = "$(LIBDIR)",
      CFFI_LUA_LMOD_DIR = "$(LUADIR)",
      CFFI_BUILD_TESTS = "OFF",
      CFFI_BUILD_BENCH = "OFF",
      CFFI_BUILD_LUA = "ON",
   },
}
