/*
 * reloc_a64.c - relocation of AArch64 code (the only AArch64 file that includes capstone.h, for
 * listings; relocation itself reads the fixed 32-bit encodings directly).
 *
 * Every AArch64 instruction is one 32-bit word, and only a few classes depend on where they sit:
 *
 *   adr / adrp Xd, target             ldr Xd, =target (the page, for adrp)
 *   ldr Xt / Wt / ldrsw Xt, literal   ldr Xt, =address ; ldr Xt|Wt / ldrsw Xt, [Xt]
 *   prfm literal                      nop (a hint; nothing to keep)
 *   bl outside the range              ldr x16, =target ; blr x16
 *   b, b.cond, cbz/cbnz, tbz/tbnz     re-displaced, when the target is inside the range or is its
 *                                     end (where the tail continues)
 *
 * "=value" is a literal in a pool after the tail, 8-byte aligned, so an image holds only absolute
 * addresses and PC-relative references to itself: it runs wherever it is copied. x16 (IP0) is the
 * scratch register of a call: every call boundary may clobber it, so using it for bl costs nothing.
 *
 * Refused (CFFI_ERELOC, naming the instruction): branches that leave the range (the code they
 * reach would run without the state the relocated prefix set up), calls into the range, literal
 * loads into SIMD registers (they would need a free general register), and tails that copy the
 * template's body (an AArch64 tail is always the block's own jump back into the template).
 */
#include "reloc/reloc.h"

#include <capstone/capstone.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    A64_NOP = 0xd503201f,
    A64_BTI_C = 0xd503245f,
    A64_BTI_JC = 0xd50324df,
    A64_BLR_X16 = 0xd63f0200,
    A64_B = 0x14000000,
    A64_LDR_LIT_X = 0x58000000,    /* ldr Xt, literal: imm19 in bits 5-23 */
    A64_LDR_X_UIMM = 0xf9400000,   /* ldr Xt, [Xn] */
    A64_LDR_W_UIMM = 0xb9400000,   /* ldr Wt, [Xn] */
    A64_LDRSW_UIMM = 0xb9800000,   /* ldrsw Xt, [Xn] */
    REG_X16 = 16,
    MAX_INSNS = 1024,
    MAX_LITERALS = 2 * MAX_INSNS,
};

typedef enum kind {
    K_COPY,     /* position independent */
    K_ADR,      /* adr / adrp: ldr Xd, =value */
    K_LDR_LIT,  /* ldr literal into a general register: ldr Xt, =address ; load [Xt] */
    K_PRFM_LIT, /* prfm literal: nop */
    K_CALL_OUT, /* bl outside: ldr x16, =target ; blr x16 */
    K_BRANCH,   /* b / b.cond / cbz / tbz inside (or to the end): re-displaced */
} kind;

typedef struct item {
    kind kind;
    uint32_t word;
    uint64_t value;   /* K_ADR: the address; K_LDR_LIT: the literal's address; K_CALL_OUT: target */
    size_t target;    /* K_BRANCH: offset of the target in the range (len: the tail) */
    uint32_t load;    /* K_LDR_LIT: the load from [Xt] that follows */
    size_t at;        /* offset of the replacement in the image */
    size_t literal;   /* offset of its literal in the image */
} item;

static uint32_t word_at(const uint8_t *p) {
    uint32_t w;
    memcpy(&w, p, sizeof w);
    return w;
}
static void put_word(uint8_t *p, uint32_t w) { memcpy(p, &w, sizeof w); }
static int64_t sign_extend(uint64_t v, unsigned bits) {
    uint64_t m = (uint64_t)1 << (bits - 1);
    return (int64_t)((v ^ m) - m);
}

/* Branch displacements, by class: the field's position and width, and whether word is one. */
typedef struct branch_field {
    uint32_t mask, match;
    unsigned shift, bits;
} branch_field;
static const branch_field branch_fields[] = {
    {0xfc000000, 0x14000000, 0, 26}, /* b */
    {0xff000010, 0x54000000, 5, 19}, /* b.cond */
    {0x7e000000, 0x34000000, 5, 19}, /* cbz, cbnz */
    {0x7e000000, 0x36000000, 5, 14}, /* tbz, tbnz */
};

