/*
 * barefn_x86.c - typed thunks on x86-32: the four conventions (cdecl, stdcall, fastcall,
 * thiscall) with integer, 64-bit, float and double parameters and results, the flavours, bound
 * handlers (freed: the dead copy pops what the convention says and leaves the x87 stack as a
 * call would; reused after the quarantine; no check of the record on the live path), freed
 * thunks, and the PC-materialising idioms of 32-bit PIC code in a prologue
 * (call next; pop, __x86.get_pc_thunk) plus a call out of the prologue, relocated; a call into
 * the prologue refused with the instruction named; a body run in place (the PC idiom in it, a
 * cold path left in the template, a call the copy stops before). Built as the same gcc/clang x
 * -O0/-O2/-O3/-Os x PIC/SSP/CET/ASan matrix as the x86-64 tests (spec/c/barefn.cmake).
 */
#include "cffi.h"
#include "reloc/reloc.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "x86/x86_support.h" /* x87_depth */

static int ctx_tag;
static int bad;
#define ARG(c) (bad += !(c))

static int h_ii(void *ctx, int a, int b) {
    ARG(ctx == &ctx_tag);
    return a * 10 + b;
}
CFFI_BAREFN(x_cdecl, cdecl, int, (int a, int b), (a, b))
CFFI_BAREFN(x_std, stdcall, int, (int a, int b), (a, b))
CFFI_BAREFN(x_fast, fastcall, int, (int a, int b), (a, b))
CFFI_BAREFN(x_this, thiscall, int, (int a, int b), (a, b))

static int64_t h_mix(void *ctx, int8_t a, int64_t b, double c, float d, uint16_t e, int f) {
    ARG(ctx == &ctx_tag);
    ARG(a == -3 && b == -0x123456789LL && c == 2.5 && d == -0.5f && e == 0xFFFF && f == 77);
    return b + a + (int64_t)(c * 4) + (int64_t)(d * 2) + e + f;
}
#define MIX_P (int8_t a, int64_t b, double c, float d, uint16_t e, int f)
#define MIX_A (a, b, c, d, e, f)
CFFI_BAREFN(x_mix_c, cdecl, int64_t, MIX_P, MIX_A)
CFFI_BAREFN(x_mix_s, stdcall, int64_t, MIX_P, MIX_A)
CFFI_BAREFN(x_mix_f, fastcall, int64_t, MIX_P, MIX_A)
CFFI_BAREFN(x_mix_t, thiscall, int64_t, MIX_P, MIX_A)
static const int64_t MIX_RESULT = -0x123456789LL - 3 + 10 - 1 + 0xFFFF + 77;

static double h_d(void *ctx, double x) { return x * *(double *)ctx; }
CFFI_BAREFN(x_d_std, stdcall, double, (double x), (x))
static float h_f0(void *ctx) { return *(float *)ctx; }
CFFI_BAREFN0(x_f0, fastcall, float)

static int h_self(void *ctx, int x);
static void *mut_self;
CFFI_BAREFN_MUT(x_mut, stdcall, int, (int x), (x))
CFFI_BAREFN_ONCE(x_once, thiscall, int, (int x), (x))
static int h_self(void *ctx, int x) {
    (void)ctx;
    if (x > 0) return ((x_mut_bare)mut_self)(x - 1) + 100; /* re-entry: refused, returns 0 */
    return 1;
}
static int h_once(void *ctx, int x) { return *(int *)ctx + x; }

static int h_bound(void *ctx, int a, int b) { return *(int *)ctx + a - b; }
CFFI_BAREFN_FN(x_bound, stdcall, int, (int a, int b), (a, b), h_bound)
CFFI_BAREFN_FN(x_bound_f, fastcall, int, (int a, int b), (a, b), h_bound)
CFFI_BAREFN_FN(x_bound_c, cdecl, int, (int a, int b), (a, b), h_bound)
CFFI_BAREFN_FN(x_bound_t, thiscall, int, (int a, int b), (a, b), h_bound)
CFFI_BAREFN_FN(x_bound_d, stdcall, double, (double x), (x), h_d)

