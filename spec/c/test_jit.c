/*
 * test_jit.c - executable memory: the default allocator's two views of one block, its fallback
 * when memfd_create is unavailable, host allocators (failing, counting, locked in after first
 * use), no page ever writable and executable, and dense packing of closures.
 *
 * The parts run in a fixed order: an allocator can be chosen only before the first block is
 * taken, so the failing and the counting allocator come first.
 */
#define _GNU_SOURCE
#include "check.h"
#include "internal.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif
#ifndef RUNNING_ON_VALGRIND
#define RUNNING_ON_VALGRIND 0
#endif

/* ---------------------------------------------------------------------------------------------
 * memfd_create, interposed: this definition wins over the C library's at static link time, so
 * the test can make the OS layer take its fallback path. */
static bool memfd_unavailable;
static int memfd_calls;

int memfd_create(const char *name, unsigned int flags) {
    memfd_calls++;
    if (memfd_unavailable) {
        errno = ENOSYS;
        return -1;
    }
    return (int)syscall(SYS_memfd_create, name, flags);
}

/* ---------------------------------------------------------------------------------------------
 * /proc/self/maps */
typedef struct mapping {
    uintptr_t start, end;
    char perms[5];
    char path[256];
} mapping;

/* Calls fn for every mapping; stops early when fn returns false. */
static void for_each_mapping(bool (*fn)(const mapping *m, void *arg), void *arg) {
    FILE *maps = fopen("/proc/self/maps", "r");
    REQUIRE(maps != NULL);
    char line[512];
    while (fgets(line, sizeof line, maps)) {
        mapping m = {0};
        unsigned long start, end;
        int path_at = 0;
        if (sscanf(line, "%lx-%lx %4s %*s %*s %*s %n", &start, &end, m.perms, &path_at) < 3)
            continue;
        m.start = start;
        m.end = end;
        if (path_at > 0) {
            snprintf(m.path, sizeof m.path, "%s", line + path_at);
            m.path[strcspn(m.path, "\n")] = '\0';
        }
        if (!fn(&m, arg)) break;
    }
    fclose(maps);
}

typedef struct lookup {
    uintptr_t address;
    mapping found;
    bool hit;
} lookup;

static bool find_mapping_cb(const mapping *m, void *arg) {
    lookup *l = arg;
    if (l->address >= m->start && l->address < m->end) {
        l->found = *m;
        l->hit = true;
        return false;
    }
    return true;
}

static bool find_mapping(const void *address, mapping *out) {
    lookup l = {.address = (uintptr_t)address};
    for_each_mapping(find_mapping_cb, &l);
    *out = l.found;
    return l.hit;
}

static bool count_wx_cb(const mapping *m, void *arg) {
    if (m->perms[1] == 'w' && m->perms[2] == 'x') {
        fprintf(stderr, "writable and executable: %lx-%lx %s %s\n", (unsigned long)m->start,
                (unsigned long)m->end, m->perms, m->path);
        ++*(int *)arg;
    }
    return true;
}

/* Valgrind keeps its translated code in writable and executable mappings of this process's
 * address space; there only the mappings holding cffi's code are checked (by the callers). */
static int count_wx_mappings(void) {
    int n = 0;
    if (RUNNING_ON_VALGRIND) return 0;
    for_each_mapping(count_wx_cb, &n);
    return n;
}

/* ---------------------------------------------------------------------------------------------
 * The conventions to exercise, and typed pointers to call closures of "int(int, int)". */
#if defined(__x86_64__)
static const char *const conventions[] = {"sysv64", "win64"};
typedef int(__attribute__((sysv_abi)) * add_sysv)(int, int);
typedef int(__attribute__((ms_abi)) * add_win64)(int, int);
#else
static const char *const conventions[] = {"C"};
#endif
enum { NCONV = sizeof conventions / sizeof conventions[0] };

static int call_add(size_t conv, void *code, int a, int b) {
#if defined(__x86_64__)
    if (conv == 1) return ((add_win64)code)(a, b);
    return ((add_sysv)code)(a, b);
#else
    (void)conv;
    return ((int (*)(int, int))code)(a, b);
#endif
}

/* ctx holds a bias so each closure's result is its own. */
static void add_handler(void *ctx, void *ret, void *const *args) {
    *(int *)ret = *(const int *)args[0] + *(const int *)args[1] + *(const int *)ctx;
}

/* ---------------------------------------------------------------------------------------------
 * Host allocators. */
typedef struct counting_allocator {
    int allocs, flushes, releases;
    size_t bytes;
} counting_allocator;

static cffi_status failing_alloc(void *self, size_t size, void **rx, void **rw) {
    (void)size;
    ++((counting_allocator *)self)->allocs;
    *rx = *rw = NULL;
    return CFFI_ENOMEM;
}

static void counting_flush(void *self, void *rx, size_t size) {
    ++((counting_allocator *)self)->flushes;
    const cffi_jit_allocator *d = cffi_default_jit_allocator();
    d->flush(d->self, rx, size);
}

