-- windows.lua - Windows callbacks from Lua: a WinAPI enumeration calling a stdcall callback once
-- per item (EnumSystemCodePagesA), and the C runtime's qsort with a Lua comparator.
--   wine lua.exe examples/windows.lua   (with cffi.dll on LUA_CPATH; see the README)
local cffi = require "cffi"

-- BOOL CALLBACK EnumCodePagesProc(LPSTR code_page): CALLBACK is stdcall (win64 on x86-64, where
-- every 32-bit convention name means the platform's one). Returning 1 asks for the next one.
local pages = {}
local on_page <close> = cffi.wrap(function(text)
  pages[#pages + 1] = tonumber(text)
  return 1
end, "int(const char *)", "stdcall")

local EnumSystemCodePagesA = cffi.cast(assert(cffi.sym("EnumSystemCodePagesA")),
  "int(void *, unsigned long)", "stdcall")
local CP_INSTALLED = 1
assert(EnumSystemCodePagesA(on_page, CP_INSTALLED) ~= 0, "EnumSystemCodePagesA failed")
local acp = cffi.call(assert(cffi.sym("GetACP")), "unsigned int(void)", "stdcall")
local found = false
for _, p in ipairs(pages) do found = found or p == acp end
print(string.format("installed code pages: %d, the ANSI code page among them: %s", #pages,
  tostring(found)))

-- The C runtime's qsort (msvcrt.dll), sorting a native int array with a Lua comparator.
local values = { 42, -7, 19, 0, 3 }
local size = cffi.sizeof("int")
local array = cffi.alloc(#values * size)
for i, v in ipairs(values) do cffi.write(array, "int", v, (i - 1) * size) end
local compare <close> = cffi.wrap(function(a, b)
  local x, y = cffi.read(a, "int"), cffi.read(b, "int")
  return x < y and -1 or (x > y and 1 or 0)
end, "int(const void *, const void *)")
local qsort = cffi.cast(assert(cffi.sym("qsort")), "void(void *, size_t, size_t, void *)")
qsort(array, #values, size, compare)
local sorted = {}
for i = 1, #values do sorted[i] = cffi.read(array, "int", (i - 1) * size) end
print("sorted: " .. table.concat(sorted, " "))
print("callback: " .. tostring(on_page))
