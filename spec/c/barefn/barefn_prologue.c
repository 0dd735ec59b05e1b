/*
 * barefn_prologue.c - templates whose code before the record block must be relocated with care,
 * and code that must be refused.
 *
 * Hand-written templates (the CFFI_BAREFN_RECORD block after code of our choosing) put into the
 * relocated prologue: RIP-relative loads, stores and read-modify-writes with and without
 * immediates, an SSE operand with REX.R, a lea of a global, short conditional and unconditional
 * branches inside the range, direct calls, a variadic call, a call through a global function
 * pointer, the register save area of a variadic template (a conditional branch on %al), a large
 * frame (stack probes with -fstack-clash-protection) and the stack protector's canary. Each is
 * called through its thunk and checked for its side effects and result.
 *
 * Refused with CFFI_ERELOC and the instruction named: jrcxz (no long form), call/pop (a call into
 * the range), a conditional branch into the block's landing area, and, through the relocator
 * directly, undecodable bytes, a branch into the middle of an instruction or into the guard.
 * Cold paths the compilers lay out after the function (gcc -O2, ASan) are followed and moved.
 * Also: the endbr64 that CFFI_RELOC_ENTRY adds, and that a refused template stays refused.
 *
 * Bodies run in place (hand-written in assembly): RIP-relative operands (one with an immediate
 * after the displacement), a branch inside the copy, a branch to a cold path left in the
 * template, a tail call that ends the copy, and a call the copy stops before; checked by their
 * results, through freed thunks too, by the thunk's listing and by the near and far tails.
 */
#include "cffi.h"
#include "reloc/reloc.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "check.h"

/* The same bytes as CFFI_BAREFN_RECORD, for templates that wrap other code around the block in
 * one asm statement. */
#define BLOCK_TEXT                                                                                \
    "movabsq $" CFFI__STR(CFFI_BAREFN_X64_RECORD_MAGIC) ", %0\n\t"                                \
    "jmpq *1f(%%rip)\n\t"                                                                         \
    "1: .quad " CFFI__STR(CFFI_BAREFN_X64_BACK_MAGIC) "\n\t"                                      \
    "endbr64\n\t"

typedef int (*h2_fn)(void *ctx, int a, int b);
static int h2(void *ctx, int a, int b) { return *(int *)ctx + a * 10 + b; }
static int trap2(void *ctx, int a, int b) {
    (void)a, (void)b;
    cffi_barefn_report(ctx, CFFI_BAREFN_EV_FREED);
    return 0;
}
#define DESC(tpl) {(const void *)(tpl), (void *)trap2, #tpl, CFFI_BAREFN_KIND_PLAIN, 0, NULL}

/* The templates written in assembly below use the System V convention on every OS (on Windows
 * they, their handler and their callers say so), and are local symbols where ELF has them. */
#define ASM_ABI __attribute__((sysv_abi))
static ASM_ABI int h2s(void *ctx, int a, int b) { return *(int *)ctx + a * 10 + b; }
static ASM_ABI int trap2s(void *ctx, int a, int b) {
    (void)a, (void)b;
    cffi_barefn_report(ctx, CFFI_BAREFN_EV_FREED);
    return 0;
}
typedef int(ASM_ABI *bare2s)(int, int);
#define DESC_ASM(tpl) {(const void *)(tpl), (void *)trap2s, #tpl, CFFI_BAREFN_KIND_PLAIN, 0, NULL}
#ifdef __ELF__
#define ASM_HIDDEN(names) ".hidden " names "\n"
#else
#define ASM_HIDDEN(names) ""
#endif

/* ---- globals the prologues touch (not static: the compiler may not assume their values) */
volatile int g_flag = 1;
int g_calls, g_obj;
__attribute__((noinline)) void note_int(int x) { g_calls += x; }
__attribute__((noinline)) void note_ptr(int *p) { ++*p; }
__attribute__((noinline)) void note_fmt(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    if (fmt[0] == '%') g_calls += va_arg(ap, int);
    va_end(ap);
}
void (*g_fp)(int) = note_int;

/* 1. Compiled code before the block: RIP-relative load, conditional branch, direct calls, a
 *    variadic call with a RIP-relative string address, lea of a global, call through a pointer. */