static int events[4];
static void hook(const cffi_barefn *b, const char *name, cffi_barefn_event ev) {
    (void)b, (void)name;
    if (ev >= 1 && ev <= 3) events[ev]++;
}

/* ---- hand-written prologues: PIC idioms before the block */
typedef int (*h2_fn)(void *ctx, int a, int b);
static int trap2(void *ctx, int a, int b) {
    (void)a, (void)b;
    cffi_barefn_report(ctx, CFFI_BAREFN_EV_FREED);
    return 0;
}
#define DESC(tpl) {(const void *)(tpl), (void *)trap2, #tpl, CFFI_BAREFN_KIND_PLAIN, 0, NULL}
/* A C symbol's name in assembly: PE on x86-32 prefixes an underscore. */
#if defined(_WIN32)
#define X86_SYM(name) "_" name
#else
#define X86_SYM(name) name
#endif

volatile int g_seen;
__attribute__((noinline)) void note(int x) { g_seen += x; }
__attribute__((used)) const int x86_table[4] = {5, 6, 7, 8};

/* call next; pop: the PC, then data addressed from it */
static CFFI__BAREFN_NOIPA int tpl_callpop(int a, int b) {
    int v;
    __asm__ volatile("call 1f\n\t"
                     "1: pop %%ecx\n\t"
                     "movl %c1+" X86_SYM("x86_table") "-1b(%%ecx), %0\n\t" /* table[2], PC-relative */
                     : "=r"(v)
                     : "i"(8)
                     : "ecx", "memory");
    g_seen = v;
    cffi_barefn_rec *r;
    CFFI_BAREFN_RECORD(r);
    return ((h2_fn)r->fn)(r->ctx, a, b);
}
/* __x86.get_pc_thunk-style helper (mov (%esp), %edx ; ret); naked: the assembly alone, with GCC
 * minding sections and the object format's symbol names. Under CET, no endbr32 in front: like
 * the compilers' own thunks, it is only called directly, and the relocator recognises the idiom
 * by its two instructions. */
#ifdef __CET__
#define PC_THUNK_ATTR __attribute__((nocf_check))
#else
#define PC_THUNK_ATTR
#endif
X86_NAKED __attribute__((used)) PC_THUNK_ATTR void cffi_test_pc_thunk_dx(void) {
    __asm__("movl (%esp), %edx\n\t"
            "ret\n");
}
static CFFI__BAREFN_NOIPA int tpl_pcthunk(int a, int b) {
    int v;
    __asm__ volatile("call " X86_SYM("cffi_test_pc_thunk_dx") "\n\t"
                     "2: movl " X86_SYM("x86_table") "+4-2b(%%edx), %0\n\t" /* table[1] */
                     : "=r"(v)
                     :
                     : "edx", "memory");
    g_seen = v;
    note(1); /* a call out of the prologue */
    cffi_barefn_rec *r;
    CFFI_BAREFN_RECORD(r);
    return ((h2_fn)r->fn)(r->ctx, a, b);
}
/* a call to code inside the prologue (not the next instruction): refused */
static CFFI__BAREFN_NOIPA int tpl_callin(int a, int b) {
    __asm__ volatile("call 1f\n\t"
                     "jmp 2f\n\t"
                     "1: ret\n\t"
                     "2:\n\t" ::: "memory");
    cffi_barefn_rec *r;
    CFFI_BAREFN_RECORD(r);
    return ((h2_fn)r->fn)(r->ctx, a, b);
}
/* ---- a body that copies run in place (the code after the block), in assembly so that its shape
 * is exact: the PC idiom (a get_pc_thunk call, which the copy turns into a mov of the original
 * return address), PC-relative data through it, a branch to a cold path (left in the template),
 * then a call: the copy stops before it and jumps to it in the template.
 * cdecl int(int a, int b): fn(ctx, a + table[2], b), or b + 1000 on the cold path. */
