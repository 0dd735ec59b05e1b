/*
 * reloc_arm.c - relocation of 32-bit ARM code in both instruction sets: ARM (fixed 32-bit words)
 * and Thumb-2 (16- and 32-bit instructions). The only 32-bit ARM file that includes capstone.h:
 * Capstone lists code and is the safety net that refuses any instruction reading PC that the
 * classes below do not handle; the classes themselves are decoded from their fixed encodings.
 *
 * A template's state is its function pointer's bit 0 (set: Thumb). Its copies run in the same
 * state, so a typed thunk's pointer carries the template's bit 0: a Thumb template gives a
 * Thumb thunk, called with bx/blx like any Thumb function, from either state.
 *
 * What depends on where an instruction sits, and what it becomes ("=value" is a literal in a pool
 * after the tail, so an image holds only absolute addresses and references to itself):
 *
 *   ldr rt, [pc, #imm]        ldr rt, =address ; ldr rt, [rt]
 *   adr rd, label             ldr rd, =address
 *   add rd, pc, rm            add rd, rm, #part (the PC value in up to four immediate adds: no
 *   (Thumb: add rdn, pc)      scratch register needed)
 *   bl / blx out of the range ldr ip, =target ; blx ip (ip is free at a call boundary)
 *   b, b<cond>, cbz, cbnz     re-displaced when the target is inside the range or is its end
 *                             (where the tail continues); Thumb b and b<cond> become their
 *                             32-bit forms, which reach any target of the image
 *   it                        copied when every instruction it makes conditional is copied as
 *                             it is (a rewritten one would fall outside the block's reach)
 *
 * Refused (CFFI_ERELOC, naming the instruction): branches that leave the range, calls into it,
 * conditional calls and literal loads, literal loads into PC, other loads relative to PC (ldrd,
 * ldrb, vldr: they would need a scratch register), table branches, and any other instruction
 * that reads PC as a value.
 */
#include "reloc/reloc.h"

#include <capstone/capstone.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    MAX_INSNS = 1024,
    MAX_IMMEDIATES = 4, /* immediate adds that make up any 32-bit value */
    REG_IP = 12,
    REG_SP = 13,
    REG_PC = 15,
    COND_ALWAYS = 14,
    THUMB_NOP = 0xbf00,
    THUMB_BLX_IP = 0x47e0,   /* blx ip */
    ARM_BLX_IP = 0xe12fff3c, /* blx ip */
    ARM_LDR_PC_MINUS4 = 0xe51ff004, /* ldr pc, [pc, #-4]: the word after it */
    THUMB_LDR_PC_PLUS0 = 0xf8dff000, /* ldr.w pc, [pc, #0]: the word after it (aligned) */
};

typedef enum kind {
    K_COPY,     /* position independent: the same bytes */
    K_LDR_LIT,  /* ldr rt, [pc, #imm]: ldr rt, =address ; ldr rt, [rt] */
    K_ADR,      /* adr / add rd, pc, #imm / sub rd, pc, #imm: ldr rd, =value */
    K_ADD_PC,   /* add rd, pc, rm: immediate adds of the PC value to rm */
    K_CALL_OUT, /* bl / blx outside the range: ldr ip, =target ; blx ip */
    K_BRANCH,   /* b, b<cond>, cbz, cbnz inside the range (or to its end): re-displaced */
    K_IT,       /* Thumb it: copied, covering `count` instructions */
} kind;

typedef struct item {
    kind kind;
    size_t off, size;  /* in the source */
    uint32_t insn;     /* ARM: the word; Thumb: the halfword, or both, the first one high */
    unsigned rd, rm;   /* K_LDR_LIT, K_ADR, K_ADD_PC: the destination; K_ADD_PC: the addend */
    uint32_t value;    /* K_LDR_LIT: the literal's address; K_ADR: the value; K_ADD_PC: what PC
                        * reads; K_CALL_OUT: the target, bit 0 set for Thumb */
    size_t target;     /* K_BRANCH: offset of the target in the range (len: the tail) */
    unsigned cond;     /* K_BRANCH: condition (COND_ALWAYS: none); K_IT: instructions covered */
    bool cbz;          /* K_BRANCH: cbz or cbnz (keeps its 16-bit form) */
    size_t at, out_size; /* where its replacement goes in the image, and its size */
} item;

