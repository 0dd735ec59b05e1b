/*
 * barefn_place.c - where thunk copies go. With the default executable-memory allocator a copy is
 * placed near its template and reaches into it directly; with a host allocator (which takes no
 * placement hint) copies may land anywhere and reach the template through pointers. This test
 * installs a host allocator that wraps the default one and counts its blocks, then checks that
 * thunks of each flavour work, also once freed, that their code came from the host, and how
 * their copies end: a tail call copied from the template's body, or a jump into the template.
 */
#include "cffi.h"

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
#else
    CHECK_MSG(strstr(line, "jmp 0x") != NULL, "last line: %s", line);
#endif
    for (int i = 0; i < 1000; i++) {
        cffi_barefn *t;
        REQUIRE(p_sub_new(h_sub, &base, &t) == CFFI_OK);
        CHECK(p_sub_code(t)(i, 1) == 99 + i);
        cffi_barefn_free(t);
    }
    /* Freed: the bound handler's check fails and the template's own mismatch path (reached
     * from the copy through a pointer) runs the trap. */
    cffi_set_barefn_hook(count_freed);
    cffi_barefn_free(c);
    CHECK(p_sub_fn_code(c)(9, 4) == 0 && freed == 1);
    cffi_barefn_free(b);
    CHECK(p_sub_mut_code(b)(7, 1) == 0 && freed == 2);
    cffi_barefn_free(a);
    CHECK(p_sub_code(a)(5, 2) == 0 && freed == 3);
    cffi_set_barefn_hook(NULL);
    return CHECK_DONE();
}
