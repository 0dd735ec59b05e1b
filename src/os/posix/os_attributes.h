/*
 * os_attributes.h (POSIX) - how this OS's object format and C library spell what hidden.h and
 * cffi.h's CFFI_API name.
 */
#ifndef CFFI_OS_ATTRIBUTES_H
#define CFFI_OS_ATTRIBUTES_H

/* ELF: a symbol exported from the shared object (the build hides the rest by default). */
#define CFFI_OS_EXPORT __attribute__((visibility("default")))

/* ELF: a symbol not exported from the shared object, reachable from every file linked into it. */
#define CFFI_OS_HIDDEN __attribute__((visibility("hidden")))

/* The C library's printf, which knows %zu. */
#define CFFI_OS_PRINTF_LIKE(fmt, args) __attribute__((format(printf, fmt, args)))

#endif /* CFFI_OS_ATTRIBUTES_H */
