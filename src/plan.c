/*
 * plan.c - the one placement loop: given a convention's facts (cffi_abi), decide where each
 * argument of a signature lives (which register of which class, or which stack offset), where
 * the result comes back and how many stack bytes the callee pops.
 *
 * Aggregates go the way the convention's classify hook says (cffi_agg_class): in registers piece
 * by piece, by value on the stack, or by reference; a result in result registers or through a
 * hidden pointer argument. The pieces are recorded as parts, so dispatch and cffi_call move them
 * without knowing the convention.
 */
#include "agg.h"

#include <stdlib.h>

static bool is_floating(cffi_type t) { return t == CFFI_T_FLOAT || t == CFFI_T_DOUBLE; }

static size_t round_up(size_t n, size_t to) { return (n + to - 1) / to * to; }

/* The most bytes of aggregate copies one call may need (they live on the caller's stack). */
#define MAX_SCRATCH ((size_t)64 * 1024)

/* The state of one placement: registers and stack bytes used so far. */
typedef struct placer {
    const cffi_abi *abi;
    cffi_plan *plan;
    size_t gpr_used, fpr_used, stack, nparts;
} placer;

/* Scalar t (or the pointer of a by-reference aggregate) into loc. */
static void place_scalar(placer *pl, cffi_argloc *loc, cffi_type t) {
    const cffi_abi *abi = pl->abi;
    size_t size = cffi_type_size(t);
    /* Computed here once so cffi_call needs no division per argument: a register takes the
     * whole register, a stack argument whole stack slots; registers and slots are 4 or 8
     * bytes, and never more than the 8-byte slot value holds (beyond it is padding). */
    size_t width = size > abi->reg_size ? size : abi->reg_size;
    loc->width = width > 4 ? 8 : 4;
    if (abi->shared_slots) {
        /* One position counter for both classes: argument i takes slot i of its class. */
        size_t slot = pl->gpr_used++;
        if (slot < (is_floating(t) ? abi->fpr_count : abi->gpr_count) &&
            (is_floating(t) || size <= abi->gpr_max_size)) {
            loc->offset = (uint16_t)((is_floating(t) ? abi->fpr_offset : abi->gpr_offset) +
                                     slot * abi->reg_size);
            return;
        }
    } else if (is_floating(t)) {
        if (pl->fpr_used < abi->fpr_count) {
            loc->offset = (uint16_t)(abi->fpr_offset + pl->fpr_used++ * abi->reg_size);
            return;
        }
    } else if (pl->gpr_used < abi->gpr_count && size <= abi->gpr_max_size) {
        loc->offset = (uint16_t)(abi->gpr_offset + pl->gpr_used++ * abi->reg_size);
        return;
    } else if (abi->wide_uses_gprs && size > abi->gpr_max_size) {
        pl->gpr_used += size / abi->reg_size; /* on the stack, but later ones may not use them */
    }
    loc->on_stack = 1;
    if (abi->stack_natural) {
        /* Packed at its own alignment. cffi_call's store of 4 or 8 bytes may run into the
         * next argument's bytes; that argument's own store, which comes later, replaces
         * them. */
        loc->offset = (uint16_t)round_up(pl->stack, size);
        pl->stack = loc->offset + size;
        return;
    }
    /* Stack: each argument takes whole slots, in order, right after the previous one. */
    loc->offset = (uint16_t)pl->stack;
    width = round_up(size, abi->stack_slot);
    loc->width = width > 4 ? 8 : 4;
    pl->stack += round_up(size, abi->stack_slot);
}

static cffi_part *add_part(placer *pl, size_t offset, bool on_stack, size_t src, size_t size) {
    cffi_part *part = &pl->plan->parts[pl->nparts++];
    *part = (cffi_part){(uint16_t)offset, (uint16_t)src, (uint16_t)size, on_stack, 0};
    return part;
}

