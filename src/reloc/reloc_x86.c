/*
 * reloc_x86.c - relocation of x86 code with Capstone (the only file that includes capstone.h).
 *
 * The relocator decodes a range of code once, classifies every instruction by what makes it
 * position dependent (read from Capstone's structured detail: branch groups, relative-branch
 * targets, RIP-based memory operands, encoding offsets, registers accessed), sizes the
 * replacement of each, then emits the image in one pass. Replacements:
 *
 *   jcc / jmp inside the range      jcc rel32 / jmp rel32, re-displaced within the image
 *   call rel32 out of the range     movabs $target, %r11 ; call *%r11
 *   call/jmp *disp(%rip)            movabs $slot, %r11 ; call/jmp *(%r11)
 *   lea disp(%rip), %r64            movabs $target, %r64
 *   any other op with disp(%rip)    lea -128(%rsp),%rsp ; push %s ; movabs $target, %s ;
 *                                   op with (%s) in place of disp(%rip) ; pop %s ;
 *                                   lea 128(%rsp),%rsp      (%s: a register the op does not use)
 *
 * r11 is free at every call and tail jump: both x86-64 conventions treat it as a caller-saved
 * scratch register that carries no argument. The push skips the System V red zone so that data a
 * function keeps below its stack pointer survives; lea and push/pop leave the flags alone.
 *
 * Refused (CFFI_ERELOC, naming the instruction): branches that leave the range (the code they
 * reach would run without the state the relocated prefix set up), calls into the range, branches
 * with no long form (jrcxz, loop*, xbegin), RIP-relative operands that also use the stack
 * pointer or that are EVEX-encoded, and anything that does not decode.
 *
 * Modes: x86-64 today. The x86-32 mode (PC-materialising call/pop and __x86.get_pc_thunk
 * patterns, where "position dependent" is a data-flow property rather than an addressing mode)
 * plugs in at x86_classify; the block finder and the emitter are shared.
 */
#include "reloc/reloc.h"

#include <capstone/capstone.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum x86_mode { X86_MODE_64, X86_MODE_32 } x86_mode;

#if defined(__x86_64__)
#define X86_NATIVE_MODE X86_MODE_64
#else
#define X86_NATIVE_MODE X86_MODE_32
#endif

/* Encodings the emitter writes. */
enum {
    OP_JCC_SHORT = 0x70,   /* 70+cc rel8 */
    OP_TWO_BYTE = 0x0F,    /* escape to the two-byte opcode map */
    OP_JCC_NEAR = 0x80,    /* 0F 80+cc rel32 */
    OP_CALL_REL32 = 0xE8,
    OP_JMP_REL32 = 0xE9,
    OP_MOV_IMM64 = 0xB8,   /* REX.W B8+r imm64 (movabs) */
    OP_PUSH_REG = 0x50,    /* 50+r */
    OP_POP_REG = 0x58,     /* 58+r */
    OP_LEA = 0x8D,
    OP_GRP5 = 0xFF,        /* /2 call r/m64, /4 jmp r/m64 */
    OP_VEX3 = 0xC4,
    OP_EVEX = 0x62,
    REX = 0x40,
    REX_W = 0x08,
    REX_B = 0x01,
    GRP5_CALL = 2,
    GRP5_JMP = 4,
    MODRM_RM_MASK = 0x07,
    MODRM_REG_MASK = 0x38,
    MODRM_MOD_DIRECT = 0xC0,
    MODRM_RIP = 0x05,      /* mod 00, rm 101: disp32(%rip) in 64-bit mode */
    MODRM_MOD_RIP_MASK = 0xC7,
    SIB_RSP = 0x24,        /* base rsp, no index */
    VEX3_NOT_B = 0x20,     /* inverted REX.B in the second byte of a three-byte VEX prefix */
    RED_ZONE = 128,
};
static const uint8_t ENDBR64[4] = {0xF3, 0x0F, 0x1E, 0xFA};

