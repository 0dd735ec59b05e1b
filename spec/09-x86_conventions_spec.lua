-- 09-x86_conventions: the calling conventions against code a compiler generated. On x86-32,
-- Lua callbacks of cdecl, stdcall, fastcall and thiscall are called by GCC-compiled callers of
-- that convention (spec/support/x86_callers.c), which measure ESP across the call, so a callee
-- that pops too much or too little shows; compiled functions of each convention are called from
-- Lua; freed callbacks still pop their arguments. On x86-64, the same names mean the native C
-- convention. Blocks for the other platform show as pending.
local cffi = require "cffi"
local util = require "support.util"

local conv = cffi.conventions()
local x86_32 = conv.cdecl == "cdecl" and conv.stdcall == "stdcall" and conv.fastcall == "fastcall"
  and conv.thiscall == "thiscall"
local x86_64 = conv.sysv64 == "sysv64" and conv.win64 == "win64"
local it_x86 = x86_32 and it or pending
local it_x64 = x86_64 and it or pending

local CONVENTIONS = { "cdecl", "stdcall", "fastcall", "thiscall" }

local function str_score(s, n)
  local score = 0
  for i = 1, #s do score = score * 31 + s:byte(i) end
  return score * 8 + n
end

local many_params = { "int", "double", "int", "int64_t", "float", "int8_t", "uint16_t", "double",
  "uint32_t", "float", "int64_t", "int", "short", "double", "void *", "float", "int64_t",
  "uint8_t", "double", "int" }

-- The shapes of x86_callers.c: result, parameters, arguments the spec passes, and the formula
-- the compiled callees compute (the Lua callbacks compute it too).
local shapes = {
  { name = "ii", ret = "int", params = "int, int", args = { -7, 123456 },
    f = function(a, b) return a * 10 + b end },
  { name = "LiL", ret = "int64_t", params = "int64_t, int, int64_t",
    args = { 0x123456789ab, -77, -0x98765432 },
    f = function(a, b, c) return a - b * 3 + c * 5 end },
  { name = "iLi", ret = "int64_t", params = "int, int64_t, int", args = { -1000, 0x7654321012, 99 },
    f = function(a, b, c) return a * 7 + b - c end },
  { name = "dfi", ret = "double", params = "double, int, float, int", args = { 1.25, -3, 2.5, 40 },
    f = function(a, b, c, d) return a * 2 + b * 3 + c * 4 + d * 5 end },
  { name = "fid", ret = "float", params = "int, float, double", args = { 12, -0.75, 1024.5 },
    f = function(a, b, c) return a + b * 2 - c end },
  { name = "narrow", ret = "short", params = "signed char, unsigned char, short, bool",
    args = { -5, 200, 30000, true },
    f = function(a, b, c, d) return a + b * 2 - c + (d and 100 or 0) end },
  { name = "str", ret = "int64_t", params = "const char *, int", args = { "cffi", 3 }, f = str_score },
  { name = "many", ret = "double", params = table.concat(many_params, ", "),
    args = { 3, -1.5, -4, 0x100000001, 0.25, -8, 65535, 7.75, 4000000000, -3.5, -0x200000000, 12,
             -1300, 0.125, 0x1000, 16.5, 17, 255, -19.25, 20 },
    f = function(...)
      local sum = 0.0
      for k = 1, select("#", ...) do sum = sum + select(k, ...) * k end
      return sum
    end },
}
for _, s in ipairs(shapes) do
  s.sig = s.ret .. "(" .. s.params .. ")"
  s.expected = s.f(table.unpack(s.args))
end

-- The compiled cdecl caller that calls fn as a conv function of the shape.
local function caller(cc, shape)
  return util.helper("x86cb_call_" .. cc .. "_" .. shape.name,
    shape.ret .. "(void *, " .. shape.params .. ")")
end

-- The compiled conv function of the shape (its address).
local function callee(cc, shape)
  return util.helper("x86cb_" .. cc .. "_" .. shape.name, "void(void)"):addr()
end

-- How far ESP moved across the last compiled call through a pointer (0: balanced).
local function esp_moved()
  return util.helper("x86cb_esp_moved", "intptr_t(void)")()
end

