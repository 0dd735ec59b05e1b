/*
 * asm_x86.h (x86-32) - what entry_x86.S and call_x86.S share: C symbol names, function
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
#define X86_FUNC_BEGIN(name)                                                                  \
    .globl CSYM(name);                                                                        \
    .hidden CSYM(name);                                                                       \
    .type CSYM(name), @function;                                                              \
    .p2align 4;                                                                               \
    CSYM(name):
#define X86_FUNC_END(name) .size CSYM(name), .- CSYM(name)
#else
#define X86_FUNC_BEGIN(name)                                                                  \
    .globl CSYM(name);                                                                        \
    .def CSYM(name);                                                                          \
    .scl 2;                                                                                   \
    .type 32;                                                                                 \
    .endef;                                                                                   \
    .p2align 4;                                                                               \
    CSYM(name):
#define X86_FUNC_END(name)
#endif

/* Executable stack: not needed. CET: when the build asks for it (-fcf-protection), say that
 * these objects are IBT (every entry starts with endbr32) and shadow-stack (every return pairs
 * with its call) compatible, so the linked program keeps the property. */
#ifdef __ELF__
#define X86_OBJECT_NOTES                                                                      \
    .section .note.GNU-stack, "", @progbits;                                                  \
    X86_CET_NOTE
#if defined(__CET__)
#define X86_CET_NOTE                                                                          \
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
#define X86_CET_NOTE
#endif
#else
#define X86_OBJECT_NOTES
#endif

#endif