int g_cold32;
#ifdef __ELF__
#define BODY32_HIDDEN ".hidden tpl_body32_cold, tpl_body32_call\n\t"
#else
#define BODY32_HIDDEN ""
#endif
extern const char tpl_body32_cold[], tpl_body32_call[];
X86_NAKED __attribute__((used)) int tpl_body32(int a NAKED_ARG, int b NAKED_ARG) {
    __asm__(".globl " X86_SYM("tpl_body32_cold") ", " X86_SYM("tpl_body32_call") "\n\t"
            BODY32_HIDDEN
            "movl $" CFFI__STR(CFFI_BAREFN_X86_RECORD_MAGIC) ", %eax\n\t"
            ".byte 0xE9\n\t"
            ".long " CFFI__STR(CFFI_BAREFN_X86_BACK_MAGIC) "\n\t"
            "endbr32\n\t"
            "call " X86_SYM("cffi_test_pc_thunk_dx") "\n"
            "3:\n\t"
            "movl " X86_SYM("x86_table") "+8-3b(%edx), %ecx\n\t" /* table[2] */
            "addl 4(%esp), %ecx\n\t"
            "cmpl $0, " X86_SYM("g_cold32") "-3b(%edx)\n\t"
            "jne " X86_SYM("tpl_body32_cold") "\n\t"
            "movl 8(%esp), %edx\n"
            "4:\n\t"
            "pushl %edx\n\t"
            "pushl %ecx\n\t"
            "pushl 4(%eax)\n"
            X86_SYM("tpl_body32_call") ":\n\t"
            "call *(%eax)\n\t"
            "addl $12, %esp\n\t"
            "ret\n"
            X86_SYM("tpl_body32_cold") ":\n\t"
            "movl 8(%esp), %edx\n\t"
            "addl $1000, %edx\n\t"
            "jmp 4b\n");
}

static cffi_barefn_template d_callpop = DESC(tpl_callpop), d_pcthunk = DESC(tpl_pcthunk),
                            d_callin = DESC(tpl_callin), d_body32 = DESC(tpl_body32);

static bool mentions(const char *text, const void *a) {
    char hex[32];
    snprintf(hex, sizeof hex, "0x%x\n", (unsigned)(uintptr_t)a);
    return strstr(text, hex) != NULL;
}

/* Copies run the body in place and never jump back to the landing pad after the block. */
static void check_in_place(const cffi_barefn_template *d, cffi_barefn *t) {
    char err[256], text[4096];
    cffi_reloc_block blk;
    REQUIRE(cffi_reloc_find_block(d->code, 1024, &blk, err, sizeof err) == CFFI_OK);
    cffi_reloc_tail tail;
    REQUIRE(cffi_reloc_tail_build(&blk, true, 256, &tail) == CFFI_OK);
    CHECK_MSG(tail.body_len > 0, "%s: no body copied", d->name);
    cffi_reloc_tail_free(&tail);
    cffi_disasm(cffi_barefn_code(t), 1024, text, sizeof text);
    CHECK_MSG(!mentions(text, blk.landing), "%s jumps back to its landing pad:\n%s", d->name,
              text);
}

