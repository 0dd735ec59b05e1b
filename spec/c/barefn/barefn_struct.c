/*
 * barefn_struct.c - typed thunks (CFFI_BAREFN) whose parameters and results are structs by
 * value. The template is compiled code, so the compiler passes them; what cffi must get right is
 * relocating prologues that copy them, the hidden result pointer some results travel through (a
 * Big result everywhere, a Vec3 on win64 and i386), the jump to the handler, and the zero value a
 * caught call returns. Built by spec/c/barefn.cmake in every variant of the matrix, under the
 * native convention and, on x86-64, win64 too:
 *   - struct parameters: small vectors, a struct large enough for the stack or a reference;
 *   - struct results: in registers (Pair, Vec3 where it fits) and through the hidden pointer (Big);
 *   - Mut and Once flavours and a freed thunk return an all-zero struct and report;
 *   - the bound _FN form returns a struct too.
 */
#include "cffi.h"

#include <stdint.h>
#include <string.h>

#include "check.h"

typedef struct { float x, y, z; } Vec3;
typedef struct { int a, b; } Pair;
typedef struct { double a; long long b; int c[5]; } Big;

static int events[4];
static void count_events(const cffi_barefn *t, const char *name, cffi_barefn_event ev) {
    (void)t, (void)name;
    events[ev]++;
}

/* --- struct parameters ------------------------------------------------------------------ */
static float dot(void *ctx, Vec3 a, Vec3 b) {
    return *(float *)ctx * (a.x * b.x + a.y * b.y + a.z * b.z);
}
static long long big_sum(void *ctx, int k, Big b) {
    return *(int *)ctx + k + (long long)b.a + b.b + b.c[0] + b.c[4];
}
CFFI_BAREFN(dot3, C, float, (Vec3 a, Vec3 b), (a, b))
CFFI_BAREFN(big, C, long long, (int k, Big b), (k, b))
CFFI_BAREFN_MUT(big_mut, C, long long, (int k, Big b), (k, b))

/* --- struct results ---------------------------------------------------------------------- */
static Vec3 scale(void *ctx, Vec3 v, float k) {
    float s = *(float *)ctx * k;
    Vec3 r = {v.x * s, v.y * s, v.z * s};
    return r;
}
static Pair swap(void *ctx, int a, int b) {
    Pair p = {b + *(int *)ctx, a + *(int *)ctx};
    return p;
}
static Big make_big(void *ctx, double a, long long b, int c0) {
    Big r = {a, b + *(int *)ctx, {c0, c0 + 1, c0 + 2, c0 + 3, c0 + 4}};
    return r;
}
CFFI_BAREFN(t_scale, C, Vec3, (Vec3 v, float k), (v, k))
CFFI_BAREFN(t_swap, C, Pair, (int a, int b), (a, b))
CFFI_BAREFN(t_big, C, Big, (double a, long long b, int c0), (a, b, c0))
CFFI_BAREFN_ONCE(t_big_once, C, Big, (double a, long long b, int c0), (a, b, c0))
CFFI_BAREFN_FN(t_big_bound, C, Big, (double a, long long b, int c0), (a, b, c0), make_big)
CFFI_BAREFN0(t_pair0, C, Pair)

/* A Mut handler that calls its own thunk again: the inner call is caught and returns zeros. */
static cffi_barefn *reenter_thunk;
CFFI_BAREFN_MUT(t_swap_mut, C, Pair, (int a, int b), (a, b))
static Pair swap_reenter(void *ctx, int a, int b) {
    Pair inner = t_swap_mut_code(reenter_thunk)(a, b);
    Pair p = {b + inner.a + *(int *)ctx, a + inner.b + *(int *)ctx};
    return p;
}
static Pair pair0(void *ctx) {
    Pair p = {*(int *)ctx, -*(int *)ctx};
    return p;
}

#if defined(__x86_64__)
CFFI_BAREFN(big_win64, win64, long long, (int k, Big b), (k, b))
CFFI_BAREFN(t_scale_win64, win64, Vec3, (Vec3 v, float k), (v, k))
CFFI_BAREFN(t_big_win64, win64, Big, (double a, long long b, int c0), (a, b, c0))
#endif

static bool big_is(Big r, double a, long long b, int c0) {
    return r.a == a && r.b == b && r.c[0] == c0 && r.c[4] == c0 + 4;
}
/* Member by member: the padding at Big's end is not part of its value. */
static bool big_is_zero(Big r) {
    return r.a == 0 && r.b == 0 && r.c[0] == 0 && r.c[1] == 0 && r.c[2] == 0 && r.c[3] == 0 &&
           r.c[4] == 0;
}

