/*
 * barefn_block.c (32-bit ARM) - the typed-thunk template block as the relocator sees it:
 * recognising the words CFFI_BAREFN_RECORD emits in either instruction set (laid out in
 * include/cffi_target.h) and describing its slots. Copies use the far form only: the back slot
 * holds an absolute address, so a copy may sit anywhere.
 */
#include "reloc/reloc.h"

#include <string.h>

_Static_assert(CFFI_BAREFN_BLOCK_RECORD_SLOT == 8 && CFFI_BAREFN_BLOCK_BACK_SLOT == 12 &&
                   CFFI_BAREFN_BLOCK_LANDING == 16 && CFFI_BAREFN_BLOCK_SIZE == 16,
               "cffi_target.h: the block's offsets follow its two loads, in both states");

static uint32_t word_at(const uint8_t *p) {
    uint32_t w;
    memcpy(&w, p, sizeof w);
    return w;
}

/* A 32-bit Thumb instruction as one number, its first halfword high (as the manuals write it). */
static uint32_t thumb32_at(const uint8_t *p) {
    uint16_t hw[2];
    memcpy(hw, p, sizeof hw);
    return (uint32_t)hw[0] << 16 | hw[1];
}

static bool slots_match(const uint8_t *p) {
    return word_at(p + CFFI_BAREFN_BLOCK_RECORD_SLOT) == CFFI_BAREFN_RECORD_MAGIC &&
           word_at(p + CFFI_BAREFN_BLOCK_BACK_SLOT) == CFFI_BAREFN_BACK_MAGIC;
}

/* The block as a Thumb template has it (p 4-byte aligned). */
static bool is_thumb_block(const uint8_t *p) {
    return ((uintptr_t)p & 3) == 0 && thumb32_at(p) == CFFI_BAREFN_THUMB_LOAD_IP &&
           thumb32_at(p + 4) == CFFI_BAREFN_THUMB_LOAD_PC && slots_match(p);
}

bool cffi_arch_barefn_is_block(const uint8_t *p) {
    if (is_thumb_block(p)) return true;
    return word_at(p) == CFFI_BAREFN_ARM_LOAD_IP && word_at(p + 4) == CFFI_BAREFN_ARM_LOAD_PC &&
           slots_match(p);
}

void cffi_arch_barefn_fill_block(const uint8_t *code, size_t off, cffi_reloc_block *out) {
    memset(out, 0, sizeof *out);
    out->prologue_len = off;
    out->block_len = CFFI_BAREFN_BLOCK_LANDING;
    out->record_slot = CFFI_BAREFN_BLOCK_RECORD_SLOT;
    out->back_slot = CFFI_BAREFN_BLOCK_BACK_SLOT;
    out->slot_size = 4;
    out->landing = code + off + CFFI_BAREFN_BLOCK_LANDING;
    out->guard_len = CFFI_BAREFN_BLOCK_SIZE;
    out->has_far = true;
    out->near_len = 0; /* no near form: the loads make every copy position independent */
    out->load_len = 4; /* the record load */
    out->code_tag = is_thumb_block(code + off) ? 1 : 0;
}
