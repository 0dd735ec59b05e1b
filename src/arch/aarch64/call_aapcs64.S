/*
 * call_aapcs64.S - the call stub cffi_call uses on AArch64.
 *
 * cffi_call fills an a64_frame and a stack argument area following the signature's plan; this
 * stub copies the stack arguments onto the machine stack, loads the argument registers, calls the
 * target and stores the result registers back into the frame.
 */
#include "asm.h"
#include "frame.h"

        .text

/* void cffi_a64_call(void *fn, a64_frame *frame, const void *stack, size_t stack_bytes)
 *   x0 = fn, x1 = frame, x2 = stack, x3 = stack_bytes (a multiple of 8).
 *   Writes frame->ret_int[0..1] = x0, x1 and frame->ret_fp[0..1] = d0, d1 after the call. */
CFFI_ASM_FUNC(cffi_a64_call)
        .cfi_startproc
        CFFI_BTI_C                                /* landing pad: called through cffi_abi.call */
        stp     x29, x30, [sp, #-32]!             /* frame record, and a slot for x19 */
        .cfi_def_cfa_offset 32                    /* CFA = sp + 32 */
        .cfi_offset x29, -32                      /* x29 at the bottom */
        .cfi_offset x30, -24                      /* x30 above it */
        mov     x29, sp                           /* frame pointer: undoes the variable-size area */
        .cfi_def_cfa_register x29                 /* CFA = x29 + 32 from here on */
        str     x19, [sp, #16]                    /* x19 will hold the frame across the call */
        .cfi_offset x19, -16                      /* x19 saved at x29 + 16 */
        mov     x19, x1                           /* x19 = frame, callee-saved */
        mov     x9, x0                            /* x9 = fn: a scratch register no argument uses */
        sub     x10, sp, x3                       /* room for the stack arguments ... */
        and     sp, x10, #-16                     /* ... with sp 16-byte aligned, as the ABI wants */
        mov     x11, sp                           /* copy destination: the outgoing argument area */
        cbz     x3, 2f                            /* no stack arguments: nothing to copy */
1:      ldr     x12, [x2], #8                     /* next 8 bytes of the prepared arguments */
        str     x12, [x11], #8                    /* onto the stack */
        subs    x3, x3, #8                        /* 8 bytes fewer to go */
        b.ne    1b                                /* until all are copied */
2:      ldp     x0, x1, [x19, #A64_FRAME_GPR + 0]    /* x0, x1: integer arguments 1-2 */
        ldp     x2, x3, [x19, #A64_FRAME_GPR + 16]   /* x2, x3 */
        ldp     x4, x5, [x19, #A64_FRAME_GPR + 32]   /* x4, x5 */
        ldp     x6, x7, [x19, #A64_FRAME_GPR + 48]   /* x6, x7 */
        ldp     d0, d1, [x19, #A64_FRAME_FPR + 0]    /* d0, d1: floating arguments 1-2 */
        ldp     d2, d3, [x19, #A64_FRAME_FPR + 16]   /* d2, d3 */
        ldp     d4, d5, [x19, #A64_FRAME_FPR + 32]   /* d4, d5 */
        ldp     d6, d7, [x19, #A64_FRAME_FPR + 48]   /* d6, d7 */
        ldr     x8, [x19, #A64_FRAME_X8]             /* x8: where a large struct result goes */
        blr     x9                                /* the target */
        stp     x0, x1, [x19, #A64_FRAME_RET_INT] /* integer result words */
        stp     d0, d1, [x19, #A64_FRAME_RET_FP]  /* floating result words */
        stp     d2, d3, [x19, #A64_FRAME_RET_FP + 16] /* the rest of a floating aggregate */
        mov     sp, x29                           /* drop the argument area */
        ldr     x19, [sp, #16]                    /* restore the caller's x19 */
        .cfi_restore x19                          /* x19 holds its own value again */
        ldp     x29, x30, [sp], #32               /* restore x29, x30; pop the frame */
        .cfi_def_cfa sp, 0                        /* CFA = sp: nothing of ours is left */
        .cfi_restore x29                          /* x29 holds its own value again */
        .cfi_restore x30                          /* and x30 */
        ret                                       /* back to cffi_call */
        .cfi_endproc
CFFI_ASM_END(cffi_a64_call)

CFFI_ASM_NOTES
