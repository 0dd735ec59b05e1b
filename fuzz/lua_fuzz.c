/*
 * lua_fuzz.c - libFuzzer target for the Lua binding: a fresh lua_State with the module loaded
 * runs a driver (below) that turns the input into a sequence of operations - wrap, call, set,
 * free, cast, call, read, write, sizeof, string, type, conventions, tostring, collect - with
 * hostile signature and type strings and hostile values, each under pcall. Nothing may crash,
 * and nothing may raise out of the driver (it returns true).
 *
 * The documented raw-memory contract is respected, so a finding is a real bug: pointer-taking
 * functions only get the driver's own buffer (72 zeroed bytes, only the first 64 ever written,
 * so it always holds a NUL) or addresses inside it; `const char *` values are only strings, nil
 * or such addresses (never another number, integer or integral float, which would be a raw
 * address); `const char *` is never read from memory the driver wrote; casts use the
 * exact signature and convention of the callback they point at.
 */
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "cffi.h"

static const char driver[] =
    "local cffi, data = ...\n"
    /* CFFI_FUZZ_TRACE=1: log every call of a module function to stderr, for triage. */
    "if os.getenv('CFFI_FUZZ_TRACE') then\n"
    "  local real = cffi\n"
    "  cffi = setmetatable({}, {__index = function(_, k)\n"
    "    local v = real[k]\n"
    "    if type(v) ~= 'function' then return v end\n"
    "    return function(...)\n"
    "      local t, s = table.pack(...), {}\n"
    "      for i = 1, t.n do s[i] = type(t[i]) == 'string' and ('%q'):format(t[i]) or tostring(t[i]) end\n"
    "      io.stderr:write('cffi.', k, '(', table.concat(s, ', '), ')\\n')\n"
    "      return v(...)\n"
    "    end\n"
    "  end})\n"
    "end\n"
    "local pos, depth = 1, 0\n"
    "local function b0() local b = data:byte(pos) or 0; pos = pos + 1; return b end\n"
    "local function more() return pos <= #data end\n"
    "local tokens = {'int', '(', ')', ',', 'void', 'double', '*', 'const', 'char', '__stdcall',\n"
    "  'float', 'long', 'unsigned', 'int64_t', 'bool', ' ', '...', 'short', 'size_t', 'uint8_t',\n"
    "  '__fastcall', '(*)', 'struct s', 'win64', '__attribute__((ms_abi))', 'x', '0', '[3]',\n"
    "  'signed', '_Bool', 'WINAPI', '__cdecl', 'thiscall', 'long double', 'int32_t', ';'}\n"
    "local types = {'int', 'double', 'float', 'bool', 'char', 'long long', 'unsigned char',\n"
    "  'int8_t', 'uint16_t', 'size_t', 'void *', 'const char *', 'short', 'uint64_t', 'int64_t',\n"
    "  'ssize_t', 'const void *', 'unsigned', 'long', 'uintptr_t'}\n"
    "local convs = {'C', 'cdecl', 'stdcall', 'fastcall', 'thiscall', 'sysv64', 'win64',\n"
    "  'system', 'efiapi', 'aapcs', '__STDCALL', 'bogus', ''}\n"
    "local buf = cffi.alloc(72)\n"
    "local function safe_addr() return buf:addr() + b0() % 64 end\n"
    "local function hostile()\n"
    "  local mode, n = b0() % 3, b0() % 24\n"
    "  if mode == 0 then local s = data:sub(pos, pos + n - 1); pos = pos + n; return s end\n"
    "  local t = {}\n"
    "  for i = 1, n do t[i] = tokens[b0() % #tokens + 1] end\n"
    "  return table.concat(t, mode == 1 and '' or ' ')\n"
    "end\n"
    "local cbs = {}\n"
    /* A value for a parameter or result of type ty (nil: unknown, so pointer-safe only). */
    "local function value(ty)\n"
    "  local k = b0() % 12\n"
    "  local cstr = ty == nil or ty == 'const char *'\n"
    "  if k == 0 then return nil\n"
    "  elseif k == 1 then return b0() % 2 == 0\n"
    "  elseif k == 2 then return cstr and 0 or (b0() - 128) * 1000003\n"
    "  elseif k == 3 then return cstr and safe_addr() or (b0() % 2 == 0 and math.maxinteger or math.mininteger) + b0() - 128\n"
    /* A float with an integer value is an address too (modulo 2^64): not for const char *. */
    "  elseif k == 4 then local f = (b0() - 128) / 7; return (cstr and f == math.floor(f)) and 0.5 or f\n"
    "  elseif k == 5 then return cstr and 0/0 or ({0/0, math.huge, -math.huge, 2^63, -0.0, 1e300})[b0() % 6 + 1]\n"
    "  elseif k == 6 then return hostile()\n"
    "  elseif k == 7 then return {}\n"
    "  elseif k == 8 then return print\n"
    "  elseif k == 9 then return buf\n"
    "  elseif k == 10 then local e = cbs[b0() % (#cbs + 1) + 1]; return (not cstr and e) and e.cb or buf\n"
    "  else return safe_addr() end\n"
    "end\n"
    "local function args(types_of)\n"
    "  local n, t = b0() % 6, {}\n"
    "  for i = 1, n do t[i] = value(types_of and types_of[i]) end\n"
    "  return table.unpack(t, 1, n)\n"
    "end\n"
    /* A signature: hostile text (types unknown) or well formed (types known). */
    "local function signature()\n"
    "  if b0() % 2 == 0 then return hostile(), nil end\n"
    "  local n, ps = b0() % 6, {}\n"
    "  for i = 1, n do ps[i] = types[b0() % #types + 1] end\n"
    "  local r = b0() % 4 == 0 and 'void' or types[b0() % #types + 1]\n"
    "  return r .. '(' .. table.concat(ps, ', ') .. ')', {r = r, p = ps}\n"
    "end\n"
    "local function body(tys)\n"
    "  local k = b0() % 6\n"
    "  local ret = value(tys and tys.r)\n"
    "  if k == 0 then return function() return ret end\n"
    "  elseif k == 1 then return function() error('boom') end\n"
    "  elseif k == 2 then return function() error(setmetatable({}, {__tostring = function() error('x') end})) end\n"
    "  elseif k == 3 and not (tys and tys.r == 'const char *') then return function(...) return ... end\n"
    "  elseif k == 4 then return function() if depth < 3 and #cbs > 0 then\n"
    "      depth = depth + 1; local c = cbs[1]; pcall(function() c.cb(table.unpack(c.sample or {})) end); depth = depth - 1 end\n"
    "      return ret end\n"
    "  else return function() collectgarbage('step') return ret, ret end end\n"
    "end\n"
    "local ops = {}\n"
    "ops[1] = function()\n"  /* wrap */
    "  local sig, tys = signature()\n"
    "  local conv = b0() % 3 == 0 and hostile() or convs[b0() % #convs + 1]\n"
    "  local opts\n"
    "  if b0() % 2 == 0 then opts = {default = value(tys and tys.r), once = b0() % 3 == 0,\n"
    "    threads = ({'owner', 'any', hostile()})[b0() % 3 + 1],\n"
    "    on_error = b0() % 2 == 0 and body(tys) or nil} end\n"
    "  local cb = cffi.wrap(body(tys), sig, conv, opts)\n"
    "  local entry = {cb = cb, tys = tys}\n"
    "  if tys then entry.sample = {} for i = 1, #tys.p do entry.sample[i] = value(tys.p[i]) end end\n"
    "  cbs[#cbs + 1] = entry\n"
    "end\n"
    "local function pick() return cbs[b0() % #cbs + 1] end\n"
    "ops[2] = function()\n"  /* call a callback through Lua, natively */
    "  local e = pick(); if not e then return end\n"
    "  if e.tys and b0() % 2 == 0 then return e.cb(table.unpack(e.sample)) end\n"
    "  return e.cb(args(e.tys and e.tys.p))\n"
    "end\n"
    "ops[3] = function()\n"  /* set, free, introspect */
    "  local e = pick(); if not e then return end\n"
    "  local k = b0() % 6\n"
    "  if k == 0 then e.cb:set(body(e.tys)) elseif k == 1 then e.cb:free()\n"
    "  elseif k == 2 then return tostring(e.cb), e.cb:signature(), e.cb:convention()\n"
    "  elseif k == 3 then return e.cb:addr(), e.cb:ptr(), cffi.type(e.cb)\n"
    "  elseif k == 4 then e.cb:close() else e.cb:set(value()) end\n"
    "end\n"
    "ops[4] = function()\n"  /* cast and call through the exact signature and convention */
    "  local e = pick(); if not e or not e.tys then return end\n"
    "  local ok, addr = pcall(e.cb.addr, e.cb); if not ok then return end\n"
    "  local conv = e.cb:convention()\n"
    "  local sig = e.cb:signature()\n"
    "  if b0() % 2 == 0 then local f = cffi.cast(addr, sig, conv); tostring(f); return f(table.unpack(e.sample)) end\n"
    "  return cffi.call(addr, sig, conv, table.unpack(e.sample))\n"
    "end\n"
    "ops[5] = function()\n"  /* read and write the buffer */
    "  local ty = b0() % 4 == 0 and hostile() or types[b0() % #types + 1]\n"
    "  if ty:find('char') and ty:find('%*') then return end\n"
    "  local ok, size = pcall(cffi.sizeof, ty)\n"
    "  local off = ok and size <= 64 and b0() % (64 - size + 1) or nil\n"
    "  if not off then return cffi.read(buf, ty, 0) end\n"
    "  local where = ({buf, buf:addr(), buf:ptr()})[b0() % 3 + 1]\n"
    "  if b0() % 2 == 0 then return cffi.write(where, ty, value(ty == 'const void *' and nil or ty), off) end\n"
    "  return cffi.read(where, ty, off)\n"
    "end\n"
    "ops[6] = function()\n"  /* strings, sizes, types, conventions */
    "  local k = b0() % 6\n"
    "  if k == 0 then return cffi.string(buf, b0() % 65)\n"
    "  elseif k == 1 then return cffi.string(safe_addr())\n"
    "  elseif k == 2 then return cffi.sizeof(hostile())\n"
    "  elseif k == 3 then return cffi.type(value())\n"
    "  elseif k == 4 then return cffi.conventions()\n"
    "  else return cffi.string(({nil, 0, buf, safe_addr()})[b0() % 4 + 1], b0() % 8) end\n"
    "end\n"
    "ops[7] = function() collectgarbage() end\n"
    "ops[8] = function() return cffi.call(value(), hostile(), hostile()) end\n"
    "for step = 1, 64 do\n"
    "  if not more() then break end\n"
    "  local op = ops[b0() % #ops + 1]\n"
    "  if op == ops[8] then\n"  /* only with arguments that fail before any call */
    "    pcall(cffi.call, nil, hostile(), 'bogus')\n"
    "  else pcall(op) end\n"
    "end\n"
    "return true\n";

static void quiet_dead_hook(const cffi_sig *sig, void *code) { (void)sig, (void)code; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static int init;
    if (!init) {
        cffi_set_dead_hook(quiet_dead_hook);
        init = 1;
    }
    if (size > 4096) return 0;
    lua_State *L = luaL_newstate();
    if (!L) return 0;
    luaL_openlibs(L);
    /* The callbacks' error lines go to stderr by default; the driver's print is harmless. */
    luaL_requiref(L, "cffi", luaopen_cffi, 0);
    if (luaL_loadbuffer(L, driver, sizeof driver - 1, "=lua_fuzz") != LUA_OK) {
        fprintf(stderr, "lua_fuzz: driver does not load: %s\n", lua_tostring(L, -1));
        abort();
    }
    lua_insert(L, -2); /* driver, cffi */
    lua_pushlstring(L, (const char *)data, size);
    if (lua_pcall(L, 2, 1, 0) != LUA_OK || !lua_toboolean(L, -1)) {
        fprintf(stderr, "lua_fuzz: the driver failed: %s\n", lua_tostring(L, -1));
        abort();
    }
    lua_close(L);
    return 0;
}
