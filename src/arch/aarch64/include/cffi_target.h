/*
 * cffi_target.h (AArch64) - what the public header (cffi.h) says differently per target:
 * calling conventions as function attributes. Every accepted name means AAPCS64 here, as the
 * compilers treat them, so none needs an attribute. Typed thunks (CFFI_BAREFN_RECORD) are not
 * ported to this target yet: cffi.h then refuses CFFI_BAREFN templates at compile time.
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

#endif /* CFFI_TARGET_H */
