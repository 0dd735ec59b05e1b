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
    const uint8_t *landing; /* address in the template after the block (its endbr landing pad):
                             * the body starts here */
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
    /* Both forms start with the record load (near_block[0, load_len) with the record slot at
     * near_record_slot); what follows it is the jump back, or, in cffi_reloc_tail, the body. */
    size_t load_len;
    /* Added to a copy's address to call it, and to every code address passed back to the
     * relocator (gates, hops): 1 for a template in Thumb state on 32-bit ARM (a function pointer's
     * bit 0 selects the instruction set), 0 everywhere else. */
    uintptr_t code_tag;
} cffi_reloc_block;

/* Decode the template at fn from its entry until its CFFI_BAREFN_RECORD block, reading at most
 * `limit` bytes. Precondition: fn contains the block within limit bytes. CFFI_ERELOC (message in
 * errbuf) if the code before the block does not decode into whole instructions ending at it. */
CFFI_HIDDEN cffi_status cffi_reloc_find_block(const void *fn, size_t limit, cffi_reloc_block *out,
                                              char *errbuf, size_t errlen);

/* The target's own template block (src/arch/<target>/barefn_block.c, laid out in its
 * include/cffi_target.h): whether the CFFI_BAREFN_BLOCK_SIZE bytes at p are one, and the block at
 * code + off as the relocator needs it. */
CFFI_HIDDEN bool cffi_arch_barefn_is_block(const uint8_t *p);
CFFI_HIDDEN void cffi_arch_barefn_fill_block(const uint8_t *code, size_t off,
                                             cffi_reloc_block *out);

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

/* A 32-bit displacement in an image that must reach an address outside it: a copy of the image
 * placed at rx stores (int32_t)(target - (rx + from)) at rx + at. Only near tails have them. */
typedef struct cffi_reloc_fixup {
    size_t at;       /* offset of the 4-byte displacement */
    size_t from;     /* offset the displacement counts from (the end of its instruction) */
    uint64_t target; /* absolute address it must reach */
} cffi_reloc_fixup;

/* What a template's copies run after its relocated prologue (cffi_reloc_request.tail): the record
 * load, then as much of the template's body (the code after the landing pad) as can run in place,
 * so that a call need not jump back into the template:
 *
 *   - the body is copied instruction by instruction from the landing pad (the pad itself is not
 *     needed: the copy falls straight in) until a ret, a ret imm16 or an unconditional jmp
 *     (direct, or indirect: a tail call), which is copied and ends the tail;
 *   - it stops BEFORE a call (the callee's return address would lie in the copy, which has no
 *     unwind information), before anything it cannot move, and at a size or instruction cap, and
 *     ends there with a jump to that instruction in the ORIGINAL template;
 *   - a branch to an address the tail did not copy goes to the original template's code at that
 *     address. Both are always right: the copy ran the template's own instructions (relocated) on
 *     the same registers and stack, so the original continues exactly as it would have.
 *
 * References that leave the tail are rel32 fixups in a near tail (copies within 32-bit reach of
 * every target, see lo/hi), absolute forms in a far tail (copies anywhere). If the body cannot be
 * copied at all the tail is the block's own jump back to the landing pad, as a near fixup or as
 * the far block's pointer. */
typedef struct cffi_reloc_tail {
    uint8_t *code;          /* malloc'd, len bytes */
    size_t len;
    size_t record_slot;     /* offset of the record-address slot */
    cffi_reloc_fixup *fix;  /* malloc'd, nfix entries (near tails only) */
    size_t nfix;
    size_t body_len;        /* bytes of the template's body the tail runs in place (0: none) */
    bool straight;          /* the tail ends in the body's own ret or jmp: no jump back */
} cffi_reloc_tail;

/* Build the tail for a template whose block is blk, near or far form (near requires
 * blk->near_len, far blk->has_far), copying at most max_body bytes of body. Fails only with
 * CFFI_ENOMEM; anything in the body it cannot handle just ends the copy earlier. */
CFFI_HIDDEN cffi_status cffi_reloc_tail_build(const cffi_reloc_block *blk, bool near,
                                              size_t max_body, cffi_reloc_tail *out);
CFFI_HIDDEN void cffi_reloc_tail_free(cffi_reloc_tail *t);
/* The far tail that copies no body, the same on every target (tail.c): the template's block
 * itself, its back slot aimed at the landing pad (with the image's code_tag). CFFI_ENOMEM or
 * CFFI_OK; out is cleared first. */
CFFI_HIDDEN cffi_status cffi_reloc_tail_of_block(const cffi_reloc_block *blk,
                                                 cffi_reloc_tail *out);

/* The gate of an image made with CFFI_RELOC_ENTRY (CFFI_RELOC_GATE_AT, _LEN, _REACH and
 * CFFI_RELOC_HOP_LEN: the target's arch_config.h): the bytes right after its landing pad, which
 * a thunk with a dead path (cffi_barefn_template.dead) switches between the image's own bytes and
 * a short jump to a hop, a jump to a copy of the dead template's image. The gate is written in
 * one naturally aligned store when the image starts at a multiple of CFFI_RELOC_GATE_LEN. */

/* Code addresses below carry their image's code_tag (cffi_reloc_block). */
/* The closed gate at gate_rx: a jump to the hop at hop_rx (within CFFI_RELOC_GATE_REACH). */
CFFI_HIDDEN void cffi_reloc_gate_closed(const uint8_t *gate_rx, const uint8_t *hop_rx,
                                        uint8_t out[CFFI_RELOC_GATE_LEN]);
/* Write a hop to `to` at rw, the writable view of hop_rx (within 32-bit reach of `to`). */
CFFI_HIDDEN void cffi_reloc_put_hop(uint8_t *rw, const uint8_t *hop_rx, const uint8_t *to);

/* Decode one instruction at code (at most max bytes) and write "mnemonic operands" into text.
 * *ends_flow is set for an unconditional jmp or a ret. Returns its length, 0 if it does not
 * decode. */
CFFI_HIDDEN size_t cffi_reloc_describe(const void *code, size_t max, char *text, size_t textlen,
                                       bool *ends_flow);

#endif /* CFFI_RELOC_H */
