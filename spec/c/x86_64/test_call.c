/*
 * test_call.c - cffi_call of compiler-generated functions under both x86-64 conventions (sysv64,
 * win64), and of closures (a round trip through both halves of the runtime).
 *
 * Covers: no parameters; integers and doubles past the argument registers; mixed integers and
 * floats past both register files; every scalar parameter type with extreme values; narrow
 * arguments arriving sign- or zero-extended to 64 bits in registers and stack slots; every result
 * type, written with exactly its size; results with junk in the unused register bits; 40
 * parameters; 16-byte stack alignment in the callee; invalid arguments. Every call is made a
 * second time as a frame call (cffi_call_frame, arguments stored in place by call_frame.h), which
 * must give the callee the same arguments and the caller the same result bytes.
 *
 * The per-convention part is written once, below the #else, and compiled twice: this file
 * includes itself with CC (the function attribute), CONV (the convention name) and SFX (a name
 * suffix) set for each convention.
 */
#ifndef CONV

#include "call_frame.h"
#include "cffi.h"
#include "check.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* Callees check their own arguments; a failure is counted here and reported by the caller. */
static int callee_failures;
#define EXPECT(cond)                                                                               \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            callee_failures++;                                                                     \
            fprintf(stderr, "%s:%d: callee saw: !(%s)\n", __FILE__, __LINE__, #cond);              \
        }                                                                                          \
    } while (0)
/* The frame address is rsp at entry - 8: 16-aligned iff the call stub kept the ABI's alignment. */
#define EXPECT_ALIGNED() EXPECT((uintptr_t)__builtin_frame_address(0) % 16 == 0)

/* Call fn through text under conv; the callee must not have complained. The result is written
 * into a guarded buffer: bytes past the result type's size must stay untouched. */
static void call_checked(const char *text, const char *conv, void *fn, void *ret,
                         void *const *args) {
    cffi_sig *sig = check_parse(text, conv);
    int before = callee_failures;
    unsigned char guarded[16];
    memset(guarded, 0xaa, sizeof guarded);
    CHECK(cffi_call(sig, fn, guarded, args) == CFFI_OK);
    size_t size = cffi_type_size(cffi_sig_result(sig));
    for (size_t i = size; i < sizeof guarded; i++)
        CHECK_MSG(guarded[i] == 0xaa, "%s (%s): result byte %zu written", text, conv, i);
    if (ret) memcpy(ret, guarded, size);
    CHECK_MSG(callee_failures == before, "%s (%s): callee saw wrong arguments", text, conv);
    /* The same call as a frame call: the callee checks the arguments again, and the result must
     * be the same bytes. A bool is the byte the callee left, which cffi_call turns into 0 or 1. */
    unsigned char by_frame[16];
    CHECK(call_frame_typed(sig, fn, by_frame, args) == CFFI_OK);
    if (cffi_sig_result(sig) == CFFI_T_BOOL) by_frame[0] = by_frame[0] != 0;
    CHECK_MSG(memcmp(by_frame, guarded, size) == 0, "%s (%s): frame call result differs", text,
              conv);
    CHECK_MSG(callee_failures == before, "%s (%s): callee saw wrong arguments in a frame call",
              text, conv);
    cffi_sig_free(sig);
}

#define CONV "sysv64"
#define CC __attribute__((sysv_abi))
#define SFX(name) name##_sysv
#include "test_call.c" /* the per-convention part below */
#undef CONV
#undef CC
#undef SFX

#define CONV "win64"
#define CC __attribute__((ms_abi))
#define SFX(name) name##_win64
#include "test_call.c" /* the per-convention part below */
#undef CONV
#undef CC
#undef SFX

/* Round trip: cffi_call into a closure, both made from the same signature. */
static void sum_handler(void *ctx, void *ret, void *const *args) {
    const cffi_sig *sig = ctx;
    double sum = 0;
    for (size_t i = 0; i < cffi_sig_nparams(sig); i++) {
        switch (cffi_sig_param(sig, i)) {
        case CFFI_T_INT8: sum += *(const int8_t *)args[i]; break;
        case CFFI_T_UINT16: sum += *(const uint16_t *)args[i]; break;
        case CFFI_T_INT32: sum += *(const int32_t *)args[i]; break;
        case CFFI_T_INT64: sum += (double)*(const int64_t *)args[i]; break;
        case CFFI_T_FLOAT: sum += *(const float *)args[i]; break;
        case CFFI_T_DOUBLE: sum += *(const double *)args[i]; break;
        default: sum += 1e9; break;
        }
    }
    *(double *)ret = sum;
}

