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

/* The frame's fields, above the shadow space cffi_dispatch owns on Windows (asm.h). */
#define FRAME_AT(offset) CFFI_DISPATCH_SHADOW+offset(%rsp)
#define LOCALS (CFFI_DISPATCH_SHADOW + X64_FRAME_SIZE)

        .text

/* The entry stubs share everything but the call in the middle and the result, so one macro
 * writes them:
 *   SYSV_ENTRY name, 0   calls cffi_dispatch(record, frame, stack), which runs the handler;
 *   SYSV_ENTRY name, 1   calls the record's frame handler itself: handler(ctx, frame, stack);
 *   SYSV_ENTRY name, 0, 1  as the first, for a long double result: also loads st(0) (the x87
 *                        stack must be empty on return otherwise, so only this one does).
 *
 * name: reached by `jmp [r10]` from a thunk, never called directly.
 *   in:  r10 = struct cffi_closure *record; rdi rsi rdx rcx r8 r9, xmm0-xmm7 = the arguments;
 *        [rsp] = return address into the caller, [rsp+8] = the first stack argument
 *   out: rax, rdx, xmm0, xmm1 = the result as the handler left it in frame.ret_int/ret_fp
 * The caller pops its own stack arguments, so this returns with a plain ret. */
.macro SYSV_ENTRY name, frame, x87=0
CFFI_ASM_FUNC(\name)
        CFFI_UNWIND_BEGIN(\name)
        endbr64                                   /* landing pad for the thunk's indirect jmp */
        pushq   %rbp                              /* save the caller's frame pointer; rsp is now 16-aligned */
        CFFI_CFI(.cfi_def_cfa_offset 16)          /* CFA = rsp + 16 (return address + rbp) */
        CFFI_CFI(.cfi_offset %rbp, -16)           /* rbp saved just below the return address */
        CFFI_SEH(.seh_pushreg %rbp)               /* Windows: rbp pushed */
        movq    %rsp, %rbp                        /* frame pointer for debuggers and profilers */
        CFFI_CFI(.cfi_def_cfa_register %rbp)      /* CFA = rbp + 16 from here on */
        subq    $LOCALS, %rsp                     /* shadow space and frame; a multiple of 16 keeps alignment */
        CFFI_SEH(.seh_stackalloc LOCALS)          /* Windows: fixed allocation; rsp-based from here */
        CFFI_SEH(.seh_endprologue)                /* Windows: end of the prologue */
        movq    %rdi, FRAME_AT(X64_FRAME_GPR+0) /* gpr[0] = rdi, 1st integer argument */
        movq    %rsi, FRAME_AT(X64_FRAME_GPR+8) /* gpr[1] = rsi */
        movq    %rdx, FRAME_AT(X64_FRAME_GPR+16) /* gpr[2] = rdx */
        movq    %rcx, FRAME_AT(X64_FRAME_GPR+24) /* gpr[3] = rcx */
        movq    %r8, FRAME_AT(X64_FRAME_GPR+32) /* gpr[4] = r8 */
        movq    %r9, FRAME_AT(X64_FRAME_GPR+40) /* gpr[5] = r9 */
        movsd   %xmm0, FRAME_AT(X64_FRAME_FPR+0) /* fpr[0] = low 64 bits of xmm0, 1st float argument */
        movsd   %xmm1, FRAME_AT(X64_FRAME_FPR+8) /* fpr[1] = xmm1 */
        movsd   %xmm2, FRAME_AT(X64_FRAME_FPR+16) /* fpr[2] = xmm2 */
        movsd   %xmm3, FRAME_AT(X64_FRAME_FPR+24) /* fpr[3] = xmm3 */
        movsd   %xmm4, FRAME_AT(X64_FRAME_FPR+32) /* fpr[4] = xmm4 */
        movsd   %xmm5, FRAME_AT(X64_FRAME_FPR+40) /* fpr[5] = xmm5 */
        movsd   %xmm6, FRAME_AT(X64_FRAME_FPR+48) /* fpr[6] = xmm6 */
        movsd   %xmm7, FRAME_AT(X64_FRAME_FPR+56) /* fpr[7] = xmm7 */
.if \frame
        movq    X64_RECORD_HANDLER(%r10), %rax    /* the handler, before ctx: x86 keeps loads in order, so a
                                                     call that sees the dead trap sees ctx = record */
        movq    X64_RECORD_CTX(%r10), %rdi        /* arg 1: the handler's context */
        movq    %rsp, %rsi                        /* arg 2: the frame just filled */
        leaq    16(%rbp), %rdx                    /* arg 3: first stack argument, above rbp and return address */
        movq    $0, FRAME_AT(X64_FRAME_RET_INT) /* a handler that stores no result returns 0 ... */
        movq    $0, FRAME_AT(X64_FRAME_RET_FP) /* ... whichever register the result comes back in */
        call    *%rax                             /* run the frame handler; stack is 16-aligned here */
.else
        movq    %r10, CFFI_DISPATCH_ARG1          /* cffi_dispatch arg 1: the closure record */
        leaq    FRAME_AT(0), CFFI_DISPATCH_ARG2   /* arg 2: the frame just filled */
        leaq    16(%rbp), CFFI_DISPATCH_ARG3      /* arg 3: first stack argument, above rbp and return address */
        call    cffi_dispatch                     /* run the handler; stack is 16-aligned here */
.endif
        movq    FRAME_AT(X64_FRAME_RET_INT+0), %rax   /* integer result, already widened to 64 bits */
        movq    FRAME_AT(X64_FRAME_RET_INT+8), %rdx   /* second integer result word */
        movsd   FRAME_AT(X64_FRAME_RET_FP+0), %xmm0   /* floating result */
        movsd   FRAME_AT(X64_FRAME_RET_FP+8), %xmm1   /* second floating result word */
.if \x87
        fldt    FRAME_AT(X64_FRAME_RET_X87)       /* st(0) = the long double result */
.endif
        addq    $LOCALS, %rsp                     /* drop the frame: rsp at the saved rbp */
        popq    %rbp                              /* restore the caller's rbp */
        CFFI_CFI(.cfi_def_cfa %rsp, 8)            /* CFA = rsp + 8: only the return address is left */
        ret                                       /* back to the closure's caller */
        CFFI_UNWIND_END(\name)
CFFI_ASM_END(\name)
.endm

        SYSV_ENTRY cffi_x64_entry_sysv, 0         /* generic closures */
        SYSV_ENTRY cffi_x64_entry_sysv_x87, 0, 1  /* generic closures returning a long double */
#ifdef __ELF__ /* Windows runs frame closures through cffi_dispatch (arch_config.h) */
        SYSV_ENTRY cffi_x64_entry_sysv_frame, 1   /* frame closures */
#endif

CFFI_ASM_NOTES
