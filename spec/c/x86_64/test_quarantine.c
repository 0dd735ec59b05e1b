/*
 * test_quarantine.c - what a freed closure's address does, and when it is reused:
 *   - a call through it reports through the dead hook (the signature and the address called)
 *     and returns the value set with cffi_closure_set_default (or zero), for integer, floating,
 *     void and many-argument signatures, in every convention of the target;
 *   - the closure keeps its signature alive until the slot is reused;
 *   - the default hook writes "cffi: call through a freed callback <sig>" to stderr;
 *   - the address is handed out again only after CFFI_QUARANTINE other closures were freed
 *     after it, and right then;
 *   - 200,000 create/free cycles leave executable and data memory flat.
 */
#define _GNU_SOURCE
#include "check.h"
#include "cffi.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#ifdef _WIN32
#include <io.h>
#include <windows.h>
#else
#include <sys/wait.h>
#include <unistd.h>
#endif

#if defined(__x86_64__)
#define CONV_SYSV64 __attribute__((sysv_abi))
#define CONV_WIN64 __attribute__((ms_abi))
#else
#define CONV_SYSV64
#define CONV_WIN64
#endif

/* The dead hook, captured. */
static const cffi_sig *hook_sig;
static void *hook_code;
static int hook_calls;

static void capture_hook(const cffi_sig *sig, void *code) {
    hook_sig = sig;
    hook_code = code;
    hook_calls++;
}

static int live_calls;

static void int_handler(void *ctx, void *ret, void *const *args) {
    (void)ctx;
    live_calls++;
    *(int *)ret = *(const int *)args[0] * 2;
}

static void double_handler(void *ctx, void *ret, void *const *args) {
    (void)ctx;
    live_calls++;
    *(double *)ret = *(const double *)args[0] + 0.5;
}

static void void_handler(void *ctx, void *ret, void *const *args) {
    (void)ctx, (void)ret, (void)args;
    live_calls++;
}

/* Sum of eight long longs: enough arguments to use the stack in every convention. */
static void sum8_handler(void *ctx, void *ret, void *const *args) {
    (void)ctx;
    live_calls++;
    long long sum = 0;
    for (int i = 0; i < 8; i++) sum += *(const long long *)args[i];
    *(long long *)ret = sum;
}

/* One signature shape: how to make it, call it through a typed pointer, and what it returns. */
typedef struct shape {
    const char *text;
    cffi_handler handler;
    /* Calls code with fixed arguments; returns the result widened to double for comparison. */
    double (*call)(void *code, bool win64);
    double live_result;
    const void *dead_default; /* NULL: leave the default at zero */
    double dead_result;
} shape;

typedef int(CONV_SYSV64 *int_sysv)(int);
typedef int(CONV_WIN64 *int_win64)(int);
typedef double(CONV_SYSV64 *double_sysv)(double);
typedef double(CONV_WIN64 *double_win64)(double);
typedef void(CONV_SYSV64 *void_sysv)(int);
typedef void(CONV_WIN64 *void_win64)(int);
typedef long long(CONV_SYSV64 *sum8_sysv)(long long, long long, long long, long long, long long,
                                   long long, long long, long long);
typedef long long(CONV_WIN64 *sum8_win64)(long long, long long, long long, long long, long long,
                                     long long, long long, long long);

/* Each call sits in its own function per convention: written as one expression,
 * `win64 ? ((f_win64)code)(...) : ((f_sysv)code)(...)`, GCC 12 at -O2 may merge both arms into a
 * single System V call, dropping ms_abi from the pointer type. */
static __attribute__((noinline)) double call_int_sysv(void *code) { return ((int_sysv)code)(21); }
static __attribute__((noinline)) double call_int_win64(void *code) { return ((int_win64)code)(21); }
static __attribute__((noinline)) double call_double_sysv(void *code) {
    return ((double_sysv)code)(1.25);
}
static __attribute__((noinline)) double call_double_win64(void *code) {
    return ((double_win64)code)(1.25);
}
static __attribute__((noinline)) double call_void_sysv(void *code) {
    ((void_sysv)code)(1);
    return 0;
}
static __attribute__((noinline)) double call_void_win64(void *code) {
    ((void_win64)code)(1);
    return 0;
}
static __attribute__((noinline)) double call_sum8_sysv(void *code) {
    return (double)((sum8_sysv)code)(1, 2, 3, 4, 5, 6, 7, 8);
}
static __attribute__((noinline)) double call_sum8_win64(void *code) {
    return (double)((sum8_win64)code)(1, 2, 3, 4, 5, 6, 7, 8);
}
static double call_int(void *code, bool win64) {
    return win64 ? call_int_win64(code) : call_int_sysv(code);
}
static double call_double(void *code, bool win64) {
    return win64 ? call_double_win64(code) : call_double_sysv(code);
}
static double call_void(void *code, bool win64) {
    return win64 ? call_void_win64(code) : call_void_sysv(code);
}
static double call_sum8(void *code, bool win64) {
    return win64 ? call_sum8_win64(code) : call_sum8_sysv(code);
}

