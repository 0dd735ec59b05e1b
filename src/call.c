/*
 * call.c - cffi_call: call any native function pointer through a signature. The signature's plan
 * (the same one closures use) says where each argument goes and how many bytes it takes; the
 * convention's call stub loads the registers from the filled register frame, copies the stack
 * area and makes the call.
 */
#include "internal.h"

#include <string.h>

#include "value.h"

/* Register frame and stack area are built from these, so both are 16-byte aligned whatever
 * their size, as call stubs that copy with vector moves may assume. */
typedef struct aligned_chunk {
    _Alignas(16) unsigned char bytes[16];
} aligned_chunk;

/* Fixed sizes cost nothing to set up, where variable-length arrays cost stack arithmetic on every
 * call. CALL_FRAME_CHUNKS covers the largest register frame of any target (x86-64: 144 bytes; a
 * target with a larger one gets CFFI_EUNSUPPORTED from every call, which its tests catch); the
 * stack arguments of most signatures fit CALL_STACK_CHUNKS, larger areas take a VLA. */
#define CALL_FRAME_CHUNKS 9
#define CALL_STACK_CHUNKS 8

static inline void call_with(const cffi_plan *plan, const cffi_abi *abi, void *fn, void *ret,
                             void *const *args, unsigned char *stack) {
    /* Not cleared: the stub also loads the argument registers this signature leaves unused, and
     * whatever they hold means nothing to the callee (no convention reads an unused argument
     * register; the sysv vector count in AL is a constant the stub sets). Clearing the frame
     * cost about a fifth of this function. */
    aligned_chunk frame_chunks[CALL_FRAME_CHUNKS];
    unsigned char *frame = frame_chunks->bytes;
    for (size_t i = 0, n = plan->nparams; i < n; i++) {
        const cffi_argloc *loc = &plan->args[i];
        uint64_t slot = cffi_value_widen((cffi_type)loc->type, args[i]);
        unsigned char *dst = (loc->on_stack ? stack : frame) + loc->offset;
        /* Widths are 4 or 8 (registers and stack slots are at least 4 bytes): two fixed-size
         * stores, not a copy of a run-time length. */
        if (loc->width == 8) {
            memcpy(dst, &slot, 8);
        } else {
            uint32_t low = (uint32_t)slot;
            memcpy(dst, &low, 4);
        }
    }
    abi->call(fn, frame, stack, plan->stack_bytes);
    if (ret && plan->ret_type != CFFI_T_VOID) {
        uint64_t slot;
        memcpy(&slot, frame + plan->ret_offset, sizeof slot);
        cffi_value_narrow((cffi_type)plan->ret_type, slot, ret);
    }
}

cffi_status cffi_call(const cffi_sig *sig, void *fn, void *ret, void *const *args) {
    if (!sig || !fn || (!args && sig->nparams > 0)) return CFFI_EINVAL;
    const cffi_abi *abi = sig->abi;
    const cffi_plan *plan = sig->plan;
    if (abi->frame_size > CALL_FRAME_CHUNKS * sizeof(aligned_chunk)) return CFFI_EUNSUPPORTED;
    if (plan->stack_bytes <= CALL_STACK_CHUNKS * sizeof(aligned_chunk)) {
        aligned_chunk stack_chunks[CALL_STACK_CHUNKS];
        call_with(plan, abi, fn, ret, args, stack_chunks->bytes);
    } else {
        aligned_chunk stack_chunks[(plan->stack_bytes + 15) / 16];
        call_with(plan, abi, fn, ret, args, stack_chunks->bytes);
    }
    return CFFI_OK;
}