/* One relocation job. */
typedef struct job {
    const uint8_t *src; /* the range, without the state bit */
    size_t len;
    bool thumb;
    csh cs;
    item *items;
    size_t n;
    char *errbuf;
    size_t errlen;
} job;

static uint32_t word_at(const uint8_t *p) {
    uint32_t w;
    memcpy(&w, p, sizeof w);
    return w;
}
static uint16_t half_at(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, sizeof h);
    return h;
}
static void put_word(uint8_t *p, uint32_t w) { memcpy(p, &w, sizeof w); }
static void put_half(uint8_t *p, uint16_t h) { memcpy(p, &h, sizeof h); }
/* A 32-bit Thumb instruction: first halfword (the high half of w) first. */
static void put_thumb32(uint8_t *p, uint32_t w) {
    put_half(p, (uint16_t)(w >> 16));
    put_half(p + 2, (uint16_t)w);
}
static int32_t sign_extend(uint32_t v, unsigned bits) {
    uint32_t m = (uint32_t)1 << (bits - 1);
    return (int32_t)((v ^ m) - m);
}
static uint32_t ror32(uint32_t v, unsigned r) { return r ? v >> r | v << (32 - r) : v; }

/* ---------------------------------------------------------------------------------------------
 * Description (messages, cffi_disasm) and the PC safety net, through Capstone.
 */
static bool cs_start(csh *h, bool thumb) {
    if (cs_open(CS_ARCH_ARM, thumb ? CS_MODE_THUMB : CS_MODE_ARM, h) != CS_ERR_OK) return false;
    cs_option(*h, CS_OPT_DETAIL, CS_OPT_ON);
    return true;
}

/* Whether the decoded instruction reads PC as a value (not as a branch target it writes). */
static bool reads_pc(const cs_insn *in) {
    const cs_arm *arm = &in->detail->arm;
    for (uint8_t i = 0; i < arm->op_count; i++) {
        const cs_arm_op *op = &arm->operands[i];
        if (op->type == ARM_OP_REG && op->reg == ARM_REG_PC && (op->access & CS_AC_READ))
            return true;
        if (op->type == ARM_OP_MEM && (op->mem.base == ARM_REG_PC || op->mem.index == ARM_REG_PC))
            return true;
    }
    return false;
}

/* Whether the decoded instruction ends the flow: an unconditional branch or a write of PC that
 * is not a call. */
static bool ends_flow(const cs_insn *in) {
    const cs_arm *arm = &in->detail->arm;
    if (in->id == ARM_INS_BL || in->id == ARM_INS_BLX) return false;
    if ((in->id == ARM_INS_B || in->id == ARM_INS_BX) && arm->cc == ARM_CC_AL) return true;
    for (uint8_t i = 0; i < arm->op_count; i++)
        if (arm->operands[i].type == ARM_OP_REG && arm->operands[i].reg == ARM_REG_PC &&
            (arm->operands[i].access & CS_AC_WRITE) && arm->cc == ARM_CC_AL)
            return true;
    return false;
}

/* Decode one instruction at p; *in is cs_free'd by the caller. Returns its size, 0 if none. */
static size_t cs_one(csh h, const uint8_t *p, size_t max, cs_insn **in) {
    if (cs_disasm(h, p, max < 4 ? max : 4, (uint64_t)(uintptr_t)p, 1, in) != 1) return 0;
    return (*in)->size;
}

size_t cffi_reloc_describe(const void *code, size_t max, char *text, size_t textlen,
                           bool *ends) {
    *ends = false;
    if (textlen) text[0] = '\0';
    bool thumb = (uintptr_t)code & 1;
    const uint8_t *p = (const uint8_t *)((uintptr_t)code & ~(uintptr_t)1);
    csh h;
    if (max < 2 || !cs_start(&h, thumb)) return 0;
    cs_insn *in = NULL;
    size_t size = cs_one(h, p, max, &in);
    if (size) {
        snprintf(text, textlen, "%s%s%s", in->mnemonic, in->op_str[0] ? " " : "", in->op_str);
        *ends = ends_flow(in);
        cs_free(in, 1);
    }
    cs_close(&h);
    return size;
}