static void test_round_trip(const char *conv) {
    const char *text = "double(int8_t, double, uint16_t, float, int, double, int64_t, float, "
                       "int8_t, double, int, float, double, int, double, float, double, int)";
    cffi_sig *sig = check_parse(text, conv);
    cffi_closure *c;
    REQUIRE(cffi_closure_new(sig, sum_handler, sig, &c) == CFFI_OK);
    int8_t a0 = -5, a8 = 100;
    double a1 = 0.5, a5 = 1.25, a9 = -2.0, a12 = 3.0, a14 = 4.5, a16 = 0.125;
    uint16_t a2 = 60000;
    float a3 = 1.5f, a7 = -0.25f, a11 = 2.0f, a15 = 8.0f;
    int a4 = -1000, a10 = 7, a13 = -3, a17 = 11;
    int64_t a6 = 1LL << 40;
    void *args[] = {&a0, &a1, &a2, &a3, &a4, &a5, &a6, &a7, &a8,
                    &a9, &a10, &a11, &a12, &a13, &a14, &a15, &a16, &a17};
    double expected = a0 + a1 + a2 + a3 + a4 + a5 + (double)a6 + a7 + a8 + a9 + a10 + a11 + a12 +
                      a13 + a14 + a15 + a16 + a17;
    double r = 0;
    CHECK(cffi_call(sig, cffi_closure_code(c), &r, args) == CFFI_OK);
    CHECK_MSG(r == expected, "%s round trip: %g, expected %g", conv, r, expected);
    cffi_closure_free(c);
    cffi_sig_free(sig);
}

static int no_params_native(void) { return 1; }

static void test_invalid_arguments(void) {
    cffi_sig *sig = check_parse("int(int)", "sysv64");
    int r, a = 1;
    void *args[] = {&a};
    CHECK(cffi_call(NULL, (void *)no_params_native, &r, args) == CFFI_EINVAL);
    CHECK(cffi_call(sig, NULL, &r, args) == CFFI_EINVAL);
    CHECK(cffi_call(sig, (void *)no_params_native, &r, NULL) == CFFI_EINVAL);
    cffi_sig_free(sig);
    sig = check_parse("int(void)", "sysv64");
    CHECK(cffi_call(sig, (void *)no_params_native, &r, NULL) == CFFI_OK && r == 1);
    CHECK(cffi_call(sig, (void *)no_params_native, NULL, NULL) == CFFI_OK); /* result dropped */
    cffi_sig_free(sig);
}

/* Frame calls: what the argument queries say, and the checks cffi_call_frame makes. */
static void test_frame_call_queries(void) {
    cffi_sig *sig = check_parse("int(int8_t, double, int64_t, int, int, int, int, int, int)",
                                "sysv64");
    CHECK(cffi_sig_arg_width(sig, 0) == 8 && cffi_sig_arg_width(sig, 1) == 8);
    CHECK(cffi_sig_arg_width(sig, 9) == 0 && cffi_sig_arg_width(NULL, 0) == 0);
    CHECK(cffi_sig_stack_size(sig) == 16); /* the last two ints, 8 bytes each */
    CHECK(cffi_sig_stack_size(NULL) == 0);
    _Alignas(16) unsigned char frame[CFFI_CALL_FRAME_BYTES];
    _Alignas(16) unsigned char stack[CFFI_CALL_STACK_BYTES];
    CHECK(cffi_call_frame(NULL, (void *)no_params_native, frame, stack) == CFFI_EINVAL);
    CHECK(cffi_call_frame(sig, NULL, frame, stack) == CFFI_EINVAL);
    CHECK(cffi_call_frame(sig, (void *)no_params_native, NULL, stack) == CFFI_EINVAL);
    CHECK(cffi_call_frame(sig, (void *)no_params_native, frame, NULL) == CFFI_EINVAL);
    cffi_sig_free(sig);
    sig = check_parse("int(int, int)", "sysv64");
    CHECK(cffi_sig_stack_size(sig) == 0);
    /* No stack arguments: no stack area needed. */
    CHECK(cffi_call_frame(sig, (void *)no_params_native, frame, NULL) == CFFI_OK);
    int r;
    memcpy(&r, frame + cffi_sig_result_offset(sig), sizeof r);
    CHECK(r == 1);
    cffi_sig_free(sig);
}

