/*
 * entry_i386.S (x86-32) - the one entry stub every thunk of every x86-32 convention (cdecl,
 * stdcall, fastcall, thiscall) jumps to. It spills ECX and EDX into a register frame, calls
 * cffi_dispatch, then returns the result the way the stub word says (EAX, EDX:EAX, or st(0) as
 * float or double) and removes as many bytes of stack arguments as the signature's convention
 * makes the callee pop. The stub word is per signature, so one stub serves all four conventions;
 * spilling ECX/EDX for cdecl or stdcall costs two stores and is never read.
 */
#include "asm.h"

    .text

/*
 * cffi_x86_entry - not a C function: jumped to by a thunk with
 *   EAX        the closure record (struct cffi_closure *)
 *   ECX, EDX   register arguments (fastcall: both, thiscall: ECX), otherwise unused
 *   [esp]      the native caller's return address
 *   [esp+4]    the first stack argument
 * Calls uintptr_t cffi_dispatch(cffi_closure *c, void *frame, void *stack) (cdecl) and returns
 * to the native caller as its convention requires; the x87 stack holds exactly the result for
 * float/double and is empty otherwise.
 */
CFFI_ASM_FUNC(cffi_x86_entry)
    .cfi_startproc
    endbr32                                          /* landing pad for the thunk's jmp */
    pushl   %ebp                                     /* save the caller's frame pointer */
    .cfi_adjust_cfa_offset 4
    .cfi_rel_offset %ebp, 0
    movl    %esp, %ebp                               /* ebp: this frame; [ebp+8] = 1st stack arg */
    .cfi_def_cfa_register %ebp
    andl    $-16, %esp                               /* the caller may not keep 16-byte alignment */
    subl    $(16 + X86_FRAME_SIZE), %esp             /* 3 outgoing args (+pad), then the frame */
    movl    %ecx, 16 + X86_FRAME_GPR(%esp)           /* spill ecx: gpr[0] */
    movl    %edx, 16 + X86_FRAME_GPR + 4(%esp)       /* spill edx: gpr[1] */
    leal    16(%esp), %ecx                           /* ecx = &frame */
    leal    8(%ebp), %edx                            /* edx = first stack argument */
    movl    %eax, 0(%esp)                            /* arg 1: the closure record */
    movl    %ecx, 4(%esp)                            /* arg 2: the register frame */
    movl    %edx, 8(%esp)                            /* arg 3: the stack arguments */
    call    CSYM(cffi_dispatch)                      /* eax = stub word */
    movl    %eax, %ecx                               /* ecx = stub word ... */
    shrl    $X86_STUB_POP_SHIFT, %ecx                /* ... = bytes the callee pops, kept to the end */
    cmpb    $X86_RET_INT, %al                        /* integers and pointers: edx:eax */
    je      .Lret_int
    cmpb    $X86_RET_DOUBLE, %al
    je      .Lret_double
    cmpb    $X86_RET_FLOAT, %al
    je      .Lret_float
    cmpb    $X86_RET_LDOUBLE, %al
    je      .Lret_ldouble
    jmp     .Lret_done                               /* X86_RET_VOID */
.Lret_ldouble:
    fldt    16 + X86_FRAME_RET_LDOUBLE(%esp)         /* st(0) = long double result */
    jmp     .Lret_done
.Lret_int:
    movl    16 + X86_FRAME_RET_INT(%esp), %eax       /* eax = low word (narrow ones extended) */
    movl    16 + X86_FRAME_RET_INT + 4(%esp), %edx   /* edx = high word */
    jmp     .Lret_done
.Lret_double:
    fldl    16 + X86_FRAME_RET_DOUBLE(%esp)          /* st(0) = double result */
    jmp     .Lret_done
.Lret_float:
    flds    16 + X86_FRAME_RET_FLOAT(%esp)           /* st(0) = float result */
.Lret_done:
    movl    %ebp, %esp                               /* drop the frame and the alignment pad */
    popl    %ebp                                     /* restore the caller's frame pointer */
    .cfi_def_cfa %esp, 4
    .cfi_restore %ebp
    testl   %ecx, %ecx                               /* does the callee pop anything? */
    jnz     .Lret_pop
    ret                                              /* cdecl, or no stack arguments */
.Lret_pop:
    /* Move the return address up over the arguments and return with a plain ret, so the call
     * and the return stay paired (shadow stacks). ecx = bytes to pop. */
    leal    (%esp,%ecx), %ecx                        /* ecx = the last argument word */
    popl    (%ecx)                                   /* the return address goes there */
    .cfi_def_cfa %ecx, 4
    movl    %ecx, %esp                               /* esp = the moved return address */
    .cfi_def_cfa %esp, 4
    ret                                              /* return, arguments removed */
    .cfi_endproc
CFFI_ASM_END(cffi_x86_entry)

    CFFI_ASM_NOTES
