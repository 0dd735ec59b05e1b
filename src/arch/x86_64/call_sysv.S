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
 *   Writes frame->ret_int[0..1] = rax, rdx and frame->ret_fp[0..1] = xmm0, xmm1 after the call.
 * cffi_x64_call_sysv_x87: the same for a callee returning a long double, which it also pops from
 *   st(0) into frame->ret_x87 (the x87 stack is empty after any other call). */
.macro SYSV_CALL name, x87
CFFI_ASM_FUNC(\name)
        CFFI_UNWIND_BEGIN(\name)
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
        subq    %rcx, %rsp                        /* make room for the stack arguments */
        andq    $-16, %rsp                        /* the ABI wants rsp 16-aligned at the call */
        movq    %rsp, %rdi                        /* rep movsb destination: the outgoing argument area */
        rep movsb                                 /* copy rcx bytes (the direction flag is clear per ABI) */
        movq    X64_FRAME_GPR+0(%r10), %rdi       /* 1st integer argument */
        movq    X64_FRAME_GPR+8(%r10), %rsi       /* 2nd */
        movq    X64_FRAME_GPR+16(%r10), %rdx      /* 3rd */
        movq    X64_FRAME_GPR+24(%r10), %rcx      /* 4th */
        movq    X64_FRAME_GPR+32(%r10), %r8       /* 5th */
        movq    X64_FRAME_GPR+40(%r10), %r9       /* 6th */
        movsd   X64_FRAME_FPR+0(%r10), %xmm0      /* 1st floating argument */
        movsd   X64_FRAME_FPR+8(%r10), %xmm1      /* 2nd */
        movsd   X64_FRAME_FPR+16(%r10), %xmm2     /* 3rd */
        movsd   X64_FRAME_FPR+24(%r10), %xmm3     /* 4th */
        movsd   X64_FRAME_FPR+32(%r10), %xmm4     /* 5th */
        movsd   X64_FRAME_FPR+40(%r10), %xmm5     /* 6th */
        movsd   X64_FRAME_FPR+48(%r10), %xmm6     /* 7th */
        movsd   X64_FRAME_FPR+56(%r10), %xmm7     /* 8th */
        movl    $8, %eax                          /* al = vector registers used, an upper bound for a varargs callee */
        call    *%r11                             /* the target */
        movq    -8(%rbp), %r10                    /* the frame again */
        movq    %rax, X64_FRAME_RET_INT+0(%r10)   /* integer result */
        movq    %rdx, X64_FRAME_RET_INT+8(%r10)   /* second integer result word */
        movsd   %xmm0, X64_FRAME_RET_FP+0(%r10)   /* floating result (low 64 bits) */
        movsd   %xmm1, X64_FRAME_RET_FP+8(%r10)   /* second floating result word */
.if \x87
        fstpt   X64_FRAME_RET_X87(%r10)           /* the long double result, popped from st(0) */
.endif
        leaq    0(%rbp), %rsp                     /* drop the argument area (the epilogue form Windows knows) */
        popq    %rbp                              /* restore the caller's rbp */
        CFFI_CFI(.cfi_def_cfa %rsp, 8)            /* CFA = rsp + 8: only the return address is left */
        ret                                       /* back to cffi_call */
        CFFI_UNWIND_END(\name)
CFFI_ASM_END(\name)
.endm

        SYSV_CALL cffi_x64_call_sysv, 0
        SYSV_CALL cffi_x64_call_sysv_x87, 1

CFFI_ASM_NOTES
