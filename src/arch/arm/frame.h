/*
 * frame.h (32-bit ARM) - the register frame that the entry stub fills and the call stub reads,
 * shared by the C side (abi_aapcs.c) and the assembly (entry_aapcs.S, call_aapcs.S).
 *
 * gpr[0..3] = r0-r3; fpr = s0-s15 (= d0-d7, d0 = s0:s1). Results: r0 (ret_int[0]), r1
 * (ret_int[1], the high word of a 64-bit result), d0-d3 (ret_fp: s0 for a float; a homogeneous
 * floating aggregate in up to four).
 */
#ifndef CFFI_ARM_FRAME_H
#define CFFI_ARM_FRAME_H

#define ARM_FRAME_GPR 0      /* 4 x 4 bytes */
#define ARM_FRAME_FPR 16     /* 16 x 4 bytes: s0-s15 */
#define ARM_FRAME_RET_INT 80 /* r0, r1 */
#define ARM_FRAME_RET_FP 88  /* d0-d3 */
#define ARM_FRAME_SIZE 120   /* a multiple of 8: sp stays 8-byte aligned */

#ifndef __ASSEMBLER__
#include "hidden.h"

#include <stddef.h>
#include <stdint.h>

typedef struct arm_frame {
    uint32_t gpr[4];
    uint32_t fpr[16];
    uint32_t ret_int[2];
    uint64_t ret_fp[4];
} arm_frame;

_Static_assert(offsetof(arm_frame, gpr) == ARM_FRAME_GPR, "frame.h: gpr offset");
_Static_assert(offsetof(arm_frame, fpr) == ARM_FRAME_FPR, "frame.h: fpr offset");
_Static_assert(offsetof(arm_frame, ret_int) == ARM_FRAME_RET_INT, "frame.h: ret_int offset");
_Static_assert(offsetof(arm_frame, ret_fp) == ARM_FRAME_RET_FP, "frame.h: ret_fp offset");
_Static_assert(sizeof(arm_frame) == ARM_FRAME_SIZE, "frame.h: size");

/* The stubs. The entry is branched to by thunks with ip (r12) = the closure record. */
extern CFFI_HIDDEN const char cffi_arm_entry[];
CFFI_HIDDEN void cffi_arm_call(void *fn, void *frame, const void *stack, size_t stack_bytes);
#endif

#endif
