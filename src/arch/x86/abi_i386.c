/*
 * abi_i386.c - the four x86-32 conventions as facts for the generic placement loop, as GCC
 * implements them on Linux (and mingw):
 *
 *   cdecl     every argument on the stack, caller pops
 *   stdcall   every argument on the stack, callee pops
 *   fastcall  the first two integer-class arguments of 32 bits or less, left to right, in ECX
 *             then EDX; the rest on the stack; callee pops
 *   thiscall  the first such argument in ECX; the rest on the stack; callee pops
 *
 * Stack arguments take 4-byte slots in order (64-bit integers and doubles take two, with no
 * extra alignment). Floating arguments never go in registers and do not use one up. A 64-bit
 * integer does not go in registers either, but GCC counts it against them: it uses up two
 * (fastcall) or the one (thiscall) register, so an int after it goes on the stack, e.g.
 * fastcall f(long long a, int b, int c) has a, b, c all on the stack and f(int a, long long b,
 * int c) has a in ECX and b, c on the stack. That is the wide_uses_gprs fact. (MSVC would put b
 * and c of the first example in ECX and EDX; cffi follows GCC, the compiler it is tested with.)
 *
 * Results: integers and pointers in EAX (EDX:EAX for 64-bit), float, double and long double (12
 * bytes, 4-aligned, passed on the stack as arguments) in st(0). The stub word tells the entry stub which, and how many bytes the callee pops (see frame.h).
 *
 * Aggregates: arguments are copied onto the stack in whole 4-byte slots under all four
 * conventions and never go in ECX or EDX, but under fastcall and thiscall GCC counts one against
 * the registers as it does a 64-bit integer: each 4 bytes of it use one up, unless it is a struct
 * holding nothing but one float or double (through nested one-member structs and one-element
 * arrays), which GCC passes as that floating value. Results: on Linux (the
 * System V i386 ABI GCC follows) every struct or union is written through a hidden pointer,
 * returned in EAX: passed in the first stack slot under cdecl and stdcall, where the callee pops
 * that slot even under cdecl (`ret $4`), and in ECX under fastcall and thiscall (the other
 * arguments move on by one register). Under Windows' conventions (MSVC, and GCC for mingw) a
 * result of 1, 2, 4 or 8 bytes comes back in EAX or EDX:EAX instead, and a cdecl callee leaves
 * the hidden pointer to its caller.
 */
#include "agg.h"

#include "frame.h"

/* Assembly (entry_i386.S, call_i386.S): one entry stub and one call stub serve all four. */
extern CFFI_HIDDEN const char cffi_x86_entry[];
CFFI_HIDDEN void cffi_x86_call(void *fn, void *frame, const void *stack, size_t stack_bytes)
    CFFI_STUB_ABI;

static void x86_finish(const cffi_abi *abi, cffi_plan *plan) {
    (void)abi;
    uintptr_t kind;
    switch ((cffi_type)plan->ret_type) {
    case CFFI_T_VOID: kind = X86_RET_VOID; break;
    case CFFI_T_FLOAT:
        kind = X86_RET_FLOAT;
        plan->ret_offset = X86_FRAME_RET_FLOAT; /* a float, not a double, sits there */
        break;
    case CFFI_T_DOUBLE: kind = X86_RET_DOUBLE; break;
    case CFFI_T_LDOUBLE: kind = X86_RET_LDOUBLE; break;
    default: kind = X86_RET_INT; break;
    }
    plan->stub_word = (uintptr_t)plan->callee_pop << X86_STUB_POP_SHIFT | kind;
}

/* The Microsoft rules for aggregate results (see above): a property of the OS's ABI. */
#ifdef _WIN32
#define X86_SMALL_AGG_RESULT_IN_REGS 1
#else
#define X86_SMALL_AGG_RESULT_IN_REGS 0
#endif

/* Whether agg is a struct that is just one float or double, as GCC sees it (the struct then has
 * that value's machine mode). */
static bool is_lone_floating(const cffi_agg *agg) {
    if (agg->is_union || agg->nfields != 1 || agg->fields[0].count > 1) return false;
    const cffi_field *f = &agg->fields[0];
    if (f->type == CFFI_T_AGG) return is_lone_floating(f->agg);
    return (f->type == CFFI_T_FLOAT || f->type == CFFI_T_DOUBLE || f->type == CFFI_T_LDOUBLE) &&
           agg->size == cffi_type_size(f->type);
}

