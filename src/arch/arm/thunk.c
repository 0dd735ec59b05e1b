/*
 * thunk.c (32-bit ARM) - the per-closure code, in ARM state: the record's address in ip (r12)
 * and a load of the record's first field (the entry stub) into pc.
 *
 *      ldr ip, [pc]        ; this closure's record (pc reads 8 bytes ahead: the literal)
 *      ldr pc, [ip]        ; record->entry (ARM state: the stub's address has bit 0 clear)
 *      .word <record>
 *      udf                 ; padding up to CFFI_ARCH_THUNK_SIZE
 *
 * Why ARM state: a bare pointer with bit 0 clear is entered in ARM state by every caller, ARM or
 * Thumb (blx and bx switch on that bit), so one thunk serves both; ip is the intra-procedure
 * scratch register, never an argument, free at every call boundary.
 */
#include "internal.h"

#include <string.h>

enum {
    ARM_LDR_IP_PC = 0xe59fc000, /* ldr ip, [pc, #0] */
    ARM_LDR_PC_IP = 0xe59cf000, /* ldr pc, [ip] */
    ARM_UDF = 0xe7f000f0,       /* udf #0 */
    LITERAL_AT = 8,             /* pc of the first ldr (0) + 8 */
};

static void put32(uint8_t *p, uint32_t insn) { memcpy(p, &insn, sizeof insn); } /* little-endian */

void cffi_arch_thunk_write(uint8_t *rw, uintptr_t rx, const cffi_closure *record) {
    (void)rx; /* the literal is PC-relative within the slot */
    put32(rw + 0, ARM_LDR_IP_PC);
    put32(rw + 4, ARM_LDR_PC_IP);
    put32(rw + LITERAL_AT, (uint32_t)(uintptr_t)record);
    for (size_t at = LITERAL_AT + 4; at < CFFI_ARCH_THUNK_SIZE; at += 4) put32(rw + at, ARM_UDF);
}

_Static_assert(CFFI_ARCH_THUNK_SIZE >= LITERAL_AT + 4, "thunk.c: the thunk fits its slot");
