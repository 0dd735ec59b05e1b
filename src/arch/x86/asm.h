/*
 * asm.h (x86-32) - what entry_i386.S and call_i386.S share: C symbol names, function
 * brackets, and the notes an ELF object carries. Object-format specifics are guarded so that the
 * same sources assemble for ELF (Linux) and PE/COFF (mingw-w64 i686).
 */
#ifndef CFFI_X86_ASM_H
#define CFFI_X86_ASM_H

#include "frame.h"

/* 32-bit Windows decorates cdecl C names with a leading underscore. */
#if defined(_WIN32) || defined(__CYGWIN__)
#define CSYM(name) _##name
#else
#define CSYM(name) name
#endif

#ifdef __ELF__
#define CFFI_ASM_FUNC(name)                                                                  \
    .globl CSYM(name);                                                                        \
    .hidden CSYM(name);                                                                       \
    .type CSYM(name), @function;                                                              \
    .p2align 4;                                                                               \
    CSYM(name):
#define CFFI_ASM_END(name) .size CSYM(name), .- CSYM(name)
#else
#define CFFI_ASM_FUNC(name)                                                                  \
    .globl CSYM(name);                                                                        \
    .def CSYM(name);                                                                          \
    .scl 2;                                                                                   \
    .type 32;                                                                                 \
    .endef;                                                                                   \
    .p2align 4;                                                                               \
    CSYM(name):
#define CFFI_ASM_END(name)
#endif

/* Executable stack: not needed. CET: when the build asks for it (-fcf-protection), say that
 * these objects are IBT (every entry starts with endbr32) and shadow-stack (every return pairs
 * with its call) compatible, so the linked program keeps the property. */
#ifdef __ELF__
#define CFFI_ASM_NOTES                                                                      \
    .section .note.GNU-stack, "", @progbits;                                                  \
    CFFI_ASM_CET_NOTE
#if defined(__CET__)
#define CFFI_ASM_CET_NOTE                                                                          \
    .section .note.gnu.property, "a";                                                         \
    .p2align 2;                                                                               \
    .long 4;                  /* name size: "GNU\0" */                                        \
    .long 12;                 /* descriptor size */                                           \
    .long 5;                  /* NT_GNU_PROPERTY_TYPE_0 */                                    \
    .asciz "GNU";                                                                             \
    .long 0xc0000002;         /* GNU_PROPERTY_X86_FEATURE_1_AND */                            \
    .long 4;                  /* data size */                                                 \
    .long (__CET__ & 3);      /* IBT = 1, SHSTK = 2 */                                        \
    .p2align 2
#else
#define CFFI_ASM_CET_NOTE
#endif
#else
#define CFFI_ASM_NOTES
#endif

#endif
