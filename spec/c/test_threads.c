/*
 * test_threads.c - closures from many threads at once:
 *   - 8 threads create closures (each its own signature shape and convention), call them through
 *     typed pointers, check every result and free them, for a bounded time, while slots are
 *     being reused out of the shared quarantine;
 *   - then 8 threads call the same freed closures at once: every call reports through the dead
 *     hook and returns its default.
 * Threads count their own failures; the main thread checks them after joining (check.h's
 * counters are not atomic).
 */
#define _GNU_SOURCE
#include "check.h"
#include "cffi.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#if defined(__x86_64__)
#define CONV_SYSV64 __attribute__((sysv_abi))
#define CONV_WIN64 __attribute__((ms_abi))
static const char *const conventions[] = {"sysv64", "win64"};
#else
#define CONV_SYSV64
#define CONV_WIN64
static const char *const conventions[] = {"C"};
#endif
enum { NCONV = sizeof conventions / sizeof conventions[0] };

enum {
    NTHREADS = 8,
    ROUNDS_MAX = 200000,  /* per thread; the time limit usually ends a thread first */
    HELD = 64,            /* closures a thread holds at once, freed in a scrambled order */
    DEAD_CALLS = 2000,    /* per thread, in the dead-trap phase */
};
static const double TIME_LIMIT_SECONDS = 2.0;

/* ---------------------------------------------------------------------------------------------
 * Handlers: each closure's context is its own multiplier, so a call that reached the wrong
 * record, or saw another closure's context, gives a wrong result. */
static void mul_add_int(void *ctx, void *ret, void *const *args) {
    *(int *)ret = *(const int *)args[0] * *(const int *)ctx + *(const int *)args[1];
}

static void mul_add_double(void *ctx, void *ret, void *const *args) {
    *(double *)ret = *(const double *)args[0] * *(const int *)ctx + *(const double *)args[1];
}

/* Unsigned arithmetic: a wrong argument must give a wrong result, not an overflow trap. */
static uint64_t weighted_sum8_of(const uint64_t *a, uint64_t m) {
    uint64_t sum = 0;
    for (int i = 0; i < 8; i++) sum += a[i] * (uint64_t)(i + 1);
    return sum * m;
}

static void weighted_sum8(void *ctx, void *ret, void *const *args) {
    uint64_t a[8];
    for (int i = 0; i < 8; i++) memcpy(&a[i], args[i], sizeof a[i]);
    uint64_t r = weighted_sum8_of(a, (uint64_t)*(const int *)ctx);
    memcpy(ret, &r, sizeof r);
}

/* One out-of-line caller per shape and convention. Written as one expression,
 * `win64 ? ((f_win64)code)(...) : ((f_sysv)code)(...)`, GCC 12 at -O2 may merge both arms into a
 * single System V call, dropping ms_abi from the pointer type; separate functions keep each call
 * honest. */
#define DEFINE_CALLERS(ABI, name)                                                                 \
    static __attribute__((noinline)) int call_int2_##name(void *code, int x) {                    \
        return ((int(ABI *)(int, int))code)(x, 5);                                                \
    }                                                                                             \
    static __attribute__((noinline)) double call_double2_##name(void *code, int x) {              \
        return ((double(ABI *)(double, double))code)(x + 0.5, 0.25);                              \
    }                                                                                             \
    static __attribute__((noinline)) long long call_sum8_##name(void *code, int x) {              \
        return ((long long(ABI *)(long long, long long, long long, long long, long long,          \
                                  long long, long long, long long))code)(x, 1, 2, 3, 4, 5, 6, 7); \
    }
DEFINE_CALLERS(CONV_SYSV64, sysv)
DEFINE_CALLERS(CONV_WIN64, win64)

/* Calls code as shape `shape` with arguments derived from x; true if the result is right for a
 * closure whose multiplier is m. */
static bool call_and_check(int shape, bool win64, void *code, int m, int x) {
    switch (shape) {
    case 0: {
        int got = win64 ? call_int2_win64(code, x) : call_int2_sysv(code, x);
        return got == (int)((unsigned)x * (unsigned)m + 5u);
    }
    case 1: {
        double got = win64 ? call_double2_win64(code, x) : call_double2_sysv(code, x);
        return got == (x + 0.5) * m + 0.25;
    }
    default: {
        long long got = win64 ? call_sum8_win64(code, x) : call_sum8_sysv(code, x);
        const uint64_t a[8] = {(uint64_t)(int64_t)x, 1, 2, 3, 4, 5, 6, 7};
        return (uint64_t)got == weighted_sum8_of(a, (uint64_t)m);
    }
    }
}

static const char *const shape_text[] = {
    "int(int, int)",
    "double(double, double)",
    ("long long(long long, long long, long long, long long, long long, long long, long long, "
     "long long)"),
};
static const cffi_handler shape_handler[] = {mul_add_int, mul_add_double, weighted_sum8};
enum { NSHAPES = 3 };

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---------------------------------------------------------------------------------------------
 * Phase 1: create, call, free. */
typedef struct worker {
    int id;
    pthread_t thread;
    double deadline;
    long rounds, calls, wrong_results, failed_creates;
} worker;

