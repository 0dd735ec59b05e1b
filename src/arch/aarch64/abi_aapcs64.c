/*
 * abi_aapcs64.c - the AArch64 procedure call standard (AAPCS64) as facts for the generic
 * placement loop.
 *
 * Integer and pointer arguments take x0-x7, floating arguments v0-v7 (s or d, the low bits), each
 * class counted on its own; what does not fit goes on the stack in order, one 8-byte slot per
 * scalar (Linux: a narrower value sits in the slot's low bytes, and its upper bits, like those of
 * a narrow value in a register, are unspecified: the callee extends). Results come back in x0 or
 * v0. The caller pops; sp stays 16-byte aligned.
 *
 * Aggregates: a homogeneous floating aggregate (HFA: one to four floats, or one to four doubles,
 * through nested structs, arrays and unions) takes one v register per member when that many are
 * left, else goes on the stack and no later floating argument takes a register; any other struct
 * or union of up to 16 bytes takes one or two x registers (an even pair when it is 16-byte
 * aligned) when they are left, else goes on the stack and no later integer argument takes a
 * register; a larger one is passed as a pointer to a copy. Results: an HFA in v0-v3, up to 16
 * bytes in x0/x1, larger ones written where x8 points (the indirect result register, which is no
 * argument register). long double, a 128-bit quad here, is refused.
 *
 * Apple's arm64 variant (macOS, iOS) differs in two facts: stack arguments are packed by their
 * natural size and alignment instead of 8-byte slots (stack_natural below), and the caller
 * extends char and short arguments to 32 bits, which cffi_call does anyway (it widens every
 * argument). Apple targets are not built or run here; the placement is checked on Linux
 * (spec/c/aarch64/test_a64_apple_placement.c).
 */
#include "agg.h"

#include "frame.h"

_Static_assert(offsetof(cffi_closure, entry) == 0, "abi_aapcs64.c: thunks load the entry first");

/* The members agg has as an HFA candidate, all of type *base (CFFI_T_VOID when not yet known),
 * or 0 if it is none: a struct counts its members' members, a union its largest member's. */
static size_t hfa_members(const cffi_agg *agg, cffi_type *base) {
    size_t total = 0;
    for (size_t i = 0; i < agg->nfields; i++) {
        const cffi_field *f = &agg->fields[i];
        size_t one;
        if (f->type == CFFI_T_AGG) {
            one = hfa_members(f->agg, base);
        } else if (f->type == CFFI_T_FLOAT || f->type == CFFI_T_DOUBLE) {
            if (*base == CFFI_T_VOID) *base = f->type;
            one = *base == f->type;
        } else {
            one = 0;
        }
        if (!one) return 0;
        one *= f->count ? f->count : 1;
        total = agg->is_union ? (one > total ? one : total) : total + one;
    }
    if (!total || *base == CFFI_T_VOID || agg->size != total * cffi_type_size(*base)) return 0;
    return total;
}

static cffi_status a64_classify(const cffi_abi *abi, const cffi_agg *agg, bool is_result,
                                cffi_agg_class *out, char *errbuf, size_t errlen) {
    *out = (cffi_agg_class){0};
    if (agg == &cffi_ldouble_layout) {
        cffi_errorf(errbuf, errlen, "long double is not supported by the %s convention on this "
                    "target (it is a 128-bit quad here)", abi->name);
        return CFFI_EUNSUPPORTED;
    }
    cffi_type base = CFFI_T_VOID;
    size_t members = hfa_members(agg, &base);
    if (members >= 1 && members <= 4) {
        out->how = CFFI_PASS_REGS;
        out->npieces = (uint8_t)members;
        for (size_t k = 0; k < members; k++) {
            out->piece_class[k] = CFFI_CLASS_FPR;
            out->piece_size[k] = (uint8_t)cffi_type_size(base);
        }
        return CFFI_OK;
    }
    if (agg->size > 16) {
        out->how = is_result ? CFFI_PASS_SRET : CFFI_PASS_REF;
        return CFFI_OK;
    }
    out->how = CFFI_PASS_REGS;
    out->even_gpr = agg->align >= 16;
    for (size_t at = 0; at < agg->size; at += 8) {
        out->piece_class[out->npieces] = CFFI_CLASS_GPR;
        out->piece_size[out->npieces++] = (uint8_t)(agg->size - at < 8 ? agg->size - at : 8);
    }
    return CFFI_OK;
}

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
    .classify = a64_classify,
    .sret_reg_offset = A64_FRAME_X8,
    .agg_spill_closes = 1,
    .entry = cffi_a64_entry,
    .frame_entry = NULL, /* frame closures run through cffi_dispatch */
    .call = cffi_a64_call,
};
