/*
 * barefn_block.c (AArch64) - the typed-thunk template block as the relocator sees it: recognising
 * the words CFFI_BAREFN_RECORD emits (laid out in include/cffi_target.h) and describing its slots.
 * Copies use the far form only: every reference is absolute, so a copy may sit anywhere.
 */
#include "reloc/reloc.h"

#include <string.h>

enum {
    A64_LDR_X17_PLUS12 = 0x58000071, /* ldr x17, #12 */
    A64_LDR_X16_PLUS16 = 0x58000090, /* ldr x16, #16 */
    A64_BR_X16 = 0xd61f0200,         /* br x16 */
    A64_BTI_J = 0xd503249f,          /* hint #36 */
};

_Static_assert(CFFI_BAREFN_BLOCK_RECORD_SLOT == 0 + 12 && CFFI_BAREFN_BLOCK_BACK_SLOT == 4 + 16 &&
                   CFFI_BAREFN_BLOCK_LANDING == CFFI_BAREFN_BLOCK_BACK_SLOT + 8 &&
                   CFFI_BAREFN_BLOCK_SIZE == CFFI_BAREFN_BLOCK_LANDING + 4,
               "cffi_target.h: the block's offsets follow its instructions");

static uint32_t word_at(const uint8_t *p) {
    uint32_t w;
    memcpy(&w, p, sizeof w);
    return w;
}

bool cffi_arch_barefn_is_block(const uint8_t *p) {
    uint64_t rec = CFFI_BAREFN_RECORD_MAGIC, back = CFFI_BAREFN_BACK_MAGIC;
    return word_at(p) == A64_LDR_X17_PLUS12 && word_at(p + 4) == A64_LDR_X16_PLUS16 &&
           word_at(p + 8) == A64_BR_X16 &&
           memcmp(p + CFFI_BAREFN_BLOCK_RECORD_SLOT, &rec, 8) == 0 &&
           memcmp(p + CFFI_BAREFN_BLOCK_BACK_SLOT, &back, 8) == 0 &&
           word_at(p + CFFI_BAREFN_BLOCK_LANDING) == A64_BTI_J;
}

void cffi_arch_barefn_fill_block(const uint8_t *code, size_t off, cffi_reloc_block *out) {
    memset(out, 0, sizeof *out);
    out->prologue_len = off;
    out->block_len = CFFI_BAREFN_BLOCK_LANDING;
    out->record_slot = CFFI_BAREFN_BLOCK_RECORD_SLOT;
    out->back_slot = CFFI_BAREFN_BLOCK_BACK_SLOT;
    out->slot_size = 8;
    out->landing = code + off + CFFI_BAREFN_BLOCK_LANDING;
    out->guard_len = CFFI_BAREFN_BLOCK_SIZE;
    out->has_far = true;
    out->near_len = 0;      /* no near form: literals make every copy position independent */
    out->load_len = 4;      /* ldr x17: the record load */
}