enum { R_AX = 0, R_CX, R_DX, R_BX, R_SP, R_BP, R_SI, R_DI, R_R11 = 11 };

/* ---------------------------------------------------------------------------------------------
 * Register families: every name of a general-purpose register, by hardware number.
 */
static const x86_reg gpr_names[16][5] = {
    {X86_REG_RAX, X86_REG_EAX, X86_REG_AX, X86_REG_AL, X86_REG_AH},
    {X86_REG_RCX, X86_REG_ECX, X86_REG_CX, X86_REG_CL, X86_REG_CH},
    {X86_REG_RDX, X86_REG_EDX, X86_REG_DX, X86_REG_DL, X86_REG_DH},
    {X86_REG_RBX, X86_REG_EBX, X86_REG_BX, X86_REG_BL, X86_REG_BH},
    {X86_REG_RSP, X86_REG_ESP, X86_REG_SP, X86_REG_SPL, X86_REG_INVALID},
    {X86_REG_RBP, X86_REG_EBP, X86_REG_BP, X86_REG_BPL, X86_REG_INVALID},
    {X86_REG_RSI, X86_REG_ESI, X86_REG_SI, X86_REG_SIL, X86_REG_INVALID},
    {X86_REG_RDI, X86_REG_EDI, X86_REG_DI, X86_REG_DIL, X86_REG_INVALID},
    {X86_REG_R8, X86_REG_R8D, X86_REG_R8W, X86_REG_R8B, X86_REG_INVALID},
    {X86_REG_R9, X86_REG_R9D, X86_REG_R9W, X86_REG_R9B, X86_REG_INVALID},
    {X86_REG_R10, X86_REG_R10D, X86_REG_R10W, X86_REG_R10B, X86_REG_INVALID},
    {X86_REG_R11, X86_REG_R11D, X86_REG_R11W, X86_REG_R11B, X86_REG_INVALID},
    {X86_REG_R12, X86_REG_R12D, X86_REG_R12W, X86_REG_R12B, X86_REG_INVALID},
    {X86_REG_R13, X86_REG_R13D, X86_REG_R13W, X86_REG_R13B, X86_REG_INVALID},
    {X86_REG_R14, X86_REG_R14D, X86_REG_R14W, X86_REG_R14B, X86_REG_INVALID},
    {X86_REG_R15, X86_REG_R15D, X86_REG_R15W, X86_REG_R15B, X86_REG_INVALID},
};

/* Hardware number of a general-purpose register name, -1 for other registers. */
static int gpr_number(unsigned reg) {
    if (reg == X86_REG_INVALID) return -1;
    for (int n = 0; n < 16; n++)
        for (int k = 0; k < 5; k++)
            if (gpr_names[n][k] == reg) return n;
    return -1;
}

/* ---------------------------------------------------------------------------------------------
 * Decoder sessions.
 */
static cs_err x86_open(x86_mode mode, bool detail, csh *h) {
    cs_err e = cs_open(CS_ARCH_X86, mode == X86_MODE_64 ? CS_MODE_64 : CS_MODE_32, h);
    if (e != CS_ERR_OK) return e;
    if (detail && (e = cs_option(*h, CS_OPT_DETAIL, CS_OPT_ON)) != CS_ERR_OK) cs_close(h);
    return e;
}

/* Decode one instruction at code (max bytes) as if it sat at its own address. */
static bool x86_decode(csh h, const uint8_t *code, size_t max, cs_insn *insn) {
    const uint8_t *p = code;
    uint64_t addr = (uint64_t)(uintptr_t)code;
    return cs_disasm_iter(h, &p, &max, &addr, insn);
}

/* ---------------------------------------------------------------------------------------------
 * The barefn template block (see CFFI_BAREFN_RECORD in cffi.h):
 *   48 B8 <record slot: 8>        movabs $record, %rax
 *   FF 25 00 00 00 00             jmp *1f(%rip)
 *   1: <back slot: 8>
 *   F3 0F 1E FA                   endbr64 (landing pad)
 */
