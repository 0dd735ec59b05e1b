/*
 * test_closure.c - generic closures under both x86-64 conventions (sysv64, win64), called by
 * compiler-generated code through typed function pointers.
 *
 * Covers: no parameters; integers and doubles past the argument registers; integers and floats
 * mixed past both register files; every scalar type as a parameter with its extreme values;
 * every result type, including the widening of narrow integer and bool results to 64 bits;
 * 40 parameters; stack alignment inside the handler; cffi_closure_set; recursive and
 * cross-convention nested calls; a freed closure returning its default through the dead hook.
 * Every case built on make() runs twice: with generic closures and with frame closures (whose
 * handler finds the arguments with cffi_sig_arg_place and stores the result with
 * cffi_frame_set_result); the frame closure API has its own checks too.
 *
 * The per-convention part is written once, below the #else, and compiled twice: this file
 * includes itself with CC (the function attribute), CONV (the convention name) and SFX (a name
 * suffix) set for each convention.
 */
#ifndef CONV

#include "cffi.h"
#include "check.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* What a checking handler expects to receive and what it returns, as slot values: the low bytes
 * hold the value (little-endian), compared over exactly the type's size. */
typedef struct expect {
    const cffi_sig *sig;
    uint64_t args[48];
    uint64_t result;
    int calls;
    int mismatches;
    int misaligned;
} expect;

static uint64_t D(double d) { uint64_t u; memcpy(&u, &d, sizeof u); return u; }
static uint64_t F(float f) { uint32_t u; memcpy(&u, &f, sizeof u); return u; }
static uint64_t P(const void *p) { return (uint64_t)(uintptr_t)p; }
#define I(x) ((uint64_t)(int64_t)(x))

static void checking_handler(void *ctx, void *ret, void *const *args) {
    expect *e = ctx;
    e->calls++;
    /* The frame address is rsp at entry - 8: 16-aligned iff the stub kept the ABI's alignment. */
    if ((uintptr_t)__builtin_frame_address(0) % 16 != 0) e->misaligned++;
    size_t n = cffi_sig_nparams(e->sig);
    for (size_t i = 0; i < n; i++) {
        size_t size = cffi_type_size(cffi_sig_param(e->sig, i));
        if (memcmp(args[i], &e->args[i], size) != 0) {
            e->mismatches++;
            uint64_t got = 0;
            memcpy(&got, args[i], size);
            fprintf(stderr, "  %s (%s): parameter %zu is 0x%llx, expected 0x%llx\n",
                    cffi_sig_text(e->sig), cffi_sig_convention(e->sig), i,
                    (unsigned long long)got, (unsigned long long)e->args[i]);
        }
    }
    memcpy(ret, &e->result, cffi_type_size(cffi_sig_result(e->sig)));
}

/* The same checks as a frame handler: argument pointers from the frame and the stack area. */
static void checking_frame_handler(void *ctx, void *frame, void *stack) {
    expect *e = ctx;
    void *args[48];
    for (size_t i = 0, n = cffi_sig_nparams(e->sig); i < n; i++) {
        bool on_stack;
        size_t offset = cffi_sig_arg_place(e->sig, i, &on_stack);
        args[i] = (unsigned char *)(on_stack ? stack : frame) + offset;
    }
    uint64_t result = 0;
    checking_handler(ctx, &result, args);
    cffi_frame_set_result(e->sig, frame, &result);
}

/* Which kind of closure make() creates. */
static bool frame_mode;

/* A closure over e for text under conv; e->sig is the closure's signature. */
static cffi_closure *make(const char *text, const char *conv, expect *e) {
    cffi_sig *sig;
    char err[160] = "";
    cffi_status s = cffi_sig_parse(text, conv, &sig, err, sizeof err);
    CHECK_MSG(s == CFFI_OK, "parse %s (%s): %s %s", text, conv, cffi_strerror(s), err);
    if (s != CFFI_OK) exit(1);
    cffi_closure *c = NULL;
    s = frame_mode ? cffi_closure_new_frame(sig, checking_frame_handler, e, &c)
                   : cffi_closure_new(sig, checking_handler, e, &c);
    REQUIRE(s == CFFI_OK && c && cffi_closure_code(c));
    e->sig = cffi_closure_sig(c);
    cffi_sig_free(sig); /* the closure holds its own reference */
    return c;
}