int main(void) {
    run_sysv();
    run_win64();
    test_round_trip("sysv64");
    test_round_trip("win64");
    test_invalid_arguments();
    test_frame_call_queries();
    return CHECK_DONE();
}

#else /* ------------------------------------------------------------- per-convention part */

static CC int SFX(no_params)(void) { EXPECT_ALIGNED(); return 42; }

static CC int64_t SFX(ints9)(int64_t a, int64_t b, int64_t c, int64_t d, int64_t e, int64_t f,
                             int64_t g, int64_t h, int64_t i) {
    EXPECT_ALIGNED();
    EXPECT(a == -1 && b == 2 && c == -3 && d == 4 && e == INT64_MIN && f == INT64_MAX);
    EXPECT(g == 7 && h == -8 && i == 0x123456789abcdefLL);
    return -987654321012345LL;
}

static CC int SFX(ints10)(int a, int b, int c, int d, int e, int f, int g, int h, int i, int j) {
    EXPECT_ALIGNED();
    EXPECT(a == -10 && b == 20 && c == -30 && d == 40 && e == -50 && f == 60 && g == -70);
    EXPECT(h == 80 && i == INT32_MIN && j == INT32_MAX);
    return -5;
}

static CC double SFX(doubles10)(double a, double b, double c, double d, double e, double f,
                                double g, double h, double i, double j) {
    EXPECT(a == -4.0 && b == -2.5 && c == -1.0 && d == 0.5 && e == 2.0 && f == 3.5 && g == 5.0);
    EXPECT(h == 6.5 && i == 8.0 && j == 9.5);
    return -0.125;
}

static char SFX(marker);

static CC double SFX(mixed)(int a, double b, int8_t c, float d, uint16_t e, double f, int64_t g,
                            float h, uint32_t i, double j, int k, double l, float m, double n,
                            int16_t o, double p, double q, uint8_t r, float s, void *t) {
    EXPECT_ALIGNED();
    EXPECT(a == -1 && b == 1.25 && c == -128 && d == 2.5f && e == 65535 && f == -3.75);
    EXPECT(g == INT64_MIN && h == -0.5f && i == 4000000000u && j == 1e300 && k == 12345);
    EXPECT(l == -1e-300 && m == 1e30f && n == 6.0 && o == -32768 && p == 7.5 && q == 8.5);
    EXPECT(r == 255 && s == 9.25f && t == &SFX(marker));
    return 3.14159;
}

static const char SFX(text)[] = "hello";

static CC int SFX(every_type)(bool a, int8_t b, uint8_t c, int16_t d, uint16_t e, int32_t f,
                              uint32_t g, int64_t h, uint64_t i, float j, double k, void *l,
                              const char *m, const void *n, bool a2, int8_t b2, uint8_t c2,
                              int16_t d2, uint16_t e2, int32_t f2, uint32_t g2, int64_t h2,
                              uint64_t i2, float j2, double k2, void *l2, const char *m2,
                              const void *n2) {
    EXPECT(a == true && b == INT8_MIN && c == UINT8_MAX && d == INT16_MIN && e == UINT16_MAX);
    EXPECT(f == INT32_MIN && g == UINT32_MAX && h == INT64_MIN && i == UINT64_MAX);
    EXPECT(j == -1.5f && k == 2.25 && l == &SFX(marker) && m == SFX(text) && n == SFX(text) + 1);
    EXPECT(a2 == false && b2 == INT8_MAX && c2 == 0 && d2 == INT16_MAX && e2 == 0);
    EXPECT(f2 == INT32_MAX && g2 == 0 && h2 == INT64_MAX && i2 == 0 && j2 == 0.0f && k2 == 0.0);
    EXPECT(l2 == NULL && m2 == NULL && n2 == NULL);
    return -7;
}

