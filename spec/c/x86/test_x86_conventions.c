/*
 * test_x86_conventions.c - cdecl, stdcall, fastcall and thiscall against GCC's own code, in both
 * directions, for every shape in SHAPES below:
 *   - a closure called by compiler-generated code through a typed function pointer: the handler
 *     sees each argument, the caller sees the result, ESP is the same before and after the call
 *     (the closure popped exactly what the convention says), the x87 stack is empty after it;
 *   - cffi_call of a compiled function: the function sees each argument, cffi_call returns its
 *     result, the x87 stack is empty after it;
 *   - cffi_call of the closure itself (entry stub and call stub back to back);
 *   - both cffi_call checks again as frame calls (cffi_call_frame, arguments stored in place).
 * Shapes: registers only; a third integer past fastcall's two registers; narrow integers in
 * registers and a narrow result; a 64-bit integer before, between and after the register
 * arguments (GCC counts it against the registers it cannot use); float and double before and
 * between register arguments; pointer and bool arguments in registers; float, double, 64-bit
 * and pointer results; no parameters; 24 mixed parameters.
 * Also: the bytes each convention pops, measured in assembly, for a live and a freed closure.
 * Each check runs with a generic closure and with a frame closure (cffi_closure_new_frame).
 *
 * Built with -fno-defer-pop so that GCC adjusts ESP right after every call (see READ_ESP).
 */
#include "call_frame.h"
#include "x86_support.h"

/* X(name, text, R, RT, params, args, checks): a shape as its signature text, its C prototype,
 * the argument values (V) a caller passes, and the checks (CK) a compiled callee makes. */