/* The handler ran once, saw every argument as passed and ran on an aligned stack. */
static void check_calls(const char *what, const expect *e, int calls) {
    CHECK_MSG(e->calls == calls, "%s: %d handler calls, expected %d", what, e->calls, calls);
    CHECK_MSG(e->mismatches == 0, "%s: %d parameter mismatches", what, e->mismatches);
    CHECK_MSG(e->misaligned == 0, "%s: handler ran on a misaligned stack", what);
}

static void add_one(void *ctx, void *ret, void *const *args) {
    (void)ctx;
    *(int *)ret = *(const int *)args[0] + 1;
}
static void times_ctx(void *ctx, void *ret, void *const *args) {
    *(int *)ret = *(const int *)args[0] * *(const int *)ctx;
}

/* Recursion through the closure's own address: factorial(n) calls factorial(n - 1) natively. */
typedef struct recursion {
    cffi_closure *self;
    bool ms_abi;
    int depth, max_depth;
} recursion;

static void factorial_handler(void *ctx, void *ret, void *const *args) {
    recursion *r = ctx;
    int64_t n = *(const int64_t *)args[0];
    if (++r->depth > r->max_depth) r->max_depth = r->depth;
    int64_t result = 1;
    if (n > 1) {
        void *code = cffi_closure_code(r->self);
        if (r->ms_abi)
            result = n * ((int64_t(__attribute__((ms_abi)) *)(int64_t))code)(n - 1);
        else
            result = n * ((int64_t(__attribute__((sysv_abi)) *)(int64_t))code)(n - 1);
    }
    r->depth--;
    *(int64_t *)ret = result;
}

/* Dead-hook bookkeeping. */
static const cffi_sig *dead_sig;
static void *dead_code;
static int dead_calls;
static void record_dead_call(const cffi_sig *sig, void *code) {
    dead_sig = sig;
    dead_code = code;
    dead_calls++;
}

#define CONV "sysv64"
#define CC __attribute__((sysv_abi))
#define SFX(name) name##_sysv
#include "test_closure.c" /* the per-convention part below */
#undef CONV
#undef CC
#undef SFX

#define CONV "win64"
#define CC __attribute__((ms_abi))
#define SFX(name) name##_win64
#include "test_closure.c" /* the per-convention part below */
#undef CONV
#undef CC
#undef SFX

/* Nested across conventions: a sysv64 closure whose handler calls a win64 closure. */
static void call_win64_inner(void *ctx, void *ret, void *const *args) {
    double (__attribute__((ms_abi)) *inner)(double, int) = ctx;
    *(double *)ret = inner(*(const double *)args[0], *(const int *)args[1]) * 2.0;
}
static void scale_add(void *ctx, void *ret, void *const *args) {
    (void)ctx;
    *(double *)ret = *(const double *)args[0] * 10.0 + *(const int *)args[1];
}

static void test_cross_convention_nesting(void) {
    cffi_sig *inner_sig, *outer_sig;
    REQUIRE(cffi_sig_parse("double(double, int)", "win64", &inner_sig, NULL, 0) == CFFI_OK);
    REQUIRE(cffi_sig_parse("double(double, int)", "sysv64", &outer_sig, NULL, 0) == CFFI_OK);
    cffi_closure *inner, *outer;
    REQUIRE(cffi_closure_new(inner_sig, scale_add, NULL, &inner) == CFFI_OK);
    REQUIRE(cffi_closure_new(outer_sig, call_win64_inner, cffi_closure_code(inner), &outer) ==
            CFFI_OK);
    double (__attribute__((sysv_abi)) *outer_fn)(double, int) =
        (double (__attribute__((sysv_abi)) *)(double, int))cffi_closure_code(outer);
    CHECK(outer_fn(1.5, 3) == (1.5 * 10.0 + 3) * 2.0);
    cffi_closure_free(outer);
    cffi_closure_free(inner);
    cffi_sig_free(inner_sig);
    cffi_sig_free(outer_sig);
}