/* Declared with 64-bit parameters but called through a signature of narrow ones: sees whether
 * the narrow values arrived extended to the full register or stack slot. */
static CC int64_t SFX(sees_full_width)(int64_t a, int64_t b, int64_t c, int64_t d, int64_t e,
                                       int64_t f, int64_t g, int64_t h, int64_t i, int64_t j,
                                       int64_t k, int64_t l) {
    EXPECT(a == -1 && b == 255 && c == -32768 && d == 65535 && e == INT32_MIN);
    EXPECT(f == (int64_t)UINT32_MAX && g == 1);
    EXPECT(h == -128 && i == 200 && j == -2 && k == 40000 && l == -7);
    return 0;
}

/* Returns its argument: called through signatures with a narrower result, whose junk upper bits
 * the caller must ignore. */
static CC uint64_t SFX(raw_result)(uint64_t v) { return v; }

#define RESULT_FN(name, type, value)                                                               \
    static CC type SFX(name)(void) { return value; }
RESULT_FN(ret_bool, bool, true)
RESULT_FN(ret_i8, int8_t, INT8_MIN)
RESULT_FN(ret_u8, uint8_t, UINT8_MAX)
RESULT_FN(ret_i16, int16_t, INT16_MIN)
RESULT_FN(ret_u16, uint16_t, UINT16_MAX)
RESULT_FN(ret_i32, int32_t, INT32_MIN)
RESULT_FN(ret_u32, uint32_t, UINT32_MAX)
RESULT_FN(ret_i64, int64_t, INT64_MIN)
RESULT_FN(ret_u64, uint64_t, UINT64_MAX)
RESULT_FN(ret_float, float, -2.75f)
RESULT_FN(ret_double, double, 1e-310)
RESULT_FN(ret_ptr, void *, &SFX(marker))
#undef RESULT_FN

static int SFX(void_calls);
static CC void SFX(ret_void)(int a) { EXPECT(a == -9); SFX(void_calls)++; }

#define FORTY(P) P(0) P(1) P(2) P(3) P(4) P(5) P(6) P(7) P(8) P(9) P(10) P(11) P(12) P(13) P(14)    \
    P(15) P(16) P(17) P(18) P(19) P(20) P(21) P(22) P(23) P(24) P(25) P(26) P(27) P(28) P(29)     \
    P(30) P(31) P(32) P(33) P(34) P(35) P(36) P(37) P(38) P(39)
#define V(i) ((i) % 2 ? (double)(i) + 0.25 : (i) * -1000 - 7)
static CC int64_t SFX(forty)(int64_t p0, double p1, int64_t p2, double p3, int64_t p4, double p5,
                             int64_t p6, double p7, int64_t p8, double p9, int64_t p10,
                             double p11, int64_t p12, double p13, int64_t p14, double p15,
                             int64_t p16, double p17, int64_t p18, double p19, int64_t p20,
                             double p21, int64_t p22, double p23, int64_t p24, double p25,
                             int64_t p26, double p27, int64_t p28, double p29, int64_t p30,
                             double p31, int64_t p32, double p33, int64_t p34, double p35,
                             int64_t p36, double p37, int64_t p38, double p39) {
    EXPECT_ALIGNED();
#define CHECK_PARAM(i) EXPECT(p##i == V(i));
    FORTY(CHECK_PARAM)
#undef CHECK_PARAM
    return 4040;
}

