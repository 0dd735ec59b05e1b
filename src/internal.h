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
/* How an aggregate argument travels (cffi_argloc.agg). */
enum {
    CFFI_AGG_NONE = 0, /* a scalar */
    CFFI_AGG_PARTS,    /* its bytes, in pieces: registers and/or the stack (plan->parts) */
    CFFI_AGG_REF       /* a pointer to a copy, in the argument's slot (offset, width) */
};

typedef struct cffi_argloc {
    uint16_t offset;  /* byte offset in the register frame, or in the stack argument area */
    uint8_t on_stack; /* 1 if offset is into the stack argument area */
    uint8_t type;     /* cffi_type */
    uint8_t width;    /* bytes of the widened slot value cffi_call stores there: 4 or 8 */
    uint8_t agg;      /* CFFI_AGG_*: scalars are CFFI_AGG_NONE */
    uint16_t part;    /* CFFI_AGG_PARTS: its first entry in plan->parts */
} cffi_argloc;       /* 8 bytes per entry: one scaled index per access in the per-call loops */

/* One piece of an aggregate: bytes [src, src + size) of the value sit at offset in the register
 * frame or the stack area. An argument's pieces are consecutive entries, the last one marked. */
typedef struct cffi_part {
    uint16_t offset;
    uint16_t src;
    uint16_t size;
    uint8_t on_stack;
    uint8_t last;
} cffi_part;

/* Which closures a signature can have (cffi_sig.closures). */
enum {
    CFFI_CLOSURES_ANY = 0,
    CFFI_CLOSURES_GENERIC, /* aggregates or long double: no frame closures */
    CFFI_CLOSURES_NONE     /* variadic: none */
};

/* How a result comes back (cffi_plan.ret_how). */
enum {
    CFFI_RET_SCALAR = 0, /* widened at ret_offset (or nothing, for void) */
    CFFI_RET_PARTS,      /* an aggregate in result registers: parts from ret_part on */
    CFFI_RET_SRET,       /* an aggregate written where a hidden pointer argument (sret) points;
                            that pointer comes back as the integer result */
    CFFI_RET_X87         /* a long double in st(0): at ret_offset in its memory form, which the
                            stubs load (fldt) and store (fstpt) */
};

typedef struct cffi_plan {
    uint32_t stack_bytes; /* size of the stack argument area (a multiple of the stack slot) */
    uint32_t callee_pop;  /* bytes of stack the callee removes on return */
    uint16_t ret_offset;  /* where the (widened) result sits in the register frame */
    uint8_t ret_type;     /* cffi_type */
    uint8_t nparams;
    uintptr_t stub_word;  /* per-arch word for the entry stub, returned by cffi_dispatch */
    /* Aggregates. Plans without any keep has_agg false, and the per-call loops never look
     * further. */
    bool has_agg;
    uint8_t ret_how;      /* CFFI_RET_* */
    uint16_t ret_part;    /* CFFI_RET_PARTS: the result's first entry in parts */
    uint32_t scratch;     /* bytes of aggregate copies a call may need (16-byte aligned each) */
    cffi_argloc sret;     /* CFFI_RET_SRET: where the hidden result pointer is */
    const cffi_agg *ret_agg;     /* the layout of an aggregate or long double result */
    const cffi_agg **aggs;       /* nparams entries: the layout of each aggregate or long double
                                    argument, NULL for other scalars (in the same allocation) */
    cffi_part *parts;     /* in the same allocation, after args */
    cffi_argloc args[];   /* nparams entries */
} cffi_plan;

/* How one aggregate travels under a convention, as its classify hook says. */
enum {
    CFFI_PASS_STACK = 0, /* by value on the stack */
    CFFI_PASS_REGS,      /* in registers, piece by piece (each piece's class below); when they
                            do not all fit, by value on the stack. Results: in result registers */
    CFFI_PASS_REF,       /* arguments: a pointer to a copy, passed as a pointer argument is */
    CFFI_PASS_SRET,      /* results: through a hidden pointer argument */
    CFFI_PASS_X87        /* results: in st(0) (a long double, or a struct of just one) */
};
enum { CFFI_CLASS_GPR = 0, CFFI_CLASS_FPR };
#define CFFI_MAX_PIECES 4

