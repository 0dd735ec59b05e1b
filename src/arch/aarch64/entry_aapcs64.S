/*
 * entry_aapcs64.S - the entry stub every AArch64 closure thunk branches to.
 *
 * It spills the argument registers into an a64_frame on the stack, lets cffi_dispatch (C) run
 * the handler, then loads the result registers from the frame and returns to the closure's
 * caller. The same for every signature.
 *
 * Stack while cffi_dispatch runs (offsets from sp = x29):
 *   16 + A64_FRAME_SIZE   the caller's sp: its first stack argument
 *   16                    the a64_frame
 *   0                     x29, x30 (the frame record: debuggers and unwinders follow x29)
 */
#include "asm.h"
#include "frame.h"

#define LOCALS (16 + A64_FRAME_SIZE) /* frame record + frame; a multiple of 16 */
#define FRAME 16                     /* sp offset of the a64_frame */

        .text

/* cffi_a64_entry: reached by `br x16` from a thunk, never called directly.
 *   in:  x17 = struct cffi_closure *record; x0-x7, v0-v7 = the arguments; x30 = the return
 *        address into the caller; [sp] = the first stack argument
 *   out: x0, x1, d0, d1 = the result as the handler left it in frame.ret_int / ret_fp
 * The caller pops its own stack arguments; x19-x28 and d8-d15 are preserved by cffi_dispatch. */
CFFI_ASM_FUNC(cffi_a64_entry)
        .cfi_startproc
        CFFI_BTI_C                                /* landing pad for the thunk's br x16 */
        stp     x29, x30, [sp, #-LOCALS]!         /* frame record below the frame; sp -= LOCALS */
        .cfi_def_cfa_offset LOCALS                /* CFA = sp + LOCALS */
        .cfi_offset x29, -LOCALS                  /* x29 saved at the bottom */
        .cfi_offset x30, -(LOCALS - 8)            /* x30 right above it */
        mov     x29, sp                           /* frame pointer: the new frame record */
        .cfi_def_cfa_register x29                 /* CFA = x29 + LOCALS from here on */
        stp     x0, x1, [sp, #FRAME + A64_FRAME_GPR + 0]   /* gpr[0..1] = x0, x1 */
        stp     x2, x3, [sp, #FRAME + A64_FRAME_GPR + 16]  /* gpr[2..3] = x2, x3 */
        stp     x4, x5, [sp, #FRAME + A64_FRAME_GPR + 32]  /* gpr[4..5] = x4, x5 */
        stp     x6, x7, [sp, #FRAME + A64_FRAME_GPR + 48]  /* gpr[6..7] = x6, x7 */
        stp     d0, d1, [sp, #FRAME + A64_FRAME_FPR + 0]   /* fpr[0..1] = d0, d1 */
        stp     d2, d3, [sp, #FRAME + A64_FRAME_FPR + 16]  /* fpr[2..3] = d2, d3 */
        stp     d4, d5, [sp, #FRAME + A64_FRAME_FPR + 32]  /* fpr[4..5] = d4, d5 */
        stp     d6, d7, [sp, #FRAME + A64_FRAME_FPR + 48]  /* fpr[6..7] = d6, d7 */
        str     x8, [sp, #FRAME + A64_FRAME_X8]            /* x8: where a large struct result goes */
        mov     x0, x17                           /* cffi_dispatch arg 1: the closure record */
        add     x1, sp, #FRAME                    /* arg 2: the frame just filled */
        add     x2, sp, #LOCALS                   /* arg 3: the first stack argument */
        bl      cffi_dispatch                     /* run the handler */
        ldp     x0, x1, [sp, #FRAME + A64_FRAME_RET_INT]   /* integer result words */
        ldp     d0, d1, [sp, #FRAME + A64_FRAME_RET_FP]    /* floating result words */
        ldp     d2, d3, [sp, #FRAME + A64_FRAME_RET_FP + 16] /* the rest of a floating aggregate */
        ldp     x29, x30, [sp], #LOCALS           /* restore x29, x30; sp back to the caller's */
        .cfi_def_cfa sp, 0                        /* CFA = sp: nothing of ours is left */
        .cfi_restore x29                          /* x29 holds its own value again */
        .cfi_restore x30                          /* and x30 */
        ret                                       /* back to the closure's caller */
        .cfi_endproc
CFFI_ASM_END(cffi_a64_entry)

CFFI_ASM_NOTES
