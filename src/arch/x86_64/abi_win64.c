/*
 * abi_win64.c - the Microsoft x64 calling convention as facts for the generic placement loop.
 *
 * Argument position n (n < 4) uses register n of its class: rcx, rdx, r8, r9 for integers and
 * pointers, xmm0-xmm3 for float and double. Later arguments go on the stack in order, one 8-byte
 * slot each, above the 32 bytes of shadow space the caller reserves. Results come back in rax or
 * xmm0. The caller pops.
 */
#include "internal.h"

#include "frame.h"

CFFI_HIDDEN const cffi_abi cffi_x64_abi_win64 = {
    .name = "win64",
    .gpr_count = 4,
    .fpr_count = 4,
    .gpr_max_size = 8,
    .shared_slots = 1,
    .stack_slot = 8,
    .callee_pops = 0,
    .gpr_offset = X64_FRAME_GPR,
    .fpr_offset = X64_FRAME_FPR,
    .reg_size = 8,
    .ret_int_offset = X64_FRAME_RET_INT,
    .ret_fp_offset = X64_FRAME_RET_FP,
    .frame_size = X64_FRAME_SIZE,
    .check = NULL,  /* every scalar of the signature grammar fits in one 8-byte slot */
    .finish = NULL, /* caller-pop: the entry stub needs no per-signature word */
    .entry = cffi_x64_entry_win64,
    .frame_entry = CFFI_X64_FRAME_ENTRY(cffi_x64_entry_win64_frame),
    .call = cffi_x64_call_win64,
};
