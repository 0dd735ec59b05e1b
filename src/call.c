/*
 * call.c - cffi_call: call any native function pointer through a signature. The signature's plan
 * (the same one closures use) says where each argument goes and how many bytes it takes; the
 * convention's call stub loads the registers from the filled register frame, copies the stack
 * area and makes the call. cffi_call_frame is the same call for a caller that filled the frame
 * and stack area itself.
 */
#include "internal.h"

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

/* cffi_call for a signature with aggregates: pieces copied into their registers and stack
 * slots, by-reference ones copied into scratch first (the callee may change its copy), and the
 * result taken from the result registers or written by the callee through the hidden pointer. */
static void call_agg(const cffi_sig *sig, void *fn, void *ret, void *const *args,
                     unsigned char *frame, unsigned char *stack, unsigned char *scratch) {
    const cffi_plan *plan = sig->plan;
    for (size_t i = 0, n = plan->nparams; i < n; i++) {
        const cffi_argloc *loc = &plan->args[i];
        unsigned char *dst = (loc->on_stack ? stack : frame) + loc->offset;
        if (loc->agg == CFFI_AGG_NONE) {
            store_slot(dst, (cffi_type)loc->type, loc->width, args[i]);
        } else if (loc->agg == CFFI_AGG_REF) {
            size_t size = sig->param_aggs[i]->size;
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
    void *result = ret;
    if (plan->ret_how == CFFI_RET_SRET) {
        if (!result) result = scratch; /* the callee writes the result somewhere in any case */
        store_slot((plan->sret.on_stack ? stack : frame) + plan->sret.offset, CFFI_T_PTR,
                   plan->sret.width, &result);
    }
    sig->abi->call(fn, frame, stack, plan->stack_bytes);
    if (!ret || plan->ret_how == CFFI_RET_SRET || plan->ret_type == CFFI_T_VOID) return;
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

/* The frame, stack area and scratch for call_agg. */
static __attribute__((noinline)) void call_agg_alloc(const cffi_sig *sig, void *fn, void *ret,
                                                     void *const *args) {
    aligned_chunk frame_chunks[FRAME_CHUNKS], stack_chunks[STACK_CHUNKS];
    aligned_chunk scratch[sig->plan->scratch / 16 + 1];
    call_agg(sig, fn, ret, args, frame_chunks->bytes, stack_chunks->bytes, scratch->bytes);
}

cffi_status cffi_call(const cffi_sig *sig, void *fn, void *ret, void *const *args) {
    if (!sig || !fn || (!args && sig->nparams > 0)) return CFFI_EINVAL;
    const cffi_plan *plan = sig->plan;
    if (sig->abi->frame_size > CFFI_CALL_FRAME_BYTES) return CFFI_EUNSUPPORTED;
    if (plan->has_agg) {
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
