/*
 * call_aapcs.S - the call stub cffi_call uses on 32-bit ARM (both conventions).
 *
 * cffi_call fills an arm_frame and a stack argument area following the signature's plan; this
 * stub copies the stack arguments onto the machine stack, loads r0-r3 and d0-d7, calls the
 * target (ARM or Thumb: blx follows its address's low bit) and stores r0, r1 and d0 back into
 * the frame.
 */
#include "asm.h"
#include "frame.h"

        .syntax unified
        .arm
        .fpu vfpv3-d16
        .text

/* void cffi_arm_call(void *fn, arm_frame *frame, const void *stack, size_t stack_bytes)
 *   r0 = fn, r1 = frame, r2 = stack, r3 = stack_bytes (a multiple of 4). */
CFFI_ASM_FUNC(cffi_arm_call)
        .fnstart
        .cfi_startproc
        push    {r4, r5, r11, lr}                 /* r4, r5 kept across the call; sp stays 8-aligned */
        .save   {r4, r5, r11, lr}                 /* (ARM exception tables) */
        .cfi_def_cfa_offset 16                    /* CFA = sp + 16 */
        .cfi_offset r4, -16                       /* r4 at the bottom */
        .cfi_offset r5, -12                       /* r5 */
        .cfi_offset r11, -8                       /* r11 */
        .cfi_offset lr, -4                        /* lr at the top */
        mov     r11, sp                           /* frame pointer: undoes the variable-size area */
        .setfp  r11, sp                           /* (ARM exception tables) */
        .cfi_def_cfa_register r11                 /* CFA = r11 + 16 from here on */
        mov     r4, r1                            /* r4 = frame, callee-saved */
        mov     r5, r0                            /* r5 = fn, callee-saved */
        sub     sp, sp, r3                        /* room for the stack arguments ... */
        bic     sp, sp, #7                        /* ... with sp 8-byte aligned, as the ABI wants */
        mov     ip, sp                            /* copy destination */
        cmp     r3, #0                            /* any stack arguments? */
        beq     2f                                /* no: nothing to copy */
1:      ldr     r0, [r2], #4                      /* next word of the prepared arguments */
        str     r0, [ip], #4                      /* onto the stack */
        subs    r3, r3, #4                        /* 4 bytes fewer to go */
        bne     1b                                /* until all are copied */
2:      add     r0, r4, #ARM_FRAME_FPR            /* r0 = &fpr[0] */
        vldmia  r0, {d0-d7}                       /* s0-s15: floating arguments (aapcs_vfp) */
        ldm     r4, {r0-r3}                       /* r0-r3: core arguments */
        blx     r5                                /* the target, in the state its address says */
        str     r0, [r4, #ARM_FRAME_RET_INT]      /* integer result (low word) */
        str     r1, [r4, #ARM_FRAME_RET_INT + 4]  /* high word of a 64-bit result */
        add     r2, r4, #ARM_FRAME_RET_FP         /* r2 = &ret_fp */
        vstmia  r2, {d0-d3}                       /* floating result (s0 for a float; d0-d3 an HFA) */
        mov     sp, r11                           /* drop the argument area */
        .cfi_def_cfa_register sp                  /* CFA = sp + 16 */
        pop     {r4, r5, r11, pc}                 /* restore and return (interworking on lr's bit 0) */
        .cfi_endproc
        .fnend
CFFI_ASM_END(cffi_arm_call)

CFFI_ASM_NOTES
