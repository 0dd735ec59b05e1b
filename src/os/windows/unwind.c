/*
 * unwind.c - unwind tables for generated code on Windows x64.
 *
 * The x64 unwinder (RtlVirtualUnwind, and everything built on it: SEH dispatch, C++ exceptions,
 * debuggers, crash reporters) needs a RUNTIME_FUNCTION for every frame it walks through, or it
 * takes the frame for a leaf and reads a wrong return address from a frame that saved anything.
 * Images carry theirs in .pdata; generated code has to be registered. Each executable block gets
 * one table, installed with RtlInstallFunctionTableCallback so that pieces can be described
 * after the block is mapped without re-registering anything:
 *   - a PC in a described piece (a typed thunk, a copy of a compiled template) unwinds with a copy
 *     of its template's UNWIND_INFO: the copy has the same prologue and the same frame;
 *   - any other PC of the block unwinds as leaf code (closure thunks, which only jump).
 * RUNTIME_FUNCTION and UNWIND_INFO addresses are 32-bit offsets from the table's base (the
 * block), so the data they point at lives in the block's mapping: the leaf UNWIND_INFO in the
 * unwind page after the block, a piece's UNWIND_INFO in the space its caller reserved after it.
 *
 * The RUNTIME_FUNCTION entries of pieces live in an array allocated with the first piece and
 * sized for the most pieces a block can hold; entries are appended in address order (pieces are
 * bump-allocated) and published by a count, so the callback, which may run on any thread at any
 * time, reads them without a lock.
 *
 * On 32-bit Windows there is nothing to register (exception handlers are chained on the stack),
 * and everything here does nothing.
 */
#include "os/os.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__)

/* UNWIND_INFO's fixed header (the Windows SDK describes it only in prose; winnt.h has the flags
 * as UNW_FLAG_*). */
enum {
    UNWIND_VERSION = 1,
    UNWIND_HEADER = 4, /* version/flags, prologue size, code count, frame register/offset */
    PIECE_ALIGN = 16,  /* the smallest piece a block hands out (CFFI_JIT_ARENA_ALIGN) */
};

typedef struct unwind_block {
    uintptr_t rx;                   /* the table's base: the block's execute view */
    uint8_t *page_rw;               /* the unwind page, writable view */
    size_t size;                    /* bytes of code (the unwind page follows) */
    RUNTIME_FUNCTION leaf;          /* the whole block, as leaf code */
    RUNTIME_FUNCTION *pieces;       /* described pieces, in address order; NULL until the first */
    size_t capacity;
    _Atomic size_t count;           /* entries the callback may read */
    struct unwind_block *next;
} unwind_block;

static cffi_os_lock blocks_lock = CFFI_OS_LOCK_INIT;
static unwind_block *blocks;

/* The table callback: the entry for a PC of the block (the OS asks only for PCs in its range). */
static PRUNTIME_FUNCTION CALLBACK lookup(DWORD64 pc, PVOID context) {
    unwind_block *b = context;
    DWORD rva = (DWORD)(pc - b->rx);
    size_t n = atomic_load_explicit(&b->count, memory_order_acquire);
    size_t lo = 0, hi = n;
    while (lo < hi) { /* the last piece that begins at or before rva */
        size_t mid = lo + (hi - lo) / 2;
        if (b->pieces[mid].BeginAddress <= rva) lo = mid + 1;
        else hi = mid;
    }
    if (lo > 0 && rva < b->pieces[lo - 1].EndAddress) return &b->pieces[lo - 1];
    return &b->leaf;
}

int cffi_os_unwind_block_add(void *rx, void *rw, size_t size) {
    unwind_block *b = calloc(1, sizeof *b);
    if (!b) return ENOMEM;
    b->rx = (uintptr_t)rx;
    b->page_rw = (uint8_t *)rw + size; /* memory.c maps one page more than asked for */
    b->size = size;
    /* The leaf UNWIND_INFO: version 1, no prologue, no codes, no frame register. */
    static const uint8_t leaf_info[UNWIND_HEADER] = {UNWIND_VERSION, 0, 0, 0};
    memcpy(b->page_rw, leaf_info, sizeof leaf_info);
    b->leaf = (RUNTIME_FUNCTION){.BeginAddress = 0, .EndAddress = (DWORD)size,
                                 .UnwindData = (DWORD)size};
    if (!RtlInstallFunctionTableCallback(b->rx | 3, b->rx, (DWORD)size, lookup, b, NULL)) {
        free(b);
        return EINVAL;
    }
    cffi_os_lock_take(&blocks_lock);
    b->next = blocks;
    blocks = b;
    cffi_os_lock_give(&blocks_lock);
    return 0;
}