static const int int_default = -7;
static const double double_default = 2.5;
static const long long sum8_default = -123456789012LL;

static const shape shapes[] = {
    {"int(int)", int_handler, call_int, 42, &int_default, -7},
    {"int(int)", int_handler, call_int, 42, NULL, 0},
    {"double(double)", double_handler, call_double, 1.75, &double_default, 2.5},
    {"void(int)", void_handler, call_void, 0, NULL, 0},
    {"long long(long long, long long, long long, long long, long long, long long, long long, "
     "long long)",
     sum8_handler, call_sum8, 36, &sum8_default, -123456789012.0},
};

#if defined(__x86_64__)
static const char *const conventions[] = {"sysv64", "win64"};
#else
static const char *const conventions[] = {"C"};
#endif
enum { NCONV = sizeof conventions / sizeof conventions[0] };

/* Every shape in every convention: live call, free, dead call. The caller's own reference to the
 * signature is dropped before the dead call, so the hook sees the closure's reference. */
static void check_dead_calls(void) {
    cffi_set_dead_hook(capture_hook);
    for (size_t conv = 0; conv < NCONV; conv++) {
        for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
            const shape *sh = &shapes[i];
            cffi_sig *sig = check_parse(sh->text, conventions[conv]);
            const char *expected_text = cffi_sig_text(sig);
            char text_copy[256];
            snprintf(text_copy, sizeof text_copy, "%s", expected_text);

            cffi_closure *c = NULL;
            REQUIRE(cffi_closure_new(sig, sh->handler, NULL, &c) == CFFI_OK);
            if (sh->dead_default) cffi_closure_set_default(c, sh->dead_default);
            void *code = cffi_closure_code(c);
            bool win64 = conv == 1;

            live_calls = 0;
            CHECK_MSG(sh->call(code, win64) == sh->live_result, "%s %s live", sh->text,
                      conventions[conv]);
            CHECK(live_calls == 1);

            cffi_sig_free(sig);
            cffi_closure_free(c);
            hook_calls = 0;
            hook_sig = NULL;
            hook_code = NULL;
            for (int repeat = 0; repeat < 3; repeat++) {
                double got = sh->call(code, win64);
                CHECK_MSG(got == sh->dead_result, "%s %s dead: got %g, want %g", sh->text,
                          conventions[conv], got, sh->dead_result);
            }
            CHECK(live_calls == 1);
            CHECK(hook_calls == 3);
            CHECK(hook_code == code);
            CHECK(hook_sig == sig); /* the same interned signature, kept alive by the slot */
            CHECK(hook_sig && strcmp(cffi_sig_text(hook_sig), text_copy) == 0);
            CHECK(hook_sig && strcmp(cffi_sig_convention(hook_sig), conventions[conv]) == 0);
        }
    }
    cffi_set_dead_hook(NULL);
}

/* A freed closure called with the default hook restored: returns whether it returned 0 without
 * calling the captured hook (its line goes to stderr). */
static bool call_freed_with_default_hook(void) {
    cffi_set_dead_hook(capture_hook);
    cffi_set_dead_hook(NULL); /* NULL restores the default */
    hook_calls = 0;
    cffi_sig *sig = check_parse("int(int)", conventions[0]);
    cffi_closure *c = NULL;
    if (cffi_closure_new(sig, int_handler, NULL, &c) != CFFI_OK) return false;
    void *code = cffi_closure_code(c);
    cffi_closure_free(c);
    cffi_sig_free(sig);
    int result = (int)call_int(code, false);
    return result == 0 && hook_calls == 0;
}

#ifdef _WIN32
/* No fork: stderr goes to a temporary file around the call, then back. */
static void read_default_hook_message(char *out, size_t len) {
    char dir[MAX_PATH], path[MAX_PATH];
    REQUIRE(GetTempPathA(sizeof dir, dir) > 0 && GetTempFileNameA(dir, "cfq", 0, path) != 0);
    FILE *capture = fopen(path, "w+b");
    REQUIRE(capture != NULL);
    fflush(stderr);
    int saved = _dup(2);
    REQUIRE(saved >= 0 && _dup2(_fileno(capture), 2) == 0);
    bool ok = call_freed_with_default_hook();
    fflush(stderr);
    _dup2(saved, 2);
    _close(saved);
    CHECK(ok);
    rewind(capture);
    size_t got = fread(out, 1, len - 1, capture);
    out[got] = '\0';
    fclose(capture);
    remove(path);
}
#else
/* The line, read from a child's stderr. */
static void read_default_hook_message(char *out, size_t len) {
    int pipe_fds[2];
    REQUIRE(pipe(pipe_fds) == 0);
    fflush(NULL);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        dup2(pipe_fds[1], 2);
        close(pipe_fds[0]);
        close(pipe_fds[1]);
        _exit(call_freed_with_default_hook() ? 0 : 4);
    }
    close(pipe_fds[1]);
    size_t got = 0;
    ssize_t n;
    while (got < len - 1 && (n = read(pipe_fds[0], out + got, len - 1 - got)) > 0)
        got += (size_t)n;
    out[got] = '\0';
    close(pipe_fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}
