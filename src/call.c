/*
 * call.c - cffi_call: call any native function pointer through a signature. The signature's plan
 * (the same one closures use) says where each argument goes and how many bytes it takes; the
 * convention's call stub loads the registers from the filled register frame, copies the stack
 * area and makes the call. cffi_call_frame is the same call for a caller that filled the frame
 * and stack area itself.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#include "value.h"

/* Register frame and stack area are built from these, so both are 16-byte aligned whatever
 * their size, as call stubs that copy with vector moves may assume. Fixed sizes cost nothing to
 * set up (they are not cleared), where variable-length arrays cost stack arithmetic per call. */
typedef struct aligned_chunk {
    _Alignas(16) unsigned char bytes[16];
} aligned_chunk;

#define FRAME_CHUNKS (CFFI_CALL_FRAME_BYTES / 16)
#define STACK_CHUNKS ((CFFI_CALL_STACK_BYTES + 15) / 16)

/* The call stub loads every argument register from the frame, also the ones this signature leaves
 * unused: whatever they hold means nothing to the callee (no convention reads an unused argument
 * register; the sysv vector count in AL is a constant the stub sets). Clearing the frame cost
 * about a fifth of cffi_call. */
static inline void call_stub(const cffi_sig *sig, void *fn, void *frame, void *stack) {
    sig->abi->call(fn, frame, stack, sig->plan->stack_bytes);
}

/* Store the widened value of scalar type t from value into dst: the low width bytes of it. */
static inline void store_slot(unsigned char *dst, cffi_type t, uint8_t width, const void *value) {
    uint64_t slot = cffi_value_widen(t, value);
    /* Widths are 4 or 8 (registers and stack slots are at least 4 bytes): two fixed-size
     * stores, not a copy of a run-time length. */
    if (width == 8) {
        memcpy(dst, &slot, 8);
    } else {
        uint32_t low = (uint32_t)slot;
        memcpy(dst, &low, 4);
    }
}

/* A floating variadic argument in a register goes in its position's integer register too: the
 * arguments from first on, which are variadic, under abi (win64). */
static void duplicate_fp_in_gprs(const cffi_abi *abi, const cffi_plan *plan, size_t first,
                                 unsigned char *frame) {
    for (size_t i = first; i < plan->nparams; i++) {
        const cffi_argloc *loc = &plan->args[i];
        if (loc->on_stack || loc->type != CFFI_T_DOUBLE) continue;
        size_t slot = (size_t)(loc->offset - abi->fpr_offset) / abi->reg_size;
        memcpy(frame + abi->gpr_offset + slot * abi->reg_size, frame + loc->offset, 8);
    }
}

/* What call_planned needs beyond the plan. */
typedef struct call_setup {
    const cffi_agg *const *aggs; /* the layout of each aggregate argument */
    const cffi_abi *abi;         /* the convention the plan follows: its call stub */
    size_t first_variadic;       /* index of the first variadic argument (nparams if none) */
} call_setup;

/* cffi_call by a plan with aggregates, or for a variadic call: pieces copied into their
 * registers and stack slots, by-reference ones copied into scratch first (the callee may change
 * its copy), and the result taken from the result registers or written by the callee through the
 * hidden pointer. */
