-- 13-variadic: calls of variadic C functions from Lua: the fixed part from the signature, each
-- extra argument typed by its Lua value (integers as int or long long, floats as double, strings
-- as const char *, booleans as int, nil and userdata as pointers), and what is refused.
local cffi = require "cffi"
local util = require "support.util"

-- On Windows the C runtime's (ntdll, first in the process, has a sprintf without floating point).
local sprintf = assert(util.windows and assert(cffi.load("msvcrt.dll")):sym("sprintf")
  or cffi.sym("sprintf"))

describe("variadic calls", function()
  it("calls sprintf with extra arguments of every kind", function()
    local buf = cffi.alloc(256)
    local n = cffi.call(sprintf, "int(char *, const char *, ...)", "C", buf,
      "%d|%s|%.2f|%x|%d|%d", -42, "text", 2.5, 0xbeef, true, 7)
    assert.equal("-42|text|2.50|beef|1|7", cffi.string(buf))
    assert.equal(#"-42|text|2.50|beef|1|7", n)
    -- more floating arguments than there are registers for them, and a view
    local f = cffi.cast(sprintf, "int(char *, const char *, ...)")
    f(buf, "%g %g %g %g %g %g %g %g %g %g %d", 1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5, 8.5, 9.5, 10.5, 11)
    assert.equal("1.5 2.5 3.5 4.5 5.5 6.5 7.5 8.5 9.5 10.5 11", cffi.string(buf))
    -- the fixed part alone
    f(buf, "plain")
    assert.equal("plain", cffi.string(buf))
  end)

  it("names what is wrong", function()
    local f = cffi.cast(sprintf, "int(char *, const char *, ...)")
    assert.error_matches(function() f(cffi.alloc(8)) end,
      "wrong number of arguments to 'cffi.function' (at least 2 expected", 1, true)
    assert.error_matches(function() f(cffi.alloc(8), "%d", {}) end,
      "bad argument #3 to 'cffi.function' (number, boolean, string, nil or pointer (a variadic "
      .. "argument) expected, got table)", 1, true)
    assert.error_matches(function() cffi.wrap(print, "int(const char *, ...)") end,
      "a variadic signature cannot be a callback")
  end)
end)