/* The frame closure API around the handler: re-pointing, the setters of the other kind, a
 * handler that stores nothing, places out of range. */
static int frame_add(void *ctx, void *frame, void *stack, int k) {
    (void)stack;
    const cffi_sig *sig = ctx;
    bool on_stack;
    size_t off = cffi_sig_arg_place(sig, 0, &on_stack);
    CHECK(!on_stack);
    int a;
    memcpy(&a, (unsigned char *)frame + off, sizeof a);
    int r = a + k;
    cffi_frame_set_result(sig, frame, &r);
    return r;
}
static void plus_one_frame(void *ctx, void *frame, void *stack) { frame_add(ctx, frame, stack, 1); }
static void plus_ten_frame(void *ctx, void *frame, void *stack) { frame_add(ctx, frame, stack, 10); }
static void stores_nothing(void *ctx, void *frame, void *stack) { (void)ctx, (void)frame, (void)stack; }

/* Call c as int(int) under System V or Microsoft x64. */
static int call_int(cffi_closure *c, bool ms_abi, int x) {
    void *code = cffi_closure_code(c);
    if (ms_abi) return ((int(__attribute__((ms_abi)) *)(int))code)(x);
    return ((int(__attribute__((sysv_abi)) *)(int))code)(x);
}

static void test_frame_api(void) {
    static const char *const convs[] = {"sysv64", "win64"};
    for (int k = 0; k < 2; k++) {
        cffi_sig *sig;
        REQUIRE(cffi_sig_parse("int(int)", convs[k], &sig, NULL, 0) == CFFI_OK);
        cffi_closure *c;
        REQUIRE(cffi_closure_new_frame(sig, plus_one_frame, sig, &c) == CFFI_OK);
        int got = call_int(c, k, 41);
        CHECK_MSG(got == 42, "%s frame closure: %d", convs[k], got);
        cffi_closure_set(c, add_one, NULL); /* the other kind's setter: ignored */
        got = call_int(c, k, 41);
        CHECK_MSG(got == 42, "%s after cffi_closure_set: %d", convs[k], got);
        cffi_closure_set_frame(c, plus_ten_frame, sig);
        got = call_int(c, k, 41);
        CHECK_MSG(got == 51, "%s after cffi_closure_set_frame: %d", convs[k], got);
        cffi_closure_set_frame(c, stores_nothing, NULL);
        got = call_int(c, k, 41);
        CHECK_MSG(got == 0, "%s handler storing nothing: %d", convs[k], got);
        cffi_closure_free(c);

        /* A generic closure ignores the frame setter. */
        REQUIRE(cffi_closure_new(sig, add_one, NULL, &c) == CFFI_OK);
        cffi_closure_set_frame(c, plus_ten_frame, sig);
        got = call_int(c, k, 41);
        CHECK_MSG(got == 42, "%s generic closure after cffi_closure_set_frame: %d", convs[k], got);
        cffi_closure_free(c);

        bool on_stack = true;
        CHECK(cffi_sig_arg_place(sig, 1, &on_stack) == 0 && !on_stack);
        CHECK(cffi_sig_arg_place(NULL, 0, &on_stack) == 0 && !on_stack);
        cffi_sig_free(sig);
    }
    /* Places under System V: integers in rdi.., doubles in xmm0.., the rest on the stack. */
    cffi_sig *sig;
    REQUIRE(cffi_sig_parse("void(int, double, int, int, int, int, int, int)", "sysv64", &sig,
                           NULL, 0) == CFFI_OK);
    bool on_stack;
    CHECK(cffi_sig_arg_place(sig, 0, &on_stack) == 0 && !on_stack);
    CHECK(cffi_sig_arg_place(sig, 1, &on_stack) == 48 && !on_stack);
    CHECK(cffi_sig_arg_place(sig, 6, &on_stack) == 40 && !on_stack);
    CHECK(cffi_sig_arg_place(sig, 7, &on_stack) == 0 && on_stack);
    cffi_sig_free(sig);
    cffi_closure *c = (cffi_closure *)&c;
    CHECK(cffi_closure_new_frame(NULL, plus_one_frame, NULL, &c) == CFFI_EINVAL && c == NULL);
}