static void counting_release(void *self, void *rx, void *rw, size_t size) {
    ++((counting_allocator *)self)->releases;
    const cffi_jit_allocator *d = cffi_default_jit_allocator();
    d->release(d->self, rx, rw, size);
}

static cffi_status counting_alloc(void *self, size_t size, void **rx, void **rw) {
    counting_allocator *c = self;
    c->allocs++;
    const cffi_jit_allocator *d = cffi_default_jit_allocator();
    cffi_status s = d->alloc(d->self, size, rx, rw);
    if (s == CFFI_OK) c->bytes += size;
    return s;
}

/* ---------------------------------------------------------------------------------------------
 * The parts, in the order main runs them. */

/* The default allocator's block: what is written through rw reads back through rx, rx is not
 * writable and rw not executable, and both are one shared file mapping. */
static void check_default_views(const char *what) {
    const cffi_jit_allocator *d = cffi_default_jit_allocator();
    size_t size = 2 * (size_t)sysconf(_SC_PAGESIZE);
    void *rx = NULL, *rw = NULL;
    cffi_status s = d->alloc(d->self, size, &rx, &rw);
    CHECK_MSG(s == CFFI_OK, "%s: default alloc: %s", what, cffi_strerror(s));
    if (s != CFFI_OK) return;
    CHECK(rx != rw);
    CHECK((uintptr_t)rx % (size_t)sysconf(_SC_PAGESIZE) == 0);
    for (size_t i = 0; i < size; i++) CHECK_MSG(((uint8_t *)rx)[i] == 0, "fresh block not zero");
    for (size_t i = 0; i < size; i++) ((uint8_t *)rw)[i] = (uint8_t)(i * 7 + 3);
    d->flush(d->self, rx, size);
    size_t mismatches = 0;
    for (size_t i = 0; i < size; i++) mismatches += ((uint8_t *)rx)[i] != (uint8_t)(i * 7 + 3);
    CHECK_MSG(mismatches == 0, "%s: %zu bytes differ between the views", what, mismatches);

    mapping m;
    CHECK(find_mapping(rx, &m) && strcmp(m.perms, "r-xs") == 0);
    CHECK_MSG(m.end - (uintptr_t)rx >= size, "%s: rx view split", what);
    CHECK(find_mapping(rw, &m) && strcmp(m.perms, "rw-s") == 0);
    printf("%s: views at rx %p, rw %p, backed by %s\n", what, rx, rw, m.path);
    d->release(d->self, rx, rw, size);
    CHECK(!find_mapping(rx, &m));
    CHECK(!find_mapping(rw, &m));
}

static void check_fallback_without_memfd(void) {
    memfd_unavailable = true;
    int calls_before = memfd_calls;
    check_default_views("without memfd_create");
    CHECK(memfd_calls > calls_before); /* the interposition really took effect */
    memfd_unavailable = false;
}

static void check_bad_sizes(void) {
    const cffi_jit_allocator *d = cffi_default_jit_allocator();
    void *rx = (void *)1, *rw = (void *)1;
    CHECK(d->alloc(d->self, 0, &rx, &rw) != CFFI_OK);
    CHECK(rx == NULL && rw == NULL);
    CHECK(d->alloc(d->self, 100, &rx, &rw) != CFFI_OK);
    CHECK(rx == NULL && rw == NULL);
}

/* A failing host allocator: creation fails with CFFI_ENOEXEC, nothing is left behind, and as no
 * block was ever taken the allocator can still be changed. */
static void check_failing_allocator(void) {
    counting_allocator count = {0};
    cffi_jit_allocator failing = {
        .alloc = failing_alloc, .flush = counting_flush, .release = counting_release,
        .self = &count};
    CHECK(cffi_set_jit_allocator(&failing) == CFFI_OK);

    cffi_sig *sig = check_parse("int(int, int)", conventions[0]);
    for (int attempt = 0; attempt < 3; attempt++) {
        cffi_closure *c = (cffi_closure *)1;
        int bias = 0;
        cffi_status s = cffi_closure_new(sig, add_handler, &bias, &c);
        CHECK_MSG(s == CFFI_ENOEXEC, "closure_new with a failing allocator: %s", cffi_strerror(s));
        CHECK(c == NULL);
    }
    CHECK(count.allocs == 3);
    CHECK(count.flushes == 0 && count.releases == 0);
    cffi_jit_stats st;
    cffi_jit_get_stats(&st);
    CHECK(st.live_closures == 0 && st.dead_closures == 0);
    CHECK(st.exec_bytes == 0);
    cffi_sig_free(sig);

    cffi_jit_allocator incomplete = failing;
    incomplete.release = NULL;
    CHECK(cffi_set_jit_allocator(&incomplete) == CFFI_EINVAL);
    CHECK(cffi_set_jit_allocator(NULL) == CFFI_OK);
}

/* A counting host allocator over the default one: it is used, and once it gave a block neither
 * it nor the default can replace it. It stays in effect for the rest of the test. */
static counting_allocator host_count;

