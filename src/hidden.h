/*
 * hidden.h - CFFI_HIDDEN, the one spelling of "internal to the library" for C declarations: not
 * exported from libcffi.so or cffi.so, reachable from every file linked into them. (Assembly
 * says the same with .hidden, through each target's asm.h.)
 */
#ifndef CFFI_HIDDEN_H
#define CFFI_HIDDEN_H

#define CFFI_HIDDEN __attribute__((visibility("hidden")))

#endif /* CFFI_HIDDEN_H */