static void *churn(void *arg) {
    worker *w = arg;
    int shape = w->id % NSHAPES;
    bool win64 = NCONV > 1 && (w->id / NSHAPES) % 2 == 1;
    cffi_sig *sig = NULL;
    if (cffi_sig_parse(shape_text[shape], conventions[win64 ? 1 : 0], &sig, NULL, 0) != CFFI_OK) {
        w->failed_creates++;
        return NULL;
    }
    cffi_closure *held[HELD] = {0};
    int multipliers[HELD];
    unsigned seed = (unsigned)w->id * 2654435761u + 1;
    for (long round = 0; round < ROUNDS_MAX; round++) {
        if ((round & 63) == 0 && now_seconds() > w->deadline) break;
        seed = seed * 1103515245u + 12345u;
        int slot = (int)((seed >> 16) % HELD);
        if (held[slot]) {
            w->wrong_results += !call_and_check(shape, win64, cffi_closure_code(held[slot]),
                                                multipliers[slot], (int)round);
            w->calls++;
            cffi_closure_free(held[slot]);
            held[slot] = NULL;
        }
        multipliers[slot] = w->id * 1000 + (int)(round % 997) + 1;
        if (cffi_closure_new(sig, shape_handler[shape], &multipliers[slot], &held[slot]) !=
            CFFI_OK) {
            w->failed_creates++;
            held[slot] = NULL;
            continue;
        }
        w->wrong_results += !call_and_check(shape, win64, cffi_closure_code(held[slot]),
                                            multipliers[slot], (int)round + 1);
        w->calls++;
        w->rounds++;
    }
    for (int i = 0; i < HELD; i++) cffi_closure_free(held[i]);
    cffi_sig_free(sig);
    return NULL;
}

/* ---------------------------------------------------------------------------------------------
 * Phase 2: calls through freed closures from every thread at once. No closure is created
 * meanwhile, so none of their slots can be reused under the callers. */
static atomic_long dead_hook_calls;
static atomic_long dead_hook_wrong;
static void *dead_codes[NCONV];
static const cffi_sig *dead_sigs[NCONV];
static const int DEAD_DEFAULT = -99;

static void counting_hook(const cffi_sig *sig, void *code) {
    atomic_fetch_add(&dead_hook_calls, 1);
    bool known = false;
    for (int i = 0; i < NCONV; i++) known |= code == dead_codes[i] && sig == dead_sigs[i];
    if (!known) atomic_fetch_add(&dead_hook_wrong, 1);
}

typedef struct dead_caller {
    pthread_t thread;
    long wrong_results;
} dead_caller;

static void *call_dead(void *arg) {
    dead_caller *d = arg;
    for (int i = 0; i < DEAD_CALLS; i++) {
        for (int conv = 0; conv < NCONV; conv++) {
            int got = conv == 1 ? call_int2_win64(dead_codes[conv], i)
                                : call_int2_sysv(dead_codes[conv], i);
            d->wrong_results += got != DEAD_DEFAULT;
        }
    }
    return NULL;
}

static void check_concurrent_churn(void) {
    worker workers[NTHREADS];
    double deadline = now_seconds() + TIME_LIMIT_SECONDS;
    for (int i = 0; i < NTHREADS; i++) {
        workers[i] = (worker){.id = i, .deadline = deadline};
        REQUIRE(pthread_create(&workers[i].thread, NULL, churn, &workers[i]) == 0);
    }
    long rounds = 0;
    for (int i = 0; i < NTHREADS; i++) {
        pthread_join(workers[i].thread, NULL);
        CHECK_MSG(workers[i].failed_creates == 0, "thread %d: %ld creations failed", i,
                  workers[i].failed_creates);
        CHECK_MSG(workers[i].wrong_results == 0, "thread %d: %ld of %ld calls wrong", i,
                  workers[i].wrong_results, workers[i].calls);
        CHECK_MSG(workers[i].rounds > 0, "thread %d made no progress", i);
        rounds += workers[i].rounds;
    }
    cffi_jit_stats st;
    cffi_jit_get_stats(&st);
    CHECK(st.live_closures == 0);
    printf("churn: %ld closures created by %d threads; %zu exec bytes, %zu dead\n", rounds,
           NTHREADS, st.exec_bytes, st.dead_closures);
}

static void check_concurrent_dead_calls(void) {
    cffi_set_dead_hook(counting_hook);
    int unused_multiplier = 1;
    for (int conv = 0; conv < NCONV; conv++) {
        cffi_sig *sig = NULL;
        REQUIRE(cffi_sig_parse(shape_text[0], conventions[conv], &sig, NULL, 0) == CFFI_OK);
        cffi_closure *c = NULL;
        REQUIRE(cffi_closure_new(sig, mul_add_int, &unused_multiplier, &c) == CFFI_OK);
        cffi_closure_set_default(c, &DEAD_DEFAULT);
        dead_codes[conv] = cffi_closure_code(c);
        dead_sigs[conv] = sig;
        cffi_closure_free(c);
        cffi_sig_free(sig); /* the freed closure keeps its own reference */
    }
    dead_caller callers[NTHREADS] = {0};
    for (int i = 0; i < NTHREADS; i++)
        REQUIRE(pthread_create(&callers[i].thread, NULL, call_dead, &callers[i]) == 0);
    for (int i = 0; i < NTHREADS; i++) {
        pthread_join(callers[i].thread, NULL);
        CHECK_MSG(callers[i].wrong_results == 0, "dead caller %d: %ld wrong results", i,
                  callers[i].wrong_results);
    }
    CHECK(atomic_load(&dead_hook_calls) == (long)NTHREADS * DEAD_CALLS * NCONV);
    CHECK(atomic_load(&dead_hook_wrong) == 0);
    cffi_set_dead_hook(NULL);
}

int main(void) {
    check_concurrent_churn();
    check_concurrent_dead_calls();
    return CHECK_DONE();
}
