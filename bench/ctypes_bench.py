"""ctypes_bench.py - Python ctypes CFUNCTYPE callbacks as a peer: the shared C loops
(libcffi_bench_loops) call them, timed in this process.

Usage: python3 bench/ctypes_bench.py <path to libcffi_bench_loops.so> [rounds] [sample_ms]
Prints the same records as bench_cffi ("time <key> <ns> <calibration ns>"), the calibration being
the direct int(int, int) call through the same loop in this process.
"""
import ctypes as C
import sys

path = sys.argv[1]
rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 7
sample_ms = float(sys.argv[3]) if len(sys.argv) > 3 else 10.0

lib = C.CDLL(path)
lib.bench_now_ns.restype = C.c_double
lib.bench_now_ns.argtypes = []
now = lib.bench_now_ns

II = C.CFUNCTYPE(C.c_int, C.c_int, C.c_int)
DD = C.CFUNCTYPE(C.c_double, C.c_double, C.c_double)
MIX = C.CFUNCTYPE(C.c_double, C.c_int, C.c_double, C.c_int64, C.c_float, C.c_int, C.c_double,
                  C.c_void_p, C.c_int)
for name, ftype, ret in (("bench_loop_ii", II, C.c_int64), ("bench_loop_dd", DD, C.c_double),
                         ("bench_loop_mixed", MIX, C.c_double)):
    fn = getattr(lib, name)
    fn.argtypes = [ftype, C.c_int64]
    fn.restype = ret

cb_ii = II(lambda a, b: a + b)
cb_dd = DD(lambda a, b: a + b)
cb_mix = MIX(lambda a, b, c, d, e, f, g, h: a + b + c + d + e + f + (1 if g else 0) + h)
assert cb_ii(40, 2) == 42 and cb_dd(40.5, 1.5) == 42.0
assert cb_mix(1, 1.5, 2, 2.5, 3, 3.5, 1, 4) == 18.5

direct_ii = C.cast(lib.bench_add_ii, II)
direct_dd = C.cast(lib.bench_add_dd, DD)
direct_mix = C.cast(lib.bench_mixed, MIX)

cases = [
    ["call.ii.direct", lambda n: lib.bench_loop_ii(direct_ii, n)],
    ["call.dd.direct", lambda n: lib.bench_loop_dd(direct_dd, n)],
    ["call.mix.direct", lambda n: lib.bench_loop_mixed(direct_mix, n)],
    ["call.ii.ctypes", lambda n: lib.bench_loop_ii(cb_ii, n)],
    ["call.dd.ctypes", lambda n: lib.bench_loop_dd(cb_dd, n)],
    ["call.mix.ctypes", lambda n: lib.bench_loop_mixed(cb_mix, n)],
]


def sample(run, n):
    t0 = now()
    run(n)
    return (now() - t0) / n


sizes = []
for key, run in cases:
    n = 1
    while True:
        t0 = now()
        run(n)
        if now() - t0 >= sample_ms * 1e6 / 4 or n >= 2 ** 40:
            break
        n *= 2
    sizes.append(n * 4)
best = [None] * len(cases)
for r in range(rounds):
    for i, (key, run) in enumerate(cases):
        t = sample(run, sizes[i])
        if best[i] is None or t < best[i]:
            best[i] = t
for i, (key, run) in enumerate(cases):
    print("time %s %.3f %.3f" % (key, best[i], best[0]))