static void test_body(void) {
    cffi_barefn *t;
    REQUIRE(cffi_barefn_new(&d_body32, (void *)h_ii, &ctx_tag, &t) == CFFI_OK);
    typedef int (*cdecl2)(int, int);
    cdecl2 f = (cdecl2)cffi_barefn_code(t);
    CHECK(f(1, 2) == 82);
    g_cold32 = 1;
    CHECK(f(1, 2) == 1082);
    g_cold32 = 0;
    char text[4096];
    cffi_disasm(cffi_barefn_code(t), 1024, text, sizeof text);
    CHECK_MSG(strstr(text, "mov edx, 0x") && !strstr(text, "call"), "%s", text);
    CHECK_MSG(mentions(text, tpl_body32_cold) && mentions(text, tpl_body32_call), "%s", text);
    check_in_place(&d_body32, t);
    cffi_barefn_free(t);
    CHECK(f(1, 2) == 0);

    /* Compiled templates. */
    int base = 1;
    REQUIRE(x_std_new(h_ii, &ctx_tag, &t) == CFFI_OK);
    check_in_place(&x_std__tdesc, t);
    cffi_barefn_free(t);
    REQUIRE(x_bound_new(&base, &t) == CFFI_OK);
    check_in_place(&x_bound__tdesc, t);
    cffi_barefn_free(t);
    REQUIRE(x_mut_new(h_self, NULL, &t) == CFFI_OK);
    check_in_place(&x_mut__tdesc, t);
    cffi_barefn_free(t);
}
typedef int (*bare2)(int, int);

/* int32_t call_popped2(void *fn, int32_t ecx, int32_t edx, int32_t w0, int32_t w1,
 *                      int32_t *result) - calls fn with ECX and EDX set and the words w0 (on
 * top) and w1 pushed, stores EAX in *result and returns the bytes fn popped off the stack. In
 * assembly, so that the count does not depend on how a compiler tracks ESP. */
X86_NAKED static int32_t call_popped2(void *fn NAKED_ARG,
                                                            int32_t ecx NAKED_ARG,
                                                            int32_t edx NAKED_ARG,
                                                            int32_t w0 NAKED_ARG,
                                                            int32_t w1 NAKED_ARG,
                                                            int32_t *result NAKED_ARG) {
    __asm__("    pushl %esi\n"          /* callee-saved: holds ESP before the pushes */
            "    movl %esp, %esi\n"     /* esi+8 fn, +12 ecx, +16 edx, +20 w0, +24 w1, +28 result */
            "    pushl 24(%esi)\n"      /* w1 */
            "    pushl 20(%esi)\n"      /* w0, the first stack argument */
            "    movl 12(%esi), %ecx\n" /* ecx (fastcall, thiscall) */
            "    movl 16(%esi), %edx\n" /* edx (fastcall) */
            "    call *8(%esi)\n"       /* fn */
            "    movl 28(%esi), %ecx\n" /* ecx = result pointer */
            "    movl %eax, (%ecx)\n"   /* *result = eax */
            "    movl %esp, %eax\n"     /* eax = esp after the call ... */
            "    subl %esi, %eax\n"     /* ... - esp before the pushes = popped - 8 */
            "    addl $8, %eax\n"       /* = bytes the callee popped */
            "    movl %esi, %esp\n"     /* drop the words, whoever popped */
            "    popl %esi\n"           /* restore esi */
            "    ret\n");
}

/* One call of an int(int a, int b) thunk of convention conv through call_popped2: its result,
 * and in *popped the bytes it popped. */
enum conv { CONV_CDECL, CONV_STDCALL, CONV_FASTCALL, CONV_THISCALL };
static int32_t call_conv(enum conv conv, const void *fn, int a, int b, int32_t *popped) {
    int32_t r = -1;
    void *f = (void *)(uintptr_t)fn;
    switch (conv) {
    case CONV_CDECL:
    case CONV_STDCALL: *popped = call_popped2(f, 0, 0, a, b, &r); break;
    case CONV_FASTCALL: *popped = call_popped2(f, a, b, 0, 0, &r); break;
    case CONV_THISCALL: *popped = call_popped2(f, a, 0, b, 0, &r); break;
    }
    return r;
}

/* Bound thunks of every convention, live and freed: the same bytes popped either way (the dead
 * copy is a template of the same convention), many times over. */