static cffi_status refuse(job *j, size_t off, const char *why) {
    char text[96];
    bool ends;
    const uint8_t *p = j->src + off;
    if (cffi_reloc_describe((const void *)((uintptr_t)p | j->thumb), j->len - off + 4, text,
                            sizeof text, &ends) == 0)
        snprintf(text, sizeof text, ".inst 0x%08x", word_at(p));
    cffi_errorf(j->errbuf, j->errlen, "`%s` at +%zu: %s", text, off, why);
    return CFFI_ERELOC;
}

cffi_status cffi_reloc_find_block(const void *fn, size_t limit, cffi_reloc_block *out,
                                  char *errbuf, size_t errlen) {
    bool thumb = (uintptr_t)fn & 1;
    const uint8_t *code = (const uint8_t *)((uintptr_t)fn & ~(uintptr_t)1);
    /* Every instruction starts on a halfword (Thumb) or word (ARM) boundary; the block never
     * appears inside another instruction's bytes in the code before it. */
    for (size_t off = 0; off + CFFI_BAREFN_BLOCK_SIZE <= limit; off += thumb ? 2 : 4)
        if (cffi_arch_barefn_is_block(code + off)) {
            cffi_arch_barefn_fill_block(code, off, out);
            if (out->code_tag != (uintptr_t)thumb) continue; /* the other state's pattern */
            return CFFI_OK;
        }
    cffi_errorf(errbuf, errlen, "no CFFI_BAREFN_RECORD block in the first %zu bytes", limit);
    return CFFI_ERELOC;
}

/* ---------------------------------------------------------------------------------------------
 * Classification.
 */

/* A branch or call at off to target (an absolute address): a call leaves the range, a branch
 * stays inside it or goes to its end. */
static cffi_status branch_to(job *j, item *it, uint32_t target, bool call, bool target_thumb) {
    uint32_t lo = (uint32_t)(uintptr_t)j->src;
    bool inside = target >= lo && target < lo + j->len;
    if (call) {
        if (inside)
            return refuse(j, it->off, "a call into the relocated code (its return address "
                                      "would differ)");
        it->kind = K_CALL_OUT;
        it->value = target | (target_thumb ? 1u : 0u);
        return CFFI_OK;
    }
    if (!inside && target != lo + j->len)
        return refuse(j, it->off, "a branch out of the relocated code (the code it reaches "
                                  "would run without the state the copy set up)");
    it->kind = K_BRANCH;
    it->target = target - lo;
    return CFFI_OK;
}

static cffi_status classify_arm(job *j, item *it) {
    const uint8_t *p = j->src + it->off;
    uint32_t w = word_at(p), pc = (uint32_t)(uintptr_t)p + 8, cond = w >> 28;
    it->size = 4;
    it->insn = w;
    it->cond = cond;
    if (cond == 0xf) {
        if ((w & 0xfe000000) == 0xfa000000) /* blx label: into Thumb */
            return branch_to(j, it, pc + (uint32_t)(sign_extend(w & 0xffffff, 24) * 4) +
                                        ((w >> 23) & 2), true, true);
        return CFFI_OK;
    }
    if ((w & 0x0e000000) == 0x0a000000) { /* b / bl */
        bool call = w & 0x01000000;
        if (call && cond != COND_ALWAYS) return refuse(j, it->off, "a conditional call");
        return branch_to(j, it, pc + (uint32_t)(sign_extend(w & 0xffffff, 24) * 4), call, false);
    }
    unsigned rd = (w >> 12) & 15;
    bool literal = (w & 0x0f7f0000) == 0x051f0000;                     /* ldr rt, [pc, #±imm] */
    bool adr = (w & 0x0fff0000) == 0x028f0000 || (w & 0x0fff0000) == 0x024f0000;
    bool add_pc = (w & 0x0ff00ff0) == 0x00800000 &&                      /* add rd, rn, rm */
                  (((w >> 16) & 15) == REG_PC) != ((w & 15) == REG_PC);
    if (!literal && !adr && !add_pc) return CFFI_OK;
    if (cond != COND_ALWAYS) return refuse(j, it->off, "a conditional use of PC");
    if (rd == REG_PC) return refuse(j, it->off, "a jump computed from PC");
    it->rd = rd;
    if (literal) {
        it->kind = K_LDR_LIT;
        it->value = (w & 0x00800000) ? pc + (w & 0xfff) : pc - (w & 0xfff);
    } else if (adr) {
        uint32_t imm = ror32(w & 0xff, 2 * ((w >> 8) & 15));
        it->kind = K_ADR;
        it->value = (w & 0x00800000) ? pc + imm : pc - imm;
    } else {
        it->kind = K_ADD_PC;
        it->rm = ((w >> 16) & 15) == REG_PC ? (w & 15) : (w >> 16) & 15;
        it->value = pc;
    }
    return CFFI_OK;
}

