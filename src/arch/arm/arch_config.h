/*
 * arch_config.h (32-bit ARM) - what generic code needs to know about this target.
 */
#ifndef CFFI_ARCH_CONFIG_H
#define CFFI_ARCH_CONFIG_H

#define CFFI_ARCH_NAME "arm"

/* The stubs call cffi_dispatch, and C calls the call stub, as plain C functions of the build
 * (AAPCS-VFP on armhf; every argument is a pointer or an integer, so both variants agree). */
#define CFFI_DISPATCH_ABI
#define CFFI_STUB_ABI

/* Bytes of executable memory per thunk: ldr ip, [pc]; ldr pc, [ip]; the record's address (12),
 * padded to 16. */
#define CFFI_ARCH_THUNK_SIZE 16

/* Typed thunks' gate (src/reloc/reloc.h): the copy's first word (no landing pad on this target),
 * which one aligned 32-bit store switches between the image's own bytes and `b hop` (b.w in
 * Thumb state); a hop is a load of PC from the word after it (any distance, either state). */
#define CFFI_RELOC_GATE_AT 0       /* offset of the gate */
#define CFFI_RELOC_GATE_LEN 4      /* one ARM or 32-bit Thumb instruction */
#define CFFI_RELOC_GATE_REACH 1024 /* where barefn.c may put the hop, at most (b reaches more) */
#define CFFI_RELOC_HOP_LEN 8       /* ldr pc, [pc, ...] and the dead copy's address */

#endif
