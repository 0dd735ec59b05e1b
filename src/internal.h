/*
 * internal.h - what the generic C files share: signatures, plans, ABI descriptors, closure
 * records, and the interface every target under src/arch/<arch>/ implements.
 *
 * Generic code never tests the architecture with #if: the build puts src/arch/<arch>/ on the
 * include path, and arch_config.h there says what differs.
 */
#ifndef CFFI_INTERNAL_H
#define CFFI_INTERNAL_H

#include "cffi.h"

#include <stdatomic.h>
#include <stdbool.h>

#include "arch_config.h" /* CFFI_ARCH_NAME, CFFI_DISPATCH_ABI, CFFI_STUB_ABI, CFFI_ARCH_THUNK_SIZE, ... */
#include "hidden.h"
#include "quarantine.h"

/* ---------------------------------------------------------------------------------------------
 * Plans: where every argument lives for one signature under one convention, computed once when
 * the signature is parsed. Entry stubs spill the argument registers into a "register frame" (a
 * per-architecture struct, see src/arch/<arch>/frame.h) and pass a pointer to the first stack
 * argument; call stubs load the same frame and stack area. Offsets below are relative to one or
 * the other, so the dispatcher and cffi_call are one loop each, written once.
 */
typedef struct cffi_argloc {
    uint16_t offset;  /* byte offset in the register frame, or in the stack argument area */
    uint8_t on_stack; /* 1 if offset is into the stack argument area */
    uint8_t type;     /* cffi_type */
    uint8_t width;    /* bytes of the widened slot value cffi_call stores there: 4 or 8 */
    uint8_t pad[3];   /* 8 bytes per entry: one scaled index per access in the per-call loops */
} cffi_argloc;

typedef struct cffi_plan {
    uint32_t stack_bytes; /* size of the stack argument area (a multiple of the stack slot) */
    uint32_t callee_pop;  /* bytes of stack the callee removes on return */
    uint16_t ret_offset;  /* where the (widened) result sits in the register frame */
    uint8_t ret_type;     /* cffi_type */
    uint8_t nparams;
    uintptr_t stub_word;  /* per-arch word for the entry stub, returned by cffi_dispatch */
    cffi_argloc args[];   /* nparams entries */
} cffi_plan;

/* One calling convention of one target, as data plus a few hooks. The generic placement loop
 * (cffi_plan_build in plan.c) reads these facts; the hooks cover what facts cannot say. */
typedef struct cffi_abi cffi_abi;

/* Call stub (assembly): copy stack_bytes from stack onto the machine stack, load the argument
 * registers from frame, call fn, store the result registers back into frame. */
typedef void (*cffi_call_stub)(void *fn, void *frame, const void *stack, size_t stack_bytes)
    CFFI_STUB_ABI;

struct cffi_abi {
    const char *name;       /* canonical convention name */
    uint8_t gpr_count;      /* integer-class argument registers */
    uint8_t fpr_count;      /* floating-point argument registers */
    uint8_t gpr_max_size;   /* largest integer-class argument that goes in one GPR */
    uint8_t shared_slots;   /* 1: argument n uses register slot n of either class (win64) */
    uint8_t stack_slot;     /* stack slot size; each stack argument takes a multiple of it */
    uint8_t callee_pops;    /* 1: the callee removes its stack arguments */
    uint8_t stack_natural;  /* 1: stack arguments are packed by their natural size and alignment,
                               not whole stack_slot slots (Apple arm64); the area still ends on a
                               stack_slot boundary */
    uint8_t wide_uses_gprs; /* 1: an integer argument wider than gpr_max_size goes on the stack
                               yet uses up size / reg_size GPRs (GCC's i386 fastcall/thiscall) */
    uint16_t gpr_offset;    /* register frame offset of the first integer argument register */
    uint16_t fpr_offset;    /* register frame offset of the first floating argument register */
    uint16_t reg_size;      /* bytes per register in the frame */
    uint16_t ret_int_offset;/* register frame offset where an integer result is returned */
    uint16_t ret_fp_offset; /* register frame offset where a floating result is returned */
    uint16_t frame_size;    /* size of the register frame */
    /* Optional: reject what this convention cannot carry (CFFI_EUNSUPPORTED + message). */
    cffi_status (*check)(const cffi_abi *abi, cffi_type ret, const cffi_type *params, size_t n,
                         char *errbuf, size_t errlen);
    /* Optional: place every argument itself, for rules the facts above cannot say (32-bit ARM:
     * 64-bit values in even register pairs, floating back-filling). Fills plan->args[0..n),
     * plan->stack_bytes and plan->ret_offset; the loop does the rest. */
    void (*place)(const cffi_abi *abi, cffi_type ret, const cffi_type *params, size_t n,
                  cffi_plan *plan);
    /* Optional: finish the plan (stub_word, special return handling). */
    void (*finish)(const cffi_abi *abi, cffi_plan *plan);
    const void *entry;      /* entry stub: jumped to by every thunk of this convention */
    /* Optional: the entry stub of frame closures, which calls the record's frame handler
     * directly. NULL: frame closures use entry, and cffi_dispatch calls their handler. */
    const void *frame_entry;
    cffi_call_stub call;    /* call stub for cffi_call */
};

