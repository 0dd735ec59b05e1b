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

/* Typed thunks' gate (src/reloc/reloc.h): the word after the copy's `bti c`, which one aligned
 * 32-bit store switches between the image's own instruction and `b hop`; a hop is `b` to the
 * dead copy. Both reach 128 MiB, far more than a slot. */
#define CFFI_RELOC_GATE_AT 4      /* offset of the gate: after the bti c */
#define CFFI_RELOC_GATE_LEN 4     /* one instruction */
#define CFFI_RELOC_GATE_REACH 1024 /* where barefn.c may put the hop, at most (b reaches more) */
#define CFFI_RELOC_HOP_LEN 4      /* b <dead copy> */

#endif
