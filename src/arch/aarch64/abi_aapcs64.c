/*
 * abi_aapcs64.c - the AArch64 procedure call standard (AAPCS64) as facts for the generic
 * placement loop.
 *
 * Integer and pointer arguments take x0-x7, floating arguments v0-v7 (s or d, the low bits), each
 * class counted on its own; what does not fit goes on the stack in order, one 8-byte slot per
 * scalar (Linux: a narrower value sits in the slot's low bytes, and its upper bits, like those of
 * a narrow value in a register, are unspecified: the callee extends). Results come back in x0 or
 * v0. The caller pops; sp stays 16-byte aligned. x8 carries the address of an indirect result,
 * which only aggregates need (not supported yet).
 *
 * Apple's arm64 variant (macOS, iOS) differs in two facts: stack arguments are packed by their
 * natural size and alignment instead of 8-byte slots (stack_natural below), and the caller
 * extends char and short arguments to 32 bits, which cffi_call does anyway (it widens every
 * argument). Apple targets are not built or run here; the placement is checked on Linux
 * (spec/c/aarch64/test_a64_apple_placement.c).
 */
#include "internal.h"

#include "frame.h"

_Static_assert(offsetof(cffi_closure, entry) == 0, "abi_aapcs64.c: thunks load the entry first");

CFFI_HIDDEN const cffi_abi cffi_a64_abi_aapcs64 = {
    .name = "aapcs64",
    .gpr_count = 8,
    .fpr_count = 8,
    .gpr_max_size = 8,
    .shared_slots = 0,
    .stack_slot = 8,
#ifdef __APPLE__
    .stack_natural = 1,
#endif
    .callee_pops = 0,
    .gpr_offset = A64_FRAME_GPR,
    .fpr_offset = A64_FRAME_FPR,
    .reg_size = 8,
    .ret_int_offset = A64_FRAME_RET_INT,
    .ret_fp_offset = A64_FRAME_RET_FP,
    .frame_size = A64_FRAME_SIZE,
    .check = NULL,  /* every scalar of the signature grammar fits */
    .finish = NULL, /* caller-pop: the entry stub needs no per-signature word */
    .entry = cffi_a64_entry,
    .frame_entry = NULL, /* frame closures run through cffi_dispatch */
    .call = cffi_a64_call,
};