/* Build the plan for (ret, params) under abi. Returns CFFI_ENOMEM, CFFI_EUNSUPPORTED or CFFI_OK. */
CFFI_HIDDEN cffi_status cffi_plan_build(const cffi_abi *abi, cffi_type ret, const cffi_type *params,
                                        size_t n, cffi_plan **out, char *errbuf, size_t errlen);

/* ---------------------------------------------------------------------------------------------
 * Signatures (sig.c). Interned and reference counted; immutable after parse.
 */
struct cffi_sig {
    atomic_size_t refs;
    const cffi_abi *abi;
    const char *text;      /* normal form, e.g. "int(int, int)" */
    cffi_type result;
    size_t nparams;
    const cffi_type *params;
    const cffi_plan *plan;
};

/* ---------------------------------------------------------------------------------------------
 * Closure records (thunk.c). Each thunk slot in executable memory has one record in ordinary
 * memory at a fixed address; the thunk's code, written once when its block is mapped, loads the
 * record's address and jumps through its first field. A freed closure keeps its record, with the
 * handler switched to the dead trap, until its slot leaves quarantine.
 */
struct cffi_closure {
    const void *entry;              /* MUST be first: the thunk jumps through it */
    const cffi_plan *plan;          /* sig->plan, one load less per call */
    /* A cffi_handler, or a cffi_frame_handler when is_frame: the dead trap of that kind once
     * freed. Frame entry stubs read it at a fixed offset (src/arch/<arch>/frame.h). */
    _Atomic(cffi_handler) handler;
    void *ctx;                      /* right after handler, read by frame entry stubs too */
    const cffi_sig *sig;            /* a reference, held until the slot is reused */
    void *code;                     /* executable address of the thunk */
    uint64_t dead_value;            /* result of a call after free (result-type size) */
    cffi_qlink freed;               /* in the quarantine once freed (quarantine.h) */
    bool is_frame;                  /* made by cffi_closure_new_frame */
};

/* Entry stubs call this (with CFFI_DISPATCH_ABI). frame is the register frame, stack points at
 * the first stack argument. Returns plan->stub_word for the stub's use. */
CFFI_HIDDEN uintptr_t cffi_dispatch(cffi_closure *c, void *frame, void *stack) CFFI_DISPATCH_ABI;

/* Slots (thunk.c): a record with its thunk code ready, or CFFI_ENOEXEC / CFFI_ENOMEM. */
CFFI_HIDDEN cffi_status cffi_slot_acquire(cffi_closure **out);
CFFI_HIDDEN void cffi_slot_release(cffi_closure *c); /* into quarantine; handler already dead */
CFFI_HIDDEN void cffi_dead_handler(void *ctx, void *ret, void *const *args);
CFFI_HIDDEN void cffi_dead_frame_handler(void *ctx, void *frame, void *stack); /* frame closures */

/* Executable memory (jit/alloc.c over the OS layer, os/os.h). */
CFFI_HIDDEN cffi_status cffi_jit_block_alloc(size_t size, void **rx, void **rw);
/* The same, with the executable view near `near` when the default allocator can place it there
 * (a best effort, for code that jumps to and from code at `near`). */
CFFI_HIDDEN cffi_status cffi_jit_block_alloc_near(size_t size, const void *near, void **rx,
                                                  void **rw);
CFFI_HIDDEN void cffi_jit_block_flush(void *rx, size_t size);

/* Pieces of executable memory that are never given back (jit/arena.c), aligned to
 * CFFI_JIT_ARENA_ALIGN. near: every address of the piece reaches [lo, hi] with a 32-bit
 * displacement, or CFFI_ENOEXEC when no block the allocator gives is placed so. */
#define CFFI_JIT_ARENA_ALIGN 16
CFFI_HIDDEN cffi_status cffi_jit_arena_alloc(size_t size, bool near, uintptr_t lo, uintptr_t hi,
                                             uint8_t **rx, uint8_t **rw);
CFFI_HIDDEN void cffi_jit_block_release(void *rx, void *rw, size_t size);
CFFI_HIDDEN size_t cffi_jit_exec_bytes(void); /* bytes held from the allocator, for stats */

/* ---------------------------------------------------------------------------------------------
 * What each target provides (src/arch/<arch>/).
 */
typedef struct cffi_conv_name {
    const char *name;      /* accepted spelling, lower case, no leading underscores */
    const char *canonical; /* the cffi_abi name it means on this target */
} cffi_conv_name;

extern CFFI_HIDDEN const cffi_abi *const cffi_arch_abis[];          /* NULL-terminated */
extern CFFI_HIDDEN const cffi_conv_name cffi_arch_conv_names[];      /* {NULL, NULL}-terminated */

/* Write the thunk for record into a slot of CFFI_ARCH_THUNK_SIZE bytes at rw, which will execute
 * at rx. Called once per slot when its block is mapped. */
CFFI_HIDDEN void cffi_arch_thunk_write(uint8_t *rw, uintptr_t rx, const cffi_closure *record);

/* Write "col N: msg" style messages into a caller buffer (never overflows, always terminates). */
CFFI_HIDDEN void cffi_errorf(char *buf, size_t len, const char *fmt, ...)
    CFFI_PRINTF_LIKE(3, 4);

#endif /* CFFI_INTERNAL_H */