/* The immediate of a 32-bit Thumb b, bl or blx (T4 form) and of b<cond>.w (T3 form). */
static int32_t thumb_imm_t4(uint32_t w) {
    uint32_t s = (w >> 26) & 1, j1 = (w >> 13) & 1, j2 = (w >> 11) & 1;
    uint32_t i1 = !(j1 ^ s), i2 = !(j2 ^ s);
    uint32_t imm = s << 24 | i1 << 23 | i2 << 22 | ((w >> 16) & 0x3ff) << 12 | (w & 0x7ff) << 1;
    return sign_extend(imm, 25);
}
static int32_t thumb_imm_t3(uint32_t w) {
    uint32_t s = (w >> 26) & 1, j1 = (w >> 13) & 1, j2 = (w >> 11) & 1;
    uint32_t imm = s << 20 | j2 << 19 | j1 << 18 | ((w >> 16) & 0x3f) << 12 | (w & 0x7ff) << 1;
    return sign_extend(imm, 21);
}

static cffi_status classify_thumb16(job *j, item *it, uint16_t h, uint32_t pc) {
    uint32_t aligned_pc = pc & ~3u;
    if ((h & 0xf800) == 0x4800 || (h & 0xf800) == 0xa000) { /* ldr rt, [pc, #] / adr rd */
        it->kind = (h & 0xf800) == 0x4800 ? K_LDR_LIT : K_ADR;
        it->rd = (h >> 8) & 7;
        it->value = aligned_pc + (h & 0xff) * 4u;
    } else if ((h & 0xff78) == 0x4478) { /* add rdn, pc */
        it->rd = it->rm = ((h >> 4) & 8) | (h & 7);
        if (it->rd == REG_PC || it->rd == REG_SP)
            return refuse(j, it->off, "an addition of PC to PC or SP");
        it->kind = K_ADD_PC;
        it->value = pc;
    } else if ((h & 0xf000) == 0xd000 && ((h >> 8) & 15) < COND_ALWAYS) { /* b<cond> */
        it->cond = (h >> 8) & 15;
        return branch_to(j, it, pc + (uint32_t)(sign_extend(h & 0xff, 8) * 2), false, true);
    } else if ((h & 0xf800) == 0xe000) { /* b */
        return branch_to(j, it, pc + (uint32_t)(sign_extend(h & 0x7ff, 11) * 2), false, true);
    } else if ((h & 0xf500) == 0xb100) { /* cbz, cbnz */
        it->cbz = true;
        return branch_to(j, it, pc + (((h >> 9) & 1u) << 6 | ((h >> 3) & 0x1fu) << 1), false,
                         true);
    } else if ((h & 0xff00) == 0xbf00 && (h & 15)) { /* it */
        it->kind = K_IT;
        it->cond = 4 - (unsigned)__builtin_ctz(h & 15);
    }
    return CFFI_OK;
}