static void check_host_allocator(void) {
    cffi_jit_allocator host = {
        .alloc = counting_alloc, .flush = counting_flush, .release = counting_release,
        .self = &host_count};
    CHECK(cffi_set_jit_allocator(&host) == CFFI_OK);
    host.self = NULL; /* the library took a copy: changing ours must not matter */

    cffi_sig *sig = check_parse("int(int, int)", conventions[0]);
    int bias = 1000;
    cffi_closure *c = NULL;
    REQUIRE(cffi_closure_new(sig, add_handler, &bias, &c) == CFFI_OK);
    CHECK(call_add(0, cffi_closure_code(c), 2, 3) == 1005);
    CHECK(host_count.allocs == 1);
    CHECK(host_count.flushes == 1);
    CHECK(host_count.releases == 0);

    cffi_jit_stats st;
    cffi_jit_get_stats(&st);
    CHECK(st.exec_bytes == host_count.bytes);

    CHECK(cffi_set_jit_allocator(NULL) == CFFI_EBUSY);
    CHECK(cffi_set_jit_allocator(cffi_default_jit_allocator()) == CFFI_EBUSY);
    cffi_closure_free(c);
    CHECK(cffi_set_jit_allocator(NULL) == CFFI_EBUSY); /* blocks stay: freed code still traps */
    cffi_sig_free(sig);
}

/* Many closures in every convention, each called through its own address: no mapping of the
 * process is writable and executable, and every thunk lives in a read-execute mapping. */
static void check_no_wx_pages(void) {
    enum { PER_CONV = 3000 };
    static cffi_closure *closures[NCONV][PER_CONV];
    static int biases[PER_CONV];
    for (size_t conv = 0; conv < NCONV; conv++) {
        cffi_sig *sig = check_parse("int(int, int)", conventions[conv]);
        for (int i = 0; i < PER_CONV; i++) {
            biases[i] = i;
            REQUIRE(cffi_closure_new(sig, add_handler, &biases[i], &closures[conv][i]) == CFFI_OK);
        }
        cffi_sig_free(sig); /* the closures hold their own references */
    }
    int wrong = 0;
    for (size_t conv = 0; conv < NCONV; conv++)
        for (int i = 0; i < PER_CONV; i++)
            wrong += call_add(conv, cffi_closure_code(closures[conv][i]), i, 7) != 2 * i + 7;
    CHECK_MSG(wrong == 0, "%d closures returned a wrong result", wrong);

    CHECK(count_wx_mappings() == 0);
    mapping m;
    for (size_t conv = 0; conv < NCONV; conv++) {
        CHECK(find_mapping(cffi_closure_code(closures[conv][0]), &m));
        CHECK_MSG(m.perms[0] == 'r' && m.perms[1] == '-' && m.perms[2] == 'x',
                  "%s thunk in a %s mapping", conventions[conv], m.perms);
    }
    for (size_t conv = 0; conv < NCONV; conv++)
        for (int i = 0; i < PER_CONV; i++) cffi_closure_free(closures[conv][i]);
    CHECK(count_wx_mappings() == 0);
}

/* 10,000 live closures take about 10,000 thunk slots of executable memory, not 10,000 pages. */
static void check_dense_packing(void) {
    enum { N = 10000 };
    static cffi_closure *closures[N];
    cffi_jit_stats before, after;
    cffi_jit_get_stats(&before);
    CHECK(before.slot_exec_bytes > 0 && before.slot_exec_bytes <= 64);

    cffi_sig *sig = check_parse("int(int, int)", conventions[0]);
    int bias = 0;
    for (int i = 0; i < N; i++)
        REQUIRE(cffi_closure_new(sig, add_handler, &bias, &closures[i]) == CFFI_OK);
    cffi_jit_get_stats(&after);
    CHECK(after.live_closures == before.live_closures + N);
    size_t grown = after.exec_bytes - before.exec_bytes;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    /* Up to one block of slack, whatever the block size: below twice the slots themselves. */
    CHECK_MSG(grown <= 2 * (size_t)N * before.slot_exec_bytes,
              "10000 closures grew executable memory by %zu bytes", grown);
    CHECK(grown < (size_t)N * page / 4);
    CHECK(after.exec_bytes == host_count.bytes);
    printf("10000 closures: %zu executable bytes (%zu per closure), %zu data bytes in all\n",
           grown, after.slot_exec_bytes, after.data_bytes);

    /* Adjacent closures sit one slot apart. */
    size_t adjacent = 0;
    for (int i = 1; i < N; i++)
        adjacent += (uintptr_t)cffi_closure_code(closures[i]) -
                        (uintptr_t)cffi_closure_code(closures[i - 1]) ==
                    after.slot_exec_bytes;
    CHECK_MSG(adjacent >= N / 2, "only %zu of %d closures are one slot after the previous one",
              adjacent, N - 1);

    for (int i = 0; i < N; i++) cffi_closure_free(closures[i]);
    cffi_jit_get_stats(&after);
    CHECK(after.live_closures == before.live_closures);
    cffi_sig_free(sig);
}

int main(void) {
    check_bad_sizes();
    check_default_views("with memfd_create");
    check_fallback_without_memfd();
    check_failing_allocator();
    check_host_allocator();
    check_no_wx_pages();
    check_dense_packing();
    CHECK(host_count.releases == 0);
    return CHECK_DONE();
}
