/*
 * cffi_target.h (x86-64) - what the public header (cffi.h) says differently per target: calling
 * conventions as function attributes, and the typed-thunk template block. Included by cffi.h
 * only; the build puts src/arch/<target>/include on the include path.
 */
#ifndef CFFI_TARGET_H
#define CFFI_TARGET_H

/* Calling convention names as function attributes. The 32-bit names mean the native
 * convention; sysv64 and win64 are real on every OS. */
#define CFFI_CONV_ATTR_C
#define CFFI_CONV_ATTR_cdecl
#define CFFI_CONV_ATTR_stdcall
#define CFFI_CONV_ATTR_fastcall
#define CFFI_CONV_ATTR_thiscall
#define CFFI_CONV_ATTR_system
#define CFFI_CONV_ATTR_sysv64 __attribute__((sysv_abi))
#define CFFI_CONV_ATTR_win64 __attribute__((ms_abi))
/* efiapi is always win64: the native convention on Windows, an attribute elsewhere. */
#ifdef _WIN32
#define CFFI_CONV_ATTR_efiapi
#else
#define CFFI_CONV_ATTR_efiapi __attribute__((ms_abi))
#endif

/* The typed-thunk template block (see CFFI_BAREFN_RECORD in cffi.h), byte by byte; the
 * relocator (src/arch/x86_64/barefn_block.c) recognises exactly these bytes:
 *   48 B8 <record slot: 8>        movabs $record, %rax
 *   FF 25 00 00 00 00             jmp *1f(%rip)
 *   1: <back slot: 8>
 *   F3 0F 1E FA                   endbr64 (landing pad) */
#define CFFI_BAREFN_RECORD_MAGIC 0xCFF1BAEF0000CAFE /* record slot before patching */
#define CFFI_BAREFN_BACK_MAGIC 0xCFF1BAEF0000BACC   /* jump-back slot before patching */
/* The names earlier releases gave them. */
#define CFFI_BAREFN_X64_RECORD_MAGIC CFFI_BAREFN_RECORD_MAGIC
#define CFFI_BAREFN_X64_BACK_MAGIC CFFI_BAREFN_BACK_MAGIC
#define CFFI_BAREFN_BLOCK_RECORD_SLOT 2
#define CFFI_BAREFN_BLOCK_JMP 10
#define CFFI_BAREFN_BLOCK_BACK_SLOT 16
#define CFFI_BAREFN_BLOCK_LANDING 24
#define CFFI_BAREFN_BLOCK_SIZE 28

#define CFFI__STR2(x) #x
#define CFFI__STR(x) CFFI__STR2(x)
#define CFFI_BAREFN_RECORD(var)                                                                   \
    __asm__ volatile(/* movabs: the record slot is this instruction's 64-bit immediate */         \
                     "movabsq $" CFFI__STR(CFFI_BAREFN_RECORD_MAGIC) ", %0\n\t"                  \
                     /* back into the compiled template, through the slot below */                \
                     "jmpq *1f(%%rip)\n\t"                                                        \
                     "1: .quad " CFFI__STR(CFFI_BAREFN_BACK_MAGIC) "\n\t"                         \
                     /* landing pad of that indirect jump (CET indirect branch tracking) */       \
                     "endbr64"                                                                    \
                     : "=a"(var)                                                                  \
                     : /* "memory": nothing the template does moves across the record load */     \
                     : "memory")

#endif /* CFFI_TARGET_H */
