/*
 * conventions.c (AArch64) - the one convention this target has and the names that mean it.
 *
 * Every name a script may write for an x86 convention means AAPCS64 here, as GCC and Clang treat
 * the attributes on AArch64, so that one script serves every target; sysv64, win64 and aapcs
 * (32-bit ARM's base standard) have no meaning here and are refused with the accepted names.
 */
#include "internal.h"

extern CFFI_HIDDEN const cffi_abi cffi_a64_abi_aapcs64;

const cffi_abi *const cffi_arch_abis[] = {&cffi_a64_abi_aapcs64, NULL};

const cffi_conv_name cffi_arch_conv_names[] = {
    {"c", "aapcs64"},        {"cdecl", "aapcs64"},  {"stdcall", "aapcs64"},
    {"fastcall", "aapcs64"}, {"thiscall", "aapcs64"}, {"system", "aapcs64"},
    {"efiapi", "aapcs64"},   {"aapcs64", "aapcs64"}, {NULL, NULL},
};
