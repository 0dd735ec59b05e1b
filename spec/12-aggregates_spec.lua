-- 12-aggregates: structs and unions by value in Lua: cffi.cdef, sizeof/alignof/offsetof, struct
-- arguments and results in calls of compiled functions and in callbacks called by compiled code,
-- cffi.read/cffi.write of whole structs, and the errors that name the missing or wrong field.
local cffi = require "cffi"
local util = require "support.util"

-- Aggregates travel on x86 (sysv64, win64 and the i386 conventions); elsewhere they are refused.
local somewhere = assert(cffi.sym("abs")) -- any address: views below are made, never called
local carried = pcall(cffi.cast, somewhere, "void(struct { int a; })")

cffi.cdef [[
  typedef struct { float x, y, z; } Vec3;
  struct Rect { int x, y, w, h; };
  typedef struct { unsigned char r, g, b, a; } Color;
  typedef struct { Vec3 pos; Color tint; double weight; int ids[3]; } Entity;
  #pragma pack(push, 1)
  typedef struct { char tag; int value; } Packed;
  #pragma pack(pop)
  typedef union { int i; float f; unsigned char bytes[4]; } Bits;
]]

describe("aggregates", function()
  it("declares types with cdef and measures them", function()
    assert.equal(12, cffi.sizeof("Vec3"))
    assert.equal(4, cffi.alignof("Vec3"))
    assert.equal(16, cffi.sizeof("struct Rect"))
    assert.equal(5, cffi.sizeof("Packed"))
    assert.equal(1, cffi.alignof("Packed"))
    assert.equal(1, cffi.offsetof("Packed", "value"))
    assert.equal(4, cffi.sizeof("Bits"))
    assert.equal(12, cffi.offsetof("Entity", "tint"))
    assert.equal(4, cffi.offsetof("Entity", "pos.y"))
    assert.equal(cffi.offsetof("Entity", "ids") + 8, cffi.offsetof("Entity", "ids[2]"))
    -- the same name again with the same meaning is fine, another meaning is not
    cffi.cdef "typedef struct { float x, y, z; } Vec3;"
    local ok, err = pcall(cffi.cdef, "typedef struct { double x; } Vec3;")
    assert.is_false(ok)
    assert.matches("'Vec3' is already defined as struct { float x; float y; float z; }", err, 1, true)
    assert.error_matches(function() cffi.offsetof("Vec3", "w") end, "no member 'w'")
    assert.error_matches(function() cffi.cdef "typedef struct { int a : 3; } B;" end,
      "bit%-field 'a' is not supported")
  end)

  it("reads and writes whole structs", function()
    local buf = cffi.alloc(cffi.sizeof("Entity"))
    cffi.write(buf, "Entity", { pos = { x = 1, y = 2, z = 3 }, tint = { r = 1, g = 2, b = 3, a = 4 },
                                weight = 0.5, ids = { 10, 20, 30 } })
    local e = cffi.read(buf, "Entity")
    assert.same({ x = 1, y = 2, z = 3 }, e.pos)
    assert.same({ 10, 20, 30 }, e.ids)
    assert.equal(0.5, e.weight)
    assert.equal(4, e.tint.a)
    assert.equal(2.0, cffi.read(buf, "float", cffi.offsetof("Entity", "pos.y")))
    -- a wrong or missing field is named, and the memory is left as it was
    assert.error_matches(function()
      cffi.write(buf, "Entity", { pos = { x = 1, y = 2 }, tint = {}, weight = 0, ids = {} })
    end, "field 'pos.z': float expected, got nil", 1, true)
    assert.error_matches(function()
      cffi.write(buf, "Entity", { pos = { x = 1, y = 2, z = 3 }, tint = { r = 1, g = 2, b = 3, a = 4 },
                                  weight = 0, ids = { 1, 2, "x" } })
    end, "field 'ids[3]': int32_t expected, got string", 1, true)
    assert.equal(1, cffi.read(buf, "Entity").pos.x)
    -- a union takes the members given; packing is kept
    local b = cffi.alloc(4)
    cffi.write(b, "Bits", { i = 0, f = 1.0, bytes = { 0, 0, 128, 63 } })
    assert.equal(0x3f800000, cffi.read(b, "Bits").i)
    local p = cffi.alloc(5)
    cffi.write(p, "Packed", { tag = 7, value = -2 })
    assert.equal(-2, cffi.read(p, "int", 1))
  end)

  if not carried then
    it("refuses structs by value where the target does not carry them yet", function()
      assert.error_matches(function() cffi.cast(somewhere, "Vec3(Vec3)") end, "not supported")
    end)
    return
  end

  it("calls compiled functions with struct arguments and results", function()
    local add = util.helper("helper_vec3_add", "Vec3(Vec3, Vec3)")
    local v = add({ x = 1, y = 2, z = 3 }, { x = 0.5, y = 0.25, z = -1 })
    assert.same({ x = 1.5, y = 2.25, z = 2 }, v)
    local area = util.helper("helper_rect_area", "int(struct Rect)")
    assert.equal(42, area({ x = 0, y = 0, w = 6, h = 7 }))
    -- a buffer holding the struct does as well
    local r = cffi.alloc(16)
    cffi.write(r, "struct Rect", { x = 1, y = 1, w = 3, h = 5 })
    assert.equal(15, area(r))
    local moved = util.helper("helper_entity_moved", "Entity(Entity, Vec3)")
    local e = moved({ pos = { x = 1, y = 1, z = 1 }, tint = { r = 9, g = 8, b = 7, a = 6 },
                      weight = 2, ids = { 1, 2, 3 } }, { x = 1, y = 2, z = 3 })
    assert.same({ x = 2, y = 3, z = 4 }, e.pos)
    assert.same({ 1, 2, 4 }, e.ids)
    assert.equal(6, e.tint.a)
    assert.error_matches(function() area({ x = 0, y = 0, w = 6 }) end,
      "bad argument #1 to 'cffi.function' (field 'h': int32_t expected, got nil)", 1, true)
  end)

  it("passes structs to and from callbacks called by compiled code", function()
    local seen
    local cb = cffi.wrap(function(v, k)
      seen = v
      return { x = v.x * k, y = v.y * k, z = v.z * k }
    end, "Vec3(Vec3, float)")
    local call = util.helper("helper_call_vec3", "float(void *, Vec3, float)")
    assert.equal((1 + 2 + 3) * 4, call(cb, { x = 1, y = 2, z = 3 }, 2))
    assert.same({ x = 2, y = 4, z = 6 }, seen)
    cb:free()

    local entity = cffi.wrap(function(n, e)
      assert.equal(42, n)
      e.pos.x = e.pos.x + n
      e.ids[1] = e.ids[1] * 2
      return e
    end, "Entity(int, Entity)")
    local back = util.helper("helper_call_entity", "Entity(void *)")(entity)
    assert.same({ x = 43.5, y = -2, z = 4 }, back.pos)
    assert.same({ r = 10, g = 20, b = 30, a = 255 }, back.tint)
    assert.same({ 14, 8, 9 }, back.ids)
    assert.equal(0.25, back.weight)
    entity:free()
  end)

  it("reports a bad struct result and returns zeros", function()
    local messages = {}
    local cb = cffi.wrap(function() return { x = 1 } end, "Vec3(Vec3, float)",
      nil, { on_error = function(msg) messages[#messages + 1] = msg end })
    local call = util.helper("helper_call_vec3", "float(void *, Vec3, float)")
    assert.equal(0, call(cb, { x = 1, y = 2, z = 3 }, 2))
    assert.equal(2, #messages)
    assert.matches("bad result (field 'y': float expected, got nil)", messages[1], 1, true)
    cb:free()
    assert.error_matches(function() cffi.wrap(print, "Vec3(void)", nil, { default = {} }) end,
      "a struct or union result's default is all zeros")
  end)

  it("passes long double to and from compiled code", function()
    if not pcall(cffi.cast, somewhere, "long double(long double)") then return end -- AArch64
    local scale = util.helper("helper_ld_scale", "long double(long double, int)")
    assert.equal(3.75, scale(1.25, 3))
    local cb = cffi.wrap(function(x, k) return x * k end, "long double(long double, int)")
    assert.equal(7.0, util.helper("helper_ld_call", "long double(void *, long double)")(cb, 2))
    cb:free()
    local buf = cffi.alloc(cffi.sizeof("long double"))
    cffi.write(buf, "long double", 0.5)
    assert.equal(0.5, cffi.read(buf, "long double"))
  end)

  it("keeps one state's names to itself", function()
    -- a name defined only in this state is unknown to the C API's own scope: no leak between
    -- Lua states (each has its own), and signatures with the same layout are one object
    local a = cffi.cast(somewhere, "Vec3(Vec3)")
    local b = cffi.cast(somewhere, "struct { float x; float y; float z; }(struct { float x, y, z; })")
    assert.equal(a:signature(), b:signature())
  end)
end)
