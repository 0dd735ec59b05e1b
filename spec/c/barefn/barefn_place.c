/*
 * barefn_place.c - where thunk copies go. With the default executable-memory allocator a copy is
 * placed near its template and reaches into it directly; with a host allocator (which takes no
 * placement hint) copies may land anywhere and reach the template through pointers. This test
 * installs a host allocator that wraps the default one and counts its blocks, then checks that
 * thunks of each flavour work, also once freed, that their code came from the host, and how
 * their copies end: a tail call copied from the template's body, or a jump into the template.
 * A bound thunk with references into the program (its far form, on x86-64) is freed, called
 * through its dead copy, and reused after the quarantine.
 */
#include "cffi.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

static int blocks;
static cffi_status host_alloc(void *self, size_t size, void **rx, void **rw) {
    (void)self;
    const cffi_jit_allocator *d = cffi_default_jit_allocator();
    cffi_status st = d->alloc(d->self, size, rx, rw);
    if (st == CFFI_OK) blocks++;
    return st;
}
static void host_flush(void *self, void *rx, size_t size) {
    (void)self;
    cffi_default_jit_allocator()->flush(cffi_default_jit_allocator()->self, rx, size);
}
static void host_release(void *self, void *rx, void *rw, size_t size) {
    (void)self;
    cffi_default_jit_allocator()->release(cffi_default_jit_allocator()->self, rx, rw, size);
}

static int freed;
static void count_freed(const cffi_barefn *t, const char *name, cffi_barefn_event ev) {
    (void)t, (void)name;
    freed += ev == CFFI_BAREFN_EV_FREED;
}

static int h_sub(void *ctx, int a, int b) { return *(int *)ctx + a - b; }
CFFI_BAREFN(p_sub, C, int, (int a, int b), (a, b))
CFFI_BAREFN_MUT(p_sub_mut, C, int, (int a, int b), (a, b))
CFFI_BAREFN_FN(p_sub_fn, C, int, (int a, int b), (a, b), h_sub)

/* A bound handler with a cold path: the copy's branch to it leaves for the template, so the
 * thunk refers into the program and, in the host's memory, takes the far form. */
__attribute__((noinline, cold)) int p_slow(int a, int b) { return a * b; }
static int h_sub_cold(void *ctx, int a, int b) {
    if (__builtin_expect(a < 0, 0)) return p_slow(a, b);
    return *(int *)ctx + a - b;
}
CFFI_BAREFN_FN(p_cold_fn, C, int, (int a, int b), (a, b), h_sub_cold)

/* The last line of the thunk's listing: the tail call that ends it, or its jump into the
 * template. */
static void last_line(const void *code, char *out, size_t len) {
    char text[4096];
    cffi_disasm(code, 512, text, sizeof text);
    size_t n = strlen(text);
    if (n) text[--n] = '\0';
    const char *l = strrchr(text, '\n');
    snprintf(out, len, "%s", l ? l + 1 : text);
}

#if defined(__x86_64__)
/* Whether a conditional branch of the listing at code goes to code's own copy: the far form's
 * stub after the copy, where the near form branches straight into the template. */
static bool branches_within(const void *code) {
    char text[4096];
    cffi_disasm(code, 512, text, sizeof text);
    for (const char *l = text; (l = strstr(l, ": j")) != NULL; l++) {
        if (strncmp(l, ": jmp ", 6) == 0) continue;
        const char *to = strstr(l, " 0x");
        uintptr_t t = to ? (uintptr_t)strtoull(to + 1, NULL, 16) : 0;
        return t > (uintptr_t)code && t - (uintptr_t)code < 512;
    }
    return false;
}
#endif

/* The bound thunk with a cold path: both paths, freed, and its slot reused after the quarantine
 * with the live code back. */
