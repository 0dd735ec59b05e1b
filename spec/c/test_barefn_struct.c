/*
 * test_barefn_struct.c - typed thunks (CFFI_BAREFN) whose parameters are structs by value: the
 * template is compiled code, so the compiler passes them; what cffi must get right is relocating
 * prologues that copy them and the jump to the handler. Vectors and a struct large enough to go
 * by reference (win64) or on the stack, under the native convention and, on x86-64, win64 too.
 * (A struct result is not possible: a template returns (RET)0 from its traps.)
 */
#include <stdint.h>

#include "check.h"

#if defined(__arm__)
int main(void) {
    check_skip_reason = "typed thunks are not ported to 32-bit ARM yet";
    check_skipped++;
    return CHECK_DONE();
}
#else
typedef struct { float x, y, z; } Vec3;
typedef struct { double a; long long b; int c[5]; } Big;

static float dot(void *ctx, Vec3 a, Vec3 b) {
    return *(float *)ctx * (a.x * b.x + a.y * b.y + a.z * b.z);
}
static long long big_sum(void *ctx, int k, Big b) {
    return *(int *)ctx + k + (long long)b.a + b.b + b.c[0] + b.c[4];
}

CFFI_BAREFN(dot3, C, float, (Vec3 a, Vec3 b), (a, b))
CFFI_BAREFN(big, C, long long, (int k, Big b), (k, b))
CFFI_BAREFN_MUT(big_mut, C, long long, (int k, Big b), (k, b))
#if defined(__x86_64__)
CFFI_BAREFN(big_win64, win64, long long, (int k, Big b), (k, b))
#endif

int main(void) {
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
    return CHECK_DONE();
}
#endif
