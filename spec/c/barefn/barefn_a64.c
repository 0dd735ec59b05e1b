/*
 * barefn_a64.c - typed thunks on AArch64: every flavour and shape through the relocator, and the
 * prologue instructions it must move or refuse, in templates the compiler builds with each
 * variant's flags (spec/c/barefn.cmake) and in prologues written by hand:
 *   - plain templates of integer, floating and mixed signatures, with stack arguments (more than
 *     eight of a class), Mut (re-entry caught), Once (a second call caught), the bound _FN form;
 *   - freed thunks report and return 0 (the bound form through its dead copy and gate), where
 *     rewritten code can be shown to run (check.h);
 *   - prologues with adrp+add and adr of data, a literal load, a bl out of the prologue and a
 *     branch inside it run relocated; a branch out of the prologue and a literal load into a
 *     SIMD register are refused with CFFI_ERELOC naming the instruction;
 *   - the copy is a BTI landing pad (its listing starts with `bti c`) and copies are independent
 *     of where they sit: many of one template, each with its own context.
 */
#include "cffi.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "check.h"

static int events[4];
static void count_events(const cffi_barefn *t, const char *name, cffi_barefn_event ev) {
    (void)t, (void)name;
    events[ev]++;
}

/* --- shapes ------------------------------------------------------------------------------- */
static int h_sub(void *ctx, int a, int b) { return *(int *)ctx + a - b; }
CFFI_BAREFN(t_sub, C, int, (int a, int b), (a, b))

static double h_mix(void *ctx, double a, float b, int c, double d) {
    return *(double *)ctx + a * 2 + (double)b * 3 + c * 5 + d * 7;
}
CFFI_BAREFN(t_mix, C, double, (double a, float b, int c, double d), (a, b, c, d))

/* Ten integers and ten doubles: two of each class on the stack. */
#define MANY_P                                                                                    \
    (int64_t a0, double d0, int64_t a1, double d1, int64_t a2, double d2, int64_t a3, double d3,  \
     int64_t a4, double d4, int64_t a5, double d5, int64_t a6, double d6, int64_t a7, double d7,  \
     int64_t a8, double d8, int64_t a9, double d9)
#define MANY_A                                                                                    \
    (a0, d0, a1, d1, a2, d2, a3, d3, a4, d4, a5, d5, a6, d6, a7, d7, a8, d8, a9, d9)
static double h_many(void *ctx, int64_t a0, double d0, int64_t a1, double d1, int64_t a2,
                     double d2, int64_t a3, double d3, int64_t a4, double d4, int64_t a5,
                     double d5, int64_t a6, double d6, int64_t a7, double d7, int64_t a8,
                     double d8, int64_t a9, double d9) {
    (void)ctx;
    int64_t ints[] = {a0, a1, a2, a3, a4, a5, a6, a7, a8, a9};
    double dbls[] = {d0, d1, d2, d3, d4, d5, d6, d7, d8, d9};
    double sum = 0;
    for (int i = 0; i < 10; i++) sum += (double)ints[i] * (i + 1) + dbls[i] * (i + 11);
    return sum;
}
CFFI_BAREFN(t_many, C, double, MANY_P, MANY_A)

/* A Mut handler that calls its own thunk again (through mut_self): the inner call is caught. */
static int (*mut_self)(int);
static int h_reenter(void *ctx, int x) {
    (void)ctx;
    if (x > 0) return mut_self(0) + x; /* re-entry: caught, returns 0 */
    return 100;
}
CFFI_BAREFN_MUT(t_mut, C, int, (int x), (x))

static int h_once(void *ctx, int x) { return *(int *)ctx + x; }
CFFI_BAREFN_ONCE(t_once, C, int, (int x), (x))

static int h_bound(void *ctx, int a, int b) { return *(int *)ctx * a + b; }
CFFI_BAREFN_FN(t_bound, C, int, (int a, int b), (a, b), h_bound)

