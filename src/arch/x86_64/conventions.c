/*
 * conventions.c (x86-64) - the conventions this target has and what each accepted name means.
 *
 * Both sysv64 and win64 are real on every OS. The 32-bit names (cdecl, stdcall, fastcall,
 * thiscall) mean the native C convention, as GCC and MSVC treat them on x86-64, so one script
 * serves 32- and 64-bit builds; system is C here and efiapi is always win64.
 */
#include "internal.h"

extern CFFI_HIDDEN const cffi_abi cffi_x64_abi_sysv;
extern CFFI_HIDDEN const cffi_abi cffi_x64_abi_win64;

const cffi_abi *const cffi_arch_abis[] = {&cffi_x64_abi_sysv, &cffi_x64_abi_win64, NULL};

#ifdef _WIN32
#define NATIVE_C "win64"
#else
#define NATIVE_C "sysv64"
#endif

const cffi_conv_name cffi_arch_conv_names[] = {
    {"c", NATIVE_C},
    {"cdecl", NATIVE_C},
    {"stdcall", NATIVE_C},
    {"fastcall", NATIVE_C},
    {"thiscall", NATIVE_C},
    {"system", NATIVE_C},
    {"sysv64", "sysv64"},
    {"win64", "win64"},
    {"efiapi", "win64"},
    {NULL, NULL},
};
