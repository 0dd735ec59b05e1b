/*
 * cffi_target.h (32-bit ARM) - what the public header (cffi.h) says differently per target:
 * calling conventions as function attributes. The x86 names mean the native convention
 * (AAPCS-VFP on armhf), as the compilers treat them; aapcs is the base standard (floating values
 * in core registers and on the stack). Typed thunks (CFFI_BAREFN_RECORD) are not ported to this
 * target yet: cffi.h then refuses CFFI_BAREFN templates at compile time.
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

#endif /* CFFI_TARGET_H */
