/*
 * call_win64.S - the call stub cffi_call uses for Microsoft x64 targets.
 *
 * Called with the System V convention (like every stub), it calls the target with the Microsoft
 * one: parameters 1-4 in rcx rdx r8 r9 / xmm0-xmm3 by position, the rest on the stack above 32
 * bytes of shadow space. The target preserves rbx rbp rsi rdi r12-r15 (a superset of what System
 * V needs), so nothing beyond rbp is saved here.
 */
#include "asm.h"
#include "frame.h"

#define SHADOW_SPACE 32                          /* home area for rcx rdx r8 r9, owned by the callee */

        .text

/* void cffi_x64_call_win64(void *fn, x64_frame *frame, const void *stack, size_t stack_bytes)
 *   System V convention: rdi = fn, rsi = frame, rdx = stack, rcx = stack_bytes (a multiple of 8).
 *   Writes frame->ret_int[0..1] = rax, rdx and frame->ret_fp[0..1] = xmm0, xmm1 after the call. */
CFFI_ASM_FUNC(cffi_x64_call_win64)
        CFFI_UNWIND_BEGIN(cffi_x64_call_win64)
        endbr64                                   /* landing pad: called through cffi_abi.call */
        pushq   %rbp                              /* save the caller's frame pointer */
        CFFI_CFI(.cfi_def_cfa_offset 16)          /* CFA = rsp + 16 */
        CFFI_CFI(.cfi_offset %rbp, -16)           /* rbp saved below the return address */
        CFFI_SEH(.seh_pushreg %rbp)               /* Windows: rbp pushed */
        movq    %rsp, %rbp                        /* frame pointer: undoes the variable-size stack area */
        CFFI_CFI(.cfi_def_cfa_register %rbp)      /* CFA = rbp + 16 from here on */
        CFFI_SEH(.seh_setframe %rbp, 0)           /* Windows: rsp = rbp when unwinding */
        subq    $16, %rsp                         /* a slot for the frame argument; keeps 16-byte alignment */
        CFFI_SEH(.seh_stackalloc 16)              /* Windows: the fixed allocation */
        CFFI_SEH(.seh_endprologue)                /* Windows: end of the prologue */
        movq    %rsi, -8(%rbp)                    /* frame, for storing the result after the call */
        movq    %rdi, %r11                        /* r11 = fn: a scratch register no argument uses */
        movq    %rsi, %r10                        /* r10 = frame while the arguments load: not an argument register */
        movq    %rdx, %rsi                        /* rep movsb source: the prepared stack arguments */
        leaq    SHADOW_SPACE(%rcx), %rax          /* stack arguments plus shadow space */
        subq    %rax, %rsp                        /* make room for both */
        andq    $-16, %rsp                        /* the ABI wants rsp 16-aligned at the call */
        leaq    SHADOW_SPACE(%rsp), %rdi          /* rep movsb destination: 5th parameter's slot */
        rep movsb                                 /* copy rcx bytes (the direction flag is clear per ABI) */
        movq    X64_FRAME_GPR+0(%r10), %rcx       /* parameter 1 if integer */
        movq    X64_FRAME_GPR+8(%r10), %rdx       /* parameter 2 */
        movq    X64_FRAME_GPR+16(%r10), %r8       /* parameter 3 */
        movq    X64_FRAME_GPR+24(%r10), %r9       /* parameter 4 */
        movsd   X64_FRAME_FPR+0(%r10), %xmm0      /* parameter 1 if floating */
        movsd   X64_FRAME_FPR+8(%r10), %xmm1      /* parameter 2 */
        movsd   X64_FRAME_FPR+16(%r10), %xmm2     /* parameter 3 */
        movsd   X64_FRAME_FPR+24(%r10), %xmm3     /* parameter 4 */
        call    *%r11                             /* the target */
        movq    -8(%rbp), %r10                    /* the frame again */
        movq    %rax, X64_FRAME_RET_INT+0(%r10)   /* integer result */
        movq    %rdx, X64_FRAME_RET_INT+8(%r10)   /* second word, for symmetry with System V */
        movsd   %xmm0, X64_FRAME_RET_FP+0(%r10)   /* floating result (low 64 bits) */
        movsd   %xmm1, X64_FRAME_RET_FP+8(%r10)   /* second word */
        leaq    0(%rbp), %rsp                     /* drop argument and shadow area (the epilogue form Windows knows) */
        popq    %rbp                              /* restore the caller's rbp */
        CFFI_CFI(.cfi_def_cfa %rsp, 8)            /* CFA = rsp + 8: only the return address is left */
        ret                                       /* back to cffi_call */
        CFFI_UNWIND_END(cffi_x64_call_win64)
CFFI_ASM_END(cffi_x64_call_win64)

CFFI_ASM_NOTES
