/*
 * check.h - the tiny assertion layer every C test uses. CHECK keeps going and counts failures;
 * REQUIRE stops the test. CHECK_DONE() prints "N checks, M failed" and returns the exit code:
 * 1 when a check failed, else 77 (skipped, cmake/testing.cmake) when a part of the test could not
 * run on this host, else 0.
 */
#ifndef CFFI_CHECK_H
#define CFFI_CHECK_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "cffi.h"

static int check_count, check_failed, check_skipped;
static const char *check_skip_reason;

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

/* Code that already ran and is then rewritten through the writable view of executable memory (a
 * freed typed thunk's gate) keeps running stale under qemu-user: it caches its translation of the
 * executable view and does not see a write through the other view. Real processors and valgrind
 * (told by a client request) do see it. The parts of a test that call such code run only where
 * the test program runs natively: cmake/emulated-run.sh names the emulator in CFFI_TEST_EMULATOR.
 * Returns whether the part may run; if not, it is counted as skipped and named in the output. */
static inline int check_rewritten_code_runs(const char *part) {
    const char *emulator = getenv("CFFI_TEST_EMULATOR");
    if (!emulator || !*emulator) return 1;
    static char reason[256];
    snprintf(reason, sizeof reason,
             "code rewritten after it ran stays stale under %s emulation (qemu-user caches its "
             "translation of the executable view); runs natively",
             emulator);
    check_skip_reason = reason;
    check_skipped++;
    printf("skipped part: %s\n", part);
    return 0;
}

/* The same, where the test can point at the rewritten code: under emulation, the page holding
 * code has its protection taken away and given back (as /proc/self/maps lists it), which makes
 * qemu-user drop its translations there, and the part runs. Natively, and where that cannot be
 * done, this is check_rewritten_code_runs. Call it after every rewrite, before the call. */
#if !defined(_WIN32)
#include <sys/mman.h>
#include <unistd.h>

/* The protection of the mapping holding addr, from /proc/self/maps; -1 if not found. */
static inline int check_code_protection(uintptr_t addr) {
    FILE *maps = fopen("/proc/self/maps", "r");
    if (!maps) return -1;
    char line[512], perms[8];
    unsigned long lo, hi;
    int prot = -1;
    while (prot < 0 && fgets(line, sizeof line, maps))
        if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) == 3 && addr >= lo && addr < hi)
            prot = (perms[0] == 'r' ? PROT_READ : 0) | (perms[1] == 'w' ? PROT_WRITE : 0) |
                   (perms[2] == 'x' ? PROT_EXEC : 0);
    fclose(maps);
    return prot;
}
#endif

static inline int check_rewritten_code_at(const void *code, const char *part) {
    const char *emulator = getenv("CFFI_TEST_EMULATOR");
    if (!emulator || !*emulator) return 1;
#if !defined(_WIN32)
    uintptr_t page = (uintptr_t)code & ~(uintptr_t)(sysconf(_SC_PAGESIZE) - 1);
    int prot = check_code_protection((uintptr_t)code);
    size_t size = (size_t)sysconf(_SC_PAGESIZE);
    if (prot >= 0 && mprotect((void *)page, size, PROT_NONE) == 0 &&
        mprotect((void *)page, size, prot) == 0)
        return 1;
#else
    (void)code; /* Windows runs natively here (wine maps no foreign instruction set) */
#endif
    return check_rewritten_code_runs(part);
}

/* The last line printed is the skip reason, which scripts/ctest-report.sh shows. */
#define CHECK_DONE()                                                                              \
    (printf("%d checks, %d failed\n", check_count, check_failed),                                 \
     check_failed ? 1                                                                             \
     : check_skipped                                                                              \
         ? (printf("cffi: skipped: %d part(s) of this test: %s\n", check_skipped,                 \
                   check_skip_reason),                                                            \
            77)                                                                                   \
         : 0)

#endif
