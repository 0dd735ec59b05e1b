/*
 * thunk.c - the per-closure code: a landing pad, the record's address in r10 and a jump
 * through the record's first field (the convention's entry stub). r10 is free at a call boundary
 * in both the System V and the Microsoft convention (scratch, never an argument; System V's
 * static chain register), so no argument register is disturbed.
 *
 *     endbr64                     ; indirect-branch landing pad
 *     movabs r10, <record>        ; this closure's record
 *     jmp    qword ptr [r10]      ; record->entry
 *     int3 ...                    ; padding up to CFFI_ARCH_THUNK_SIZE
 */
#include "internal.h"

#include <string.h>

enum {
    X64_PREFIX_REP = 0xf3,       /* endbr64 = F3 0F 1E FA */
    X64_ESCAPE = 0x0f,
    X64_ENDBR_OP = 0x1e,
    X64_ENDBR64_MODRM = 0xfa,
    X64_REX_W_B = 0x49,          /* REX.W + REX.B: 64-bit operand, register r8-r15 */
    X64_REX_B = 0x41,            /* REX.B: base register r8-r15 */
    X64_MOV_R_IMM = 0xb8,        /* B8+r: mov r64, imm64 (with REX.W) */
    X64_REG_R10_LOW = 2,         /* r10 = 8 + 2 */
    X64_GROUP5 = 0xff,           /* FF /4: jmp r/m64 */
    X64_MODRM_JMP_INDIRECT = 0x22, /* mod 00, reg /4 (jmp), rm 010 (r10 with REX.B) */
    X64_INT3 = 0xcc,
};

void cffi_arch_thunk_write(uint8_t *rw, uintptr_t rx, const cffi_closure *record) {
    (void)rx; /* the thunk holds an absolute address, so it does not depend on where it runs */
    uint8_t *p = rw;
    *p++ = X64_PREFIX_REP;
    *p++ = X64_ESCAPE;
    *p++ = X64_ENDBR_OP;
    *p++ = X64_ENDBR64_MODRM;
    *p++ = X64_REX_W_B;
    *p++ = X64_MOV_R_IMM + X64_REG_R10_LOW;
    uint64_t address = (uint64_t)(uintptr_t)record;
    memcpy(p, &address, sizeof address); /* imm64, little-endian */
    p += sizeof address;
    *p++ = X64_REX_B;
    *p++ = X64_GROUP5;
    *p++ = X64_MODRM_JMP_INDIRECT;
    /* int3 padding: a stray jump into the gap traps instead of running on. */
    memset(p, X64_INT3, (size_t)(rw + CFFI_ARCH_THUNK_SIZE - p));
}

_Static_assert(CFFI_ARCH_THUNK_SIZE >= 4 + 10 + 3, "thunk.c: the thunk must fit its slot");
_Static_assert(offsetof(struct cffi_closure, entry) == 0,
               "thunk.c: jmp [r10] needs the entry stub in the record's first field");
