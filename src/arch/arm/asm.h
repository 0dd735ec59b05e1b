/*
 * asm.h (32-bit ARM) - directives every stub file shares. The stubs are ARM-state code
 * (`.arm`): reached by thunks through `ldr pc` and called through `blx`, both of which switch
 * state by the target address's low bit, which is clear for them.
 */
#ifndef CFFI_ARM_ASM_H
#define CFFI_ARM_ASM_H

#define CFFI_ASM_FUNC(name)                                                                        \
    .globl name;                                                                                   \
    .hidden name;                                                                                  \
    .type name, %function;                                                                         \
    .p2align 3;                                                                                    \
    name:
#define CFFI_ASM_END(name) .size name, . - name

#define CFFI_ASM_NOTES .section .note.GNU-stack, "", %progbits

#endif