static const branch_field *branch_of(uint32_t w) {
    for (size_t i = 0; i < sizeof branch_fields / sizeof *branch_fields; i++)
        if ((w & branch_fields[i].mask) == branch_fields[i].match) return &branch_fields[i];
    return NULL;
}

/* "mnemonic operands" of the word at p, for messages. */
static void describe_word(const uint8_t *p, char *text, size_t len) {
    bool ends;
    if (cffi_reloc_describe(p, 4, text, len, &ends) == 0) snprintf(text, len, ".word 0x%08x",
                                                                   word_at(p));
}

static cffi_status refuse(char *errbuf, size_t errlen, const uint8_t *p, size_t off,
                          const char *why) {
    char text[96];
    describe_word(p, text, sizeof text);
    cffi_errorf(errbuf, errlen, "`%s` at +%zu: %s", text, off, why);
    return CFFI_ERELOC;
}

cffi_status cffi_reloc_find_block(const void *fn, size_t limit, cffi_reloc_block *out,
                                  char *errbuf, size_t errlen) {
    const uint8_t *code = fn;
    /* Fixed-width instructions: every word boundary is an instruction boundary. */
    for (size_t off = 0; off + CFFI_BAREFN_BLOCK_SIZE <= limit; off += 4)
        if (cffi_arch_barefn_is_block(code + off)) {
            cffi_arch_barefn_fill_block(code, off, out);
            return CFFI_OK;
        }
    cffi_errorf(errbuf, errlen, "no CFFI_BAREFN_RECORD block in the first %zu bytes", limit);
    return CFFI_ERELOC;
}

/* Classify the instruction at src + off (len: the range's length). */
static cffi_status classify(const uint8_t *src, size_t off, size_t len, item *it, char *errbuf,
                            size_t errlen) {
    const uint8_t *p = src + off;
    uint32_t w = word_at(p);
    uint64_t pc = (uint64_t)(uintptr_t)p;
    *it = (item){.kind = K_COPY, .word = w};
    if ((w & 0x1f000000) == 0x10000000) { /* adr (op 0) / adrp (op 1) */
        uint64_t imm = ((uint64_t)((w >> 5) & 0x7ffff) << 2) | ((w >> 29) & 3);
        int64_t disp = sign_extend(imm, 21);
        it->kind = K_ADR;
        it->value = (w & 0x80000000) ? (pc & ~(uint64_t)0xfff) + (uint64_t)(disp * 4096)
                                     : pc + (uint64_t)disp;
        return CFFI_OK;
    }
    if ((w & 0x3b000000) == 0x18000000) { /* load register (literal) */
        uint64_t address = pc + (uint64_t)(sign_extend((w >> 5) & 0x7ffff, 19) * 4);
        unsigned opc = w >> 30, rt = w & 31;
        if (w & (1u << 26))
            return refuse(errbuf, errlen, p, off, "a literal load into a SIMD register");
        it->value = address;
        switch (opc) {
        case 0: it->kind = K_LDR_LIT, it->load = A64_LDR_W_UIMM | rt << 5 | rt; break;
        case 1: it->kind = K_LDR_LIT, it->load = A64_LDR_X_UIMM | rt << 5 | rt; break;
        case 2: it->kind = K_LDR_LIT, it->load = A64_LDRSW_UIMM | rt << 5 | rt; break;
        default: it->kind = K_PRFM_LIT; break;
        }
        return CFFI_OK;
    }
    if ((w & 0xfc000000) == 0x94000000) { /* bl */
        uint64_t target = pc + (uint64_t)(sign_extend(w & 0x3ffffff, 26) * 4);
        if (target >= (uint64_t)(uintptr_t)src && target < (uint64_t)(uintptr_t)src + len)
            return refuse(errbuf, errlen, p, off,
                          "a call into the relocated code (its return address would differ)");
        it->kind = K_CALL_OUT;
        it->value = target;
        return CFFI_OK;
    }
    const branch_field *f = branch_of(w);
    if (f) {
        uint64_t field = (w >> f->shift) & (((uint32_t)1 << f->bits) - 1);
        uint64_t target = pc + (uint64_t)(sign_extend(field, f->bits) * 4);
        uint64_t lo = (uint64_t)(uintptr_t)src;
        if (target < lo || target > lo + len)
            return refuse(errbuf, errlen, p, off,
                          "a branch out of the relocated code (the code it reaches would run "
                          "without the state the copy set up)");
        it->kind = K_BRANCH;
        it->target = (size_t)(target - lo);
        return CFFI_OK;
    }
    return CFFI_OK;
}