static void test_shapes(void) {
    int base = 1000;
    cffi_barefn *t;
    REQUIRE(t_sub_new(h_sub, &base, &t) == CFFI_OK);
    CHECK(t_sub_code(t)(50, 8) == 1042);
    char text[2048];
    cffi_disasm(t_sub_code(t), 64, text, sizeof text);
    /* Capstone 4 spells bti c as the hint it is: hint #0x22. */
    const char *first = strchr(text, ':');
    CHECK_MSG(first && (strncmp(first, ": bti c\n", 8) == 0 || strncmp(first, ": hint #0x22\n", 13) == 0),
              "not a landing pad:\n%s", text);
    cffi_barefn_free(t);
    /* Freeing a plain thunk switches its record to the trap: data, not code. */
    CHECK(t_sub_code(t)(1, 2) == 0 && events[CFFI_BAREFN_EV_FREED] == 1);

    double dbase = 0.5;
    REQUIRE(t_mix_new(h_mix, &dbase, &t) == CFFI_OK);
    CHECK(t_mix_code(t)(1.0, 2.0f, 3, 4.0) == 0.5 + 2 + 6 + 15 + 28);
    cffi_barefn_free(t);

    REQUIRE(t_many_new(h_many, NULL, &t) == CFFI_OK);
    double want = 0;
    for (int i = 0; i < 10; i++) want += (double)(i * 3 - 7) * (i + 1) + (i * 0.25) * (i + 11);
    CHECK(t_many_code(t)(-7, 0.0, -4, 0.25, -1, 0.5, 2, 0.75, 5, 1.0, 8, 1.25, 11, 1.5, 14, 1.75,
                         17, 2.0, 20, 2.25) == want);
    cffi_barefn_free(t);

    cffi_barefn *mut;
    REQUIRE(t_mut_new(h_reenter, NULL, &mut) == CFFI_OK);
    mut_self = t_mut_code(mut);
    CHECK(mut_self(0) == 100);                 /* not re-entered: runs */
    CHECK(mut_self(5) == 5);                   /* the inner call is caught and returns 0 */
    CHECK(events[CFFI_BAREFN_EV_REENTERED] == 1);
    CHECK(mut_self(0) == 100);                 /* and the thunk works on afterwards */
    cffi_barefn_free(mut);

    int once_base = 40;
    REQUIRE(t_once_new(h_once, &once_base, &t) == CFFI_OK);
    CHECK(t_once_code(t)(2) == 42);
    CHECK(t_once_code(t)(2) == 0 && events[CFFI_BAREFN_EV_CALLED_TWICE] == 1);
    cffi_barefn_free(t);

    int k = 3;
    REQUIRE(t_bound_new(&k, &t) == CFFI_OK);
    CHECK(t_bound_code(t)(10, 4) == 34);
    int freed = events[CFFI_BAREFN_EV_FREED];
    cffi_barefn_free(t);
    if (check_rewritten_code_at((const void *)t_bound_code(t),
                                "a freed bound thunk runs its dead copy through the gate")) {
        CHECK(t_bound_code(t)(10, 4) == 0 && events[CFFI_BAREFN_EV_FREED] == freed + 1);
    }

    /* Many copies of one template, each with its own context. */
    enum { N = 300 };
    static cffi_barefn *all[N];
    static int ctx[N];
    for (int i = 0; i < N; i++) {
        ctx[i] = i * 10;
        REQUIRE(t_sub_new(h_sub, &ctx[i], &all[i]) == CFFI_OK);
    }
    int wrong = 0;
    for (int i = 0; i < N; i++) wrong += t_sub_code(all[i])(i, 1) != i * 10 + i - 1;
    CHECK_MSG(wrong == 0, "%d of %d copies computed the wrong result", wrong, N);
    for (int i = 0; i < N; i++) cffi_barefn_free(all[i]);
}

/* --- prologues by hand -------------------------------------------------------------------- */
/* The block as top-level assembly, and a plain handler call after it:
 * x17 = record; return fn(ctx, w0, w1). */
#define BLOCK_ASM                                                                                 \
    "ldr x17, 1f\n\tldr x16, 2f\n\tbr x16\n"                                                      \
    "1: .quad " CFFI__STR(CFFI_BAREFN_RECORD_MAGIC) "\n"                                          \
    "2: .quad " CFFI__STR(CFFI_BAREFN_BACK_MAGIC) "\n\t"                                          \
    "hint 36\n\t"                                                                                 \
    "mov w2, w1\n\tmov w1, w0\n\tldr x0, [x17, 8]\n\tldr x16, [x17]\n\tbr x16\n"

typedef int (*h2_fn)(void *, int, int);
static int trap2(void *ctx, int a, int b) {
    (void)a, (void)b;
    cffi_barefn_report(ctx, CFFI_BAREFN_EV_FREED);
    return 0;
}
#define DESC(tpl) {(const void *)(tpl), (void *)trap2, #tpl, CFFI_BAREFN_KIND_PLAIN, 0, NULL}

int a64_data[4] = {5, 6, 7, 8};
int a64_seen;
__attribute__((noinline)) void a64_note(int x) { a64_seen += x; }

/* adrp + add, adr, a literal load, a call out and a branch inside: a64_seen gets
 * data[2] (adrp) + data[1] (adr) + 0x1234 (literal) + 1 (call), and a is offset by 1 on the
 * branch's way (a != 0), by 100 when b < 0 (tbz) and by 1000 when b >= 1000 (b.cond). The
 * handler then gets (a', b). */
