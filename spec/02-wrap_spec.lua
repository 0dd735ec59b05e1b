-- 02-wrap: cffi.wrap and the cffi.callback userdata: methods, metamethods, options, lifetimes
-- seen from Lua.
local cffi = require "cffi"
local util = require "support.util"

describe("cffi.wrap", function()
  it("returns an owned callback that native code can call", function()
    local cb = cffi.wrap(function(a, b) return a + b end, "int(int,int)")
    local call_ii = util.helper("helper_call_ii", "int(void *, int, int)")
    assert.equal(5, call_ii(cb, 2, 3))
    assert.equal(5, cb(2, 3))
    cb:free()
  end)

  it("gives the address as integer and light userdata", function()
    local cb = cffi.wrap(function() end, "void(void)")
    assert.equal("integer", math.type(cb:addr()))
    assert.equal("userdata", type(cb:ptr()))
    assert.equal(cffi.cast(cb:ptr(), "void(void)"):addr(), cb:addr())
    assert.equal(util.pointer_value(cb:ptr()), cb:addr())
  end)

  it("normalizes signatures and names the convention", function()
    local cb = cffi.wrap(function() return 0 end, "int ( int a ,  int b )", "cdecl")
    assert.equal("int(int, int)", cb:signature())
    assert.equal(cffi.conventions().cdecl, cb:convention())
    for _, sig in ipairs { "int (*)(int, int)", "int (__cdecl *)(int, int)", "int __cdecl(int, int)" } do
      local c2 = cffi.wrap(function(a, b) return a - b end, sig)
      assert.equal("int(int, int)", c2:signature())
      assert.equal(-1, c2(1, 2))
    end
  end)

  it("prints its signature, convention and address, and that it was freed", function()
    local cb = cffi.wrap(function() return 0 end, "int(int,int)")
    local s = tostring(cb)
    assert.matches("^cffi%.callback<int%(int, int%) [%w_]+>: 0x%x+$", s)
    cb:free()
    assert.equal(s .. " (freed)", tostring(cb))
  end)

  it("switches the function behind the same pointer with set", function()
    local cb = cffi.wrap(function() return 1 end, "int(void)")
    local addr = cb:addr()
    assert.equal(1, cb())
    cb:set(function() return 2 end)
    assert.equal(addr, cb:addr())
    assert.equal(2, cffi.call(addr, "int(void)"))
    assert.error_matches(function() cb:set(42) end, "function expected")
    cb:free()
    assert.error_matches(function() cb:set(print) end, "freed")
  end)

  it("frees idempotently through free, close, <close> and the GC", function()
    local cb = cffi.wrap(function() return 1 end, "int(void)")
    cb:free()
    cb:free()
    cb:close()
    assert.equal("freed callback", cffi.type(cb))
    assert.error_matches(function() cb() end, "freed")
    assert.error_matches(function() cb:addr() end, "freed")
    assert.error_matches(function() cb:ptr() end, "freed")
    assert.equal("int(void)", cb:signature()) -- still known after the free

    local escaped
    do
      local c2 <close> = cffi.wrap(function() return 1 end, "int(void)")
      escaped = c2
      assert.equal("callback", cffi.type(c2))
    end
    assert.equal("freed callback", cffi.type(escaped))

    local weak = setmetatable({}, { __mode = "v" })
    weak[1] = cffi.wrap(function() return 1 end, "int(void)")
    collectgarbage()
    collectgarbage()
    assert.is_nil(weak[1])
  end)

  it("finds the right signature for strings built at run time, long or short", function()
    -- The signature cache keys on string identity; strings that die and are rebuilt (perhaps at
    -- the same address, with other contents) must never be taken for one another.
    for i = 1, 3000 do
      local n = i % 9
      local params = {}
      for j = 1, n do params[j] = (j % 2 == 0) and "double" or "int" end
      local tail = (i % 3 == 0) and string.rep(" ", 40) or "" -- long strings too
      local text = "long(" .. table.concat(params, ", ") .. ")" .. tail
      local cb = cffi.wrap(function(...) return select("#", ...) end, text)
      assert.equal("long(" .. (n == 0 and "void" or table.concat(params, ", ")) .. ")",
                   cb:signature())
      local args = {}
      for j = 1, n do args[j] = j end
      assert.equal(n, cb(table.unpack(args, 1, n)))
      cb:free()
      if i % 250 == 0 then collectgarbage() end
    end
    -- the same text under several conventions
    for _, conv in ipairs({ "c", "cdecl", "sysv64", "win64", "stdcall" }) do
      if cffi.conventions()[conv] then
        local cb = cffi.wrap(function(a) return a end, "int(int)", conv)
        assert.equal(cffi.conventions()[conv], cb:convention())
        assert.equal(9, cb(9))
        cb:free()
      end
    end
  end)

  it("accepts callable tables", function()
    local obj = setmetatable({}, { __call = function(_, x) return x * 2 end })
    local cb = cffi.wrap(obj, "int(int)")
    assert.equal(42, cb(21))
  end)

  it("validates every option", function()
    local f = function() return 0 end
    assert.error_matches(function() cffi.wrap(f, "int(void)", nil, { bogus = 1 }) end,
      "unknown option 'bogus'")
    assert.error_matches(function() cffi.wrap(f, "int(void)", nil, { [1] = 1 }) end, "unknown option")
    assert.error_matches(function() cffi.wrap(f, "int(void)", nil, { once = 1 }) end,
      "'once': boolean expected")
    assert.error_matches(function() cffi.wrap(f, "int(void)", nil, { threads = "all" }) end,
      "'threads': \"owner\" or \"any\" expected, got all")
    assert.error_matches(function() cffi.wrap(f, "int(void)", nil, { on_error = 3 }) end,
      "'on_error': function expected")
    assert.error_matches(function() cffi.wrap(f, "int(void)", nil, { default = "x" }) end,
      "'default': int32_t expected for result type int, got string")
    assert.error_matches(function() cffi.wrap(f, "int(void)", nil, { default = 1.5 }) end,
      "'default'")
    assert.error_matches(function() cffi.wrap(f, "bool(void)", nil, { default = 0 }) end,
      "'default': bool expected")
    assert.error_matches(function() cffi.wrap(f, "void(void)", nil, { default = 0 }) end,
      "void callback")
    assert.error_matches(function() cffi.wrap(f, "int(void)", nil, 5) end,
      "bad argument #4 to 'wrap' %(options table expected, got number%)")
    -- good ones
    local cb = cffi.wrap(f, "int(void)", nil,
      { default = 7, once = false, threads = "any", on_error = print })
    assert.equal(0, cb())
    assert.equal("callback", cffi.type(cffi.wrap(f, "void *(void)", nil, { default = cb })))
  end)

  it("names the function, argument and expectation on misuse", function()
    assert.error_matches(function() cffi.wrap(42, "int(void)") end,
      "bad argument #1 to 'wrap' %(function expected, got number%)")
    assert.error_matches(function() cffi.wrap(print, 42) end,
      "bad argument #2 to 'wrap' %(signature string expected, got number%)")
    assert.error_matches(function() cffi.wrap(print, "int(int,", "C") end,
      "bad argument #2 to 'wrap' %(.*col 9")
    assert.error_matches(function() cffi.wrap(print, "int(intt)") end, "bad argument #2 to 'wrap'")
    assert.error_matches(function() cffi.wrap(print, "int(void)", "pascal") end,
      "bad argument #3 to 'wrap' %(.*pascal.*cdecl")
    assert.error_matches(function() cffi.wrap(print, "int(void)", 1) end,
      "bad argument #3 to 'wrap' %(convention name expected, got number%)")
    -- __stdcall in the text names the native convention; the argument names another one.
    local other = cffi.conventions().C == "win64" and "sysv64" or "win64"
    assert.error_matches(function() cffi.wrap(print, "int __stdcall(void)", other) end,
      "bad argument #3 to 'wrap'")
    assert.error_matches(function() cffi.wrap(print, "void(int, void)") end, "bad argument #2")
  end)

  it("takes up to 127 parameters", function()
    local sig = "int(" .. string.rep("int, ", 126) .. "int)"
    local cb = cffi.wrap(function(...) return select("#", ...) end, sig)
    local args = {}
    for i = 1, 127 do args[i] = i end
    assert.equal(127, cb(table.unpack(args)))
    assert.has_error(function() cffi.wrap(print, "int(" .. string.rep("int, ", 127) .. "int)") end)
  end)
end)