#define CK(a, CT, i) callee_bad += value_mismatch("callee", CT, i, &(__typeof__(a)){a})
#define SHAPES(X)                                                                                \
    X(ii, "int(int, int)", int, CFFI_T_INT32, (int a0, int a1),                                  \
      (V(int, CFFI_T_INT32, 0), V(int, CFFI_T_INT32, 1)),                                        \
      (CK(a0, CFFI_T_INT32, 0), CK(a1, CFFI_T_INT32, 1)))                                        \
    X(iii, "unsigned(int, unsigned, int)", unsigned, CFFI_T_UINT32, (int a0, unsigned a1, int a2), \
      (V(int, CFFI_T_INT32, 0), V(unsigned, CFFI_T_UINT32, 1), V(int, CFFI_T_INT32, 2)),          \
      (CK(a0, CFFI_T_INT32, 0), CK(a1, CFFI_T_UINT32, 1), CK(a2, CFFI_T_INT32, 2)))              \
    X(narrow, "short(signed char, short, unsigned char)", short, CFFI_T_INT16,                   \
      (signed char a0, short a1, unsigned char a2),                                              \
      (V(signed char, CFFI_T_INT8, 0), V(short, CFFI_T_INT16, 1),                                \
       V(unsigned char, CFFI_T_UINT8, 2)),                                                       \
      (CK(a0, CFFI_T_INT8, 0), CK(a1, CFFI_T_INT16, 1), CK(a2, CFFI_T_UINT8, 2)))                \
    X(ll_i_i, "long long(long long, int, int)", long long, CFFI_T_INT64,                         \
      (long long a0, int a1, int a2),                                                            \
      (V(long long, CFFI_T_INT64, 0), V(int, CFFI_T_INT32, 1), V(int, CFFI_T_INT32, 2)),         \
      (CK(a0, CFFI_T_INT64, 0), CK(a1, CFFI_T_INT32, 1), CK(a2, CFFI_T_INT32, 2)))               \
    X(i_ll_i, "unsigned long long(int, unsigned long long, int)", unsigned long long,            \
      CFFI_T_UINT64, (int a0, unsigned long long a1, int a2),                                    \
      (V(int, CFFI_T_INT32, 0), V(unsigned long long, CFFI_T_UINT64, 1),                         \
       V(int, CFFI_T_INT32, 2)),                                                                 \
      (CK(a0, CFFI_T_INT32, 0), CK(a1, CFFI_T_UINT64, 1), CK(a2, CFFI_T_INT32, 2)))              \
    X(i_i_ll, "long long(int, int, long long, int)", long long, CFFI_T_INT64,                    \
      (int a0, int a1, long long a2, int a3),                                                    \
      (V(int, CFFI_T_INT32, 0), V(int, CFFI_T_INT32, 1), V(long long, CFFI_T_INT64, 2),          \
       V(int, CFFI_T_INT32, 3)),                                                                 \
      (CK(a0, CFFI_T_INT32, 0), CK(a1, CFFI_T_INT32, 1), CK(a2, CFFI_T_INT64, 2),                \
       CK(a3, CFFI_T_INT32, 3)))                                                                 \
    X(d_i_f_i, "double(double, int, float, int)", double, CFFI_T_DOUBLE,                         \
      (double a0, int a1, float a2, int a3),                                                     \
      (V(double, CFFI_T_DOUBLE, 0), V(int, CFFI_T_INT32, 1), V(float, CFFI_T_FLOAT, 2),          \
       V(int, CFFI_T_INT32, 3)),                                                                 \
      (CK(a0, CFFI_T_DOUBLE, 0), CK(a1, CFFI_T_INT32, 1), CK(a2, CFFI_T_FLOAT, 2),               \
       CK(a3, CFFI_T_INT32, 3)))                                                                 \
    X(f_p_b, "float(float, void *, bool)", float, CFFI_T_FLOAT, (float a0, void *a1, bool a2),   \
      (V(float, CFFI_T_FLOAT, 0), V(void *, CFFI_T_PTR, 1), V(bool, CFFI_T_BOOL, 2)),            \
      (CK(a0, CFFI_T_FLOAT, 0), CK(a1, CFFI_T_PTR, 1), CK(a2, CFFI_T_BOOL, 2)))                  \
    X(this_like, "void *(void *, int, double)", void *, CFFI_T_PTR,                              \
      (void *a0, int a1, double a2),                                                             \
      (V(void *, CFFI_T_PTR, 0), V(int, CFFI_T_INT32, 1), V(double, CFFI_T_DOUBLE, 2)),          \
      (CK(a0, CFFI_T_PTR, 0), CK(a1, CFFI_T_INT32, 1), CK(a2, CFFI_T_DOUBLE, 2)))                \
    X(none, "double(void)", double, CFFI_T_DOUBLE, (void), (), ((void)0))                        \
    X(bool_ret, "bool(unsigned short, bool)", bool, CFFI_T_BOOL,                                 \
      (unsigned short a0, bool a1),                                                              \
      (V(unsigned short, CFFI_T_UINT16, 0), V(bool, CFFI_T_BOOL, 1)),                            \
      (CK(a0, CFFI_T_UINT16, 0), CK(a1, CFFI_T_BOOL, 1)))                                        \
    X(many, "double(int, long long, double, float, signed char, short, unsigned char, "          \
            "unsigned short, bool, void *, int, long long, float, double, int, unsigned, "       \
            "long long, double, int, float, signed char, int, unsigned long long, double)",      \
      double, CFFI_T_DOUBLE,                                                                     \
      (int a0, long long a1, double a2, float a3, signed char a4, short a5, unsigned char a6,    \
       unsigned short a7, bool a8, void *a9, int a10, long long a11, float a12, double a13,      \
       int a14, unsigned a15, long long a16, double a17, int a18, float a19, signed char a20,    \
       int a21, unsigned long long a22, double a23),                                             \
      (V(int, CFFI_T_INT32, 0), V(long long, CFFI_T_INT64, 1), V(double, CFFI_T_DOUBLE, 2),      \
       V(float, CFFI_T_FLOAT, 3), V(signed char, CFFI_T_INT8, 4), V(short, CFFI_T_INT16, 5),     \
       V(unsigned char, CFFI_T_UINT8, 6), V(unsigned short, CFFI_T_UINT16, 7),                   \
       V(bool, CFFI_T_BOOL, 8), V(void *, CFFI_T_PTR, 9), V(int, CFFI_T_INT32, 10),              \
       V(long long, CFFI_T_INT64, 11), V(float, CFFI_T_FLOAT, 12), V(double, CFFI_T_DOUBLE, 13), \
       V(int, CFFI_T_INT32, 14), V(unsigned, CFFI_T_UINT32, 15), V(long long, CFFI_T_INT64, 16), \
       V(double, CFFI_T_DOUBLE, 17), V(int, CFFI_T_INT32, 18), V(float, CFFI_T_FLOAT, 19),       \
       V(signed char, CFFI_T_INT8, 20), V(int, CFFI_T_INT32, 21),                                \
       V(unsigned long long, CFFI_T_UINT64, 22), V(double, CFFI_T_DOUBLE, 23)),                  \
      (CK(a0, CFFI_T_INT32, 0), CK(a1, CFFI_T_INT64, 1), CK(a2, CFFI_T_DOUBLE, 2),               \
       CK(a3, CFFI_T_FLOAT, 3), CK(a4, CFFI_T_INT8, 4), CK(a5, CFFI_T_INT16, 5),                 \
       CK(a6, CFFI_T_UINT8, 6), CK(a7, CFFI_T_UINT16, 7), CK(a8, CFFI_T_BOOL, 8),                \
       CK(a9, CFFI_T_PTR, 9), CK(a10, CFFI_T_INT32, 10), CK(a11, CFFI_T_INT64, 11),              \
       CK(a12, CFFI_T_FLOAT, 12), CK(a13, CFFI_T_DOUBLE, 13), CK(a14, CFFI_T_INT32, 14),         \
       CK(a15, CFFI_T_UINT32, 15), CK(a16, CFFI_T_INT64, 16), CK(a17, CFFI_T_DOUBLE, 17),        \
       CK(a18, CFFI_T_INT32, 18), CK(a19, CFFI_T_FLOAT, 19), CK(a20, CFFI_T_INT8, 20),           \
       CK(a21, CFFI_T_INT32, 21), CK(a22, CFFI_T_UINT64, 22), CK(a23, CFFI_T_DOUBLE, 23)))

