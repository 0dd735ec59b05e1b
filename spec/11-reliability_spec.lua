-- 11-reliability: hostile but legal use from Lua: reloading the module, string results of nested
-- calls, on_error at a C stack overflow, NUL bytes inside texts, library handles dropped while
-- their addresses are in use, signature texts made without end, the conventions table.
-- (lua_close and out-of-memory hosts are C tests: spec/c/hardening/test_lua_host.c.)
local cffi = require "cffi"
local util = require "support.util"

local helper_path = os.getenv("CFFI_SPEC_HELPER")
  or package.searchpath("cffi_spec_helper", package.cpath)

describe("reliability", function()
  it("keeps everything made before a reload working, and both module tables", function()
    local c1 = require "cffi"
    local cb = c1.wrap(function(a, b) return a + b end, "int(int,int)")
    local view = c1.cast(c1.sym("abs"), "int(int)")
    local buf = c1.alloc(8)
    c1.write(buf, "int32_t", 77)
    local freed = c1.wrap(function() end, "void(void)")
    freed:free()
    package.loaded.cffi = nil
    local c2 = require "cffi"
    package.loaded.cffi = c1
    assert.are_not.equal(c1, c2)
    -- Everything the first table made is garbage to a collector that could free the first
    -- module state with its caches; make more garbage in between.
    for i = 1, 2000 do c2.cast(c2.sym("abs"), ("int(int x%d)"):format(i)) end
    collectgarbage(); collectgarbage()
    assert.equal(5, cb(2, 3))
    assert.equal(7, view(-7))
    assert.equal(77, c2.read(buf, "int32_t"))
    assert.equal("callback", c2.type(cb))
    assert.equal("freed callback", c2.type(freed))
    assert.equal("function", c1.type(c2.cast(c2.sym("abs"), "int(int)")))
    local add = util.helper("helper_call_ii", "int(void*,int,int)")
    assert.equal(9, add(c2.wrap(function(a, b) return a * b end, "int(int,int)"), 3, 3))
    assert.equal(11, c1.call(cb, "int(int,int)", nil, 5, 6))
    cb:free()
    assert.equal("freed callback", c1.type(cb))
  end)

  it("keeps a nested call's string result valid until the callback's next call", function()
    local call_str = util.helper("helper_call_str", "void*(void*,int)")
    local function text(what, n)
      return table.concat { what, " result ", tostring(n), " ", ("z"):rep(64) } -- not interned
    end
    local inner_ptr
    local cb
    cb = cffi.wrap(function(n)
      if n > 0 then
        inner_ptr = call_str(cb, 0) -- the native caller keeps the inner call's pointer
        return text("outer", n)
      end
      return text("inner", n)
    end, "const char*(int)")
    local outer_ptr = call_str(cb, 1)
    -- Strings of the same size take what the collector frees.
    for _ = 1, 3 do
      collectgarbage()
      local junk = {}
      for i = 1, 1000 do junk[i] = text("junk!", i) end
    end
    assert.equal(text("inner", 0), cffi.string(inner_ptr))
    assert.equal(text("outer", 1), cffi.string(outer_ptr))
  end)

  it("runs on_error for a C stack overflow and reports that error itself without one", function()
    local seen, calls = nil, 0
    local cb
    cb = cffi.wrap(function(n) return cb(n + 1) + 1 end, "int(int)", nil, {
      on_error = function(msg) seen, calls = msg, calls + 1; return -1000000 end,
      default = -1000000,
    })
    local r = cb(1)
    assert.equal(1, calls)
    assert.matches("C stack overflow", seen)
    assert.is_true(r > -1000000 and r < -1000000 + 1000, "result " .. r)

    local out = util.child [[
      local cffi = require "cffi"
      local cb
      cb = cffi.wrap(function(n) return cb(n + 1) + 1 end, "int(int)", nil, { default = -1000000 })
      print("result", cb(1) < 0)
    ]]
    assert.matches("cffi: [^\n]*C stack overflow\nstack traceback:", out)
    assert.not_matches("on_error", out)
    assert.matches("result%s+true", out)
  end)

  it("refuses NUL bytes inside every text, naming the column", function()
    local f = function() return 0 end
    local buf = cffi.alloc(8)
    local abs = cffi.sym("abs")
    local cases = {
      { function() cffi.wrap(f, "int(int)\0junk") end, "signature \"int%(int%)\\0%.%.%.\": col 9: NUL" },
      { function() cffi.wrap(f, "int(int)", "c\0junk") end, "calling convention \"c\\0%.%.%.\": col 2: NUL" },
      { function() cffi.cast(abs, "int\0(int)") end, "signature \"int\\0%.%.%.\": col 4: NUL" },
      { function() cffi.call(abs, "int(int)\0", nil, 1) end, "col 9: NUL" },
      { function() cffi.sizeof("int\0junk") end, "type name \"int\\0%.%.%.\": col 4: NUL" },
      { function() cffi.read(buf, "double\0junk") end, "col 7: NUL" },
      { function() cffi.write(buf, "int\0", 1) end, "col 4: NUL" },
      { function() cffi.sym("abs\0junk") end, "symbol name \"abs\\0%.%.%.\": col 4: NUL" },
      { function() cffi.load("libc.so.6\0junk") end, "library path \"libc%.so%.6\\0%.%.%.\": col 10: NUL" },
    }
    for i, case in ipairs(cases) do
      local ok, err = pcall(case[1])
      assert.is_false(ok, "case " .. i .. " accepted")
      assert.matches(case[2], err, 1, false, "case " .. i)
    end
    -- The same texts without the junk still work.
    assert.equal(4, cffi.sizeof("int"))
    assert.equal(3, cffi.cast(abs, "int(int)")(-3))
  end)

  it("never unloads a library behind addresses still in use when its handle is collected", function()
    local out, ok = util.child(([[
      local cffi = require "cffi"
      local f = cffi.cast(cffi.load(%q):sym("helper_call_ii"), "int(void*,int,int)")
      collectgarbage(); collectgarbage()
      local add = cffi.wrap(function(a, b) return a + b end, "int(int,int)")
      print("result", f(add, 2, 3))
      local lib = cffi.load(%q)
      lib:close()
      print("closed", pcall(lib.sym, lib, "helper_call_ii"))
    ]]):format(helper_path, helper_path))
    assert.is_true(ok, out)
    assert.matches("result%s+5\n", out)
    assert.matches("closed%s+false%s+[^\n]*closed cffi.library", out)
  end)

  it("keeps memory flat when scripts make signature texts without end", function()
    local abs = cffi.sym("abs")
    local function churn(from, n)
      for i = from, from + n - 1 do
        local view = cffi.cast(abs, ("int(int x%d)"):format(i))
        assert(view(-i) == i)
        if i % 4 == 0 then
          cffi.wrap(function(a) return a end, ("int(int y%d)"):format(i)):free()
          cffi.call(abs, ("int(int z%d)"):format(i), "C", 1)
          cffi.sizeof(("int%s"):format((" "):rep(i % 50)))
        end
      end
      collectgarbage(); collectgarbage()
    end
    churn(0, 20000) -- the caches at their bound
    local before = util.rss_kb()
    churn(20000, 60000)
    local after = util.rss_kb()
    -- Unbounded, this costs about 15 MiB (over 200 bytes a text).
    assert.is_true(after - before < 4096, ("grew %d KiB"):format(after - before))
  end)

  it("keeps a live callback's signature when the signature caches start afresh", function()
    -- The text is built at run time, so that nothing but the callback holds its string.
    local cb = cffi.wrap(function(a, b) return a * b end, ("int(int, int %s)"):format("b"))
    local function churn(from, n)
      for i = from, from + n - 1 do cffi.call(cffi.sym("abs"), ("int(int w%d)"):format(i), "C", i) end
      collectgarbage(); collectgarbage()
    end
    churn(0, 10000) -- past the caches' bound: they start afresh, unused pins go
    assert.equal(42, cb(6, 7)) -- a call from Lua reads the parsed signature
    assert.equal(20, cffi.call(cb, "int(int, int)", "C", 4, 5))
    assert.equal("int(int, int)", cb:signature())
    assert.matches("^cffi.callback<int%(int, int%) ", tostring(cb))
    cb:free()
    churn(10000, 10000)
    assert.equal("int(int, int)", cb:signature()) -- kept in the callback itself
    assert.matches("%(freed%)$", tostring(cb))
    -- Parsed again after all that, the same text makes a working callback.
    local again = cffi.wrap(function(a, b) return a - b end, ("int(int, int %s)"):format("b"))
    assert.equal(1, again(7, 6))
    again:free()
  end)

  it("looks convention names up in cffi.conventions() whatever their case", function()
    local conv = cffi.conventions()
    assert.is_not_nil(conv.c)
    assert.equal(conv.c, conv.C)
    for name, canonical in pairs(conv) do
      assert.equal(canonical, conv[name:upper()])
    end
    assert.is_nil(conv.NoSuchConvention)
    assert.is_nil(conv[1])
  end)
end)
