/*
 * loops.h - the shared benchmark loops and targets (loops.c). The LuaJIT and Python scripts
 * declare the same functions themselves; keep the three in step.
 */
#ifndef CFFI_BENCH_LOOPS_H
#define CFFI_BENCH_LOOPS_H

#include <stdint.h>

#define BENCH_LOOPS_API __attribute__((visibility("default")))

typedef int (*bench_ii_fn)(int, int);
typedef double (*bench_dd_fn)(double, double);
typedef double (*bench_mixed_fn)(int, double, int64_t, float, int, double, void *, int);

/* Monotonic clock in nanoseconds. */
BENCH_LOOPS_API double bench_now_ns(void);

BENCH_LOOPS_API int bench_add_ii(int a, int b);
BENCH_LOOPS_API double bench_add_dd(double a, double b);
BENCH_LOOPS_API double bench_mixed(int a, double b, int64_t c, float d, int e, double f, void *g,
                                   int h);

/* Call fn n times with arguments that vary per call; return the sum of the results. */
BENCH_LOOPS_API int64_t bench_loop_ii(bench_ii_fn fn, int64_t n);
BENCH_LOOPS_API double bench_loop_dd(bench_dd_fn fn, int64_t n);
BENCH_LOOPS_API double bench_loop_mixed(bench_mixed_fn fn, int64_t n);

#endif