static cffi_status classify_thumb32(job *j, item *it, uint32_t w, uint32_t pc) {
    uint32_t aligned_pc = pc & ~3u, hw1 = w >> 16;
    unsigned rt = (w >> 12) & 15;
    if ((hw1 & 0xff7f) == 0xf85f) { /* ldr.w rt, [pc, #±imm12] */
        if (rt == REG_PC) return refuse(j, it->off, "a literal load into PC");
        it->kind = K_LDR_LIT;
        it->rd = rt;
        it->value = (hw1 & 0x80) ? aligned_pc + (w & 0xfff) : aligned_pc - (w & 0xfff);
        return CFFI_OK;
    }
    if (((hw1 & 0xfbff) == 0xf20f || (hw1 & 0xfbff) == 0xf2af) && !(w & 0x8000)) { /* adr.w */
        uint32_t imm = ((hw1 >> 10) & 1) << 11 | ((w >> 12) & 7) << 8 | (w & 0xff);
        it->kind = K_ADR;
        it->rd = (w >> 8) & 15;
        if (it->rd == REG_PC || it->rd == REG_SP) return refuse(j, it->off, "adr into PC or SP");
        it->value = (hw1 & 0xfbff) == 0xf20f ? aligned_pc + imm : aligned_pc - imm;
        return CFFI_OK;
    }
    if ((hw1 & 0xf800) != 0xf000 || !(w & 0x8000)) return CFFI_OK;
    switch (w & 0xd000) {
    case 0x9000: return branch_to(j, it, pc + (uint32_t)thumb_imm_t4(w), false, true); /* b.w */
    case 0xd000: return branch_to(j, it, pc + (uint32_t)thumb_imm_t4(w), true, true);  /* bl */
    case 0xc000: /* blx label: into ARM state, from the aligned PC */
        return branch_to(j, it, aligned_pc + (uint32_t)thumb_imm_t4(w), true, false);
    case 0x8000:
        if (((hw1 >> 6) & 15) >= COND_ALWAYS) return CFFI_OK; /* miscellaneous control */
        it->cond = (hw1 >> 6) & 15;
        return branch_to(j, it, pc + (uint32_t)thumb_imm_t3(w), false, true);
    }
    return CFFI_OK;
}

static cffi_status classify_thumb(job *j, item *it) {
    const uint8_t *p = j->src + it->off;
    uint16_t h = half_at(p);
    uint32_t pc = (uint32_t)(uintptr_t)p + 4;
    it->cond = COND_ALWAYS;
    if ((h >> 11) < 0x1d) {
        it->size = 2;
        it->insn = h;
        return classify_thumb16(j, it, h, pc);
    }
    it->size = 4;
    it->insn = (uint32_t)h << 16 | half_at(p + 2);
    return classify_thumb32(j, it, it->insn, pc);
}

/* Classify every instruction of the range; the ones left as copies must not read PC. */
static cffi_status classify_all(job *j) {
    size_t off = 0;
    while (off < j->len) {
        if (j->n == MAX_INSNS) return refuse(j, off, "too many instructions before the block");
        item *it = &j->items[j->n];
        *it = (item){.kind = K_COPY, .off = off};
        cffi_status st = j->thumb ? classify_thumb(j, it) : classify_arm(j, it);
        if (st != CFFI_OK) return st;
        if (off + it->size > j->len) return refuse(j, off, "an instruction across the block");
        if (it->kind == K_COPY || it->kind == K_IT) {
            cs_insn *in = NULL;
            if (cs_one(j->cs, j->src + off, j->len - off, &in) != it->size) {
                if (in) cs_free(in, 1);
                return refuse(j, off, "an instruction the disassembler does not decode");
            }
            bool pc_read = reads_pc(in);
            cs_free(in, 1);
            if (pc_read) return refuse(j, off, "an instruction that reads PC");
        }
        off += it->size;
        j->n++;
    }
    /* An it block's instructions stay in its shadow only if none of them grows. */
    for (size_t i = 0; i < j->n; i++) {
        if (j->items[i].kind != K_IT) continue;
        for (size_t k = 1; k <= j->items[i].cond; k++)
            if (i + k >= j->n || j->items[i + k].kind != K_COPY)
                return refuse(j, j->items[i].off, "an it block around an instruction that must "
                                                  "be rewritten (or around the block)");
    }
    return CFFI_OK;
}

/* ---------------------------------------------------------------------------------------------
 * Layout and emission.
 */

/* Split v into immediate operands of add: ARM's (8 bits rotated by an even amount) or Thumb-2's
 * (8 bits with the top one set, shifted; or a plain byte). Encoded fields into imm[], their
 * count returned: each covers 8 bits of v below the last, so at most 4. */
