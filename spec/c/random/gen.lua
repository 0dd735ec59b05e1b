-- gen.lua - writes one self-contained C program that checks random signatures in both directions
-- against code the C compiler generated:
--
--   calls:     main -> cffi_call -> a compiled function with the exact prototype and convention,
--              which checks every argument; main checks the result byte for byte.
--   callbacks: a compiled caller -> cffi_closure_code(c) cast to the exact typed pointer, with
--              literal arguments -> a generic handler that checks every args[i] and writes the
--              result; the caller checks the returned value. The same caller first calls the
--              compiled function, which gives the reference stack-pointer movement.
--
-- With --aggregates, signatures also pass and return structs and unions by value: random layouts
-- (nesting, arrays, unions, packing) declared to the compiler and, with the same text, to
-- cffi_cdef; the compiler's sizeof and _Alignof check cffi's layout too.
--
-- Usage: lua5.4 gen.lua --seed N [--count K] [--arch x86_64|x86|aarch64|arm] [--aggregates]
--                       [--out file.c]
-- The same options always give the same program.

local USAGE = "usage: lua5.4 gen.lua --seed N [--count K] [--arch x86_64|x86|aarch64|arm] "
  .. "[--aggregates] [--out file.c]"

local opts = { count = 200, arch = "x86_64" }
do
  local i = 1
  while i <= #arg do
    local k, v = arg[i], arg[i + 1]
    if k == "--aggregates" then opts.aggregates = true; v = true; i = i - 1
    elseif k == "--seed" then opts.seed = math.tointeger(tonumber(v))
    elseif k == "--count" then opts.count = math.tointeger(tonumber(v))
    elseif k == "--arch" then opts.arch = v
    elseif k == "--out" then opts.out = v
    else io.stderr:write("gen.lua: unknown option '", tostring(k), "'\n", USAGE, "\n"); os.exit(2)
    end
    if v == nil then io.stderr:write("gen.lua: ", k, " needs a value\n", USAGE, "\n"); os.exit(2) end
    i = i + 2
  end
  if not opts.seed or not opts.count or opts.count < 1 then
    io.stderr:write(USAGE, "\n"); os.exit(2)
  end
end

-- ---------------------------------------------------------------------------------------------
-- Targets. Word sizes decide which extremes are worth drawing; the values themselves are always
-- written as (T)<64-bit literal>, so the program stays correct whatever size T has.
-- Each convention: the name passed to cffi_sig_parse, the attribute that gives the compiled
-- functions that convention, and a weight for the draw.
local TARGETS = {
  x86_64 = {
    word = 64, long = 64,
    conventions = {
      { name = "sysv64", attr = "__attribute__((sysv_abi))", weight = 10 },
      { name = "win64", attr = "__attribute__((ms_abi))", weight = 10 },
      -- The x86-32 names mean the native C convention here; plain functions are native.
      { name = "C", attr = "", weight = 1 },
      { name = "cdecl", attr = "", weight = 1 },
      { name = "stdcall", attr = "", weight = 1 },
      { name = "fastcall", attr = "", weight = 1 },
      { name = "thiscall", attr = "", weight = 1 },
    },
  },
  x86 = {
    word = 32, long = 32,
    conventions = {
      { name = "cdecl", attr = "__attribute__((cdecl))", weight = 6 },
      { name = "stdcall", attr = "__attribute__((stdcall))", weight = 6 },
      { name = "fastcall", attr = "__attribute__((fastcall))", weight = 6 },
      { name = "thiscall", attr = "__attribute__((thiscall))", weight = 6 },
      { name = "C", attr = "", weight = 1 },
    },
  },
  arm = {
    word = 32, long = 32,
    conventions = {
      -- armhf's C is AAPCS-VFP; the base standard passes floating values in core registers.
      { name = "C", attr = "", weight = 4 },
      { name = "aapcs_vfp", attr = '__attribute__((pcs("aapcs-vfp")))', weight = 3 },
      { name = "aapcs", attr = '__attribute__((pcs("aapcs")))', weight = 6 },
      { name = "cdecl", attr = "", weight = 1 },
      { name = "stdcall", attr = "", weight = 1 },
    },
  },
  aarch64 = {
    word = 64, long = 64,
    conventions = {
      -- AAPCS64 is the only convention; every accepted name means it.
      { name = "C", attr = "", weight = 6 },
      { name = "aapcs64", attr = "", weight = 2 },
      { name = "cdecl", attr = "", weight = 1 },
      { name = "stdcall", attr = "", weight = 1 },
      { name = "fastcall", attr = "", weight = 1 },
      { name = "thiscall", attr = "", weight = 1 },
    },
  },
}
local target = TARGETS[opts.arch]
if not target then
  io.stderr:write("gen.lua: unknown --arch '", opts.arch, "' (x86_64, x86, aarch64 or arm)\n"); os.exit(2)
end

