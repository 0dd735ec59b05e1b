/*
 * barefn_block.c (x86-64) - the typed-thunk template block as the relocator sees it: recognising
 * the bytes CFFI_BAREFN_RECORD emits (laid out in include/cffi_target.h) and describing their
 * slots and the near form copies use.
 */
#include "reloc/reloc.h"

#include <string.h>

_Static_assert(CFFI_BAREFN_BLOCK_JMP == CFFI_BAREFN_BLOCK_RECORD_SLOT + 8 &&
                   CFFI_BAREFN_BLOCK_BACK_SLOT == CFFI_BAREFN_BLOCK_JMP + 6 &&
                   CFFI_BAREFN_BLOCK_LANDING == CFFI_BAREFN_BLOCK_BACK_SLOT + 8 &&
                   CFFI_BAREFN_BLOCK_SIZE == CFFI_BAREFN_BLOCK_LANDING + 4,
               "cffi_target.h: the block's offsets follow its instructions");

bool cffi_arch_barefn_is_block(const uint8_t *p) {
    static const uint8_t movabs_rax[2] = {0x48, 0xB8};         /* REX.W B8+rax imm64 */
    static const uint8_t jmp_rip_next[6] = {0xFF, 0x25, 0, 0, 0, 0}; /* jmp *0(%rip) */
    static const uint8_t endbr64[4] = {0xF3, 0x0F, 0x1E, 0xFA};
    uint64_t rec = CFFI_BAREFN_RECORD_MAGIC, back = CFFI_BAREFN_BACK_MAGIC;
    return memcmp(p, movabs_rax, 2) == 0 &&
           memcmp(p + CFFI_BAREFN_BLOCK_RECORD_SLOT, &rec, 8) == 0 &&
           memcmp(p + CFFI_BAREFN_BLOCK_JMP, jmp_rip_next, 6) == 0 &&
           memcmp(p + CFFI_BAREFN_BLOCK_BACK_SLOT, &back, 8) == 0 &&
           memcmp(p + CFFI_BAREFN_BLOCK_LANDING, endbr64, 4) == 0;
}

void cffi_arch_barefn_fill_block(const uint8_t *code, size_t off, cffi_reloc_block *out) {
    memset(out, 0, sizeof *out);
    out->prologue_len = off;
    out->block_len = CFFI_BAREFN_BLOCK_LANDING;
    out->record_slot = CFFI_BAREFN_BLOCK_RECORD_SLOT;
    out->back_slot = CFFI_BAREFN_BLOCK_BACK_SLOT;
    out->slot_size = 8;
    out->landing = code + off + CFFI_BAREFN_BLOCK_LANDING;
    out->guard_len = CFFI_BAREFN_BLOCK_SIZE + 1;
    out->has_far = true;
    /* Near form: movabs $record, %rax ; jmp rel32 landing */
    out->near_block[0] = 0x48; /* REX.W */
    out->near_block[1] = 0xB8; /* mov imm64 into rax */
    out->near_record_slot = CFFI_BAREFN_BLOCK_RECORD_SLOT;
    out->near_block[CFFI_BAREFN_BLOCK_JMP] = 0xE9; /* jmp rel32 */
    out->near_rel_slot = CFFI_BAREFN_BLOCK_JMP + 1;
    out->near_len = CFFI_BAREFN_BLOCK_JMP + 5;
    out->load_len = CFFI_BAREFN_BLOCK_JMP;
}