static size_t split_immediates(uint32_t v, bool thumb, uint32_t imm[MAX_IMMEDIATES]) {
    size_t n = 0;
    while (v) {
        unsigned top = 31 - (unsigned)__builtin_clz(v);
        if (v < 256) { /* a plain byte: rotation 0 in both encodings */
            imm[n++] = v;
            break;
        }
        unsigned shift = top - 7;
        if (!thumb && (shift & 1)) shift++; /* ARM rotates by even amounts: top stays inside */
        uint32_t part = v & (0xffu << shift);
        imm[n++] = thumb ? ((32 - shift) << 7) | ((part >> shift) & 0x7f)
                         : (((32 - shift) / 2) & 15) << 8 | (part >> shift);
        v -= part;
    }
    return n;
}

static size_t replacement_size(const job *j, const item *it) {
    uint32_t imm[MAX_IMMEDIATES];
    switch (it->kind) {
    case K_COPY:
    case K_IT: return it->size;
    case K_LDR_LIT: return 8;
    case K_ADR: return 4;
    case K_ADD_PC: return 4 * split_immediates(it->value, j->thumb, imm);
    case K_CALL_OUT: return j->thumb ? 6 : 8;
    case K_BRANCH: return it->cbz ? 2 : 4;
    }
    return it->size;
}

static size_t literal_count(const item *it) {
    return it->kind == K_LDR_LIT || it->kind == K_ADR || it->kind == K_CALL_OUT;
}

/* ldr rt, =literal at image offset at; false if out of reach. */
static bool emit_ldr_literal(const job *j, uint8_t *out, size_t at, unsigned rt, size_t literal) {
    if (j->thumb) { /* counts from the word-aligned PC, 4 ahead */
        int64_t disp = (int64_t)literal - (int64_t)((at + 4) & ~(size_t)3);
        if (disp < -4095 || disp > 4095) return false;
        uint32_t up = disp >= 0 ? 0x00800000u : 0; /* U, in the first halfword */
        put_thumb32(out + at, 0xf85f0000u | up | rt << 12 | (uint32_t)(disp < 0 ? -disp : disp));
        return true;
    }
    int64_t disp = (int64_t)literal - (int64_t)(at + 8);
    if (disp < -4095 || disp > 4095) return false;
    put_word(out + at, 0xe51f0000u | (disp >= 0 ? 0x00800000u : 0) | rt << 12 |
                           (uint32_t)(disp < 0 ? -disp : disp));
    return true;
}

/* The branch it re-displaced from image offset at to image offset to; false if out of reach. */
static bool emit_branch(const job *j, const item *it, uint8_t *out, size_t at, size_t to) {
    if (!j->thumb) {
        int64_t disp = ((int64_t)to - (int64_t)(at + 8)) / 4;
        put_word(out + at, (it->insn & 0xff000000u) | ((uint32_t)disp & 0xffffff));
        return true;
    }
    int64_t disp = (int64_t)to - (int64_t)(at + 4);
    if (it->cbz) {
        if (disp < 0 || disp > 126) return false;
        uint32_t d = (uint32_t)disp;
        put_half(out + at, (uint16_t)((it->insn & 0xfd07) | ((d >> 6) & 1) << 9 |
                                      ((d >> 1) & 0x1f) << 3));
        return true;
    }
    uint32_t d = (uint32_t)disp, s = (d >> 31) & 1;
    if (it->cond == COND_ALWAYS) { /* b.w: 25-bit reach */
        uint32_t j1 = (~(d >> 23) ^ s) & 1, j2 = (~(d >> 22) ^ s) & 1;
        put_thumb32(out + at, 0xf0009000u | s << 26 | ((d >> 12) & 0x3ff) << 16 | j1 << 13 |
                                  j2 << 11 | ((d >> 1) & 0x7ff));
        return true;
    }
    if (disp < -(1 << 20) || disp >= (1 << 20)) return false;
    uint32_t j1 = (d >> 18) & 1, j2 = (d >> 19) & 1; /* b<cond>.w: 21-bit reach */
    put_thumb32(out + at, 0xf0008000u | s << 26 | it->cond << 22 | ((d >> 12) & 0x3f) << 16 |
                              j1 << 13 | j2 << 11 | ((d >> 1) & 0x7ff));
    return true;
}

