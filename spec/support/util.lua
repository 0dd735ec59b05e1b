-- support/util.lua - what several specs share: the compiled helper library, running a child
-- interpreter (to capture stderr, or to survive what should not crash), and memory readings.
local cffi = require "cffi"

local M = {}

-- Whether this interpreter runs on Windows (the busted specs run there under wine).
M.windows = package.config:sub(1, 1) == "\\"

-- Lua's own %p of a light userdata, as an integer (Windows prints it without "0x").
function M.pointer_value(p)
  return tonumber((string.format("%p", p):gsub("^0x", "")), 16)
end

local helper_path = os.getenv("CFFI_SPEC_HELPER")
  or package.searchpath("cffi_spec_helper", package.cpath)
local helper_lib

-- A cffi.function for helper symbol name with signature sig.
function M.helper(name, sig)
  if not helper_lib then
    helper_lib = assert(cffi.load(assert(helper_path, "cffi_spec_helper not built")))
  end
  return cffi.cast(assert(helper_lib:sym(name)), sig)
end

-- A cffi.function returning the calling thread's id (pthread_self, or GetCurrentThreadId).
function M.thread_id()
  if M.windows then return cffi.cast(assert(cffi.sym("GetCurrentThreadId")), "unsigned long(void)") end
  return M.libc("pthread_self", "unsigned long(void)")
end

-- A cffi.function for the libc symbol name with signature sig.
function M.libc(name, sig)
  return cffi.cast(assert(cffi.sym(name)), sig)
end

local lua_exe = os.getenv("CFFI_LUA") or "lua5.4"

-- Run code in a child interpreter with the same module paths; returns its stdout and stderr
-- together, and whether it exited successfully.
function M.child(code)
  local file = os.tmpname()
  local f = assert(io.open(file, "w"))
  f:write(code)
  f:close()
  local command = string.format('"%s" "%s" 2>&1', lua_exe, file)
  -- cmd.exe strips the outer quotes of a command line that starts with one: add a pair.
  if M.windows then command = '"' .. command .. '"' end
  local p = assert(io.popen(command))
  local out = p:read("a")
  local ok, how, status = p:close()
  os.remove(file)
  return out, ok, how, status
end

-- Resident set size in kilobytes.
function M.rss_kb()
  local f = io.open("/proc/self/statm")
  if not f then return nil end
  local pages = f:read("n")
  pages = f:read("n") -- second field: resident
  f:close()
  return pages * 4
end

return M
