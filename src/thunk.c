/*
 * thunk.c - closure slots: executable thunks packed densely into blocks, their records in
 * ordinary memory, the quarantine of freed slots and the dead-callback trap.
 *
 * A block is one allocation of executable memory cut into slots of CFFI_ARCH_THUNK_SIZE bytes,
 * with an array of records (struct cffi_closure) at fixed addresses. Each slot's thunk is written
 * once, when the block is mapped, and only loads its record and jumps through record->entry; it is
 * never written again. Creating, freeing and reusing a closure only changes its record, so code
 * memory needs no protection changes after mapping, and no thread can ever see a half-written
 * thunk.
 *
 * Blocks are kept for the life of the process: a freed closure's address must go on trapping.
 * Freed records wait in a FIFO; a slot is reused only once more than CFFI_QUARANTINE others wait
 * behind it, so memory stays bounded by the peak number of live closures plus the quarantine.
 *
 * Writing every thunk of a block up front also keeps fork() safe: the code views are shared with
 * a child (os/os.h), and since neither process ever writes them again, neither can change the
 * other's code; records are ordinary private memory.
 */
#include "internal.h"
#include "os/os.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Executable bytes per block: large enough that mapping is rare, small enough that a process
 * with a handful of callbacks does not hold much. Rounded up to the page size at run time. */
#define SLOT_BLOCK_BYTES ((size_t)64 * 1024)

typedef struct slot_block {
    void *rx;                /* where the thunks run */
    void *rw;                /* where they were written; kept for the allocator's release */
    size_t size;             /* executable bytes */
    size_t nslots;
    cffi_closure *records;   /* nslots records, calloc'ed */
    struct slot_block *next; /* every block ever mapped, newest first */
} slot_block;

/* Slot state, all under slot_lock. */
static cffi_os_lock slot_lock = CFFI_OS_LOCK_INIT;
static slot_block *blocks;          /* blocks->records[next_unused ...] were never handed out */
static size_t next_unused;
static cffi_quarantine quarantine;  /* freed records, oldest first */
static size_t live_count;
static size_t data_bytes;

static void default_dead_hook(const cffi_sig *sig, void *code) {
    (void)code;
    /* The one place the library prints: native code called freed memory's address and expects a
     * return value, so there is no caller to hand a status to. */
    fprintf(stderr, "cffi: call through a freed callback %s\n", cffi_sig_text(sig));
}

static _Atomic(cffi_dead_hook) dead_hook = default_dead_hook;

void cffi_set_dead_hook(cffi_dead_hook hook) {
    atomic_store(&dead_hook, hook ? hook : default_dead_hook);
}

void cffi_dead_handler(void *ctx, void *ret, void *const *args) {
    (void)args;
    const cffi_closure *record = ctx;
    /* A record between lives has no signature: nothing to report, and no size to return. */
    if (!record->sig) return;
    atomic_load(&dead_hook)(record->sig, record->code);
    size_t size = cffi_type_size(cffi_sig_result(record->sig));
    /* dead_value holds the default's bytes from its start, as cffi_closure_set_default copied
     * them; the result buffer is exactly the result type's size. */
    if (ret && size > 0) memcpy(ret, &record->dead_value, size);
}

/* The same trap for a frame closure: the default goes where the entry stub loads the result
 * registers from, as a slot value. */
void cffi_dead_frame_handler(void *ctx, void *frame, void *stack) {
    (void)stack;
    const cffi_closure *record = ctx;
    if (!record->sig) return;
    atomic_load(&dead_hook)(record->sig, record->code);
    cffi_frame_set_result(record->sig, frame, &record->dead_value);
}

/* A record between lives: its handler is the trap, and the trap knows no signature yet. entry
 * and plan stay as they are; closure.c sets them with the new signature. */