/* The immediate adds of K_ADD_PC: rd = rm + value. */
static void emit_add_pc(const job *j, const item *it, uint8_t *out) {
    uint32_t imm[MAX_IMMEDIATES];
    size_t n = split_immediates(it->value, j->thumb, imm);
    unsigned from = it->rm;
    for (size_t k = 0; k < n; k++, from = it->rd) {
        uint8_t *dst = out + it->at + 4 * k;
        if (j->thumb) /* add.w rd, rn, #imm (T3, flags untouched) */
            put_thumb32(dst, 0xf1000000u | (imm[k] >> 11) << 26 | from << 16 |
                                 ((imm[k] >> 8) & 7) << 12 | it->rd << 8 | (imm[k] & 0xff));
        else /* add rd, rn, #imm */
            put_word(dst, 0xe2800000u | from << 16 | it->rd << 12 | imm[k]);
    }
}

/* The image offset of the instruction at source offset off (the tail for the range's end). */
static size_t image_offset(const job *j, size_t off, size_t tail_entry) {
    if (off == j->len) return tail_entry;
    for (size_t i = 0; i < j->n; i++)
        if (j->items[i].off == off) return j->items[i].at;
    return SIZE_MAX; /* inside an instruction */
}

/* Write item i's replacement; its literal (if any) at *literal, which advances. */
static cffi_status emit_item(job *j, size_t i, uint8_t *out, size_t *literal, size_t tail_entry) {
    item *it = &j->items[i];
    uint8_t *dst = out + it->at;
    bool reach = true;
    switch (it->kind) {
    case K_COPY:
    case K_IT: memcpy(dst, j->src + it->off, it->size); break;
    case K_ADD_PC: emit_add_pc(j, it, out); break;
    case K_LDR_LIT:
    case K_ADR:
    case K_CALL_OUT: {
        unsigned reg = it->kind == K_CALL_OUT ? REG_IP : it->rd;
        put_word(out + *literal, it->value);
        reach = emit_ldr_literal(j, out, it->at, reg, *literal);
        *literal += 4;
        if (it->kind == K_LDR_LIT) { /* ldr rt, [rt] */
            if (j->thumb)
                put_thumb32(dst + 4, 0xf8d00000u | it->rd << 16 | it->rd << 12);
            else
                put_word(dst + 4, 0xe5900000u | it->rd << 16 | it->rd << 12);
        } else if (it->kind == K_CALL_OUT) {
            if (j->thumb)
                put_half(dst + 4, THUMB_BLX_IP);
            else
                put_word(dst + 4, ARM_BLX_IP);
        }
        break;
    }
    case K_BRANCH: {
        size_t to = image_offset(j, it->target, tail_entry);
        if (to == SIZE_MAX) return refuse(j, it->off, "a branch into the middle of an instruction");
        reach = emit_branch(j, it, out, it->at, to);
        break;
    }
    }
    return reach ? CFFI_OK : refuse(j, it->off, "a reference out of reach after relocation");
}

/* Lay out: the relocated range, a Thumb nop if the tail would not be word aligned (its loads
 * count from the aligned PC), the tail, the literal pool; the total a multiple of 4 so that a hop
 * placed after the image is aligned. */
static size_t layout(job *j, size_t tail_len, size_t *tail_entry, size_t *tail_at, size_t *pool) {
    size_t at = 0, literals = 0;
    for (size_t i = 0; i < j->n; i++) {
        j->items[i].at = at;
        j->items[i].out_size = replacement_size(j, &j->items[i]);
        at += j->items[i].out_size;
        literals += literal_count(&j->items[i]);
    }
    *tail_entry = at;
    *tail_at = (at + 3) & ~(size_t)3;
    *pool = (*tail_at + tail_len + 3) & ~(size_t)3;
    return *pool + 4 * literals;
}