/* Aggregate agg, classified as cls, into loc. */
static void place_agg(placer *pl, cffi_argloc *loc, const cffi_agg *agg,
                      const cffi_agg_class *cls) {
    const cffi_abi *abi = pl->abi;
    if (cls->how == CFFI_PASS_REF) {
        place_scalar(pl, loc, CFFI_T_PTR);
        loc->agg = CFFI_AGG_REF;
        return;
    }
    loc->agg = CFFI_AGG_PARTS;
    loc->part = (uint16_t)pl->nparts;
    if (cls->how == CFFI_PASS_REGS) {
        size_t gprs = 0, fprs = 0;
        for (size_t k = 0; k < cls->npieces; k++) {
            if (cls->piece_class[k] == CFFI_CLASS_FPR) fprs++;
            else gprs++;
        }
        if (cls->even_gpr) pl->gpr_used += pl->gpr_used & 1;
        size_t slot = pl->gpr_used; /* shared slots: one position for the whole aggregate */
        bool fits = abi->shared_slots ? (pl->gpr_used++ < abi->gpr_count && cls->npieces == 1)
                                      : pl->gpr_used + gprs <= abi->gpr_count &&
                                            pl->fpr_used + fprs <= abi->fpr_count;
        if (fits) {
            for (size_t k = 0, src = 0; k < cls->npieces; src += cls->piece_size[k++]) {
                bool fp = cls->piece_class[k] == CFFI_CLASS_FPR;
                size_t reg = abi->shared_slots ? slot : fp ? pl->fpr_used++ : pl->gpr_used++;
                add_part(pl, (fp ? abi->fpr_offset : abi->gpr_offset) + reg * abi->reg_size,
                         false, src, cls->piece_size[k]);
            }
            pl->plan->parts[pl->nparts - 1].last = 1;
            return;
        }
        if (abi->agg_spill_closes) { /* no later argument of its classes takes a register */
            if (gprs) pl->gpr_used = abi->gpr_count;
            if (fprs) pl->fpr_used = abi->fpr_count;
        }
    }
    /* By value on the stack: whole slots, aligned as the type is up to 16 bytes, using up the
     * registers the convention says (GCC's i386 fastcall and thiscall). */
    pl->gpr_used += cls->uses_gprs;
    size_t align = agg->align >= 16 ? 16 : abi->stack_slot;
    pl->stack = round_up(pl->stack, align);
    add_part(pl, pl->stack, true, 0, agg->size)->last = 1;
    pl->stack += round_up(agg->size, abi->stack_slot);
}

/* Where an aggregate result of class cls comes back: result-register parts, or the hidden
 * pointer, which takes the first integer register or stack slot before any argument. */
static void place_agg_result(placer *pl, const cffi_agg_class *cls) {
    const cffi_abi *abi = pl->abi;
    cffi_plan *plan = pl->plan;
    if (cls->how == CFFI_PASS_X87) {
        plan->ret_how = CFFI_RET_X87;
        plan->ret_offset = abi->ret_x87_offset;
        return;
    }
    if (cls->how == CFFI_PASS_SRET) {
        plan->ret_how = CFFI_RET_SRET;
        plan->sret.type = CFFI_T_PTR;
        plan->sret.width = sizeof(void *) > 4 ? 8 : 4;
        if (abi->sret_reg_offset) {
            plan->sret.offset = abi->sret_reg_offset;
        } else if (abi->sret_in_gpr) {
            plan->sret.offset = abi->gpr_offset;
            pl->gpr_used = 1;
        } else {
            plan->sret.on_stack = 1;
            pl->stack = abi->stack_slot;
        }
        plan->ret_offset = abi->ret_int_offset; /* the pointer comes back there */
        return;
    }
    plan->ret_how = CFFI_RET_PARTS;
    plan->ret_part = (uint16_t)pl->nparts;
    size_t gprs = 0, fprs = 0; /* result registers of each class taken so far */
    for (size_t k = 0, src = 0; k < cls->npieces; src += cls->piece_size[k++]) {
        bool fp = cls->piece_class[k] == CFFI_CLASS_FPR;
        size_t reg = fp ? fprs++ : gprs++;
        add_part(pl, (fp ? abi->ret_fp_offset : abi->ret_int_offset) + reg * abi->reg_size, false,
                 src, cls->piece_size[k]);
    }
    plan->parts[pl->nparts - 1].last = 1;
}

/* Classify the aggregate of parameter i (i == n: the result) and check it can be carried. */
static cffi_status classify(const cffi_abi *abi, const cffi_agg *agg, size_t i, size_t n,
                            cffi_agg_class *cls, char *errbuf, size_t errlen) {
    const char *what = i == n ? "result" : "parameter";
    if (!abi->classify && agg == &cffi_ldouble_layout) {
        cffi_errorf(errbuf, errlen, "%s %zu: long double is not supported by the %s convention "
                    "on this target", what, i + 1, abi->name);
        return CFFI_EUNSUPPORTED;
    }
    if (!abi->classify) {
        cffi_errorf(errbuf, errlen, "%s %zu: a struct or union by value is not supported by "
                    "the %s convention on this target yet (pass a pointer)", what, i + 1,
                    abi->name);
        return CFFI_EUNSUPPORTED;
    }
    cffi_status s = abi->classify(abi, agg, i == n, cls, errbuf, errlen);
    if (s != CFFI_OK) return s;
    if (i < n && cls->how != CFFI_PASS_REF && agg->size > CFFI_CALL_STACK_BYTES) {
        cffi_errorf(errbuf, errlen, "parameter %zu: a %zu-byte aggregate by value; at most %d "
                    "bytes of stack arguments are supported", i + 1, agg->size,
                    CFFI_CALL_STACK_BYTES);
        return CFFI_EUNSUPPORTED;
    }
    return CFFI_OK;
}

