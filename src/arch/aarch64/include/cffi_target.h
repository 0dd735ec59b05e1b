/*
 * cffi_target.h (AArch64) - what the public header (cffi.h) says differently per target:
 * calling conventions as function attributes (every accepted name means AAPCS64 here, as the
 * compilers treat them, so none needs an attribute), and the typed-thunk template block.
 */
#ifndef CFFI_TARGET_H
#define CFFI_TARGET_H

#define CFFI_CONV_ATTR_C
#define CFFI_CONV_ATTR_cdecl
#define CFFI_CONV_ATTR_stdcall
#define CFFI_CONV_ATTR_fastcall
#define CFFI_CONV_ATTR_thiscall
#define CFFI_CONV_ATTR_system
#define CFFI_CONV_ATTR_efiapi
#define CFFI_CONV_ATTR_aapcs64

/* The typed-thunk template block (see CFFI_BAREFN_RECORD in cffi.h), word by word; the
 * relocator (src/arch/aarch64/barefn_block.c) recognises exactly these words:
 *    0  58000071         ldr x17, #12          the record, from the record slot
 *    4  58000090         ldr x16, #16          the way back, from the back slot
 *    8  d61f0200         br  x16               back into the compiled template
 *   12  <record slot: 8>
 *   20  <back slot: 8>
 *   28  d503249f         bti j                 landing pad of that branch (BTI)
 *   32  mov %0, x17      (the template's own code: the record into the compiler's register)
 * x16 and x17 (IP0, IP1) are the scratch registers every call boundary may clobber. */
#define CFFI_BAREFN_RECORD_MAGIC 0xCFF1BAEF0000CAFE /* record slot before patching */
#define CFFI_BAREFN_BACK_MAGIC 0xCFF1BAEF0000BACC   /* back slot before patching */
#define CFFI_BAREFN_BLOCK_RECORD_SLOT 12
#define CFFI_BAREFN_BLOCK_BACK_SLOT 20
#define CFFI_BAREFN_BLOCK_LANDING 28
#define CFFI_BAREFN_BLOCK_SIZE 32

#define CFFI__STR2(x) #x
#define CFFI__STR(x) CFFI__STR2(x)
#define CFFI_BAREFN_RECORD(var)                                                                   \
    __asm__ volatile("ldr x17, 1f\n\t"     /* the record slot below */                            \
                     "ldr x16, 2f\n\t"     /* back into the compiled template ... */              \
                     "br x16\n"            /* ... through the back slot */                        \
                     "1: .quad " CFFI__STR(CFFI_BAREFN_RECORD_MAGIC) "\n"                         \
                     "2: .quad " CFFI__STR(CFFI_BAREFN_BACK_MAGIC) "\n\t"                         \
                     "hint 36\n\t"         /* bti j: landing pad of that branch */                \
                     "mov %0, x17"                                                                 \
                     : "=r"(var)                                                                   \
                     : /* "memory": nothing the template does moves across the record load */      \
                     : "x16", "x17", "memory")

#endif /* CFFI_TARGET_H */