describe("x86 calling conventions", function()
  it_x86("are all real on x86-32, with distinct canonical names", function()
    local seen = {}
    for _, cc in ipairs(CONVENTIONS) do
      assert.equal(cc, conv[cc])
      assert.is_nil(seen[conv[cc]], cc)
      seen[conv[cc]] = true
      for _, spelling in ipairs { "__" .. cc, cc:upper(), "__" .. cc:upper() } do
        assert.equal(cc, cffi.wrap(function() end, "void(int)", spelling):convention(), spelling)
      end
    end
    assert.equal("cdecl", conv.c)
    assert.equal("cdecl", conv.system)
    assert.is_nil(conv.sysv64)
    assert.is_nil(conv.win64)
    assert.error_matches(function() cffi.wrap(print, "void(void)", "sysv64") end,
      "bad argument #3 to 'wrap' %(.*sysv64.*stdcall")
    local cb = cffi.wrap(function(a, b) return a + b end, "int(int,int)", "stdcall")
    assert.equal("stdcall", cb:convention())
    assert.matches("^cffi%.callback<int%(int, int%) stdcall>: 0x%x+$", tostring(cb))
  end)

  it_x86("measures ESP for real: a pop too many or too few shows", function()
    local shape = shapes[1]
    local cdecl_cb = cffi.wrap(shape.f, shape.sig, "cdecl")
    local stdcall_cb = cffi.wrap(shape.f, shape.sig, "stdcall")
    -- a stdcall caller of a cdecl callee: 8 bytes of arguments left on the stack
    assert.equal(shape.expected, caller("stdcall", shape)(cdecl_cb, table.unpack(shape.args)))
    assert.equal(-8, esp_moved())
    -- a cdecl caller of a stdcall callee: the caller pops them a second time
    assert.equal(shape.expected, caller("cdecl", shape)(stdcall_cb, table.unpack(shape.args)))
    assert.equal(8, esp_moved())
    assert.equal(0x7fffffff, esp_moved()) -- reset after each reading
  end)

  for _, cc in ipairs(CONVENTIONS) do
    it_x86(cc .. " callbacks are called by compiled " .. cc .. " code of every shape, ESP balanced",
      function()
        for _, shape in ipairs(shapes) do
          local seen
          local cb = cffi.wrap(function(...)
            seen = table.pack(...)
            return shape.f(...)
          end, shape.sig, cc)
          assert.equal(cc, cb:convention())
          local got = caller(cc, shape)(cb, table.unpack(shape.args))
          assert.equal(0, esp_moved(), cc .. " " .. shape.sig .. ": ESP moved")
          assert.equal(shape.expected, got, cc .. " " .. shape.sig)
          assert.equal(#shape.args, seen.n)
          for k, v in ipairs(shape.args) do
            assert.equal(v, seen[k], cc .. " " .. shape.sig .. " argument " .. k)
          end
          cb:free()
        end
        -- a void result
        local cb = cffi.wrap(function(out, a, b) cffi.write(out, "int", a * b - 1) end,
          "void(int *, int, int)", cc)
        local buf = cffi.alloc(4)
        util.helper("x86cb_call_" .. cc .. "_store", "void(void *, void *, int, int)")(cb, buf, 6, 7)
        assert.equal(0, esp_moved(), cc .. " void(int *, int, int): ESP moved")
        assert.equal(41, cffi.read(buf, "int"))
      end)

    it_x86("calls compiled " .. cc .. " functions from Lua: cast views, cffi.call, cb(...)",
      function()
        for _, shape in ipairs(shapes) do
          local addr = callee(cc, shape)
          local what = cc .. " " .. shape.sig
          assert.equal(shape.expected, cffi.cast(addr, shape.sig, cc)(table.unpack(shape.args)), what)
          assert.equal(shape.expected, cffi.call(addr, shape.sig, cc, table.unpack(shape.args)), what)
          local cb = cffi.wrap(shape.f, shape.sig, cc)
          assert.equal(shape.expected, cb(table.unpack(shape.args)), what)
          -- and a compiled caller through a view of the compiled callee: code to code
          assert.equal(shape.expected, caller(cc, shape)(addr, table.unpack(shape.args)), what)
          assert.equal(0, esp_moved(), what)
        end
        local buf = cffi.alloc(4)
        cffi.call(util.helper("x86cb_" .. cc .. "_store", "void(void)"), "void(int *, int, int)", cc,
          buf, -3, 5)
        assert.equal(-16, cffi.read(buf, "int"))
      end)
  end

  it_x86("takes the convention from the signature text", function()
    local f = function(a, b) return a * 10 + b end
    for _, cc in ipairs { "stdcall", "fastcall", "thiscall" } do
      for _, sig in ipairs { "int (__" .. cc .. " *)(int, int)", "int __" .. cc .. "(int, int)" } do
        local cb = cffi.wrap(f, sig)
        assert.equal(cc, cb:convention(), sig)
        assert.equal(shapes[1].expected, caller(cc, shapes[1])(cb, table.unpack(shapes[1].args)))
        assert.equal(0, esp_moved(), sig)
        assert.equal(cc, cffi.wrap(f, sig, cc):convention())
        assert.error_matches(function() cffi.wrap(f, sig, "cdecl") end, "bad argument #3 to 'wrap'")
      end
    end
  end)

  it_x86("re-enters across conventions with every level balanced", function()
    local ii = shapes[1]
    local inner_moved
    local inner = cffi.wrap(function(a, b) return a * 10 + b end, ii.sig, "thiscall")
    local middle = cffi.wrap(function(a, b)
      local r = caller("thiscall", ii)(inner, a, b)
      inner_moved = esp_moved()
      return r + cffi.call(callee("fastcall", ii), ii.sig, "fastcall", b, a)
    end, ii.sig, "fastcall")
    local outer = cffi.wrap(function(a, b)
      local r = caller("fastcall", ii)(middle, a, b)
      assert(esp_moved() == 0, "fastcall level")
      return r
    end, ii.sig, "stdcall")
    assert.equal(2 * 10 + 3 + 3 * 10 + 2, caller("stdcall", ii)(outer, 2, 3))
    assert.equal(0, esp_moved())
    assert.equal(0, inner_moved)
  end)

  it_x86("makes a freed callback of each convention pop its arguments and return the default",
    function()
      -- shape name, default, the default as print shows it
      local dead = {
        { "ii", -9, "-9" }, { "LiL", 0x123456789, "4886718345" }, { "iLi", -2, "-2" },
        { "dfi", 2.5, "2.5" }, { "fid", -0.5, "-0.5" }, { "narrow", -300, "-300" },
        { "many", 6.25, "6.25" },
      }
      local by_name = {}
      for _, s in ipairs(shapes) do by_name[s.name] = s end
      local lines = {}
      for _, d in ipairs(dead) do
        local s = by_name[d[1]]
        local args = {}
        for k, v in ipairs(s.args) do args[k] = string.format("%q", v) end
        lines[#lines + 1] = string.format("dead(%q, %q, %q, %s, {%s})",
          s.name, s.sig, s.ret .. "(void *, " .. s.params .. ")", d[2], table.concat(args, ", "))
      end
      local out = util.child(string.format([[
        package.path = %q
        local cffi = require "cffi"
        local util = require "support.util"
        local moved = util.helper("x86cb_esp_moved", "intptr_t(void)")
        for _, cc in ipairs { "cdecl", "stdcall", "fastcall", "thiscall" } do
          local function dead(name, sig, caller_sig, default, args)
            local cb = cffi.wrap(function() return default end, sig, cc, { default = default })
            local addr = cb:addr()
            cb:free()
            local r = util.helper("x86cb_call_" .. cc .. "_" .. name, caller_sig)(addr, table.unpack(args))
            print("dead", cc, name, r, moved())
          end
          %s
          local cb = cffi.wrap(function() end, "void(int *, int, int)", cc)
          local addr = cb:addr()
          cb:free()
          local buf = cffi.alloc(4)
          cffi.write(buf, "int", 1234)
          util.helper("x86cb_call_" .. cc .. "_store", "void(void *, void *, int, int)")(addr, buf, 6, 7)
          print("dead", cc, "store", cffi.read(buf, "int"), moved())
        end
      ]], package.path, table.concat(lines, "\n          ")))
      local reports = select(2, out:gsub("cffi: call through a freed callback", ""))
      assert.equal(4 * (#dead + 1), reports, out)
      assert.matches("cffi: call through a freed callback int64_t%(int64_t, int, int64_t%)", out)
      assert.matches("cffi: call through a freed callback void%(int %*, int, int%)", out)
      for _, cc in ipairs(CONVENTIONS) do
        for _, d in ipairs(dead) do
          local line = "dead\t" .. cc .. "\t" .. d[1] .. "\t" .. d[3] .. "\t0\n"
          assert.is_truthy(out:find(line, 1, true), cc .. " " .. d[1] .. ":\n" .. out)
        end
        assert.is_truthy(out:find("dead\t" .. cc .. "\tstore\t1234\t0\n", 1, true), cc .. ":\n" .. out)
      end
    end)

  it_x64("stdcall, fastcall and thiscall mean the native C convention on x86-64", function()
    assert.is_true(conv.c == "sysv64" or conv.c == "win64")
    assert.equal(conv.c, conv.cdecl)
    assert.not_equal(conv.sysv64, conv.win64)
    local call_ii = util.helper("helper_call_ii", "int(void *, int, int)")
    for _, cc in ipairs { "stdcall", "fastcall", "thiscall" } do
      assert.equal(conv.c, conv[cc], cc)
      local cb = cffi.wrap(function(a, b) return a * 10 + b end, "int(int,int)", cc)
      assert.equal(conv.c, cb:convention())
      -- a plain C caller: the same convention
      assert.equal(23, call_ii(cb, 2, 3))
      assert.equal(23, cb(2, 3))
      assert.equal(-5, cffi.call(util.helper("helper_id_i32", "int(int)"), "int(int)", cc, -5))
      assert.equal(conv.c, cffi.wrap(print, "void __" .. cc .. "(int)"):convention())
    end
  end)
end)
