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
 * x86-32 mode: there is no PC-relative data addressing; PIC code materialises its PC instead,
 * and replacing those idioms with the original PC keeps every address derived from it (GOT
 * pointers, GOTOFF data) right:
 *
 *   call next (; pop %reg)          push $original_next
 *   call __x86.get_pc_thunk.reg     mov $original_return, %reg
 *   call rel32 out of the range     call 1f ; jmp 2f ; 1: push $target ; ret ; 2:
 *   jcc / jmp                       as in 64-bit mode
 *
 * Other calls into the range are refused (a callee reading its return address would see the
 * copy's). The block finder and the emitter are shared between the modes.
 *
 * Template tails (cffi_reloc_tail_build) copy a template's body after its block with the same
 * replacements, except that nothing is refused: the copy just stops there and jumps to that
 * instruction in the original template, and branches may leave the copy for the original code.
 * A near tail keeps RIP-relative operands and rel32 branches as they are and lists their
 * displacements as fixups, filled in per copy; a far tail uses the absolute forms above and
 * `jmp *0(%rip) ; .quad target` (no register needed) for jumps into the template.
 *
 * Both jobs walk into one item set and share one layout and one emitter (image_lay_out,
 * image_emit); they differ in the bytes the image starts with, the caller's bytes spliced in
 * where a copy's range ends, and a policy for a branch to what the image does not hold.
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
    OP_UD2_2 = 0x0B,       /* 0F 0B: ud2 */
    OP_CALL_REL32 = 0xE8,
    OP_JMP_REL32 = 0xE9,
    OP_MOV_IMM64 = 0xB8,   /* REX.W B8+r imm64 (movabs) */
    OP_MOV_IMM32 = 0xB8,   /* B8+r imm32 (x86-32) */
    OP_PUSH_IMM32 = 0x68,
    OP_JMP_SHORT = 0xEB,
    OP_RET = 0xC3,
    OP_MOV_LOAD = 0x8B,    /* mov r/m32, r32 */
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
static const uint8_t ENDBR32[4] = {0xF3, 0x0F, 0x1E, 0xFB};

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

cffi_status cffi_reloc_find_block(const void *fn, size_t limit, cffi_reloc_block *out,
                                  char *errbuf, size_t errlen) {
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
    while (off + CFFI_BAREFN_BLOCK_SIZE <= limit) {
        if (cffi_arch_barefn_is_block(code + off)) {
            cffi_arch_barefn_fill_block(code, off, out);
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
    K_JCC,         /* conditional relative branch: rel32, re-displaced */
    K_JMP,         /* unconditional relative jump: rel32, re-displaced */
    K_CALL_ABS,    /* relative call out of the relocated code */
    K_RIP_BRANCH,  /* call/jmp through a RIP-relative memory operand */
    K_RIP_LEA,     /* lea disp(%rip) into a 64-bit register */
    K_RIP_SCRATCH, /* any other RIP-relative operand */
    K_PUSH_PC,     /* x86-32 `call next`: push $original_next */
    K_MOV_PC,      /* x86-32 call of a get_pc_thunk: mov $original_return, %reg */
    K_RIP_FIXUP,   /* template tails, near: copied as is, its disp32 re-aimed per copy */
} item_kind;

typedef struct item {
    uint64_t addr;         /* in the source */
    size_t len;
    size_t new_off;        /* in the image */
    item_kind kind;
    bool falls;            /* execution may continue at addr + len */
    bool jump_after;       /* the image needs a jmp to addr + len after this item */
    bool is_call;
    bool trap_after;       /* a call that cannot return: ud2 after it in the image */
    uint64_t target;       /* branch target or RIP-relative address */
    uint8_t cc;            /* K_JCC: condition code */
    uint8_t reg;           /* K_RIP_LEA: destination; K_RIP_SCRATCH: scratch; K_RIP_BRANCH: /r */
    uint8_t modrm_off;     /* K_RIP_SCRATCH */
    uint8_t disp_off;      /* K_RIP_FIXUP: where its disp32 is */
} item;

/* Message "cannot relocate `insn` at +off: why" (off from the start of the relocated range). */
static cffi_status refuse(char *errbuf, size_t errlen, const cs_insn *in, int64_t off,
                          const char *why) {
    cffi_errorf(errbuf, errlen, "cannot relocate `%s%s%s` at %+lld: %s", in->mnemonic,
                in->op_str[0] ? " " : "", in->op_str, (long long)off, why);
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
                                   int64_t off, char *errbuf, size_t errlen) {
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
        return refuse(errbuf, errlen, in, off, "unexpected encoding of a RIP-relative operand");
    uint8_t rex;
    size_t op = skip_prefixes(b, in->size, &rex);
    if (rex & REX_B) return refuse(errbuf, errlen, in, off, "REX.B set on a RIP operand");
    if (op < in->size && b[op] == OP_EVEX)
        return refuse(errbuf, errlen, in, off, "EVEX-encoded RIP-relative operand");
    if (op + 1 < in->size && b[op] == OP_VEX3 && !(b[op + 1] & VEX3_NOT_B))
        return refuse(errbuf, errlen, in, off, "VEX.B set on a RIP operand");

    /* Registers the instruction touches, explicitly or implicitly. */
    unsigned used = 0;
    cs_regs rd, wr;
    uint8_t nrd = 0, nwr = 0;
    if (cs_regs_access(h, in, rd, &nrd, wr, &nwr) != CS_ERR_OK)
        return refuse(errbuf, errlen, in, off, "registers accessed are unknown");
    for (uint8_t i = 0; i < nrd; i++)
        if (gpr_number(rd[i]) >= 0) used |= 1u << gpr_number(rd[i]);
    for (uint8_t i = 0; i < nwr; i++)
        if (gpr_number(wr[i]) >= 0) used |= 1u << gpr_number(wr[i]);
    for (uint8_t i = 0; i < x->op_count; i++)
        if (x->operands[i].type == X86_OP_REG && gpr_number(x->operands[i].reg) >= 0)
            used |= 1u << gpr_number(x->operands[i].reg);
    if (used & (1u << R_SP))
        return refuse(errbuf, errlen, in, off, "RIP-relative operand with a stack access");

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
    return refuse(errbuf, errlen, in, off, "no free scratch register");
}

/* x86-32: is the relative call `it` (target set) one of the idioms that put the PC in a register?
 * If so, make it the replacement that produces the same value without a call:
 *   call next (; pop %reg)        K_PUSH_PC: push $original_next
 *   call __x86.get_pc_thunk.reg   K_MOV_PC: mov $original_return, %reg
 * (a get_pc_thunk is `mov (%esp), %reg ; ret`). */
static bool x32_pc_idiom(item *it) {
    if (it->target == it->addr + it->len) {
        it->kind = K_PUSH_PC;
        return true;
    }
    const uint8_t *t = (const uint8_t *)(uintptr_t)it->target;
    if (t[0] == OP_MOV_LOAD && (t[1] & 0xC7) == 0x04 && t[2] == SIB_RSP && t[3] == OP_RET) {
        it->kind = K_MOV_PC;
        it->reg = (uint8_t)((t[1] >> 3) & 7);
        return true;
    }
    return false;
}

/* Classify one instruction; off is its position relative to the relocated range. */
static cffi_status x86_classify(csh h, x86_mode mode, const cs_insn *in, uint64_t lo, uint64_t hi,
                                item *it, char *errbuf, size_t errlen) {
    const cs_x86 *x = &in->detail->x86;
    int64_t off = (int64_t)(in->address - lo);
    it->kind = K_COPY;
    it->falls = true;
    if (cs_insn_group(h, in, X86_GRP_BRANCH_RELATIVE)) {
        it->target = (uint64_t)x->operands[0].imm;
        it->target &= (uint64_t)UINTPTR_MAX; /* 32-bit mode: addresses wrap around */
        switch (in->id) {
        case X86_INS_JMP:
            it->kind = K_JMP;
            it->falls = false;
            return CFFI_OK;
        case X86_INS_CALL:
            if (mode == X86_MODE_32 && (it->target == in->address + in->size ||
                                        !(it->target >= lo && it->target < hi)) &&
                x32_pc_idiom(it))
                return CFFI_OK;
            /* A call that lands in the code being moved reads its own return address: the
             * x86-32 PIC idiom. Here it would see the copy's address; refuse. */
            if (it->target >= lo && it->target < hi)
                return refuse(errbuf, errlen, in, off, "call into the relocated code");
            it->kind = K_CALL_ABS;
            it->is_call = true;
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
            return refuse(errbuf, errlen, in, off, "relative branch without a long form");
        it->kind = K_JCC;
        it->cc = cc;
        return CFFI_OK;
    }
    it->is_call = cs_insn_group(h, in, X86_GRP_CALL);
    if (cs_insn_group(h, in, X86_GRP_RET) || in->id == X86_INS_UD2 || in->id == X86_INS_HLT ||
        (in->id == X86_INS_JMP) /* indirect */ || in->id == X86_INS_LJMP)
        it->falls = false;

    for (uint8_t i = 0; i < x->op_count; i++) {
        const cs_x86_op *o = &x->operands[i];
        if (o->type != X86_OP_MEM) continue;
        if (o->mem.base == X86_REG_RIP) return classify_riprel(h, in, o, it, off, errbuf, errlen);
        if (o->mem.base == X86_REG_EIP || o->mem.index == X86_REG_RIP)
            return refuse(errbuf, errlen, in, off, "EIP-relative operand");
    }
    return CFFI_OK;
}

/* Bytes of an item's replacement, except the branches (K_JCC, K_JMP), whose size depends on
 * where their target lands (branch_size), and except what follows it (jump_after, trap_after). */
static size_t fixed_size(const item *it) {
    switch (it->kind) {
    case K_COPY:
    case K_RIP_FIXUP: return it->len;
    case K_JCC:
    case K_JMP: return 0;
    case K_CALL_ABS: return 13;          /* x86-64: movabs (10) + call *%r11 (3); x86-32: 13 too */
    case K_RIP_BRANCH: return 13;        /* movabs (10) + call/jmp *(%r11) (3) */
    case K_RIP_LEA: return 10;           /* movabs */
    case K_RIP_SCRATCH: return it->len - 4 + 5 + 1 + 10 + 1 + 8;
    case K_PUSH_PC: return 5;            /* push imm32 */
    case K_MOV_PC: return 5;             /* mov imm32, reg */
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

/* Emit an item whose replacement does not depend on where anything lands in the image (every
 * kind but K_JCC and K_JMP), without its jump_after/trap_after. */
static uint8_t *put_fixed(uint8_t *p, const item *it, x86_mode mode) {
    const uint8_t *b = (const uint8_t *)(uintptr_t)it->addr;
    switch (it->kind) {
    case K_COPY:
    case K_RIP_FIXUP: /* its displacement is filled in per copy */
        p = put_bytes(p, b, it->len);
        break;
    case K_JCC:
    case K_JMP:
        break; /* the caller's */
    case K_CALL_ABS:
        if (mode == X86_MODE_32) {
            /* No free register: call a push/ret pair, which enters the target with the
             * return address in the image. */
            *p++ = OP_CALL_REL32;                       /* call 1f (pushes the next address) */
            p = put32(p, 2);
            *p++ = OP_JMP_SHORT;                        /* after the return: skip 1f */
            *p++ = 6;
            *p++ = OP_PUSH_IMM32;                       /* 1: push $target */
            p = put32(p, (int32_t)(uint32_t)it->target);
            *p++ = OP_RET;                              /* ret: to the target */
            break;
        }
        p = put_movabs(p, R_R11, it->target);
        *p++ = REX | REX_B;                                         /* r11 */
        *p++ = OP_GRP5;
        *p++ = MODRM_MOD_DIRECT | (GRP5_CALL << 3) | (R_R11 & 7);   /* call *%r11 */
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
    case K_PUSH_PC:                                        /* push $original_next */
        *p++ = OP_PUSH_IMM32;
        p = put32(p, (int32_t)(uint32_t)(it->addr + it->len));
        break;
    case K_MOV_PC:                                         /* mov $original_return, %reg */
        *p++ = (uint8_t)(OP_MOV_IMM32 + it->reg);
        p = put32(p, (int32_t)(uint32_t)(it->addr + it->len));
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
    return p;
}

/* Items: a small set searched linearly (prologues are tens of instructions). */
typedef struct item_set {
    item *v;
    size_t n, cap;
} item_set;

static const item *find_item(const item_set *s, uint64_t addr, bool *inside) {
    *inside = false;
    for (size_t i = 0; i < s->n; i++) {
        if (s->v[i].addr == addr) return &s->v[i];
        if (addr > s->v[i].addr && addr < s->v[i].addr + s->v[i].len) *inside = true;
    }
    return NULL;
}

static int item_order(const void *a, const void *b) {
    const item *x = a, *y = b;
    return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/* ---------------------------------------------------------------------------------------------
 * The image: one layout and one emitter for both jobs, a copy (cffi_reloc_copy) and a template
 * tail (cffi_reloc_tail_build). The jobs differ in what the image starts with, whether the
 * caller's bytes are spliced in where the range ends, and what a branch to an address the image
 * does not hold becomes (leave_policy).
 */
enum {
    FAR_JMP_LEN = 14, /* FF 25 00000000 <target: 8>: jmp *0(%rip), through the 8 bytes after it */
    JCC_LEN = 6,      /* 0F 80+cc rel32 */
    JMP_LEN = 5,      /* E9 rel32 */
    UD2_LEN = 2,      /* 0F 0B */
};

/* jmp to an absolute address with no register (x86-64). */
static uint8_t *put_far_jmp(uint8_t *p, uint64_t target) {
    *p++ = OP_GRP5;
    *p++ = (GRP5_JMP << 3) | MODRM_RIP;
    p = put32(p, 0);
    return put64(p, target);
}

/* What a branch to an address outside the image becomes. */
typedef enum leave_policy {
    LEAVE_REFUSED,  /* a copy: every target was walked, so one missing is an error */
    LEAVE_FIXUP,    /* a near tail: rel32, its displacement listed as a fixup for each copy */
    LEAVE_ABSOLUTE, /* a far tail: jmp *0(%rip); a jcc goes through such a jmp, a stub placed
                     * after everything else so that the image's own path reads straight */
} leave_policy;

typedef struct image_job {
    x86_mode mode;
    item_set set;              /* in address order */
    const uint8_t *head;       /* bytes the image starts with (a landing pad, a record load) */
    size_t head_len;
    bool has_splice;           /* splice goes where the source reaches splice_addr */
    uint64_t splice_addr;
    const uint8_t *splice;
    size_t splice_len, splice_off;
    leave_policy leave;
    cffi_reloc_tail *fixups;   /* where LEAVE_FIXUP and K_RIP_FIXUP record theirs */
    size_t stub_off;           /* LEAVE_ABSOLUTE: the next jcc stub */
    uint64_t lo;               /* messages name offsets from here */
    char *errbuf;
    size_t errlen;
} image_job;

/* Offset in the image of source address a, false if the image does not hold it. */
static bool image_offset(const image_job *j, uint64_t a, size_t *out) {
    if (j->has_splice && a == j->splice_addr) {
        *out = j->splice_off;
        return true;
    }
    bool inside;
    const item *it = find_item(&j->set, a, &inside);
    if (!it) return false;
    *out = it->new_off;
    return true;
}

/* Whether a branch to a is a far tail's absolute jump (the image does not hold a). */
static bool leaves_far(const image_job *j, uint64_t a) {
    size_t at;
    return j->leave == LEAVE_ABSOLUTE && !image_offset(j, a, &at);
}

/* Bytes of an item and what follows it; a far jcc's stub is counted in *stubs. */
static size_t item_size(const image_job *j, const item *it, size_t *stubs) {
    size_t size = fixed_size(it);
    if (it->kind == K_JCC) {
        size = JCC_LEN;
        if (leaves_far(j, it->target)) ++*stubs;
    } else if (it->kind == K_JMP) {
        size = leaves_far(j, it->target) ? FAR_JMP_LEN : JMP_LEN;
    }
    if (it->trap_after) return size + UD2_LEN;
    if (it->jump_after) size += leaves_far(j, it->addr + it->len) ? FAR_JMP_LEN : JMP_LEN;
    return size;
}

/* Lay out the head, the items in address order with the splice before the first item at or
 * after splice_addr, a jmp after every item that falls through to what the image does not place
 * next, then the stubs. Returns the image's size. */
static size_t image_lay_out(image_job *j) {
    item_set *set = &j->set;
    size_t pos = j->head_len, stubs = 0, first_after = set->n;
    if (j->has_splice) {
        first_after = 0;
        while (first_after < set->n && set->v[first_after].addr < j->splice_addr) first_after++;
    }
    for (size_t i = 0; i <= set->n; i++) {
        if (i == first_after && j->has_splice) {
            j->splice_off = pos;
            pos += j->splice_len;
        }
        if (i == set->n) break;
        item *it = &set->v[i];
        uint64_t next = it->addr + it->len;
        bool next_in_image =
            (i + 1 < set->n && i + 1 != first_after && set->v[i + 1].addr == next) ||
            (j->has_splice && i + 1 == first_after && next == j->splice_addr);
        it->jump_after = it->falls && !next_in_image;
        it->new_off = pos;
        pos += item_size(j, it, &stubs); /* which targets the image holds is known: the set */
    }
    j->stub_off = pos;
    return pos + stubs * FAR_JMP_LEN;
}

static void add_fixup(cffi_reloc_tail *t, size_t at, size_t from, uint64_t target) {
    t->fix[t->nfix++] = (cffi_reloc_fixup){.at = at, .from = from, .target = target};
}

/* A jmp (cc < 0) or jcc at p in the image out to source address a: to its place in the image, or
 * leaving it by the job's policy. Returns the end of what it wrote; NULL, with a message naming
 * `what`, when a copy lost a.  */
static uint8_t *emit_branch(image_job *j, uint8_t *out, uint8_t *p, int cc, uint64_t a,
                            const char *what) {
    size_t t;
    bool held = image_offset(j, a, &t);
    if (!held && j->leave == LEAVE_REFUSED) {
        cffi_errorf(j->errbuf, j->errlen, "cannot relocate: lost %s %+lld", what,
                    (long long)(a - j->lo));
        return NULL;
    }
    if (!held && j->leave == LEAVE_ABSOLUTE && cc < 0) return put_far_jmp(p, a);
    if (cc >= 0) {
        *p++ = OP_TWO_BYTE;
        *p++ = (uint8_t)(OP_JCC_NEAR | cc);
    } else {
        *p++ = OP_JMP_REL32;
    }
    size_t at = (size_t)(p - out);
    if (!held && j->leave == LEAVE_FIXUP) {
        add_fixup(j->fixups, at, at + 4, a);
        return put32(p, 0);
    }
    if (!held) { /* LEAVE_ABSOLUTE jcc: to its stub, which jumps on */
        t = j->stub_off;
        put_far_jmp(out + j->stub_off, a);
        j->stub_off += FAR_JMP_LEN;
    }
    return put32(p, (int32_t)((int64_t)t - (int64_t)(at + 4)));
}

/* Emit the head, the splice, every item and what follows each, and the stubs into out. */
static cffi_status image_emit(image_job *j, uint8_t *out) {
    put_bytes(out, j->head, j->head_len);
    if (j->has_splice) put_bytes(out + j->splice_off, j->splice, j->splice_len);
    for (size_t i = 0; i < j->set.n; i++) {
        const item *it = &j->set.v[i];
        uint8_t *p = out + it->new_off;
        if (it->kind == K_JCC || it->kind == K_JMP)
            p = emit_branch(j, out, p, it->kind == K_JCC ? (int)it->cc : -1, it->target,
                            "branch target");
        else
            p = put_fixed(p, it, j->mode);
        if (!p) return CFFI_ERELOC;
        if (it->kind == K_RIP_FIXUP) /* same bytes; the displacement is the copy's */
            add_fixup(j->fixups, it->new_off + it->disp_off, it->new_off + it->len, it->target);
        if (it->trap_after) {                                  /* ud2: never reached */
            *p++ = OP_TWO_BYTE;
            *p++ = OP_UD2_2;
        }
        if (it->jump_after &&                                  /* continue where the source does */
            !emit_branch(j, out, p, -1, it->addr + it->len, "fall-through at"))
            return CFFI_ERELOC;
    }
    return CFFI_OK;
}

enum { MAX_WORK = 256, X86_MAX_INSN = 15 };

/* Start addresses of the instructions reachable from `start` within `limit` bytes of code, for
 * telling a cold prologue path from the code after the block: a best effort (it stops quietly at
 * the limit, at indirect jumps and at anything it cannot decode). */
typedef struct addr_set {
    uint64_t *v;
    size_t n, cap;
} addr_set;

static bool addr_in(const addr_set *s, uint64_t a) {
    for (size_t i = 0; i < s->n; i++)
        if (s->v[i] == a) return true;
    return false;
}

static cffi_status collect_reachable(csh h, cs_insn *in, uint64_t start, size_t limit,
                                     addr_set *out) {
    uint64_t work[MAX_WORK];
    size_t nwork = 0, bytes = 0;
    work[nwork++] = start;
    while (nwork > 0) {
        uint64_t a = work[--nwork];
        while (!addr_in(out, a) && bytes < limit) {
            if (X86_NATIVE_MODE == X86_MODE_32 &&
                cffi_arch_barefn_is_block((const uint8_t *)(uintptr_t)a))
                break; /* another template's block */
            if (!x86_decode(h, (const uint8_t *)(uintptr_t)a, X86_MAX_INSN, in)) break;
            if (out->n == out->cap) {
                size_t cap = out->cap ? out->cap * 2 : 128;
                uint64_t *v = realloc(out->v, cap * sizeof *v);
                if (!v) return CFFI_ENOMEM;
                out->v = v;
                out->cap = cap;
            }
            out->v[out->n++] = a;
            bytes += in->size;
            const cs_x86 *x = &in->detail->x86;
            bool rel = cs_insn_group(h, in, X86_GRP_BRANCH_RELATIVE);
            bool call = cs_insn_group(h, in, X86_GRP_CALL);
            /* Only nearby targets: the body's own code. (Falling through a noreturn call into
             * the next function can reach another template's block, whose jump is a magic.) */
            uint64_t t = (uint64_t)x->operands[0].imm & (uint64_t)UINTPTR_MAX;
            bool nearby = t >= start ? t - start < limit : start - t < limit;
            if (rel && !call && nwork < MAX_WORK && nearby) work[nwork++] = t;
            if (in->id == X86_INS_JMP || in->id == X86_INS_LJMP || in->id == X86_INS_UD2 ||
                in->id == X86_INS_HLT || in->id == X86_INS_INT3 ||
                cs_insn_group(h, in, X86_GRP_RET))
                break;
            a += in->size;
        }
    }
    return CFFI_OK;
}

/* One relocation (cffi_reloc_copy): walk every path from the entry into the image's item set,
 * then lay the image out and emit it. */
typedef struct copy_job {
    image_job img;          /* the items every path reaches; the caller's tail is the splice */
    const cffi_reloc_request *rq;
    uint64_t lo, end;       /* the range */
    csh h;
    cs_insn *in;            /* the decoder's scratch instruction */
    addr_set body;          /* code reachable from rq->body */
    size_t outside_bytes;   /* out-of-line code walked so far */
} copy_job;

/* A branch from src_branch (0: the entry) reaches a that no copy can: say why. */
static cffi_status refuse_target(copy_job *j, uint64_t a, uint64_t src_branch, bool guard) {
    const char *why = guard ? "it reaches into the code after the range"
                            : "it lands inside an instruction";
    if (src_branch && x86_decode(j->h, (const uint8_t *)(uintptr_t)src_branch, X86_MAX_INSN,
                                 j->in))
        return refuse(j->img.errbuf, j->img.errlen, j->in, (int64_t)(src_branch - j->lo), why);
    cffi_errorf(j->img.errbuf, j->img.errlen, "cannot relocate: at %+lld %s",
                (long long)(a - j->lo), why);
    return CFFI_ERELOC;
}

/* A new, zeroed item at the end of the set, or NULL when memory is short. */
static item *item_append(item_set *set) {
    if (set->n == set->cap) {
        size_t cap = set->cap ? set->cap * 2 : 64;
        item *v = realloc(set->v, cap * sizeof *v);
        if (!v) return NULL;
        set->v = v;
        set->cap = cap;
    }
    item *it = &set->v[set->n];
    memset(it, 0, sizeof *it);
    return it;
}

/* Walk one path from a (reached by the branch at src_branch, 0 for the entry) until it meets the
 * end of the range, code already walked, or an instruction that does not fall through. The
 * branches it passes are pushed on work/from. */
static cffi_status walk_path(copy_job *j, uint64_t a, uint64_t src_branch, uint64_t *work,
                             uint64_t *from, size_t *nwork) {
    const cffi_reloc_request *rq = j->rq;
    item_set *set = &j->img.set;
    char *errbuf = j->img.errbuf;
    size_t errlen = j->img.errlen;
    for (;;) {
        if (a == j->end) return CFFI_OK;
        bool inside = false, guard = a > j->end && a < j->end + rq->guard_len;
        if (!guard && find_item(set, a, &inside)) return CFFI_OK;
        if (guard || inside) return refuse_target(j, a, src_branch, guard);
        bool in_range = a >= j->lo && a < j->end;
        size_t max = in_range ? (size_t)(j->end - a) : X86_MAX_INSN;
        const uint8_t *p = (const uint8_t *)(uintptr_t)a;
        if (!x86_decode(j->h, p, max, j->in)) {
            cffi_errorf(errbuf, errlen, "cannot relocate: undecodable byte 0x%02x at %+lld",
                        p[0], (long long)(a - j->lo));
            return CFFI_ERELOC;
        }
        if (!in_range && (j->outside_bytes += j->in->size) > rq->max_outside) {
            cffi_errorf(errbuf, errlen,
                        "cannot relocate: more than %zu bytes of out-of-line code reached "
                        "from the range", rq->max_outside);
            return CFFI_ERELOC;
        }
        item *it = item_append(set);
        if (!it) return CFFI_ENOMEM;
        it->addr = a;
        it->len = j->in->size;
        cffi_status st = x86_classify(j->h, j->img.mode, j->in, j->lo, j->end, it, errbuf, errlen);
        if (st != CFFI_OK) return st;
        set->n++;
        if (it->kind == K_JCC || it->kind == K_JMP) {
            if (*nwork == MAX_WORK) {
                cffi_errorf(errbuf, errlen, "cannot relocate: too many branches");
                return CFFI_ERELOC;
            }
            from[*nwork] = a;
            work[(*nwork)++] = it->target;
        }
        /* A call whose return would land in the code after the block: a correct template
         * cannot get there without the record, so the callee does not return (ASan's
         * reports, __stack_chk_fail). Trap after it rather than copy the body. */
        if (it->is_call && it->falls && addr_in(&j->body, a + j->in->size)) {
            it->falls = false;
            it->trap_after = true;
        }
        if (!it->falls) return CFFI_OK;
        a += j->in->size;
    }
}

/* Stage 1: walk every path from the entry until it reaches the end of the range, following
 * branches into out-of-line code (compilers put cold prologue paths after the function). */
static cffi_status walk(copy_job *j) {
    uint64_t work[MAX_WORK], from[MAX_WORK]; /* branch targets, and the branches, for messages */
    size_t nwork = 0;
    from[nwork] = 0;
    work[nwork++] = j->lo;
    cffi_status st = CFFI_OK;
    while (nwork > 0 && st == CFFI_OK) {
        --nwork;
        st = walk_path(j, work[nwork], from[nwork], work, from, &nwork);
    }
    item_set *set = &j->img.set;
    if (st == CFFI_OK && set->n) qsort(set->v, set->n, sizeof *set->v, item_order);
    return st;
}

cffi_status cffi_reloc_copy(const cffi_reloc_request *rq, uint8_t **image, size_t *image_len,
                            size_t *tail_off, char *errbuf, size_t errlen) {
    *image = NULL;
    *image_len = 0;
    *tail_off = 0;
    copy_job j = {.rq = rq, .lo = (uint64_t)(uintptr_t)rq->src};
    j.end = j.lo + rq->len;
    x86_mode mode = X86_NATIVE_MODE;
    const uint8_t *endbr = mode == X86_MODE_64 ? ENDBR64 : ENDBR32;
    /* An entry gets a landing pad where the source has none. */
    bool pad = (rq->flags & CFFI_RELOC_ENTRY) && !(rq->len >= 4 && memcmp(rq->src, endbr, 4) == 0);
    j.img = (image_job){.mode = mode, .head = endbr, .head_len = pad ? sizeof ENDBR64 : 0,
                        .has_splice = true, .splice_addr = j.end, .splice = rq->tail,
                        .splice_len = rq->tail_len, .leave = LEAVE_REFUSED, .lo = j.lo,
                        .errbuf = errbuf, .errlen = errlen};
    if (x86_open(mode, true, &j.h) != CS_ERR_OK) {
        cffi_errorf(errbuf, errlen, "cannot open the x86 disassembler");
        return CFFI_ERELOC;
    }
    uint8_t *out = NULL;
    cffi_status st = (j.in = cs_malloc(j.h)) ? CFFI_OK : CFFI_ENOMEM;
    if (st == CFFI_OK && rq->body)
        st = collect_reachable(j.h, j.in, (uint64_t)(uintptr_t)rq->body, rq->body_limit, &j.body);
    if (st == CFFI_OK) st = walk(&j);
    if (st == CFFI_OK) {
        size_t len = image_lay_out(&j.img);
        if (!(out = malloc(len ? len : 1))) st = CFFI_ENOMEM;
        if (st == CFFI_OK) st = image_emit(&j.img, out);
        if (st == CFFI_OK) {
            *image = out;
            *image_len = len;
            *tail_off = j.img.splice_off;
            out = NULL;
        }
    }
    free(out);
    free(j.img.set.v);
    free(j.body.v);
    if (j.in) cs_free(j.in, 1);
    cs_close(&j.h);
    return st;
}

/* ---------------------------------------------------------------------------------------------
 * Template tails (see cffi_reloc_tail in reloc.h): the record load, then the template's body run
 * in place, so that a call through a thunk takes no jump back into the template.
 */
enum { BODY_MAX_INSNS = 64 };

/* Classify a body instruction for a tail. false: the copy stops before it (the tail jumps to it
 * in the original template). *ends: it ends the tail (ret, ret imm16, jmp). */
static bool body_classify(csh h, x86_mode mode, bool near, const cs_insn *in, uint64_t entry,
                          uint64_t landing, item *it, bool *ends) {
    const cs_x86 *x = &in->detail->x86;
    memset(it, 0, sizeof *it);
    it->addr = in->address;
    it->len = in->size;
    it->kind = K_COPY;
    *ends = false;
    /* Traps stay in the original, where a debugger or a crash report expects them. */
    if (in->id == X86_INS_UD2 || in->id == X86_INS_HLT || in->id == X86_INS_SYSCALL ||
        in->id == X86_INS_SYSENTER || cs_insn_group(h, in, X86_GRP_INT) ||
        cs_insn_group(h, in, X86_GRP_IRET))
        return false;
    if (cs_insn_group(h, in, X86_GRP_CALL)) {
        /* A call would leave a return address in the copy, where unwinders find no frame
         * information: stop before it. Only the x86-32 PC idioms, which become a push or a mov
         * of the original address and leave no frame, are copied. */
        if (mode != X86_MODE_32 || !cs_insn_group(h, in, X86_GRP_BRANCH_RELATIVE)) return false;
        it->target = (uint64_t)x->operands[0].imm & (uint64_t)UINTPTR_MAX;
        return x32_pc_idiom(it);
    }
    if (cs_insn_group(h, in, X86_GRP_BRANCH_RELATIVE)) {
        it->target = (uint64_t)x->operands[0].imm & (uint64_t)UINTPTR_MAX;
        /* Back into the prologue or the block: the record would be loaded twice, which a correct
         * template never does. Leave such code to the original. */
        if (it->target >= entry && it->target < landing) return false;
        if (in->id == X86_INS_JMP) {
            it->kind = K_JMP;
            *ends = true;
            return true;
        }
        if ((x->opcode[0] & 0xF0) == OP_JCC_SHORT)
            it->cc = x->opcode[0] & 0x0F;
        else if (x->opcode[0] == OP_TWO_BYTE && (x->opcode[1] & 0xF0) == OP_JCC_NEAR)
            it->cc = x->opcode[1] & 0x0F;
        else
            return false; /* jrcxz, loop*, xbegin: no rel32 form to aim anywhere */
        it->kind = K_JCC;
        return true;
    }
    if (cs_insn_group(h, in, X86_GRP_RET)) {
        if (in->id != X86_INS_RET) return false; /* retf and friends */
        *ends = true;
        return true;
    }
    if (in->id == X86_INS_JMP) /* indirect (the relative form is above): a tail call */
        *ends = true;
    else if (cs_insn_group(h, in, X86_GRP_JUMP) || in->id == X86_INS_LJMP)
        return false;
    for (uint8_t i = 0; i < x->op_count; i++) {
        const cs_x86_op *o = &x->operands[i];
        if (o->type != X86_OP_MEM) continue;
        if (o->mem.base == X86_REG_EIP || o->mem.index == X86_REG_RIP ||
            o->mem.index == X86_REG_EIP)
            return false;
        if (o->mem.base != X86_REG_RIP) continue;
        if (near) {
            /* Same bytes; only the displacement changes with the copy's address. */
            if (x->encoding.disp_size != 4 || x->encoding.disp_offset == 0 ||
                x->encoding.disp_offset + 4u > in->size)
                return false;
            it->kind = K_RIP_FIXUP;
            it->disp_off = x->encoding.disp_offset;
            it->target = in->address + in->size + (uint64_t)o->mem.disp;
            return true;
        }
        char why[8];
        return classify_riprel(h, in, o, it, 0, why, sizeof why) == CFFI_OK;
    }
    return true;
}

/* The tail without a body: the block's own jump back to the landing pad. */
static cffi_status tail_block_only(const cffi_reloc_block *blk, bool near, cffi_reloc_tail *out) {
    if (!near) return cffi_reloc_tail_of_block(blk, out);
    out->code = malloc(blk->near_len);
    out->fix = malloc(sizeof *out->fix);
    if (!out->code || !out->fix) return CFFI_ENOMEM;
    out->len = blk->near_len;
    memcpy(out->code, blk->near_block, blk->near_len);
    out->record_slot = blk->near_record_slot;
    add_fixup(out, blk->near_rel_slot, blk->near_rel_slot + 4, (uint64_t)(uintptr_t)blk->landing);
    return CFFI_OK;
}

/* One tail (cffi_reloc_tail_build): walk the body from the landing pad into the image's item
 * set, then lay the image out after the record load and emit it, as a copy does. Branches to
 * code the tail did not copy leave it for the original template (fixups near, absolute far). */
typedef struct tail_job {
    image_job img;      /* the record load is the head; no splice */
    const cffi_reloc_block *blk;
    bool near;
    size_t bytes;       /* the body's bytes copied */
    bool straight;      /* the body ended the flow itself (ret, jmp) */
} tail_job;

/* Copy instructions of the body from the landing pad until it ends the flow, meets something it
 * cannot move, or a cap. Where it stops falls through (the image jumps back there). Fails only
 * with CFFI_ENOMEM. */
static cffi_status tail_walk(tail_job *j, size_t max_body) {
    const uint64_t landing = (uint64_t)(uintptr_t)j->blk->landing;
    const uint64_t entry = landing - j->blk->block_len - j->blk->prologue_len;
    uint64_t at = landing + sizeof ENDBR64; /* the copy falls in: no landing pad */
    x86_mode mode = j->img.mode;
    /* Far forms are x86-64's (FF 25 is an absolute-address jmp in 32-bit mode); x86-32 has near
     * tails only, which reach everything. */
    csh h;
    if ((!j->near && mode != X86_MODE_64) || x86_open(mode, true, &h) != CS_ERR_OK)
        return CFFI_OK;
    cs_insn *in = cs_malloc(h);
    item_set *set = &j->img.set;
    cffi_status st = in ? CFFI_OK : CFFI_ENOMEM;
    while (st == CFFI_OK && set->n < BODY_MAX_INSNS) {
        const uint8_t *p = (const uint8_t *)(uintptr_t)at;
        if (mode == X86_MODE_32 && cffi_arch_barefn_is_block(p)) break; /* another template */
        if (!x86_decode(h, p, X86_MAX_INSN, in) || j->bytes + in->size > max_body) break;
        item *it = item_append(set);
        bool ends;
        if (!it) st = CFFI_ENOMEM;
        else if (!body_classify(h, mode, j->near, in, entry, landing, it, &ends)) break;
        if (st != CFFI_OK) break;
        it->falls = !ends;
        set->n++;
        j->bytes += in->size;
        at += in->size;
        if (ends) {
            j->straight = true;
            break;
        }
    }
    if (in) cs_free(in, 1);
    cs_close(&h);
    return st;
}

cffi_status cffi_reloc_tail_build(const cffi_reloc_block *blk, bool near, size_t max_body,
                                  cffi_reloc_tail *out) {
    memset(out, 0, sizeof *out);
    tail_job j = {.blk = blk, .near = near};
    j.img = (image_job){.mode = X86_NATIVE_MODE, .head = blk->near_block,
                        .head_len = blk->load_len, .leave = near ? LEAVE_FIXUP : LEAVE_ABSOLUTE,
                        .fixups = out, .lo = (uint64_t)(uintptr_t)blk->landing};
    cffi_status st = tail_walk(&j, max_body);
    size_t n = j.img.set.n;
    if (st != CFFI_OK || n == 0) {
        free(j.img.set.v);
        if (st == CFFI_OK) st = tail_block_only(blk, near, out);
        if (st != CFFI_OK) cffi_reloc_tail_free(out);
        return st;
    }
    size_t len = image_lay_out(&j.img);
    out->code = malloc(len);
    /* At most one fixup per item, and one more for the jump back after the last. */
    out->fix = malloc((n + 1) * sizeof *out->fix);
    if (!out->code || !out->fix) {
        free(j.img.set.v);
        cffi_reloc_tail_free(out);
        return CFFI_ENOMEM;
    }
    out->len = len;
    out->record_slot = blk->near_record_slot;
    out->body_len = j.bytes;
    out->straight = j.straight;
    st = image_emit(&j.img, out->code); /* nothing is refused in a tail */
    free(j.img.set.v);
    return st;
}

/* ---------------------------------------------------------------------------------------------
 * Gates and hops (see CFFI_RELOC_GATE_AT in reloc.h): the same encodings in both modes.
 */
_Static_assert(CFFI_RELOC_GATE_AT == sizeof ENDBR64 && sizeof ENDBR64 == sizeof ENDBR32,
               "the gate follows the entry's landing pad");

void cffi_reloc_gate_closed(const uint8_t *gate_rx, const uint8_t *hop_rx,
                            uint8_t out[CFFI_RELOC_GATE_LEN]) {
    /* Modular arithmetic: the low byte is the displacement whichever way it goes. */
    uintptr_t rel = (uintptr_t)hop_rx - (uintptr_t)(gate_rx + CFFI_RELOC_GATE_LEN);
    out[0] = OP_JMP_SHORT; /* EB rel8: jmp hop */
    out[1] = (uint8_t)rel; /* the caller keeps the hop within reach */
}

void cffi_reloc_put_hop(uint8_t *rw, const uint8_t *hop_rx, const uint8_t *to) {
    *rw++ = OP_JMP_REL32; /* E9 rel32: jmp to */
    put32(rw, (int32_t)(uint32_t)((uintptr_t)to - (uintptr_t)(hop_rx + CFFI_RELOC_HOP_LEN)));
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
