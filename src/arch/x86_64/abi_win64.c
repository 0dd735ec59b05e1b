/*
 * abi_win64.c - the Microsoft x64 calling convention as facts for the generic placement loop.
 *
 * Argument position n (n < 4) uses register n of its class: rcx, rdx, r8, r9 for integers and
 * pointers, xmm0-xmm3 for float and double. Later arguments go on the stack in order, one 8-byte
 * slot each, above the 32 bytes of shadow space the caller reserves. Results come back in rax or
 * xmm0. The caller pops.
 *
 * Aggregates: one of 1, 2, 4 or 8 bytes travels as an integer of that size would (in the integer
 * register of its position, or its stack slot), whatever its members; any other size is passed
 * as a pointer to a copy the caller makes. Results of 1, 2, 4 or 8 bytes come back in rax;
 * others are written through a hidden pointer passed in rcx (the other arguments move one
 * position on) and returned in rax. GCC's ms_abi and MSVC agree on all of this. long double is
 * MSVC's double; GCC's (mingw, ms_abi) is the 16-byte x87 value, passed and returned as a
 * 16-byte aggregate is: by reference, and through a hidden pointer.
 */
#include "internal.h"

#include "frame.h"

static cffi_status win64_classify(const cffi_abi *abi, const cffi_agg *agg, bool is_result,
                                  cffi_agg_class *out, char *errbuf, size_t errlen) {
    (void)abi, (void)errbuf, (void)errlen;
    *out = (cffi_agg_class){0};
    size_t size = agg->size;
    if (size == 1 || size == 2 || size == 4 || size == 8) {
        out->how = CFFI_PASS_REGS;
        out->npieces = 1;
        out->piece_class[0] = CFFI_CLASS_GPR;
        out->piece_size[0] = (uint8_t)size;
    } else {
        out->how = is_result ? CFFI_PASS_SRET : CFFI_PASS_REF;
    }
    return CFFI_OK;
}

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
    .classify = win64_classify,
    .sret_in_gpr = 1,
    .variadic_fp_in_gprs = 1, /* the callee spills rcx, rdx, r8, r9 and reads varargs there */
    .entry = cffi_x64_entry_win64,
    .frame_entry = CFFI_X64_FRAME_ENTRY(cffi_x64_entry_win64_frame),
    .call = cffi_x64_call_win64,
};