static CFFI__BAREFN_NOIPA int tpl_calls(int a, int b) {
    if (g_flag) note_int(a);
    note_fmt("%d", b);
    note_ptr(&g_obj);
    g_fp(1);
    cffi_barefn_rec *r;
    CFFI_BAREFN_RECORD(r);
    return ((h2_fn)r->fn)(r->ctx, a, b);
}

/* 2. Exact instruction forms, written in assembly before the block. */
int a_counter, a_sum;
const int a_seven = 7;
double a_dv = 1.25, a_dout;
static CFFI__BAREFN_NOIPA int tpl_forms(int a, int b) {
    __asm__ volatile("incl %[cnt]\n\t"             /* RIP read-modify-write */
                     "cmpl $7, %[seven]\n\t"       /* RIP operand + imm8 */
                     "jne 1f\n\t"                  /* short jcc inside the range */
                     "addl $1000, %[cnt]\n\t"      /* RIP operand + imm32 */
                     "1:\n\t"
                     "jmp 2f\n\t"                  /* short jmp inside the range */
                     "ud2\n\t"
                     "2:\n\t"
                     "movl %[cnt], %%ecx\n\t"      /* loads into the first scratch candidates */
                     "movl %[cnt], %%eax\n\t"
                     "addl %%ecx, %%eax\n\t"
                     "movl %%eax, %[sum]\n\t"      /* RIP store */
                     "leaq %[cnt], %%rdx\n\t"      /* lea of a global: becomes movabs */
                     "incl (%%rdx)\n\t"
                     "movsd %[dv], %%xmm8\n\t"     /* SSE with REX.R */
                     "addsd %%xmm8, %%xmm8\n\t"
                     "movsd %%xmm8, %[dout]\n\t"
                     : [cnt] "+m"(a_counter), [sum] "=m"(a_sum), [dout] "=m"(a_dout)
                     : [seven] "m"(a_seven), [dv] "m"(a_dv)
                     : "cc", "rax", "rcx", "rdx", "xmm8");
    cffi_barefn_rec *r;
    CFFI_BAREFN_RECORD(r);
    return ((h2_fn)r->fn)(r->ctx, a, b);
}

/* 3. A variadic template: its prologue saves the vector registers only if %al says so. */
typedef int (*hv_fn)(void *ctx, int n, int sum);
static int hv(void *ctx, int n, int sum) { return *(int *)ctx + n * 1000 + sum; }
static int trapv(void *ctx, int n, int sum) {
    (void)n, (void)sum;
    cffi_barefn_report(ctx, CFFI_BAREFN_EV_FREED);
    return 0;
}
static CFFI__BAREFN_NOIPA int tpl_var(int n, ...) {
    cffi_barefn_rec *r;
    CFFI_BAREFN_RECORD(r);
    va_list ap;
    va_start(ap, n);
    int s = 0;
    for (int i = 0; i < n; i++) s += va_arg(ap, int);
    double d = va_arg(ap, double);
    va_end(ap);
    return ((hv_fn)r->fn)(r->ctx, n, s + (int)d);
}

/* 4. A large frame (probed with -fstack-clash-protection) and the stack protector's canary. */
static CFFI__BAREFN_NOIPA int tpl_big(int a, int b) {
    volatile char big[100000];
    big[0] = (char)a;
    cffi_barefn_rec *r;
    CFFI_BAREFN_RECORD(r);
    big[sizeof big - 1] = (char)b;
    return ((h2_fn)r->fn)(r->ctx, big[0], big[sizeof big - 1]);
}

/* ---- bodies that copies run in place (the code after the block). Whole functions in assembly,
 * so that their shape is exact whatever the compiler and flags. The block as top-level assembly: */
#define BLOCK_ASM                                                                                 \
    "movabsq $" CFFI__STR(CFFI_BAREFN_X64_RECORD_MAGIC) ", %rax\n\t"                              \
    "jmpq *1f(%rip)\n\t"                                                                          \
    "1: .quad " CFFI__STR(CFFI_BAREFN_X64_BACK_MAGIC) "\n\t"                                      \
    "endbr64\n\t"

/* 5. Straight through: RIP-relative operands (one with an immediate after its displacement), a
 *    branch inside the copied body, a branch to a cold path after the tail call (left in the
 *    template), the tail call through the record. fn(ctx, |a| + g_body_k, b), or b + 1000 on the
 *    cold path. */
