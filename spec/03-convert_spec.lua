-- 03-convert: every scalar type's extremes in both directions (Lua -> native through a compiled
-- identity function and back; native -> Lua through a callback called by native code), and the
-- conversion rules for integers, floats, booleans, pointers and strings, and narrow arguments
-- arriving extended to the whole register.
local cffi = require "cffi"
local util = require "support.util"

local maxint, minint = math.maxinteger, math.mininteger

-- type, helper suffix, values that must come back unchanged
local exact = {
  { "int8_t", "i8", { -128, -1, 0, 1, 127 } },
  { "uint8_t", "u8", { 0, 1, 255 } },
  { "int16_t", "i16", { -32768, 0, 32767 } },
  { "uint16_t", "u16", { 0, 65535 } },
  { "int32_t", "i32", { -2147483648, 0, 2147483647 } },
  { "uint32_t", "u32", { 0, 4294967295 } },
  { "int64_t", "i64", { minint, -1, 0, maxint } },
  { "uint64_t", "u64", { 0, maxint, minint, -1 } }, -- 2^63 and 2^64-1 as wrapped integers
  { "double", "double", { 0.0, -0.0, 1.5, math.huge, -math.huge, 2.2250738585072014e-308,
                          1.7976931348623157e308, 4.9406564584124654e-324 } },
  { "float", "float", { 0.0, 1.5, -2.25, math.huge, 3.4028234663852886e38, 1.401298464324817e-45 } },
  { "bool", "bool", { true, false } },
}

