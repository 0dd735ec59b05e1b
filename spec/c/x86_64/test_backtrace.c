/*
 * test_backtrace.c - the unwinder can walk out of a closure: from inside a handler, glibc's
 * backtrace() (libgcc's DWARF unwinder, driven by the stubs' CFI) must reach the compiled
 * function that called the closure pointer, and main above it.
 *
 * Covers: the sysv64 and win64 entry stubs (called with stack arguments, so the return address
 * is not simply at the top of the caller's frame), and the sysv64 call stub (a closure called
 * through cffi_call).
 *
 * The calling functions live in their own section, so the linker's __start_/__stop_ symbols give
 * their address range; each also records its own return address into main, which the backtrace
 * must contain too.
 */
#include "cffi.h"
#include "check.h"

#include <execinfo.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define MAX_FRAMES 64

typedef struct trace {
    void *frames[MAX_FRAMES];
    int count;
} trace;

static void tracing_handler(void *ctx, void *ret, void *const *args) {
    trace *t = ctx;
    t->count = backtrace(t->frames, MAX_FRAMES);
    *(int *)ret = *(const int *)args[0] + *(const int *)args[8];
}

/* Linker-made bounds of the section the calling functions are placed in. */
extern const char __start_cffi_bt_callers[], __stop_cffi_bt_callers[];
#define CALLER __attribute__((noinline, section("cffi_bt_callers")))

static void *return_into_main; /* set by each caller: its return address into main */

CALLER static int call_sysv(void *code) {
    return_into_main = __builtin_return_address(0);
    int (*fn)(int, int, int, int, int, int, int, int, int) =
        (int (*)(int, int, int, int, int, int, int, int, int))code;
    return fn(1, 2, 3, 4, 5, 6, 7, 8, 9) + 1; /* + 1: work after the call, so no tail call */
}

CALLER static int call_win64(void *code) {
    return_into_main = __builtin_return_address(0);
    int (__attribute__((ms_abi)) *fn)(int, int, int, int, int, int, int, int, int) =
        (int (__attribute__((ms_abi)) *)(int, int, int, int, int, int, int, int, int))code;
    return fn(1, 2, 3, 4, 5, 6, 7, 8, 9) + 1;
}

CALLER static int call_through_cffi_call(void *code, const cffi_sig *sig) {
    return_into_main = __builtin_return_address(0);
    int v[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9}, r = 0;
    void *args[9];
    for (int i = 0; i < 9; i++) args[i] = &v[i];
    if (cffi_call(sig, code, &r, args) != CFFI_OK) return -1;
    return r + 1;
}

static bool in_callers(void *pc) {
    /* Return addresses point just past a call; - 1 is inside the calling instruction. */
    const char *p = (const char *)pc - 1;
    return p >= __start_cffi_bt_callers && p < __stop_cffi_bt_callers;
}

/* The trace must show a calling function's frame, then main's, in that order. */
static void check_trace(const char *what, const trace *t) {
    int caller_at = -1, main_at = -1;
    for (int i = 0; i < t->count; i++) {
        if (caller_at < 0 && in_callers(t->frames[i])) caller_at = i;
        if (main_at < 0 && t->frames[i] == return_into_main) main_at = i;
    }
    CHECK_MSG(caller_at > 0, "%s: backtrace (%d frames) does not reach the calling function",
              what, t->count);
    CHECK_MSG(main_at > caller_at, "%s: backtrace (%d frames) does not reach main after it", what,
              t->count);
    if (caller_at <= 0 || main_at <= caller_at) backtrace_symbols_fd(t->frames, t->count, 2);
}

static void test_convention(const char *conv, int (*call)(void *)) {
    cffi_sig *sig;
    REQUIRE(cffi_sig_parse("int(int, int, int, int, int, int, int, int, int)", conv, &sig, NULL,
                           0) == CFFI_OK);
    trace t = {.count = 0};
    cffi_closure *c;
    REQUIRE(cffi_closure_new(sig, tracing_handler, &t, &c) == CFFI_OK);
    CHECK(call(cffi_closure_code(c)) == 1 + 9 + 1);
    check_trace(conv, &t);

    if (strcmp(conv, "sysv64") == 0) {
        memset(&t, 0, sizeof t);
        CHECK(call_through_cffi_call(cffi_closure_code(c), sig) == 1 + 9 + 1);
        check_trace("sysv64 through cffi_call", &t);
    }
    cffi_closure_free(c);
    cffi_sig_free(sig);
}

int main(void) {
    test_convention("sysv64", call_sysv);
    test_convention("win64", call_win64);
    return CHECK_DONE();
}
