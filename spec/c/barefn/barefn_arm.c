/*
 * barefn_arm.c - typed thunks on 32-bit ARM, in the instruction set this file is compiled in
 * (spec/c/barefn.cmake builds it in Thumb-2 and in ARM state, with each variant's flags), and in
 * both states through prologues written by hand:
 *   - plain templates of integer, floating and mixed signatures, with stack arguments, Mut
 *     (re-entry caught), Once (a second call caught), the bound _FN form; a thunk is in its
 *     template's state (bit 0 of its pointer) and is called from C compiled in either state;
 *   - freed thunks report and return 0 (the bound form through its dead copy and gate), where
 *     rewritten code can be shown to run (check.h);
 *   - prologues with literal loads (16- and 32-bit), adr, add rd, pc, a bl out, branches inside
 *     (b, b<cond>, cbz) and an it block run relocated, in ARM and in Thumb state; a branch out of
 *     the prologue, a VFP literal load, a conditional literal load, an it block around a literal
 *     load and a read of PC are refused with CFFI_ERELOC naming the instruction;
 *   - many copies of one template, each with its own context.
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

/* Ten 64-bit integers and ten doubles: both classes spill to the stack. */
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

/* The base standard: floating values in core registers. */
static float h_soft(void *ctx, float a, double b) { return *(float *)ctx + a * 2 + (float)b; }
CFFI_BAREFN(t_soft, aapcs, float, (float a, double b), (a, b))

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
    /* The thunk is in its template's state: bit 0 of both pointers. */
    bool thumb = (uintptr_t)t_sub_code(t) & 1;
    CHECK(thumb == (((uintptr_t)t_sub__tdesc.code & 1) != 0));
#if defined(__thumb__)
    CHECK(thumb);
#else
    CHECK(!thumb);
#endif
    char text[2048];
    CHECK_MSG(cffi_disasm(t_sub_code(t), 64, text, sizeof text) > 0, "no listing");
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

    float fbase = 0.25f;
    REQUIRE(t_soft_new(h_soft, &fbase, &t) == CFFI_OK);
    CHECK(t_soft_code(t)(1.5f, 4.0) == 0.25f + 3 + 4);
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

/* --- prologues by hand, in both states ------------------------------------------------------ */
/* The block as top-level assembly, then a plain handler call after it: ip = record;
 * return fn(ctx, r0, r1). The literals the prologues load sit after the body, outside the
 * relocated range, as a compiler places them. */
#define STR2(x) #x
#define STR(x) STR2(x)
#define BODY_ASM "mov r2, r1\n\tmov r1, r0\n\tldr r0, [ip, #4]\n\tldr ip, [ip]\n\tbx ip\n\t"
#define ARM_BLOCK                                                                                 \
    ".inst " STR(CFFI_BAREFN_ARM_LOAD_IP) "\n\t.inst " STR(CFFI_BAREFN_ARM_LOAD_PC) "\n\t"        \
    ".word " STR(CFFI_BAREFN_RECORD_MAGIC) "\n\t.word " STR(CFFI_BAREFN_BACK_MAGIC) "\n\t" BODY_ASM
#define THUMB_BLOCK                                                                               \
    ".balign 4\n\t"                                                                               \
    ".inst.w " STR(CFFI_BAREFN_THUMB_LOAD_IP) "\n\t.inst.w " STR(CFFI_BAREFN_THUMB_LOAD_PC) "\n\t" \
    ".word " STR(CFFI_BAREFN_RECORD_MAGIC) "\n\t.word " STR(CFFI_BAREFN_BACK_MAGIC) "\n\t" BODY_ASM
/* Each function sets its instruction set and leaves the one the compiler uses for this file. */
#if defined(__thumb__)
#define FILE_STATE ".thumb\n"
#else
#define FILE_STATE ".arm\n"
#endif
#define ARM_FUNC(name)                                                                            \
    ".text\n.syntax unified\n.arm\n.balign 4\n.globl " #name "\n.type " #name ", %function\n"   \
    #name ":\n\t"
