/*
 * arch_config.h (AArch64) - what generic code needs to know about this target.
 */
#ifndef CFFI_ARCH_CONFIG_H
#define CFFI_ARCH_CONFIG_H

#define CFFI_ARCH_NAME "aarch64"

/* One convention for C and the stubs alike: the stubs call cffi_dispatch, and C calls the call
 * stub, as plain AAPCS64 functions. */
#define CFFI_DISPATCH_ABI
#define CFFI_STUB_ABI

/* Bytes of executable memory per thunk: bti c, ldr x17 (literal), ldr x16, [x17], br x16 (4
 * instructions, 16 bytes) and the record's address as an 8-byte literal: 24, padded to 32 so
 * that every thunk starts on a 32-byte boundary and its literal is 8-byte aligned. */
#define CFFI_ARCH_THUNK_SIZE 32

#endif