static void test_invalid_arguments(void) {
    cffi_sig *sig;
    REQUIRE(cffi_sig_parse("int(int)", "sysv64", &sig, NULL, 0) == CFFI_OK);
    cffi_closure *c = (cffi_closure *)&c;
    CHECK(cffi_closure_new(NULL, add_one, NULL, &c) == CFFI_EINVAL && c == NULL);
    CHECK(cffi_closure_new(sig, NULL, NULL, &c) == CFFI_EINVAL && c == NULL);
    CHECK(cffi_closure_new(sig, add_one, NULL, NULL) == CFFI_EINVAL);
    cffi_closure_free(NULL); /* ignored */
    cffi_sig_free(sig);
}

int main(void) {
    run_sysv();
    run_win64();
    frame_mode = true;
    run_sysv();
    run_win64();
    frame_mode = false;
    test_frame_api();
    test_cross_convention_nesting();
    test_invalid_arguments();
    return CHECK_DONE();
}

#else /* ------------------------------------------------------------- per-convention part */

/* A typed view of closure c's code under this pass's convention. */
#define CODE_AS(ret, params, c) ((ret(CC *) params)cffi_closure_code(c))

static void SFX(finish)(cffi_closure *c) { cffi_closure_free(c); }

static void SFX(test_no_params)(void) {
    expect e = {.result = I(42)};
    cffi_closure *c = make("int(void)", CONV, &e);
    CHECK(CODE_AS(int, (void), c)() == 42);
    check_calls(CONV " int(void)", &e, 1);
    SFX(finish)(c);
}

static void SFX(test_ints_past_registers)(void) {
    expect e = {.args = {I(-1), I(2), I(-3), I(4), I(INT64_MIN), I(INT64_MAX), I(7), I(-8),
                         I(0x123456789abcdefLL)},
                .result = I(-987654321012345LL)};
    cffi_closure *c = make("int64_t(int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, "
                           "int64_t, int64_t, int64_t)", CONV, &e);
    int64_t r = CODE_AS(int64_t, (int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t,
                                  int64_t, int64_t), c)(-1, 2, -3, 4, INT64_MIN, INT64_MAX, 7, -8,
                                                        0x123456789abcdefLL);
    CHECK(r == -987654321012345LL);
    check_calls(CONV " 9 x int64_t", &e, 1);
    SFX(finish)(c);

    /* Narrow ints in stack slots: the slot's upper bytes are not part of the value. */
    expect e2 = {.args = {I(-10), I(20), I(-30), I(40), I(-50), I(60), I(-70), I(80), I(INT32_MIN),
                          I(INT32_MAX)},
                 .result = I(-5)};
    c = make("int(int, int, int, int, int, int, int, int, int, int)", CONV, &e2);
    CHECK(CODE_AS(int, (int, int, int, int, int, int, int, int, int, int), c)(
              -10, 20, -30, 40, -50, 60, -70, 80, INT32_MIN, INT32_MAX) == -5);
    check_calls(CONV " 10 x int", &e2, 1);
    SFX(finish)(c);
}

static void SFX(test_doubles_past_registers)(void) {
    expect e = {.result = D(-0.125)};
    for (int i = 0; i < 10; i++) e.args[i] = D(i * 1.5 - 4.0);
    cffi_closure *c = make("double(double, double, double, double, double, double, double, "
                           "double, double, double)", CONV, &e);
    double r = CODE_AS(double, (double, double, double, double, double, double, double, double,
                                double, double), c)(-4.0, -2.5, -1.0, 0.5, 2.0, 3.5, 5.0, 6.5,
                                                    8.0, 9.5);
    CHECK(r == -0.125);
    check_calls(CONV " 10 x double", &e, 1);
    SFX(finish)(c);
}

