/*
 * thunk.c (AArch64) - the per-closure code: a landing pad, the record's address in x17 and a
 * branch through the record's first field (the entry stub). x16 and x17 (IP0, IP1) are the
 * intra-procedure-call scratch registers: never arguments, free at every call boundary, and the
 * registers a `br` may use to reach a `bti c` landing pad.
 *
 *      bti c                       ; landing pad for blr callers
 *      ldr  x17, 1f                ; this closure's record (PC-relative literal)
 *      ldr  x16, [x17]             ; record->entry
 *      br   x16                    ; to the entry stub, with x17 = record
 *   1: .quad <record>
 *      brk  #0                     ; padding up to CFFI_ARCH_THUNK_SIZE
 */
#include "internal.h"

#include <string.h>

enum {
    A64_BTI_C = 0xd503245f,          /* hint #34 */
    A64_LDR_X17_LITERAL = 0x58000011, /* ldr x17, #(imm19 * 4), imm19 = 0: imm19 goes in bits 5-23 */
    A64_LDR_X16_X17 = 0xf9400230,    /* ldr x16, [x17] */
    A64_BR_X16 = 0xd61f0200,         /* br x16 */
    A64_BRK_0 = 0xd4200000,          /* brk #0 */
    LITERAL_AT = 16,                 /* the record's address, 8-byte aligned in the slot */
    LDR_AT = 4,                      /* the ldr's own offset: the literal is 12 bytes ahead */
};

static void put32(uint8_t *p, uint32_t insn) { memcpy(p, &insn, sizeof insn); } /* little-endian */

void cffi_arch_thunk_write(uint8_t *rw, uintptr_t rx, const cffi_closure *record) {
    (void)rx; /* the literal is PC-relative within the slot: independent of where it runs */
    put32(rw + 0, A64_BTI_C);
    put32(rw + LDR_AT, A64_LDR_X17_LITERAL | (uint32_t)((LITERAL_AT - LDR_AT) / 4) << 5);
    put32(rw + 8, A64_LDR_X16_X17);
    put32(rw + 12, A64_BR_X16);
    uint64_t address = (uint64_t)(uintptr_t)record;
    memcpy(rw + LITERAL_AT, &address, sizeof address);
    for (size_t at = LITERAL_AT + 8; at < CFFI_ARCH_THUNK_SIZE; at += 4) put32(rw + at, A64_BRK_0);
}

_Static_assert(CFFI_ARCH_THUNK_SIZE >= LITERAL_AT + 8 && CFFI_ARCH_THUNK_SIZE % 8 == 0,
               "thunk.c: the thunk and its literal fit the slot");
