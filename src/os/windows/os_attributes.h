/*
 * os_attributes.h (Windows) - how this OS's object format and C library spell what hidden.h
 * and cffi.h's CFFI_API name.
 */
#ifndef CFFI_OS_ATTRIBUTES_H
#define CFFI_OS_ATTRIBUTES_H

/* PE/COFF: what a DLL exports. */
#define CFFI_OS_EXPORT __declspec(dllexport)

/* PE/COFF: a DLL exports only what is marked __declspec(dllexport) (CFFI_API), so everything
 * else is internal already; the visibility attribute does not exist there. */
#define CFFI_OS_HIDDEN

/* mingw builds use mingw's C99 printf (__USE_MINGW_ANSI_STDIO), which GCC knows as gnu_printf;
 * plain "printf" would mean msvcrt's, which lacks %zu. */
#define CFFI_OS_PRINTF_LIKE(fmt, args) __attribute__((format(gnu_printf, fmt, args)))

#endif /* CFFI_OS_ATTRIBUTES_H */