static void call_planned(const cffi_plan *plan, const call_setup *setup, void *fn, void *ret,
                         void *const *args, unsigned char *frame, unsigned char *stack,
                         unsigned char *scratch) {
    const cffi_agg *const *aggs = setup->aggs;
    for (size_t i = 0, n = plan->nparams; i < n; i++) {
        const cffi_argloc *loc = &plan->args[i];
        unsigned char *dst = (loc->on_stack ? stack : frame) + loc->offset;
        if (loc->agg == CFFI_AGG_NONE) {
            store_slot(dst, (cffi_type)loc->type, loc->width, args[i]);
        } else if (loc->agg == CFFI_AGG_REF) {
            size_t size = aggs[i]->size;
            memcpy(scratch, args[i], size);
            void *copy = scratch;
            store_slot(dst, CFFI_T_PTR, loc->width, &copy);
            scratch += (size + 15) / 16 * 16;
        } else {
            for (const cffi_part *part = &plan->parts[loc->part];; part++) {
                memcpy((part->on_stack ? stack : frame) + part->offset,
                       (const unsigned char *)args[i] + part->src, part->size);
                if (part->last) break;
            }
        }
    }
    if (setup->abi->variadic_fp_in_gprs)
        duplicate_fp_in_gprs(setup->abi, plan, setup->first_variadic, frame);
    void *result = ret;
    if (plan->ret_how == CFFI_RET_SRET) {
        if (!result) result = scratch; /* the callee writes the result somewhere in any case */
        store_slot((plan->sret.on_stack ? stack : frame) + plan->sret.offset, CFFI_T_PTR,
                   plan->sret.width, &result);
    }
    cffi_call_stub stub = plan->ret_how == CFFI_RET_X87 && setup->abi->call_x87
                              ? setup->abi->call_x87
                              : setup->abi->call;
    stub(fn, frame, stack, plan->stack_bytes);
    if (!ret || plan->ret_how == CFFI_RET_SRET || plan->ret_type == CFFI_T_VOID) return;
    if (plan->ret_how == CFFI_RET_X87) { /* the call stub stored st(0) there: 10 bytes */
        enum { X87_BYTES = 10, PADDING = sizeof(long double) > 10 ? sizeof(long double) - 10 : 0 };
        memcpy(ret, frame + plan->ret_offset, X87_BYTES);
        memset((unsigned char *)ret + X87_BYTES, 0, PADDING); /* not stack bytes */
        return;
    }
    if (plan->ret_how == CFFI_RET_PARTS) {
        for (const cffi_part *part = &plan->parts[plan->ret_part];; part++) {
            memcpy((unsigned char *)ret + part->src, frame + part->offset, part->size);
            if (part->last) break;
        }
        return;
    }
    uint64_t slot;
    memcpy(&slot, frame + plan->ret_offset, sizeof slot);
    cffi_value_narrow((cffi_type)plan->ret_type, slot, ret);
}

/* The frame, stack area and scratch for call_planned. */
static __attribute__((noinline)) void call_agg_alloc(const cffi_sig *sig, void *fn, void *ret,
                                                     void *const *args) {
    aligned_chunk frame_chunks[FRAME_CHUNKS], stack_chunks[STACK_CHUNKS];
    aligned_chunk scratch[sig->plan->scratch / 16 + 1];
    call_setup setup = {sig->plan->aggs, sig->call_abi, sig->nparams};
    call_planned(sig->plan, &setup, fn, ret, args, frame_chunks->bytes, stack_chunks->bytes,
                 scratch->bytes);
}

cffi_status cffi_call(const cffi_sig *sig, void *fn, void *ret, void *const *args) {
    if (!sig || !fn || (!args && sig->nparams > 0)) return CFFI_EINVAL;
    const cffi_plan *plan = sig->plan;
    if (sig->abi->frame_size > CFFI_CALL_FRAME_BYTES) return CFFI_EUNSUPPORTED;
    if (plan->has_agg || sig->variadic) {
        call_agg_alloc(sig, fn, ret, args);
        return CFFI_OK;
    }
    aligned_chunk frame_chunks[FRAME_CHUNKS], stack_chunks[STACK_CHUNKS];
    unsigned char *frame = frame_chunks->bytes, *stack = stack_chunks->bytes;
    for (size_t i = 0, n = plan->nparams; i < n; i++) {
        const cffi_argloc *loc = &plan->args[i];
        store_slot((loc->on_stack ? stack : frame) + loc->offset, (cffi_type)loc->type,
                   loc->width, args[i]);
    }
    call_stub(sig, fn, frame, stack);
    if (ret && plan->ret_type != CFFI_T_VOID) {
        uint64_t slot;
        memcpy(&slot, frame + plan->ret_offset, sizeof slot);
        cffi_value_narrow((cffi_type)plan->ret_type, slot, ret);
    }
    return CFFI_OK;
}

