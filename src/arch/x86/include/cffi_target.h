/*
 * cffi_target.h (x86-32) - what the public header (cffi.h) says differently per target: calling
 * conventions as function attributes, and the typed-thunk template block. Included by cffi.h
 * only; the build puts src/arch/<target>/include on the include path.
 */
#ifndef CFFI_TARGET_H
#define CFFI_TARGET_H

/* Calling convention names as function attributes. */
#define CFFI_CONV_ATTR_C __attribute__((cdecl))
#define CFFI_CONV_ATTR_cdecl __attribute__((cdecl))
#define CFFI_CONV_ATTR_stdcall __attribute__((stdcall))
#define CFFI_CONV_ATTR_fastcall __attribute__((fastcall))
#define CFFI_CONV_ATTR_thiscall __attribute__((thiscall))
#define CFFI_CONV_ATTR_efiapi __attribute__((cdecl))
#ifdef _WIN32
#define CFFI_CONV_ATTR_system __attribute__((stdcall))
#else
#define CFFI_CONV_ATTR_system __attribute__((cdecl))
#endif

/* The typed-thunk template block (see CFFI_BAREFN_RECORD in cffi.h), byte by byte; the
 * relocator (src/arch/x86/barefn_block.c) recognises exactly these bytes:
 *   B8 <record slot: 4>           mov $record, %eax
 *   E9 <displacement: 4>          jmp rel32 (back to the landing pad, set per copy)
 *   F3 0F 1E FB                   endbr32 (landing pad)
 * It is its own near form: with 32-bit addresses every copy reaches the template. */
#define CFFI_BAREFN_RECORD_MAGIC 0xCFF1CAFE /* record slot before patching */
#define CFFI_BAREFN_BACK_MAGIC 0xCFF1BACC   /* jump displacement before patching */
/* The names earlier releases gave them. */
#define CFFI_BAREFN_X86_RECORD_MAGIC CFFI_BAREFN_RECORD_MAGIC
#define CFFI_BAREFN_X86_BACK_MAGIC CFFI_BAREFN_BACK_MAGIC
#define CFFI_BAREFN_BLOCK_RECORD_SLOT 1
#define CFFI_BAREFN_BLOCK_REL 6
#define CFFI_BAREFN_BLOCK_LANDING 10
#define CFFI_BAREFN_BLOCK_SIZE 14

#define CFFI__STR2(x) #x
#define CFFI__STR(x) CFFI__STR2(x)
#define CFFI_BAREFN_RECORD(var)                                                                   \
    __asm__ volatile(/* mov $imm32, %eax: the record slot is the immediate */                     \
                     "movl $" CFFI__STR(CFFI_BAREFN_RECORD_MAGIC) ", %0\n\t"                     \
                     /* jmp rel32 back into the compiled template; each copy sets the rel32 */    \
                     ".byte 0xE9\n\t"                                                             \
                     ".long " CFFI__STR(CFFI_BAREFN_BACK_MAGIC) "\n\t"                           \
                     /* landing pad (CET indirect branch tracking) */                             \
                     "endbr32"                                                                    \
                     : "=a"(var)                                                                  \
                     :                                                                            \
                     : "memory")

#endif /* CFFI_TARGET_H */