static void test_struct_params(void) {
    float two = 2;
    int base = 1000;
    Vec3 a = {1, 2, 3}, b = {4, 5, 6};
    Big g = {1.5, 100, {1, 2, 3, 4, 5}};
    cffi_barefn *t = NULL;
    char err[256];
    REQUIRE(cffi_barefn_new_ex(&dot3__tdesc, (void *)dot, &two, &t, err, sizeof err) == CFFI_OK);
    CHECK(dot3_code(t)(a, b) == 64);
    cffi_barefn_free(t);
    REQUIRE(big_new(big_sum, &base, &t) == CFFI_OK);
    CHECK(big_code(t)(7, g) == 1000 + 7 + 1 + 100 + 1 + 5);
    cffi_barefn_free(t);
    REQUIRE(big_mut_new(big_sum, &base, &t) == CFFI_OK);
    CHECK(big_mut_code(t)(8, g) == 1000 + 8 + 1 + 100 + 1 + 5);
    cffi_barefn_free(t);
#if defined(__x86_64__)
    REQUIRE(big_win64_new(big_sum, &base, &t) == CFFI_OK);
    CHECK(big_win64_code(t)(9, g) == 1000 + 9 + 1 + 100 + 1 + 5);
    cffi_barefn_free(t);
#endif
}

static void test_struct_results(void) {
    float two = 2;
    int base = 1000;
    Vec3 v = {1, 2, 3};
    cffi_barefn *t = NULL;
    REQUIRE(t_scale_new(scale, &two, &t) == CFFI_OK);
    Vec3 s = t_scale_code(t)(v, 3);
    CHECK(s.x == 6 && s.y == 12 && s.z == 18);
    cffi_barefn_free(t);
    REQUIRE(t_swap_new(swap, &base, &t) == CFFI_OK);
    Pair p = t_swap_code(t)(1, 2);
    CHECK(p.a == 1002 && p.b == 1001);
    cffi_barefn_free(t);
    REQUIRE(t_big_new(make_big, &base, &t) == CFFI_OK);
    CHECK(big_is(t_big_code(t)(2.5, 7, 40), 2.5, 1007, 40));
    cffi_barefn_free(t);
    REQUIRE(t_big_bound_new(&base, &t) == CFFI_OK);
    CHECK(big_is(t_big_bound_code(t)(3.5, 8, 50), 3.5, 1008, 50));
    cffi_barefn_free(t);
    REQUIRE(t_pair0_new(pair0, &base, &t) == CFFI_OK);
    p = t_pair0_code(t)();
    CHECK(p.a == 1000 && p.b == -1000);
    cffi_barefn_free(t);
#if defined(__x86_64__)
    REQUIRE(t_scale_win64_new(scale, &two, &t) == CFFI_OK);
    s = t_scale_win64_code(t)(v, 0.5f);
    CHECK(s.x == 1 && s.y == 2 && s.z == 3);
    cffi_barefn_free(t);
    REQUIRE(t_big_win64_new(make_big, &base, &t) == CFFI_OK);
    CHECK(big_is(t_big_win64_code(t)(4.5, 9, 60), 4.5, 1009, 60));
    cffi_barefn_free(t);
#endif
}

/* Caught calls and freed thunks return an all-zero struct, whichever way it travels. */
static void test_caught_results(void) {
    int base = 1000;
    cffi_barefn *t = NULL;
    cffi_set_barefn_hook(count_events);

    REQUIRE(t_swap_mut_new(swap_reenter, &base, &t) == CFFI_OK);
    reenter_thunk = t;
    Pair p = t_swap_mut_code(t)(1, 2);
    CHECK(events[CFFI_BAREFN_EV_REENTERED] == 1);
    CHECK(p.a == 1002 && p.b == 1001); /* the inner call returned {0, 0} */
    cffi_barefn_free(t);

    REQUIRE(t_big_once_new(make_big, &base, &t) == CFFI_OK);
    Big r = t_big_once_code(t)(1, 2, 3);
    CHECK(big_is(r, 1, 1002, 3));
    memset(&r, 0x55, sizeof r);
    r = t_big_once_code(t)(1, 2, 3);
    CHECK(events[CFFI_BAREFN_EV_CALLED_TWICE] == 1 && big_is_zero(r));
    cffi_barefn_free(t);

    REQUIRE(t_big_new(make_big, &base, &t) == CFFI_OK);
    t_big_bare big_code = t_big_code(t);
    cffi_barefn_free(t);
    memset(&r, 0x55, sizeof r);
    r = big_code(1, 2, 3);
    CHECK(events[CFFI_BAREFN_EV_FREED] == 1 && big_is_zero(r));

    REQUIRE(t_scale_new(scale, &base, &t) == CFFI_OK);
    t_scale_bare scale_code = t_scale_code(t);
    cffi_barefn_free(t);
    Vec3 v = {1, 2, 3};
    Vec3 s = scale_code(v, 2);
    CHECK(events[CFFI_BAREFN_EV_FREED] == 2 && s.x == 0 && s.y == 0 && s.z == 0);

    /* The bound form reaches the trap through its dead copy, rewritten code (check.h). */
    REQUIRE(t_big_bound_new(&base, &t) == CFFI_OK);
    big_code = t_big_bound_code(t);
    CHECK(big_is(big_code(1, 2, 3), 1, 1002, 3));
    cffi_barefn_free(t);
    if (check_rewritten_code_at((const void *)big_code, "a freed bound thunk runs its dead copy")) {
        memset(&r, 0x55, sizeof r);
        r = big_code(1, 2, 3);
        CHECK(events[CFFI_BAREFN_EV_FREED] == 3 && big_is_zero(r));
    }
    cffi_set_barefn_hook(NULL);
}

int main(void) {
    test_struct_params();
    test_struct_results();
    test_caught_results();
    return CHECK_DONE();
}