/* Place every argument and the result; sets the plan's stack bytes. */
static cffi_status place_all(placer *pl, cffi_type ret, const cffi_agg *ret_agg,
                             const cffi_type *params, const cffi_agg *const *aggs, size_t n,
                             char *errbuf, size_t errlen) {
    const cffi_abi *abi = pl->abi;
    cffi_plan *plan = pl->plan;
    cffi_agg_class cls;
    if (ret == CFFI_T_AGG || ret == CFFI_T_LDOUBLE) {
        cffi_status s = classify(abi, ret_agg, n, n, &cls, errbuf, errlen);
        if (s != CFFI_OK) return s;
        place_agg_result(pl, &cls);
    } else {
        plan->ret_offset = is_floating(ret) ? abi->ret_fp_offset : abi->ret_int_offset;
    }
    for (size_t i = 0; i < n; i++) {
        cffi_argloc *loc = &plan->args[i];
        loc->type = (uint8_t)params[i];
        if (!aggs[i]) {
            place_scalar(pl, loc, params[i]);
            continue;
        }
        cffi_status s = classify(abi, aggs[i], i, n, &cls, errbuf, errlen);
        if (s != CFFI_OK) return s;
        place_agg(pl, loc, aggs[i], &cls);
    }
    plan->stack_bytes = (uint32_t)round_up(pl->stack, abi->stack_slot);
    return CFFI_OK;
}

cffi_status cffi_plan_build(const cffi_abi *abi, cffi_type ret, const cffi_agg *ret_agg,
                            const cffi_type *params, const cffi_agg *const *aggs, size_t n,
                            cffi_plan **out, char *errbuf, size_t errlen) {
    *out = NULL;
    if (n > CFFI_MAX_PARAMS) {
        cffi_errorf(errbuf, errlen, "%zu parameters, at most %d are supported", n,
                    CFFI_MAX_PARAMS);
        return CFFI_ETOOMANY;
    }
    if (abi->check) {
        cffi_status s = abi->check(abi, ret, params, n, errbuf, errlen);
        if (s != CFFI_OK) return s;
    }
    /* long double travels as an aggregate of its size does, or in st(0). */
    bool has_agg = ret == CFFI_T_AGG || ret == CFFI_T_LDOUBLE;
    for (size_t i = 0; i < n; i++)
        has_agg |= params[i] == CFFI_T_AGG || params[i] == CFFI_T_LDOUBLE;
    size_t max_parts = has_agg ? (n + 1) * CFFI_MAX_PIECES : 0;
    cffi_plan *plan = calloc(1, sizeof *plan + n * sizeof plan->args[0] +
                                    max_parts * sizeof(cffi_part) + n * sizeof(cffi_agg *));
    if (!plan) return CFFI_ENOMEM;
    plan->parts = (cffi_part *)&plan->args[n];
    plan->aggs = (const cffi_agg **)&plan->parts[max_parts];
    for (size_t i = 0; i < n; i++)
        plan->aggs[i] = params[i] == CFFI_T_AGG       ? aggs[i]
                        : params[i] == CFFI_T_LDOUBLE ? &cffi_ldouble_layout
                                                      : NULL;
    if (ret == CFFI_T_LDOUBLE) ret_agg = &cffi_ldouble_layout;
    plan->ret_type = (uint8_t)ret;
    plan->has_agg = has_agg;
    plan->ret_agg = ret_agg;
    /* Aggregate copies a call may need, 16-byte aligned each. */
    size_t scratch = ret_agg ? round_up(ret_agg->size, 16) : 0;
    for (size_t i = 0; i < n; i++)
        scratch += plan->aggs[i] ? round_up(plan->aggs[i]->size, 16) : 0;
    if (scratch > MAX_SCRATCH) {
        cffi_errorf(errbuf, errlen, "%zu bytes of aggregates by value in one call, at most %zu "
                    "are supported", scratch, MAX_SCRATCH);
        free(plan);
        return CFFI_EUNSUPPORTED;
    }
    plan->scratch = (uint32_t)scratch;
    cffi_status s = CFFI_OK;
    if (abi->place) {
        s = abi->place(abi, ret, params, n, plan, errbuf, errlen);
    } else {
        placer pl = {abi, plan, 0, 0, 0, 0};
        s = place_all(&pl, ret, ret_agg, params, plan->aggs, n, errbuf, errlen);
    }
    size_t stack = plan->stack_bytes;
    /* Naturally packed arguments' 4- or 8-byte stores may run up to 7 bytes past the area. */
    size_t limit = CFFI_CALL_STACK_BYTES - (abi->stack_natural ? 8 : 0);
    if (s == CFFI_OK && stack > limit) {
        cffi_errorf(errbuf, errlen, "%zu bytes of stack arguments, at most %zu are supported",
                    stack, limit);
        s = CFFI_EUNSUPPORTED;
    }
    if (s != CFFI_OK) {
        free(plan);
        return s;
    }
    plan->nparams = (uint8_t)n;
    plan->callee_pop = abi->callee_pops ? (uint32_t)stack : 0;
    if (plan->ret_how == CFFI_RET_SRET && plan->sret.on_stack && abi->sret_callee_pops &&
        !abi->callee_pops)
        plan->callee_pop = abi->stack_slot;
    if (abi->finish) abi->finish(abi, plan);
    *out = plan;
    return CFFI_OK;
}
