/*
 * call_sysv.S - the call stub cffi_call uses for System V x86-64 targets.
 *
 * cffi_call fills an x64_frame and a stack argument area following the signature's plan; this
 * stub copies the stack arguments onto the machine stack, loads the argument registers, calls the
 * target and stores the result registers back into the frame.
 */
#include "asm.h"
#include "frame.h"

        .text

/* void cffi_x64_call_sysv(void *fn, x64_frame *frame, const void *stack, size_t stack_bytes)
 *   System V convention: rdi = fn, rsi = frame, rdx = stack, rcx = stack_bytes (a multiple of 8).
 *   Writes frame->ret_int[0..1] = rax, rdx and frame->ret_fp[0..1] = xmm0, xmm1 after the call. */
CFFI_ASM_FUNC(cffi_x64_call_sysv)
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
        movq    %rsi, %rbx                        /* rbx = frame, callee-saved so it survives the call */
        movq    %rdx, %rsi                        /* rep movsb source: the prepared stack arguments */
        subq    %rcx, %rsp                        /* make room for the stack arguments */
        andq    $-16, %rsp                        /* the ABI wants rsp 16-aligned at the call */
        movq    %rsp, %rdi                        /* rep movsb destination: the outgoing argument area */
        rep movsb                                 /* copy rcx bytes (the direction flag is clear per ABI) */
        movq    X64_FRAME_GPR+0(%rbx), %rdi       /* 1st integer argument */
        movq    X64_FRAME_GPR+8(%rbx), %rsi       /* 2nd */
        movq    X64_FRAME_GPR+16(%rbx), %rdx      /* 3rd */
        movq    X64_FRAME_GPR+24(%rbx), %rcx      /* 4th */
        movq    X64_FRAME_GPR+32(%rbx), %r8       /* 5th */
        movq    X64_FRAME_GPR+40(%rbx), %r9       /* 6th */
        movsd   X64_FRAME_FPR+0(%rbx), %xmm0      /* 1st floating argument */
        movsd   X64_FRAME_FPR+8(%rbx), %xmm1      /* 2nd */
        movsd   X64_FRAME_FPR+16(%rbx), %xmm2     /* 3rd */
        movsd   X64_FRAME_FPR+24(%rbx), %xmm3     /* 4th */
        movsd   X64_FRAME_FPR+32(%rbx), %xmm4     /* 5th */
        movsd   X64_FRAME_FPR+40(%rbx), %xmm5     /* 6th */
        movsd   X64_FRAME_FPR+48(%rbx), %xmm6     /* 7th */
        movsd   X64_FRAME_FPR+56(%rbx), %xmm7     /* 8th */
        movl    $8, %eax                          /* al = vector registers used, an upper bound for a varargs callee */
        call    *%r11                             /* the target */
        movq    %rax, X64_FRAME_RET_INT+0(%rbx)   /* integer result */
        movq    %rdx, X64_FRAME_RET_INT+8(%rbx)   /* second integer result word */
        movsd   %xmm0, X64_FRAME_RET_FP+0(%rbx)   /* floating result (low 64 bits) */
        movsd   %xmm1, X64_FRAME_RET_FP+8(%rbx)   /* second floating result word */
        movq    -8(%rbp), %rbx                    /* restore the caller's rbx */
        .cfi_restore %rbx                         /* rbx holds its own value again */
        leave                                     /* rsp = rbp, drops the argument area; pop rbp */
        .cfi_def_cfa %rsp, 8                      /* CFA = rsp + 8: only the return address is left */
        ret                                       /* back to cffi_call */
        .cfi_endproc
CFFI_ASM_END(cffi_x64_call_sysv)

CFFI_ASM_NOTES
