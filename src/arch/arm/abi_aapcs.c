/*
 * abi_aapcs.c - the 32-bit ARM procedure call standard, in its two variants, as a placement hook
 * (the generic facts cannot say its rules):
 *
 *   core registers r0-r3 for integers and pointers; a 64-bit value takes an even-odd pair (r0:r1
 *   or r2:r3, low word first), skipping an odd register; once one does not fit, every later
 *   integer goes on the stack;
 *   the stack: 4-byte slots, 8-byte alignment for 64-bit values;
 *   aapcs_vfp (armhf's C): float and double take VFP registers s0-s15 / d0-d7 (a double an
 *   aligned pair), a float back-filling a single left free by a double's alignment; once one
 *   does not fit, every later floating value goes on the stack, with no back-filling;
 *   aapcs (base standard): float and double are treated as 32- and 64-bit integers.
 *
 * Results: r0 (r0:r1 for 64-bit), and under aapcs_vfp s0 / d0 for floating values. The caller
 * pops. Aggregates are not supported yet.
 */
#include "internal.h"

#include "frame.h"

_Static_assert(offsetof(cffi_closure, entry) == 0, "abi_aapcs.c: thunks load the entry first");

static bool is_floating(cffi_type t) { return t == CFFI_T_FLOAT || t == CFFI_T_DOUBLE; }

static void place(const cffi_abi *abi, cffi_type ret, const cffi_type *params, size_t n,
                  cffi_plan *plan) {
    bool vfp = abi->fpr_count > 0;
    unsigned ncrn = 0;                      /* next core register */
    uint32_t s_free = vfp ? 0xffffu : 0;    /* single-precision registers still free */
    size_t nsaa = 0;                        /* next stacked argument's offset */
    for (size_t i = 0; i < n; i++) {
        cffi_type t = params[i];
        size_t size = cffi_type_size(t) > 4 ? 8 : 4;
        cffi_argloc *loc = &plan->args[i];
        loc->type = (uint8_t)t;
        loc->width = (uint8_t)size;
        if (vfp && is_floating(t)) {
            /* The lowest free single, or the lowest free aligned pair for a double. */
            unsigned step = size == 8 ? 2 : 1;
            uint32_t need = size == 8 ? 3u : 1u;
            for (unsigned s = 0; s < 16; s += step)
                if ((s_free >> s & need) == need) {
                    s_free &= ~(need << s);
                    loc->offset = (uint16_t)(abi->fpr_offset + 4 * s);
                    goto placed;
                }
            s_free = 0; /* on the stack: no later floating value back-fills a register */
        } else if (size == 8) {
            ncrn += ncrn & 1; /* an even-odd pair */
            if (ncrn <= 2) {
                loc->offset = (uint16_t)(abi->gpr_offset + 4 * ncrn);
                ncrn += 2;
                continue;
            }
            ncrn = 4;
        } else if (ncrn < 4) {
            loc->offset = (uint16_t)(abi->gpr_offset + 4 * ncrn++);
            continue;
        } else {
            ncrn = 4;
        }
        nsaa = (nsaa + size - 1) / size * size; /* 8-byte values 8-aligned */
        loc->on_stack = 1;
        loc->offset = (uint16_t)nsaa;
        nsaa += size;
        continue;
    placed:;
    }
    plan->stack_bytes = (uint32_t)nsaa;
    plan->ret_offset = vfp && is_floating(ret) ? abi->ret_fp_offset : abi->ret_int_offset;
}

#define AAPCS_FACTS                                                                               \
    .gpr_count = 4, .gpr_max_size = 8, .stack_slot = 4, .callee_pops = 0,                       \
    .gpr_offset = ARM_FRAME_GPR, .fpr_offset = ARM_FRAME_FPR, .reg_size = 4,                    \
    .ret_int_offset = ARM_FRAME_RET_INT, .ret_fp_offset = ARM_FRAME_RET_FP,                     \
    .frame_size = ARM_FRAME_SIZE, .place = place, .entry = cffi_arm_entry,                      \
    .frame_entry = NULL, .call = cffi_arm_call

/* The base standard: floating values in core registers and on the stack. */
CFFI_HIDDEN const cffi_abi cffi_arm_abi_base = {.name = "aapcs", .fpr_count = 0, AAPCS_FACTS};
/* The native convention of armhf: floating values in VFP registers. A variadic call passes
 * every argument by the base standard (AAPCS 6.4.1: VFP registers are never used for it). */
CFFI_HIDDEN const cffi_abi cffi_arm_abi_vfp = {.name = "aapcs_vfp", .fpr_count = 16,
                                               .variadic = &cffi_arm_abi_base, AAPCS_FACTS};
