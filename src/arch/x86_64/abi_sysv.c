/*
 * abi_sysv.c - the System V AMD64 calling convention as facts for the generic placement loop.
 *
 * Integer-class arguments take rdi, rsi, rdx, rcx, r8, r9 and floating arguments xmm0-xmm7,
 * each class counted on its own; whatever does not fit goes on the stack in order, one 8-byte
 * slot per scalar. Results come back in rax or xmm0. The caller pops.
 */
#include "internal.h"

#include "frame.h"

#include <stddef.h>

_Static_assert(offsetof(cffi_closure, handler) == X64_RECORD_HANDLER, "frame.h: record handler");
_Static_assert(offsetof(cffi_closure, ctx) == X64_RECORD_CTX, "frame.h: record ctx");

CFFI_HIDDEN const cffi_abi cffi_x64_abi_sysv = {
    .name = "sysv64",
    .gpr_count = 6,
    .fpr_count = 8,
    .gpr_max_size = 8,
    .shared_slots = 0,
    .stack_slot = 8,
    .callee_pops = 0,
    .gpr_offset = X64_FRAME_GPR,
    .fpr_offset = X64_FRAME_FPR,
    .reg_size = 8,
    .ret_int_offset = X64_FRAME_RET_INT,
    .ret_fp_offset = X64_FRAME_RET_FP,
    .frame_size = X64_FRAME_SIZE,
    .check = NULL,  /* every scalar of the signature grammar fits */
    .finish = NULL, /* caller-pop: the entry stub needs no per-signature word */
    .entry = cffi_x64_entry_sysv,
    .frame_entry = CFFI_X64_FRAME_ENTRY(cffi_x64_entry_sysv_frame),
    .call = cffi_x64_call_sysv,
};
