/*
 * barefn_place.c - where thunk copies go. With the default executable-memory allocator a copy is
 * placed near its template and jumps back directly; with a host allocator (which takes no
 * placement hint) copies may land anywhere and jump back through a pointer. This test installs a
 * host allocator that wraps the default one and counts its blocks, then checks that thunks of
 * each flavour work, that their code came from the host, and what their jump back is.
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

static int h_sub(void *ctx, int a, int b) { return *(int *)ctx + a - b; }
CFFI_BAREFN(p_sub, C, int, (int a, int b), (a, b))
CFFI_BAREFN_MUT(p_sub_mut, C, int, (int a, int b), (a, b))
CFFI_BAREFN_FN(p_sub_fn, C, int, (int a, int b), (a, b), h_sub)

/* The last line of the thunk's listing: its jump back into the template. */
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
    /* Anywhere in the address space: through the pointer stored after the jump. */
    CHECK_MSG(strstr(line, "jmp qword ptr [rip]") != NULL, "last line: %s", line);
#else
    CHECK_MSG(strstr(line, "jmp 0x") != NULL, "last line: %s", line);
#endif
    for (int i = 0; i < 1000; i++) {
        cffi_barefn *t;
        REQUIRE(p_sub_new(h_sub, &base, &t) == CFFI_OK);
        CHECK(p_sub_code(t)(i, 1) == 99 + i);
        cffi_barefn_free(t);
    }
    cffi_barefn_free(a);
    cffi_barefn_free(b);
    cffi_barefn_free(c);
    return CHECK_DONE();
}
