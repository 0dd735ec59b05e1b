/*
 * conventions.c (32-bit ARM) - the conventions this target has and what each name means.
 *
 * aapcs_vfp, the native C convention of armhf, passes floating values in VFP registers; aapcs,
 * the base standard, passes them in core registers and on the stack (as soft-float code and
 * __attribute__((pcs("aapcs"))) do). Both are real in one build. The x86 names mean the native
 * one, as the compilers treat them.
 */
#include "internal.h"

extern CFFI_HIDDEN const cffi_abi cffi_arm_abi_vfp;
extern CFFI_HIDDEN const cffi_abi cffi_arm_abi_base;

const cffi_abi *const cffi_arch_abis[] = {&cffi_arm_abi_vfp, &cffi_arm_abi_base, NULL};

const cffi_conv_name cffi_arch_conv_names[] = {
    {"c", "aapcs_vfp"},        {"cdecl", "aapcs_vfp"},  {"stdcall", "aapcs_vfp"},
    {"fastcall", "aapcs_vfp"}, {"thiscall", "aapcs_vfp"}, {"system", "aapcs_vfp"},
    {"efiapi", "aapcs_vfp"},   {"aapcs_vfp", "aapcs_vfp"}, {"aapcs", "aapcs"},
    {NULL, NULL},
};
