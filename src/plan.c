/*
 * plan.c - the one placement loop: given a convention's facts (cffi_abi), decide where each
 * argument of a signature lives (which register of which class, or which stack offset), where
 * the result comes back and how many stack bytes the callee pops.
 */
#include "internal.h"

#include <stdlib.h>

static bool is_floating(cffi_type t) { return t == CFFI_T_FLOAT || t == CFFI_T_DOUBLE; }

static size_t round_up(size_t n, size_t to) { return (n + to - 1) / to * to; }

/* The placement every convention but a few follows, from the abi's facts: fills
 * plan->args[0..n) and returns the bytes of stack arguments. */
static size_t place_by_facts(const cffi_abi *abi, const cffi_type *params, size_t n,
                             cffi_plan *plan) {
    size_t gpr_used = 0, fpr_used = 0, stack = 0;
    for (size_t i = 0; i < n; i++) {
        cffi_type t = params[i];
        size_t size = cffi_type_size(t);
        cffi_argloc *loc = &plan->args[i];
        loc->type = (uint8_t)t;
        /* Computed here once so cffi_call needs no division per argument: a register takes the
         * whole register, a stack argument whole stack slots; registers and slots are 4 or 8
         * bytes, and never more than the 8-byte slot value holds (beyond it is padding). */
        size_t width = size > abi->reg_size ? size : abi->reg_size;
        loc->width = width > 4 ? 8 : 4;
        if (abi->shared_slots) {
            /* One position counter for both classes: argument i takes slot i of its class. */
            size_t slot = gpr_used++;
            if (slot < (is_floating(t) ? abi->fpr_count : abi->gpr_count) &&
                (is_floating(t) || size <= abi->gpr_max_size)) {
                loc->offset = (uint16_t)((is_floating(t) ? abi->fpr_offset : abi->gpr_offset) +
                                         slot * abi->reg_size);
                continue;
            }
        } else if (is_floating(t)) {
            if (fpr_used < abi->fpr_count) {
                loc->offset = (uint16_t)(abi->fpr_offset + fpr_used++ * abi->reg_size);
                continue;
            }
        } else if (gpr_used < abi->gpr_count && size <= abi->gpr_max_size) {
            loc->offset = (uint16_t)(abi->gpr_offset + gpr_used++ * abi->reg_size);
            continue;
        } else if (abi->wide_uses_gprs && size > abi->gpr_max_size) {
            gpr_used += size / abi->reg_size; /* stays on the stack, but later ones may not use them */
        }
        loc->on_stack = 1;
        if (abi->stack_natural) {
            /* Packed at its own alignment. cffi_call's store of 4 or 8 bytes may run into the
             * next argument's bytes; that argument's own store, which comes later, replaces
             * them. */
            loc->offset = (uint16_t)round_up(stack, size);
            stack = loc->offset + size;
            continue;
        }
        /* Stack: each argument takes whole slots, in order, right after the previous one. */
        loc->offset = (uint16_t)stack;
        width = round_up(size, abi->stack_slot);
        loc->width = width > 4 ? 8 : 4;
        stack += round_up(size, abi->stack_slot);
    }
    return round_up(stack, abi->stack_slot);
}

cffi_status cffi_plan_build(const cffi_abi *abi, cffi_type ret, const cffi_type *params, size_t n,
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
    cffi_plan *plan = calloc(1, sizeof *plan + n * sizeof plan->args[0]);
    if (!plan) return CFFI_ENOMEM;

    plan->ret_type = (uint8_t)ret;
    size_t stack;
    if (abi->place) {
        abi->place(abi, ret, params, n, plan);
        stack = plan->stack_bytes;
    } else {
        stack = place_by_facts(abi, params, n, plan);
        plan->ret_offset = is_floating(ret) ? abi->ret_fp_offset : abi->ret_int_offset;
    }
    /* Naturally packed arguments' 4- or 8-byte stores may run up to 7 bytes past the area. */
    size_t limit = CFFI_CALL_STACK_BYTES - (abi->stack_natural ? 8 : 0);
    if (stack > limit) { /* only a type wider than 8 bytes could get here */
        cffi_errorf(errbuf, errlen, "%zu bytes of stack arguments, at most %zu are supported",
                    stack, limit);
        free(plan);
        return CFFI_EUNSUPPORTED;
    }
    plan->nparams = (uint8_t)n;
    plan->stack_bytes = (uint32_t)stack;
    plan->callee_pop = abi->callee_pops ? (uint32_t)stack : 0;
    if (abi->finish) abi->finish(abi, plan);
    *out = plan;
    return CFFI_OK;
}
