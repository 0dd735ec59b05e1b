/*
 * asm.h (AArch64) - directives every stub file shares: symbol brackets, and the notes that mark
 * the object as fit for a non-executable stack, branch target identification (BTI: every entry
 * reached by an indirect branch starts with a landing pad) and return address signing (PAC: the
 * stubs never spill a signed return address of their caller; they keep x30 as they got it).
 */
#ifndef CFFI_AARCH64_ASM_H
#define CFFI_AARCH64_ASM_H

/* Hidden: the stubs are reached through closure records and cffi_abi tables, never by name from
 * outside the library. */
#define CFFI_ASM_FUNC(name)                                                                        \
    .globl name;                                                                                   \
    .hidden name;                                                                                  \
    .type name, %function;                                                                         \
    .p2align 4;                                                                                    \
    name:
#define CFFI_ASM_END(name) .size name, . - name

/* bti c: the landing pad for calls (blr) and for br through x16/x17, which is how thunks branch.
 * It is a hint instruction: a no-op on processors or pages without BTI. */
#define CFFI_BTI_C hint 34

/* GNU_PROPERTY_AARCH64_FEATURE_1_AND with BTI (1) and PAC (2): the linker keeps BTI enforcement
 * for the whole program only if every object says so. */
#define CFFI_ASM_NOTES                                                                             \
    .section .note.GNU-stack, "", %progbits;                                                       \
    .pushsection .note.gnu.property, "a";                                                          \
    .p2align 3;                                                                                    \
    .long 4;          /* name size: "GNU\0" */                                                     \
    .long 16;         /* descriptor size */                                                        \
    .long 5;          /* NT_GNU_PROPERTY_TYPE_0 */                                                 \
    .asciz "GNU";                                                                                  \
    .long 0xc0000000; /* GNU_PROPERTY_AARCH64_FEATURE_1_AND */                                     \
    .long 4;          /* property data size */                                                     \
    .long 3;          /* BTI | PAC */                                                              \
    .p2align 3;                                                                                    \
    .popsection

#endif