#define THUMB_FUNC(name)                                                                          \
    ".text\n.syntax unified\n.thumb\n.balign 4\n.globl " #name "\n.type " #name               \
    ", %function\n.thumb_func\n" #name ":\n\t"
#define END_FUNC(name) ".size " #name ", .-" #name "\n" FILE_STATE

typedef int (*h2_fn)(void *, int, int);
static int trap2(void *ctx, int a, int b) {
    (void)a, (void)b;
    cffi_barefn_report(ctx, CFFI_BAREFN_EV_FREED);
    return 0;
}
#define DESC(tpl) {(const void *)(tpl), (void *)trap2, #tpl, CFFI_BAREFN_KIND_PLAIN, 0, NULL}

int reloc_data[4] = {5, 6, 7, 8};
int reloc_seen;
__attribute__((noinline)) void reloc_note(int x) { reloc_seen += x; }

/* ARM state: a literal load of &data (data[2]), adr of a literal (0x1234), add rd, pc, rm
 * (data[1]), the sum stored to reloc_seen, a bl out (+1), a conditional add (a != 0: +1) and a
 * b<cond> inside (b < 0: a + 100), then b to the block. */
int tpl_arm_pcrel(int a, int b);
__asm__(ARM_FUNC(tpl_arm_pcrel)
        "push {r4, r5, r6, lr}\n\t"
        "ldr r4, 1f\n\t"                 /* &reloc_data */
        "ldr r4, [r4, #8]\n\t"
        "adr r5, 2f\n\t"
        "ldr r5, [r5]\n\t"               /* 0x1234 */
        "add r4, r4, r5\n\t"
        "ldr r5, 3f\n"
        "4: add r5, pc, r5\n\t"          /* &reloc_data, PC-relative */
        "ldr r5, [r5, #4]\n\t"
        "add r4, r4, r5\n\t"
        "ldr r5, 5f\n\t"
        "str r4, [r5]\n\t"
        "push {r0, r1}\n\t"
        "mov r0, #1\n\t"
        "bl reloc_note\n\t"
        "pop {r0, r1}\n\t"
        "cmp r0, #0\n\t"
        "addne r0, r0, #1\n\t"
        "cmp r1, #0\n\t"
        "bge 6f\n\t"
        "add r0, r0, #100\n"
        "6: pop {r4, r5, r6, lr}\n\t"
        "b 7f\n"
        "7: " ARM_BLOCK
        "1: .word reloc_data\n"
        "2: .word 0x1234\n"
        "3: .word reloc_data - (4b + 8)\n"
        "5: .word reloc_seen\n"
        END_FUNC(tpl_arm_pcrel));

/* Thumb state: the same sums through the 16-bit literal load, adr and add rdn, pc, a 32-bit
 * literal load, a bl out, cbz (a != 0: +1), an it block (b < 0: +100) and a 16-bit b<cond>
 * (b >= 1000: +1000) inside, then b to the block. */
int tpl_thumb_pcrel(int a, int b);
__asm__(THUMB_FUNC(tpl_thumb_pcrel)
        "push {r4, r5, r6, lr}\n\t"
        "ldr r4, 1f\n\t"
        "ldr r4, [r4, #8]\n\t"
        "adr r5, 2f\n\t"
        "ldr r5, [r5]\n\t"
        "add r4, r5\n\t"
        "ldr r5, 3f\n"
        "4: add r5, pc\n\t"
        "ldr r5, [r5, #4]\n\t"
        "add r4, r5\n\t"
        "ldr.w r5, 5f\n\t"
        "str r4, [r5]\n\t"
        "push {r0, r1}\n\t"
        "movs r0, #1\n\t"
        "bl reloc_note\n\t"
        "pop {r0, r1}\n\t"
        "cbz r0, 8f\n\t"
        "adds r0, #1\n"
        "8: cmp r1, #0\n\t"
        "it lt\n\t"
        "addlt r0, #100\n\t"
        "cmp r1, #1000\n\t"
        "blt 9f\n\t"
        "addw r0, r0, #1000\n"
        "9: pop {r4, r5, r6, lr}\n\t"
        "b 7f\n"
        "7: " THUMB_BLOCK
        ".balign 4\n"
        "1: .word reloc_data\n"
        "2: .word 0x1234\n"
        "3: .word reloc_data - (4b + 4)\n"
        "5: .word reloc_seen\n"
        END_FUNC(tpl_thumb_pcrel));