enum {
    BLOCK_RECORD_SLOT = 2,
    BLOCK_JMP = 10,
    BLOCK_BACK_SLOT = 16,
    BLOCK_LANDING = 24,
    BLOCK_SIZE = 28,
};

static bool x64_is_block(const uint8_t *p) {
    static const uint8_t movabs_rax[2] = {REX | REX_W, OP_MOV_IMM64 + R_AX};
    static const uint8_t jmp_rip_next[6] = {OP_GRP5, (GRP5_JMP << 3) | MODRM_RIP, 0, 0, 0, 0};
    uint64_t rec = CFFI_BAREFN_X64_RECORD_MAGIC, back = CFFI_BAREFN_X64_BACK_MAGIC;
    return memcmp(p, movabs_rax, 2) == 0 && memcmp(p + BLOCK_RECORD_SLOT, &rec, 8) == 0 &&
           memcmp(p + BLOCK_JMP, jmp_rip_next, 6) == 0 &&
           memcmp(p + BLOCK_BACK_SLOT, &back, 8) == 0 &&
           memcmp(p + BLOCK_LANDING, ENDBR64, 4) == 0;
}

cffi_status cffi_reloc_find_block(const void *fn, size_t limit, cffi_reloc_block *out,
                                  char *errbuf, size_t errlen) {
    if (X86_NATIVE_MODE != X86_MODE_64) {
        cffi_errorf(errbuf, errlen, "typed thunks are not relocatable on x86-32 yet");
        return CFFI_ERELOC;
    }
    csh h;
    if (x86_open(X86_NATIVE_MODE, false, &h) != CS_ERR_OK) {
        cffi_errorf(errbuf, errlen, "cannot open the x86 disassembler");
        return CFFI_ERELOC;
    }
    cs_insn *insn = cs_malloc(h);
    if (!insn) {
        cs_close(&h);
        return CFFI_ENOMEM;
    }
    const uint8_t *code = fn;
    cffi_status st = CFFI_ERELOC;
    size_t off = 0;
    cffi_errorf(errbuf, errlen, "no CFFI_BAREFN_RECORD block in the first %zu bytes", limit);
    /* Step instruction by instruction so that the block is recognised only at an instruction
     * boundary of the template's own decoding. */
    while (off + BLOCK_SIZE <= limit) {
        if (x64_is_block(code + off)) {
            out->prologue_len = off;
            out->block_len = BLOCK_LANDING;
            out->record_slot = BLOCK_RECORD_SLOT;
            out->back_slot = BLOCK_BACK_SLOT;
            out->slot_size = 8;
            out->landing = code + off + BLOCK_LANDING;
            st = CFFI_OK;
            break;
        }
        if (!x86_decode(h, code + off, limit - off, insn)) {
            cffi_errorf(errbuf, errlen, "undecodable byte 0x%02x at +%zu before the record block",
                        code[off], off);
            break;
        }
        off += insn->size;
    }
    cs_free(insn, 1);
    cs_close(&h);
    return st;
}

/* ---------------------------------------------------------------------------------------------
 * Relocation.
 */
typedef enum item_kind {
    K_COPY,        /* position independent: copied as is */
    K_JCC,         /* conditional branch inside the range */
    K_JMP,         /* unconditional relative jump inside the range */
    K_CALL_ABS,    /* relative call out of the range */
    K_RIP_BRANCH,  /* call/jmp through a RIP-relative memory operand */
    K_RIP_LEA,     /* lea disp(%rip) into a 64-bit register */
    K_RIP_SCRATCH, /* any other RIP-relative operand */
} item_kind;

typedef struct item {
    size_t off, len;       /* in the source */
    size_t new_off, new_len;
    item_kind kind;
    uint64_t target;       /* branch target or RIP-relative address */
    uint8_t cc;            /* K_JCC: condition code */
    uint8_t reg;           /* K_RIP_LEA: destination; K_RIP_SCRATCH: scratch; K_RIP_BRANCH: /r */
    uint8_t modrm_off;     /* K_RIP_SCRATCH */
} item;

