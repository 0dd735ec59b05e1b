/*
 * abi_sysv.c - the System V AMD64 calling convention as facts for the generic placement loop.
 *
 * Integer-class arguments take rdi, rsi, rdx, rcx, r8, r9 and floating arguments xmm0-xmm7,
 * each class counted on its own; whatever does not fit goes on the stack in order, one 8-byte
 * slot per scalar. Results come back in rax or xmm0. The caller pops.
 *
 * Aggregates (psABI 3.2.3): one of more than 16 bytes, or with a member below its natural
 * alignment (packed), is of class MEMORY: an argument is copied onto the stack, a result is
 * written through a hidden pointer passed in rdi and returned in rax. Otherwise each eightbyte
 * is INTEGER if any scalar in it is not floating, else SSE; an argument takes one register of its
 * class per eightbyte if all of them are free, else goes on the stack whole; a result comes back
 * in rax then rdx for INTEGER eightbytes and xmm0 then xmm1 for SSE ones.
 *
 * long double is of class X87: an argument is copied onto the stack (16 bytes, 16-aligned), a
 * result comes back in st(0); so does a struct that is nothing but one long double. Any other
 * aggregate with a long double in it is of class MEMORY.
 */
#include "agg.h"

#include "frame.h"

#include <stddef.h>

_Static_assert(offsetof(cffi_closure, handler) == X64_RECORD_HANDLER, "frame.h: record handler");
_Static_assert(offsetof(cffi_closure, ctx) == X64_RECORD_CTX, "frame.h: record ctx");

enum { EIGHTBYTE_NONE = 0, EIGHTBYTE_SSE, EIGHTBYTE_INTEGER };

typedef struct eightbytes {
    uint8_t classes[2];
    size_t scalars, x87; /* scalars seen, long doubles among them */
} eightbytes;

static bool merge_class(void *ctx, size_t offset, cffi_type type) {
    eightbytes *e = ctx;
    e->scalars++;
    if (type == CFFI_T_LDOUBLE) {
        e->x87++;
        return true;
    }
    uint8_t c = type == CFFI_T_FLOAT || type == CFFI_T_DOUBLE ? EIGHTBYTE_SSE : EIGHTBYTE_INTEGER;
    if (e->classes[offset / 8] < c) e->classes[offset / 8] = c; /* INTEGER wins over SSE */
    return true;
}

static cffi_status sysv_classify(const cffi_abi *abi, const cffi_agg *agg, bool is_result,
                                 cffi_agg_class *out, char *errbuf, size_t errlen) {
    (void)abi, (void)errbuf, (void)errlen;
    *out = (cffi_agg_class){0};
    if (agg->size > 16 || cffi_agg_misaligned(agg)) {
        out->how = is_result ? CFFI_PASS_SRET : CFFI_PASS_STACK;
        return CFFI_OK;
    }
    eightbytes e = {{EIGHTBYTE_NONE, EIGHTBYTE_NONE}, 0, 0};
    cffi_agg_walk(agg, 0, merge_class, &e);
    if (e.x87) { /* X87 (and X87UP) alone is st(0); mixed with anything it is MEMORY */
        bool alone = e.scalars == 1 && !agg->is_union;
        out->how = !is_result ? CFFI_PASS_STACK : alone ? CFFI_PASS_X87 : CFFI_PASS_SRET;
        return CFFI_OK;
    }
    const uint8_t *classes = e.classes;
    out->how = CFFI_PASS_REGS;
    for (size_t k = 0; k * 8 < agg->size; k++) {
        if (classes[k] == EIGHTBYTE_NONE) continue; /* padding only: no register */
        out->piece_class[out->npieces] = classes[k] == EIGHTBYTE_SSE ? CFFI_CLASS_FPR
                                                                     : CFFI_CLASS_GPR;
        out->piece_size[out->npieces++] = (uint8_t)(agg->size - k * 8 < 8 ? agg->size - k * 8 : 8);
    }
    return CFFI_OK;
}

CFFI_HIDDEN const cffi_abi cffi_x64_abi_sysv = {
    .name = "sysv64",
    .gpr_count = 6,
    .fpr_count = 8,
    .gpr_max_size = 8,
    .shared_slots = 0,
    .stack_slot = 8,
    .callee_pops = 0,
    .gpr_offset = X64_FRAME_GPR,
    .fpr_offset = X64_FRAME_FPR,
    .reg_size = 8,
    .ret_int_offset = X64_FRAME_RET_INT,
    .ret_fp_offset = X64_FRAME_RET_FP,
    .ret_x87_offset = X64_FRAME_RET_X87,
    .frame_size = X64_FRAME_SIZE,
    .check = NULL,  /* every scalar of the signature grammar fits */
    .finish = NULL, /* caller-pop: the entry stub needs no per-signature word */
    .classify = sysv_classify,
    .sret_in_gpr = 1,
    .entry = cffi_x64_entry_sysv,
    .entry_x87 = cffi_x64_entry_sysv_x87,
    .call_x87 = cffi_x64_call_sysv_x87,
    .frame_entry = CFFI_X64_FRAME_ENTRY(cffi_x64_entry_sysv_frame),
    .call = cffi_x64_call_sysv,
};
