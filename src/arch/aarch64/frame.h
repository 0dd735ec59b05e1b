/*
 * frame.h (AArch64) - the register frame that the entry stub fills and the call stub reads,
 * shared by the C side (abi_aapcs64.c) and the assembly (entry_aapcs64.S, call_aapcs64.S).
 * Offsets are defined once here and checked against the struct at compile time.
 *
 * gpr[0..7] = x0-x7, fpr[0..7] = d0-d7 (the low 64 bits of v0-v7: a float argument is the low 32
 * bits, s0-s7). Results: x0 (ret_int[0]), x1 (ret_int[1]), d0-d3 (ret_fp[0..3]: a homogeneous
 * floating aggregate comes back in up to four). x8, the indirect result register (the address a
 * large struct result is written to), at x8.
 */
#ifndef CFFI_AARCH64_FRAME_H
#define CFFI_AARCH64_FRAME_H

#define A64_FRAME_GPR 0       /* 8 x 8 bytes */
#define A64_FRAME_FPR 64      /* 8 x 8 bytes */
#define A64_FRAME_RET_INT 128 /* x0, x1 */
#define A64_FRAME_RET_FP 144  /* d0-d3 */
#define A64_FRAME_X8 176      /* x8 */
#define A64_FRAME_SIZE 192    /* a multiple of 16: sp stays 16-byte aligned */

#ifndef __ASSEMBLER__
#include "hidden.h"

#include <stddef.h>
#include <stdint.h>

typedef struct a64_frame {
    uint64_t gpr[8];
    uint64_t fpr[8];
    uint64_t ret_int[2];
    uint64_t ret_fp[4];
    uint64_t x8;
    uint64_t pad;
} a64_frame;

_Static_assert(offsetof(a64_frame, gpr) == A64_FRAME_GPR, "frame.h: gpr offset");
_Static_assert(offsetof(a64_frame, fpr) == A64_FRAME_FPR, "frame.h: fpr offset");
_Static_assert(offsetof(a64_frame, ret_int) == A64_FRAME_RET_INT, "frame.h: ret_int offset");
_Static_assert(offsetof(a64_frame, ret_fp) == A64_FRAME_RET_FP, "frame.h: ret_fp offset");
_Static_assert(offsetof(a64_frame, x8) == A64_FRAME_X8, "frame.h: x8 offset");
_Static_assert(sizeof(a64_frame) == A64_FRAME_SIZE, "frame.h: size");
_Static_assert(A64_FRAME_SIZE % 16 == 0, "frame.h: keeps sp 16-byte aligned");

/* The stubs that fill and read this frame. The entry is branched to by thunks with x17 = the
 * closure record; it is not a C function, hence the char array. */
extern CFFI_HIDDEN const char cffi_a64_entry[];
CFFI_HIDDEN void cffi_a64_call(void *fn, void *frame, const void *stack, size_t stack_bytes);
#endif

#endif