int g_body_k = 5;
int g_body_cold;
ASM_ABI int tpl_straight(int a, int b);
extern const char tpl_straight_cold[];
__asm__(".text\n"
        ".p2align 4\n"
        ".globl tpl_straight, tpl_straight_cold\n"
        ASM_HIDDEN("tpl_straight, tpl_straight_cold")
        "tpl_straight:\n\t" BLOCK_ASM
        "testl %edi, %edi\n\t"
        "jns 2f\n\t"                        /* inside the copy */
        "negl %edi\n"
        "2:\n\t"
        "addl g_body_k(%rip), %edi\n\t"     /* RIP-relative load */
        "cmpl $0, g_body_cold(%rip)\n\t"    /* RIP-relative, imm8 after the displacement */
        "jne tpl_straight_cold\n\t"         /* out of the copy: the template's cold path */
        "movl %esi, %edx\n\t"
        "movl %edi, %esi\n\t"
        "movq 8(%rax), %rdi\n\t"
        "jmpq *(%rax)\n"                    /* the tail call ends the copy */
        "tpl_straight_cold:\n\t"
        "leal 1000(%rsi), %edx\n\t"
        "movl %edi, %esi\n\t"
        "movq 8(%rax), %rdi\n\t"
        "jmpq *(%rax)\n\t"
        ".p2align 4\n\t"
        "int3\n");

/* 6. A call in the body: the copy stops before it and jumps to it in the template. fn(...) + 1. */
ASM_ABI int tpl_stop(int a, int b);
extern const char tpl_stop_call[];
__asm__(".text\n"
        ".p2align 4\n"
        ".globl tpl_stop, tpl_stop_call\n"
        ASM_HIDDEN("tpl_stop, tpl_stop_call")
        "tpl_stop:\n\t"
        "pushq %rbx\n\t" BLOCK_ASM
        "movq %rax, %rbx\n\t"
        "movl %esi, %edx\n\t"
        "movl %edi, %esi\n\t"
        "movq 8(%rbx), %rdi\n"
        "tpl_stop_call:\n\t"
        "callq *(%rbx)\n\t"
        "addl $1, %eax\n\t"
        "popq %rbx\n\t"
        "ret\n\t"
        ".p2align 4\n\t"
        "int3\n");

/* ---- must be refused */
static CFFI__BAREFN_NOIPA int tpl_jrcxz(int a, int b) {
    __asm__ volatile("jrcxz 1f\n\t1:\n\t");
    cffi_barefn_rec *r;
    CFFI_BAREFN_RECORD(r);
    return ((h2_fn)r->fn)(r->ctx, a, b);
}
static CFFI__BAREFN_NOIPA int tpl_callpop(int a, int b) {
    __asm__ volatile("call 1f\n\t1: pop %%rax\n\t" ::: "rax", "memory");
    cffi_barefn_rec *r;
    CFFI_BAREFN_RECORD(r);
    return ((h2_fn)r->fn)(r->ctx, a, b);
}
static CFFI__BAREFN_NOIPA int tpl_escape(int a, int b) {
    cffi_barefn_rec *r;
    __asm__ volatile("testl %%eax, %%eax\n\t"
                     "jne 9f\n\t" /* leaves the relocated range: to after the block */
                     BLOCK_TEXT "9:\n\t"
                     : "=a"(r)
                     :
                     : "cc", "memory");
    return ((h2_fn)r->fn)(r->ctx, a, b);
}

static cffi_barefn_template d_calls = DESC(tpl_calls), d_forms = DESC(tpl_forms),
                            d_big = DESC(tpl_big), d_jrcxz = DESC(tpl_jrcxz),
                            d_callpop = DESC(tpl_callpop), d_escape = DESC(tpl_escape),
                            d_straight = DESC_ASM(tpl_straight), d_stop = DESC_ASM(tpl_stop);
static cffi_barefn_template d_var = {(const void *)tpl_var, (void *)trapv, "tpl_var",
                                     CFFI_BAREFN_KIND_PLAIN, 0, NULL};

typedef int (*bare2)(int, int);

