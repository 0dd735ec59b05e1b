/*
 * test_variadic.c - variadic calls (cffi_call_variadic) against compiled variadic functions that
 * read their arguments with va_arg, and against libc's snprintf: every scalar type, the default
 * promotions, more arguments than registers, and on x86-64 the win64 convention (a double also in
 * its integer register). What variadic signatures refuse: closures, callee-pop conventions.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "check.h"

/* Reads the variadic arguments as types says (i int, l long long, d double, p pointer, s string)
 * with ARG(T) and prints them into out, so that the test compares texts. Returns the count. */
#define DESCRIBE_ARGS(out, types, ARG)                                                            \
    do {                                                                                          \
        (out)[0] = '\0';                                                                          \
        for (const char *t = (types); *t; t++) {                                                  \
            char one[64];                                                                         \
            switch (*t) {                                                                         \
            case 'i': snprintf(one, sizeof one, "%d ", ARG(int)); break;                         \
            case 'l': snprintf(one, sizeof one, "%lld ", ARG(long long)); break;                 \
            case 'd': snprintf(one, sizeof one, "%g ", ARG(double)); break;                      \
            case 'p': snprintf(one, sizeof one, "%p ", ARG(void *)); break;                      \
            case 's': snprintf(one, sizeof one, "%s ", ARG(const char *)); break;                \
            default: snprintf(one, sizeof one, "? "); break;                                     \
            }                                                                                     \
            strcat((out), one);                                                                   \
        }                                                                                         \
    } while (0)

static int describe(char *out, const char *types, ...) {
    va_list ap;
    va_start(ap, types);
#define SYSV_ARG(T) va_arg(ap, T)
    DESCRIBE_ARGS(out, types, SYSV_ARG);
    va_end(ap);
    return (int)strlen(types);
}

#if defined(__x86_64__) && !defined(_WIN32)
/* The same under the Microsoft x64 convention. */
static int __attribute__((ms_abi)) describe_ms(char *out, const char *types, ...) {
    __builtin_ms_va_list ap;
    __builtin_ms_va_start(ap, types);
#define MS_ARG(T) __builtin_va_arg(ap, T)
    DESCRIBE_ARGS(out, types, MS_ARG);
    __builtin_ms_va_end(ap);
    return (int)strlen(types);
}
#endif

static void check_describe(const char *conv, void *fn) {
    cffi_sig *sig = check_parse("int(char *, const char *, ...)", conv);
    CHECK(cffi_sig_variadic(sig));
    CHECK(strcmp(cffi_sig_text(sig), "int(char *, const char *, ...)") == 0);
    char out[1024], want[1024];
    char *outp = out;
    /* Every type, promoted: bool, char and short become int, float becomes double. */
    const char *types = "iiiiddlpsidddddddddiiiiiiid";
    bool b = true;
    int8_t c = -5;
    uint16_t u16 = 65000;
    int i = -123456;
    float f = 1.5f;
    double d = -2.25;
    long long ll = -1234567890123LL;
    void *p = (void *)(uintptr_t)0x1234560;
    const char *s = "text";
    int ints[7] = {1, 2, 3, 4, 5, 6, 7};
    double dbl[9] = {0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5, 8.5};
    cffi_type extra[] = {CFFI_T_BOOL, CFFI_T_INT8, CFFI_T_UINT16, CFFI_T_INT32, CFFI_T_FLOAT,
                         CFFI_T_DOUBLE, CFFI_T_INT64, CFFI_T_PTR, CFFI_T_CSTR, CFFI_T_INT32,
                         CFFI_T_DOUBLE, CFFI_T_DOUBLE, CFFI_T_DOUBLE, CFFI_T_DOUBLE, CFFI_T_DOUBLE,
                         CFFI_T_DOUBLE, CFFI_T_DOUBLE, CFFI_T_DOUBLE, CFFI_T_DOUBLE, CFFI_T_INT32,
                         CFFI_T_INT32, CFFI_T_INT32, CFFI_T_INT32, CFFI_T_INT32, CFFI_T_INT32,
                         CFFI_T_INT32, CFFI_T_FLOAT};
    void *args[] = {&outp, &types, &b, &c, &u16, &i, &f, &d, &ll, &p, &s, &ints[0], &dbl[0],
                    &dbl[1], &dbl[2], &dbl[3], &dbl[4], &dbl[5], &dbl[6], &dbl[7], &dbl[8],
                    &ints[1], &ints[2], &ints[3], &ints[4], &ints[5], &ints[6], &i, &f};
    size_t nextra = sizeof extra / sizeof *extra;
    REQUIRE(strlen(types) == nextra);
    int ret = -1;
    CHECK(cffi_call_variadic(sig, fn, &ret, args, nextra, extra) == CFFI_OK);
    CHECK_MSG(ret == (int)nextra, "%s: read %d arguments", conv, ret);
    snprintf(want, sizeof want, "1 -5 65000 -123456 1.5 -2.25 -1234567890123 %p text 1 0.5 1.5 2.5 "
             "3.5 4.5 5.5 6.5 7.5 8.5 2 3 4 5 6 7 -123456 1.5 ", p);
    CHECK_MSG(strcmp(out, want) == 0, "%s:\n  got  %s\n  want %s", conv, out, want);
    /* The fixed part alone, through cffi_call too. */
    const char *none = "";
    ret = -1;
    CHECK(cffi_call(sig, fn, &ret, (void *[]){&outp, &none}) == CFFI_OK && ret == 0);
    /* A closure cannot be made for it. */
    cffi_closure *cl = NULL;
    CHECK(cffi_closure_new(sig, (cffi_handler)(void (*)(void))check_describe, NULL, &cl) ==
          CFFI_EUNSUPPORTED);
    CHECK(cffi_call_variadic(sig, fn, &ret, args, 1, (cffi_type[]){CFFI_T_AGG}) == CFFI_EINVAL);
    cffi_sig_free(sig);
}