/* Message "cannot relocate `insn` at +off: why". */
static cffi_status refuse(char *errbuf, size_t errlen, const cs_insn *in, size_t off,
                          const char *why) {
    cffi_errorf(errbuf, errlen, "cannot relocate `%s%s%s` at +%zu: %s", in->mnemonic,
                in->op_str[0] ? " " : "", in->op_str, off, why);
    return CFFI_ERELOC;
}

/* Index of the first opcode or VEX/EVEX byte, after legacy prefixes and REX. */
static size_t skip_prefixes(const uint8_t *p, size_t len, uint8_t *rex) {
    size_t i = 0;
    *rex = 0;
    while (i < len) {
        switch (p[i]) {
        case 0xF0: case 0xF2: case 0xF3:                       /* lock, repne, rep */
        case 0x2E: case 0x36: case 0x3E: case 0x26: case 0x64: case 0x65: /* segments */
        case 0x66: case 0x67:                                   /* operand, address size */
            i++;
            continue;
        }
        break;
    }
    if (i < len && (p[i] & 0xF0) == REX) *rex = p[i++];
    return i;
}

/* Classify a RIP-relative instruction (64-bit mode). */
static cffi_status classify_riprel(csh h, const cs_insn *in, const cs_x86_op *mem, item *it,
                                   char *errbuf, size_t errlen) {
    const cs_x86 *x = &in->detail->x86;
    const uint8_t *b = in->bytes;
    it->target = in->address + in->size + (uint64_t)mem->mem.disp;

    if (in->id == X86_INS_CALL || in->id == X86_INS_JMP) {
        it->kind = K_RIP_BRANCH;
        it->reg = in->id == X86_INS_CALL ? GRP5_CALL : GRP5_JMP;
        return CFFI_OK;
    }
    if (in->id == X86_INS_LEA && x->op_count == 2 && x->operands[0].type == X86_OP_REG &&
        x->operands[0].size == 8) {
        it->kind = K_RIP_LEA;
        it->reg = (uint8_t)gpr_number(x->operands[0].reg);
        return CFFI_OK;
    }

    /* General form: swap disp32(%rip) for (%scratch). */
    if (x->encoding.modrm_offset == 0 || x->encoding.disp_size != 4 ||
        x->encoding.disp_offset != x->encoding.modrm_offset + 1 ||
        (b[x->encoding.modrm_offset] & MODRM_MOD_RIP_MASK) != MODRM_RIP)
        return refuse(errbuf, errlen, in, it->off, "unexpected encoding of a RIP-relative operand");
    uint8_t rex;
    size_t op = skip_prefixes(b, in->size, &rex);
    if (rex & REX_B) return refuse(errbuf, errlen, in, it->off, "REX.B set on a RIP operand");
    if (op < in->size && b[op] == OP_EVEX)
        return refuse(errbuf, errlen, in, it->off, "EVEX-encoded RIP-relative operand");
    if (op + 1 < in->size && b[op] == OP_VEX3 && !(b[op + 1] & VEX3_NOT_B))
        return refuse(errbuf, errlen, in, it->off, "VEX.B set on a RIP operand");

    /* Registers the instruction touches, explicitly or implicitly. */
    unsigned used = 0;
    cs_regs rd, wr;
    uint8_t nrd = 0, nwr = 0;
    if (cs_regs_access(h, in, rd, &nrd, wr, &nwr) != CS_ERR_OK)
        return refuse(errbuf, errlen, in, it->off, "registers accessed are unknown");
    for (uint8_t i = 0; i < nrd; i++)
        if (gpr_number(rd[i]) >= 0) used |= 1u << gpr_number(rd[i]);
    for (uint8_t i = 0; i < nwr; i++)
        if (gpr_number(wr[i]) >= 0) used |= 1u << gpr_number(wr[i]);
    for (uint8_t i = 0; i < x->op_count; i++)
        if (x->operands[i].type == X86_OP_REG && gpr_number(x->operands[i].reg) >= 0)
            used |= 1u << gpr_number(x->operands[i].reg);
    if (used & (1u << R_SP))
        return refuse(errbuf, errlen, in, it->off, "RIP-relative operand with a stack access");

    /* Scratch candidates: encodable as a plain ModRM base with no REX and no SIB. */
    static const uint8_t candidates[] = {R_AX, R_CX, R_DX, R_BX, R_SI, R_DI};
    for (size_t i = 0; i < sizeof candidates; i++) {
        if (!(used & (1u << candidates[i]))) {
            it->kind = K_RIP_SCRATCH;
            it->reg = candidates[i];
            it->modrm_off = x->encoding.modrm_offset;
            return CFFI_OK;
        }
    }
    return refuse(errbuf, errlen, in, it->off, "no free scratch register");
}