static void test_relocated(void) {
    int base = 100000;
    cffi_barefn *t;
    char err[256];

    CHECK_MSG(cffi_barefn_new_ex(&d_calls, (void *)h2, &base, &t, err, sizeof err) == CFFI_OK,
              "%s", err);
    if (t) {
        int calls = g_calls, obj = g_obj;
        CHECK(((bare2)cffi_barefn_code(t))(2, 3) == 100023);
        CHECK(g_calls == calls + 2 + 3 + 1 && g_obj == obj + 1);
        g_flag = 0;
        CHECK(((bare2)cffi_barefn_code(t))(4, 5) == 100045);
        CHECK(g_calls == calls + 6 + 5 + 1 && g_obj == obj + 2);
        g_flag = 1;
        cffi_barefn_free(t);
    }

    CHECK_MSG(cffi_barefn_new_ex(&d_forms, (void *)h2, &base, &t, err, sizeof err) == CFFI_OK,
              "%s", err);
    if (t) {
        a_counter = 5;
        CHECK(((bare2)cffi_barefn_code(t))(6, 7) == 100067);
        /* 5+1, +1000 (a_seven == 7), sum = 2 * 1006, then +1 through %rdx */
        CHECK(a_counter == 1007 && a_sum == 2012);
        CHECK(a_dout == 2.5);
        cffi_barefn_free(t);
    }

    CHECK_MSG(cffi_barefn_new_ex(&d_var, (void *)hv, &base, &t, err, sizeof err) == CFFI_OK,
              "%s", err);
    if (t) {
        int (*f)(int, ...) = (int (*)(int, ...))cffi_barefn_code(t);
        CHECK(f(3, 1, 2, 3, 40.0) == 100000 + 3000 + 6 + 40);
        CHECK(f(0, 0.5) == 100000);
        cffi_barefn_free(t);
    }

    CHECK_MSG(cffi_barefn_new_ex(&d_big, (void *)h2, &base, &t, err, sizeof err) == CFFI_OK, "%s",
              err);
    if (t) {
        CHECK(((bare2)cffi_barefn_code(t))(8, 9) == 100089);
        cffi_barefn_free(t);
    }
}

/* The thunk's listing, and whether any line mentions the address `a` (as Capstone prints it). */
static void listing(cffi_barefn *t, char *text, size_t len) {
    cffi_disasm(cffi_barefn_code(t), 512, text, len);
}
static bool mentions(const char *text, const void *a) {
    char hex[32];
    snprintf(hex, sizeof hex, "0x%llx\n", (unsigned long long)(uintptr_t)a);
    return strstr(text, hex) != NULL;
}
static const char *last_line(const char *text) {
    size_t n = strlen(text);
    const char *l = text + (n ? n - 1 : 0);
    while (l > text && l[-1] != '\n') l--;
    return l;
}