static void test_bound_freed(void) {
    static const int32_t pops[] = {0, 8, 0, 4}; /* cdecl, stdcall, fastcall, thiscall */
    int base = 40;
    cffi_barefn *t[4];
    REQUIRE(x_bound_c_new(&base, &t[CONV_CDECL]) == CFFI_OK);
    REQUIRE(x_bound_new(&base, &t[CONV_STDCALL]) == CFFI_OK);
    REQUIRE(x_bound_f_new(&base, &t[CONV_FASTCALL]) == CFFI_OK);
    REQUIRE(x_bound_t_new(&base, &t[CONV_THISCALL]) == CFFI_OK);
    int32_t popped;
    for (int c = 0; c < 4; c++) {
        CHECK_MSG(call_conv(c, cffi_barefn_code(t[c]), 5, 3, &popped) == 42 && popped == pops[c],
                  "convention %d live: popped %d", c, (int)popped);
    }
    memset(events, 0, sizeof events);
    bool runs = true;
    for (int c = 0; c < 4; c++) {
        cffi_barefn_free(t[c]);
        runs = runs && check_rewritten_code_at(cffi_barefn_code(t[c]),
                                               "bound thunks of every convention called once freed");
    }
    if (!runs) return;
    for (int c = 0; c < 4; c++) {
        int wrong = 0;
        for (int i = 0; i < 1000; i++)
            wrong += call_conv(c, cffi_barefn_code(t[c]), 5, 3, &popped) != 0 || popped != pops[c];
        CHECK_MSG(wrong == 0, "convention %d freed: %d wrong calls", c, wrong);
    }
    CHECK(events[CFFI_BAREFN_EV_FREED] == 4000);
    /* And called as compiled code calls them, which would lose track of ESP if they did not. */
    int sum = 0;
    for (int i = 0; i < 1000; i++)
        sum += x_bound_c_code(t[0])(i, 1) + x_bound_code(t[1])(i, 1) +
               x_bound_f_code(t[2])(i, 1) + x_bound_t_code(t[3])(i, 1);
    CHECK(sum == 0 && events[CFFI_BAREFN_EV_FREED] == 8000);

    /* A double result comes back on the x87 stack, freed too: one value, popped by the caller. */
    double k = 1.5;
    cffi_barefn *d;
    REQUIRE(x_bound_d_new(&k, &d) == CFFI_OK);
    x_bound_d_bare fd = x_bound_d_code(d);
    CHECK(fd(4.0) == 6.0);
    cffi_barefn_free(d);
    if (!check_rewritten_code_at((const void *)fd, "a freed bound thunk of a double result"))
        return;
    int wrong = 0;
    for (int i = 0; i < 100; i++) wrong += fd(4.0) != 0.0 || x87_depth() != 0;
    CHECK(wrong == 0);
}

/* A freed bound thunk's slot, reused after the quarantine: the live code back, the new context. */
static void test_bound_reuse(void) {
    static const char part[] = "a freed bound thunk's slot reused after the quarantine";
    int k1 = 40, k2 = 7;
    cffi_barefn *t, *u;
    REQUIRE(x_bound_t_new(&k1, &t) == CFFI_OK);
    const void *code = cffi_barefn_code(t);
    char live[2048], now[2048];
    cffi_disasm(code, 256, live, sizeof live);
    cffi_barefn_free(t);
    if (!check_rewritten_code_at(code, part)) return;
    int32_t popped;
    CHECK(call_conv(CONV_THISCALL, code, 5, 3, &popped) == 0 && popped == 4);
    int wrong = 0;
    for (int i = 0; i < CFFI_QUARANTINE; i++) {
        REQUIRE(x_bound_t_new(&k2, &u) == CFFI_OK);
        check_rewritten_code_at(cffi_barefn_code(u), part); /* a slot that may have run before */
        wrong += u == t || x_bound_t_code(u)(5, 3) != 9;
        cffi_barefn_free(u);
    }
    CHECK(wrong == 0);
    check_rewritten_code_at(code, part);
    CHECK(call_conv(CONV_THISCALL, code, 5, 3, &popped) == 0 && popped == 4);
    REQUIRE(x_bound_t_new(&k2, &u) == CFFI_OK);
    CHECK(u == t && cffi_barefn_code(u) == code);
    check_rewritten_code_at(code, part);
    CHECK(call_conv(CONV_THISCALL, code, 5, 3, &popped) == 9 && popped == 4);
    cffi_disasm(code, 256, now, sizeof now);
    CHECK_MSG(strcmp(live, now) == 0, "reused code differs:\n%s\nwas:\n%s", now, live);
    cffi_barefn_free(u);
    check_rewritten_code_at(code, part);
    CHECK(call_conv(CONV_THISCALL, code, 5, 3, &popped) == 0 && popped == 4);
}

