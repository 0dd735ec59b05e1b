/*
 * hidden.h - CFFI_HIDDEN, the one spelling of "internal to the library" for C declarations: not
 * exported from libcffi.so or cffi.so, reachable from every file linked into them. (Assembly
 * says the same with .hidden, through each target's asm.h.) And CFFI_PRINTF_LIKE, the one
 * spelling of a format check. Each OS says how (src/os/<os>/os_attributes.h).
 */
#ifndef CFFI_HIDDEN_H
#define CFFI_HIDDEN_H

#include "os_attributes.h"

#define CFFI_HIDDEN CFFI_OS_HIDDEN
#define CFFI_PRINTF_LIKE(fmt, args) CFFI_OS_PRINTF_LIKE(fmt, args)

#endif /* CFFI_HIDDEN_H */