static void reset_record(cffi_closure *record) {
    record->ctx = record;
    record->sig = NULL;
    record->dead_value = 0;
    record->freed.next = NULL;
    record->is_frame = false;
    atomic_store_explicit(&record->handler, cffi_dead_handler, memory_order_release);
}

/* Map a new block with every thunk written and flushed. Called with slot_lock held; on failure
 * takes nothing and changes nothing. */
static cffi_status map_block(slot_block **out) {
    *out = NULL;
    size_t page = cffi_os_page_size();
    size_t size = (SLOT_BLOCK_BYTES + page - 1) / page * page;
    size_t nslots = size / CFFI_ARCH_THUNK_SIZE;

    slot_block *block = malloc(sizeof *block);
    cffi_closure *records = calloc(nslots, sizeof *records);
    if (!block || !records) {
        free(block);
        free(records);
        return CFFI_ENOMEM;
    }
    void *rx, *rw;
    cffi_status status = cffi_jit_block_alloc(size, &rx, &rw);
    if (status != CFFI_OK) {
        free(block);
        free(records);
        return status;
    }
    for (size_t i = 0; i < nslots; i++) {
        size_t offset = i * CFFI_ARCH_THUNK_SIZE;
        records[i].code = (uint8_t *)rx + offset;
        reset_record(&records[i]);
        cffi_arch_thunk_write((uint8_t *)rw + offset, (uintptr_t)rx + offset, &records[i]);
    }
    cffi_jit_block_flush(rx, size);

    *block = (slot_block){
        .rx = rx, .rw = rw, .size = size, .nslots = nslots, .records = records, .next = NULL};
    *out = block;
    return CFFI_OK;
}

cffi_status cffi_slot_acquire(cffi_closure **out) {
    *out = NULL;
    cffi_closure *record = NULL;
    const cffi_sig *stale_sig = NULL;
    cffi_status status = CFFI_OK;

    cffi_os_lock_take(&slot_lock);
    cffi_qlink *served = cffi_quarantine_release(&quarantine);
    if (served) {
        /* The oldest freed slot has had more than CFFI_QUARANTINE others freed after it. */
        record = CFFI_QUARANTINE_OWNER(served, cffi_closure, freed);
        stale_sig = record->sig;
    } else {
        if (!blocks || next_unused == blocks->nslots) {
            slot_block *block;
            status = map_block(&block);
            if (status == CFFI_OK) {
                block->next = blocks;
                blocks = block;
                next_unused = 0;
                data_bytes += sizeof *block + block->nslots * sizeof *block->records;
            }
        }
        if (status == CFFI_OK) record = &blocks->records[next_unused++];
    }
    if (record) live_count++;
    cffi_os_lock_give(&slot_lock);

    if (!record) return status;
    /* The record keeps its slot and forgets its past life; it is cleared here, not at release,
     * because a freed record must go on trapping with its sig and default until this moment.
     * Until closure.c fills it, it is a trap without a signature. A call that races this reuse
     * is the caller's bug (cffi.h: the address is safe only until reused). */
    reset_record(record);
    /* Dropped outside the lock: sig.c may take its own lock to un-intern. */
    if (stale_sig) cffi_sig_free((cffi_sig *)stale_sig);
    *out = record;
    return CFFI_OK;
}

void cffi_slot_release(cffi_closure *record) {
    if (!record) return;
    cffi_os_lock_take(&slot_lock);
    cffi_quarantine_push(&quarantine, &record->freed);
    live_count--;
    cffi_os_lock_give(&slot_lock);
}

void cffi_jit_get_stats(cffi_jit_stats *out) {
    if (!out) return;
    cffi_os_lock_take(&slot_lock);
    *out = (cffi_jit_stats){
        .live_closures = live_count,
        .dead_closures = quarantine.count,
        .data_bytes = data_bytes,
        .slot_exec_bytes = CFFI_ARCH_THUNK_SIZE,
    };
    cffi_os_lock_give(&slot_lock);
    out->exec_bytes = cffi_jit_exec_bytes();
}
