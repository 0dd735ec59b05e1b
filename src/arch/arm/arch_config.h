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

#endif