/* Refused: a branch out of the prologue (ARM), a VFP literal load, a conditional literal load
 * (ARM), an it block around a literal load (Thumb), a read of PC (Thumb). */
int tpl_escape(int a, int b);
__asm__(ARM_FUNC(tpl_escape)
        "cmp r0, #0\n\tbeq 8f\n\t" ARM_BLOCK
        "8: mov r0, #0\n\tbx lr\n" END_FUNC(tpl_escape));
int tpl_vldr(int a, int b);
__asm__(THUMB_FUNC(tpl_vldr)
        "vldr d0, 1f\n\t" THUMB_BLOCK ".balign 4\n1: .word 0, 0\n" END_FUNC(tpl_vldr));
int tpl_cond_literal(int a, int b);
__asm__(ARM_FUNC(tpl_cond_literal)
        "cmp r0, #0\n\tldreq r3, 1f\n\t" ARM_BLOCK "1: .word 0\n" END_FUNC(tpl_cond_literal));
int tpl_it_literal(int a, int b);
__asm__(THUMB_FUNC(tpl_it_literal)
        "cmp r0, #0\n\tit eq\n\tldreq r3, 1f\n\t" THUMB_BLOCK ".balign 4\n1: .word 0\n"
        END_FUNC(tpl_it_literal));
int tpl_read_pc(int a, int b);
__asm__(THUMB_FUNC(tpl_read_pc)
        "mov r3, pc\n\t" THUMB_BLOCK END_FUNC(tpl_read_pc));

static cffi_barefn_template d_arm = DESC(tpl_arm_pcrel), d_thumb = DESC(tpl_thumb_pcrel),
                            d_escape = DESC(tpl_escape), d_vldr = DESC(tpl_vldr),
                            d_cond = DESC(tpl_cond_literal), d_it = DESC(tpl_it_literal),
                            d_pc = DESC(tpl_read_pc);

static int h2(void *ctx, int a, int b) { return *(int *)ctx + a * 10 + b; }

static void expect_refused(cffi_barefn_template *d, const char *insn) {
    cffi_barefn *t = (cffi_barefn *)1;
    char err[256];
    CHECK(cffi_barefn_new_ex(d, (void *)h2, NULL, &t, err, sizeof err) == CFFI_ERELOC);
    CHECK(t == NULL);
    CHECK_MSG(strstr(err, insn) && strstr(err, d->name), "%s: got \"%s\"", insn, err);
}

static void run_pcrel(cffi_barefn_template *d, bool thumb) {
    int base = 100000;
    cffi_barefn *t;
    char err[256];
    CHECK_MSG(cffi_barefn_new_ex(d, (void *)h2, &base, &t, err, sizeof err) == CFFI_OK, "%s: %s",
              d->name, err);
    if (!t) return;
    int (*f)(int, int) = (int (*)(int, int))cffi_barefn_code(t);
    CHECK(((uintptr_t)f & 1) == thumb);
    reloc_seen = 0;
    CHECK(f(4, 5) == 100055);
    CHECK_MSG(reloc_seen == 7 + 0x1234 + 6 + 1, "%s: reloc_seen = %d", d->name, reloc_seen);
    CHECK(f(0, 5) == 100005);
    CHECK(f(4, -5) == 100000 + 1050 - 5);
    if (thumb) CHECK(f(4, 2000) == 100000 + 10050 + 2000);
    cffi_barefn_free(t);
}

static void test_prologues(void) {
    run_pcrel(&d_arm, false);
    run_pcrel(&d_thumb, true);
    expect_refused(&d_escape, "beq");
    expect_refused(&d_vldr, "vldr");
    expect_refused(&d_cond, "ldreq");
    expect_refused(&d_it, "it");
    expect_refused(&d_pc, "mov");
}

int main(void) {
    cffi_set_barefn_hook(count_events);
    test_shapes();
    test_prologues();
    return CHECK_DONE();
}