static void test_snprintf(void) {
    cffi_sig *sig = check_parse("int(char *, size_t, const char *, ...)", NULL);
    char buf[128];
    char *bufp = buf;
    size_t size = sizeof buf;
    const char *fmt = "%d|%u|%lld|%.3f|%s|%c|%x";
    int i = -42;
    unsigned u = 4000000000u;
    long long ll = 1LL << 40;
    float f = 3.25f; /* promoted to double, as %f reads it */
    const char *s = "ok";
    char ch = 'Z';    /* promoted to int */
    uint16_t h = 0xbeef;
    void *args[] = {&bufp, &size, &fmt, &i, &u, &ll, &f, &s, &ch, &h};
    cffi_type extra[] = {CFFI_T_INT32, CFFI_T_UINT32, CFFI_T_INT64, CFFI_T_FLOAT, CFFI_T_CSTR,
                         CFFI_T_INT8, CFFI_T_UINT16};
    int ret = 0;
    CHECK(cffi_call_variadic(sig, (void *)snprintf, &ret, args, 7, extra) == CFFI_OK);
    CHECK_MSG(strcmp(buf, "-42|4000000000|1099511627776|3.250|ok|Z|beef") == 0, "%s", buf);
    CHECK(ret == (int)strlen(buf));
    cffi_sig_free(sig);
}

static void test_refusals(void) {
    cffi_sig *sig = NULL;
    char err[256];
#if defined(__i386__)
    CHECK(cffi_sig_parse("int(int, ...)", "stdcall", &sig, err, sizeof err) == CFFI_EUNSUPPORTED);
    CHECK_MSG(strstr(err, "a variadic function cannot be stdcall") != NULL, "%s", err);
#endif
    CHECK(cffi_sig_parse("int(...)", NULL, &sig, err, sizeof err) == CFFI_EBADSIG);
    sig = check_parse("int(int, ...)", NULL);
    int v = 1;
    CHECK(cffi_call_variadic(sig, (void *)describe, NULL, (void *[]){&v}, 1, NULL) == CFFI_EINVAL);
    cffi_sig_free(sig);
}

int main(void) {
    check_describe("C", (void *)describe);
#if defined(__x86_64__) && !defined(_WIN32)
    check_describe("win64", (void *)describe_ms);
#endif
    test_snprintf();
    test_refusals();
    return CHECK_DONE();
}
