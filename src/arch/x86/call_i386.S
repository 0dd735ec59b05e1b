/*
 * call_i386.S (x86-32) - the one call stub cffi_call uses for every x86-32 convention: copy the
 * stack argument area, load ECX and EDX from the register frame (fastcall and thiscall read
 * them, cdecl and stdcall ignore them), call, and store EAX, EDX and st(0) back into the frame.
 * ESP is restored from EBP afterwards, so it does not matter how many bytes the callee popped.
 */
#include "asm.h"

    .text

/*
 * void cffi_x86_call(void *fn, void *frame, const void *stack, size_t stack_bytes)   (cdecl)
 *   frame        an x86_frame: gpr[] in, ret_int[], ret_double, ret_float out
 *   stack        stack_bytes (a multiple of 4) of arguments, copied to [esp] at the call
 * After the call the x87 stack is empty: a floating result is popped into the frame as a long
 * double, a double and a float (the plan reads the one of the result's type).
 */
CFFI_ASM_FUNC(cffi_x86_call)
    .cfi_startproc
    endbr32                                          /* landing pad for indirect calls */
    pushl   %ebp                                     /* save the caller's frame pointer */
    .cfi_adjust_cfa_offset 4
    .cfi_rel_offset %ebp, 0
    movl    %esp, %ebp                               /* ebp: this frame; args at [ebp+8] */
    .cfi_def_cfa_register %ebp
    pushl   %ebx                                     /* callee-saved: will hold the frame */
    .cfi_offset %ebx, -12
    pushl   %esi                                     /* callee-saved: copy source */
    .cfi_offset %esi, -16
    pushl   %edi                                     /* callee-saved: copy destination */
    .cfi_offset %edi, -20
    movl    20(%ebp), %ecx                           /* ecx = stack_bytes */
    movl    %esp, %eax                               /* eax = current stack top */
    subl    %ecx, %eax                               /* room for the arguments */
    andl    $-16, %eax                               /* esp 16-byte aligned at the call */
    movl    %eax, %esp                               /* reserve it */
    movl    16(%ebp), %esi                           /* esi = stack argument image */
    movl    %esp, %edi                               /* edi = where the callee finds them */
    addl    $3, %ecx                                 /* whole words, rounding up */
    shrl    $2, %ecx                                 /* ecx = words to copy */
    rep movsl                                        /* copy (direction flag is clear by ABI) */
    movl    12(%ebp), %ebx                           /* ebx = frame, survives the call */
    movl    X86_FRAME_GPR(%ebx), %ecx                /* ecx = gpr[0] */
    movl    X86_FRAME_GPR + 4(%ebx), %edx            /* edx = gpr[1] */
    call    *8(%ebp)                                 /* fn(...); may pop its stack arguments */
    movl    %eax, X86_FRAME_RET_INT(%ebx)            /* integer result, low word */
    movl    %edx, X86_FRAME_RET_INT + 4(%ebx)        /* integer result, high word */
    fxam                                             /* classify st(0): empty unless float result */
    fnstsw  %ax                                      /* ah = C3 . . . . C2 C1 C0 (bits 6, 2, 1, 0) */
    andb    $0x45, %ah                               /* keep C3, C2, C0 */
    cmpb    $0x41, %ah                               /* C3=1 C2=0 C0=1 means empty */
    je      1f                                       /* no floating result */
    fld     %st(0)                                   /* a copy of the result ... */
    fstpt   X86_FRAME_RET_LDOUBLE(%ebx)              /* ... stored as a long double, popped */
    fsts    X86_FRAME_RET_FLOAT(%ebx)                /* the result as a float */
    fstpl   X86_FRAME_RET_DOUBLE(%ebx)               /* the result as a double, popped */
1:
    leal    -12(%ebp), %esp                          /* back over the arguments, whoever popped */
    popl    %edi                                     /* restore callee-saved registers */
    .cfi_restore %edi
    popl    %esi
    .cfi_restore %esi
    popl    %ebx
    .cfi_restore %ebx
    popl    %ebp                                     /* restore the caller's frame pointer */
    .cfi_def_cfa %esp, 4
    .cfi_restore %ebp
    ret
    .cfi_endproc
CFFI_ASM_END(cffi_x86_call)

    CFFI_ASM_NOTES
