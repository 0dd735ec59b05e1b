/*
 * closure.c - generic closures: creation and lifetime of a closure record, and cffi_dispatch, the
 * C half of every call through a closure.
 *
 * A call arrives as: thunk (loads the record, jumps) -> the convention's entry stub (spills the
 * argument registers into the register frame) -> cffi_dispatch -> the handler. The plan, computed
 * once per signature, says where each argument sits, so dispatch does no allocation, no locking
 * and no lookup.
 */
#include "internal.h"

#include <string.h>

#include "value.h"

/* Up to this many parameters the argument pointer array is a fixed local array; larger
 * signatures use a variable-length one (a VLA cannot be empty, and fixed arrays are cheaper). */
#define DISPATCH_FIXED_ARGS 16

/* Both kinds of closure: fn is a cffi_handler, or a cffi_frame_handler stored in the same field
 * (is_frame says which; a handler is only ever called as its own kind). */
static cffi_status closure_new(const cffi_sig *sig, cffi_handler fn, bool is_frame, void *ctx,
                               cffi_closure **out) {
    if (!out) return CFFI_EINVAL;
    *out = NULL;
    if (!sig || !fn) return CFFI_EINVAL;
    /* A frame handler reads scalar slots; aggregates need the dispatcher's copies. A variadic
     * callee cannot know what it was passed. */
    if (sig->closures != CFFI_CLOSURES_ANY &&
        (is_frame || sig->closures == CFFI_CLOSURES_NONE))
        return CFFI_EUNSUPPORTED;
    cffi_closure *c;
    cffi_status s = cffi_slot_acquire(&c);
    if (s != CFFI_OK) return s;
    const void *frame_entry = sig->abi->frame_entry;
    c->entry = is_frame && frame_entry ? frame_entry : sig->entry;
    c->plan = sig->plan;
    c->ctx = ctx;
    c->sig = cffi_sig_ref((cffi_sig *)sig); /* the API takes const; references are internal state */
    c->dead_value = 0;
    c->is_frame = is_frame;
    /* Last, with release: a thread that sees the handler also sees the fields above. */
    atomic_store_explicit(&c->handler, fn, memory_order_release);
    *out = c;
    return CFFI_OK;
}

cffi_status cffi_closure_new(const cffi_sig *sig, cffi_handler fn, void *ctx, cffi_closure **out) {
    return closure_new(sig, fn, false, ctx, out);
}

cffi_status cffi_closure_new_frame(const cffi_sig *sig, cffi_frame_handler fn, void *ctx,
                                   cffi_closure **out) {
    return closure_new(sig, (cffi_handler)(void (*)(void))fn, true, ctx, out);
}

void *cffi_closure_code(const cffi_closure *c) { return c ? c->code : NULL; }

const cffi_sig *cffi_closure_sig(const cffi_closure *c) { return c ? c->sig : NULL; }

void cffi_closure_set(cffi_closure *c, cffi_handler fn, void *ctx) {
    if (!c || !fn || c->is_frame) return;
    c->ctx = ctx;
    atomic_store_explicit(&c->handler, fn, memory_order_release);
}

void cffi_closure_set_frame(cffi_closure *c, cffi_frame_handler fn, void *ctx) {
    if (!c || !fn || !c->is_frame) return;
    c->ctx = ctx;
    atomic_store_explicit(&c->handler, (cffi_handler)(void (*)(void))fn, memory_order_release);
}

void cffi_closure_set_default(cffi_closure *c, const void *value) {
    if (!c) return;
    uint64_t v = 0;
    if (value) {
        /* Fixed sizes: a memcpy of a run-time length would be a library call on the free path. */
        switch (cffi_type_size(c->sig->result)) {
        case 1: memcpy(&v, value, 1); break;
        case 2: memcpy(&v, value, 2); break;
        case 4: memcpy(&v, value, 4); break;
        case 8: memcpy(&v, value, 8); break;
        default: break; /* void: nothing to return */
        }
    }
    c->dead_value = v;
}

void cffi_closure_free(cffi_closure *c) {
    if (!c) return;
    /* The dead trap finds its record through ctx. ctx goes first, so a call that sees the dead
     * handler (acquire in dispatch) also sees ctx pointing at the record. A call racing with
     * free on another thread is the caller's race (see cffi.h). */
    c->ctx = c;
    cffi_handler dead = c->is_frame ? (cffi_handler)(void (*)(void))cffi_dead_frame_handler
                                    : cffi_dead_handler;
    atomic_store_explicit(&c->handler, dead, memory_order_release);
    cffi_slot_release(c); /* keeps c->sig referenced until the slot is reused */
}

void cffi_frame_set_result(const cffi_sig *sig, void *frame, const void *value) {
    if (!sig || !frame || !value || sig->result == CFFI_T_VOID || sig->result == CFFI_T_AGG)
        return;
    uint64_t slot = cffi_value_widen(sig->result, value);
    memcpy((unsigned char *)frame + sig->plan->ret_offset, &slot, sizeof slot);
}

/* Point args[i] at each argument where the entry stub or the caller left it, run the handler and
 * store its widened result where the entry stub loads the result registers from. */
