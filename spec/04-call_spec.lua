-- 04-call: outgoing calls (cffi.call, cffi.cast views, cb(...)) and real native callers of Lua
-- callbacks: libc's qsort, bsearch, nftw, tsearch/twalk, a 37-parameter mixed caller, and
-- callbacks re-entered from inside calls.
local cffi = require "cffi"
local util = require "support.util"

-- an int array in a cffi buffer
local function int_array(values)
  local buf = cffi.alloc(4 * #values)
  for i, v in ipairs(values) do cffi.write(buf, "int", v, 4 * (i - 1)) end
  return buf
end

local function read_ints(buf, n)
  local t = {}
  for i = 1, n do t[i] = cffi.read(buf, "int", 4 * (i - 1)) end
  return t
end

local function int_cmp(a, b)
  local x, y = cffi.read(a, "int"), cffi.read(b, "int")
  return x < y and -1 or (x > y and 1 or 0)
end

describe("calls", function()
  it("calls any address with cffi.call", function()
    local strlen = assert(cffi.sym("strlen"))
    assert.equal(3, cffi.call(strlen, "size_t(const char *)", "C", "abc"))
    assert.equal(3, cffi.call(strlen, "size_t(const char *)", nil, "abc"))
    local abs = assert(cffi.sym("abs"))
    assert.equal(7, cffi.call(abs, "int(int)", "cdecl", -7))
    local getpid = assert(cffi.sym(util.windows and "_getpid" or "getpid"))
    assert.is_true(cffi.call(getpid, "int(void)") > 0)
  end)

  it("makes callable views with cffi.cast", function()
    local f = cffi.cast(cffi.sym("floor"), "double(double)")
    assert.equal(2.0, f(2.5))
    assert.equal(cffi.sym("floor"), f:addr())
    assert.equal("double(double)", f:signature())
    assert.matches("^cffi%.function<double%(double%) [%w_]+>: 0x%x+$", tostring(f))
    assert.equal("function", cffi.type(f))
    -- a view of a callback calls the callback
    local cb = cffi.wrap(function(x) return x * 3 end, "double(double)")
    assert.equal(7.5, cffi.cast(cb, "double(double)")(2.5))
  end)

  it("checks the argument count and types, naming the argument", function()
    local abs = cffi.cast(cffi.sym("abs"), "int(int)")
    assert.error_matches(function() abs() end, "wrong number of arguments to 'cffi.function' %(1 expected")
    assert.error_matches(function() abs(1, 2) end, "got 2")
    assert.error_matches(function() cffi.call(cffi.sym("abs"), "int(int)", nil, "x") end,
      "bad argument #4 to 'call' %(int expected, got string%)")
    assert.error_matches(function() cffi.call(cffi.sym("abs"), "int(int)", nil) end,
      "wrong number of arguments to 'call'")
    local cb = cffi.wrap(function() return 0 end, "int(int, double)")
    assert.error_matches(function() cb(1, "x") end,
      "bad argument #2 to 'cffi.callback' %(double expected, got string%)")
    assert.error_matches(function() cffi.call(nil, "int(void)") end,
      "bad argument #1 to 'call' %(pointer expected, got nil%)")
    assert.error_matches(function() cffi.call(0, "int(void)") end,
      "bad argument #1 to 'call' %(non%-NULL function pointer expected")
    assert.error_matches(function() cffi.cast("abs", "int(int)") end,
      "bad argument #1 to 'cast' %(pointer expected, got string%)")
    assert.error_matches(function() cffi.cast(1, "int(int") end, "bad argument #2 to 'cast'.*col")
  end)

  it("sorts with libc qsort and a Lua comparator", function()
    local values = { 42, -7, 19, 0, 3, 3, 100, -50, 8 }
    local buf = int_array(values)
    local cmp = cffi.wrap(int_cmp, "int(const void *, const void *)")
    cffi.call(cffi.sym("qsort"), "void(void *, size_t, size_t, void *)", nil, buf, #values, 4, cmp)
    table.sort(values)
    assert.same(values, read_ints(buf, #values))
  end)

  it("searches with libc bsearch", function()
    local buf = int_array { 1, 3, 5, 7, 9, 11 }
    local cmp = cffi.wrap(int_cmp, "int(const void *, const void *)")
    local bsearch = cffi.cast(cffi.sym("bsearch"),
      "void *(const void *, const void *, size_t, size_t, void *)")
    local key = int_array { 7 }
    assert.equal(buf:addr() + 12, bsearch(key, buf, 6, 4, cmp))
    assert.equal(0, bsearch(int_array { 4 }, buf, 6, 4, cmp))
  end)

  it("walks a directory with nftw", function()
    if util.windows then pending("nftw is POSIX: Windows' C runtime has none") return end
    local dir = os.tmpname()
    os.remove(dir)
    assert(os.execute(string.format("mkdir -p %q/a/b && touch %q/x %q/a/y %q/a/b/z", dir, dir, dir, dir)))
    local seen = {}
    local visit = cffi.wrap(function(path, _, typeflag, _)
      seen[#seen + 1] = path:sub(#dir + 1) .. (typeflag == 1 and "/" or "")
      return 0
    end, "int(const char *, const void *, int, void *)")
    local rc = cffi.call(cffi.sym("nftw"), "int(const char *, void *, int, int)", nil, dir, visit, 8, 0)
    os.execute(string.format("rm -rf %q", dir))
    assert.equal(0, rc)
    table.sort(seen)
    assert.same({ "/", "/a/", "/a/b/", "/a/b/z", "/a/y", "/x" }, seen)
  end)

  it("builds and walks a tree with tsearch and twalk", function()
    if util.windows then pending("tsearch/twalk are POSIX: Windows' C runtime has none") return end
    local keys = int_array { 50, 20, 80, 10, 30, 70, 90 }
    local root = cffi.alloc(8)
    local cmp = cffi.wrap(int_cmp, "int(const void *, const void *)")
    local tsearch = cffi.cast(cffi.sym("tsearch"), "void *(const void *, void *, void *)")
    for i = 0, 6 do assert.is_true(tsearch(keys:addr() + 4 * i, root, cmp) ~= 0) end
    local inorder = {}
    local action = cffi.wrap(function(node, which, depth)
      assert.equal("integer", math.type(depth))
      if which == 1 or which == 3 then -- postorder or leaf: in-order position
        inorder[#inorder + 1] = cffi.read(cffi.read(node, "void *"), "int")
      end
    end, "void(const void *, int, int)")
    cffi.call(cffi.sym("twalk"), "void(const void *, void *)", nil, cffi.read(root, "void *"), action)
    assert.same({ 10, 20, 30, 50, 70, 80, 90 }, inorder)
  end)

  describe("with 37 mixed int and floating parameters", function()
    local types = {}
    local pattern = { "int", "double", "int64_t", "float", "int8_t", "double", "uint16_t",
                      "double", "int", "float", "uint32_t", "double" }
    for i = 1, 36 do types[i] = pattern[(i - 1) % #pattern + 1] end
    local sig = "double(" .. table.concat(types, ", ") .. ", int)"
    local values = {}
    for k = 0, 35 do
      local t = types[k + 1]
      if t == "double" or t == "float" then values[k + 1] = k + 1.5
      elseif t:match("^u") then values[k + 1] = (k + 1) * 1000
      else values[k + 1] = (k % 2 == 1) and -(k + 1) or (k + 1) end
    end
    values[37] = 7
    local expected = 0.0
    for k = 1, 36 do expected = expected + values[k] * k end
    expected = expected + 700

    it("calls a compiled function", function()
      local f = util.helper("helper_mixed36", sig)
      assert.equal(expected, f(table.unpack(values, 1, 37)))
    end)

    it("is called by compiled code", function()
      local got
      local cb = cffi.wrap(function(...)
        got = table.pack(...)
        local sum = 0.0
        for k = 1, 36 do sum = sum + got[k] * k end
        return sum + got[37] * 100
      end, sig)
      assert.equal(expected, util.helper("helper_call_mixed36", "double(void *)")(cb))
      assert.equal(37, got.n)
      for k = 1, 37 do assert.equal(values[k], got[k], "argument " .. k) end
      -- and Lua -> callback -> Lua
      assert.equal(expected, cb(table.unpack(values, 1, 37)))
    end)
  end)

  it("re-enters callbacks from inside calls", function()
    local call_ii = util.helper("helper_call_ii", "int(void *, int, int)")
    local inner = cffi.wrap(function(a, b) return a * b end, "int(int, int)")
    local outer = cffi.wrap(function(a, b)
      return call_ii(inner, a, b) + inner(a, 1) -- native -> Lua -> native -> Lua
    end, "int(int, int)")
    assert.equal(6 * 7 + 6, call_ii(outer, 6, 7))
    assert.equal(6 * 7 + 6, outer(6, 7))
  end)

  it("recurses through its own pointer", function()
    local fact
    fact = cffi.wrap(function(n)
      if n <= 1 then return 1 end
      return n * cffi.call(fact, "int64_t(int)", nil, n - 1)
    end, "int64_t(int)")
    assert.equal(2432902008176640000, fact(20))
    -- deep: 150 nested native frames
    local deep
    deep = cffi.wrap(function(n) if n == 0 then return 0 end return 1 + deep(n - 1) end, "int(int)")
    assert.equal(150, deep(150))
  end)

  it("calls native code many times through a callback", function()
    local n = 0
    local cb = cffi.wrap(function(i) n = n + 1; return i % 7 end, "int(int)")
    local expected = 0
    for i = 0, 99999 do expected = expected + i % 7 end
    assert.equal(expected, util.helper("helper_call_n", "int(void *, int)")(cb, 100000))
    assert.equal(100000, n)
  end)
end)