/* A bound handler that ignores its context: the live copy neither reads nor tests the record's
 * fn (before the dead copies, a load through the record and a compare did). */
static int h_sum(void *ctx, int a, int b) {
    (void)ctx;
    return (int)((unsigned)a + (unsigned)b);
}
CFFI_BAREFN_FN(x_sum, cdecl, int, (int a, int b), (a, b), h_sum)

static void test_bound_shape(void) {
    cffi_barefn *t;
    REQUIRE(x_sum_new(NULL, &t) == CFFI_OK);
    CHECK(x_sum_code(t)(2, 3) == 5);
    char text[4096];
    cffi_disasm(cffi_barefn_code(t), 512, text, sizeof text);
    CHECK_MSG(strstr(text, "dword ptr [eax]") == NULL, "the record's fn is read:\n%s", text);
#if !defined(__SSP_ALL__) && !defined(CFFI_TEST_SANITIZED)
    CHECK_MSG(!strstr(text, ": cmp ") && !strstr(text, ": test ") && !strstr(text, ": jne ") &&
                  !strstr(text, ": je "),
              "the copy tests something:\n%s", text);
#endif
    cffi_barefn_free(t);
    if (check_rewritten_code_at(cffi_barefn_code(t), "the sum thunk called once freed"))
        CHECK(x_sum_code(t)(2, 3) == 0);
}