static cffi_status x86_classify(const cffi_abi *abi, const cffi_agg *agg, bool is_result,
                                cffi_agg_class *out, char *errbuf, size_t errlen) {
    (void)errbuf, (void)errlen;
    *out = (cffi_agg_class){0};
    if (!is_result) {
        out->how = CFFI_PASS_STACK;
        if (abi->wide_uses_gprs && !is_lone_floating(agg))
            out->uses_gprs = (uint8_t)(agg->size > 4 * abi->gpr_count ? abi->gpr_count
                                                                      : (agg->size + 3) / 4);
        return CFFI_OK;
    }
    if (agg == &cffi_ldouble_layout) { /* a long double itself, not a struct of one */
        out->how = CFFI_PASS_X87;
        return CFFI_OK;
    }
    size_t size = agg->size;
    if (X86_SMALL_AGG_RESULT_IN_REGS && (size == 1 || size == 2 || size == 4 || size == 8)) {
        out->how = CFFI_PASS_REGS;
        out->npieces = size == 8 ? 2 : 1;
        for (size_t k = 0; k < out->npieces; k++) {
            out->piece_class[k] = CFFI_CLASS_GPR; /* EAX, then EDX */
            out->piece_size[k] = (uint8_t)(size < 4 ? size : 4);
        }
        return CFFI_OK;
    }
    out->how = CFFI_PASS_SRET;
    return CFFI_OK;
}

/* The facts all four share; only register count and who pops differ. */
#define X86_ABI_COMMON                                                                            \
    .fpr_count = 0, .gpr_max_size = 4, .shared_slots = 0, .stack_slot = 4,                       \
    .gpr_offset = X86_FRAME_GPR, .fpr_offset = 0, .reg_size = 4,                                  \
    .ret_int_offset = X86_FRAME_RET_INT, .ret_fp_offset = X86_FRAME_RET_DOUBLE,                   \
    .ret_x87_offset = X86_FRAME_RET_LDOUBLE,                                                      \
    .frame_size = X86_FRAME_SIZE, .check = NULL, /* every scalar of the grammar fits */          \
    .finish = x86_finish, .classify = x86_classify,                                               \
    .sret_callee_pops = !X86_SMALL_AGG_RESULT_IN_REGS, .entry = cffi_x86_entry, .call = cffi_x86_call

CFFI_HIDDEN const cffi_abi cffi_x86_abi_cdecl = {
    .name = "cdecl", .gpr_count = 0, .callee_pops = 0, .wide_uses_gprs = 0, .sret_in_gpr = 0,
    X86_ABI_COMMON,
};

CFFI_HIDDEN const cffi_abi cffi_x86_abi_stdcall = {
    .name = "stdcall", .gpr_count = 0, .callee_pops = 1, .wide_uses_gprs = 0, .sret_in_gpr = 0,
    X86_ABI_COMMON,
};

CFFI_HIDDEN const cffi_abi cffi_x86_abi_fastcall = {
    .name = "fastcall", .gpr_count = 2, .callee_pops = 1, .wide_uses_gprs = 1, .sret_in_gpr = 1,
    X86_ABI_COMMON,
};

CFFI_HIDDEN const cffi_abi cffi_x86_abi_thiscall = {
    .name = "thiscall", .gpr_count = 1, .callee_pops = 1, .wide_uses_gprs = 1, .sret_in_gpr = 1,
    X86_ABI_COMMON,
};

_Static_assert(X86_FRAME_RET_FLOAT + 8 <= X86_FRAME_SIZE &&
                   X86_FRAME_RET_DOUBLE + 8 <= X86_FRAME_SIZE &&
                   X86_FRAME_RET_INT + 8 <= X86_FRAME_SIZE,
               "abi_i386.c: the dispatcher stores 8-byte result slots");
_Static_assert((CFFI_MAX_PARAMS * 8) << X86_STUB_POP_SHIFT >> X86_STUB_POP_SHIFT ==
                   CFFI_MAX_PARAMS * 8,
               "abi_i386.c: the largest pop count fits the stub word");