static size_t words_of(kind k) {
    return k == K_LDR_LIT || k == K_CALL_OUT ? 2 : 1;
}

/* The ldr Xt, =literal at image offset at, its literal at image offset literal. */
static uint32_t ldr_literal(unsigned rt, size_t at, size_t literal) {
    int64_t imm19 = ((int64_t)literal - (int64_t)at) / 4;
    return A64_LDR_LIT_X | (uint32_t)(imm19 & 0x7ffff) << 5 | rt;
}

/* Re-displace the branch it (at image offset at) to image offset to; false if out of reach. */
static bool redisplace(const item *it, size_t at, size_t to, uint32_t *out) {
    const branch_field *f = branch_of(it->word);
    int64_t disp = ((int64_t)to - (int64_t)at) / 4;
    int64_t limit = (int64_t)1 << (f->bits - 1);
    if (disp < -limit || disp >= limit) return false;
    uint32_t field_mask = (((uint32_t)1 << f->bits) - 1) << f->shift;
    *out = (it->word & ~field_mask) | (((uint32_t)disp << f->shift) & field_mask);
    return true;
}

/* Write items[i]'s replacement into out; its literal (if any) at *next_literal, which advances.
 * A branch to the range's end goes to tail_at. */
static cffi_status emit_item(const cffi_reloc_request *rq, const item *items, size_t i,
                             uint8_t *out, size_t *next_literal, size_t tail_at, char *errbuf,
                             size_t errlen) {
    const item *it = &items[i];
    uint8_t *dst = out + it->at;
    unsigned rt = it->word & 31;
    switch (it->kind) {
    case K_COPY: put_word(dst, it->word); break;
    case K_PRFM_LIT: put_word(dst, A64_NOP); break;
    case K_ADR:
    case K_LDR_LIT:
    case K_CALL_OUT: {
        size_t literal = *next_literal;
        *next_literal += 8;
        memcpy(out + literal, &it->value, 8);
        unsigned reg = it->kind == K_CALL_OUT ? REG_X16 : rt;
        put_word(dst, ldr_literal(reg, it->at, literal));
        if (it->kind == K_LDR_LIT) put_word(dst + 4, it->load);
        if (it->kind == K_CALL_OUT) put_word(dst + 4, A64_BLR_X16);
        break;
    }
    case K_BRANCH: {
        size_t to = it->target == rq->len ? tail_at : items[it->target / 4].at;
        uint32_t word;
        if (!redisplace(it, it->at, to, &word))
            return refuse(errbuf, errlen, (const uint8_t *)rq->src + i * 4, i * 4,
                          "a branch out of reach");
        put_word(dst, word);
        break;
    }
    }
    return CFFI_OK;
}

