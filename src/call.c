/*
 * call.c - cffi_call: call any native function pointer through a signature. The signature's plan
 * (the same one closures use) says where each argument goes; the convention's call stub loads
 * the registers from the filled register frame, copies the stack area and makes the call.
 */
#include "internal.h"

#include <string.h>

#include "value.h"

/* Register frame and stack area are built from these, so both are 16-byte aligned whatever
 * their (run-time) size, as call stubs that copy with vector moves may assume. */
typedef struct aligned_chunk {
    _Alignas(16) unsigned char bytes[16];
} aligned_chunk;

static size_t chunks_for(size_t bytes) { return bytes ? (bytes + 15) / 16 : 1; }

cffi_status cffi_call(const cffi_sig *sig, void *fn, void *ret, void *const *args) {
    if (!sig || !fn || (!args && sig->nparams > 0)) return CFFI_EINVAL;
    const cffi_abi *abi = sig->abi;
    const cffi_plan *plan = sig->plan;

    aligned_chunk frame_chunks[chunks_for(abi->frame_size)];
    aligned_chunk stack_chunks[chunks_for(plan->stack_bytes)];
    unsigned char *frame = frame_chunks->bytes, *stack = stack_chunks->bytes;
    /* Unused argument registers are loaded too; give them defined contents. */
    memset(frame, 0, abi->frame_size);

    for (size_t i = 0; i < plan->nparams; i++) {
        const cffi_argloc *loc = &plan->args[i];
        cffi_type t = (cffi_type)loc->type;
        uint64_t slot = cffi_value_widen(t, args[i]);
        size_t size = cffi_type_size(t), width;
        if (loc->on_stack)
            width = (size + abi->stack_slot - 1) / abi->stack_slot * abi->stack_slot;
        else
            width = size > abi->reg_size ? size : abi->reg_size;
        if (width > sizeof slot) width = sizeof slot; /* every scalar fits one 64-bit slot value */
        memcpy((loc->on_stack ? stack : frame) + loc->offset, &slot, width);
    }

    abi->call(fn, frame, stack, plan->stack_bytes);

    if (ret && plan->ret_type != CFFI_T_VOID) {
        uint64_t slot;
        memcpy(&slot, frame + plan->ret_offset, sizeof slot);
        cffi_value_narrow((cffi_type)plan->ret_type, slot, ret);
    }
    return CFFI_OK;
}
