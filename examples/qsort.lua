-- qsort.lua - sort a Lua array with libc's qsort and a Lua comparator.
--   LUA_CPATH="build/?.so;;" lua5.4 examples/qsort.lua
local cffi = require "cffi"

local values = { 42, -7, 19, 0, 3, 100, -50, 8, 23, 5 }

-- qsort sorts memory, so copy the numbers into a native int array.
local size = cffi.sizeof("int")
local array = cffi.alloc(#values * size)
for i, v in ipairs(values) do cffi.write(array, "int", v, (i - 1) * size) end

-- The comparator gets two pointers into the array. <close> frees it at the end of the scope.
local compare <close> = cffi.wrap(function(a, b)
  local x, y = cffi.read(a, "int"), cffi.read(b, "int")
  return x < y and -1 or (x > y and 1 or 0)
end, "int(const void *, const void *)")

local qsort = cffi.cast(cffi.sym("qsort"), "void(void *, size_t, size_t, int (*)(const void *, const void *))")
qsort(array, #values, size, compare)

local sorted = {}
for i = 1, #values do sorted[i] = cffi.read(array, "int", (i - 1) * size) end
print("before: " .. table.concat(values, " "))
print("sorted: " .. table.concat(sorted, " "))
print("comparator: " .. tostring(compare))