cffi_status cffi_reloc_copy(const cffi_reloc_request *rq, uint8_t **image, size_t *image_len,
                            size_t *tail_off, char *errbuf, size_t errlen) {
    *image = NULL;
    *image_len = 0;
    const uint8_t *src = rq->src;
    if (rq->len % 4 != 0 || rq->len / 4 > MAX_INSNS || rq->tail_len % 4 != 0) {
        cffi_errorf(errbuf, errlen, "%zu bytes of prologue: not whole instructions, or too many",
                    rq->len);
        return CFFI_ERELOC;
    }
    size_t n = rq->len / 4;
    item *items = calloc(n ? n : 1, sizeof *items);
    if (!items) return CFFI_ENOMEM;
    cffi_status st = CFFI_OK;
    for (size_t i = 0; i < n && st == CFFI_OK; i++)
        st = classify(src, i * 4, rq->len, &items[i], errbuf, errlen);
    if (st != CFFI_OK) {
        free(items);
        return st;
    }

    /* Layout: [bti c] relocated prologue, tail, literal pool (8-byte aligned). */
    bool add_pad = (rq->flags & CFFI_RELOC_ENTRY) &&
                   !(n > 0 && (items[0].word == A64_BTI_C || items[0].word == A64_BTI_JC));
    size_t at = add_pad ? 4 : 0, literals = 0;
    for (size_t i = 0; i < n; i++) {
        items[i].at = at;
        at += 4 * words_of(items[i].kind);
        literals += items[i].kind == K_ADR || items[i].kind == K_LDR_LIT ||
                    items[i].kind == K_CALL_OUT;
    }
    size_t tail_at = at;
    size_t pool = (tail_at + rq->tail_len + 7) & ~(size_t)7;
    size_t total = pool + 8 * literals;
    uint8_t *out = calloc(1, total);
    if (!out) {
        free(items);
        return CFFI_ENOMEM;
    }

    if (add_pad) put_word(out, A64_BTI_C);
    size_t next_literal = pool;
    for (size_t i = 0; i < n && st == CFFI_OK; i++)
        st = emit_item(rq, items, i, out, &next_literal, tail_at, errbuf, errlen);
    free(items);
    if (st != CFFI_OK) {
        free(out);
        return st;
    }
    memcpy(out + tail_at, rq->tail, rq->tail_len);
    *image = out;
    *image_len = total;
    *tail_off = tail_at;
    return CFFI_OK;
}

/* ---------------------------------------------------------------------------------------------
 * Tails: the block's own record load and jump back, with the back slot set to the landing pad.
 */
cffi_status cffi_reloc_tail_build(const cffi_reloc_block *blk, bool near, size_t max_body,
                                  cffi_reloc_tail *out) {
    (void)max_body; /* no body is copied: the tail always jumps back into the template */
    memset(out, 0, sizeof *out);
    if (near) return CFFI_OK; /* no near form on this target (blk->near_len is 0) */
    return cffi_reloc_tail_of_block(blk, out);
}

/* ---------------------------------------------------------------------------------------------
 * Gates and hops: one word each, `b` to where they lead.
 */
static uint32_t branch_word(const uint8_t *from, const uint8_t *to) {
    int64_t disp = ((int64_t)(uintptr_t)to - (int64_t)(uintptr_t)from) / 4;
    return A64_B | ((uint32_t)disp & 0x3ffffff);
}

void cffi_reloc_gate_closed(const uint8_t *gate_rx, const uint8_t *hop_rx,
                            uint8_t out[CFFI_RELOC_GATE_LEN]) {
    put_word(out, branch_word(gate_rx, hop_rx));
}

void cffi_reloc_put_hop(uint8_t *rw, const uint8_t *hop_rx, const uint8_t *to) {
    put_word(rw, branch_word(hop_rx, to)); /* the caller keeps `to` within 128 MiB */
}

/* ---------------------------------------------------------------------------------------------
 * Description, for cffi_disasm.
 */
size_t cffi_reloc_describe(const void *code, size_t max, char *text, size_t textlen,
                           bool *ends_flow) {
    *ends_flow = false;
    if (textlen) text[0] = '\0';
    if (max < 4) return 0;
    uint32_t w = word_at(code);
    csh h;
    if (cs_open(CS_ARCH_ARM64, CS_MODE_ARM, &h) != CS_ERR_OK) return 0;
    cs_insn *in = NULL;
    size_t size = 0;
    if (cs_disasm(h, code, 4, (uint64_t)(uintptr_t)code, 1, &in) == 1) {
        size = 4;
        snprintf(text, textlen, "%s%s%s", in[0].mnemonic, in[0].op_str[0] ? " " : "",
                 in[0].op_str);
        cs_free(in, 1);
    }
    cs_close(&h);
    /* b, br, ret (and retaa/retab) end the flow; b.cond, blr and bl do not. */
    *ends_flow = (w & 0xfc000000) == 0x14000000 || (w & 0xfffffc1f) == 0xd61f0000 ||
                 (w & 0xfffffc1f) == 0xd65f0000 || w == 0xd65f0bff || w == 0xd65f0fff;
    return size;
}
