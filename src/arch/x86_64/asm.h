/*
 * asm.h (x86-64) - directives every stub file shares, so the same .S files assemble for ELF and
 * for PE/COFF (mingw). ELF-only directives (.type, .size, .hidden, notes) are guarded here once.
 *
 * Unwind information: each stub describes its prologue twice, once per object format, and the
 * stubs are shaped so that both descriptions can be exact:
 *   CFFI_CFI(...)  DWARF call frame information (.cfi_*), for ELF's unwinders (libgcc, gdb);
 *   CFFI_SEH(...)  Windows x64 unwind codes (.seh_*), which the assembler turns into the .pdata
 *                  and .xdata entries RtlVirtualUnwind reads (SEH, C++ exceptions, debuggers).
 * Windows constrains the shape: pushes of saved registers come first, then one fixed stack
 * allocation (and the xmm saves), then .seh_endprologue; a frame register, where the stack moves
 * by a run-time amount, is set after the pushes; epilogues are `add rsp, n` or `lea rsp, [rbp+n]`,
 * then the pops, then ret, which is the only epilogue form the unwinder recognises.
 */
#ifndef CFFI_X86_64_ASM_H
#define CFFI_X86_64_ASM_H

#ifdef __ELF__
/* Hidden: the stubs are reached through closure records and cffi_abi tables, never by name from
 * outside the library, and a hidden symbol needs no PLT or GOT. */
#define CFFI_ASM_FUNC(name)                                                                        \
    .globl name;                                                                                   \
    .hidden name;                                                                                  \
    .type name, @function;                                                                         \
    .p2align 4;                                                                                    \
    name:
#define CFFI_ASM_END(name) .size name, . - name
#else
#define CFFI_ASM_FUNC(name)                                                                        \
    .globl name;                                                                                   \
    .p2align 4;                                                                                    \
    name:
#define CFFI_ASM_END(name)
#endif

#ifdef __ELF__
#define CFFI_CFI(...) __VA_ARGS__
#define CFFI_SEH(...)
#define CFFI_UNWIND_BEGIN(name) .cfi_startproc
#define CFFI_UNWIND_END(name) .cfi_endproc
#else
#define CFFI_CFI(...)
#define CFFI_SEH(...) __VA_ARGS__
#define CFFI_UNWIND_BEGIN(name) .seh_proc name
#define CFFI_UNWIND_END(name) .seh_endproc
#endif

/* How the entry stubs call cffi_dispatch(record, frame, stack): with the OS's C convention
 * (arch_config.h, CFFI_DISPATCH_ABI). On Windows the callee owns 32 bytes of shadow space above
 * the return address, so the entry stubs keep their frame that far above rsp. */
#ifdef __ELF__
#define CFFI_DISPATCH_ARG1 %rdi
#define CFFI_DISPATCH_ARG2 %rsi
#define CFFI_DISPATCH_ARG3 %rdx
#define CFFI_DISPATCH_SHADOW 0
#else
#define CFFI_DISPATCH_ARG1 %rcx
#define CFFI_DISPATCH_ARG2 %rdx
#define CFFI_DISPATCH_ARG3 %r8
#define CFFI_DISPATCH_SHADOW 32
#endif

/* Every file ends with this: a non-executable stack, and on CET builds a property note saying the
 * code is fit for indirect branch tracking (each entry starts with endbr64) and shadow stacks
 * (every call is matched by a ret; the thunks only jump). */
#if defined(__ELF__) && defined(__CET__)
#define CFFI_ASM_NOTES                                                                             \
    .section .note.GNU-stack, "", @progbits;                                                       \
    .section .note.gnu.property, "a";                                                              \
    .p2align 3;                                                                                    \
    .long 4;          /* name size: "GNU\0" */                                                     \
    .long 16;         /* descriptor size */                                                        \
    .long 5;          /* NT_GNU_PROPERTY_TYPE_0 */                                                 \
    .asciz "GNU";                                                                                  \
    .long 0xc0000002; /* GNU_PROPERTY_X86_FEATURE_1_AND */                                         \
    .long 4;          /* property data size */                                                     \
    .long 3;          /* IBT | SHSTK */                                                            \
    .p2align 3
#elif defined(__ELF__)
#define CFFI_ASM_NOTES .section .note.GNU-stack, "", @progbits
#else
#define CFFI_ASM_NOTES
#endif

#endif
