/*
 * loops.c - the native side every benchmark shares: target functions of the three benchmark
 * signatures, the C loops that call a function pointer N times, and a clock.
 *
 * Built as a shared library (libcffi_bench_loops.so) so that the C benchmark, LuaJIT (ffi.load)
 * and Python (ctypes.CDLL) run the very same loop code. Each loop reads the function pointer
 * through a volatile local on every iteration: the compiler can neither inline the target nor
 * hoist anything out of the call, whatever the pointer is (a C function, a cffi closure, a libffi
 * closure, a LuaJIT or ctypes callback).
 */
#include "loops.h"

#include <time.h>

double bench_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* The targets: what a callback of each signature computes. */
__attribute__((noinline)) int bench_add_ii(int a, int b) { return a + b; }

__attribute__((noinline)) double bench_add_dd(double a, double b) { return a + b; }

__attribute__((noinline)) double bench_mixed(int a, double b, int64_t c, float d, int e, double f,
                                             void *g, int h) {
    return a + b + (double)c + d + e + f + (g != 0) + h;
}

/* The loops. Arguments vary with i so that no call can be folded. */
int64_t bench_loop_ii(bench_ii_fn fn, int64_t n) {
    bench_ii_fn volatile f = fn;
    int64_t acc = 0;
    for (int64_t i = 0; i < n; i++) acc += f((int)i, 3);
    return acc;
}

double bench_loop_dd(bench_dd_fn fn, int64_t n) {
    bench_dd_fn volatile f = fn;
    double acc = 0;
    for (int64_t i = 0; i < n; i++) acc += f((double)i, 0.25);
    return acc;
}

double bench_loop_mixed(bench_mixed_fn fn, int64_t n) {
    bench_mixed_fn volatile f = fn;
    double acc = 0;
    for (int64_t i = 0; i < n; i++)
        acc += f((int)i, 1.5, i, 2.5f, 7, 3.5, (void *)0, 9);
    return acc;
}