static void SFX(test_mixed)(void) {
    static char marker;
    expect e = {.args = {I(-1), D(1.25), I(-128), F(2.5f), I(65535), D(-3.75), I(INT64_MIN),
                         F(-0.5f), I(4000000000u), D(1e300), I(12345), D(-1e-300), F(1e30f),
                         D(6.0), I(-32768), D(7.5), D(8.5), I(255), F(9.25f), P(&marker)},
                .result = D(3.14159)};
    cffi_closure *c = make("double(int, double, int8_t, float, uint16_t, double, int64_t, float, "
                           "uint32_t, double, int, double, float, double, int16_t, double, "
                           "double, uint8_t, float, void *)", CONV, &e);
    double r = CODE_AS(double, (int, double, int8_t, float, uint16_t, double, int64_t, float,
                                uint32_t, double, int, double, float, double, int16_t, double,
                                double, uint8_t, float, void *),
                       c)(-1, 1.25, -128, 2.5f, 65535, -3.75, INT64_MIN, -0.5f, 4000000000u,
                          1e300, 12345, -1e-300, 1e30f, 6.0, -32768, 7.5, 8.5, 255, 9.25f,
                          &marker);
    CHECK(r == 3.14159);
    check_calls(CONV " mixed", &e, 1);
    SFX(finish)(c);
}

/* Every scalar parameter type, twice: once early (registers), once late (stack). */
static void SFX(test_every_param_type)(void) {
    static const char text[] = "hello";
    expect e = {.args = {I(1), I(INT8_MIN), I(UINT8_MAX), I(INT16_MIN), I(UINT16_MAX),
                         I(INT32_MIN), I(UINT32_MAX), I(INT64_MIN), UINT64_MAX, F(-1.5f),
                         D(2.25), P(&e), P(text), P(text + 1),
                         I(0), I(INT8_MAX), I(0), I(INT16_MAX), I(0), I(INT32_MAX), I(0),
                         I(INT64_MAX), I(0), F(0.0f), D(-0.0), P(NULL), P(NULL), P(NULL)},
                .result = I(-7)};
    cffi_closure *c = make("int(bool, int8_t, uint8_t, int16_t, uint16_t, int32_t, uint32_t, "
                           "int64_t, uint64_t, float, double, void *, const char *, "
                           "const void *, bool, int8_t, uint8_t, int16_t, uint16_t, int32_t, "
                           "uint32_t, int64_t, uint64_t, float, double, void *, const char *, "
                           "const void *)", CONV, &e);
    int r = CODE_AS(int, (bool, int8_t, uint8_t, int16_t, uint16_t, int32_t, uint32_t, int64_t,
                          uint64_t, float, double, void *, const char *, const void *, bool,
                          int8_t, uint8_t, int16_t, uint16_t, int32_t, uint32_t, int64_t,
                          uint64_t, float, double, void *, const char *, const void *),
                    c)(true, INT8_MIN, UINT8_MAX, INT16_MIN, UINT16_MAX, INT32_MIN, UINT32_MAX,
                       INT64_MIN, UINT64_MAX, -1.5f, 2.25, &e, text, text + 1, false, INT8_MAX, 0,
                       INT16_MAX, 0, INT32_MAX, 0, INT64_MAX, 0, 0.0f, -0.0, NULL, NULL, NULL);
    CHECK(r == -7);
    check_calls(CONV " every parameter type", &e, 1);
    SFX(finish)(c);
}

/* Every result type. Integer results are also read through a uint64_t view of the same code,
 * which sees the whole of rax: narrow results must arrive sign- or zero-extended. */
