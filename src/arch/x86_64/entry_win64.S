/*
 * entry_win64.S - the entry stub every Microsoft x64 closure thunk jumps to.
 *
 * It spills the argument registers into an x64_frame, calls cffi_dispatch with the System V
 * convention, loads the result registers and returns. A Microsoft x64 caller expects rsi, rdi and
 * xmm6-xmm15 preserved, which a System V callee may clobber, so this stub saves them around the
 * call.
 *
 * Stack while cffi_dispatch runs (offsets from rbp):
 *   +48  first stack argument (5th parameter)
 *   +16  32 bytes of shadow space the caller reserved (unused here)
 *   +8   return address
 *    0   caller's rbp
 *   -8   caller's rsi
 *   -16  caller's rdi
 *   -176 .. -16   xmm6-xmm15 (16 bytes each)
 *   -320 .. -176  the x64_frame (rsp points at it)
 */
#include "asm.h"
#include "frame.h"

#define SAVED_XMM 144                           /* rsp offset of the xmm6-xmm15 save area */
#define LOCALS (X64_FRAME_SIZE + 10 * 16)       /* frame + saved xmm registers; a multiple of 16 */

        .text

/* One macro writes both entry stubs; they differ only in the call in the middle:
 *   WIN64_ENTRY name, 0   calls cffi_dispatch(record, frame, stack), which runs the handler;
 *   WIN64_ENTRY name, 1   calls the record's frame handler itself: handler(ctx, frame, stack).
 *
 * name: reached by `jmp [r10]` from a thunk, never called directly.
 *   in:  r10 = struct cffi_closure *record; rcx rdx r8 r9 / xmm0-xmm3 = parameters 1-4 by
 *        position; [rsp] = return address, [rsp+8..+40) = shadow space, [rsp+40] = 5th parameter
 *   out: rax (and xmm0) = the result from frame.ret_int / frame.ret_fp
 * Preserves rbx rbp rdi rsi r12-r15 xmm6-xmm15, as Microsoft x64 requires. Caller pops. */
.macro WIN64_ENTRY name, frame
CFFI_ASM_FUNC(\name)
        .cfi_startproc
        endbr64                                   /* landing pad for the thunk's indirect jmp */
        pushq   %rbp                              /* save the caller's frame pointer */
        .cfi_def_cfa_offset 16                    /* CFA = rsp + 16 */
        .cfi_offset %rbp, -16                     /* rbp saved below the return address */
        movq    %rsp, %rbp                        /* frame pointer for debuggers and the unwinder */
        .cfi_def_cfa_register %rbp                /* CFA = rbp + 16 from here on */
        pushq   %rsi                              /* callee-saved in Microsoft x64, not in System V */
        .cfi_offset %rsi, -24                     /* rsi at rbp - 8 */
        pushq   %rdi                              /* likewise; rsp is 16-aligned again */
        .cfi_offset %rdi, -32                     /* rdi at rbp - 16 */
        subq    $LOCALS, %rsp                     /* frame + xmm save area; keeps 16-byte alignment */
        /* xmm6-xmm15 get no CFI: System V unwinders (libgcc) track only the integer registers and
         * would ignore them, and Windows unwinds with SEH data, not DWARF. */
        movaps  %xmm6, SAVED_XMM+0(%rsp)          /* xmm6-xmm15 are callee-saved in Microsoft x64 */
        movaps  %xmm7, SAVED_XMM+16(%rsp)         /* save xmm7 */
        movaps  %xmm8, SAVED_XMM+32(%rsp)         /* save xmm8 */
        movaps  %xmm9, SAVED_XMM+48(%rsp)         /* save xmm9 */
        movaps  %xmm10, SAVED_XMM+64(%rsp)        /* save xmm10 */
        movaps  %xmm11, SAVED_XMM+80(%rsp)        /* save xmm11 */
        movaps  %xmm12, SAVED_XMM+96(%rsp)        /* save xmm12 */
        movaps  %xmm13, SAVED_XMM+112(%rsp)       /* save xmm13 */
        movaps  %xmm14, SAVED_XMM+128(%rsp)       /* save xmm14 */
        movaps  %xmm15, SAVED_XMM+144(%rsp)       /* save xmm15 */
        movq    %rcx, X64_FRAME_GPR+0(%rsp)       /* gpr[0] = rcx, parameter 1 if integer */
        movq    %rdx, X64_FRAME_GPR+8(%rsp)       /* gpr[1] = rdx, parameter 2 */
        movq    %r8, X64_FRAME_GPR+16(%rsp)       /* gpr[2] = r8, parameter 3 */
        movq    %r9, X64_FRAME_GPR+24(%rsp)       /* gpr[3] = r9, parameter 4 */
        movsd   %xmm0, X64_FRAME_FPR+0(%rsp)      /* fpr[0] = xmm0, parameter 1 if floating */
        movsd   %xmm1, X64_FRAME_FPR+8(%rsp)      /* fpr[1] = xmm1, parameter 2 */
        movsd   %xmm2, X64_FRAME_FPR+16(%rsp)     /* fpr[2] = xmm2, parameter 3 */
        movsd   %xmm3, X64_FRAME_FPR+24(%rsp)     /* fpr[3] = xmm3, parameter 4 */
        movq    %rsp, %rsi                        /* arg 2 (System V): the frame */
        leaq    48(%rbp), %rdx                    /* arg 3: 5th parameter, above return address and shadow space */