#endif

/* The default hook's one line. */
static void check_default_hook_message(void) {
    char out[512] = "";
    read_default_hook_message(out, sizeof out);
    cffi_sig *sig = check_parse("int(int)", conventions[0]);
    char expected[256];
    snprintf(expected, sizeof expected, "cffi: call through a freed callback %s\n",
             cffi_sig_text(sig));
    CHECK_MSG(strcmp(out, expected) == 0, "default hook wrote \"%s\"", out);
    cffi_sig_free(sig);
}

/* Runs first, while the quarantine is empty, so the freed closure is the oldest in it. */
static void check_reuse_order(void) {
    enum { Q = CFFI_QUARANTINE };
    static cffi_closure *others[Q], *fresh[Q];
    cffi_jit_stats st;
    cffi_jit_get_stats(&st);
    REQUIRE(st.dead_closures == 0);

    cffi_sig *sig = check_parse("int(int)", conventions[0]);
    cffi_closure *target = NULL;
    REQUIRE(cffi_closure_new(sig, int_handler, NULL, &target) == CFFI_OK);
    for (int i = 0; i < Q; i++)
        REQUIRE(cffi_closure_new(sig, int_handler, NULL, &others[i]) == CFFI_OK);
    void *target_code = cffi_closure_code(target);
    cffi_closure_free(target);

    /* While fewer than CFFI_QUARANTINE others were freed after it, new closures get other
     * addresses. */
    int early_reuse = 0;
    for (int i = 0; i < Q; i++) {
        REQUIRE(cffi_closure_new(sig, int_handler, NULL, &fresh[i]) == CFFI_OK);
        early_reuse += cffi_closure_code(fresh[i]) == target_code;
        cffi_closure_free(others[i]);
    }
    CHECK_MSG(early_reuse == 0, "a freed address was reused %d times too early", early_reuse);
    cffi_jit_get_stats(&st);
    CHECK(st.dead_closures == Q + 1);

    /* Now CFFI_QUARANTINE others were freed after it: the next closure takes its address, and
     * works as a live closure again. */
    cffi_closure *reused = NULL;
    REQUIRE(cffi_closure_new(sig, int_handler, NULL, &reused) == CFFI_OK);
    CHECK(cffi_closure_code(reused) == target_code);
    live_calls = 0;
    CHECK(call_int(cffi_closure_code(reused), false) == 42);
    CHECK(live_calls == 1);

    cffi_closure_free(reused);
    for (int i = 0; i < Q; i++) cffi_closure_free(fresh[i]);
    cffi_sig_free(sig);
}

/* Memory stays flat over any number of create/free cycles. */
static void check_flat_memory(void) {
    enum { WARMUP = 10000, CYCLES = 200000, BATCH = 16 };
    cffi_sig *sig = check_parse("int(int)", conventions[0]);
    cffi_closure *batch[BATCH];
    cffi_jit_stats warm, end;
    int failures = 0;
    for (int cycle = 0; cycle < WARMUP + CYCLES; cycle += BATCH) {
        if (cycle == WARMUP) cffi_jit_get_stats(&warm);
        for (int i = 0; i < BATCH; i++)
            failures += cffi_closure_new(sig, int_handler, NULL, &batch[i]) != CFFI_OK;
        for (int i = 0; i < BATCH; i++) cffi_closure_free(batch[i]);
    }
    CHECK(failures == 0);
    cffi_jit_get_stats(&end);
    CHECK_MSG(end.exec_bytes == warm.exec_bytes, "exec bytes grew from %zu to %zu",
              warm.exec_bytes, end.exec_bytes);
    CHECK_MSG(end.data_bytes == warm.data_bytes, "data bytes grew from %zu to %zu",
              warm.data_bytes, end.data_bytes);
    CHECK(end.live_closures == 0);
    /* Freed slots stay dead until reused; balanced create/free keeps their number steady. */
    CHECK(end.dead_closures == warm.dead_closures);
    CHECK(end.dead_closures > CFFI_QUARANTINE);
    /* Bounded by the peak of live closures (Q + 1 in check_reuse_order) plus the quarantine. */
    CHECK(end.exec_bytes <= 4 * (2 * CFFI_QUARANTINE + BATCH) * end.slot_exec_bytes);
    printf("after %d cycles: %zu exec bytes, %zu data bytes, %zu dead\n", WARMUP + CYCLES,
           end.exec_bytes, end.data_bytes, end.dead_closures);
    cffi_sig_free(sig);
}

int main(void) {
    check_reuse_order();
    check_dead_calls();
    check_default_hook_message();
    check_flat_memory();
    return CHECK_DONE();
}