static void test_bodies(void) {
    int base = 100000;
    cffi_barefn *t;
    char err[256], text[4096];
    cffi_reloc_block blk;
    REQUIRE(cffi_reloc_find_block((const void *)tpl_straight, 256, &blk, err, sizeof err) ==
            CFFI_OK);

    /* Straight through: every path of the copy is right, and it never goes back to the landing
     * pad; the cold path is the template's own. */
    CHECK_MSG(cffi_barefn_new_ex(&d_straight, (void *)h2s, &base, &t, err, sizeof err) == CFFI_OK,
              "%s", err);
    if (t) {
        bare2s f = (bare2s)cffi_barefn_code(t);
        CHECK(f(2, 3) == 100073 && f(-2, 3) == 100073);
        g_body_k = 6;
        CHECK(f(2, 3) == 100083);
        g_body_cold = 1;
        CHECK(f(2, 3) == 101083);
        g_body_cold = 0;
        g_body_k = 5;
        listing(t, text, sizeof text);
        CHECK_MSG(!mentions(text, blk.landing), "jumps back to the landing pad:\n%s", text);
        CHECK_MSG(strstr(last_line(text), "jmp qword ptr [rax]") != NULL, "%s", text);
        CHECK_MSG(strstr(text, "jne ") && mentions(text, tpl_straight_cold), "%s", text);
        cffi_barefn_free(t);
        CHECK(f(2, 3) == 0); /* the trap, through the copied tail call */
    }

    /* The tails on their own: near (displacements per copy), far (absolute forms). */
    cffi_reloc_tail tail;
    REQUIRE(cffi_reloc_tail_build(&blk, true, 256, &tail) == CFFI_OK);
    CHECK(tail.straight && tail.body_len > 0 && tail.nfix == 3); /* two RIP operands, the jne */
    for (size_t i = 0; i < tail.nfix; i++) {
        uint64_t tg = tail.fix[i].target;
        CHECK(tg == (uintptr_t)&g_body_k || tg == (uintptr_t)&g_body_cold ||
              tg == (uintptr_t)tpl_straight_cold);
        CHECK(tail.fix[i].at + 4 <= tail.fix[i].from && tail.fix[i].from <= tail.len);
    }
    cffi_reloc_tail_free(&tail);
    REQUIRE(cffi_reloc_tail_build(&blk, false, 256, &tail) == CFFI_OK);
    CHECK(tail.straight && tail.nfix == 0);
    if (tail.len >= 14) { /* the jne's stub comes last: jmp *0(%rip) ; .quad tpl_straight_cold */
        uint64_t tg;
        memcpy(&tg, tail.code + tail.len - 8, 8);
        CHECK(tail.code[tail.len - 14] == 0xFF && tail.code[tail.len - 13] == 0x25);
        CHECK(tg == (uintptr_t)tpl_straight_cold);
    }
    cffi_reloc_tail_free(&tail);
    /* Copying nothing: the block's own jump back. */
    REQUIRE(cffi_reloc_tail_build(&blk, true, 0, &tail) == CFFI_OK);
    CHECK(tail.body_len == 0 && !tail.straight && tail.nfix == 1 &&
          tail.fix[0].target == (uintptr_t)blk.landing);
    cffi_reloc_tail_free(&tail);

    /* A call in the body: the copy runs up to it, then the template does the rest. */
    CHECK_MSG(cffi_barefn_new_ex(&d_stop, (void *)h2s, &base, &t, err, sizeof err) == CFFI_OK,
              "%s", err);
    if (t) {
        bare2s f = (bare2s)cffi_barefn_code(t);
        CHECK(f(4, 5) == 100046);
        listing(t, text, sizeof text);
        CHECK_MSG(strstr(last_line(text), "jmp ") && mentions(text, tpl_stop_call),
                  "stops at the call:\n%s", text);
        cffi_barefn_free(t);
        CHECK(f(4, 5) == 1); /* the trap's 0, plus one after the call */
    }
    REQUIRE(cffi_reloc_find_block((const void *)tpl_stop, 256, &blk, err, sizeof err) == CFFI_OK);
    REQUIRE(cffi_reloc_tail_build(&blk, false, 256, &tail) == CFFI_OK);
    CHECK(!tail.straight && tail.body_len == 3 + 2 + 2 + 4 && tail.nfix == 0);
    if (tail.len >= 14) { /* ends with jmp *0(%rip) ; .quad tpl_stop_call */
        uint64_t tg;
        memcpy(&tg, tail.code + tail.len - 8, 8);
        CHECK(tail.code[tail.len - 14] == 0xFF && tg == (uintptr_t)tpl_stop_call);
    }
    cffi_reloc_tail_free(&tail);
}

static void expect_refused(cffi_barefn_template *d, const char *insn) {
    cffi_barefn *t = (cffi_barefn *)1;
    char err[256];
    CHECK(cffi_barefn_new_ex(d, (void *)h2, NULL, &t, err, sizeof err) == CFFI_ERELOC);
    CHECK(t == NULL);
    CHECK_MSG(strstr(err, insn) && strstr(err, d->name), "%s: got \"%s\"", insn, err);
    CHECK(strcmp(cffi_last_reloc_error(), err) == 0);
    /* The failure is remembered: same status, same message. */
    CHECK(cffi_barefn_new(d, (void *)h2, NULL, &t) == CFFI_ERELOC && t == NULL);
    CHECK(strcmp(cffi_last_reloc_error(), err) == 0);
}

static void test_refused(void) {
    expect_refused(&d_jrcxz, "`jrcxz");
    expect_refused(&d_callpop, "`call");
    expect_refused(&d_escape, "`jne");
    cffi_barefn *t;
    int base = 0;
    CHECK(cffi_barefn_new(&d_forms, (void *)h2, &base, &t) == CFFI_OK); /* success clears it */
    CHECK(cffi_last_reloc_error()[0] == '\0');
    cffi_barefn_free(t);
}

/* The relocator on its own, with byte sequences (never executed). The tail is one byte. */
static const uint8_t TAIL[] = {0xC3};
static cffi_status reloc(const uint8_t *code, size_t len, size_t guard, unsigned flags,
                         uint8_t **img, size_t *n, char *err, size_t errlen) {
    cffi_reloc_request rq = {.src = code, .len = len, .tail = TAIL, .tail_len = sizeof TAIL,
                             .guard_len = guard, .max_outside = 16, .flags = flags};
    size_t tail_off;
    return cffi_reloc_copy(&rq, img, n, &tail_off, err, errlen);
}

