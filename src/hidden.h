/*
 * hidden.h - CFFI_HIDDEN, the one spelling of "internal to the library" for C declarations: not
 * exported from libcffi.so or cffi.so, reachable from every file linked into them. (Assembly
 * says the same with .hidden, through each target's asm.h.) And CFFI_PRINTF_LIKE, the one
 * spelling of a format check.
 */
#ifndef CFFI_HIDDEN_H
#define CFFI_HIDDEN_H

#ifdef _WIN32
/* PE/COFF: a DLL exports only what is marked __declspec(dllexport) (CFFI_API), so everything
 * else is internal already; the visibility attribute does not exist there. */
#define CFFI_HIDDEN
#else
#define CFFI_HIDDEN __attribute__((visibility("hidden")))
#endif

/* A printf-like function's format check. mingw builds use mingw's C99 printf
 * (__USE_MINGW_ANSI_STDIO), which GCC knows as gnu_printf; plain "printf" would mean msvcrt's,
 * which lacks %zu. */
#ifdef _WIN32
#define CFFI_PRINTF_LIKE(fmt, args) __attribute__((format(gnu_printf, fmt, args)))
#else
#define CFFI_PRINTF_LIKE(fmt, args) __attribute__((format(printf, fmt, args)))
#endif

#endif /* CFFI_HIDDEN_H */