static void SFX(run)(void) {
    int r32 = 0;
    call_checked("int(void)", CONV, (void *)SFX(no_params), &r32, NULL);
    CHECK(r32 == 42);

    {
        int64_t a = -1, b = 2, c = -3, d = 4, e = INT64_MIN, f = INT64_MAX, g = 7, h = -8,
                i = 0x123456789abcdefLL, r = 0;
        void *args[] = {&a, &b, &c, &d, &e, &f, &g, &h, &i};
        call_checked("int64_t(int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, "
                     "int64_t, int64_t)", CONV, (void *)SFX(ints9), &r, args);
        CHECK(r == -987654321012345LL);
    }
    {
        int v[10] = {-10, 20, -30, 40, -50, 60, -70, 80, INT32_MIN, INT32_MAX};
        void *args[10];
        for (int i = 0; i < 10; i++) args[i] = &v[i];
        call_checked("int(int, int, int, int, int, int, int, int, int, int)", CONV,
                     (void *)SFX(ints10), &r32, args);
        CHECK(r32 == -5);
    }
    {
        double v[10], r = 0;
        void *args[10];
        for (int i = 0; i < 10; i++) v[i] = i * 1.5 - 4.0, args[i] = &v[i];
        call_checked("double(double, double, double, double, double, double, double, double, "
                     "double, double)", CONV, (void *)SFX(doubles10), &r, args);
        CHECK(r == -0.125);
    }
    {
        int a = -1, k = 12345;
        double b = 1.25, f = -3.75, j = 1e300, l = -1e-300, n = 6.0, p = 7.5, q = 8.5, r = 0;
        int8_t c = -128;
        float d = 2.5f, h = -0.5f, m = 1e30f, s = 9.25f;
        uint16_t e = 65535;
        int64_t g = INT64_MIN;
        uint32_t i = 4000000000u;
        int16_t o = -32768;
        uint8_t rr = 255;
        void *t = &SFX(marker);
        void *args[] = {&a, &b, &c, &d, &e, &f, &g, &h, &i, &j,
                        &k, &l, &m, &n, &o, &p, &q, &rr, &s, &t};
        call_checked("double(int, double, int8_t, float, uint16_t, double, int64_t, float, "
                     "uint32_t, double, int, double, float, double, int16_t, double, double, "
                     "uint8_t, float, void *)", CONV, (void *)SFX(mixed), &r, args);
        CHECK(r == 3.14159);
    }
    {
        bool a = true, a2 = false;
        int8_t b = INT8_MIN, b2 = INT8_MAX;
        uint8_t c = UINT8_MAX, c2 = 0;
        int16_t d = INT16_MIN, d2 = INT16_MAX;
        uint16_t e = UINT16_MAX, e2 = 0;
        int32_t f = INT32_MIN, f2 = INT32_MAX;
        uint32_t g = UINT32_MAX, g2 = 0;
        int64_t h = INT64_MIN, h2 = INT64_MAX;
        uint64_t i = UINT64_MAX, i2 = 0;
        float j = -1.5f, j2 = 0.0f;
        double k = 2.25, k2 = -0.0;
        void *l = &SFX(marker), *l2 = NULL;
        const char *m = SFX(text), *m2 = NULL;
        const void *n = SFX(text) + 1, *n2 = NULL;
        void *args[] = {&a,  &b,  &c,  &d,  &e,  &f,  &g,  &h,  &i,  &j,  &k,  &l,  &m,  &n,
                        &a2, &b2, &c2, &d2, &e2, &f2, &g2, &h2, &i2, &j2, &k2, &l2, &m2, &n2};
        call_checked("int(bool, int8_t, uint8_t, int16_t, uint16_t, int32_t, uint32_t, int64_t, "
                     "uint64_t, float, double, void *, const char *, const void *, bool, int8_t, "
                     "uint8_t, int16_t, uint16_t, int32_t, uint32_t, int64_t, uint64_t, float, "
                     "double, void *, const char *, const void *)", CONV,
                     (void *)SFX(every_type), &r32, args);
        CHECK(r32 == -7);
    }
    {
        int8_t a = -1, h = -128;
        uint8_t b = 255, i = 200;
        int16_t c = -32768, j = -2;
        uint16_t d = 65535, k = 40000;
        int32_t e = INT32_MIN, l = -7;
        uint32_t f = UINT32_MAX;
        uint8_t g_raw = 0x01; /* a bool's byte */
        void *args[] = {&a, &b, &c, &d, &e, &f, &g_raw, &h, &i, &j, &k, &l};
        call_checked("int(int8_t, uint8_t, int16_t, uint16_t, int32_t, uint32_t, bool, int8_t, "
                     "uint8_t, int16_t, uint16_t, int32_t)", CONV, (void *)SFX(sees_full_width),
                     &r32, args);
    }

    /* Results. */
    {
        bool b = false; int8_t i8 = 0; uint8_t u8 = 0; int16_t i16 = 0; uint16_t u16 = 0;
        int32_t i32 = 0; uint32_t u32 = 0; int64_t i64 = 0; uint64_t u64 = 0; float f = 0;
        double d = 0; void *p = NULL;
        call_checked("bool(void)", CONV, (void *)SFX(ret_bool), &b, NULL);
        CHECK(b == true);
        call_checked("int8_t(void)", CONV, (void *)SFX(ret_i8), &i8, NULL);
        CHECK(i8 == INT8_MIN);
        call_checked("uint8_t(void)", CONV, (void *)SFX(ret_u8), &u8, NULL);
        CHECK(u8 == UINT8_MAX);
        call_checked("int16_t(void)", CONV, (void *)SFX(ret_i16), &i16, NULL);
        CHECK(i16 == INT16_MIN);
        call_checked("uint16_t(void)", CONV, (void *)SFX(ret_u16), &u16, NULL);
        CHECK(u16 == UINT16_MAX);
        call_checked("int32_t(void)", CONV, (void *)SFX(ret_i32), &i32, NULL);
        CHECK(i32 == INT32_MIN);
        call_checked("uint32_t(void)", CONV, (void *)SFX(ret_u32), &u32, NULL);
        CHECK(u32 == UINT32_MAX);
        call_checked("int64_t(void)", CONV, (void *)SFX(ret_i64), &i64, NULL);
        CHECK(i64 == INT64_MIN);
        call_checked("uint64_t(void)", CONV, (void *)SFX(ret_u64), &u64, NULL);
        CHECK(u64 == UINT64_MAX);
        call_checked("float(void)", CONV, (void *)SFX(ret_float), &f, NULL);
        CHECK(f == -2.75f);
        call_checked("double(void)", CONV, (void *)SFX(ret_double), &d, NULL);
        CHECK(d == 1e-310);
        call_checked("void *(void)", CONV, (void *)SFX(ret_ptr), &p, NULL);
        CHECK(p == &SFX(marker));
        int a = -9;
        void *args[] = {&a};
        call_checked("void(int)", CONV, (void *)SFX(ret_void), NULL, args);
        CHECK(SFX(void_calls) == 2); /* once by cffi_call, once as a frame call */
    }
    {
        uint64_t v;
        void *args[] = {&v};
        int8_t i8;
        v = 0x12345678ffffff80ULL;
        call_checked("int8_t(uint64_t)", CONV, (void *)SFX(raw_result), &i8, args);
        CHECK(i8 == -128);
        uint16_t u16;
        v = 0xaaaabbbbccccddddULL;
        call_checked("uint16_t(uint64_t)", CONV, (void *)SFX(raw_result), &u16, args);
        CHECK(u16 == 0xdddd);
        uint8_t b; /* read as a byte: a bool is 0 or 1 whatever the register's other bits say */
        v = 0x100;
        call_checked("bool(uint64_t)", CONV, (void *)SFX(raw_result), &b, args);
        CHECK(b == 0);
        v = 0xff00000002ULL;
        call_checked("bool(uint64_t)", CONV, (void *)SFX(raw_result), &b, args);
        CHECK(b == 1);
    }
    {
        char text[1024] = "int64_t(";
        int64_t ints[20];
        double doubles[20];
        void *args[40];
        for (int i = 0; i < 40; i++) {
            strcat(text, i % 2 ? "double" : "int64_t");
            strcat(text, i < 39 ? ", " : ")");
            if (i % 2) doubles[i / 2] = (double)i + 0.25, args[i] = &doubles[i / 2];
            else ints[i / 2] = i * -1000 - 7, args[i] = &ints[i / 2];
        }
        int64_t r = 0;
        call_checked(text, CONV, (void *)SFX(forty), &r, args);
        CHECK(r == 4040);
    }
}

#undef FORTY
#undef V
#endif