/* Classify one instruction of the range [base, base+len). */
static cffi_status x86_classify(csh h, x86_mode mode, const cs_insn *in, const uint8_t *base,
                                size_t len, item *it, char *errbuf, size_t errlen) {
    const cs_x86 *x = &in->detail->x86;
    uint64_t lo = (uint64_t)(uintptr_t)base, hi = lo + len;
    it->kind = K_COPY;
    if (mode != X86_MODE_64)
        return refuse(errbuf, errlen, in, it->off, "x86-32 relocation is not implemented yet");

    if (cs_insn_group(h, in, X86_GRP_BRANCH_RELATIVE)) {
        it->target = (uint64_t)x->operands[0].imm;
        bool inside = it->target >= lo && it->target <= hi;
        switch (in->id) {
        case X86_INS_JMP:
            if (!inside) return refuse(errbuf, errlen, in, it->off, "jump leaves the relocated code");
            it->kind = K_JMP;
            return CFFI_OK;
        case X86_INS_CALL:
            if (inside) return refuse(errbuf, errlen, in, it->off, "call into the relocated code");
            it->kind = K_CALL_ABS;
            return CFFI_OK;
        default:
            break;
        }
        uint8_t cc;
        if ((x->opcode[0] & 0xF0) == OP_JCC_SHORT)
            cc = x->opcode[0] & 0x0F;
        else if (x->opcode[0] == OP_TWO_BYTE && (x->opcode[1] & 0xF0) == OP_JCC_NEAR)
            cc = x->opcode[1] & 0x0F;
        else
            return refuse(errbuf, errlen, in, it->off, "relative branch without a long form");
        if (!inside)
            return refuse(errbuf, errlen, in, it->off, "branch leaves the relocated code");
        it->kind = K_JCC;
        it->cc = cc;
        return CFFI_OK;
    }

    for (uint8_t i = 0; i < x->op_count; i++) {
        const cs_x86_op *o = &x->operands[i];
        if (o->type != X86_OP_MEM) continue;
        if (o->mem.base == X86_REG_RIP) return classify_riprel(h, in, o, it, errbuf, errlen);
        if (o->mem.base == X86_REG_EIP || o->mem.index == X86_REG_RIP)
            return refuse(errbuf, errlen, in, it->off, "EIP-relative operand");
    }
    return CFFI_OK;
}

static size_t item_size(const item *it) {
    switch (it->kind) {
    case K_COPY: return it->len;
    case K_JCC: return 6;          /* 0F 80+cc rel32 */
    case K_JMP: return 5;          /* E9 rel32 */
    case K_CALL_ABS: return 13;    /* movabs (10) + call *%r11 (3) */
    case K_RIP_BRANCH: return 13;  /* movabs (10) + call/jmp *(%r11) (3) */
    case K_RIP_LEA: return 10;     /* movabs */
    case K_RIP_SCRATCH: return it->len - 4 + 5 + 1 + 10 + 1 + 8;
    }
    return 0;
}