cffi_status cffi_call_frame(const cffi_sig *sig, void *fn, void *frame, void *stack) {
    if (!sig || !fn || !frame || (!stack && sig->plan->stack_bytes > 0)) return CFFI_EINVAL;
    if (sig->plan->has_agg) return CFFI_EUNSUPPORTED; /* the caller cannot place aggregates */
    if (sig->abi->frame_size > CFFI_CALL_FRAME_BYTES) return CFFI_EUNSUPPORTED;
    call_stub(sig, fn, frame, stack);
    return CFFI_OK;
}

/* ---------------------------------------------------------------------------------------------
 * Variadic calls: a plan for this call's arguments, made per call (variadic calls are printf and
 * friends, not inner loops).
 */

/* The type a variadic argument of type t is passed as: C's default argument promotions. */
static cffi_type promoted(cffi_type t) {
    switch (t) {
    case CFFI_T_BOOL: case CFFI_T_INT8: case CFFI_T_UINT8: case CFFI_T_INT16: case CFFI_T_UINT16:
        return CFFI_T_INT32;
    case CFFI_T_FLOAT: return CFFI_T_DOUBLE;
    default: return t;
    }
}

static void call_variadic(const cffi_sig *sig, const cffi_plan *plan, void *fn, void *ret,
                          void *const *args, const cffi_agg *const *aggs) {
    aligned_chunk frame_chunks[FRAME_CHUNKS], stack_chunks[STACK_CHUNKS];
    aligned_chunk scratch[plan->scratch / 16 + 1];
    call_setup setup = {aggs, sig->call_abi, sig->nparams};
    call_planned(plan, &setup, fn, ret, args, frame_chunks->bytes, stack_chunks->bytes,
                 scratch->bytes);
}

cffi_status cffi_call_variadic(const cffi_sig *sig, void *fn, void *ret, void *const *args,
                               size_t nextra, const cffi_type *extra_types) {
    if (!sig || !fn || (!args && sig->nparams + nextra > 0) || (nextra && !extra_types))
        return CFFI_EINVAL;
    if (!sig->variadic) return nextra ? CFFI_EINVAL : cffi_call(sig, fn, ret, args);
    size_t nfixed = sig->nparams, n = nfixed + nextra;
    if (n > CFFI_MAX_PARAMS) return CFFI_ETOOMANY;
    cffi_type types[CFFI_MAX_PARAMS];
    const cffi_agg *aggs[CFFI_MAX_PARAMS];
    void *values[CFFI_MAX_PARAMS];
    uint64_t promoted_values[CFFI_MAX_PARAMS];
    for (size_t i = 0; i < nfixed; i++) {
        types[i] = sig->params[i];
        aggs[i] = sig->param_aggs[i];
        values[i] = args[i];
    }
    for (size_t k = 0; k < nextra; k++) {
        cffi_type t = extra_types[k];
        if (t == CFFI_T_VOID || t == CFFI_T_AGG || (unsigned)t >= CFFI_T_COUNT) return CFFI_EINVAL;
        size_t i = nfixed + k;
        types[i] = promoted(t);
        aggs[i] = NULL;
        if (t == CFFI_T_LDOUBLE) { /* passed as it is: no 64-bit slot holds it */
            values[i] = args[i];
            continue;
        }
        if (t == CFFI_T_FLOAT) {
            float f;
            memcpy(&f, args[i], sizeof f);
            double d = f;
            memcpy(&promoted_values[k], &d, sizeof d);
        } else {
            promoted_values[k] = cffi_value_widen(t, args[i]); /* low bytes: the int value */
        }
        values[i] = &promoted_values[k];
    }
    cffi_plan *plan;
    cffi_status s = cffi_plan_build(sig->call_abi, sig->result, sig->result_agg, types, aggs, n,
                                    &plan, NULL, 0);
    if (s != CFFI_OK) return s;
    call_variadic(sig, plan, fn, ret, values, plan->aggs);
    free(plan);
    return CFFI_OK;
}
