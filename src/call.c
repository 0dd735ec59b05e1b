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

cffi_status cffi_call(const cffi_sig *sig, void *fn, void *ret, void *const *args) {
    if (!sig || !fn || (!args && sig->nparams > 0)) return CFFI_EINVAL;
    const cffi_plan *plan = sig->plan;
    if (sig->abi->frame_size > CFFI_CALL_FRAME_BYTES) return CFFI_EUNSUPPORTED;
    aligned_chunk frame_chunks[FRAME_CHUNKS], stack_chunks[STACK_CHUNKS];
    unsigned char *frame = frame_chunks->bytes, *stack = stack_chunks->bytes;
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
    if (sig->abi->frame_size > CFFI_CALL_FRAME_BYTES) return CFFI_EUNSUPPORTED;
    call_stub(sig, fn, frame, stack);
    return CFFI_OK;
}
