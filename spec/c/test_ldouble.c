/*
 * test_ldouble.c - long double: the x87 extended type where the target has one (x86: passed on
 * the stack, returned in st(0); win64 with GCC: by reference, returned through a hidden pointer),
 * double where long double is double (32-bit ARM), refused where cffi does not carry it
 * (AArch64's 128-bit quad). Calls and closures against compiled functions, and variadic %Lg.
 */
#include <stdio.h>
#include <string.h>

#include "check.h"

#if defined(__x86_64__) || defined(__i386__)
static long double scale(long double x, int k, long double y) { return x * k + y; }

static void h_scale(void *ctx, void *ret, void *const *args) {
    (void)ctx;
    *(long double *)ret = scale(*(long double *)args[0], *(int *)args[1], *(long double *)args[2]);
}

#if defined(__x86_64__) && !defined(_WIN32)
static long double __attribute__((ms_abi)) scale_ms(long double x, int k, long double y) {
    return x * k + y;
}
#endif

/* Through cffi_call into fn, and fn's prototype called into a closure running h_scale. */
static void check_scale(const char *conv, void *fn, long double (*call_closure)(void *, long double,
                                                                               int, long double)) {
    cffi_sig *sig = check_parse("long double(long double, int, long double)", conv);
    /* Values a double holds exactly: valgrind computes x87 arithmetic in double precision, and
     * the bit-exact comparison below must mean the same there. */
    long double x = 1.25L, y = -0.0078125L, got = 0, want = scale(x, 7, y);
    int k = 7;
    CHECK(cffi_call(sig, fn, &got, (void *[]){&x, &k, &y}) == CFFI_OK);
    CHECK_MSG(memcmp(&got, &want, 10) == 0, "%s: cffi_call gave %Lg, want %Lg", conv, got, want);
    cffi_closure *c = NULL;
    REQUIRE(cffi_closure_new(sig, h_scale, NULL, &c) == CFFI_OK);
    got = call_closure(cffi_closure_code(c), x, k, y);
    CHECK_MSG(memcmp(&got, &want, 10) == 0, "%s: closure gave %Lg, want %Lg", conv, got, want);
    cffi_closure_free(c);
    cffi_sig_free(sig);
}

static long double call_c(void *f, long double x, int k, long double y) {
    return ((long double (*)(long double, int, long double))f)(x, k, y);
}

#if defined(__x86_64__) && !defined(_WIN32)
static long double call_ms(void *f, long double x, int k, long double y) {
    return ((long double(__attribute__((ms_abi)) *)(long double, int, long double))f)(x, k, y);
}
#endif

static void test_variadic(void) {
    cffi_sig *sig = check_parse("int(char *, size_t, const char *, ...)", NULL);
    char buf[64];
    char *bufp = buf;
    size_t size = sizeof buf;
    const char *fmt = "%.3Lf|%d|%.1f";
    long double ld = 2.125L;
    int i = 9;
    double d = 0.5;
    int ret = 0;
    CHECK(cffi_call_variadic(sig, (void *)snprintf, &ret, (void *[]){&bufp, &size, &fmt, &ld, &i, &d},
                             3, (cffi_type[]){CFFI_T_LDOUBLE, CFFI_T_INT32, CFFI_T_DOUBLE}) == CFFI_OK);
    CHECK_MSG(strcmp(buf, "2.125|9|0.5") == 0, "%s", buf);
    cffi_sig_free(sig);
}

#endif

int main(void) {
    cffi_sig *sig = NULL;
    char err[256];
    cffi_status s = cffi_sig_parse("long double(long double)", NULL, &sig, err, sizeof err);
#if defined(__x86_64__) || defined(__i386__)
    CHECK_MSG(s == CFFI_OK, "%s", err);
    CHECK(cffi_sig_result(sig) == CFFI_T_LDOUBLE && cffi_sig_param(sig, 0) == CFFI_T_LDOUBLE);
    CHECK(cffi_type_size(CFFI_T_LDOUBLE) == sizeof(long double));
    cffi_sig_free(sig);
    check_scale("C", (void *)scale, call_c);
#if defined(__x86_64__) && !defined(_WIN32)
    check_scale("win64", (void *)scale_ms, call_ms);
#endif
    test_variadic();
#elif defined(__aarch64__)
    CHECK(s == CFFI_EUNSUPPORTED);
    CHECK_MSG(strstr(err, "long double is not supported") != NULL, "%s", err);
#else
    /* long double is double here */
    CHECK_MSG(s == CFFI_OK && cffi_sig_result(sig) == CFFI_T_DOUBLE, "%s", err);
    cffi_sig_free(sig);
#endif
    return CHECK_DONE();
}