int tpl_pcrel(int a, int b);
__asm__(".text\n.p2align 4\n.globl tpl_pcrel\n.type tpl_pcrel, %function\ntpl_pcrel:\n\t"
        "hint 34\n\t"                          /* bti c */
        "stp x29, x30, [sp, -32]!\n\t"
        "mov x29, sp\n\t"
        "stp w0, w1, [sp, 16]\n\t"
        "adrp x9, a64_data\n\t"
        "add x9, x9, :lo12:a64_data\n\t"
        "ldr w10, [x9, 8]\n\t"                 /* data[2] */
        "adr x11, a64_data_mirror\n\t"
        "ldr x11, [x11]\n\t"                   /* &a64_data, through a pointer near the code */
        "ldr w12, [x11, 4]\n\t"                /* data[1] */
        "add w10, w10, w12\n\t"
        "ldr w12, 3f\n\t"                      /* a literal: 0x1234 */
        "add w10, w10, w12\n\t"
        "adrp x9, a64_seen\n\t"
        "str w10, [x9, :lo12:a64_seen]\n\t"
        "mov w0, 1\n\t"
        "bl a64_note\n\t"                      /* a call out of the prologue */
        "ldp w0, w1, [sp, 16]\n\t"
        "cbz w0, 4f\n\t"                       /* branches inside the prologue: cbz ... */
        "add w0, w0, 1\n"
        "4:\n\t"
        "tbz w1, #31, 8f\n\t"                  /* ... tbz (b >= 0 skips) ... */
        "add w0, w0, 100\n"
        "8:\n\t"
        "cmp w1, 1000\n\t"
        "b.lt 9f\n\t"                          /* ... and b.cond (b < 1000 skips) */
        "add w0, w0, 1000\n"
        "9:\n\t"
        "ldp x29, x30, [sp], 32\n\t"
        "b 5f\n"                               /* over the literal, to the block */
        "3: .word 0x1234\n"
        "5:\n\t" BLOCK_ASM
        ".size tpl_pcrel, .-tpl_pcrel\n"
        ".p2align 3\n"
        "a64_data_mirror: .quad a64_data\n");

/* A branch out of the prologue: refused. */
int tpl_escape(int a, int b);
__asm__(".text\n.p2align 4\n.globl tpl_escape\n.type tpl_escape, %function\ntpl_escape:\n\t"
        "hint 34\n\t"
        "cbz w0, tpl_escape_out\n\t" BLOCK_ASM
        "tpl_escape_out:\n\tmov w0, 0\n\tret\n"
        ".size tpl_escape, .-tpl_escape\n");

/* A literal load into a SIMD register: refused. */
int tpl_simd_literal(int a, int b);
__asm__(".text\n.p2align 4\n.globl tpl_simd_literal\n.type tpl_simd_literal, %function\n"
        "tpl_simd_literal:\n\t"
        "hint 34\n\t"
        "ldr d0, 6f\n\t"
        "b 7f\n"
        "6: .quad 0\n"
        "7:\n\t" BLOCK_ASM
        ".size tpl_simd_literal, .-tpl_simd_literal\n");

static cffi_barefn_template d_pcrel = DESC(tpl_pcrel), d_escape = DESC(tpl_escape),
                            d_simd = DESC(tpl_simd_literal);

static int h2(void *ctx, int a, int b) { return *(int *)ctx + a * 10 + b; }

static void expect_refused(cffi_barefn_template *d, const char *insn) {
    cffi_barefn *t = (cffi_barefn *)1;
    char err[256];
    CHECK(cffi_barefn_new_ex(d, (void *)h2, NULL, &t, err, sizeof err) == CFFI_ERELOC);
    CHECK(t == NULL);
    CHECK_MSG(strstr(err, insn) && strstr(err, d->name), "%s: got \"%s\"", insn, err);
}

static void test_prologues(void) {
    int base = 100000;
    cffi_barefn *t;
    char err[256];
    CHECK_MSG(cffi_barefn_new_ex(&d_pcrel, (void *)h2, &base, &t, err, sizeof err) == CFFI_OK,
              "%s", err);
    if (t) {
        a64_seen = 0;
        CHECK(((int (*)(int, int))cffi_barefn_code(t))(4, 5) == 100055);
        CHECK_MSG(a64_seen == 7 + 6 + 0x1234 + 1, "a64_seen = %d", a64_seen);
        a64_seen = 0;
        CHECK(((int (*)(int, int))cffi_barefn_code(t))(0, 5) == 100005);
        CHECK(((int (*)(int, int))cffi_barefn_code(t))(4, -5) == 100000 + 1050 - 5);
        CHECK(((int (*)(int, int))cffi_barefn_code(t))(4, 2000) == 100000 + 10050 + 2000);
        cffi_barefn_free(t);
    }
    expect_refused(&d_escape, "cbz");
    expect_refused(&d_simd, "ldr");
}

int main(void) {
    cffi_set_barefn_hook(count_events);
    test_shapes();
    test_prologues();
    return CHECK_DONE();
}
