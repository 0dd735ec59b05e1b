-- luajit_bench.lua - LuaJIT's ffi callbacks as a peer: the shared C loops (libcffi_bench_loops)
-- call ffi.cast callbacks, and ffi.cast + :free() creation, timed in this process.
-- Usage: luajit bench/luajit_bench.lua <path to libcffi_bench_loops.so> [rounds] [sample_ms]
-- Prints the same records as bench_cffi ("time <key> <ns> <calibration ns>"), the calibration
-- being the direct int(int, int) call through the same loop in this process.
local ffi = require "ffi"

local path, rounds, sample_ms = arg[1], tonumber(arg[2] or "7"), tonumber(arg[3] or "10")
assert(path, "usage: luajit luajit_bench.lua <libcffi_bench_loops.so> [rounds] [sample_ms]")

ffi.cdef [[
double bench_now_ns(void);
int bench_add_ii(int a, int b);
double bench_add_dd(double a, double b);
double bench_mixed(int a, double b, int64_t c, float d, int e, double f, void *g, int h);
typedef int (*bench_ii_fn)(int, int);
typedef double (*bench_dd_fn)(double, double);
typedef double (*bench_mixed_fn)(int, double, int64_t, float, int, double, void *, int);
int64_t bench_loop_ii(bench_ii_fn fn, int64_t n);
double bench_loop_dd(bench_dd_fn fn, int64_t n);
double bench_loop_mixed(bench_mixed_fn fn, int64_t n);
]]
local lib = ffi.load(path)
local now = lib.bench_now_ns

local ii_t = ffi.typeof("bench_ii_fn")
local dd_t = ffi.typeof("bench_dd_fn")
local mix_t = ffi.typeof("bench_mixed_fn")

local f_ii = function(a, b) return a + b end
local f_dd = function(a, b) return a + b end
local f_mix = function(a, b, c, d, e, f, g, h)
  return a + b + tonumber(c) + d + e + f + (g ~= nil and 1 or 0) + h
end

local cb_ii, cb_dd, cb_mix = ffi.cast(ii_t, f_ii), ffi.cast(dd_t, f_dd), ffi.cast(mix_t, f_mix)
assert(cb_ii(40, 2) == 42 and cb_dd(40.5, 1.5) == 42)
assert(cb_mix(1, 1.5, 2, 2.5, 3, 3.5, ffi.cast("void *", 1), 4) == 18.5)

local direct_ii = ffi.cast(ii_t, lib.bench_add_ii)
local direct_dd = ffi.cast(dd_t, lib.bench_add_dd)
local direct_mix = ffi.cast(mix_t, lib.bench_mixed)

local cases = {
  { key = "call.ii.direct", run = function(n) lib.bench_loop_ii(direct_ii, n) end },
  { key = "call.dd.direct", run = function(n) lib.bench_loop_dd(direct_dd, n) end },
  { key = "call.mix.direct", run = function(n) lib.bench_loop_mixed(direct_mix, n) end },
  { key = "call.ii.luajit", run = function(n) lib.bench_loop_ii(cb_ii, n) end },
  { key = "call.dd.luajit", run = function(n) lib.bench_loop_dd(cb_dd, n) end },
  { key = "call.mix.luajit", run = function(n) lib.bench_loop_mixed(cb_mix, n) end },
  { key = "create.luajit", run = function(n)
      for _ = 1, n do ffi.cast(ii_t, f_ii):free() end
    end },
}

local function time(c, n)
  collectgarbage()
  local t0 = now()
  c.run(n)
  return (now() - t0) / n
end

for _, c in ipairs(cases) do
  local n = 1
  while true do
    local t0 = now()
    c.run(n)
    if now() - t0 >= sample_ms * 1e6 / 4 or n >= 2 ^ 40 then break end
    n = n * 2
  end
  c.n = n * 4
end
for r = 1, rounds do
  for _, c in ipairs(cases) do
    local t = time(c, c.n)
    if r == 1 or t < c.best then c.best = t end
  end
end
local calib = cases[1].best
for _, c in ipairs(cases) do
  io.write(string.format("time %s %.3f %.3f\n", c.key, c.best, calib))
end