cffi_status cffi_reloc_copy(const cffi_reloc_request *rq, uint8_t **image, size_t *image_len,
                            size_t *tail_off, char *errbuf, size_t errlen) {
    *image = NULL;
    *image_len = 0;
    job j = {.thumb = (uintptr_t)rq->src & 1, .len = rq->len, .errbuf = errbuf,
             .errlen = errlen};
    j.src = (const uint8_t *)((uintptr_t)rq->src & ~(uintptr_t)1);
    if ((!j.thumb && rq->len % 4) || rq->tail_len % 4) {
        cffi_errorf(errbuf, errlen, "%zu bytes of prologue: not whole instructions", rq->len);
        return CFFI_ERELOC;
    }
    j.items = calloc(MAX_INSNS, sizeof *j.items);
    if (!j.items) return CFFI_ENOMEM;
    if (!cs_start(&j.cs, j.thumb)) {
        free(j.items);
        cffi_errorf(errbuf, errlen, "the disassembler does not open");
        return CFFI_ERELOC;
    }
    cffi_status st = classify_all(&j);
    size_t tail_entry, tail_at, pool, total = 0;
    uint8_t *out = NULL;
    if (st == CFFI_OK) {
        total = layout(&j, rq->tail_len, &tail_entry, &tail_at, &pool);
        out = calloc(1, total);
        if (!out) st = CFFI_ENOMEM;
    }
    size_t literal = pool;
    for (size_t i = 0; i < j.n && st == CFFI_OK; i++)
        st = emit_item(&j, i, out, &literal, tail_entry);
    cs_close(&j.cs);
    free(j.items);
    if (st != CFFI_OK) {
        free(out);
        return st;
    }
    if (tail_at != tail_entry) put_half(out + tail_entry, THUMB_NOP);
    memcpy(out + tail_at, rq->tail, rq->tail_len);
    *image = out;
    *image_len = total;
    *tail_off = tail_at;
    return CFFI_OK;
}

/* ---------------------------------------------------------------------------------------------
 * Tails: the block's own record load and jump back, with the back slot set to the landing pad
 * (bit 0 set for a Thumb template, so that the load into PC stays in Thumb state).
 */
cffi_status cffi_reloc_tail_build(const cffi_reloc_block *blk, bool near, size_t max_body,
                                  cffi_reloc_tail *out) {
    (void)max_body; /* no body is copied: the tail always jumps back into the template */
    memset(out, 0, sizeof *out);
    if (near) return CFFI_OK; /* no near form on this target (blk->near_len is 0) */
    return cffi_reloc_tail_of_block(blk, out);
}

/* ---------------------------------------------------------------------------------------------
 * Gates and hops. The gate is the copy's first word: `b hop` in the copy's state (b.w in Thumb).
 * A hop is a load of PC from the word after it, which switches to the dead copy's state.
 */
void cffi_reloc_gate_closed(const uint8_t *gate_rx, const uint8_t *hop_rx,
                            uint8_t out[CFFI_RELOC_GATE_LEN]) {
    bool thumb = (uintptr_t)gate_rx & 1;
    uintptr_t gate = (uintptr_t)gate_rx & ~(uintptr_t)1, hop = (uintptr_t)hop_rx & ~(uintptr_t)1;
    if (thumb) {
        item b = {.kind = K_BRANCH, .cond = COND_ALWAYS};
        job j = {.thumb = true};
        emit_branch(&j, &b, out, 0, hop - gate); /* within CFFI_RELOC_GATE_REACH: always fits */
    } else {
        int32_t disp = (int32_t)(hop - (gate + 8)) / 4;
        put_word(out, 0xea000000u | ((uint32_t)disp & 0xffffff)); /* b hop */
    }
}

void cffi_reloc_put_hop(uint8_t *rw, const uint8_t *hop_rx, const uint8_t *to) {
    /* The hop is word aligned (images are whole words), so the literal is the next word in both
     * states: Thumb's PC reads 4 ahead, ARM's 8 ahead with a -4 offset. */
    if ((uintptr_t)hop_rx & 1)
        put_thumb32(rw, THUMB_LDR_PC_PLUS0);
    else
        put_word(rw, ARM_LDR_PC_MINUS4);
    put_word(rw + 4, (uint32_t)(uintptr_t)to);
}
