-- 10-disasm: cb:disasm() lists the machine code behind a callback's bare pointer.
local cffi = require "cffi"

describe("cb:disasm()", function()
  it("lists the callback's instructions, one address-prefixed line each, up to its jump", function()
    local cb = cffi.wrap(function(a, b) return a + b end, "int(int, int)")
    local ok, text = pcall(cb.disasm, cb)
    if not ok then
      -- builds without a disassembler say so clearly
      assert.matches("no disassembler", text)
      cb:free()
      return
    end
    assert.is_string(text)
    -- the thunk ends in its jump to the entry stub: jmp on x86, br on AArch64, a load of pc on
    -- 32-bit ARM
    assert.is_truthy(text:match("jmp") or text:match("\nbr ") or text:match(": br ")
      or text:match(": ldr pc, "), text)
    local first = text:match("^(0x%x+):")
    assert.is_not_nil(first)
    assert.equal(cb:addr(), tonumber(first:sub(3), 16))
    for line in text:gmatch("[^\n]+") do
      assert.matches("^0x%x+: %a", line)
    end
    assert.equal(3, cb(1, 2)) -- listing does not disturb the code
    cb:free()
  end)

  it("refuses a freed callback", function()
    local cb = cffi.wrap(function() end, "void(void)")
    cb:free()
    assert.has_error(function() cb:disasm() end)
  end)
end)