#define UNPAREN(...) __VA_ARGS__

static int callee_bad, callee_calls;

/* For one convention and one shape: a caller (compiled code calling fn through a typed pointer,
 * reporting the result and how ESP moved) and a callee (compiled code checking its arguments). */
#define DEFINE_FUNCS(conv, name, text, R, RT, params, args, checks)                              \
    static __attribute__((noinline)) void caller_##conv##_##name(void *fn, void *ret,            \
                                                                   intptr_t *esp_moved) {        \
        typedef R(CC_##conv * fn_t) params;                                                      \
        fn_t f = (fn_t)fn;                                                                       \
        uintptr_t before = READ_ESP();                                                           \
        R r = f args;                                                                            \
        uintptr_t after = READ_ESP();                                                            \
        *esp_moved = (intptr_t)(after - before);                                                 \
        memcpy(ret, &r, sizeof r);                                                               \
    }                                                                                            \
    static __attribute__((noinline)) R CC_##conv callee_##conv##_##name params {                 \
        callee_calls++;                                                                          \
        UNPAREN checks;                                                                          \
        return V(R, RT, RESULT_POS);                                                             \
    }

#define DEFINE_CDECL(...) DEFINE_FUNCS(cdecl, __VA_ARGS__)
#define DEFINE_STDCALL(...) DEFINE_FUNCS(stdcall, __VA_ARGS__)
#define DEFINE_FASTCALL(...) DEFINE_FUNCS(fastcall, __VA_ARGS__)
#define DEFINE_THISCALL(...) DEFINE_FUNCS(thiscall, __VA_ARGS__)
SHAPES(DEFINE_CDECL)
SHAPES(DEFINE_STDCALL)
SHAPES(DEFINE_FASTCALL)
SHAPES(DEFINE_THISCALL)

typedef struct shape_case {
    const char *conv, *text;
    void (*caller)(void *fn, void *ret, intptr_t *esp_moved);
    void *callee;
} shape_case;

#define CASE(conv, name, text, ...) {#conv, text, caller_##conv##_##name, (void *)callee_##conv##_##name},
#define CASE_CDECL(...) CASE(cdecl, __VA_ARGS__)
#define CASE_STDCALL(...) CASE(stdcall, __VA_ARGS__)
#define CASE_FASTCALL(...) CASE(fastcall, __VA_ARGS__)
#define CASE_THISCALL(...) CASE(thiscall, __VA_ARGS__)
static const shape_case cases[] = {
    SHAPES(CASE_CDECL) SHAPES(CASE_STDCALL) SHAPES(CASE_FASTCALL) SHAPES(CASE_THISCALL)};

/* The closure side: a handler that checks its arguments and returns the expected result. */
typedef struct probe {
    const cffi_sig *sig;
    int calls, bad, misaligned;
} probe;

