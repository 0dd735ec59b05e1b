-- 06-errors: what happens when a callback's function raises, returns what does not convert, runs
-- twice under once, or yields: on_error, defaults, stderr reports (read from child
-- interpreters), and errno kept across the call.
local cffi = require "cffi"
local util = require "support.util"

describe("callback errors", function()
  it("reports to stderr with a traceback and returns the default", function()
    local out = util.child [[
      local cffi = require "cffi"
      local cb = cffi.wrap(function() error("boom") end, "int(void)", nil, { default = 5 })
      print("result", cb())
      local cb2 = cffi.wrap(function() error("plain") end, "double(void)")
      print("result2", cb2())
    ]]
    assert.matches("cffi: [^\n]*: boom\nstack traceback:\n", out)
    assert.matches("result%s+5\n", out)
    assert.matches("result2%s+0%.0\n", out)
  end)

  it("hands the message to on_error, whose result is converted", function()
    local seen, seen_tb
    local cb = cffi.wrap(function() error("oops") end, "int(void)", nil, {
      on_error = function(msg, tb) seen, seen_tb = msg, tb; return 42 end,
    })
    assert.equal(42, cb())
    assert.matches("oops$", seen)
    assert.matches("^stack traceback:", seen_tb)
  end)

  it("gives on_error non-string error objects as text", function()
    local seen
    local obj = setmetatable({}, { __tostring = function() return "custom error" end })
    local cb = cffi.wrap(function() error(obj) end, "int(void)", nil,
      { on_error = function(msg) seen = msg; return 1 end })
    assert.equal(1, cb())
    assert.equal("custom error", seen)
    cb:set(function() error({}) end)
    assert.equal(1, cb())
    assert.matches("error object is a table value", seen)
  end)

  it("takes a result that does not convert to the error path", function()
    local seen
    local cb = cffi.wrap(function() return "nope" end, "int(void)", nil,
      { on_error = function(msg) seen = msg; return -1 end, default = 3 })
    assert.equal(-1, cb())
    assert.equal("bad result (int expected, got string)", seen)
    cb:set(function() return 1.5 end)
    assert.equal(-1, cb())
    cb:set(function() end)
    assert.equal(-1, cb())
    assert.equal("bad result (int expected, got nil)", seen)
    local b = cffi.wrap(function() return 1 end, "bool(void)", nil, { on_error = function(m) seen = m; return true end })
    assert.is_true(b())
    assert.matches("bool expected, got number", seen)
  end)

  it("falls back to the default when on_error fails too", function()
    local out = util.child [[
      local cffi = require "cffi"
      local cb = cffi.wrap(function() error("first") end, "int(void)", nil,
        { default = 9, on_error = function() error("second") end })
      print("result", cb())
      local cb2 = cffi.wrap(function() error("first") end, "int(void)", nil,
        { default = 8, on_error = function() return "not an int" end })
      print("result2", cb2())
    ]]
    assert.matches("cffi: error in on_error: [^\n]*second", out)
    assert.matches("result%s+9\n", out)
    assert.matches("on_error returned a bad result %(int expected, got string%)", out)
    assert.matches("result2%s+8\n", out)
  end)

  it("runs a once callback once", function()
    local n, seen = 0, nil
    local cb = cffi.wrap(function() n = n + 1; return 10 end, "int(void)", nil,
      { once = true, default = -1, on_error = function(msg) seen = msg; return -2 end })
    assert.equal(10, cb())
    assert.equal(-2, cb())
    assert.equal("called more than once", seen)
    assert.equal(1, n)
    local out = util.child [[
      local cffi = require "cffi"
      local cb = cffi.wrap(function() return 10 end, "int(void)", nil, { once = true, default = -1 })
      print("first", cb())
      print("second", cb())
    ]]
    assert.matches("first%s+10\n", out)
    assert.matches("cffi: called more than once", out)
    assert.matches("second%s+%-1\n", out)
  end)

  it("turns a yield inside a callback into an error, not a crash", function()
    local seen
    local cb = cffi.wrap(function() coroutine.yield(1) return 5 end, "int(void)", nil,
      { on_error = function(msg) seen = msg; return 7 end })
    assert.equal(7, cb())
    assert.matches("yield", seen)
    local co = coroutine.wrap(function() return cb() end)
    assert.equal(7, co())
    assert.matches("yield", seen)
  end)

  it("never lets an error unwind through native frames", function()
    -- qsort with a comparator that raises: qsort must run to the end, and the caller gets control
    local buf = cffi.alloc(4 * 64)
    for i = 0, 63 do cffi.write(buf, "int", 64 - i, 4 * i) end
    local calls = 0
    local cmp = cffi.wrap(function() calls = calls + 1; error("no") end,
      "int(const void *, const void *)", nil, { on_error = function() return 0 end })
    cffi.call(cffi.sym("qsort"), "void(void *, size_t, size_t, void *)", nil, buf, 64, 4, cmp)
    assert.is_true(calls > 0)
  end)

  it("keeps errno as native code left it", function()
    local cb = cffi.wrap(function()
      io.open("/nonexistent/cffi/path") -- sets errno inside
      error("and fails") -- and takes the error path
    end, "void(void)", nil, { on_error = function() end })
    local across = util.helper("helper_errno_across", "int(void *, int)")
    assert.equal(4321, across(cb, 4321))
    local ok = cffi.wrap(function() io.open("/nonexistent/cffi/path") end, "void(void)")
    assert.equal(77, across(ok, 77))
  end)
end)