static void SFX(test_every_result_type)(void) {
    static const struct {
        const char *text;
        uint64_t handler_result; /* what the handler writes (result-type size) */
        uint64_t rax;            /* the whole register the caller must see */
    } ints[] = {
        {"bool(void)", 1, 1},
        {"int8_t(void)", I(INT8_MIN), I(INT8_MIN)},
        {"int8_t(void)", I(-1), I(-1)},
        {"uint8_t(void)", UINT8_MAX, UINT8_MAX},
        {"int16_t(void)", I(INT16_MIN), I(INT16_MIN)},
        {"uint16_t(void)", UINT16_MAX, UINT16_MAX},
        {"int32_t(void)", I(INT32_MIN), I(INT32_MIN)},
        {"uint32_t(void)", UINT32_MAX, UINT32_MAX},
        {"int64_t(void)", I(INT64_MIN), I(INT64_MIN)},
        {"uint64_t(void)", UINT64_MAX, UINT64_MAX},
        {"void *(void)", 0xdeadbeefcafeULL, 0xdeadbeefcafeULL},
    };
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        expect e = {.result = ints[i].handler_result};
        cffi_closure *c = make(ints[i].text, CONV, &e);
        uint64_t rax = CODE_AS(uint64_t, (void), c)();
        CHECK_MSG(rax == ints[i].rax, CONV " %s: rax 0x%llx, expected 0x%llx", ints[i].text,
                  (unsigned long long)rax, (unsigned long long)ints[i].rax);
        check_calls(ints[i].text, &e, 1);
        SFX(finish)(c);
    }

    expect eb = {.result = 1};
    cffi_closure *c = make("bool(void)", CONV, &eb);
    CHECK(CODE_AS(bool, (void), c)() == true);
    SFX(finish)(c);

    expect e8 = {.result = I(-100)};
    c = make("int8_t(void)", CONV, &e8);
    CHECK(CODE_AS(int8_t, (void), c)() == -100);
    SFX(finish)(c);

    expect eu = {.result = 0xfedcba9876543210ULL};
    c = make("uint64_t(void)", CONV, &eu);
    CHECK(CODE_AS(uint64_t, (void), c)() == 0xfedcba9876543210ULL);
    SFX(finish)(c);

    expect ef = {.args = {F(1.5f)}, .result = F(-2.75f)};
    c = make("float(float)", CONV, &ef);
    CHECK(CODE_AS(float, (float), c)(1.5f) == -2.75f);
    check_calls(CONV " float(float)", &ef, 1);
    SFX(finish)(c);

    expect ed = {.result = D(1e-310)}; /* a subnormal survives untouched */
    c = make("double(void)", CONV, &ed);
    CHECK(CODE_AS(double, (void), c)() == 1e-310);
    SFX(finish)(c);

    expect ep = {.args = {P(&ep)}, .result = P(&ep)};
    c = make("void *(void *)", CONV, &ep);
    CHECK(CODE_AS(void *, (void *), c)(&ep) == &ep);
    check_calls(CONV " void *(void *)", &ep, 1);
    SFX(finish)(c);

    expect ev = {.args = {I(-9)}};
    c = make("void(int)", CONV, &ev);
    CODE_AS(void, (int), c)(-9);
    check_calls(CONV " void(int)", &ev, 1);
    SFX(finish)(c);
}

/* 40 parameters, int64_t and double alternating: most of them on the stack. */
#define FORTY_TYPES                                                                                \
    int64_t, double, int64_t, double, int64_t, double, int64_t, double, int64_t, double, int64_t,  \
        double, int64_t, double, int64_t, double, int64_t, double, int64_t, double, int64_t,       \
        double, int64_t, double, int64_t, double, int64_t, double, int64_t, double, int64_t,       \
        double, int64_t, double, int64_t, double, int64_t, double, int64_t, double
#define V(i) ((i) % 2 ? (double)(i) + 0.25 : (i) * -1000 - 7)
static void SFX(test_forty_params)(void) {
    char text[1024] = "int64_t(";
    expect e = {.result = I(4040)};
    for (int i = 0; i < 40; i++) {
        strcat(text, i % 2 ? "double" : "int64_t");
        strcat(text, i < 39 ? ", " : ")");
        e.args[i] = i % 2 ? D((double)i + 0.25) : I(i * -1000 - 7);
    }
    cffi_closure *c = make(text, CONV, &e);
    int64_t r = CODE_AS(int64_t, (FORTY_TYPES), c)(
        V(0), V(1), V(2), V(3), V(4), V(5), V(6), V(7), V(8), V(9), V(10), V(11), V(12), V(13),
        V(14), V(15), V(16), V(17), V(18), V(19), V(20), V(21), V(22), V(23), V(24), V(25), V(26),
        V(27), V(28), V(29), V(30), V(31), V(32), V(33), V(34), V(35), V(36), V(37), V(38),
        V(39));
    CHECK(r == 4040);
    check_calls(CONV " 40 parameters", &e, 1);
    SFX(finish)(c);
}
#undef V
#undef FORTY_TYPES

