/*
 * thunk.c (x86-32) - the per-closure code: a landing pad, the record's address in EAX and a
 * jump through the record's first field (the entry stub). EAX carries no argument in cdecl,
 * stdcall, fastcall or thiscall (GCC's regparm would use it; cffi does not offer regparm), so
 * no argument register is disturbed.
 *
 *     endbr32                     ; indirect-branch landing pad
 *     mov    eax, <record>        ; this closure's record
 *     jmp    dword ptr [eax]      ; record->entry
 *     int3 ...                    ; padding up to CFFI_ARCH_THUNK_SIZE
 */
#include "internal.h"

#include <string.h>

enum {
    X86_PREFIX_REP = 0xf3,          /* endbr32 = F3 0F 1E FB */
    X86_ESCAPE = 0x0f,
    X86_ENDBR_OP = 0x1e,
    X86_ENDBR32_MODRM = 0xfb,
    X86_MOV_R_IMM32 = 0xb8,         /* B8+r: mov r32, imm32 */
    X86_REG_EAX = 0,
    X86_GROUP5 = 0xff,              /* FF /4: jmp r/m32 */
    X86_MODRM_JMP_INDIRECT_EAX = 0x20, /* mod 00, reg /4 (jmp), rm 000 ([eax]) */
    X86_INT3 = 0xcc,
};

#define X86_THUNK_CODE_SIZE (4 + 5 + 2)

void cffi_arch_thunk_write(uint8_t *rw, uintptr_t rx, const cffi_closure *record) {
    (void)rx; /* the thunk holds an absolute address, so it does not depend on where it runs */
    uint8_t *p = rw;
    *p++ = X86_PREFIX_REP;
    *p++ = X86_ESCAPE;
    *p++ = X86_ENDBR_OP;
    *p++ = X86_ENDBR32_MODRM;
    *p++ = X86_MOV_R_IMM32 + X86_REG_EAX;
    uint32_t address = (uint32_t)(uintptr_t)record;
    memcpy(p, &address, sizeof address); /* imm32, little-endian */
    p += sizeof address;
    *p++ = X86_GROUP5;
    *p++ = X86_MODRM_JMP_INDIRECT_EAX;
    /* int3 padding: a stray jump into the gap traps instead of running on. */
    memset(p, X86_INT3, (size_t)(rw + CFFI_ARCH_THUNK_SIZE - p));
}

_Static_assert(CFFI_ARCH_THUNK_SIZE >= X86_THUNK_CODE_SIZE, "thunk.c: the thunk must fit");
_Static_assert(sizeof(void *) == 4, "thunk.c: a 32-bit target");
_Static_assert(offsetof(struct cffi_closure, entry) == 0,
               "thunk.c: jmp [eax] needs the entry stub in the record's first field");
