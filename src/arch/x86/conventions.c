/*
 * conventions.c (x86-32) - the conventions this target has and what each accepted name means.
 *
 * cdecl, stdcall, fastcall and thiscall are all real here; C is cdecl. system is stdcall on
 * 32-bit Windows and C elsewhere; efiapi is C everywhere but x86-64. sysv64 and win64 (x86-64
 * only) and aapcs (32-bit ARM only) have no meaning here and are not listed, so they are
 * rejected with the list of the names that are.
 */
#include "internal.h"

extern CFFI_HIDDEN const cffi_abi cffi_x86_abi_cdecl;
extern CFFI_HIDDEN const cffi_abi cffi_x86_abi_stdcall;
extern CFFI_HIDDEN const cffi_abi cffi_x86_abi_fastcall;
extern CFFI_HIDDEN const cffi_abi cffi_x86_abi_thiscall;

const cffi_abi *const cffi_arch_abis[] = {
    &cffi_x86_abi_cdecl, &cffi_x86_abi_stdcall, &cffi_x86_abi_fastcall, &cffi_x86_abi_thiscall,
    NULL,
};

#ifdef _WIN32
#define SYSTEM_CONV "stdcall"
#else
#define SYSTEM_CONV "cdecl"
#endif

const cffi_conv_name cffi_arch_conv_names[] = {
    {"c", "cdecl"},
    {"cdecl", "cdecl"},
    {"stdcall", "stdcall"},
    {"fastcall", "fastcall"},
    {"thiscall", "thiscall"},
    {"system", SYSTEM_CONV},
    {"efiapi", "cdecl"},
    {NULL, NULL},
};