static void checking_handler(void *ctx, void *ret, void *const *args) {
    probe *p = ctx;
    p->calls++;
    _Alignas(16) char aligned_local[16];
    uintptr_t where;
    __asm__("" : "=r"(where) : "0"(aligned_local)); /* hide the alignment GCC assumes */
    if (where % 16 != 0) p->misaligned++;
    for (size_t i = 0; i < cffi_sig_nparams(p->sig); i++)
        p->bad += value_mismatch("handler", cffi_sig_param(p->sig, i), (unsigned)i, args[i]);
    cffi_type rt = cffi_sig_result(p->sig);
    if (rt != CFFI_T_VOID) value_of(rt, RESULT_POS, ret);
}

/* The same checks as a frame handler: argument pointers from the frame and the stack area. */
static void checking_frame_handler(void *ctx, void *frame, void *stack) {
    probe *p = ctx;
    size_t n = cffi_sig_nparams(p->sig);
    void *args[n ? n : 1];
    for (size_t i = 0; i < n; i++) {
        bool on_stack;
        size_t offset = cffi_sig_arg_place(p->sig, i, &on_stack);
        args[i] = (unsigned char *)(on_stack ? stack : frame) + offset;
    }
    uint64_t result = 0;
    checking_handler(ctx, &result, args);
    cffi_frame_set_result(p->sig, frame, &result);
}

/* cffi_call of fn with the shape's argument values, or the same call as a frame call
 * (cffi_call_frame, arguments stored in place by call_frame.h); 0 if the result is the expected
 * one. */
static int call_through_cffi(const cffi_sig *sig, void *fn, bool as_frame_call) {
    size_t n = cffi_sig_nparams(sig);
    uint64_t slots[n ? n : 1];
    void *args[n ? n : 1];
    for (size_t i = 0; i < n; i++) {
        value_of(cffi_sig_param(sig, i), (unsigned)i, &slots[i]);
        args[i] = &slots[i];
    }
    uint64_t result = 0;
    if (as_frame_call) {
        REQUIRE(call_frame_typed(sig, fn, &result, args) == CFFI_OK);
        return value_mismatch("cffi_call_frame result", cffi_sig_result(sig), RESULT_POS,
                              &result);
    }
    REQUIRE(cffi_call(sig, fn, &result, args) == CFFI_OK);
    return value_mismatch("cffi_call result", cffi_sig_result(sig), RESULT_POS, &result);
}

static void run_case(const shape_case *c, bool frame) {
    char err[160];
    cffi_sig *sig = NULL;
    cffi_status s = cffi_sig_parse(c->text, c->conv, &sig, err, sizeof err);
    REQUIRE(s == CFFI_OK);
    CHECK(strcmp(cffi_sig_convention(sig), c->conv) == 0);

    probe p = {.sig = sig};
    cffi_closure *cl = NULL;
    REQUIRE((frame ? cffi_closure_new_frame(sig, checking_frame_handler, &p, &cl)
                   : cffi_closure_new(sig, checking_handler, &p, &cl)) == CFFI_OK);
    void *code = cffi_closure_code(cl);

    /* Compiled code calls the closure. */
    uint64_t got = 0;
    intptr_t esp_moved = -1;
    c->caller(code, &got, &esp_moved);
    CHECK_MSG(p.calls == 1 && p.bad == 0, "%s %s: handler saw %d calls, %d bad arguments",
              c->conv, c->text, p.calls, p.bad);
    CHECK_MSG(p.misaligned == 0, "%s %s: handler stack not 16-byte aligned", c->conv, c->text);
    CHECK_MSG(value_mismatch("closure result", cffi_sig_result(sig), RESULT_POS, &got) == 0,
              "%s %s: caller got a wrong result", c->conv, c->text);
    CHECK_MSG(esp_moved == 0, "%s %s: ESP moved by %ld across the call", c->conv, c->text,
              (long)esp_moved);
    CHECK_MSG(x87_depth() == 0, "%s %s: x87 stack not empty after the closure returned", c->conv,
              c->text);

    /* cffi_call and cffi_call_frame call compiled code, then the closure. */
    for (int as_frame_call = 0; as_frame_call <= 1; as_frame_call++) {
        const char *how = as_frame_call ? "cffi_call_frame" : "cffi_call";
        int bad_before = callee_bad, calls_before = callee_calls;
        CHECK_MSG(call_through_cffi(sig, c->callee, as_frame_call) == 0, "%s %s: %s result",
                  c->conv, c->text, how);
        CHECK_MSG(callee_calls == calls_before + 1 && callee_bad == bad_before,
                  "%s %s: compiled callee saw bad arguments from %s", c->conv, c->text, how);
        CHECK_MSG(x87_depth() == 0, "%s %s: x87 stack not empty after %s", c->conv, c->text, how);

        int handled_before = p.calls;
        CHECK_MSG(call_through_cffi(sig, code, as_frame_call) == 0, "%s %s: %s of the closure",
                  c->conv, c->text, how);
        CHECK_MSG(p.calls == handled_before + 1 && p.bad == 0, "%s %s: handler via %s", c->conv,
                  c->text, how);
        CHECK(x87_depth() == 0);
    }

    cffi_closure_free(cl);
    cffi_sig_free(sig);
}