void cffi_os_unwind_block_remove(void *rx) {
    cffi_os_lock_take(&blocks_lock);
    unwind_block **link = &blocks, *b;
    while ((b = *link) && b->rx != (uintptr_t)rx) link = &b->next;
    if (b) *link = b->next;
    cffi_os_lock_give(&blocks_lock);
    if (!b) return;
    RtlDeleteFunctionTable((PRUNTIME_FUNCTION)(b->rx | 3));
    free(b->pieces);
    free(b);
}

/* The UNWIND_INFO of the function starting at fn, or NULL if it has none usable as a copy. */
static const uint8_t *unwind_info_of(const void *fn, size_t *len, int *err) {
    DWORD64 image = 0;
    PRUNTIME_FUNCTION rf = RtlLookupFunctionEntry((DWORD64)(uintptr_t)fn, &image, NULL);
    *err = ENOENT;
    if (!rf || image + rf->BeginAddress != (DWORD64)(uintptr_t)fn) return NULL;
    const uint8_t *info = (const uint8_t *)(uintptr_t)(image + rf->UnwindData);
    /* Handlers and chained entries name other functions by their offset in the image: a copy
     * elsewhere cannot carry them. */
    *err = ENOTSUP;
    if ((info[0] & 7) != UNWIND_VERSION ||
        (info[0] >> 3) & (UNW_FLAG_EHANDLER | UNW_FLAG_UHANDLER | UNW_FLAG_CHAININFO))
        return NULL;
    *len = UNWIND_HEADER + 2 * (((size_t)info[2] + 1) & ~(size_t)1); /* codes, padded to 4 bytes */
    *err = 0;
    return info;
}

size_t cffi_os_unwind_data_size(const void *like) {
    size_t len = 0;
    int err;
    return like && unwind_info_of(like, &len, &err) ? len : 0;
}

int cffi_os_unwind_describe(void *rx, size_t size, const void *like, void *data_rw,
                            void *data_rx) {
    size_t len = 0;
    int err;
    const uint8_t *info = unwind_info_of(like, &len, &err);
    if (!info) return err;
    /* The codes name offsets in the prologue, which hold for the copy when its prologue is the
     * template's byte for byte. Where relocation changed it (a landing pad added in front, a
     * moved call to the stack probe), the copy is described by its state after the prologue
     * only (prologue size 0): exact everywhere past the prologue, which is where the copy can
     * fault or be interrupted by a profiler with anything saved. */
    bool same_prologue = size >= info[1] && memcmp(rx, like, info[1]) == 0;
    cffi_os_lock_take(&blocks_lock);
    unwind_block *b = blocks;
    while (b && !((uintptr_t)rx >= b->rx && (uintptr_t)rx + size <= b->rx + b->size)) b = b->next;
    if (!b || (uintptr_t)data_rx < b->rx || (uintptr_t)data_rx + len > b->rx + b->size) {
        cffi_os_lock_give(&blocks_lock);
        return ENOENT; /* a block from a host allocator: the host registers its own tables */
    }
    size_t n = atomic_load_explicit(&b->count, memory_order_relaxed);
    if (!b->pieces) {
        b->capacity = b->size / PIECE_ALIGN;
        b->pieces = calloc(b->capacity, sizeof *b->pieces);
    }
    DWORD begin = (DWORD)((uintptr_t)rx - b->rx);
    if (!b->pieces || n == b->capacity || (n > 0 && b->pieces[n - 1].EndAddress > begin)) {
        cffi_os_lock_give(&blocks_lock);
        return b->pieces ? EINVAL : ENOMEM;
    }
    memcpy(data_rw, info, len);
    if (!same_prologue) ((uint8_t *)data_rw)[1] = 0;
    b->pieces[n] = (RUNTIME_FUNCTION){.BeginAddress = begin, .EndAddress = begin + (DWORD)size,
                                      .UnwindData = (DWORD)((uintptr_t)data_rx - b->rx)};
    atomic_store_explicit(&b->count, n + 1, memory_order_release);
    cffi_os_lock_give(&blocks_lock);
    return 0;
}

#else /* 32-bit Windows: no unwind tables */

int cffi_os_unwind_block_add(void *rx, void *rw, size_t size) {
    (void)rx, (void)rw, (void)size;
    return 0;
}

void cffi_os_unwind_block_remove(void *rx) { (void)rx; }

size_t cffi_os_unwind_data_size(const void *like) {
    (void)like;
    return 0;
}

int cffi_os_unwind_describe(void *rx, size_t size, const void *like, void *data_rw,
                            void *data_rx) {
    (void)rx, (void)size, (void)like, (void)data_rw, (void)data_rx;
    return 0;
}

#endif
