/*
 * x86_callers.c - x86-32 only: compiled code of each of GCC's four conventions (cdecl, stdcall,
 * fastcall, thiscall) for spec/09-x86_conventions_spec.lua, in both directions:
 *
 *   x86cb_<conv>_<shape>(args...)            a <conv> callee computing the shape's formula
 *   x86cb_call_<conv>_<shape>(fn, args...)   a cdecl caller: calls fn as a <conv> function of
 *                                            that shape with args (the call GCC compiled for that
 *                                            convention) and returns what fn returned
 *   x86cb_esp_moved()                        after such a call: the bytes of stack arguments fn
 *                                            popped minus those GCC's own <conv> callee of the
 *                                            shape pops, so 0 when fn left ESP where the caller
 *                                            expects it; then resets to X86CB_NOT_MEASURED
 *
 * The formulas are non-commutative so that swapped or misplaced arguments change the answer;
 * the spec computes the same ones in Lua.
 *
 * How ESP is measured: reading ESP in C around a call measures the compiler's code as much as the
 * callee (GCC folds argument space and alignment padding into the prologue, pops padding with
 * the arguments, ...). So the compiled call does not go to fn directly but to x86cb_probe, which
 * records ESP at the call and the return address, swaps in its own return address and jumps to
 * fn with every register and stack word as the caller set them; when fn returns there, the probe
 * records how many bytes fn popped and returns to the caller with ESP exactly as fn left it.
 * Callers are built with -fno-omit-frame-pointer (cmake/lua.cmake), so one whose callee popped
 * wrongly still returns (through EBP) and the mismatch is reported rather than crashing.
 */
#include <stdbool.h>
#include <stdint.h>

#if !defined(__i386__)
#error "x86_callers.c is for x86-32 targets"
#endif

/* The probe's state, as the assembly addresses it: through the GOT in an ELF shared object (eax
 * = the GOT), by its absolute address in a PE DLL (relocated by the loader; eax = 0). */
#ifdef __ELF__
#define LOCAL __attribute__((visibility("hidden")))
#define STATE "x86cb_probe_state@GOTOFF"
#define LABEL_ADDR(label) label "@GOTOFF"
#define LOAD_BASE(reg, n)                                                                         \
    "    call " #n "f\n" #n ":  popl " reg "\n"                                                    \
    "    addl $_GLOBAL_OFFSET_TABLE_+(.-" #n "b), " reg "\n"
#else
#define LOCAL
#define STATE "_x86cb_probe_state"
#define LABEL_ADDR(label) label
#define LOAD_BASE(reg, n) "    xorl " reg ", " reg "\n"
#endif

#define X86CB_NOT_MEASURED ((intptr_t)0x7fffffff)

/* The probe's state: a stack of calls in progress (callbacks re-enter callers). The layout is
 * read by the assembly below: depth at 0, jump at 4, frames from 8, 16 bytes each. */
#define PROBE_DEPTH 32
struct probe_frame {
    void *target;     /* the function to call (set by the C caller) */
    uintptr_t ret;    /* the caller's return address */
    uintptr_t esp;    /* ESP at the call (pointing at the return address) */
    uintptr_t popped; /* bytes of stack arguments the target popped */
};
struct probe_state {
    uint32_t depth;
    void *jump;
    struct probe_frame frames[PROBE_DEPTH];
};
_Static_assert(sizeof(struct probe_frame) == 16, "x86_callers.c: the probe's frame layout");
_Static_assert(__builtin_offsetof(struct probe_state, frames) == 8, "x86_callers.c: the layout");

/* Not static: the probe (assembly, opaque to the compiler) changes it across calls. */
LOCAL struct probe_state x86cb_probe_state;

/* Naked: the assembly alone, with GCC minding sections and symbol names (and no stack protector,
 * which GCC would otherwise put into it under -fstack-protector-all). */
