/*
 * alloc.c - executable-memory policy: the default cffi_jit_allocator over the OS layer, the one
 * allocator in effect, and the block functions the rest of the library uses (internal.h).
 *
 * The allocator in effect may change only until the first block is taken from it: blocks are
 * released through the allocator that gave them, and code already handed out points into them.
 */
#include "internal.h"
#include "os/os.h"


/* A fresh block from the OS, registered with its unwinder (os.h). The allocator contract
 * reports cffi_status only: every mapping failure means the same to the caller, no executable
 * memory; running out of ordinary memory for the bookkeeping is CFFI_ENOMEM. */
static cffi_status os_block(size_t size, const void *near, void **rx, void **rw) {
    if (cffi_os_dual_map_near(size, near, rx, rw) != 0) return CFFI_ENOEXEC;
    if (cffi_os_unwind_block_add(*rx, *rw, size) != 0) {
        (void)cffi_os_dual_unmap(*rx, *rw, size);
        *rx = *rw = NULL;
        return CFFI_ENOMEM;
    }
    return CFFI_OK;
}

static cffi_status default_alloc(void *self, size_t size, void **rx, void **rw) {
    (void)self;
    return os_block(size, NULL, rx, rw);
}

static void default_flush(void *self, void *rx, size_t size) {
    (void)self;
    cffi_os_flush_icache(rx, size);
}

static void default_release(void *self, void *rx, void *rw, size_t size) {
    (void)self;
    cffi_os_unwind_block_remove(rx);
    /* Nothing useful to do if unmapping fails: the block stays mapped, harmlessly. */
    (void)cffi_os_dual_unmap(rx, rw, size);
}

#define DEFAULT_ALLOCATOR \
    { .alloc = default_alloc, .flush = default_flush, .release = default_release, .self = NULL }

static const cffi_jit_allocator default_allocator = DEFAULT_ALLOCATOR;

/* The allocator in effect, whether a block was ever taken from it, and the executable bytes
 * currently held, all under one lock: cffi_set_jit_allocator must not race a first allocation. */
static cffi_os_lock jit_lock = CFFI_OS_LOCK_INIT;
static cffi_jit_allocator current_allocator = DEFAULT_ALLOCATOR;
static bool allocator_used;
static atomic_size_t exec_bytes_held;

const cffi_jit_allocator *cffi_default_jit_allocator(void) { return &default_allocator; }

cffi_status cffi_set_jit_allocator(const cffi_jit_allocator *a) {
    if (!a) a = &default_allocator;
    if (!a->alloc || !a->flush || !a->release) return CFFI_EINVAL;
    cffi_status status = CFFI_OK;
    cffi_os_lock_take(&jit_lock);
    if (allocator_used)
        status = CFFI_EBUSY;
    else
        current_allocator = *a;
    cffi_os_lock_give(&jit_lock);
    return status;
}

cffi_status cffi_jit_block_alloc(size_t size, void **rx, void **rw) {
    return cffi_jit_block_alloc_near(size, NULL, rx, rw);
}

/* Only the default allocator knows how to place a block; a host allocator gets no hint. */
cffi_status cffi_jit_block_alloc_near(size_t size, const void *near, void **rx, void **rw) {
    *rx = NULL;
    *rw = NULL;
    size_t page = cffi_os_page_size();
    if (size == 0 || size % page != 0) return CFFI_EINVAL;

    cffi_os_lock_take(&jit_lock);
    void *exec_view = NULL, *write_view = NULL;
    cffi_status status;
    if (near && current_allocator.alloc == default_alloc)
        status = os_block(size, near, &exec_view, &write_view);
    else
        status = current_allocator.alloc(current_allocator.self, size, &exec_view, &write_view);
    /* Our own bookkeeping running out of ordinary memory stays CFFI_ENOMEM (nothing is held). */
    bool own_enomem = status == CFFI_ENOMEM && current_allocator.alloc == default_alloc;
    if (status != CFFI_OK || !exec_view || !write_view) {
        /* Otherwise, whatever a host allocator says (even "success" without memory, which leaves
         * nothing to give back), the caller's failure is "no executable memory". */
        if (!own_enomem) status = CFFI_ENOEXEC;
    } else {
        allocator_used = true;
        atomic_fetch_add(&exec_bytes_held, size);
        *rx = exec_view;
        *rw = write_view;
    }
    cffi_os_lock_give(&jit_lock);
    return status;
}

/* flush and release read the allocator under the lock, though after a first allocation it can
 * no longer change: the lock makes that ordering visible to every thread. */
void cffi_jit_block_flush(void *rx, size_t size) {
    cffi_os_lock_take(&jit_lock);
    cffi_jit_allocator a = current_allocator;
    cffi_os_lock_give(&jit_lock);
    a.flush(a.self, rx, size);
}

void cffi_jit_block_release(void *rx, void *rw, size_t size) {
    cffi_os_lock_take(&jit_lock);
    cffi_jit_allocator a = current_allocator;
    cffi_os_lock_give(&jit_lock);
    a.release(a.self, rx, rw, size);
    atomic_fetch_sub(&exec_bytes_held, size);
}

const char *cffi_last_exec_error(void) { return cffi_os_exec_refusal(); }

size_t cffi_jit_exec_bytes(void) { return atomic_load(&exec_bytes_held); }
