-- 08-memory: cffi.alloc buffers, cffi.read/write/string with bounds checked on buffers, and
-- cffi.load / lib:sym.
local cffi = require "cffi"
local util = require "support.util"

describe("memory", function()
  it("allocates zeroed buffers that act as pointers", function()
    local buf = cffi.alloc(64)
    assert.equal(64, #buf)
    assert.equal("buffer", cffi.type(buf))
    assert.equal("integer", math.type(buf:addr()))
    assert.equal(buf:addr(), util.pointer_value(buf:ptr()))
    assert.matches("^cffi%.buffer<64>: 0x%x+$", tostring(buf))
    for off = 0, 63 do assert.equal(0, cffi.read(buf, "uint8_t", off)) end
    local memset = cffi.cast(cffi.sym("memset"), "void *(void *, int, size_t)")
    assert.equal(buf:addr(), memset(buf, 0xAB, 64))
    assert.equal(0xABABABAB, cffi.read(buf, "uint32_t", 60))
    assert.equal(0, #cffi.alloc(0))
    assert.error_matches(function() cffi.alloc(-1) end, "bad argument #1 to 'alloc'")
    assert.error_matches(function() cffi.alloc("x") end, "bad argument #1 to 'alloc'")
  end)

  it("reads and writes every scalar type", function()
    local buf = cffi.alloc(16)
    local cases = {
      { "int8_t", -128 }, { "uint8_t", 255 }, { "int16_t", -32768 }, { "uint16_t", 65535 },
      { "int", -5 }, { "unsigned int", 4294967295 }, { "int64_t", math.mininteger },
      { "uint64_t", -1 }, { "float", 0.5 }, { "double", 1e300 }, { "bool", true },
      { "bool", false }, { "void *", 0x1234 }, { "size_t", 99 }, { "char", 65 },
    }
    for _, c in ipairs(cases) do
      cffi.write(buf, c[1], c[2], 3) -- unaligned on purpose
      assert.equal(c[2], cffi.read(buf, c[1], 3), c[1])
    end
    cffi.write(buf, "int", 300)
    assert.equal(44, cffi.read(buf, "uint8_t"))
    -- raw addresses work too
    cffi.write(buf:addr() + 8, "int32_t", 7)
    assert.equal(7, cffi.read(buf:ptr(), "int32_t", 8))
  end)

  it("checks bounds on buffers and types and values everywhere", function()
    local buf = cffi.alloc(8)
    assert.error_matches(function() cffi.read(buf, "int64_t", 1) end,
      "bad argument #3 to 'read' %(out of bounds: 8 bytes at offset 1 of a 8%-byte buffer%)")
    assert.error_matches(function() cffi.read(buf, "int", -1) end, "out of bounds")
    assert.error_matches(function() cffi.write(buf, "int", 1, 5) end,
      "bad argument #4 to 'write' %(out of bounds")
    assert.error_matches(function() cffi.read(buf, "nonsense") end,
      "bad argument #2 to 'read' %(unknown type 'nonsense'")
    assert.error_matches(function() cffi.read(buf, "void") end, "scalar type expected")
    assert.error_matches(function() cffi.write(buf, "int", "1") end,
      "bad argument #3 to 'write' %(int32_t expected, got string%)")
    assert.error_matches(function() cffi.write(buf, "bool", 1) end, "bool expected")
    assert.error_matches(function() cffi.write(buf, "const char *", "s") end, "pointer expected")
    assert.error_matches(function() cffi.read(nil, "int") end, "bad argument #1 to 'read'")
    assert.error_matches(function() cffi.read(0, "int") end, "non%-NULL pointer expected")
    assert.error_matches(function() cffi.read({}, "int") end, "pointer expected, got table")
    assert.equal(0, cffi.read(buf, "int64_t", 0))
  end)

  it("makes strings from C strings and byte ranges", function()
    local strdup = cffi.cast(cffi.sym(util.windows and "_strdup" or "strdup"), "void *(const char *)")
    local free = cffi.cast(cffi.sym("free"), "void(void *)")
    local p = strdup("hello\0world")
    assert.equal("hello", cffi.string(p))
    assert.equal("hel", cffi.string(p, 3))
    free(p)
    local buf = cffi.alloc(4)
    cffi.write(buf, "uint32_t", 0x64636261) -- "abcd", no terminator
    assert.equal("abcd", cffi.string(buf))
    assert.equal("ab", cffi.string(buf, 2))
    assert.equal("", cffi.string(buf, 0))
    assert.error_matches(function() cffi.string(buf, 5) end, "bad argument #2 to 'string' %(out of bounds")
    assert.error_matches(function() cffi.string(buf, -1) end, "bad argument #2 to 'string'")
    assert.error_matches(function() cffi.string(0) end, "non%-NULL pointer expected")
    -- a const char * read from memory is a string
    local s = "pointed at"
    local holder = cffi.alloc(8)
    cffi.write(holder, "void *", cffi.call(cffi.sym("strchr"), "void *(const char *, int)", nil, s, 112))
    assert.equal("pointed at", cffi.read(holder, "const char *"))
  end)

  it("loads libraries and finds their symbols", function()
    local libm = cffi.load(util.windows and "msvcrt.dll" or "libm.so.6")
    assert.equal("library", cffi.type(libm))
    local cos = assert(libm:sym("cos"))
    assert.equal(1.0, cffi.cast(cos, "double(double)")(0))
    local none, msg = libm:sym("no_such_symbol_in_libm")
    assert.is_nil(none)
    assert.matches("no_such_symbol_in_libm", msg)
    assert.matches("^cffi%.library: 0x", tostring(libm))
    libm:close()
    libm:close()
    assert.equal("cffi.library (closed)", tostring(libm))
    assert.error_matches(function() libm:sym("cos") end, "closed")
    local bad, err = cffi.load(util.windows and "Z:/nonexistent/libnothing.dll" or "/nonexistent/libnothing.so")
    assert.is_nil(bad)
    assert.matches("libnothing", err)
    assert.error_matches(function() cffi.load() end, "bad argument #1 to 'load'")
  end)
end)