LOCAL __attribute__((naked, noinline, no_stack_protector)) void x86cb_probe(void) {
    __asm__("    pushl %ecx\n"                  /* argument registers, kept for the target */
            "    pushl %edx\n"                  /* [esp+8] = the caller's return address */
            LOAD_BASE("%eax", 1)                /* eax = GOT (ELF) or 0 (PE) */
            "    movl " STATE "(%eax), %ecx\n"  /* ecx = depth */
            "    shll $4, %ecx\n"
            "    leal " STATE "+8(%eax,%ecx), %ecx\n" /* ecx = this call's frame */
            "    incl " STATE "(%eax)\n"        /* depth++ */
            "    movl 8(%esp), %edx\n"
            "    movl %edx, 4(%ecx)\n"          /* frame.ret = return address */
            "    leal 8(%esp), %edx\n"
            "    movl %edx, 8(%ecx)\n"          /* frame.esp = ESP at the call */
            "    movl (%ecx), %edx\n"
            "    movl %edx, " STATE "+4(%eax)\n" /* jump = frame.target */
            "    leal " LABEL_ADDR("2f") "(%eax), %edx\n"
            "    movl %edx, 8(%esp)\n"          /* the target returns to 2 */
            "    leal " STATE "+4(%eax), %eax\n"
            "    popl %edx\n"
            "    popl %ecx\n"
            "    jmp *(%eax)\n"                 /* ESP, ECX, EDX as the caller left them */
            "2:  pushl %eax\n"                  /* the result: eax, edx (and st(0)) */
            "    pushl %edx\n"
            LOAD_BASE("%ecx", 3)                /* ecx = GOT (ELF) or 0 (PE) */
            "    decl " STATE "(%ecx)\n"        /* depth-- */
            "    movl " STATE "(%ecx), %eax\n"
            "    shll $4, %eax\n"
            "    leal " STATE "+8(%ecx,%eax), %ecx\n" /* ecx = the frame */
            "    leal 8(%esp), %eax\n"          /* ESP as the target returned */
            "    subl 8(%ecx), %eax\n"
            "    subl $4, %eax\n"               /* minus the return address: bytes popped */
            "    movl %eax, 12(%ecx)\n"         /* frame.popped */
            "    movl 4(%ecx), %ecx\n"          /* ecx = the caller's return address */
            "    popl %edx\n"
            "    popl %eax\n"
            "    pushl %ecx\n"
            "    ret\n");                       /* to the caller, ESP as the target left it */
}

static intptr_t esp_moved = X86CB_NOT_MEASURED;

intptr_t x86cb_esp_moved(void) {
    intptr_t moved = esp_moved;
    esp_moved = X86CB_NOT_MEASURED;
    return moved;
}

/* Runs stmt, a call through the pointer named probed (of type FP), with the call going to fn
 * through the probe; *out_popped gets the bytes fn popped. False when calls nest too deep. */
#define PROBED(FP, fn, out_popped, stmt)                                                          \
    ({                                                                                            \
        bool ok_ = x86cb_probe_state.depth < PROBE_DEPTH;                                         \
        if (ok_) {                                                                                \
            FP probed = (FP)(void *)x86cb_probe;                                                  \
            x86cb_probe_state.frames[x86cb_probe_state.depth].target = (void *)(fn);              \
            stmt;                                                                                 \
            *(out_popped) = (intptr_t)x86cb_probe_state.frames[x86cb_probe_state.depth].popped;   \
        }                                                                                         \
        ok_;                                                                                      \
    })

/* The shapes: name, result type, parameter list, argument list, formula. */

#define P_ii (int a, int b)
#define A_ii (a, b)
#define F_ii a * 10 + b

/* 64-bit integers first (fastcall and thiscall: it uses up the registers, GCC style) */
#define P_LiL (int64_t a, int b, int64_t c)
#define A_LiL (a, b, c)
#define F_LiL a - (int64_t)b * 3 + c * 5

/* and second (fastcall: a in ECX, b and c on the stack) */
#define P_iLi (int a, int64_t b, int c)
#define A_iLi (a, b, c)
#define F_iLi (int64_t)a * 7 + b - c

/* floating arguments never take a register: b and d in ECX and EDX for fastcall */
#define P_dfi (double a, int b, float c, int d)
#define A_dfi (a, b, c, d)
#define F_dfi a * 2 + b * 3 + (double)c * 4 + d * 5

#define P_fid (int a, float b, double c)
#define A_fid (a, b, c)
#define F_fid (float)(a + (double)b * 2 - c)

/* narrow integers in registers and on the stack, a narrow signed result */
#define P_narrow (signed char a, unsigned char b, short c, bool d)
#define A_narrow (a, b, c, d)
#define F_narrow (short)(a + b * 2 - c + (d ? 100 : 0))

/* a string in ECX (fastcall, thiscall), its length back */
#define P_str (const char *s, int n)
#define A_str (s, n)
#define F_str str_score(s, n)

