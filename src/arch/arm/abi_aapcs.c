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
 * pops.
 *
 * Aggregates: under aapcs_vfp a homogeneous floating aggregate (1-4 floats or 1-4 doubles) takes
 * the lowest run of that many free VFP registers, else goes on the stack and no later floating
 * value takes a VFP register. Any other struct or union (and an HFA under aapcs) takes core
 * registers a word at a time (from an even one if 8-byte aligned), split between the last free
 * core registers and the stack while nothing is on the stack yet, else goes on the stack whole.
 * Results: an HFA in s0-s3/d0-d3 (aapcs_vfp), up to 4 bytes in r0, anything else written through
 * a hidden pointer passed in r0 (the arguments move on one register).
 */
#include "agg.h"

#include "frame.h"

_Static_assert(offsetof(cffi_closure, entry) == 0, "abi_aapcs.c: thunks load the entry first");

static bool is_floating(cffi_type t) { return t == CFFI_T_FLOAT || t == CFFI_T_DOUBLE; }

/* One placement: core registers (ncrn), single-precision VFP registers still free (a bit each),
 * the stack (nsaa), parts written so far. */
typedef struct aapcs_state {
    const cffi_abi *abi;
    cffi_plan *plan;
    bool vfp;
    unsigned ncrn;
    uint32_t s_free;
    size_t nsaa, nparts;
} aapcs_state;

/* The lowest free run of `count` VFP registers of `size` bytes each (a double an aligned pair of
 * singles): its first single, or -1. */
static int vfp_run(const aapcs_state *st, size_t count, size_t size) {
    unsigned step = size == 8 ? 2 : 1;
    uint32_t need = (uint32_t)((1u << (count * step)) - 1);
    for (unsigned s = 0; s + count * step <= 16; s += step)
        if ((st->s_free >> s & need) == need) return (int)s;
    return -1;
}

/* Scalar t into loc (the rules of the header comment). */
static void place_scalar(aapcs_state *st, cffi_argloc *loc, cffi_type t) {
    const cffi_abi *abi = st->abi;
    size_t size = cffi_type_size(t) > 4 ? 8 : 4;
    loc->width = (uint8_t)size;
    if (st->vfp && is_floating(t)) {
        int s = vfp_run(st, 1, size);
        if (s >= 0) {
            st->s_free &= ~((size == 8 ? 3u : 1u) << s);
            loc->offset = (uint16_t)(abi->fpr_offset + 4 * s);
            return;
        }
        st->s_free = 0; /* on the stack: no later floating value back-fills a register */
    } else if (size == 8) {
        st->ncrn += st->ncrn & 1; /* an even-odd pair */
        if (st->ncrn <= 2) {
            loc->offset = (uint16_t)(abi->gpr_offset + 4 * st->ncrn);
            st->ncrn += 2;
            return;
        }
        st->ncrn = 4;
    } else if (st->ncrn < 4) {
        loc->offset = (uint16_t)(abi->gpr_offset + 4 * st->ncrn++);
        return;
    } else {
        st->ncrn = 4;
    }
    st->nsaa = (st->nsaa + size - 1) / size * size; /* 8-byte values 8-aligned */
    loc->on_stack = 1;
    loc->offset = (uint16_t)st->nsaa;
    st->nsaa += size;
}

static void add_part(aapcs_state *st, size_t offset, bool on_stack, size_t src, size_t size) {
    st->plan->parts[st->nparts++] = (cffi_part){(uint16_t)offset, (uint16_t)src, (uint16_t)size,
                                                on_stack, 0};
}

/* The members of agg if it is a homogeneous floating aggregate (1-4 floats or 1-4 doubles, as
 * AAPCS's VFP co-processor candidates), with their type in *base; else 0. */
static size_t hfa_members(const cffi_agg *agg, cffi_type *base) {
    size_t total = 0;
    for (size_t i = 0; i < agg->nfields; i++) {
        const cffi_field *f = &agg->fields[i];
        size_t one = f->type == CFFI_T_AGG ? hfa_members(f->agg, base)
                     : is_floating(f->type) && (*base == CFFI_T_VOID || *base == f->type)
                         ? (*base = f->type, 1)
                         : 0;
        if (!one) return 0;
        one *= f->count ? f->count : 1;
        total = agg->is_union ? (one > total ? one : total) : total + one;
    }
    if (!total || total > 4 || agg->size != total * cffi_type_size(*base)) return 0;
    return total;
}

/* Aggregate agg into loc: an HFA in VFP registers (aapcs_vfp), else in core registers, split
 * between r3 and the stack while nothing is on the stack yet, or on the stack. */
