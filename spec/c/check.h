/*
 * check.h - the tiny assertion layer every C test uses. CHECK keeps going and counts failures;
 * REQUIRE stops the test. CHECK_DONE() prints "N checks, M failed" and returns the exit code.
 */
#ifndef CFFI_CHECK_H
#define CFFI_CHECK_H

#include <stdio.h>
#include <stdlib.h>

#include "cffi.h"

static int check_count, check_failed;

#define CHECK(cond) CHECK_MSG(cond, "%s", #cond)
#define CHECK_MSG(cond, ...)                                                                      \
    do {                                                                                          \
        check_count++;                                                                            \
        if (!(cond)) {                                                                            \
            check_failed++;                                                                       \
            fprintf(stderr, "%s:%d: check failed: ", __FILE__, __LINE__);                        \
            fprintf(stderr, __VA_ARGS__);                                                         \
            fputc('\n', stderr);                                                                  \
        }                                                                                         \
    } while (0)
#define REQUIRE(cond)                                                                             \
    do {                                                                                          \
        /* Evaluated once: cond often creates something (REQUIRE(f(&out) == CFFI_OK)). */        \
        int require_ok_ = !!(cond);                                                               \
        CHECK_MSG(require_ok_, "%s", #cond);                                                      \
        if (!require_ok_) {                                                                       \
            fprintf(stderr, "%s:%d: required check failed, stopping\n", __FILE__, __LINE__);     \
            exit(1);                                                                              \
        }                                                                                         \
    } while (0)
/* Parse a signature a test depends on: a failure is reported with the parser's message and stops
 * the test, since nothing after it could mean anything. */
static inline cffi_sig *check_parse(const char *text, const char *conv) {
    cffi_sig *sig = NULL;
    char err[160] = "";
    cffi_status s = cffi_sig_parse(text, conv, &sig, err, sizeof err);
    CHECK_MSG(s == CFFI_OK, "parse %s (%s): %s %s", text, conv ? conv : "C", cffi_strerror(s),
              err);
    REQUIRE(sig != NULL);
    return sig;
}

#define CHECK_DONE()                                                                              \
    (printf("%d checks, %d failed\n", check_count, check_failed), check_failed ? 1 : 0)

#endif