static inline int64_t str_score(const char *s, int n) {
    int64_t score = 0;
    for (int i = 0; s && s[i]; i++) score = score * 31 + (unsigned char)s[i];
    return score * 8 + n;
}

/* 20 mixed parameters: most of them on the stack whatever the convention */
#define P_many                                                                                    \
    (int a0, double a1, int a2, int64_t a3, float a4, int8_t a5, uint16_t a6, double a7,         \
     uint32_t a8, float a9, int64_t a10, int a11, short a12, double a13, void *a14, float a15,   \
     int64_t a16, uint8_t a17, double a18, int a19)
#define A_many                                                                                    \
    (a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, a16, a17, a18, a19)
#define F_many                                                                                    \
    (double)a0 * 1 + a1 * 2 + (double)a2 * 3 + (double)a3 * 4 + (double)a4 * 5 +                  \
        (double)a5 * 6 + (double)a6 * 7 + a7 * 8 + (double)a8 * 9 + (double)a9 * 10 +             \
        (double)a10 * 11 + (double)a11 * 12 + (double)a12 * 13 + a13 * 14 +                       \
        (double)(uintptr_t)a14 * 15 + (double)a15 * 16 + (double)a16 * 17 + (double)a17 * 18 +    \
        a18 * 19 + (double)a19 * 20

#define CC_cdecl __attribute__((cdecl))
#define CC_stdcall __attribute__((stdcall))
#define CC_fastcall __attribute__((fastcall))
#define CC_thiscall __attribute__((thiscall))

/* A callee and a measured caller of one shape in one convention. The caller calls the callee
 * first, through the probe too, for the bytes GCC's code of that convention pops. */
#define SHAPE(conv, name, R)                                                                      \
    R CC_##conv x86cb_##conv##_##name P_##name;                                                   \
    R CC_##conv x86cb_##conv##_##name P_##name { return F_##name; }                               \
    R x86cb_call_##conv##_##name(void *fn, PARAMS_OF(name));                                      \
    R x86cb_call_##conv##_##name(void *fn, PARAMS_OF(name)) {                                     \
        typedef R(CC_##conv * fp_t) P_##name;                                                     \
        intptr_t expected = 0, popped = 0;                                                        \
        R reference = 0, result = 0;                                                              \
        if (PROBED(fp_t, x86cb_##conv##_##name, &expected, reference = probed A_##name) &&        \
            PROBED(fp_t, fn, &popped, result = probed A_##name))                                  \
            esp_moved = popped - expected;                                                        \
        (void)reference;                                                                          \
        return result;                                                                            \
    }

/* A shape's parameter list without its parentheses, to follow fn in a caller's. */
#define UNPAREN(...) __VA_ARGS__
#define EXPAND(x) x
#define PARAMS_OF(name) EXPAND(UNPAREN P_##name)

/* A void result: the callee stores a * b - 1 through out (the reference call stores into a
 * local). */
#define VOID_SHAPE(conv)                                                                          \
    void CC_##conv x86cb_##conv##_store(int *out, int a, int b);                                  \
    void CC_##conv x86cb_##conv##_store(int *out, int a, int b) { *out = a * b - 1; }             \
    void x86cb_call_##conv##_store(void *fn, int *out, int a, int b);                             \
    void x86cb_call_##conv##_store(void *fn, int *out, int a, int b) {                            \
        typedef void(CC_##conv * fp_t)(int *, int, int);                                          \
        intptr_t expected = 0, popped = 0;                                                        \
        int scratch;                                                                              \
        if (PROBED(fp_t, x86cb_##conv##_store, &expected, probed(&scratch, a, b)) &&              \
            PROBED(fp_t, fn, &popped, probed(out, a, b)))                                         \
            esp_moved = popped - expected;                                                        \
    }

#define CONVENTION(conv)                                                                          \
    SHAPE(conv, ii, int)                                                                          \
    SHAPE(conv, LiL, int64_t)                                                                     \
    SHAPE(conv, iLi, int64_t)                                                                     \
    SHAPE(conv, dfi, double)                                                                      \
    SHAPE(conv, fid, float)                                                                       \
    SHAPE(conv, narrow, short)                                                                    \
    SHAPE(conv, str, int64_t)                                                                     \
    SHAPE(conv, many, double)                                                                     \
    VOID_SHAPE(conv)

CONVENTION(cdecl)
CONVENTION(stdcall)
CONVENTION(fastcall)
CONVENTION(thiscall)