static void place_composite(aapcs_state *st, cffi_argloc *loc, const cffi_agg *agg) {
    const cffi_abi *abi = st->abi;
    loc->agg = CFFI_AGG_PARTS;
    loc->part = (uint16_t)st->nparts;
    cffi_type base = CFFI_T_VOID;
    size_t members = st->vfp ? hfa_members(agg, &base) : 0, align8 = agg->align >= 8;
    if (members) {
        size_t size = cffi_type_size(base);
        int s = vfp_run(st, members, size);
        if (s >= 0) {
            for (size_t k = 0; k < members; k++)
                add_part(st, abi->fpr_offset + 4 * (size_t)s + k * size, false, k * size, size);
            st->s_free &= ~((uint32_t)((1u << (members * size / 4)) - 1) << s);
            st->plan->parts[st->nparts - 1].last = 1;
            return;
        }
        st->s_free = 0; /* on the stack: no later floating value takes a VFP register */
    } else {
        size_t words = (agg->size + 3) / 4;
        if (align8) st->ncrn += st->ncrn & 1;
        if (st->ncrn < 4 && (st->ncrn + words <= 4 || st->nsaa == 0)) {
            size_t in_regs = 4 - st->ncrn < words ? 4 - st->ncrn : words;
            for (size_t k = 0; k < in_regs; k++) {
                size_t src = 4 * k, left = agg->size - src;
                add_part(st, abi->gpr_offset + 4 * (st->ncrn + k), false, src, left < 4 ? left : 4);
            }
            st->ncrn += in_regs;
            if (in_regs < words) { /* the rest on the stack, from its start */
                add_part(st, 0, true, 4 * in_regs, agg->size - 4 * in_regs);
                st->nsaa = (words - in_regs) * 4;
            }
            st->plan->parts[st->nparts - 1].last = 1;
            return;
        }
        st->ncrn = 4;
    }
    if (align8 || members) st->nsaa = (st->nsaa + (align8 ? 7 : 3)) & ~(size_t)(align8 ? 7 : 3);
    add_part(st, st->nsaa, true, 0, agg->size);
    st->plan->parts[st->nparts - 1].last = 1;
    st->nsaa += (agg->size + 3) / 4 * 4;
}

/* Where an aggregate result comes back: an HFA in s0-s3/d0-d3 (aapcs_vfp), up to 4 bytes in r0,
 * anything else through a hidden pointer in r0. */
static void place_composite_result(aapcs_state *st, const cffi_agg *agg) {
    const cffi_abi *abi = st->abi;
    cffi_plan *plan = st->plan;
    cffi_type base = CFFI_T_VOID;
    size_t members = st->vfp ? hfa_members(agg, &base) : 0;
    plan->ret_part = (uint16_t)st->nparts;
    if (members || agg->size <= 4) {
        plan->ret_how = CFFI_RET_PARTS;
        size_t size = members ? cffi_type_size(base) : agg->size;
        for (size_t k = 0; k < (members ? members : 1); k++)
            add_part(st, (members ? abi->ret_fp_offset : abi->ret_int_offset) + k * size, false,
                     k * size, size);
        plan->parts[st->nparts - 1].last = 1;
        return;
    }
    plan->ret_how = CFFI_RET_SRET;
    plan->sret = (cffi_argloc){.offset = (uint16_t)abi->gpr_offset, .type = CFFI_T_PTR, .width = 4};
    plan->ret_offset = abi->ret_int_offset;
    st->ncrn = 1;
}

static cffi_status place(const cffi_abi *abi, cffi_type ret, const cffi_type *params, size_t n,
                         cffi_plan *plan, char *errbuf, size_t errlen) {
    (void)errbuf, (void)errlen;
    aapcs_state st = {abi, plan, abi->fpr_count > 0, 0, abi->fpr_count > 0 ? 0xffffu : 0, 0, 0};
    if (plan->ret_agg) place_composite_result(&st, plan->ret_agg);
    else plan->ret_offset = st.vfp && is_floating(ret) ? abi->ret_fp_offset : abi->ret_int_offset;
    for (size_t i = 0; i < n; i++) {
        cffi_argloc *loc = &plan->args[i];
        loc->type = (uint8_t)params[i];
        if (plan->aggs[i]) place_composite(&st, loc, plan->aggs[i]);
        else place_scalar(&st, loc, params[i]);
    }
    plan->stack_bytes = (uint32_t)((st.nsaa + 3) & ~(size_t)3);
    return CFFI_OK;
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
