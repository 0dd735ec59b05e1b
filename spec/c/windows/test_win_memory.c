/*
 * test_win_memory.c - executable memory on Windows (the twin of test_jit's view checks):
 *   - the default allocator's block: a read-execute view and a read-write view of the same
 *     bytes, each with exactly that protection, both from one section (MEM_MAPPED);
 *   - no writable-and-executable memory anywhere in the process outside loaded images after
 *     closures of every convention and typed thunks exist: every committed non-image region is
 *     checked with VirtualQuery.
 */
#include "check.h"
#include "cffi.h"

#include <string.h>
#include <windows.h>

static void check_default_views(void) {
    const cffi_jit_allocator *d = cffi_default_jit_allocator();
    SYSTEM_INFO info;
    GetSystemInfo(&info);
    size_t size = 2 * (size_t)info.dwPageSize;
    void *rx = NULL, *rw = NULL;
    REQUIRE(d->alloc(d->self, size, &rx, &rw) == CFFI_OK);
    CHECK(rx != rw);
    for (size_t i = 0; i < size; i++) CHECK_MSG(((uint8_t *)rx)[i] == 0, "fresh block not zero");
    for (size_t i = 0; i < size; i++) ((uint8_t *)rw)[i] = (uint8_t)(i * 7 + 3);
    d->flush(d->self, rx, size);
    size_t differ = 0;
    for (size_t i = 0; i < size; i++) differ += ((uint8_t *)rx)[i] != (uint8_t)(i * 7 + 3);
    CHECK_MSG(differ == 0, "%zu bytes differ between the views", differ);
    MEMORY_BASIC_INFORMATION m;
    REQUIRE(VirtualQuery(rx, &m, sizeof m) == sizeof m);
    CHECK_MSG(m.Protect == PAGE_EXECUTE_READ, "execute view protection %#lx", m.Protect);
    CHECK(m.Type == MEM_MAPPED && m.RegionSize >= size);
    REQUIRE(VirtualQuery(rw, &m, sizeof m) == sizeof m);
    CHECK_MSG(m.Protect == PAGE_READWRITE, "write view protection %#lx", m.Protect);
    CHECK(m.Type == MEM_MAPPED);
    d->release(d->self, rx, rw, size);
}

/* Committed regions outside images that are writable and executable at once. */
static int count_wx_regions(void) {
    int n = 0;
    MEMORY_BASIC_INFORMATION m;
    for (const uint8_t *p = NULL; VirtualQuery(p, &m, sizeof m) == sizeof m;
         p = (const uint8_t *)m.BaseAddress + m.RegionSize) {
        DWORD prot = m.Protect & 0xff;
        bool wx = prot == PAGE_EXECUTE_READWRITE || prot == PAGE_EXECUTE_WRITECOPY;
        if (m.State == MEM_COMMIT && m.Type != MEM_IMAGE && wx) {
            fprintf(stderr, "writable and executable: %p + %zu, protection %#lx\n", m.BaseAddress,
                    (size_t)m.RegionSize, m.Protect);
            n++;
        }
        if ((uintptr_t)m.BaseAddress + m.RegionSize < (uintptr_t)m.BaseAddress) break;
    }
    return n;
}

static void add_handler(void *ctx, void *ret, void *const *args) {
    (void)ctx;
    *(int *)ret = *(const int *)args[0] + *(const int *)args[1];
}
static int add_bare(void *ctx, int a, int b) {
    (void)ctx;
    return a + b;
}
CFFI_BAREFN(add2, C, int, (int a, int b), (a, b))

static void check_no_wx(void) {
    int before = count_wx_regions();
    const char *convs[] = {"C", "sysv64", "win64", "stdcall", "fastcall", "thiscall"};
    cffi_closure *closures[6] = {0};
    cffi_sig *sigs[6] = {0};
    for (int i = 0; i < 6; i++) {
        sigs[i] = check_parse("int(int, int)", convs[i]);
        REQUIRE(cffi_closure_new(sigs[i], add_handler, NULL, &closures[i]) == CFFI_OK);
    }
    cffi_barefn *t;
    REQUIRE(add2_new(add_bare, NULL, &t) == CFFI_OK);
    CHECK(add2_code(t)(2, 3) == 5);
    int after = count_wx_regions();
    CHECK_MSG(after <= before, "W+X regions: %d before, %d after", before, after);
    CHECK_MSG(after == 0, "%d writable and executable regions in the process", after);
    cffi_barefn_free(t);
    for (int i = 0; i < 6; i++) {
        cffi_closure_free(closures[i]);
        cffi_sig_free(sigs[i]);
    }
}

int main(void) {
    check_default_views();
    check_no_wx();
    return CHECK_DONE();
}