static void test_reloc_unit(void) {
    uint8_t *img;
    size_t n;
    char err[256];

    static const uint8_t nop[] = {0x90};
    CHECK(reloc(nop, sizeof nop, 0, CFFI_RELOC_ENTRY, &img, &n, err, sizeof err) == CFFI_OK);
    CHECK(n == 6 && img[0] == 0xF3 && img[3] == 0xFA && img[4] == 0x90 && img[5] == 0xC3);
    free(img);

    static const uint8_t endbr_nop[] = {0xF3, 0x0F, 0x1E, 0xFA, 0x90};
    CHECK(reloc(endbr_nop, sizeof endbr_nop, 0, CFFI_RELOC_ENTRY, &img, &n, err, sizeof err) ==
          CFFI_OK);
    CHECK(n == 6); /* already a landing pad: none added */
    free(img);

    static const uint8_t bad[] = {0x90, 0x06}; /* push %es: invalid in 64-bit mode */
    CHECK(reloc(bad, sizeof bad, 0, 0, &img, &n, err, sizeof err) == CFFI_ERELOC);
    CHECK(img == NULL && strstr(err, "undecodable") && strstr(err, "+1"));

    static const uint8_t mid[] = {0x74, 0x01, 0x48, 0x89, 0xC0}; /* je into the mov */
    CHECK(reloc(mid, sizeof mid, 0, 0, &img, &n, err, sizeof err) == CFFI_ERELOC);
    CHECK(strstr(err, "`je ") && strstr(err, "inside an instruction"));

    static const uint8_t to_end[] = {0x74, 0x01, 0x90}; /* je to the end: to the tail, rel32 */
    CHECK(reloc(to_end, sizeof to_end, 0, 0, &img, &n, err, sizeof err) == CFFI_OK);
    CHECK(n == 8 && img[0] == 0x0F && img[1] == 0x84 && img[2] == 1 && img[6] == 0x90 &&
          img[7] == 0xC3);
    free(img);

    /* A cold path after the range: je out, inc %eax, jmp back to the nop. */
    static const uint8_t cold[] = {0x74, 0x03, 0x90, 0xCC, 0xCC, 0xFF, 0xC0, 0xEB, 0xF9};
    CHECK_MSG(reloc(cold, 3, 2, 0, &img, &n, err, sizeof err) == CFFI_OK, "%s", err);
    if (img) {
        int32_t d1, d2;
        memcpy(&d1, img + 2, 4);
        memcpy(&d2, img + 11, 4);
        CHECK(n == 15 && img[7] == 0xC3 && img[8] == 0xFF && img[9] == 0xC0 && img[10] == 0xE9);
        CHECK(d1 == 8 - 6 && d2 == 6 - 15);
        free(img);
    }

    static const uint8_t guard[] = {0x74, 0x02, 0x90, 0xCC, 0xCC, 0xCC}; /* je into the guard */
    CHECK(reloc(guard, 3, 3, 0, &img, &n, err, sizeof err) == CFFI_ERELOC);
    CHECK(strstr(err, "`je ") && strstr(err, "after the range"));

    static const uint8_t lea[] = {0x48, 0x8D, 0x05, 0x10, 0x00, 0x00, 0x00}; /* lea 16(%rip),%rax */
    CHECK(reloc(lea, sizeof lea, 0, 0, &img, &n, err, sizeof err) == CFFI_OK);
    uint64_t want = (uint64_t)(uintptr_t)lea + sizeof lea + 16, got;
    memcpy(&got, img + 2, 8);
    CHECK(n == 11 && img[0] == 0x48 && img[1] == 0xB8 && got == want);
    free(img);

    static const uint8_t push_rip[] = {0xFF, 0x35, 0, 0, 0, 0}; /* push 0(%rip): uses the stack */
    CHECK(reloc(push_rip, sizeof push_rip, 0, 0, &img, &n, err, sizeof err) == CFFI_ERELOC);
    CHECK(strstr(err, "push") != NULL);
}

int main(void) {
    test_relocated();
    test_bodies();
    test_refused();
    test_reloc_unit();
    return CHECK_DONE();
}