-- type, value given, value expected back (C cast semantics)
local wraps = {
  { "int8_t", 128, -128 }, { "int8_t", 255, -1 }, { "int8_t", -129, 127 },
  { "uint8_t", -1, 255 }, { "uint8_t", 256, 0 }, { "uint8_t", 0x1ff, 255 },
  { "int16_t", 32768, -32768 }, { "uint16_t", -1, 65535 }, { "uint16_t", 65536, 0 },
  { "int32_t", 2147483648, -2147483648 }, { "int32_t", 4294967295, -1 },
  { "uint32_t", -1, 4294967295 }, { "uint32_t", 4294967296, 0 },
  { "int32_t", 3.0, 3 }, { "int64_t", -2.0 ^ 63, minint },
  { "uint64_t", 2.0 ^ 63, minint }, { "uint64_t", 2.0 ^ 64, 0 }, { "uint64_t", 2.0 ^ 64 + 2 ^ 12, 4096 },
  { "int64_t", -(2.0 ^ 64) - 2 ^ 12, -4096 }, { "uint8_t", 1e300 // 1, 0 },
}

describe("conversions", function()
  for _, case in ipairs(exact) do
    local ty, suffix, values = case[1], case[2], case[3]
    it(ty .. " keeps its extremes through a compiled identity function", function()
      local id = util.helper("helper_id_" .. suffix, ty .. "(" .. ty .. ")")
      for _, v in ipairs(values) do
        local got = id(v)
        assert.equal(v, got, ty .. " " .. tostring(v))
        assert.equal(math.type(v), math.type(got))
      end
    end)

    it(ty .. " keeps its extremes through a callback, both directions", function()
      local seen
      local cb = cffi.wrap(function(v) seen = v; return v end, ty .. "(" .. ty .. ")")
      for _, v in ipairs(values) do
        assert.equal(v, cb(v))
        assert.equal(v, seen)
      end
    end)
  end

  it("passes narrow integers and bool extended to the whole register, as compilers expect", function()
    -- A register argument is 64 bits on 64-bit targets; a function returning its uint64_t
    -- argument shows all of them. (32-bit targets pass these in 4-byte stack slots.)
    if string.packsize("T") ~= 8 then return end
    local function raw(ty, v) return util.helper("helper_id_u64", "uint64_t(" .. ty .. ")")(v) end
    assert.equal(-1, raw("int8_t", -1))
    assert.equal(-128, raw("int8_t", 128))
    assert.equal(255, raw("uint8_t", -1))
    assert.equal(-32768, raw("int16_t", 32768))
    assert.equal(65535, raw("uint16_t", -1))
    assert.equal(-1, raw("int32_t", 4294967295))
    assert.equal(4294967295, raw("uint32_t", -1))
    assert.equal(1, raw("bool", true))
    assert.equal(0, raw("bool", false))
  end)

  it("produces extremes written by C", function()
    assert.equal(-128, util.helper("helper_min_i8", "int8_t(void)")())
    assert.equal(255, util.helper("helper_max_u8", "uint8_t(void)")())
    assert.equal(-32768, util.helper("helper_min_i16", "int16_t(void)")())
    assert.equal(65535, util.helper("helper_max_u16", "uint16_t(void)")())
    assert.equal(-2147483648, util.helper("helper_min_i32", "int32_t(void)")())
    assert.equal(4294967295, util.helper("helper_max_u32", "uint32_t(void)")())
    assert.equal(minint, util.helper("helper_min_i64", "int64_t(void)")())
    assert.equal(-1, util.helper("helper_max_u64", "uint64_t(void)")())
    assert.equal(string.unpack("J", string.pack("J", -1)), util.helper("helper_max_u64", "uint64_t(void)")())
  end)

  it("hands C the exact bits for extremes", function()
    assert.equal(1, util.helper("helper_is_u64max", "int(uint64_t)")(-1))
    assert.equal(1, util.helper("helper_is_i64min", "int(int64_t)")(minint))
    assert.equal(1, util.helper("helper_is_u32max", "int(unsigned int)")(-1))
    assert.equal(1, util.helper("helper_is_true", "int(bool)")(true))
    assert.equal(0, util.helper("helper_is_true", "int(bool)")(false))
  end)

  for _, case in ipairs(wraps) do
    it(string.format("reduces %s to %s modulo 2^N", tostring(case[2]), case[1]), function()
      local id = cffi.wrap(function(v) return v end, case[1] .. "(" .. case[1] .. ")")
      assert.equal(case[3], id(case[2]))
      assert.equal("integer", math.type(id(case[2])))
    end)
  end

  it("rejects what is not an integer for integer types", function()
    local id = util.helper("helper_id_i32", "int(int)")
    for _, bad in ipairs { 1.5, 0 / 0, math.huge, "1", true, {}, nil } do
      assert.error_matches(function() id(bad) end, "bad argument #1 to 'cffi.function' %(int expected")
    end
    assert.error_matches(function() id(1.5) end, "got non%-integer number")
    assert.error_matches(function() id("1") end, "got string")
  end)

  it("takes only booleans for bool and only numbers for floating types", function()
    assert.error_matches(function() util.helper("helper_id_bool", "bool(bool)")(1) end,
      "bool expected, got number")
    assert.error_matches(function() util.helper("helper_id_bool", "bool(bool)")(nil) end,
      "bool expected, got nil")
    assert.error_matches(function() util.helper("helper_id_double", "double(double)")("1.0") end,
      "double expected, got string")
    assert.equal(3.0, util.helper("helper_id_double", "double(double)")(3))
    assert.equal("float", math.type(util.helper("helper_id_double", "double(double)")(3)))
    assert.equal(math.huge, util.helper("helper_id_float", "float(float)")(1e300))
  end)

  it("converts pointers from every accepted kind of value", function()
    local id = util.helper("helper_id_ptr", "void *(void *)")
    local cb = cffi.wrap(function() end, "void(void)")
    local buf = cffi.alloc(8)
    assert.equal(0, id(nil))
    assert.equal(0, id(0))
    assert.equal(0x1234, id(0x1234))
    -- addresses are unsigned: all ones is -1 on 64-bit targets, 2^32-1 on 32-bit ones
    assert.equal(string.packsize("T") == 8 and -1 or 0xffffffff, id(-1))
    assert.equal(cb:addr(), id(cb))
    assert.equal(cb:addr(), id(cb:ptr()))
    assert.equal(buf:addr(), id(buf))
    assert.equal(cb:addr(), id(cffi.cast(cb, "void(void)")))
    assert.error_matches(function() id("str") end, "bad argument #1 to 'cffi.function' %(void %* expected, got string%)")
    assert.error_matches(function() id({}) end, "expected, got table")
    assert.error_matches(function() id(io.stdout) end, "expected, got FILE%*")
    cb:free()
    assert.error_matches(function() id(cb) end, "got cffi.callback")
  end)

  it("passes Lua strings for const char * and const void *, and returns C strings", function()
    local strlen = util.libc("strlen", "size_t(const char *)")
    assert.equal(5, strlen("hello"))
    assert.equal(0, strlen(""))
    local memchr = util.libc("memchr", "const void *(const void *, int, size_t)")
    assert.is_true(memchr("abc", 99, 3) ~= 0)
    assert.equal(0, memchr("abc", 100, 3))
    local strchr = util.libc("strchr", "const char *(const char *, int)")
    assert.equal("llo", strchr("hello", string.byte("l")))
    assert.is_nil(strchr("hello", string.byte("z")))
    local getenv = util.libc("getenv", "const char *(const char *)")
    assert.is_nil(getenv("CFFI_SURELY_UNSET_VARIABLE"))
    -- a plain char * is an address, not a string
    local strchr_p = util.libc("strchr", "char *(const char *, int)")
    assert.equal("integer", math.type(strchr_p("hello", 104)))
    assert.error_matches(function() util.libc("strchr", "char *(char *, int)")("hello", 104) end,
      "bad argument #1 to 'cffi.function' %(char %* expected, got string%)")
  end)

  it("keeps a callback's string result alive until its next call", function()
    local n = 0
    local cb = cffi.wrap(function(i)
      n = n + 1
      return string.rep(string.char(65 + i), 100 + i) -- long strings: never interned
    end, "const char *(int)")
    local strlen_of = util.helper("helper_strlen_of", "size_t(void *, int)")
    for i = 1, 20 do
      assert.equal(100 + i, strlen_of(cb, i))
      collectgarbage()
    end
    assert.equal(20, n)
    local call_str = util.helper("helper_call_str", "const char *(void *, int)")
    assert.equal(string.rep("B", 101), call_str(cb, 1))
    local nul = cffi.wrap(function() return nil end, "const char *(int)")
    -- NULL came through: (size_t)-1, which reads back as -1 where size_t is 64-bit (wrapped, as
    -- string.unpack("J") does) and as 2^32-1 where it is 32-bit
    assert.equal(cffi.sizeof("size_t") == 8 and -1 or 0xffffffff, strlen_of(nul, 0))
  end)

  it("delivers callback arguments of every type with the right Lua types", function()
    local got
    local cb = cffi.wrap(function(...) got = table.pack(...) end,
      -- signed char: plain char is unsigned on ARM, as the target's C compiler has it
      "void(bool, signed char, unsigned char, short, long long, float, double, void *, const char *, size_t)")
    cb(true, -5, 250, -300, minint, 0.5, 0.25, 77, "text", 12)
    assert.same({ true, -5, 250, -300, minint, 0.5, 0.25, 77, "text", 12, n = 10 }, got)
    cb(false, 0, 0, 0, 0, 0, 0, nil, nil, 0)
    assert.same({ false, 0, 0, 0, 0, 0.0, 0.0, 0, nil, 0, n = 10 }, got)
  end)
end)