static inline void dispatch_with(cffi_closure *c, const cffi_plan *plan, unsigned char *frame,
                                 unsigned char *stack, void **args) {
    /* Indexed by on_stack (0 or 1): a load, where choosing between the two is a test and a
     * conditional move per argument. */
    unsigned char *const base[2] = {frame, stack};
    for (size_t i = 0, n = plan->nparams; i < n; i++) {
        const cffi_argloc *loc = &plan->args[i];
        /* A narrow value sits in the low bytes of its (little-endian) slot: point right at it. */
        args[i] = base[loc->on_stack] + loc->offset;
    }
    _Alignas(16) uint64_t result = 0; /* zero: a handler that leaves it unset returns 0 */
    cffi_handler handler = atomic_load_explicit(&c->handler, memory_order_acquire);
    handler(c->ctx, &result, args);
    if (plan->ret_type != CFFI_T_VOID) {
        uint64_t slot = cffi_value_widen((cffi_type)plan->ret_type, &result);
        memcpy(frame + plan->ret_offset, &slot, sizeof slot);
    }
}

/* The address an argument slot holds (a by-reference aggregate, a hidden result pointer). */
static void *slot_pointer(const unsigned char *slot) {
    uintptr_t p;
    memcpy(&p, slot, sizeof p);
    return (void *)p;
}

/* dispatch_with for a signature with aggregates: an aggregate split over registers (or over
 * registers and the stack) is put together in scratch, one passed by reference is used where
 * it is, one whole on the stack is pointed at; the result is filled in where the caller wants
 * it (the hidden pointer) or scattered into the result registers. */
static void dispatch_agg(cffi_closure *c, const cffi_plan *plan, unsigned char *frame,
                         unsigned char *stack, void **args, unsigned char *scratch) {
    const cffi_agg *const *aggs = plan->aggs;
    for (size_t i = 0; i < plan->nparams; i++) {
        const cffi_argloc *loc = &plan->args[i];
        unsigned char *slot = (loc->on_stack ? stack : frame) + loc->offset;
        if (loc->agg == CFFI_AGG_NONE) {
            args[i] = slot;
        } else if (loc->agg == CFFI_AGG_REF) {
            args[i] = slot_pointer(slot);
        } else {
            const cffi_part *part = &plan->parts[loc->part];
            if (part->last && part->on_stack) { /* whole, in place */
                args[i] = stack + part->offset;
                continue;
            }
            for (;; part++) {
                memcpy(scratch + part->src, (part->on_stack ? stack : frame) + part->offset,
                       part->size);
                if (part->last) break;
            }
            args[i] = scratch;
            scratch += (aggs[i]->size + 15) / 16 * 16;
        }
    }
    const cffi_agg *ret_agg = plan->ret_agg;
    void *result = plan->ret_how == CFFI_RET_SRET
                       ? slot_pointer((plan->sret.on_stack ? stack : frame) + plan->sret.offset)
                       : scratch;
    if (ret_agg) memset(result, 0, ret_agg->size); /* a handler that leaves it unset returns 0 */
    else memset(scratch, 0, 16);
    cffi_handler handler = atomic_load_explicit(&c->handler, memory_order_acquire);
    handler(c->ctx, result, args);
    if (plan->ret_how == CFFI_RET_SRET) { /* the hidden pointer comes back as the result */
        uint64_t slot = (uint64_t)(uintptr_t)result;
        memcpy(frame + plan->ret_offset, &slot, sizeof slot);
    } else if (plan->ret_how == CFFI_RET_X87) { /* the entry stub loads it into st(0) */
        memcpy(frame + plan->ret_offset, result, sizeof(long double));
    } else if (plan->ret_how == CFFI_RET_PARTS) {
        for (const cffi_part *part = &plan->parts[plan->ret_part];; part++) {
            memcpy(frame + part->offset, (unsigned char *)result + part->src, part->size);
            if (part->last) break;
        }
    } else if (plan->ret_type != CFFI_T_VOID) {
        uint64_t slot = cffi_value_widen((cffi_type)plan->ret_type, result);
        memcpy(frame + plan->ret_offset, &slot, sizeof slot);
    }
}

/* Scratch for dispatch_agg, sized by the plan, and the argument pointers. Apart from the
 * scalar path so that its frame stays small. */
static __attribute__((noinline)) void dispatch_agg_alloc(cffi_closure *c, const cffi_plan *plan,
                                                         void *frame, void *stack) {
    size_t chunks = plan->scratch / 16 + 1; /* + 1: scalar results and a zero-size VLA */
    _Alignas(16) uint64_t scratch[chunks * 2];
    void *args[plan->nparams + 1];
    dispatch_agg(c, plan, frame, stack, args, (unsigned char *)scratch);
}

CFFI_DISPATCH_ABI uintptr_t cffi_dispatch(cffi_closure *c, void *frame, void *stack) {
    const cffi_plan *plan = c->plan;
    if (c->is_frame) {
        /* Targets without a frame entry stub come here. is_frame never changes while the
         * closure lives, so the handler loaded below is of the frame kind. */
        cffi_handler h = atomic_load_explicit(&c->handler, memory_order_acquire);
        if (plan->ret_type != CFFI_T_VOID) /* a handler that stores nothing returns 0 */
            memset((unsigned char *)frame + plan->ret_offset, 0, sizeof(uint64_t));
        ((cffi_frame_handler)(void (*)(void))h)(c->ctx, frame, stack);
        return plan->stub_word;
    }
    if (plan->has_agg) {
        dispatch_agg_alloc(c, plan, frame, stack);
        return plan->stub_word;
    }
    if (plan->nparams <= DISPATCH_FIXED_ARGS) {
        void *args[DISPATCH_FIXED_ARGS];
        dispatch_with(c, plan, frame, stack, args);
    } else {
        void *args[plan->nparams];
        dispatch_with(c, plan, frame, stack, args);
    }
    return plan->stub_word;
}
