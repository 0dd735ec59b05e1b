-- 01-module: loading the module and the functions that belong to no userdata.
local cffi = require "cffi"

describe("module", function()
  it("loads and exposes the whole API", function()
    for _, name in ipairs { "wrap", "cast", "call", "sym", "load", "alloc", "read", "write",
                            "string", "sizeof", "conventions", "type" } do
      assert.is_function(cffi[name], name)
    end
  end)

  it("is the same table on a second require", function()
    assert.equal(cffi, require "cffi")
  end)

  it("keeps no module global", function()
    assert.is_nil(rawget(_G, "cffi"))
  end)

  it("lists conventions with their canonical names", function()
    local conv = cffi.conventions()
    assert.is_table(conv)
    assert.is_string(conv.c)
    assert.equal(conv.c, conv.cdecl)
    for name, canonical in pairs(conv) do
      assert.is_string(name)
      assert.is_string(canonical)
      -- every listed name is accepted by wrap and maps to its canonical name
      local cb = cffi.wrap(function() end, "void(void)", name)
      assert.equal(canonical, cb:convention())
      cb:free()
    end
  end)

  it("finds process symbols and reports absent ones", function()
    local addr = cffi.sym("strlen")
    assert.is_number(addr)
    assert.is_true(math.type(addr) == "integer" and addr ~= 0)
    local none, msg = cffi.sym("cffi_no_such_symbol_anywhere")
    assert.is_nil(none)
    assert.matches("cffi_no_such_symbol_anywhere", msg)
    assert.has_error(function() cffi.sym(nil) end)
  end)

  it("tells its userdata apart with cffi.type", function()
    local cb = cffi.wrap(function() end, "void(void)")
    assert.equal("callback", cffi.type(cb))
    assert.equal("function", cffi.type(cffi.cast(cb, "void(void)")))
    assert.equal("buffer", cffi.type(cffi.alloc(4)))
    cb:free()
    assert.equal("freed callback", cffi.type(cb))
    for _, v in ipairs { 1, "x", {}, print, io.stdout, true } do
      assert.is_nil(cffi.type(v))
    end
    assert.has_error(function() cffi.type() end)
  end)

  it("knows the size of every scalar type", function()
    local sizes = {
      bool = 1, char = 1, ["signed char"] = 1, ["unsigned char"] = 1, short = 2,
      ["unsigned short"] = 2, int = 4, unsigned = 4, ["unsigned int"] = 4, ["long long"] = 8,
      ["unsigned long long"] = 8, int8_t = 1, uint8_t = 1, int16_t = 2, uint16_t = 2,
      int32_t = 4, uint32_t = 4, int64_t = 8, uint64_t = 8, float = 4, double = 8,
      ["void *"] = string.packsize("T"), ["const char *"] = string.packsize("T"),
      size_t = string.packsize("T"), intptr_t = string.packsize("T"),
      long = string.packsize("l"), ["unsigned long"] = string.packsize("L"),
    }
    for name, size in pairs(sizes) do
      assert.equal(size, cffi.sizeof(name), name)
    end
    assert.error_matches(function() cffi.sizeof("void") end, "sizeof")
    assert.error_matches(function() cffi.sizeof("struct nope") end, "sizeof")
    assert.error_matches(function() cffi.sizeof(4) end, "type name expected")
  end)
end)
