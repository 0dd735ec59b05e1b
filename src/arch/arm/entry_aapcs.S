/*
 * entry_aapcs.S - the entry stub every 32-bit ARM closure thunk jumps to (both conventions).
 *
 * It spills r0-r3 and s0-s15 (d0-d7) into an arm_frame on the stack, lets cffi_dispatch (C) run
 * the handler, then loads r0, r1 and d0 from the frame and returns to the closure's caller. The
 * plan says which of them a signature uses; the stub is the same for every signature.
 *
 * Stack while cffi_dispatch runs (offsets from sp):
 *   ARM_FRAME_SIZE + 8   the caller's sp: its first stack argument
 *   ARM_FRAME_SIZE       r11, lr
 *   0                    the arm_frame
 */
#include "asm.h"
#include "frame.h"

        .syntax unified
        .arm
        .fpu vfpv3-d16
        .text

/* cffi_arm_entry: reached by `ldr pc, [ip]` from a thunk, in ARM state, never called directly.
 *   in:  ip = struct cffi_closure *record; r0-r3, s0-s15 = the arguments; lr = the return
 *        address (bit 0 set for a Thumb caller); [sp] = the first stack argument
 *   out: r0, r1, d0 = the result as the handler left it in frame.ret_int / ret_fp
 * The caller pops its own stack arguments; r4-r11 and d8-d15 are preserved by cffi_dispatch. */
CFFI_ASM_FUNC(cffi_arm_entry)
        .fnstart
        .cfi_startproc
        push    {r11, lr}                         /* frame pointer and return address; sp stays 8-aligned */
        .save   {r11, lr}                         /* (ARM exception tables) */
        .cfi_def_cfa_offset 8                     /* CFA = sp + 8 */
        .cfi_offset r11, -8                       /* r11 at the bottom */
        .cfi_offset lr, -4                        /* lr above it */
        sub     sp, sp, #ARM_FRAME_SIZE           /* room for the frame; a multiple of 8 */
        .pad    #ARM_FRAME_SIZE                   /* (ARM exception tables) */
        .cfi_def_cfa_offset ARM_FRAME_SIZE + 8    /* CFA = sp + frame + 8 */
        stm     sp, {r0-r3}                       /* gpr[0..3] = r0-r3 */
        add     r1, sp, #ARM_FRAME_FPR            /* r1 = &fpr[0] (r1 is saved above) */
        vstmia  r1, {d0-d7}                       /* fpr = s0-s15 */
        mov     r0, ip                            /* cffi_dispatch arg 1: the closure record */
        mov     r1, sp                            /* arg 2: the frame just filled */
        add     r2, sp, #ARM_FRAME_SIZE + 8       /* arg 3: the first stack argument */
        bl      cffi_dispatch                     /* run the handler */
        ldr     r0, [sp, #ARM_FRAME_RET_INT]      /* integer result (low word) */
        ldr     r1, [sp, #ARM_FRAME_RET_INT + 4]  /* high word of a 64-bit result */
        add     r2, sp, #ARM_FRAME_RET_FP         /* r2 = &ret_fp */
        vldmia  r2, {d0-d3}                       /* floating result (s0 for a float; d0-d3 an HFA) */
        add     sp, sp, #ARM_FRAME_SIZE           /* drop the frame */
        .cfi_def_cfa_offset 8                     /* CFA = sp + 8 */
        pop     {r11, pc}                         /* restore r11, return (interworking on lr's bit 0) */
        .cfi_endproc
        .fnend
CFFI_ASM_END(cffi_arm_entry)

CFFI_ASM_NOTES
