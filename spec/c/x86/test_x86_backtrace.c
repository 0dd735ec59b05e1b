/*
 * test_x86_backtrace.c - the unwinder can walk out of an x86-32 closure: from inside a handler,
 * glibc's backtrace() (libgcc's DWARF unwinder, driven by the stubs' CFI) must reach past the
 * compiled function that called the closure, to that function's return address into main.
 *
 * Covers: the entry stub under each convention, with stack arguments and with register
 * arguments only (its realigned, EBP-based frame), and the call stub (a closure called through
 * cffi_call, so two stubs sit between the handler and main).
 */
#include "x86_support.h"

#include <execinfo.h>

static void *want;  /* an address the backtrace must contain */
static int found, handler_calls;

static void tracing_handler(void *ctx, void *ret, void *const *args) {
    (void)ctx;
    (void)args;
    handler_calls++;
    void *frames[64];
    int n = backtrace(frames, 64);
    for (int i = 0; i < n; i++)
        if (frames[i] == want) found++;
    int32_t r = 7;
    memcpy(ret, &r, sizeof r);
}

/* Each caller records its own return address (into main) for the handler to look for. */
#define CALLER(conv)                                                                              \
    static __attribute__((noinline)) int call_##conv(void *fn) {                                 \
        want = __builtin_return_address(0);                                                      \
        typedef int(CC_##conv * fn_t)(int, long long, int, double);                              \
        int r = ((fn_t)fn)(1, 2, 3, 4.0);                                                        \
        __asm__ volatile("" ::: "memory"); /* keep the call from becoming a tail call */         \
        return r + 1;                                                                            \
    }                                                                                            \
    static __attribute__((noinline)) int call_regs_##conv(void *fn) {                            \
        want = __builtin_return_address(0);                                                      \
        typedef int(CC_##conv * fn_t)(int);                                                      \
        int r = ((fn_t)fn)(1);                                                                   \
        __asm__ volatile("" ::: "memory");                                                       \
        return r + 1;                                                                            \
    }
CALLER(cdecl)
CALLER(stdcall)
CALLER(fastcall)
CALLER(thiscall)

static __attribute__((noinline)) int call_via_cffi(const cffi_sig *sig, void *fn) {
    want = __builtin_return_address(0);
    int a = 1, c = 3;
    long long b = 2;
    double d = 4.0;
    void *args[] = {&a, &b, &c, &d};
    int32_t r = 0;
    cffi_call(sig, fn, &r, args);
    __asm__ volatile("" ::: "memory");
    return r + 1;
}

static void check(const char *conv, int (*stack_caller)(void *), int (*reg_caller)(void *)) {
    cffi_sig *sig = NULL, *sig1 = NULL;
    REQUIRE(cffi_sig_parse("int(int, long long, int, double)", conv, &sig, NULL, 0) == CFFI_OK);
    REQUIRE(cffi_sig_parse("int(int)", conv, &sig1, NULL, 0) == CFFI_OK);
    cffi_closure *cl = NULL, *cl1 = NULL;
    REQUIRE(cffi_closure_new(sig, tracing_handler, NULL, &cl) == CFFI_OK);
    REQUIRE(cffi_closure_new(sig1, tracing_handler, NULL, &cl1) == CFFI_OK);

    found = 0;
    CHECK(stack_caller(cffi_closure_code(cl)) == 8);
    CHECK_MSG(found == 1, "%s: backtrace from the handler misses main (stack arguments)", conv);
    found = 0;
    CHECK(reg_caller(cffi_closure_code(cl1)) == 8);
    CHECK_MSG(found == 1, "%s: backtrace from the handler misses main (register argument)", conv);
    found = 0;
    CHECK(call_via_cffi(sig, cffi_closure_code(cl)) == 8);
    CHECK_MSG(found == 1, "%s: backtrace through cffi_call misses main", conv);

    cffi_closure_free(cl);
    cffi_closure_free(cl1);
    cffi_sig_free(sig);
    cffi_sig_free(sig1);
}

int main(void) {
    check("cdecl", call_cdecl, call_regs_cdecl);
    check("stdcall", call_stdcall, call_regs_stdcall);
    check("fastcall", call_fastcall, call_regs_fastcall);
    check("thiscall", call_thiscall, call_regs_thiscall);
    CHECK(handler_calls == 12);
    return CHECK_DONE();
}
