/*
 * barefn_many.c - scale and threads: 10,000 thunks of one template, each with its own context,
 * all called and checked; freed thunks trap and their addresses come back only after the
 * quarantine; eight threads create, call and free thunks of templates that none of them has used
 * before (so the first relocation of each races), and of a BareFnMut called concurrently (a
 * concurrent call is caught or runs, never both at once).
 */
#include "cffi.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

static long h_mul(void *ctx, long x) { return (long)(intptr_t)ctx * x; }
CFFI_BAREFN(t_mul, C, long, (long x), (x))
CFFI_BAREFN(t_mul_w, win64, long, (long x), (x))

static _Atomic int freed_calls;
static void hook(const cffi_barefn *b, const char *name, cffi_barefn_event ev) {
    (void)b, (void)name;
    if (ev == CFFI_BAREFN_EV_FREED) freed_calls++;
}

enum { MANY = 10000 };

static void test_many(void) {
    static cffi_barefn *t[MANY];
    static void *code[MANY];
    for (int i = 0; i < MANY; i++) {
        REQUIRE(t_mul_new(h_mul, (void *)(intptr_t)(i + 1), &t[i]) == CFFI_OK);
        code[i] = cffi_barefn_code(t[i]);
    }
    int bad = 0;
    for (int i = 0; i < MANY; i++) bad += t_mul_code(t[i])(3) != 3L * (i + 1);
    CHECK(bad == 0);
    for (int i = 0; i < MANY; i++) cffi_barefn_free(t[i]);
    int before = freed_calls;
    for (int i = 0; i < MANY; i += 97) bad += t_mul_code(t[i])(3) != 0;
    CHECK(bad == 0 && freed_calls == before + (MANY + 96) / 97);

    /* Re-create: the oldest freed come back first, and only those beyond the quarantine. */
    for (int i = 0; i < MANY; i++) REQUIRE(t_mul_new(h_mul, (void *)(intptr_t)(i + 7), &t[i]) == CFFI_OK);
    int reused = 0;
    for (int i = 0; i < MANY; i++) {
        for (int k = 0; k < MANY - CFFI_QUARANTINE; k++)
            if (cffi_barefn_code(t[i]) == code[k]) {
                reused++;
                break;
            }
        bad += t_mul_code(t[i])(2) != 2L * (i + 7);
    }
    CHECK(bad == 0);
    CHECK(reused == MANY - CFFI_QUARANTINE);
    for (int i = 0; i < MANY; i++) cffi_barefn_free(t[i]);
}

/* ---- threads */
static long h_add(void *ctx, long x) { return (long)(intptr_t)ctx + x; }
CFFI_BAREFN(t_thr_a, sysv64, long, (long x), (x))
CFFI_BAREFN(t_thr_b, win64, long, (long x), (x))
CFFI_BAREFN(t_thr_c, C, long, (long x), (x))

static _Atomic int mut_inside, mut_overlap, mut_runs;
static long h_slow(void *ctx, long x) {
    (void)ctx;
    if (mut_inside++ != 0) mut_overlap++;
    for (volatile int i = 0; i < 2000; i++) {
    }
    mut_inside--;
    mut_runs++;
    return x + 1;
}
CFFI_BAREFN_MUT(t_thr_mut, C, long, (long x), (x))
static t_thr_mut_bare shared_mut;

static void *worker(void *arg) {
    intptr_t id = (intptr_t)arg;
    long errors = 0;
    for (int round = 0; round < 200; round++) {
        cffi_barefn *a, *b, *c;
        intptr_t k = id * 1000 + round;
        if (t_thr_a_new(h_add, (void *)k, &a) != CFFI_OK) return (void *)1;
        if (t_thr_b_new(h_add, (void *)(k + 1), &b) != CFFI_OK) return (void *)1;
        if (t_thr_c_new(h_add, (void *)(k + 2), &c) != CFFI_OK) return (void *)1;
        errors += t_thr_a_code(a)(5) != k + 5;
        errors += t_thr_b_code(b)(5) != k + 6;
        errors += t_thr_c_code(c)(5) != k + 7;
        long r = shared_mut(round);
        errors += r != round + 1 && r != 0;
        cffi_barefn_free(a);
        cffi_barefn_free(b);
        cffi_barefn_free(c);
    }
    return (void *)(intptr_t)errors;
}

static void test_threads(void) {
    cffi_barefn *m;
    REQUIRE(t_thr_mut_new(h_slow, NULL, &m) == CFFI_OK);
    shared_mut = t_thr_mut_code(m);
    enum { N = 8 };
    pthread_t th[N];
    for (intptr_t i = 0; i < N; i++) REQUIRE(pthread_create(&th[i], NULL, worker, (void *)i) == 0);
    long errors = 0;
    for (int i = 0; i < N; i++) {
        void *r;
        pthread_join(th[i], &r);
        errors += (long)(intptr_t)r;
    }
    CHECK(errors == 0);
    CHECK(mut_overlap == 0 && mut_runs > 0);
    cffi_barefn_free(m);
}

int main(void) {
    cffi_set_barefn_hook(hook);
    test_many();
    test_threads();
    return CHECK_DONE();
}
