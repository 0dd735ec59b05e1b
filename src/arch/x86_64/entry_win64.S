/*
 * entry_win64.S - the entry stub every Microsoft x64 closure thunk jumps to.
 *
 * It spills the argument registers into an x64_frame, calls cffi_dispatch with the OS's C
 * convention (asm.h), loads the result registers and returns. A Microsoft x64 caller expects rsi,
 * rdi and xmm6-xmm15 preserved, which a System V callee may clobber, so this stub saves them
 * around the call. The frame has a fixed size, so the stub needs no frame pointer: its unwind information
 * (DWARF and Windows alike) counts from rsp.
 *
 * Stack while cffi_dispatch runs (offsets from rsp):
 *   LOCALS+56  first stack argument (5th parameter)
 *   LOCALS+24  32 bytes of shadow space the caller reserved (unused here)
 *   LOCALS+16  return address
 *   LOCALS+8   caller's rsi
 *   LOCALS     caller's rdi
 *   SAVED_XMM  xmm6-xmm15, 16 bytes each, then 8 bytes of padding
 *   SHADOW     the x64_frame (SHADOW: cffi_dispatch's 32 bytes of shadow space on Windows, else 0)
 */
#include "asm.h"
#include "frame.h"

/* The frame's fields, above the shadow space cffi_dispatch owns on Windows (asm.h). */
#define FRAME_AT(offset) CFFI_DISPATCH_SHADOW+offset(%rsp)

#define SAVED_XMM (CFFI_DISPATCH_SHADOW + X64_FRAME_SIZE) /* rsp offset of the xmm6-xmm15 save area */
#define LOCALS (SAVED_XMM + 10 * 16 + 8)        /* + 8: with the two pushes, rsp stays 16-aligned */
#define CFA_PUSHED_2 24                         /* CFA - rsp after the two pushes */
#define STACK_ARGS (LOCALS + 16 + 8 + 32)       /* rsp offset of the 5th parameter */

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
        CFFI_UNWIND_BEGIN(\name)
        endbr64                                   /* landing pad for the thunk's indirect jmp */
        pushq   %rsi                              /* callee-saved in Microsoft x64, not in System V */
        CFFI_CFI(.cfi_def_cfa_offset 16)          /* CFA = rsp + 16 */
        CFFI_CFI(.cfi_offset %rsi, -16)           /* rsi just below the return address */
        CFFI_SEH(.seh_pushreg %rsi)               /* Windows: rsi pushed */
        pushq   %rdi                              /* likewise */
        CFFI_CFI(.cfi_def_cfa_offset CFA_PUSHED_2) /* CFA = rsp + 24 */
        CFFI_CFI(.cfi_offset %rdi, -CFA_PUSHED_2) /* rdi below rsi */
        CFFI_SEH(.seh_pushreg %rdi)               /* Windows: rdi pushed */
        subq    $LOCALS, %rsp                     /* frame + xmm save area; rsp 16-aligned */
        CFFI_CFI(.cfi_def_cfa_offset CFA_PUSHED_2 + LOCALS) /* CFA = rsp + 24 + LOCALS */
        CFFI_SEH(.seh_stackalloc LOCALS)          /* Windows: the fixed allocation */
        /* xmm6-xmm15 get no CFI: System V unwinders (libgcc) track only the integer registers and
         * would ignore them; Windows restores them from these unwind codes. */
        movaps  %xmm6, SAVED_XMM+0(%rsp)          /* xmm6-xmm15 are callee-saved in Microsoft x64 */
        CFFI_SEH(.seh_savexmm %xmm6, SAVED_XMM+0) /* Windows: where xmm6 is */
        movaps  %xmm7, SAVED_XMM+16(%rsp)         /* save xmm7 */
        CFFI_SEH(.seh_savexmm %xmm7, SAVED_XMM+16)
        movaps  %xmm8, SAVED_XMM+32(%rsp)         /* save xmm8 */
        CFFI_SEH(.seh_savexmm %xmm8, SAVED_XMM+32)
        movaps  %xmm9, SAVED_XMM+48(%rsp)         /* save xmm9 */
        CFFI_SEH(.seh_savexmm %xmm9, SAVED_XMM+48)
        movaps  %xmm10, SAVED_XMM+64(%rsp)        /* save xmm10 */
        CFFI_SEH(.seh_savexmm %xmm10, SAVED_XMM+64)
        movaps  %xmm11, SAVED_XMM+80(%rsp)        /* save xmm11 */
        CFFI_SEH(.seh_savexmm %xmm11, SAVED_XMM+80)
        movaps  %xmm12, SAVED_XMM+96(%rsp)        /* save xmm12 */
        CFFI_SEH(.seh_savexmm %xmm12, SAVED_XMM+96)
        movaps  %xmm13, SAVED_XMM+112(%rsp)       /* save xmm13 */
        CFFI_SEH(.seh_savexmm %xmm13, SAVED_XMM+112)
        movaps  %xmm14, SAVED_XMM+128(%rsp)       /* save xmm14 */
        CFFI_SEH(.seh_savexmm %xmm14, SAVED_XMM+128)
        movaps  %xmm15, SAVED_XMM+144(%rsp)       /* save xmm15 */
        CFFI_SEH(.seh_savexmm %xmm15, SAVED_XMM+144)
        CFFI_SEH(.seh_endprologue)                /* Windows: end of the prologue */
        movq    %rcx, FRAME_AT(X64_FRAME_GPR+0) /* gpr[0] = rcx, parameter 1 if integer */
        movq    %rdx, FRAME_AT(X64_FRAME_GPR+8) /* gpr[1] = rdx, parameter 2 */
        movq    %r8, FRAME_AT(X64_FRAME_GPR+16) /* gpr[2] = r8, parameter 3 */
        movq    %r9, FRAME_AT(X64_FRAME_GPR+24) /* gpr[3] = r9, parameter 4 */
        movsd   %xmm0, FRAME_AT(X64_FRAME_FPR+0) /* fpr[0] = xmm0, parameter 1 if floating */
        movsd   %xmm1, FRAME_AT(X64_FRAME_FPR+8) /* fpr[1] = xmm1, parameter 2 */
        movsd   %xmm2, FRAME_AT(X64_FRAME_FPR+16) /* fpr[2] = xmm2, parameter 3 */
        movsd   %xmm3, FRAME_AT(X64_FRAME_FPR+24) /* fpr[3] = xmm3, parameter 4 */