static void test_bound_far(void) {
    int base = 10, other = 20;
    cffi_barefn *t, *u;
    REQUIRE(p_cold_fn_new(&base, &t) == CFFI_OK);
    p_cold_fn_bare f = p_cold_fn_code(t);
    CHECK(f(5, 2) == 13 && f(-3, 4) == -12);
    char live[4096], now[4096];
    cffi_disasm((const void *)f, 512, live, sizeof live);
#if defined(__x86_64__) && defined(__OPTIMIZE__)
    /* Out of 32-bit reach of the template (the usual case: the host's memory comes with no
     * placement hint; under valgrind it can happen to lie near): the far form. */
    uintptr_t at = (uintptr_t)f, tpl = (uintptr_t)p_cold_fn__template;
    if ((at > tpl ? at - tpl : tpl - at) > (uintptr_t)INT32_MAX)
        CHECK_MSG(branches_within((const void *)f), "not the far form:\n%s", live);
#endif
    cffi_set_barefn_hook(count_freed);
    freed = 0;
    cffi_barefn_free(t);
    if (!check_rewritten_code_at((const void *)f, "the far bound thunk called once freed and reused")) {
        cffi_set_barefn_hook(NULL);
        return;
    }
    int wrong = 0;
    for (int i = 0; i < 1000; i++) wrong += f(5, 2) != 0 || f(-3, 4) != 0;
    CHECK(wrong == 0 && freed == 2000);
    for (int i = 0; i < CFFI_QUARANTINE; i++) {
        REQUIRE(p_cold_fn_new(&other, &u) == CFFI_OK);
        wrong += u == t || p_cold_fn_code(u)(5, 2) != 23;
        cffi_barefn_free(u);
    }
    CHECK(wrong == 0 && f(5, 2) == 0 && freed == 2001);
    REQUIRE(p_cold_fn_new(&other, &u) == CFFI_OK);
    CHECK(u == t && p_cold_fn_code(u) == f);
    check_rewritten_code_at((const void *)f, "the far bound thunk reused");
    CHECK(f(5, 2) == 23 && f(-3, 4) == -12 && freed == 2001);
    cffi_disasm((const void *)f, 512, now, sizeof now);
    CHECK_MSG(strcmp(live, now) == 0, "reused code differs:\n%s\nwas:\n%s", now, live);
    cffi_barefn_free(u);
    check_rewritten_code_at((const void *)f, "the far bound thunk freed again");
    CHECK(f(5, 2) == 0 && freed == 2002);
    cffi_set_barefn_hook(NULL);
}

int main(void) {
    static const cffi_jit_allocator host = {host_alloc, host_flush, host_release, NULL};
    REQUIRE(cffi_set_jit_allocator(&host) == CFFI_OK);
    int base = 100;
    cffi_barefn *a, *b, *c;
    REQUIRE(p_sub_new(h_sub, &base, &a) == CFFI_OK);
    REQUIRE(p_sub_mut_new(h_sub, &base, &b) == CFFI_OK);
    REQUIRE(p_sub_fn_new(&base, &c) == CFFI_OK);
    CHECK(blocks >= 1);
    CHECK(p_sub_code(a)(5, 2) == 103);
    CHECK(p_sub_mut_code(b)(7, 1) == 106);
    CHECK(p_sub_fn_code(c)(9, 4) == 105);
    char line[256];
    last_line(cffi_barefn_code(a), line, sizeof line);
#if defined(__x86_64__)
    /* The copy runs the template's body up to its tail call of the handler: nothing leads back
     * into the template. */
    const char *insn = strstr(line, ": ") ? strstr(line, ": ") + 2 : line;
    CHECK_MSG(strncmp(insn, "jmp ", 4) == 0 && !strstr(insn, "0x") && !strstr(insn, "[rip]"),
              "last line: %s", line);
    /* BareFnMut calls the handler: the copy stops before that call and continues in the
     * template, from anywhere in the address space: through the pointer stored after the jump
     * (or directly, when the host's memory happens to be within reach, as under valgrind). */
    last_line(cffi_barefn_code(b), line, sizeof line);
    CHECK_MSG(strstr(line, "jmp qword ptr [rip]") || strstr(line, ": jmp 0x"), "last line: %s",
              line);
#elif defined(__aarch64__)
    /* AArch64 copies always continue in the template: the tail's br x16 through its back slot. */
    CHECK_MSG(strstr(line, ": br x16") != NULL, "last line: %s", line);
#elif defined(__arm__)
    /* So do 32-bit ARM copies: the tail's load of PC from its back slot. */
    CHECK_MSG(strstr(line, "ldr") && strstr(line, "pc, [pc"), "last line: %s", line);
#else
    CHECK_MSG(strstr(line, "jmp 0x") != NULL, "last line: %s", line);
#endif
    for (int i = 0; i < 1000; i++) {
        cffi_barefn *t;
        REQUIRE(p_sub_new(h_sub, &base, &t) == CFFI_OK);
        CHECK(p_sub_code(t)(i, 1) == 99 + i);
        cffi_barefn_free(t);
    }
    /* Freed: the bound thunk's entry jumps to the dead copy before it, which runs the trap. */
    cffi_set_barefn_hook(count_freed);
    cffi_barefn_free(c);
    if (check_rewritten_code_at(cffi_barefn_code(c), "thunks of each flavour called once freed")) {
        CHECK(p_sub_fn_code(c)(9, 4) == 0 && freed == 1);
        cffi_barefn_free(b);
        CHECK(p_sub_mut_code(b)(7, 1) == 0 && freed == 2);
        cffi_barefn_free(a);
        CHECK(p_sub_code(a)(5, 2) == 0 && freed == 3);
    } else {
        cffi_barefn_free(b);
        cffi_barefn_free(a);
    }
    cffi_set_barefn_hook(NULL);
    test_bound_far();
    return CHECK_DONE();
}
