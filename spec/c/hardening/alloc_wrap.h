/*
 * alloc_wrap.h - ordinary-memory failure on demand, for tests linked with
 *   -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=free
 * Every malloc/calloc/realloc/free reference in the test and in the static cffi library goes
 * through the wrappers below (the C library's own internal allocations do not).
 *
 *   oom_fail_after(n, sticky)  the next n allocations succeed, then one fails (sticky: every
 *                              later one fails too) until oom_disarm()
 *   oom_outstanding()          blocks allocated and not yet freed through the wrappers
 *   oom_failures()             allocations refused so far
 *
 * Include from exactly one translation unit per executable.
 */
#ifndef CFFI_ALLOC_WRAP_H
#define CFFI_ALLOC_WRAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>

void *__real_malloc(size_t size);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t size);
void __real_free(void *p);
void *__wrap_malloc(size_t size);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t size);
void __wrap_free(void *p);

/* Single-threaded tests only: plain counters. */
static long oom_countdown = -1; /* allocations left before a failure; -1: disarmed */
static bool oom_sticky;
static long oom_live, oom_refused;

static inline void oom_fail_after(long n, bool sticky) {
    oom_countdown = n;
    oom_sticky = sticky;
}
static inline void oom_disarm(void) { oom_countdown = -1; }
static inline long oom_outstanding(void) { return oom_live; }
static inline long oom_failures(void) { return oom_refused; }

/* True if this allocation must fail. */
static bool oom_should_fail(void) {
    if (oom_countdown < 0) return false;
    if (oom_countdown > 0) {
        oom_countdown--;
        return false;
    }
    if (!oom_sticky) oom_countdown = -1;
    oom_refused++;
    return true;
}

void *__wrap_malloc(size_t size) {
    if (oom_should_fail()) return NULL;
    void *p = __real_malloc(size);
    if (p) oom_live++;
    return p;
}

void *__wrap_calloc(size_t n, size_t size) {
    if (oom_should_fail()) return NULL;
    void *p = __real_calloc(n, size);
    if (p) oom_live++;
    return p;
}

void *__wrap_realloc(void *old, size_t size) {
    if (old && size == 0) { /* a free, as glibc does it */
        oom_live--;
        return __real_realloc(old, size);
    }
    if (oom_should_fail()) return NULL;
    void *p = __real_realloc(old, size);
    if (p && !old) oom_live++;
    return p;
}

void __wrap_free(void *p) {
    if (p) oom_live--;
    __real_free(p);
}

#endif
