-- report.lua - turn the records of bench_cffi, luajit_bench.lua and ctypes_bench.py into one
-- Markdown table of ratios, and check the goals.
-- Usage: lua5.4 bench/report.lua <records file> [machine description]
--
-- Records: "time <key> <ns> <calibration ns>" and "mem <key> <value>". Keys are
-- call.<sig>.<way>, l2n.<sig>.<way>, create.<way>. A ratio is only ever taken between two
-- records of the same process, or, across processes, between ratios each taken against that
-- process's own direct-call baseline.
local file, machine = arg[1], arg[2] or "unknown machine"
-- Records of a peer process ("process luajit", "process ctypes" lines start them) are kept under
-- "<peer>:<key>", so each process's own direct calls stay apart.
local times, calib, mem = {}, {}, {}
local prefix = ""
for line in io.lines(file) do
  local kind, key, a, b = line:match("^(%a+) (%S+) ?(%S*) ?(%S*)")
  if kind == "process" then
    prefix = (key == "cffi") and "" or key .. ":"
  elseif kind == "time" then
    times[prefix .. key], calib[prefix .. key] = tonumber(a), tonumber(b)
  elseif kind == "mem" then
    mem[key] = tonumber(a)
  end
end

local peers = { luajit = true, ctypes = true }

-- Where a way's records live: a peer's own process, or bench_cffi's.
local function lookup(key)
  local way = key:match("%.(%w+)$")
  local p = peers[way] and way .. ":" or ""
  return times[p .. key], calib[p .. key], p
end

-- Time per call of call.<sig>.<way> over the direct call of <sig> in the same process.
local function per_direct(key)
  local t, _, p = lookup(key)
  local sig = key:match("^call%.(%w+)%.")
  local d = times[p .. "call." .. sig .. ".direct"]
  return t and d and t / d
end

local function fmt_ratio(r)
  if not r then return "n/a" end
  if r >= 100 then return string.format("%.0fx", r) end
  if r >= 10 then return string.format("%.1fx", r) end
  return string.format("%.2fx", r)
end
local function fmt_ns(ns)
  if not ns then return "n/a" end
  if ns >= 100 then return string.format("%.0f ns", ns) end
  return string.format("%.1f ns", ns)
end

