/*
 * entry_sysv.S - the entry stub every System V x86-64 closure thunk jumps to.
 *
 * It spills the argument registers into an x64_frame on the stack, lets cffi_dispatch (C) run the
 * handler, then loads the result registers from the frame and returns to the closure's caller.
 * Everything per signature happens in C; this stub is the same for every signature. Its twin for
 * frame closures calls the record's frame handler directly instead of cffi_dispatch.
 */
#include "asm.h"
#include "frame.h"

        .text

/* Both entry stubs share everything but the call in the middle, so one macro writes them:
 *   SYSV_ENTRY name, 0   calls cffi_dispatch(record, frame, stack), which runs the handler;
 *   SYSV_ENTRY name, 1   calls the record's frame handler itself: handler(ctx, frame, stack).
 *
 * name: reached by `jmp [r10]` from a thunk, never called directly.
 *   in:  r10 = struct cffi_closure *record; rdi rsi rdx rcx r8 r9, xmm0-xmm7 = the arguments;
 *        [rsp] = return address into the caller, [rsp+8] = the first stack argument
 *   out: rax, rdx, xmm0, xmm1 = the result as the handler left it in frame.ret_int/ret_fp
 * The caller pops its own stack arguments, so this returns with a plain ret. */
.macro SYSV_ENTRY name, frame
CFFI_ASM_FUNC(\name)
        CFFI_UNWIND_BEGIN(\name)
        endbr64                                   /* landing pad for the thunk's indirect jmp */
        pushq   %rbp                              /* save the caller's frame pointer; rsp is now 16-aligned */
        CFFI_CFI(.cfi_def_cfa_offset 16)          /* CFA = rsp + 16 (return address + rbp) */
        CFFI_CFI(.cfi_offset %rbp, -16)           /* rbp saved just below the return address */
        CFFI_SEH(.seh_pushreg %rbp)               /* Windows: rbp pushed */
        movq    %rsp, %rbp                        /* frame pointer for debuggers and profilers */
        CFFI_CFI(.cfi_def_cfa_register %rbp)      /* CFA = rbp + 16 from here on */
        subq    $X64_FRAME_SIZE, %rsp             /* room for the frame; a multiple of 16 keeps alignment */
        CFFI_SEH(.seh_stackalloc X64_FRAME_SIZE)  /* Windows: fixed allocation; rsp-based from here */
        CFFI_SEH(.seh_endprologue)                /* Windows: end of the prologue */
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
        movq    %rsp, %rsi                        /* arg 2: the frame just filled */
        leaq    16(%rbp), %rdx                    /* arg 3: first stack argument, above rbp and return address */
.if \frame
        movq    X64_RECORD_HANDLER(%r10), %rax    /* the handler, before ctx: x86 keeps loads in order, so a
                                                     call that sees the dead trap sees ctx = record */
        movq    X64_RECORD_CTX(%r10), %rdi        /* arg 1: the handler's context */
        movq    $0, X64_FRAME_RET_INT(%rsp)       /* a handler that stores no result returns 0 ... */
        movq    $0, X64_FRAME_RET_FP(%rsp)        /* ... whichever register the result comes back in */
        call    *%rax                             /* run the frame handler; stack is 16-aligned here */
.else
        movq    %r10, %rdi                        /* cffi_dispatch arg 1: the closure record */
        call    cffi_dispatch                     /* run the handler; stack is 16-aligned here */
.endif
        movq    X64_FRAME_RET_INT+0(%rsp), %rax   /* integer result, already widened to 64 bits */
        movq    X64_FRAME_RET_INT+8(%rsp), %rdx   /* second integer result word */
        movsd   X64_FRAME_RET_FP+0(%rsp), %xmm0   /* floating result */
        movsd   X64_FRAME_RET_FP+8(%rsp), %xmm1   /* second floating result word */
        addq    $X64_FRAME_SIZE, %rsp             /* drop the frame: rsp at the saved rbp */
        popq    %rbp                              /* restore the caller's rbp */
        CFFI_CFI(.cfi_def_cfa %rsp, 8)            /* CFA = rsp + 8: only the return address is left */
        ret                                       /* back to the closure's caller */
        CFFI_UNWIND_END(\name)
CFFI_ASM_END(\name)
.endm

        SYSV_ENTRY cffi_x64_entry_sysv, 0         /* generic closures */
        SYSV_ENTRY cffi_x64_entry_sysv_frame, 1   /* frame closures */

CFFI_ASM_NOTES
