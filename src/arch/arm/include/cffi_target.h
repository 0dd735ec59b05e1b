/*
 * cffi_target.h (32-bit ARM) - what the public header (cffi.h) says differently per target:
 * calling conventions as function attributes. The x86 names mean the native convention
 * (AAPCS-VFP on armhf), as the compilers treat them; aapcs is the base standard (floating values
 * in core registers and on the stack), and the typed-thunk template block, in the instruction set
 * the template is compiled in (ARM or Thumb-2).
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
#define CFFI_CONV_ATTR_aapcs __attribute__((pcs("aapcs")))
#define CFFI_CONV_ATTR_aapcs_vfp __attribute__((pcs("aapcs-vfp")))

/* The typed-thunk template block (see CFFI_BAREFN_RECORD in cffi.h). The relocator
 * (src/arch/arm/barefn_block.c) recognises exactly these words. In Thumb-2 state (a template
 * compiled with -mthumb, Debian's default) the block starts on a 4-byte boundary (the assembler
 * pads the code before it with a nop if needed), so that its PC-relative loads, which count from
 * the word-aligned PC, find the slots:
 *    0  f8df c004        ldr.w ip, [pc, #4]    the record, from the record slot (PC = 4)
 *    4  f8df f004        ldr.w pc, [pc, #4]    back into the compiled template (PC = 8), which
 *                                              stays in Thumb state: the back slot's bit 0 is set
 *    8  <record slot: 4>
 *   12  <back slot: 4>
 *   16  mov %0, ip       (the template's own code: the record into the compiler's register)
 * In ARM state (-marm), where PC reads 8 ahead:
 *    0  e59fc000         ldr ip, [pc]          the record slot (PC = 8)
 *    4  e59ff000         ldr pc, [pc]          the back slot (PC = 12)
 *    8  <record slot: 4>
 *   12  <back slot: 4>
 *   16  mov %0, ip
 * ip (r12, the intra-procedure-call scratch register) is free at every call boundary. */
#define CFFI_BAREFN_RECORD_MAGIC 0xCFF1CAFE /* record slot before patching */
#define CFFI_BAREFN_BACK_MAGIC 0xCFF1BACC   /* back slot before patching */
#define CFFI_BAREFN_BLOCK_RECORD_SLOT 8
#define CFFI_BAREFN_BLOCK_BACK_SLOT 12
#define CFFI_BAREFN_BLOCK_LANDING 16
#define CFFI_BAREFN_BLOCK_SIZE 16
#define CFFI_BAREFN_THUMB_LOAD_IP 0xf8dfc004 /* both halfwords, the first one high */
#define CFFI_BAREFN_THUMB_LOAD_PC 0xf8dff004
#define CFFI_BAREFN_ARM_LOAD_IP 0xe59fc000
#define CFFI_BAREFN_ARM_LOAD_PC 0xe59ff000

#define CFFI__STR2(x) #x
#define CFFI__STR(x) CFFI__STR2(x)
#if defined(__thumb__)
#define CFFI__BAREFN_LOADS                                                                        \
    ".balign 4\n\t"                                                                               \
    ".inst.w " CFFI__STR(CFFI_BAREFN_THUMB_LOAD_IP) "\n\t" /* ldr.w ip, [pc, #4] */               \
    ".inst.w " CFFI__STR(CFFI_BAREFN_THUMB_LOAD_PC) "\n"    /* ldr.w pc, [pc, #4] */
#else
#define CFFI__BAREFN_LOADS                                                                        \
    ".inst " CFFI__STR(CFFI_BAREFN_ARM_LOAD_IP) "\n\t" /* ldr ip, [pc] */                         \
    ".inst " CFFI__STR(CFFI_BAREFN_ARM_LOAD_PC) "\n"    /* ldr pc, [pc] */
#endif
#define CFFI_BAREFN_RECORD(var)                                                                   \
    __asm__ volatile(CFFI__BAREFN_LOADS                                                           \
                     ".word " CFFI__STR(CFFI_BAREFN_RECORD_MAGIC) "\n\t"                          \
                     ".word " CFFI__STR(CFFI_BAREFN_BACK_MAGIC) "\n\t"                            \
                     "mov %0, ip"                                                                  \
                     : "=r"(var)                                                                   \
                     : /* "memory": nothing the template does moves across the record load */      \
                     : "ip", "memory")

#endif /* CFFI_TARGET_H */