int main(void) {
    cffi_barefn *t[16];
    REQUIRE(x_cdecl_new(h_ii, &ctx_tag, &t[0]) == CFFI_OK);
    REQUIRE(x_std_new(h_ii, &ctx_tag, &t[1]) == CFFI_OK);
    REQUIRE(x_fast_new(h_ii, &ctx_tag, &t[2]) == CFFI_OK);
    REQUIRE(x_this_new(h_ii, &ctx_tag, &t[3]) == CFFI_OK);
    CHECK(x_cdecl_code(t[0])(1, 2) == 12);
    CHECK(x_std_code(t[1])(3, 4) == 34);
    CHECK(x_fast_code(t[2])(5, 6) == 56);
    CHECK(x_this_code(t[3])(7, 8) == 78);
    REQUIRE(x_mix_c_new(h_mix, &ctx_tag, &t[4]) == CFFI_OK);
    REQUIRE(x_mix_s_new(h_mix, &ctx_tag, &t[5]) == CFFI_OK);
    REQUIRE(x_mix_f_new(h_mix, &ctx_tag, &t[6]) == CFFI_OK);
    REQUIRE(x_mix_t_new(h_mix, &ctx_tag, &t[7]) == CFFI_OK);
    CHECK(x_mix_c_code(t[4])(-3, -0x123456789LL, 2.5, -0.5f, 0xFFFF, 77) == MIX_RESULT);
    CHECK(x_mix_s_code(t[5])(-3, -0x123456789LL, 2.5, -0.5f, 0xFFFF, 77) == MIX_RESULT);
    CHECK(x_mix_f_code(t[6])(-3, -0x123456789LL, 2.5, -0.5f, 0xFFFF, 77) == MIX_RESULT);
    CHECK(x_mix_t_code(t[7])(-3, -0x123456789LL, 2.5, -0.5f, 0xFFFF, 77) == MIX_RESULT);
    double k = 1.5;
    float kf = 0.25f;
    REQUIRE(x_d_std_new(h_d, &k, &t[8]) == CFFI_OK);
    REQUIRE(x_f0_new(h_f0, &kf, &t[9]) == CFFI_OK);
    CHECK(x_d_std_code(t[8])(4.0) == 6.0);
    CHECK(x_f0_code(t[9])() == 0.25f);
    CHECK(bad == 0);

    cffi_set_barefn_hook(hook);
    REQUIRE(x_mut_new(h_self, NULL, &t[10]) == CFFI_OK);
    mut_self = (void *)x_mut_code(t[10]);
    CHECK(x_mut_code(t[10])(1) == 100 && events[CFFI_BAREFN_EV_REENTERED] == 1);
    CHECK(x_mut_code(t[10])(0) == 1);
    int base = 40;
    REQUIRE(x_once_new(h_once, &base, &t[11]) == CFFI_OK);
    CHECK(x_once_code(t[11])(2) == 42 && x_once_code(t[11])(2) == 0);
    CHECK(events[CFFI_BAREFN_EV_CALLED_TWICE] == 1);
    REQUIRE(x_bound_new(&base, &t[12]) == CFFI_OK);
    REQUIRE(x_bound_f_new(&base, &t[13]) == CFFI_OK);
    CHECK(x_bound_code(t[12])(5, 3) == 42 && x_bound_f_code(t[13])(9, 1) == 48);
    cffi_barefn_free(t[12]);
    cffi_barefn_free(t[1]);
    static const char freed_part[] = "a bound and a stdcall thunk called once freed";
    if (check_rewritten_code_at(cffi_barefn_code(t[12]), freed_part) &&
        check_rewritten_code_at(cffi_barefn_code(t[1]), freed_part)) { /* maybe other pages */
        CHECK(x_bound_code(t[12])(5, 3) == 0 && events[CFFI_BAREFN_EV_FREED] == 1);
        CHECK(x_std_code(t[1])(3, 4) == 0 && events[CFFI_BAREFN_EV_FREED] == 2);
    }

    /* PIC idioms */
    int c = 1000;
    cffi_barefn *p, *p2;
    REQUIRE(cffi_barefn_new(&d_callpop, (void *)h_ii, &ctx_tag, &p2) == CFFI_OK);
    p = p2;
    g_seen = 0;
    CHECK(((bare2)cffi_barefn_code(p))(4, 2) == 42 && g_seen == 7);
    REQUIRE(cffi_barefn_new(&d_pcthunk, (void *)h_bound, &c, &p) == CFFI_OK);
    g_seen = 0;
    CHECK(((bare2)cffi_barefn_code(p))(4, 2) == 1002 && g_seen == 7);
    char listing[2048];
    cffi_disasm(cffi_barefn_code(p), 256, listing, sizeof listing);
    CHECK_MSG(strstr(listing, "mov edx, 0x") != NULL, "%s", listing);
    char err[256];
    cffi_barefn *refused;
    CHECK(cffi_barefn_new_ex(&d_callin, (void *)h_ii, &ctx_tag, &refused, err, sizeof err) ==
          CFFI_ERELOC);
    CHECK_MSG(strstr(err, "`call 0x") != NULL, "%s", err);

    /* many thunks, reused addresses */
    for (int i = 0; i < 2000; i++) {
        cffi_barefn *q;
        REQUIRE(x_fast_new(h_ii, &ctx_tag, &q) == CFFI_OK);
        CHECK(x_fast_code(q)(i, 1) == i * 10 + 1);
        cffi_barefn_free(q);
    }
    test_body();
    test_bound_freed();
    test_bound_shape();
    test_bound_reuse();
    cffi_set_barefn_hook(NULL);
    for (int i = 0; i < 14; i++) cffi_barefn_free(t[i]); /* freeing twice is harmless */
    cffi_barefn_free(p2);
    cffi_barefn_free(p);
    return CHECK_DONE();
}