.if \frame
        movq    X64_RECORD_HANDLER(%r10), %rax    /* the handler, before ctx: x86 keeps loads in order, so a
                                                     call that sees the dead trap sees ctx = record */
        movq    X64_RECORD_CTX(%r10), %rdi        /* arg 1: the handler's context */
        movq    $0, X64_FRAME_RET_INT(%rsp)       /* a handler that stores no result returns 0 ... */
        movq    $0, X64_FRAME_RET_FP(%rsp)        /* ... whichever register the result comes back in */
        call    *%rax                             /* System V call of the frame handler; 16-aligned */
.else
        movq    %r10, %rdi                        /* cffi_dispatch arg 1 (System V): the record */
        call    cffi_dispatch                     /* System V call; stack is 16-aligned here */
.endif
        movq    X64_FRAME_RET_INT+0(%rsp), %rax   /* integer result, widened to 64 bits */
        movq    X64_FRAME_RET_INT+8(%rsp), %rdx   /* second word (volatile in Microsoft x64 anyway) */
        movsd   X64_FRAME_RET_FP+0(%rsp), %xmm0   /* floating result */
        movsd   X64_FRAME_RET_FP+8(%rsp), %xmm1   /* second word (volatile anyway) */
        movaps  SAVED_XMM+0(%rsp), %xmm6          /* restore the caller's xmm6 */
        movaps  SAVED_XMM+16(%rsp), %xmm7         /* xmm7 */
        movaps  SAVED_XMM+32(%rsp), %xmm8         /* xmm8 */
        movaps  SAVED_XMM+48(%rsp), %xmm9         /* xmm9 */
        movaps  SAVED_XMM+64(%rsp), %xmm10        /* xmm10 */
        movaps  SAVED_XMM+80(%rsp), %xmm11        /* xmm11 */
        movaps  SAVED_XMM+96(%rsp), %xmm12        /* xmm12 */
        movaps  SAVED_XMM+112(%rsp), %xmm13       /* xmm13 */
        movaps  SAVED_XMM+128(%rsp), %xmm14       /* xmm14 */
        movaps  SAVED_XMM+144(%rsp), %xmm15       /* xmm15 */
        leaq    -16(%rbp), %rsp                   /* drop the locals: rsp at the saved rdi */
        popq    %rdi                              /* restore the caller's rdi */
        .cfi_restore %rdi                         /* rdi holds its own value again */
        popq    %rsi                              /* restore the caller's rsi */
        .cfi_restore %rsi                         /* rsi holds its own value again */
        popq    %rbp                              /* restore the caller's rbp */
        .cfi_def_cfa %rsp, 8                      /* CFA = rsp + 8: only the return address is left */
        ret                                       /* back to the closure's caller */
        .cfi_endproc
CFFI_ASM_END(\name)
.endm

        WIN64_ENTRY cffi_x64_entry_win64, 0       /* generic closures */
        WIN64_ENTRY cffi_x64_entry_win64_frame, 1 /* frame closures */


CFFI_ASM_NOTES