static void SFX(test_set)(void) {
    cffi_sig *sig;
    REQUIRE(cffi_sig_parse("int(int)", CONV, &sig, NULL, 0) == CFFI_OK);
    cffi_closure *c;
    REQUIRE(cffi_closure_new(sig, add_one, NULL, &c) == CFFI_OK);
    CHECK(cffi_closure_sig(c) == sig);
    void *code = cffi_closure_code(c);
    CHECK(CODE_AS(int, (int), c)(41) == 42);
    int factor = 3;
    cffi_closure_set(c, times_ctx, &factor);
    CHECK(cffi_closure_code(c) == code);
    CHECK(CODE_AS(int, (int), c)(41) == 123);
    factor = -2;
    CHECK(CODE_AS(int, (int), c)(41) == -82);
    cffi_closure_free(c);
    cffi_sig_free(sig);
}

static void SFX(test_recursion)(void) {
    cffi_sig *sig;
    REQUIRE(cffi_sig_parse("int64_t(int64_t)", CONV, &sig, NULL, 0) == CFFI_OK);
    recursion r = {.ms_abi = strcmp(CONV, "win64") == 0};
    REQUIRE(cffi_closure_new(sig, factorial_handler, &r, &r.self) == CFFI_OK);
    CHECK(CODE_AS(int64_t, (int64_t), r.self)(20) == 2432902008176640000LL);
    CHECK(r.max_depth == 20 && r.depth == 0);
    cffi_closure_free(r.self);
    cffi_sig_free(sig);
}

/* After free the address still answers: the default value, a report through the dead hook, and
 * (with stack parameters) a stack the caller finds as it left it. */
static void SFX(test_dead)(void) {
    expect e = {.result = I(5)};
    for (int i = 0; i < 9; i++) e.args[i] = I(i);
    cffi_closure *c = make("int(int, int, int, int, int, int, int, int, int)", CONV, &e);
    const cffi_sig *sig = cffi_closure_sig(c);
    int (CC *fn)(int, int, int, int, int, int, int, int, int) =
        CODE_AS(int, (int, int, int, int, int, int, int, int, int), c);
    CHECK(fn(0, 1, 2, 3, 4, 5, 6, 7, 8) == 5);
    int fallback = -77;
    cffi_closure_set_default(c, &fallback);
    cffi_set_dead_hook(record_dead_call);
    dead_calls = 0;
    cffi_closure_free(c);
    CHECK(fn(0, 1, 2, 3, 4, 5, 6, 7, 8) == -77);
    CHECK(fn(9, 9, 9, 9, 9, 9, 9, 9, 9) == -77);
    CHECK(dead_calls == 2);
    CHECK(dead_code == (void *)fn);
    CHECK(dead_sig == sig);
    CHECK(e.calls == 1);

    expect ed = {.result = D(1.0)};
    c = make("double(void)", CONV, &ed);
    double (CC *dfn)(void) = CODE_AS(double, (void), c);
    double fallback_d = 2.5;
    cffi_closure_set_default(c, &fallback_d);
    cffi_closure_free(c);
    CHECK(dfn() == 2.5);
    CHECK(dead_calls == 3);
    cffi_set_dead_hook(NULL);
}

static void SFX(run)(void) {
    SFX(test_no_params)();
    SFX(test_ints_past_registers)();
    SFX(test_doubles_past_registers)();
    SFX(test_mixed)();
    SFX(test_every_param_type)();
    SFX(test_every_result_type)();
    SFX(test_forty_params)();
    SFX(test_set)();
    SFX(test_recursion)();
    SFX(test_dead)();
}

#undef CODE_AS
#endif