-- Scalar types: spelling (the same in C and in the signature text), kind, width in bits.
-- kind: bool, int (signed), uint, float, double, ptr.
local W, L = target.word, target.long
local TYPES = {
  { "bool", "bool", 8 },
  { "char", "int", 8 },
  { "signed char", "int", 8 },
  { "unsigned char", "uint", 8 },
  { "short", "int", 16 },
  { "unsigned short", "uint", 16 },
  { "int", "int", 32 },
  { "unsigned int", "uint", 32 },
  { "unsigned", "uint", 32 },
  { "long", "int", L },
  { "unsigned long", "uint", L },
  { "long long", "int", 64 },
  { "unsigned long long", "uint", 64 },
  { "int8_t", "int", 8 },
  { "uint8_t", "uint", 8 },
  { "int16_t", "int", 16 },
  { "uint16_t", "uint", 16 },
  { "int32_t", "int", 32 },
  { "uint32_t", "uint", 32 },
  { "int64_t", "int", 64 },
  { "uint64_t", "uint", 64 },
  { "size_t", "uint", W },
  { "ssize_t", "int", W },
  { "intptr_t", "int", W },
  { "uintptr_t", "uint", W },
  { "ptrdiff_t", "int", W },
  { "float", "float", 32 },
  { "double", "double", 64 },
  { "void *", "ptr", W },
  { "const char *", "ptr", W },
  { "int *", "ptr", W },
}
-- long double where it is the x87 extended type (compared by its 10 value bytes).
if opts.arch == "x86_64" or opts.arch == "x86" then TYPES[#TYPES + 1] = { "long double", "ldouble", 80 } end
for i, t in ipairs(TYPES) do
  TYPES[i] = { name = t[1], kind = t[2], bits = t[3] }
end
local function types_where(pred)
  local out = {}
  for _, t in ipairs(TYPES) do if pred(t) then out[#out + 1] = t end end
  return out
end
local FLOATS = types_where(function(t) return t.kind == "float" or t.kind == "double" end)
local INTEGERS = types_where(function(t)
  return t.kind ~= "float" and t.kind ~= "double" and t.kind ~= "ldouble"
end)
local NARROW = types_where(function(t) return t.bits < 32 end)
local WIDE = types_where(function(t) return t.bits == 64 end)

-- ---------------------------------------------------------------------------------------------
-- Random draws. math.random is seeded once; nothing else feeds the generator.
math.randomseed(opts.seed)
local rnd = math.random

local function pick(list) return list[rnd(#list)] end

local function pick_weighted(list)
  local total = 0
  for _, e in ipairs(list) do total = total + e.weight end
  local r = rnd(total)
  for _, e in ipairs(list) do
    r = r - e.weight
    if r <= 0 then return e end
  end
end

local function chance(p) return rnd() < p end

-- ---------------------------------------------------------------------------------------------
-- Values. Each returns the C expression of the value; integers and pointers as a cast of a
-- 64-bit hexadecimal literal, floating values as exact hexadecimal literals.
local function hex64(v) return string.format("0x%xULL", v) end

local function int_value(t)
  local bits, signed = t.bits, t.kind == "int"
  local v
  if chance(0.35) then
    local max_u = bits == 64 and -1 or (1 << bits) - 1
    local top = 1 << (bits - 1)                  -- 2^(bits-1): the signed minimum's pattern
    if signed then
      v = pick({ top, top - 1, 0, -1, 1, top + 1, -2 })  -- MIN, MAX, 0, -1, 1, MIN+1, -2
    else
      v = pick({ 0, max_u, 1, top, top - 1, max_u - 1 })
    end
  else
    -- A random magnitude first, so that small values are as common as full-width ones.
    local width = rnd(bits)
    v = rnd(0)
    if width < 64 then v = v & ((1 << width) - 1) end
    if signed and chance(0.5) then v = -v end
  end
  if bits < 64 then
    v = v & ((1 << bits) - 1)
    if signed and v >= (1 << (bits - 1)) then v = v - (1 << bits) end
  end
  return "(" .. t.name .. ")" .. hex64(v)
end

local function bits_to_float(b) return (string.unpack("<f", string.pack("<I4", b))) end
local function bits_to_double(b) return (string.unpack("<d", string.pack("<i8", b))) end

local FLOAT_EXTREMES = {
  0x00000000, 0x80000000,           -- +0, -0
  0x00000001, 0x80000001,           -- smallest denormals
  0x007fffff, 0x00400000,           -- largest denormal, another denormal
  0x00800000, 0x7f7fffff, 0xff7fffff, -- FLT_MIN, FLT_MAX, -FLT_MAX
  0x3f800000, 0xbf800000, 0x3eaaaaab, -- 1, -1, 1/3
  0x5f000000,                       -- 2^63
}
local DOUBLE_EXTREMES = {
  0x0000000000000000, math.mininteger,  -- +0, -0
  0x0000000000000001, 0x000fffffffffffff, 0x8008000000000000, -- denormals
  0x0010000000000000, 0x7fefffffffffffff, 0xffefffffffffffff, -- DBL_MIN, DBL_MAX, -DBL_MAX
  0x7fe1ccf385ebc8a0, 0xffe1ccf385ebc8a0, -- 1e308, -1e308
  0x3ff0000000000000, 0xbff0000000000000, 0x3fb999999999999a, -- 1, -1, 0.1
  0x43e0000000000000, 0x3ca0000000000000, -- 2^63, 2^-53
}

local function float_literal(x, suffix)
  local s = string.format("%a", x)
  return "(" .. s .. suffix .. ")"
end

local function float_value(t)
  if t.kind == "ldouble" then -- a double's value, written as a long double literal
    local d = float_value({ kind = "double" })
    if d:find("__builtin", 1, true) then
      return (d:gsub("__builtin_inf%(%)", "__builtin_infl()"):gsub("__builtin_nan%(", "__builtin_nanl("))
    end
    return (d:gsub("%)$", "L)"))
  end
  local is_float = t.kind == "float"
  local r = rnd()
  if r < 0.03 then
    return pick(is_float and { "__builtin_inff()", "(-__builtin_inff())" }
                         or { "__builtin_inf()", "(-__builtin_inf())" })
  elseif r < 0.04 then
    return is_float and "__builtin_nanf(\"\")" or "__builtin_nan(\"\")"
  end
  local x
  if r < 0.40 then
    x = is_float and bits_to_float(pick(FLOAT_EXTREMES)) or bits_to_double(pick(DOUBLE_EXTREMES))
  elseif r < 0.70 then
    -- Short values: an integer scaled by a power of two.
    x = rnd(-100000, 100000) * 2.0 ^ rnd(-20, 10)
    if is_float then x = bits_to_float(string.unpack("<I4", string.pack("<f", x))) end
  else
    -- Any finite bit pattern.
    repeat
      if is_float then
        local b = rnd(0) & 0xffffffff
        if (b >> 23) & 0xff ~= 0xff then x = bits_to_float(b) end
      else
        local b = rnd(0)
        if (b >> 52) & 0x7ff ~= 0x7ff then x = bits_to_double(b) end
      end
    until x
  end
  return float_literal(x, is_float and "f" or "")
end

local function pointer_value(t, index)
  -- Distinct (index in bits 4..11), non-NULL in the low 32 bits, 16-byte aligned.
  local v = (rnd(0) & ~0xfff) | ((index + 1) << 4) | 0x800
  return "(" .. t.name .. ")(uintptr_t)" .. hex64(v)
end

local function value(t, index)
  if t.kind == "bool" then return chance(0.5) and "true" or "false"
  elseif t.kind == "int" or t.kind == "uint" then return int_value(t)
  elseif t.kind == "float" or t.kind == "double" or t.kind == "ldouble" then return float_value(t)
  else return pointer_value(t, index)
  end
end

-- ---------------------------------------------------------------------------------------------
-- Signature shapes, biased toward what breaks ABI code: register spill, int/float interleaving,
-- narrow and 64-bit integers, all-float lists, no parameters.
local function param_count()
  local r = rnd()
  if r < 0.40 then return rnd(1, 8)
  elseif r < 0.70 then return rnd(9, 16)
  else return rnd(17, 40)
  end
end

local SHAPES = {
  { weight = 5, name = "none", make = function() return {} end },
  { weight = 10, name = "all-float", make = function()
      local p = {}
      for i = 1, param_count() do p[i] = pick(FLOATS) end
      return p
    end },
  { weight = 10, name = "narrow", make = function()
      local p = {}
      for i = 1, param_count() do p[i] = pick(NARROW) end
      return p
    end },
  { weight = 10, name = "wide", make = function()
      local p = {}
      for i = 1, param_count() do p[i] = chance(0.8) and pick(WIDE) or pick(TYPES) end
      return p
    end },
  { weight = 15, name = "interleaved", make = function()
      local p = {}
      local float_first = chance(0.5)
      for i = 1, param_count() do
        p[i] = ((i % 2 == 1) == float_first) and pick(FLOATS) or pick(INTEGERS)
      end
      return p
    end },
  { weight = 15, name = "many", make = function()
      local p = {}
      for i = 1, rnd(24, 40) do p[i] = pick(TYPES) end
      return p
    end },
  { weight = 35, name = "any", make = function()
      local p = {}
      for i = 1, param_count() do p[i] = pick(TYPES) end
      return p
    end },
}

local function draw_result()
  local r = rnd()
  if r < 0.15 then return nil                     -- void
  elseif r < 0.35 then return pick(FLOATS)
  elseif r < 0.50 then return pick(NARROW)
  elseif r < 0.65 then return pick(WIDE)
  else return pick(TYPES)
  end
end

-- ---------------------------------------------------------------------------------------------
-- Aggregates (--aggregates): struct and union types with random members. Each becomes a typedef
-- rt_aN, given to the compiler and, as the same text, to cffi_cdef. Values are compared member
-- by member (padding bytes carry nothing); a union by its largest member, the one set.
local AGGS = {}
local MEMBER_TYPES = types_where(function(t) return t.name ~= "const char *" and t.kind ~= "ldouble" end)

local member_types = MEMBER_TYPES -- FLOATS while drawing a vector-like type
-- long double, where there is one, as a plain struct member now and then (never in a union or an
-- array: it is compared by its 10 value bytes, not its padding).
local LDOUBLE = types_where(function(t) return t.kind == "ldouble" end)[1]

local function gen_members(depth, is_union)
  local members = {}
  for i = 1, chance(0.65) and rnd(1, 3) or rnd(1, is_union and 4 or 6) do
    local m = { name = "m" .. (i - 1) }
    local r = rnd()
    if depth < 2 and not is_union and r < 0.18 then
      m.kind, m.union = "nested", chance(0.3)
      m.members = gen_members(depth + 1, m.union)
    elseif r < 0.38 then
      m.kind, m.type, m.count = "array", pick(member_types), rnd(1, 5)
    else
      m.kind, m.type = "scalar", pick(member_types)
      if LDOUBLE and not is_union and chance(0.06) then m.type = LDOUBLE end
    end
    members[i] = m
  end
  return members
end

local function member_bytes(m)
  return m.type.bits // 8 * (m.kind == "array" and m.count or 1)
end

-- A union's largest member (the first of equal ones); its members are never nested aggregates.
local function largest(members)
  local best
  for _, m in ipairs(members) do
    if not best or member_bytes(m) > member_bytes(best) then best = m end
  end
  return best
end

local function body_text(is_union, members)
  local parts = { is_union and "union { " or "struct { " }
  for _, m in ipairs(members) do
    if m.kind == "nested" then
      parts[#parts + 1] = body_text(m.union, m.members) .. " " .. m.name .. "; "
    else
      local sep = m.type.name:sub(-1) == "*" and "" or " "
      parts[#parts + 1] = m.type.name .. sep .. m.name ..
        (m.kind == "array" and "[" .. m.count .. "]" or "") .. "; "
    end
  end
  parts[#parts + 1] = "}"
  return table.concat(parts)
end

-- Designators of what is compared: every member, a union's largest one (and how many bytes of
-- it, where that is not its size: a long double's 10).
local function leaves(is_union, members, prefix, out)
  for _, m in ipairs(is_union and { largest(members) } or members) do
    if m.kind == "nested" then leaves(m.union, m.members, prefix .. m.name .. ".", out)
    else out[#out + 1] = { path = prefix .. m.name, bytes = m.type.kind == "ldouble" and 10 or nil } end
  end
  return out
end

local function init_text(is_union, members, index)
  local parts = {}
  for _, m in ipairs(is_union and { largest(members) } or members) do
    local v
    if m.kind == "nested" then v = init_text(m.union, m.members, index)
    elseif m.kind == "array" then
      local e = {}
      for k = 1, m.count do e[k] = value(m.type, index) end
      v = "{" .. table.concat(e, ", ") .. "}"
    else v = value(m.type, index) end
    parts[#parts + 1] = "." .. m.name .. " = " .. v
  end
  return "{" .. table.concat(parts, ", ") .. "}"
end

local function new_agg()
  local a = { index = #AGGS, union = chance(0.2) }
  a.name = "rt_a" .. a.index
  -- Game code's vectors, colours and matrices: floating members only.
  member_types = chance(0.3) and FLOATS or MEMBER_TYPES
  a.members = gen_members(a.union and 2 or 0, a.union)
  if LDOUBLE and not a.union and chance(0.04) then -- a struct of one long double: st(0) on sysv
    a.members = { { name = "m0", kind = "scalar", type = LDOUBLE } }
  end
  local body = body_text(a.union, a.members)
  local r = rnd()
  if r < 0.15 then body = body .. " __attribute__((packed))"; a.packed = true
  elseif r < 0.25 then a.pack = pick({ 1, 2, 4 }); a.packed = true end
  a.inline = not a.pack and body or nil -- a body under #pragma pack cannot be written inline
  a.decl = "typedef " .. body .. " " .. a.name .. ";"
  if a.pack then
    a.decl = "#pragma pack(push, " .. a.pack .. ")\n" .. a.decl .. "\n#pragma pack(pop)"
  end
  a.leaves = leaves(a.union, a.members, "", {})
  AGGS[#AGGS + 1] = a
  return { name = a.name, kind = "agg", bits = 0, agg = a }
end

-- An aggregate type for a signature: often a new one, sometimes one drawn before.
local function draw_agg()
  if #AGGS > 0 and chance(0.3) then
    local a = pick(AGGS)
    return { name = a.name, kind = "agg", bits = 0, agg = a }
  end
  return new_agg()
end

local function agg_value(t, index) return init_text(t.agg.union, t.agg.members, index) end

local function spelled(t)
  if t.kind == "agg" and t.agg.inline and chance(0.25) then return t.agg.inline end
  return t.name
end

local sigs = {}
for i = 0, opts.count - 1 do
  local s = { index = i }
  s.shape = pick_weighted(SHAPES)
  s.params = s.shape.make()
  s.result = draw_result()
  if opts.aggregates then
    if #s.params == 0 or chance(0.3) then table.insert(s.params, rnd(#s.params + 1), draw_agg()) end
    for k = 1, #s.params do
      if chance(0.15) then s.params[k] = draw_agg() end
    end
    if chance(0.5) then s.result = draw_agg() end
  end
  s.conv = pick_weighted(target.conventions)
  s.values, s.result_value = {}, nil
  for k, t in ipairs(s.params) do
    s.values[k] = t.kind == "agg" and agg_value(t, k - 1) or value(t, k - 1)
  end
  if s.result then
    s.result_value = s.result.kind == "agg" and agg_value(s.result, 63) or value(s.result, 63)
  end
  -- Signature text: mostly plain; sometimes "(void)" for no parameters or parameter names.
  local names = chance(0.1)
  local parts = {}
  for k, t in ipairs(s.params) do
    local spelling = spelled(t)
    parts[k] = names and (spelling .. (spelling:sub(-1) == "*" and "" or " ") .. "p" .. (k - 1))
      or spelling
  end
  local plist = #parts == 0 and (chance(0.5) and "void" or "") or table.concat(parts, ", ")
  s.text = (s.result and spelled(s.result) or "void") .. "(" .. plist .. ")"
  -- GCC and clang disagree on i386 thiscall when the first integer-class parameter is 64 bits
  -- wide: GCC passes it on the stack and lets it use up ECX, clang splits it between ECX and the
  -- stack. cffi follows GCC; clang builds skip these signatures.
  if opts.arch == "x86" and s.conv.name == "thiscall" then
    for _, t in ipairs(s.params) do
      if t.kind ~= "float" and t.kind ~= "double" then
        s.disputed = t.bits == 64
        break
      end
    end
  end
  -- They also disagree on aggregates under both register conventions: clang passes small
  -- structs in ECX/EDX and, under thiscall, the hidden result pointer on the stack (as MSVC
  -- does); GCC passes structs on the stack only and the result pointer in ECX. cffi follows GCC.
  -- Under ms_abi GCC returns a long double through a hidden pointer (as mingw does), clang in
  -- st(0). cffi follows GCC.
  if opts.arch == "x86_64" and s.conv.name == "win64" and s.result and s.result.kind == "ldouble" then
    s.disputed = true
  end
  -- 32-bit ARM: clang does not pass a packed homogeneous floating aggregate in VFP registers the
  -- way GCC does. cffi follows GCC.
  if opts.arch == "arm" then
    for _, t in ipairs(s.params) do s.disputed = s.disputed or (t.kind == "agg" and t.agg.packed) end
    s.disputed = s.disputed or (s.result and s.result.kind == "agg" and s.result.agg.packed)
  end
  if opts.arch == "x86" and (s.conv.name == "thiscall" or s.conv.name == "fastcall") then
    for _, t in ipairs(s.params) do s.disputed = s.disputed or t.kind == "agg" or t.kind == "ldouble" end
    s.disputed = s.disputed or (s.result and s.result.kind == "agg")
  end
  sigs[#sigs + 1] = s
end

-- ---------------------------------------------------------------------------------------------
-- Output.
local out = {}
local function emit(...)
  for i = 1, select("#", ...) do out[#out + 1] = select(i, ...) end
end
local function emitf(fmt, ...) emit(string.format(fmt, ...)) end

local reproduce = string.format("lua5.4 gen.lua --seed %d --count %d --arch %s%s",
                                opts.seed, opts.count, opts.arch,
                                opts.aggregates and " --aggregates" or "")

emitf([[
/*
 * Generated by spec/c/random/gen.lua; do not edit. Reproduce with:
 *   %s
 * %d random signatures (%s), each checked in two directions against compiled code:
 * cffi_call into a compiled callee, and a compiled caller into a cffi_closure.
 * Run with signature indexes as arguments to run only those; -v prints each one first.
 */
]], reproduce, opts.count, opts.arch)

emit([[
#include "cffi.h"

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#if !defined(_WIN32)
#include <signal.h>
#include <unistd.h>
#endif

#if defined(__SANITIZE_ADDRESS__)
#define RT_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RT_ASAN 1
#endif
#endif

#if defined(__x86_64__)
#define RT_READ_SP(v) __asm__ volatile("mov %%rsp, %0" : "=r"(v) : : "memory")
#elif defined(__i386__)
#define RT_READ_SP(v) __asm__ volatile("mov %%esp, %0" : "=r"(v) : : "memory")
#elif defined(__aarch64__) || defined(__arm__)
#define RT_READ_SP(v) __asm__ volatile("mov %0, sp" : "=r"(v) : : "memory")
#else
#error "random signature test: stack pointer read not written for this target"
#endif

/* Callers whose stack-pointer movement is compared must not be cloned, specialised or inlined,
 * and must address their locals through a frame pointer (a variable-size alloca forces one), so
 * that a callee popping the wrong number of bytes is reported instead of crashing the caller. */
#if defined(__clang__)
#define RT_CALLER __attribute__((noinline))
#else
#define RT_CALLER __attribute__((noinline, noclone))
#endif
static volatile size_t rt_alloca_size = 16;
static void *volatile rt_sink;
#define RT_FORCE_FRAME_POINTER() (rt_sink = __builtin_alloca(rt_alloca_size))

typedef int (*rt_eq_fn)(const void *, const void *); /* aggregates: member by member */

typedef struct rt_desc {
    int index;
    const char *text, *conv;
    size_t nparams;
    const unsigned short *sizes; /* sizeof each parameter */
    void *const *args;          /* expected argument values, also cffi_call's argument array */
    size_t rsize;               /* 0 for void */
    const void *result;         /* expected result */
    int hits;                   /* times a checking function ran */
    const char *phase;
    int failed;
    int disputed;               /* the compilers disagree on this signature's ABI */
    const rt_eq_fn *eqs;        /* per parameter: NULL to compare bytes (or no such array) */
    rt_eq_fn req;               /* the result's, or NULL */
} rt_desc;

static int rt_checks, rt_failures;
static void *volatile rt_target; /* read by the callers, so nothing is known about it */
static rt_desc *volatile rt_current;

static void rt_hex(char *buf, const void *p, size_t n)
{
    const unsigned char *b = p;
    *buf++ = '0';
    *buf++ = 'x';
    while (n--)
        buf += sprintf(buf, "%02x", b[n]);
    *buf = 0;
}

static void rt_fail(rt_desc *d, const char *what)
{
    rt_failures++;
    d->failed = 1;
    fprintf(stderr, "FAIL sig #%d %s \"%s\" [%s]: %s\n", d->index, d->conv, d->text, d->phase,
            what);
}

static void rt_check(rt_desc *d, int ok, const char *what)
{
    rt_checks++;
    if (!ok)
        rt_fail(d, what);
}

static void rt_check_value(rt_desc *d, const char *what, rt_eq_fn eq, const void *expected,
                           const void *got, size_t n)
{
    char msg[1200], e[520], g[520];
    rt_checks++;
    if (!expected || !got) {
        rt_fail(d, what); /* no value to compare: never the case for a checked value */
        return;
    }
    if (eq ? eq(expected, got) : memcmp(expected, got, n) == 0)
        return;
    if (n > 256)
        n = 256;
    rt_hex(e, expected, n);
    rt_hex(g, got, n);
    snprintf(msg, sizeof msg, "%s: expected %s, got %s", what, e, g);
    rt_fail(d, msg);
}

/* long double: its value bytes, not the padding after them. */
static __attribute__((unused)) int rt_ld_eq(const void *x, const void *y)
{
    return memcmp(x, y, 10) == 0;
}

/* Every argument a checking function received against the expected values. */
static void rt_check_args(rt_desc *d, void *const *got)
{
    char what[32];
    d->hits++;
    for (size_t i = 0; i < d->nparams; i++) {
        snprintf(what, sizeof what, "argument %zu", i);
        rt_check_value(d, what, d->eqs ? d->eqs[i] : NULL, d->args[i], got[i], d->sizes[i]);
    }
}

/* The closures' handler. */
static void rt_handler(void *ctx, void *ret, void *const *args)
{
    rt_desc *d = ctx;
    rt_check_args(d, args);
    if (d->rsize)
        memcpy(ret, d->result, d->rsize);
}

/* cffi_call through a caller that measures the stack pointer; compared with the same caller
 * calling a function of the same prototype that does nothing. */
typedef cffi_status (*rt_call_fn)(const cffi_sig *, void *, void *, void *const *);
static rt_call_fn volatile rt_call_target;

static RT_CALLER cffi_status rt_measured_call(const cffi_sig *sig, void *fn, void *ret,
                                              void *const *args, intptr_t *delta)
{
    uintptr_t before, after;
    cffi_status s;
    RT_FORCE_FRAME_POINTER();
    RT_READ_SP(before);
    s = rt_call_target(sig, fn, ret, args);
    RT_READ_SP(after);
    *delta = (intptr_t)(after - before);
    return s;
}

static cffi_status rt_no_call(const cffi_sig *sig, void *fn, void *ret, void *const *args)
{
    (void)sig, (void)fn, (void)ret, (void)args;
    return CFFI_OK;
}

static intptr_t rt_call_reference_delta;
static void *rt_no_args[1];

enum { RT_GUARD = 0xa5, RT_RETBUF = 512 };

static void rt_calls(rt_desc *d, const cffi_sig *sig, void *fn)
{
    union {
        unsigned char b[RT_RETBUF];
        uint64_t align_u;
        double align_d;
        void *align_p;
    } ret;
    intptr_t delta;
    char msg[128];
    void *retp = (d->rsize || d->index % 2) ? ret.b : NULL;
    cffi_status s;

    d->phase = "calls";
    d->hits = 0;
    memset(ret.b, RT_GUARD, sizeof ret.b);
    rt_call_target = cffi_call;
    s = rt_measured_call(sig, fn, retp, d->nparams ? d->args : rt_no_args, &delta);
    snprintf(msg, sizeof msg, "cffi_call returned %d (%s)", (int)s, cffi_strerror(s));
    rt_check(d, s == CFFI_OK, msg);
    if (s != CFFI_OK)
        return;
    rt_check(d, d->hits == 1, "the compiled callee did not run exactly once");
    if (d->rsize)
        rt_check_value(d, "result", d->req, d->result, ret.b, d->rsize);
    for (size_t i = d->rsize; i < sizeof ret.b; i++)
        if (ret.b[i] != RT_GUARD) {
            snprintf(msg, sizeof msg, "cffi_call wrote past the %zu-byte result (byte %zu)",
                     d->rsize, i);
            rt_check(d, 0, msg);
            break;
        }
    snprintf(msg, sizeof msg, "stack pointer moved by %ld bytes across cffi_call (expected %ld)",
             (long)delta, (long)rt_call_reference_delta);
    rt_check(d, delta == rt_call_reference_delta, msg);
}

/* After a caller ran: the result, and the stack pointer against the compiled reference (a
 * compiler may leave popping its own pushes for later, so the reference need not be 0). */
static void rt_check_callback(rt_desc *d, const void *result, const intptr_t *delta,
                              intptr_t reference)
{
    char msg[128];
    rt_check(d, d->hits == 1, "the function called did not run exactly once");
    if (d->rsize)
        rt_check_value(d, "result", d->req, d->result, result, d->rsize);
    if (!delta)
        return;
    snprintf(msg, sizeof msg,
             "stack pointer moved by %ld bytes across the call, %ld with the compiled callee "
             "(wrong stack cleanup?)", (long)*delta, (long)reference);
    rt_check(d, *delta == reference, msg);
}

static cffi_sig *rt_parse(rt_desc *d)
{
    cffi_sig *sig = NULL;
    char err[160], msg[256];
    cffi_status s;
    d->phase = "parse";
    s = cffi_sig_parse(d->text, d->conv, &sig, err, sizeof err);
    if (s != CFFI_OK) {
        snprintf(msg, sizeof msg, "cffi_sig_parse returned %d (%s): %s", (int)s,
                 cffi_strerror(s), err);
        rt_check(d, 0, msg);
        return NULL;
    }
    rt_check(d, cffi_sig_nparams(sig) == d->nparams, "cffi_sig_nparams");
    return sig;
}

static cffi_closure *rt_closure(rt_desc *d, const cffi_sig *sig)
{
    cffi_closure *c = NULL;
    char msg[128];
    cffi_status s = cffi_closure_new(sig, rt_handler, d, &c);
    d->phase = "callbacks";
    snprintf(msg, sizeof msg, "cffi_closure_new returned %d (%s)", (int)s, cffi_strerror(s));
    rt_check(d, s == CFFI_OK && c && cffi_closure_code(c), msg);
    return s == CFFI_OK ? c : NULL;
}
]])

-- The aggregate types: the declaration (also kept as text for cffi_cdef) and the comparison.
for _, a in ipairs(AGGS) do
  emitf("\n%s\n", a.decl)
  emitf("static const char %s_decl[] = \"%s\";\n", a.name, (a.decl:gsub("\n", "\\n")))
  emitf("static __attribute__((unused)) int %s_eq(const void *x, const void *y)\n{\n    return 1", a.name)
  for _, l in ipairs(a.leaves) do
    local bytes = l.bytes and tostring(l.bytes) or string.format("sizeof(((%s *)0)->%s)", a.name, l.path)
    emitf("\n        && memcmp((const char *)x + offsetof(%s, %s), (const char *)y + offsetof(%s, %s),"
          .. " %s) == 0", a.name, l.path, a.name, l.path, bytes)
  end
  emit(";\n}\n")
end
emit("\nstatic const struct {\n    const char *name, *decl;\n    size_t size, align;\n} rt_aggs[] = {\n")
for _, a in ipairs(AGGS) do
  emitf("    {%q, %s_decl, sizeof(%s), _Alignof(%s)},\n", a.name, a.name, a.name, a.name)
end
emit("    {NULL, NULL, 0, 0}\n};\n")

-- Per signature: expected values, the compiled callee, the typed caller, the run function.
for _, s in ipairs(sigs) do
  local p = "s" .. s.index
  local R = s.result and s.result.name or "void"
  local attr = s.conv.attr
  local ptypes = {}
  for k, t in ipairs(s.params) do ptypes[k] = t.name end
  local proto = #ptypes == 0 and "void" or table.concat(ptypes, ", ")

  emitf("\n/* #%d %s %s (%s) */\n", s.index, s.conv.name, s.text, s.shape.name)
  for k, t in ipairs(s.params) do
    emitf("static %s %s_v%d = %s;\n", t.name, p, k - 1, s.values[k])
  end
  if s.result then emitf("static %s %s_r = %s;\n", R, p, s.result_value) end
  if #s.params > 0 then
    local a, z = {}, {}
    for k, t in ipairs(s.params) do
      a[k] = "&" .. p .. "_v" .. (k - 1)
      z[k] = "sizeof(" .. t.name .. ")"
    end
    emitf("static void *const %s_args[] = {%s};\n", p, table.concat(a, ", "))
    emitf("static const unsigned short %s_sizes[] = {%s};\n", p, table.concat(z, ", "))
  end
  local eqs = {}
  local function eq_of(t)
    return t.kind == "agg" and t.name .. "_eq" or t.kind == "ldouble" and "rt_ld_eq" or "NULL"
  end
  for k, t in ipairs(s.params) do eqs[k] = eq_of(t) end
  local has_eqs = table.concat(eqs):find("_eq") ~= nil
  if has_eqs then emitf("static const rt_eq_fn %s_eqs[] = {%s};\n", p, table.concat(eqs, ", ")) end
  emitf("static rt_desc %s_d = {%d, %q, %q, %d, %s, %s, %s, %s, 0, \"\", 0, %d, %s, %s};\n",
        p, s.index, s.text, s.conv.name, #s.params,
        #s.params > 0 and p .. "_sizes" or "NULL", #s.params > 0 and p .. "_args" or "NULL",
        s.result and "sizeof(" .. R .. ")" or "0", s.result and "&" .. p .. "_r" or "NULL",
        s.disputed and 1 or 0, has_eqs and p .. "_eqs" or "NULL",
        s.result and eq_of(s.result) or "NULL")
  emitf("typedef %s (%s *%s_fn)(%s);\n", R, attr, p, proto)

  -- The compiled callee: the oracle for the calls direction and the reference caller target.
  local formals, addrs = {}, {}
  for k, t in ipairs(s.params) do
    formals[k] = t.name .. " a" .. (k - 1)
    addrs[k] = "&a" .. (k - 1)
  end
  emitf("static %s %s %s_callee(%s)\n{\n", R, attr, p,
        #formals == 0 and "void" or table.concat(formals, ", "))
  if #addrs > 0 then
    emitf("    void *got[] = {%s};\n    rt_check_args(&%s_d, got);\n", table.concat(addrs, ", "), p)
  else
    emitf("    rt_check_args(&%s_d, NULL);\n", p)
  end
  if s.result then emitf("    return %s_r;\n", p) end
  emit("}\n")

  -- The typed caller, with literal arguments.
  emitf("static RT_CALLER %s %s_caller(intptr_t *delta)\n{\n", R, p)
  emitf("    %s_fn fn = (%s_fn)rt_target;\n", p, p)
  emit("    uintptr_t before, after;\n")
  if s.result then emitf("    %s r;\n", R) end
  emit("    RT_FORCE_FRAME_POINTER();\n    RT_READ_SP(before);\n")
  local literals = {}
  for k, t in ipairs(s.params) do
    literals[k] = t.kind == "agg" and "(" .. t.name .. ")" .. s.values[k] or s.values[k]
  end
  emitf("    %sfn(%s);\n", s.result and "r = " or "", table.concat(literals, ", "))
  emit("    RT_READ_SP(after);\n    *delta = (intptr_t)(after - before);\n")
  if s.result then emit("    return r;\n") end
  emit("}\n")

  -- Both directions.
  emitf("static void %s_run(void)\n{\n", p)
  emitf("    rt_desc *d = &%s_d;\n", p)
  emit("    intptr_t reference, delta;\n")
  if s.result then emitf("    %s r;\n", R) end
  emit("    cffi_sig *sig = rt_parse(d);\n    cffi_closure *c;\n    if (!sig)\n        return;\n")
  emitf("    rt_calls(d, sig, (void *)%s_callee);\n", p)
  emit("    d->phase = \"compiled caller\";\n    d->hits = 0;\n")
  emitf("    rt_target = (void *)%s_callee;\n", p)
  emitf("    %s%s_caller(&reference);\n", s.result and "r = " or "", p)
  emitf("    rt_check_callback(d, %s, NULL, 0);\n", s.result and "&r" or "NULL")
  emit("    c = rt_closure(d, sig);\n    if (c) {\n        d->hits = 0;\n")
  emit("        rt_target = cffi_closure_code(c);\n")
  emitf("        %s%s_caller(&delta);\n", s.result and "r = " or "", p)
  emitf("        rt_check_callback(d, %s, &delta, reference);\n", s.result and "&r" or "NULL")
  emit("        cffi_closure_free(c);\n    }\n    cffi_sig_free(sig);\n}\n")
end

-- The table and main.
emit("\nstatic const struct {\n    rt_desc *desc;\n    void (*run)(void);\n} rt_all[] = {\n")
for _, s in ipairs(sigs) do emitf("    {&s%d_d, s%d_run},\n", s.index, s.index) end
emit("};\n")
emitf("#define RT_COUNT %d\n", #sigs)
emitf("static const char rt_reproduce[] = %q;\n", reproduce)
emit([[

#if !defined(_WIN32) && !defined(RT_ASAN)
/* A crash names the signature it happened in. */
static void rt_on_crash(int signo)
{
    static const char head[] = "random signature test: crashed in signature #";
    char num[16];
    int n = 0, i = rt_current ? rt_current->index : -1;
    if (write(2, head, sizeof head - 1) < 0)
        _exit(3);
    if (i < 0) {
        num[n++] = '?';
    } else {
        char tmp[16];
        int t = 0;
        do
            tmp[t++] = (char)('0' + i % 10);
        while ((i /= 10) > 0);
        while (t > 0)
            num[n++] = tmp[--t];
    }
    num[n++] = '\n';
    if (write(2, num, (size_t)n) < 0)
        _exit(3);
    if (rt_current) {
        const char *txt = rt_current->text;
        if (write(2, txt, strlen(txt)) < 0 || write(2, "\n", 1) < 0)
            _exit(3);
    }
    signal(signo, SIG_DFL);
    raise(signo);
}
#endif

int main(int argc, char **argv)
{
    int verbose = 0, selected = 0, skipped = 0;
    static unsigned char chosen[RT_COUNT];
    intptr_t probe;

#if !defined(_WIN32) && !defined(RT_ASAN)
    signal(SIGSEGV, rt_on_crash);
    signal(SIGBUS, rt_on_crash);
    signal(SIGILL, rt_on_crash);
#endif
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-v") == 0) {
            verbose = 1;
        } else {
            int k = atoi(argv[i]);
            if (k < 0 || k >= RT_COUNT) {
                fprintf(stderr, "no signature #%s (0..%d)\n", argv[i], RT_COUNT - 1);
                return 2;
            }
            chosen[k] = 1;
            selected = 1;
        }
    }

    for (int i = 0; rt_aggs[i].name; i++) {
        char err[256];
        cffi_typeinfo info;
        cffi_status s = cffi_cdef(NULL, rt_aggs[i].decl, err, sizeof err);
        if (s == CFFI_OK)
            s = cffi_type_parse(NULL, rt_aggs[i].name, &info, err, sizeof err);
        rt_checks++;
        if (s != CFFI_OK) {
            fprintf(stderr, "FAIL %s: cffi_cdef/cffi_type_parse returned %d: %s\n%s\n",
                    rt_aggs[i].name, (int)s, err, rt_aggs[i].decl);
            rt_failures++;
        } else if (info.size != rt_aggs[i].size || info.align != rt_aggs[i].align) {
            fprintf(stderr, "FAIL %s: cffi lays it out in %zu bytes aligned to %zu, the compiler "
                    "in %zu aligned to %zu\n%s\n", rt_aggs[i].name, info.size, info.align,
                    rt_aggs[i].size, rt_aggs[i].align, rt_aggs[i].decl);
            rt_failures++;
        }
    }

    rt_call_target = rt_no_call;
    rt_measured_call(NULL, NULL, NULL, NULL, &rt_call_reference_delta);
    rt_measured_call(NULL, NULL, NULL, NULL, &probe);
    if (probe != rt_call_reference_delta) {
        fprintf(stderr, "random signature test: stack pointer reads are not stable\n");
        return 2;
    }

    for (int i = 0; i < RT_COUNT; i++) {
        if (selected && !chosen[i])
            continue;
        rt_current = rt_all[i].desc;
#if defined(__clang__)
        if (rt_current->disputed) {
            skipped++;
            continue;
        }
#endif
        if (verbose) {
            printf("#%d %s %s\n", i, rt_current->conv, rt_current->text);
            fflush(stdout);
        }
        rt_all[i].run();
    }
    rt_current = NULL;

    if (rt_failures) {
        int n = 0;
        fprintf(stderr, "\nfailing signatures (rerun one with its index as argument):\n");
        for (int i = 0; i < RT_COUNT; i++)
            if (rt_all[i].desc->failed) {
                fprintf(stderr, "  #%d %s %s\n", i, rt_all[i].desc->conv, rt_all[i].desc->text);
                n++;
            }
        fprintf(stderr, "%d of %d signatures failed; generated by: %s\n", n, RT_COUNT,
                rt_reproduce);
    }
    if (skipped)
        printf("%d signatures skipped where clang and GCC disagree (cffi follows GCC): i386 "
               "thiscall whose first integer parameter is 64 bits wide, i386 fastcall or thiscall "
               "with structs or long double parameters, a win64 long double result, packed structs on "
               "32-bit ARM\n", skipped);
    printf("%d checks, %d failed\n", rt_checks, rt_failures);
    return rt_failures ? 1 : 0;
}
]])

local text = table.concat(out)
if opts.out then
  local f = assert(io.open(opts.out, "w"))
  f:write(text)
  f:close()
else
  io.write(text)
end