typedef struct cffi_agg_class {
    uint8_t how;                          /* CFFI_PASS_* */
    uint8_t npieces;                      /* CFFI_PASS_REGS: registers taken, in order */
    uint8_t piece_class[CFFI_MAX_PIECES]; /* CFFI_CLASS_*; pieces cover consecutive bytes */
    uint8_t piece_size[CFFI_MAX_PIECES];  /* bytes of the value each holds */
    uint8_t uses_gprs;                    /* CFFI_PASS_STACK: integer argument registers it uses
                                             up all the same (later arguments skip them) */
    uint8_t even_gpr;                     /* CFFI_PASS_REGS: starts at an even GPR (AAPCS64's
                                             16-byte aligned composites) */
} cffi_agg_class;

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
    uint16_t ret_x87_offset;/* register frame offset of a long double result (CFFI_PASS_X87) */
    uint16_t frame_size;    /* size of the register frame */
    /* Optional: reject what this convention cannot carry (CFFI_EUNSUPPORTED + message). */
    cffi_status (*check)(const cffi_abi *abi, cffi_type ret, const cffi_type *params, size_t n,
                         char *errbuf, size_t errlen);
    /* Optional: place every argument itself, for rules the facts above cannot say (32-bit ARM:
     * 64-bit values in even register pairs, floating back-filling, structs split between
     * registers and the stack). Fills plan->args[0..n), plan->stack_bytes, plan->ret_offset and,
     * for aggregates (layouts in plan->aggs and plan->ret_agg), the parts and ret_how; the loop
     * does the rest. CFFI_EUNSUPPORTED with a message for what it cannot carry. */
    cffi_status (*place)(const cffi_abi *abi, cffi_type ret, const cffi_type *params, size_t n,
                         cffi_plan *plan, char *errbuf, size_t errlen);
    /* Optional: finish the plan (stub_word, special return handling). */
    void (*finish)(const cffi_abi *abi, cffi_plan *plan);
    /* Aggregates (NULL: refused on this convention): how a struct or union of this layout is
     * passed as an argument (is_result false: STACK, REGS or REF) or returned (REGS or SRET).
     * CFFI_EUNSUPPORTED with a message for one it cannot carry. */
    cffi_status (*classify)(const cffi_abi *abi, const cffi_agg *agg, bool is_result,
                            cffi_agg_class *out, char *errbuf, size_t errlen);
    uint8_t sret_in_gpr;      /* 1: the hidden result pointer takes the first integer argument
                                 register; 0: the first stack slot */
    uint8_t sret_callee_pops; /* 1: the callee pops the hidden pointer's stack slot even where it
                                 pops nothing else (GCC's i386 on Linux) */
    uint16_t sret_reg_offset; /* nonzero: the hidden pointer goes in a register of its own, at this
                                 register frame offset, using up no argument (AArch64's x8) */
    uint8_t agg_spill_closes; /* 1: an aggregate that does not fit in the registers left goes on
                                 the stack, and later arguments of that class do too (AAPCS64) */
    /* Variadic calls. */
    const cffi_abi *variadic; /* the convention every argument of a variadic call follows, if
                                 not this one (armhf: the base standard, no VFP registers) */
    uint8_t variadic_fp_in_gprs; /* 1: a floating variadic argument in a register goes in the
                                    integer register of its position too (win64) */
    const void *entry;      /* entry stub: jumped to by every thunk of this convention */
    const void *entry_x87;  /* Optional: the entry stub for a result in st(0), when entry does
                               not load it (x86-64: st(0) must stay empty otherwise) */
    cffi_call_stub call_x87;/* Optional: the same for the call stub */
    /* Optional: the entry stub of frame closures, which calls the record's frame handler
     * directly. NULL: frame closures use entry, and cffi_dispatch calls their handler. */
    const void *frame_entry;
    cffi_call_stub call;    /* call stub for cffi_call */
};

/* Build the plan for (ret, params) under abi; ret_agg and aggs[i] are the layouts of aggregates
 * (aggs may be NULL when there are none). Returns CFFI_ENOMEM, CFFI_EUNSUPPORTED or CFFI_OK. */
CFFI_HIDDEN cffi_status cffi_plan_build(const cffi_abi *abi, cffi_type ret,
                                        const cffi_agg *ret_agg, const cffi_type *params,
                                        const cffi_agg *const *aggs, size_t n, cffi_plan **out,
                                        char *errbuf, size_t errlen);

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
    const cffi_agg *result_agg;         /* for a CFFI_T_AGG result */
    const cffi_agg *const *param_aggs;  /* nparams entries, NULL for scalars */
    bool variadic;                      /* "...": params are the fixed ones; plan places them
                                           as a variadic call does */
    uint8_t closures;                   /* CFFI_CLOSURES_*: which closures it can have */
    const void *entry;                  /* the entry stub its closures use: the abi's, or its
                                           x87 one for a long double result */
    const cffi_abi *call_abi;           /* the abi the plan follows (abi, or its variadic one) */
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
