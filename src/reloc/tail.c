/*
 * tail.c - the parts of template tails (cffi_reloc_tail, reloc.h) that no instruction set
 * changes: a tail's memory, and the far tail that copies no body, which is the template's block
 * with its back slot aimed at the landing pad. Targets whose tails never copy the body (AArch64,
 * 32-bit ARM) build every far tail here; x86 does when the body cannot be copied.
 */
#include "reloc/reloc.h"

#include <stdlib.h>
#include <string.h>

void cffi_reloc_tail_free(cffi_reloc_tail *t) {
    free(t->code);
    free(t->fix);
    memset(t, 0, sizeof *t);
}

cffi_status cffi_reloc_tail_of_block(const cffi_reloc_block *blk, cffi_reloc_tail *out) {
    memset(out, 0, sizeof *out);
    out->code = malloc(blk->block_len);
    if (!out->code) return CFFI_ENOMEM;
    memcpy(out->code, blk->landing - blk->block_len, blk->block_len);
    /* The slot holds the low slot_size bytes of the address (every target is little-endian);
     * the tag keeps a Thumb template's state when the block loads it into PC. */
    uint64_t back = (uint64_t)(uintptr_t)blk->landing | (uint64_t)blk->code_tag;
    memcpy(out->code + blk->back_slot, &back, blk->slot_size);
    out->len = blk->block_len;
    out->record_slot = blk->record_slot;
    return CFFI_OK;
}