.if \frame
        movq    X64_RECORD_HANDLER(%r10), %rax    /* the handler, before ctx: x86 keeps loads in order, so a
                                                     call that sees the dead trap sees ctx = record */
        movq    X64_RECORD_CTX(%r10), %rdi        /* arg 1: the handler's context */
        movq    %rsp, %rsi                        /* arg 2 (System V): the frame */
        leaq    STACK_ARGS(%rsp), %rdx            /* arg 3: 5th parameter, above return address and shadow space */
        movq    $0, FRAME_AT(X64_FRAME_RET_INT) /* a handler that stores no result returns 0 ... */
        movq    $0, FRAME_AT(X64_FRAME_RET_FP) /* ... whichever register the result comes back in */
        call    *%rax                             /* System V call of the frame handler; 16-aligned */
.else
        movq    %r10, CFFI_DISPATCH_ARG1          /* cffi_dispatch arg 1: the record */
        leaq    FRAME_AT(0), CFFI_DISPATCH_ARG2   /* arg 2: the frame */
        leaq    STACK_ARGS(%rsp), CFFI_DISPATCH_ARG3 /* arg 3: 5th parameter, above return address and shadow space */
        call    cffi_dispatch                     /* the OS's C convention; stack is 16-aligned here */
.endif
        movq    FRAME_AT(X64_FRAME_RET_INT+0), %rax   /* integer result, widened to 64 bits */
        movq    FRAME_AT(X64_FRAME_RET_INT+8), %rdx   /* second word (volatile in Microsoft x64 anyway) */
        movsd   FRAME_AT(X64_FRAME_RET_FP+0), %xmm0   /* floating result */
        movsd   FRAME_AT(X64_FRAME_RET_FP+8), %xmm1   /* second word (volatile anyway) */
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
        addq    $LOCALS, %rsp                     /* drop the locals: rsp at the saved rdi */
        CFFI_CFI(.cfi_def_cfa_offset CFA_PUSHED_2) /* CFA = rsp + 24 */
        popq    %rdi                              /* restore the caller's rdi */
        CFFI_CFI(.cfi_def_cfa_offset 16)          /* CFA = rsp + 16 */
        CFFI_CFI(.cfi_restore %rdi)               /* rdi holds its own value again */
        popq    %rsi                              /* restore the caller's rsi */
        CFFI_CFI(.cfi_def_cfa_offset 8)           /* CFA = rsp + 8: only the return address is left */
        CFFI_CFI(.cfi_restore %rsi)               /* rsi holds its own value again */
        ret                                       /* back to the closure's caller */
        CFFI_UNWIND_END(\name)
CFFI_ASM_END(\name)
.endm

        WIN64_ENTRY cffi_x64_entry_win64, 0       /* generic closures */
#ifdef __ELF__ /* Windows runs frame closures through cffi_dispatch (arch_config.h) */
        WIN64_ENTRY cffi_x64_entry_win64_frame, 1 /* frame closures */
#endif

CFFI_ASM_NOTES
