/*
 * entry_sysv.S - the entry stub every System V x86-64 closure thunk jumps to.
 *
 * It spills the argument registers into an x64_frame on the stack, lets cffi_dispatch (C) run the
 * handler, then loads the result registers from the frame and returns to the closure's caller.
 * Everything per signature happens in C; this stub is the same for every signature.
 */
#include "asm.h"
#include "frame.h"

        .text

/* cffi_x64_entry_sysv: reached by `jmp [r10]` from a thunk, never called directly.
 *   in:  r10 = struct cffi_closure *record; rdi rsi rdx rcx r8 r9, xmm0-xmm7 = the arguments;
 *        [rsp] = return address into the caller, [rsp+8] = the first stack argument
 *   out: rax, rdx, xmm0, xmm1 = the result as cffi_dispatch left it in frame.ret_int/ret_fp
 * The caller pops its own stack arguments, so this returns with a plain ret. */
CFFI_ASM_FUNC(cffi_x64_entry_sysv)
        .cfi_startproc
        endbr64                                   /* landing pad for the thunk's indirect jmp */
        pushq   %rbp                              /* save the caller's frame pointer; rsp is now 16-aligned */
        .cfi_def_cfa_offset 16                    /* CFA = rsp + 16 (return address + rbp) */
        .cfi_offset %rbp, -16                     /* rbp saved just below the return address */
        movq    %rsp, %rbp                        /* frame pointer for debuggers and the unwinder */
        .cfi_def_cfa_register %rbp                /* CFA = rbp + 16 from here on */
        subq    $X64_FRAME_SIZE, %rsp             /* room for the frame; a multiple of 16 keeps alignment */
        movq    %rdi, X64_FRAME_GPR+0(%rsp)       /* gpr[0] = rdi, 1st integer argument */
        movq    %rsi, X64_FRAME_GPR+8(%rsp)       /* gpr[1] = rsi */
        movq    %rdx, X64_FRAME_GPR+16(%rsp)      /* gpr[2] = rdx */
        movq    %rcx, X64_FRAME_GPR+24(%rsp)      /* gpr[3] = rcx */
        movq    %r8, X64_FRAME_GPR+32(%rsp)       /* gpr[4] = r8 */
        movq    %r9, X64_FRAME_GPR+40(%rsp)       /* gpr[5] = r9 */
        movsd   %xmm0, X64_FRAME_FPR+0(%rsp)      /* fpr[0] = low 64 bits of xmm0, 1st float argument */
        movsd   %xmm1, X64_FRAME_FPR+8(%rsp)      /* fpr[1] = xmm1 */
        movsd   %xmm2, X64_FRAME_FPR+16(%rsp)     /* fpr[2] = xmm2 */
        movsd   %xmm3, X64_FRAME_FPR+24(%rsp)     /* fpr[3] = xmm3 */
        movsd   %xmm4, X64_FRAME_FPR+32(%rsp)     /* fpr[4] = xmm4 */
        movsd   %xmm5, X64_FRAME_FPR+40(%rsp)     /* fpr[5] = xmm5 */
        movsd   %xmm6, X64_FRAME_FPR+48(%rsp)     /* fpr[6] = xmm6 */
        movsd   %xmm7, X64_FRAME_FPR+56(%rsp)     /* fpr[7] = xmm7 */
        movq    %r10, %rdi                        /* cffi_dispatch arg 1: the closure record */
        movq    %rsp, %rsi                        /* arg 2: the frame just filled */
        leaq    16(%rbp), %rdx                    /* arg 3: first stack argument, above rbp and return address */
        call    cffi_dispatch                     /* run the handler; stack is 16-aligned here */
        movq    X64_FRAME_RET_INT+0(%rsp), %rax   /* integer result, already widened to 64 bits */
        movq    X64_FRAME_RET_INT+8(%rsp), %rdx   /* second integer result word */
        movsd   X64_FRAME_RET_FP+0(%rsp), %xmm0   /* floating result */
        movsd   X64_FRAME_RET_FP+8(%rsp), %xmm1   /* second floating result word */
        leave                                     /* rsp = rbp; pop the caller's rbp */
        .cfi_def_cfa %rsp, 8                      /* CFA = rsp + 8: only the return address is left */
        ret                                       /* back to the closure's caller */
        .cfi_endproc
CFFI_ASM_END(cffi_x64_entry_sysv)

CFFI_ASM_NOTES
