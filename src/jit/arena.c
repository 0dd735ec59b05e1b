/*
 * arena.c - executable memory handed out in pieces that are never given back (typed-thunk
 * slots: each stays paired with its record for the life of the process), bump-allocated from
 * blocks shared by every user. One block holds pieces that can sit anywhere; a few near blocks
 * hold pieces whose 32-bit displacements must reach a range of the program (on 64-bit targets
 * that is a question of placement; with 32-bit addresses every displacement reaches).
 */
#include "internal.h"
#include "os/os.h"

#include <stdint.h>

enum {
    ARENA_BLOCK_SIZE = 64 * 1024, /* a multiple of every page size we run on */
    NEAR_ARENAS = 8,
};

typedef struct arena {
    uint8_t *rx, *rw;
    size_t used, size;
} arena;

/* Blocks for near pieces: each within reach of the templates that use it (usually one, next to
 * the program's text); and one for pieces that can sit anywhere. All under arena_lock. */
static cffi_os_lock arena_lock = CFFI_OS_LOCK_INIT;
static arena near_arenas[NEAR_ARENAS];
static size_t near_next;
static arena far_arena;

static size_t piece_round(size_t size) {
    return (size + CFFI_JIT_ARENA_ALIGN - 1) & ~(size_t)(CFFI_JIT_ARENA_ALIGN - 1);
}

/* Whether every address of the block [rx, rx + size) reaches `to` with a 32-bit displacement
 * (always, with 32-bit addresses: the displacement wraps around). */
static bool block_reaches(const uint8_t *rx, size_t size, const uint8_t *to) {
    if (sizeof(void *) == 4) return true;
    uintptr_t lo = (uintptr_t)rx, hi = lo + size, t = (uintptr_t)to;
    uintptr_t farthest = lo > t ? hi - t : hi < t ? t - lo : size; /* worst case over the block */
    return farthest < (uintptr_t)INT32_MAX - 64;
}

static cffi_status arena_take(arena *a, size_t size, uint8_t **rx, uint8_t **rw) {
    if (!a->rx || a->size - a->used < size) return CFFI_ENOEXEC;
    *rx = a->rx + a->used;
    *rw = a->rw + a->used;
    a->used += size;
    return CFFI_OK;
}

static size_t block_bytes(size_t size) {
    return (size + ARENA_BLOCK_SIZE - 1) / ARENA_BLOCK_SIZE * ARENA_BLOCK_SIZE;
}

/* Whether the block reaches both lo and hi (and so everything between). */
static bool block_reaches_all(const uint8_t *rx, size_t size, uintptr_t lo, uintptr_t hi) {
    return block_reaches(rx, size, (const uint8_t *)lo) &&
           block_reaches(rx, size, (const uint8_t *)hi);
}

/* Space for a copy whose rel32s reach [lo, hi] (the template, and what its body refers to), or
 * CFFI_ENOEXEC when the block the allocator gave is out of reach (it then becomes the far
 * arena's). */
static cffi_status alloc_near(size_t size, uintptr_t lo, uintptr_t hi, uint8_t **rx,
                                    uint8_t **rw) {
    size = piece_round(size);
    for (size_t i = 0; i < NEAR_ARENAS; i++) {
        arena *a = &near_arenas[i];
        if (a->rx && block_reaches_all(a->rx, a->size, lo, hi) &&
            arena_take(a, size, rx, rw) == CFFI_OK)
            return CFFI_OK;
    }
    size_t bytes = block_bytes(size);
    void *nrx, *nrw;
    cffi_status st =
        cffi_jit_block_alloc_near(bytes, (const void *)(lo + (hi - lo) / 2), &nrx, &nrw);
    if (st != CFFI_OK) return st;
    arena fresh = {nrx, nrw, 0, bytes};
    if (!block_reaches_all(nrx, bytes, lo, hi)) {
        far_arena = fresh; /* the rest of the old far block stays unused */
        return CFFI_ENOEXEC;
    }
    /* Replace a full block of the same neighbourhood, else take a free or the oldest entry. */
    arena *slot = NULL;
    for (size_t i = 0; i < NEAR_ARENAS && !slot; i++)
        if (!near_arenas[i].rx ||
            block_reaches_all(near_arenas[i].rx, near_arenas[i].size, lo, hi))
            slot = &near_arenas[i];
    if (!slot) slot = &near_arenas[near_next++ % NEAR_ARENAS];
    *slot = fresh;
    return arena_take(slot, size, rx, rw);
}

static cffi_status alloc_far(size_t size, uint8_t **rx, uint8_t **rw) {
    size = piece_round(size);
    if (arena_take(&far_arena, size, rx, rw) == CFFI_OK) return CFFI_OK;
    size_t bytes = block_bytes(size);
    void *nrx, *nrw;
    cffi_status st = cffi_jit_block_alloc(bytes, &nrx, &nrw);
    if (st != CFFI_OK) return st;
    far_arena = (arena){nrx, nrw, 0, bytes};
    return arena_take(&far_arena, size, rx, rw);
}

cffi_status cffi_jit_arena_alloc(size_t size, bool near, uintptr_t lo, uintptr_t hi, uint8_t **rx,
                                 uint8_t **rw) {
    cffi_os_lock_take(&arena_lock);
    cffi_status st = near ? alloc_near(size, lo, hi, rx, rw) : alloc_far(size, rx, rw);
    cffi_os_lock_give(&arena_lock);
    return st;
}