local out = {}
local function p(...) out[#out + 1] = string.format(...) end

local sigs = {
  { "ii", "`int(int, int)`" },
  { "dd", "`double(double, double)`" },
  { "mix", "`double(int, double, int64_t, float, int, double, void *, int)`" },
}

p("Machine: %s.", machine)
p("Best of several interleaved rounds; every ratio is against a baseline measured in the same")
p("run (and, for LuaJIT and ctypes, in their own process).")
p("")
p("**Native code calls a bare function pointer** (time per call as a multiple of a direct call")
p("of a compiled C function through the same loop):")
p("")
p("| signature | direct call | typed thunk | typed thunk, bound handler | cffi closure | libffi closure | Lua: cffi.wrap | Lua: lua_pcall floor | LuaJIT ffi.cast | Python ctypes |")
p("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
for _, s in ipairs(sigs) do
  local k = "call." .. s[1] .. "."
  p("| %s | 1 (%s) | %s | %s | %s | %s | %s | %s | %s | %s |", s[2], fmt_ns(times[k .. "direct"]),
    fmt_ratio(per_direct(k .. "typed")), fmt_ratio(per_direct(k .. "typedfn")),
    fmt_ratio(per_direct(k .. "closure")),
    fmt_ratio(per_direct(k .. "libffi")), fmt_ratio(per_direct(k .. "lua")),
    fmt_ratio(per_direct(k .. "luafloor")), fmt_ratio(per_direct(k .. "luajit")),
    fmt_ratio(per_direct(k .. "ctypes")))
end
p("")
p("**Lua calls native code** (time per call as a multiple of a hand-written `lua_CFunction`")
p("making the same call):")
p("")
p("| signature | hand-written lua_CFunction | `f(...)`, f = cffi.cast(addr, sig) | `cffi.call(addr, sig, conv, ...)` |")
p("| --- | --- | --- | --- |")
for _, s in ipairs(sigs) do
  local k = "l2n." .. s[1] .. "."
  local h = times[k .. "hand"]
  local function r(w) return times[k .. w] and h and fmt_ratio(times[k .. w] / h) or "n/a" end
  p("| %s | 1 (%s) | %s | %s |", s[2], fmt_ns(h), r("cast"), r("call"))
end
p("")

-- Struct arguments in Lua callbacks: the table the binding builds against a view (struct_args.c).
p("**A struct argument reaching a Lua callback** (push it, call the same Lua function with")
p("`lua_pcall`; the binding builds a table, the view reads the native bytes on each access):")
p("")
p("| struct, what the callback reads | table (shipped) | view | view / table |")
p("| --- | --- | --- | --- |")
for _, row in ipairs {
  { "`struct { float x, y, z; }`, every member", "agg.vec3" },
  { "104-byte entity (nested structs, arrays), two members", "agg.big" },
} do
  local t, v = times[row[2] .. ".table"], times[row[2] .. ".view"]
  p("| %s | %s | %s | %s |", row[1], fmt_ns(t), fmt_ns(v), t and v and fmt_ratio(v / t) or "n/a")
end
p("")
p("A whole `float(Vec3)` callback made by `cffi.wrap`, called from native code: %s.",
  fmt_ns(times["agg.vec3.wrap"]))
p("")

-- Creation: LuaJIT's time is scaled by the two processes' calibration (a direct call).
local c_calib = calib["create.closure"]
local function create_scaled(key)
  local t, cal = lookup(key)
  if not t then return nil end
  if cal and c_calib and cal > 0 then return t * c_calib / cal end
  return t
end
local libffi_create = times["create.libffi"]
p("**Creation and release** of one `int(int, int)` pointer (multiple of libffi's")
p("`ffi_closure_alloc` + `ffi_prep_closure_loc` + `ffi_closure_free`, cif prepared once):")
p("")
p("| what | time | ratio |")
p("| --- | --- | --- |")
for _, row in ipairs {
  { "libffi closure alloc + prep + free", "create.libffi" },
  { "cffi closure new + free", "create.closure" },
  { "typed thunk new + free", "create.typed" },
  { "Lua `cffi.wrap(f, sig):free()`, signature seen before", "create.wrap" },
  { "Lua floor: `new(f, sig):free()`, a userdata with `__gc` owning one malloc'd block",
    "create.wrapfloor" },
  { "LuaJIT `ffi.cast(ct, f):free()`, ctype hoisted", "create.luajit" },
} do
  local t = create_scaled(row[2])
  p("| %s | %s | %s |", row[1], fmt_ns(t), t and libffi_create and fmt_ratio(t / libffi_create)
    or "n/a")
end
p("")
p("**Memory** with 1,000,000 live `int(int, int)` closures:")
p("")
p("| what | executable bytes per closure | record bytes per closure | resident bytes per closure (RSS growth) |")
p("| --- | --- | --- | --- |")
local function num(v, f) return v and string.format(f or "%.0f", v) or "n/a" end
p("| cffi closure | %s | %s | %s |", num(mem["cffi.exec_bytes_per"], "%.1f"),
  num(mem["cffi.data_bytes_per"], "%.1f"), num(mem["cffi.rss_per"]))
p("| libffi closure | (shared trampoline pages) | | %s |", num(mem["libffi.rss_per"]))
p("| Lua callback (cffi.wrap) | %s | | %s |", num(mem["cffi.slot_exec_bytes"]),
  num(mem["lua.rss_per"]))
p("")

-- Goals.
local goals = {}
local function goal(text, value, ok)
  goals[#goals + 1] = { text, value, ok }
end
local function worst(fn)
  local w, all = nil, {}
  for _, s in ipairs(sigs) do
    local v = fn(s[1])
    if v then
      all[#all + 1] = s[1] .. " " .. fmt_ratio(v)
      if not w or v > w then w = v end
    end
  end
  return w, table.concat(all, ", ")
end
local function ratio_of(a, b) return function(sig)
  local x, y = per_direct("call." .. sig .. "." .. a), per_direct("call." .. sig .. "." .. b)
  return x and y and x / y
end end

local w, t = worst(ratio_of("lua", "luafloor"))
goal("Lua callback <= 1.2x the lua_pcall floor", t, w and w <= 1.2)
w, t = worst(ratio_of("lua", "luajit"))
goal("Lua callback faster than LuaJIT's callback (ratio < 1)", t, w and w < 1)
w, t = worst(ratio_of("closure", "libffi"))
goal("cffi closure <= 0.6x the libffi closure", t, w and w <= 0.6)
w, t = worst(function(sig) return per_direct("call." .. sig .. ".typed") end)
goal("typed thunk <= 1.3x a direct call", t, w and w <= 1.3)
w, t = worst(function(sig) return per_direct("call." .. sig .. ".typedfn") end)
goal("typed thunk with a bound handler (CFFI_BAREFN_FN) <= 1.3x a direct call", t, w and w <= 1.3)
local wrap, lj = create_scaled("create.wrap"), create_scaled("create.luajit")
local wfloor = create_scaled("create.wrapfloor")
goal("cffi.wrap+free no slower than LuaJIT ffi.cast+free",
  (wrap and lj and fmt_ratio(wrap / lj) or "n/a") ..
  (wfloor and lj and wrap and string.format(" (the Lua floor alone: %s; cffi.wrap is %s of it)",
    fmt_ratio(wfloor / lj), fmt_ratio(wrap / wfloor)) or ""),
  wrap and lj and wrap <= lj)
local eb = mem["cffi.exec_bytes_per"]
goal("<= 64 executable bytes per closure", num(eb, "%.1f"), eb and eb <= 64)
local live = mem["cffi.live"]
goal("1,000,000 live closures", num(live), live and live >= 1000000)

p("**Goals:**")
p("")
p("| goal | measured | met |")
p("| --- | --- | --- |")
for _, g in ipairs(goals) do
  p("| %s | %s | %s |", g[1], g[2] ~= "" and g[2] or "n/a", g[3] == nil and "n/a" or
    (g[3] and "yes" or "**no**"))
end
print(table.concat(out, "\n"))
