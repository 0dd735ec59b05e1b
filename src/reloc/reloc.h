/*
 * reloc.h - moving machine code to another address, behind cffi's own small interface.
 *
 * The disassembler (Capstone) stays inside the target's reloc_<arch>.c: nothing else includes
 * capstone.h. Relocation reads the decoder's structured detail (operand kinds, base registers,
 * displacement and immediate offsets, instruction groups), never mnemonic strings; mnemonics only
 * appear in messages.
 *
 * Images are position independent: every reference that leaves the relocated range is rewritten
 * into an absolute form, and every reference that stays inside it is relative. So one image,
 * computed once, can be copied to any address without further fixups.
 */
#ifndef CFFI_RELOC_H
#define CFFI_RELOC_H

#include "internal.h"

/* Where the CFFI_BAREFN_RECORD block of a template sits and what its slots are. */
typedef struct cffi_reloc_block {
    size_t prologue_len;    /* bytes from the template's entry to the block */
    size_t block_len;       /* bytes of the block that copies carry, up to the landing pad */
    size_t record_slot;     /* offset in the block of the record-address slot */
    size_t back_slot;       /* offset in the block of the jump-back slot */
    size_t slot_size;       /* bytes per slot (a pointer) */
    const uint8_t *landing; /* address in the template that copies jump back to */
    size_t guard_len;       /* bytes from the block's start that code before it may not branch
                             * into (the block, its landing pad and the first byte after it) */
    bool has_far;           /* the block above (absolute jump back) can be used: copies may sit
                             * anywhere. Else only the near form exists. */
    /* The near form, for copies within reach of a 32-bit displacement from the landing pad: the
     * same record slot, then a direct jump whose rel32 (at near_rel_slot, counted from the end of
     * those 4 bytes) is filled in per copy. near_len 0: no near form. */
    size_t near_len;
    uint8_t near_block[32];
    size_t near_record_slot;
    size_t near_rel_slot;
} cffi_reloc_block;

/* Decode the template at fn from its entry until its CFFI_BAREFN_RECORD block, reading at most
 * `limit` bytes. Precondition: fn contains the block within limit bytes. CFFI_ERELOC (message in
 * errbuf) if the code before the block does not decode into whole instructions ending at it. */
CFFI_HIDDEN cffi_status cffi_reloc_find_block(const void *fn, size_t limit, cffi_reloc_block *out,
                                              char *errbuf, size_t errlen);

/* Flags for cffi_reloc_copy. */
enum {
    /* The image will be entered by an indirect call: make sure it starts with the target's
     * indirect-branch landing pad (endbr64), adding one if the source has none. */
    CFFI_RELOC_ENTRY = 1u << 0,
};

/* What to relocate: the code from src (its entry) up to src+len, plus every instruction outside
 * that range that a path from the entry reaches before it gets to src+len (cold paths compilers
 * lay out after the function). */
typedef struct cffi_reloc_request {
    const void *src;
    size_t len;
    const uint8_t *tail; /* bytes placed where the range ends; the caller's, must not fall through */
    size_t tail_len;
    size_t guard_len;    /* bytes after the range no path may enter except at src+len */
    size_t max_outside;  /* most bytes of out-of-line code to follow */
    const void *body;    /* optional: where the code after the tail continues (a template's
                          * landing pad). A call whose return address is code reachable from
                          * there is taken not to return. */
    size_t body_limit;   /* bytes of code to explore from body */
    unsigned flags;      /* CFFI_RELOC_* */
} cffi_reloc_request;

/* Relocate into a new position-independent image (malloc'd, released with free) of *image_len
 * bytes: the range, then the tail at *tail_off (every path that reached src+len now reaches the
 * tail), then the out-of-line code. CFFI_ERELOC with a message naming the instruction if any
 * instruction cannot be moved safely; CFFI_ENOMEM. On failure *image is NULL. */
CFFI_HIDDEN cffi_status cffi_reloc_copy(const cffi_reloc_request *rq, uint8_t **image,
                                        size_t *image_len, size_t *tail_off, char *errbuf,
                                        size_t errlen);

/* Decode one instruction at code (at most max bytes) and write "mnemonic operands" into text.
 * *ends_flow is set for an unconditional jmp or a ret. Returns its length, 0 if it does not
 * decode. */
CFFI_HIDDEN size_t cffi_reloc_describe(const void *code, size_t max, char *text, size_t textlen,
                                       bool *ends_flow);

#endif /* CFFI_RELOC_H */