/* Bytes popped, measured in assembly, by a live and by a freed closure of int(int). */
static int dead_calls;
static void quiet_dead_hook(const cffi_sig *sig, void *code) {
    (void)sig;
    (void)code;
    dead_calls++;
}

static void add_one(void *ctx, void *ret, void *const *args) {
    (void)ctx;
    int32_t v = *(const int32_t *)args[0] + 1;
    memcpy(ret, &v, sizeof v);
}

static void add_one_frame(void *ctx, void *frame, void *stack) {
    const cffi_sig *sig = ctx;
    bool on_stack;
    size_t offset = cffi_sig_arg_place(sig, 0, &on_stack);
    int32_t v;
    memcpy(&v, (unsigned char *)(on_stack ? stack : frame) + offset, sizeof v);
    v++;
    cffi_frame_set_result(sig, frame, &v);
}

static void check_pops(bool frame) {
    static const struct { const char *conv; int32_t pops; } pops[] = {
        {"cdecl", 0}, {"stdcall", 4}, {"fastcall", 0}, {"thiscall", 0}, {"C", 0}};
    cffi_set_dead_hook(quiet_dead_hook);
    for (size_t k = 0; k < sizeof pops / sizeof pops[0]; k++) {
        cffi_sig *sig = NULL;
        REQUIRE(cffi_sig_parse("int(int)", pops[k].conv, &sig, NULL, 0) == CFFI_OK);
        CHECK(cffi_sig_callee_pop(sig) == (size_t)pops[k].pops);
        cffi_closure *cl = NULL;
        REQUIRE((frame ? cffi_closure_new_frame(sig, add_one_frame, sig, &cl)
                       : cffi_closure_new(sig, add_one, NULL, &cl)) == CFFI_OK);
        void *code = cffi_closure_code(cl);
        int32_t result = 0;
        int32_t popped = x86_call_popped(code, 41, &result);
        CHECK_MSG(popped == pops[k].pops && result == 42, "%s live: popped %d, result %d",
                  pops[k].conv, popped, result);
        int32_t fallback = -7;
        cffi_closure_set_default(cl, &fallback);
        cffi_closure_free(cl);
        int before = dead_calls;
        popped = x86_call_popped(code, 41, &result);
        CHECK_MSG(popped == pops[k].pops && result == -7 && dead_calls == before + 1,
                  "%s freed: popped %d, result %d", pops[k].conv, popped, result);
        cffi_sig_free(sig);
    }
    /* The wider the stack area, the more a callee-pop closure removes. */
    cffi_sig *sig = NULL;
    REQUIRE(cffi_sig_parse("void(long long, double, float, int, int, int)", "fastcall", &sig,
                           NULL, 0) == CFFI_OK);
    CHECK(cffi_sig_callee_pop(sig) == 32); /* the long long uses up ECX and EDX: all stacked */
    cffi_sig_free(sig);
    REQUIRE(cffi_sig_parse("void(double, float, int, int, int)", "fastcall", &sig, NULL, 0) ==
            CFFI_OK);
    CHECK(cffi_sig_callee_pop(sig) == 8 + 4 + 4); /* two ints in ECX, EDX; the rest stacked */
    cffi_sig_free(sig);
    cffi_set_dead_hook(NULL);
}

int main(void) {
    for (int frame = 0; frame < 2; frame++) {
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) run_case(&cases[i], frame);
        check_pops(frame);
    }
    return CHECK_DONE();
}
