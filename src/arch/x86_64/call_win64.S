/*
 * call_win64.S - the call stub cffi_call uses for Microsoft x64 targets.
 *
 * Called with the System V convention (like every stub), it calls the target with the Microsoft
 * one: parameters 1-4 in rcx rdx r8 r9 / xmm0-xmm3 by position, the rest on the stack above 32
 * bytes of shadow space. The target preserves rbx rbp rsi rdi r12-r15 (a superset of what System
 * V needs), so nothing beyond rbx and rbp is saved here.
 */
#include "asm.h"
#include "frame.h"

#define SHADOW_SPACE 32                          /* home area for rcx rdx r8 r9, owned by the callee */

        .text

/* void cffi_x64_call_win64(void *fn, x64_frame *frame, const void *stack, size_t stack_bytes)
 *   System V convention: rdi = fn, rsi = frame, rdx = stack, rcx = stack_bytes (a multiple of 8).
 *   Writes frame->ret_int[0..1] = rax, rdx and frame->ret_fp[0..1] = xmm0, xmm1 after the call. */
CFFI_ASM_FUNC(cffi_x64_call_win64)
        .cfi_startproc
        endbr64                                   /* landing pad: called through cffi_abi.call */
        pushq   %rbp                              /* save the caller's frame pointer */
        .cfi_def_cfa_offset 16                    /* CFA = rsp + 16 */
        .cfi_offset %rbp, -16                     /* rbp saved below the return address */
        movq    %rsp, %rbp                        /* frame pointer: undoes the variable-size stack area */
        .cfi_def_cfa_register %rbp                /* CFA = rbp + 16 from here on */
        pushq   %rbx                              /* rbx will hold the frame across the call */
        .cfi_offset %rbx, -24                     /* rbx at rbp - 8 */
        movq    %rdi, %r11                        /* r11 = fn: a scratch register no argument uses */
        movq    %rsi, %rbx                        /* rbx = frame, preserved by the callee */
        movq    %rdx, %rsi                        /* rep movsb source: the prepared stack arguments */
        leaq    SHADOW_SPACE(%rcx), %rax          /* stack arguments plus shadow space */
        subq    %rax, %rsp                        /* make room for both */
        andq    $-16, %rsp                        /* the ABI wants rsp 16-aligned at the call */
        leaq    SHADOW_SPACE(%rsp), %rdi          /* rep movsb destination: 5th parameter's slot */
        rep movsb                                 /* copy rcx bytes (the direction flag is clear per ABI) */
        movq    X64_FRAME_GPR+0(%rbx), %rcx       /* parameter 1 if integer */
        movq    X64_FRAME_GPR+8(%rbx), %rdx       /* parameter 2 */
        movq    X64_FRAME_GPR+16(%rbx), %r8       /* parameter 3 */
        movq    X64_FRAME_GPR+24(%rbx), %r9       /* parameter 4 */
        movsd   X64_FRAME_FPR+0(%rbx), %xmm0      /* parameter 1 if floating */
        movsd   X64_FRAME_FPR+8(%rbx), %xmm1      /* parameter 2 */
        movsd   X64_FRAME_FPR+16(%rbx), %xmm2     /* parameter 3 */
        movsd   X64_FRAME_FPR+24(%rbx), %xmm3     /* parameter 4 */
        call    *%r11                             /* the target */
        movq    %rax, X64_FRAME_RET_INT+0(%rbx)   /* integer result */
        movq    %rdx, X64_FRAME_RET_INT+8(%rbx)   /* second word, for symmetry with System V */
        movsd   %xmm0, X64_FRAME_RET_FP+0(%rbx)   /* floating result (low 64 bits) */
        movsd   %xmm1, X64_FRAME_RET_FP+8(%rbx)   /* second word */
        movq    -8(%rbp), %rbx                    /* restore the caller's rbx */
        .cfi_restore %rbx                         /* rbx holds its own value again */
        leave                                     /* rsp = rbp, drops argument and shadow area; pop rbp */
        .cfi_def_cfa %rsp, 8                      /* CFA = rsp + 8: only the return address is left */
        ret                                       /* back to cffi_call */
        .cfi_endproc
CFFI_ASM_END(cffi_x64_call_win64)

CFFI_ASM_NOTES