static uint8_t *put_bytes(uint8_t *p, const void *b, size_t n) {
    memcpy(p, b, n);
    return p + n;
}
static uint8_t *put32(uint8_t *p, int32_t v) { return put_bytes(p, &v, 4); }
static uint8_t *put64(uint8_t *p, uint64_t v) { return put_bytes(p, &v, 8); }

/* movabs $imm, %reg */
static uint8_t *put_movabs(uint8_t *p, unsigned reg, uint64_t imm) {
    *p++ = REX | REX_W | (reg >= 8 ? REX_B : 0);
    *p++ = OP_MOV_IMM64 + (reg & 7);
    return put64(p, imm);
}

/* lea disp(%rsp), %rsp: moves the stack pointer without touching the flags. */
static uint8_t *put_lea_rsp(uint8_t *p, int32_t disp) {
    *p++ = REX | REX_W;
    *p++ = OP_LEA;
    if (disp >= -128 && disp <= 127) {
        *p++ = 0x40 | (R_SP << 3) | R_SP; /* mod 01 (disp8), reg rsp, rm: SIB follows */
        *p++ = SIB_RSP;
        *p++ = (uint8_t)(int8_t)disp;
        return p;
    }
    *p++ = 0x80 | (R_SP << 3) | R_SP;     /* mod 10 (disp32) */
    *p++ = SIB_RSP;
    return put32(p, disp);
}

/* Offset in the image of source offset `target_src` (an item start or the end of the range). */
static bool map_target(const item *items, size_t n, size_t len, size_t image_end, uint64_t lo,
                       uint64_t target, size_t *out) {
    size_t t = (size_t)(target - lo);
    if (t == len) {
        *out = image_end;
        return true;
    }
    for (size_t i = 0; i < n; i++)
        if (items[i].off == t) {
            *out = items[i].new_off;
            return true;
        }
    return false;
}

