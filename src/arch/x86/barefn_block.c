/*
 * barefn_block.c (x86-32) - the typed-thunk template block as the relocator sees it: recognising
 * the bytes CFFI_BAREFN_RECORD emits (laid out in include/cffi_target.h) and describing their
 * slots. The block is its own near form: with 32-bit addresses every copy reaches the template.
 */
#include "reloc/reloc.h"

#include <string.h>

_Static_assert(CFFI_BAREFN_BLOCK_REL == CFFI_BAREFN_BLOCK_RECORD_SLOT + 4 + 1 &&
                   CFFI_BAREFN_BLOCK_LANDING == CFFI_BAREFN_BLOCK_REL + 4 &&
                   CFFI_BAREFN_BLOCK_SIZE == CFFI_BAREFN_BLOCK_LANDING + 4,
               "cffi_target.h: the block's offsets follow its instructions");

bool cffi_arch_barefn_is_block(const uint8_t *p) {
    static const uint8_t endbr32[4] = {0xF3, 0x0F, 0x1E, 0xFB};
    uint32_t rec = CFFI_BAREFN_RECORD_MAGIC, back = CFFI_BAREFN_BACK_MAGIC;
    return p[0] == 0xB8 /* mov imm32 into eax */ &&
           memcmp(p + CFFI_BAREFN_BLOCK_RECORD_SLOT, &rec, 4) == 0 &&
           p[CFFI_BAREFN_BLOCK_REL - 1] == 0xE9 /* jmp rel32 */ &&
           memcmp(p + CFFI_BAREFN_BLOCK_REL, &back, 4) == 0 &&
           memcmp(p + CFFI_BAREFN_BLOCK_LANDING, endbr32, 4) == 0;
}

void cffi_arch_barefn_fill_block(const uint8_t *code, size_t off, cffi_reloc_block *out) {
    memset(out, 0, sizeof *out);
    out->prologue_len = off;
    out->block_len = CFFI_BAREFN_BLOCK_LANDING;
    out->record_slot = CFFI_BAREFN_BLOCK_RECORD_SLOT;
    out->slot_size = 4;
    out->landing = code + off + CFFI_BAREFN_BLOCK_LANDING;
    out->guard_len = CFFI_BAREFN_BLOCK_SIZE + 1;
    out->has_far = false;
    out->near_block[0] = 0xB8; /* mov imm32 into eax */
    out->near_block[CFFI_BAREFN_BLOCK_REL - 1] = 0xE9; /* jmp rel32 */
    out->near_record_slot = CFFI_BAREFN_BLOCK_RECORD_SLOT;
    out->near_rel_slot = CFFI_BAREFN_BLOCK_REL;
    out->near_len = CFFI_BAREFN_BLOCK_LANDING;
    out->load_len = CFFI_BAREFN_BLOCK_REL - 1;
}