cffi_status cffi_reloc_copy(const void *src, size_t len, unsigned flags, uint8_t **image,
                            size_t *image_len, char *errbuf, size_t errlen) {
    *image = NULL;
    *image_len = 0;
    const uint8_t *base = src;
    x86_mode mode = X86_NATIVE_MODE;
    csh h;
    if (x86_open(mode, true, &h) != CS_ERR_OK) {
        cffi_errorf(errbuf, errlen, "cannot open the x86 disassembler");
        return CFFI_ERELOC;
    }
    cs_insn *in = cs_malloc(h);
    item *items = calloc(len ? len : 1, sizeof *items);
    uint8_t *out = NULL;
    cffi_status st = CFFI_OK;
    size_t n = 0;
    if (!in || !items) {
        st = CFFI_ENOMEM;
        goto done;
    }

    /* Pass 1: decode and classify. */
    for (size_t off = 0; off < len; n++) {
        if (!x86_decode(h, base + off, len - off, in)) {
            cffi_errorf(errbuf, errlen, "cannot relocate: undecodable byte 0x%02x at +%zu",
                        base[off], off);
            st = CFFI_ERELOC;
            goto done;
        }
        items[n].off = off;
        items[n].len = in->size;
        if ((st = x86_classify(h, mode, in, base, len, &items[n], errbuf, errlen)) != CFFI_OK)
            goto done;
        off += in->size;
    }

    /* Pass 2: lay out the image. */
    size_t pos = 0;
    bool pad = (flags & CFFI_RELOC_ENTRY) && !(len >= 4 && memcmp(base, ENDBR64, 4) == 0);
    if (pad) pos += sizeof ENDBR64;
    for (size_t i = 0; i < n; i++) {
        items[i].new_off = pos;
        items[i].new_len = item_size(&items[i]);
        pos += items[i].new_len;
    }
    out = malloc(pos ? pos : 1);
    if (!out) {
        st = CFFI_ENOMEM;
        goto done;
    }

    /* Pass 3: emit. */
    uint8_t *p = out;
    if (pad) p = put_bytes(p, ENDBR64, sizeof ENDBR64);
    uint64_t lo = (uint64_t)(uintptr_t)base;
    for (size_t i = 0; i < n; i++) {
        const item *it = &items[i];
        const uint8_t *b = base + it->off;
        size_t t;
        switch (it->kind) {
        case K_COPY:
            p = put_bytes(p, b, it->len);
            break;
        case K_JCC:
        case K_JMP:
            if (!map_target(items, n, len, pos, lo, it->target, &t)) {
                cffi_errorf(errbuf, errlen,
                            "cannot relocate the branch at +%zu: its target +%zu is inside an "
                            "instruction", it->off, (size_t)(it->target - lo));
                st = CFFI_ERELOC;
                goto done;
            }
            if (it->kind == K_JCC) {
                *p++ = OP_TWO_BYTE;
                *p++ = OP_JCC_NEAR | it->cc;
            } else {
                *p++ = OP_JMP_REL32;
            }
            p = put32(p, (int32_t)((int64_t)t - (int64_t)(it->new_off + it->new_len)));
            break;
        case K_CALL_ABS:
            p = put_movabs(p, R_R11, it->target);
            *p++ = REX | REX_B;                               /* r11 */
            *p++ = OP_GRP5;
            *p++ = MODRM_MOD_DIRECT | (GRP5_CALL << 3) | (R_R11 & 7); /* call *%r11 */
            break;
        case K_RIP_BRANCH:
            p = put_movabs(p, R_R11, it->target);              /* address of the pointer */
            *p++ = REX | REX_B;
            *p++ = OP_GRP5;
            *p++ = (uint8_t)((it->reg << 3) | (R_R11 & 7));    /* call/jmp *(%r11) */
            break;
        case K_RIP_LEA:
            p = put_movabs(p, it->reg, it->target);
            break;
        case K_RIP_SCRATCH: {
            p = put_lea_rsp(p, -RED_ZONE);                     /* step over the red zone */
            *p++ = OP_PUSH_REG + it->reg;                      /* save the scratch register */
            p = put_movabs(p, it->reg, it->target);            /* scratch = absolute address */
            p = put_bytes(p, b, it->modrm_off);                /* prefixes and opcode as is */
            *p++ = (uint8_t)((b[it->modrm_off] & MODRM_REG_MASK) | it->reg); /* (%scratch) */
            size_t rest = it->modrm_off + 1 + 4;               /* drop disp32; keep immediates */
            p = put_bytes(p, b + rest, it->len - rest);
            *p++ = OP_POP_REG + it->reg;                       /* restore the scratch register */
            p = put_lea_rsp(p, RED_ZONE);
            break;
        }
        }
    }
    *image = out;
    *image_len = pos;
    out = NULL;

done:
    free(out);
    free(items);
    if (in) cs_free(in, 1);
    cs_close(&h);
    return st;
}

/* ---------------------------------------------------------------------------------------------
 * Description, for cffi_disasm.
 */
size_t cffi_reloc_describe(const void *code, size_t max, char *text, size_t textlen,
                           bool *ends_flow) {
    *ends_flow = false;
    if (textlen) text[0] = '\0';
    csh h;
    if (x86_open(X86_NATIVE_MODE, true, &h) != CS_ERR_OK) return 0;
    cs_insn *in = cs_malloc(h);
    size_t size = 0;
    if (in && x86_decode(h, code, max, in)) {
        size = in->size;
        snprintf(text, textlen, "%s%s%s", in->mnemonic, in->op_str[0] ? " " : "", in->op_str);
        *ends_flow = in->id == X86_INS_JMP || in->id == X86_INS_LJMP ||
                     cs_insn_group(h, in, X86_GRP_RET);
    }
    if (in) cs_free(in, 1);
    cs_close(&h);
    return size;
}
