/*
 * barefn_shapes.c - typed thunks of every convention name and a spread of shapes, called from
 * compiled callers: integer widths and signedness, float and double, pointers, void results, no
 * parameters, more parameters than argument registers (so the handler, with its extra ctx, takes
 * some from the stack), mixed classes under win64's shared slots. Each handler checks every
 * argument and the caller checks every result. Also: the BareFnMut and BareFnOnce rules, calls
 * through freed thunks (for each flavour), handlers bound at compile time (CFFI_BAREFN_FN,
 * CFFI_BAREFN0_FN: no check of the record on the call path, a freed one switched to its dead
 * copy, reused after the quarantine), the report hook and its default, NAME_static,
 * invalid arguments, cffi_disasm of a thunk, and that copies run the template's body in place.
 *
 * Built many times (spec/c/barefn.cmake): gcc and clang, each at -O0/-O2/-O3/-Os, with and without
 * -fPIC, -fstack-protector-all, -fcf-protection=full and -fsanitize=address, since every build
 * gives the templates a different prologue to relocate.
 */
#include "cffi.h"
#include "reloc/reloc.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "check.h"

/* Every handler checks its arguments against these and counts its runs. */
static int runs;
static int bad_args;
#define ARG(cond)                                                                                 \
    do {                                                                                          \
        if (!(cond)) {                                                                            \
            bad_args++;                                                                           \
            fprintf(stderr, "%s:%d: bad argument: %s\n", __FILE__, __LINE__, #cond);              \
        }                                                                                         \
    } while (0)

static int ctx_tag; /* handlers get &ctx_tag as their context */

/* --- int(int, int), stdcall (the native convention on x86-64) */
static int h_add(void *ctx, int a, int b) {
    runs++;
    ARG(ctx == &ctx_tag);
    return a * 10 + b;
}
CFFI_BAREFN(t_add, stdcall, int, (int a, int b), (a, b))
static int h_which(void *ctx, int a, int b) { return a == 1 && b == 1 ? *(int *)ctx : -1; }

/* --- double(double, float, int, double) under win64: shared slots, xmm1 and r8 */
static double h_mixed(void *ctx, double a, float b, int c, double d) {
    runs++;
    ARG(ctx == &ctx_tag);
    ARG(a == 1.5 && b == -2.25f && c == -7 && d == 1e100);
    return a + b + c + (d / 1e100);
}
CFFI_BAREFN(t_mixed_w, win64, double, (double a, float b, int c, double d), (a, b, c, d))
CFFI_BAREFN(t_mixed_s, sysv64, double, (double a, float b, int c, double d), (a, b, c, d))

/* --- int64_t of ten integers: stack parameters in both conventions */
static int64_t h_ten(void *ctx, int64_t a, int32_t b, int64_t c, uint32_t d, int64_t e, int8_t f,
                     int64_t g, uint16_t h, int64_t i, int64_t j) {
    runs++;
    ARG(ctx == &ctx_tag);
    ARG(a == INT64_MIN && b == -2 && c == 3 && d == 0xFFFFFFFFu && e == -5 && f == -6 &&
        g == 0x7000000000000007 && h == 0xFFFF && i == -9 && j == 10);
    return (int64_t)((uint64_t)a + (uint64_t)b + (uint64_t)c + d + (uint64_t)e + (uint64_t)f +
                     (uint64_t)g + h + (uint64_t)i + (uint64_t)j);
}
#define TEN_PARAMS                                                                                \
    (int64_t a, int32_t b, int64_t c, uint32_t d, int64_t e, int8_t f, int64_t g, uint16_t h,     \
     int64_t i, int64_t j)
#define TEN_ARGS (a, b, c, d, e, f, g, h, i, j)
CFFI_BAREFN(t_ten_s, sysv64, int64_t, TEN_PARAMS, TEN_ARGS)
CFFI_BAREFN(t_ten_w, win64, int64_t, TEN_PARAMS, TEN_ARGS)
CFFI_BAREFN(t_ten_c, C, int64_t, TEN_PARAMS, TEN_ARGS)

/* --- void(const char *, size_t), C */
static char seen_text[32];
static void h_store(void *ctx, const char *s, size_t n) {
    runs++;
    ARG(ctx == &ctx_tag);
    ARG(n < sizeof seen_text);
    if (n < sizeof seen_text) memcpy(seen_text, s, n + 1);
}
CFFI_BAREFN(t_store, C, void, (const char *s, size_t n), (s, n))
CFFI_BAREFN(t_store_w, efiapi, void, (const char *s, size_t n), (s, n))

/* --- bool(uint8_t, int16_t, uint32_t), fastcall: narrow integers arrive extended correctly */
static bool h_narrow(void *ctx, uint8_t a, int16_t b, uint32_t c) {
    runs++;
    ARG(ctx == &ctx_tag);
    ARG(a == 200 && b == -300 && c == 4000000000u);
    return a == 200 && b == -300;
}
CFFI_BAREFN(t_narrow, fastcall, bool, (uint8_t a, int16_t b, uint32_t c), (a, b, c))

/* --- float of nine floats, efiapi (= win64): five of them on the stack */
static float h_floats(void *ctx, float a, float b, float c, float d, float e, float f, float g,
                      float h, float i) {
    runs++;
    ARG(ctx == &ctx_tag);
    ARG(a == 1 && b == 2 && c == 3 && d == 4 && e == 5 && f == 6 && g == 7 && h == 8 && i == 9.5f);
    return a + b + c + d + e + f + g + h + i;
}
#define NINE_F                                                                                    \
    (float a, float b, float c, float d, float e, float f, float g, float h, float i)
CFFI_BAREFN(t_floats_e, efiapi, float, NINE_F, (a, b, c, d, e, f, g, h, i))
CFFI_BAREFN(t_floats_s, system, float, NINE_F, (a, b, c, d, e, f, g, h, i))

/* --- void *(void *), thiscall */
static void *h_ptr(void *ctx, void *p) {
    runs++;
    ARG(ctx == &ctx_tag);
    return (char *)p + 1;
}
CFFI_BAREFN(t_ptr, thiscall, void *, (void *p), (p))

/* --- ten alternating int/double, sysv64 and win64 */
static double h_alt(void *ctx, int a, double b, int c, double d, int e, double f, int g,
                    double h, int i, double j) {
    runs++;
    ARG(ctx == &ctx_tag);
    ARG(a == 1 && b == 0.5 && c == -3 && d == 0.25 && e == 5 && f == -0.125 && g == 7 &&
        h == 8.5 && i == -9 && j == 1e-3);
    return a + b + c + d + e + f + g + h + i + j;
}
#define ALT_P                                                                                     \
    (int a, double b, int c, double d, int e, double f, int g, double h, int i, double j)
#define ALT_A (a, b, c, d, e, f, g, h, i, j)
CFFI_BAREFN(t_alt_s, sysv64, double, ALT_P, ALT_A)
CFFI_BAREFN(t_alt_w, win64, double, ALT_P, ALT_A)

/* --- no parameters */
static int h_42(void *ctx) {
    runs++;
    ARG(ctx == &ctx_tag);
    return 42;
}
CFFI_BAREFN0(t_42, cdecl, int)
static void h_v0(void *ctx) {
    runs++;
    ARG(ctx == &ctx_tag);
}
CFFI_BAREFN0(t_v0, win64, void)

/* --- flavours */
static int hook_events[4];
static const cffi_barefn *hook_last;
static char hook_name[32];
static void count_hook(const cffi_barefn *b, const char *name, cffi_barefn_event ev) {
    if (ev >= 1 && ev <= 3) hook_events[ev]++;
    hook_last = b;
    snprintf(hook_name, sizeof hook_name, "%s", name);
}

CFFI_BAREFN_MUT(t_mut, sysv64, int, (int x), (x))
typedef struct mut_ctx {
    t_mut_bare self; /* set after creation: the handler re-enters through it */
    int inner_result;
} mut_ctx;
static int h_mut(void *ctx, int x) {
    mut_ctx *m = ctx;
    runs++;
    if (x > 0) m->inner_result = m->self(x - 1); /* re-entry: caught, returns 0 */
    return x + 100;
}

static int h_once(void *ctx, int x) {
    runs++;
    ARG(ctx == &ctx_tag);
    return x * 2;
}
CFFI_BAREFN_ONCE(t_once, win64, int, (int x), (x))
static double h_once0(void *ctx) {
    runs++;
    ARG(ctx == &ctx_tag);
    return 2.5;
}
CFFI_BAREFN0_ONCE(t_once0, C, double)
static void h_mut0(void *ctx) {
    runs++;
    ARG(ctx == &ctx_tag);
}
CFFI_BAREFN0_MUT(t_mut0, C, void)

/* A function that already has the bare signature needs no thunk. */
static int bare_add(int a, int b) { return a + b; }

static void test_shapes(void) {
    cffi_barefn *t;
    REQUIRE(t_add_new(h_add, &ctx_tag, &t) == CFFI_OK);
    CHECK(t_add_code(t)(4, 2) == 42);
    CHECK(t_add_code(t)(-1, -2) == -12);
    cffi_barefn_free(t);

    REQUIRE(t_mixed_w_new(h_mixed, &ctx_tag, &t) == CFFI_OK);
    CHECK(t_mixed_w_code(t)(1.5, -2.25f, -7, 1e100) == 1.5 - 2.25 - 7 + 1);
    cffi_barefn_free(t);
    REQUIRE(t_mixed_s_new(h_mixed, &ctx_tag, &t) == CFFI_OK);
    CHECK(t_mixed_s_code(t)(1.5, -2.25f, -7, 1e100) == 1.5 - 2.25 - 7 + 1);
    cffi_barefn_free(t);

    int64_t ten = (int64_t)((uint64_t)INT64_MIN - 2 + 3 + 0xFFFFFFFFu - 5 - 6 + 0x7000000000000007 +
                            0xFFFF - 9 + 10);
    REQUIRE(t_ten_s_new(h_ten, &ctx_tag, &t) == CFFI_OK);
    CHECK(t_ten_s_code(t)(INT64_MIN, -2, 3, 0xFFFFFFFFu, -5, -6, 0x7000000000000007, 0xFFFF, -9,
                          10) == ten);
    cffi_barefn_free(t);
    REQUIRE(t_ten_w_new(h_ten, &ctx_tag, &t) == CFFI_OK);
    CHECK(t_ten_w_code(t)(INT64_MIN, -2, 3, 0xFFFFFFFFu, -5, -6, 0x7000000000000007, 0xFFFF, -9,
                          10) == ten);
    cffi_barefn_free(t);
    REQUIRE(t_ten_c_new(h_ten, &ctx_tag, &t) == CFFI_OK);
    CHECK(t_ten_c_code(t)(INT64_MIN, -2, 3, 0xFFFFFFFFu, -5, -6, 0x7000000000000007, 0xFFFF, -9,
                          10) == ten);
    cffi_barefn_free(t);

    REQUIRE(t_store_new(h_store, &ctx_tag, &t) == CFFI_OK);
    t_store_code(t)("hello", 5);
    CHECK(strcmp(seen_text, "hello") == 0);
    cffi_barefn_free(t);
    REQUIRE(t_store_w_new(h_store, &ctx_tag, &t) == CFFI_OK);
    t_store_w_code(t)("win64", 5);
    CHECK(strcmp(seen_text, "win64") == 0);
    cffi_barefn_free(t);

    REQUIRE(t_narrow_new(h_narrow, &ctx_tag, &t) == CFFI_OK);
    CHECK(t_narrow_code(t)(200, -300, 4000000000u) == true);
    cffi_barefn_free(t);

    REQUIRE(t_floats_e_new(h_floats, &ctx_tag, &t) == CFFI_OK);
    CHECK(t_floats_e_code(t)(1, 2, 3, 4, 5, 6, 7, 8, 9.5f) == 45.5f);
    cffi_barefn_free(t);
    REQUIRE(t_floats_s_new(h_floats, &ctx_tag, &t) == CFFI_OK);
    CHECK(t_floats_s_code(t)(1, 2, 3, 4, 5, 6, 7, 8, 9.5f) == 45.5f);
    cffi_barefn_free(t);

    REQUIRE(t_ptr_new(h_ptr, &ctx_tag, &t) == CFFI_OK);
    char buf[4];
    CHECK(t_ptr_code(t)(buf) == buf + 1);
    cffi_barefn_free(t);

    double alt = 1 + 0.5 - 3 + 0.25 + 5 - 0.125 + 7 + 8.5 - 9 + 1e-3;
    REQUIRE(t_alt_s_new(h_alt, &ctx_tag, &t) == CFFI_OK);
    CHECK(t_alt_s_code(t)(1, 0.5, -3, 0.25, 5, -0.125, 7, 8.5, -9, 1e-3) == alt);
    cffi_barefn_free(t);
    REQUIRE(t_alt_w_new(h_alt, &ctx_tag, &t) == CFFI_OK);
    CHECK(t_alt_w_code(t)(1, 0.5, -3, 0.25, 5, -0.125, 7, 8.5, -9, 1e-3) == alt);
    cffi_barefn_free(t);

    REQUIRE(t_42_new(h_42, &ctx_tag, &t) == CFFI_OK);
    CHECK(t_42_code(t)() == 42);
    cffi_barefn_free(t);
    int before = runs;
    REQUIRE(t_v0_new(h_v0, &ctx_tag, &t) == CFFI_OK);
    t_v0_code(t)();
    CHECK(runs == before + 1);
    cffi_barefn_free(t);

    /* Two thunks of one template are independent. */
    cffi_barefn *u;
    int one = 1, two = 2;
    REQUIRE(t_add_new(h_which, &one, &t) == CFFI_OK);
    REQUIRE(t_add_new(h_which, &two, &u) == CFFI_OK);
    CHECK(cffi_barefn_code(t) != cffi_barefn_code(u));
    CHECK(t_add_code(t)(1, 1) == 1);
    CHECK(t_add_code(u)(1, 1) == 2);
    cffi_barefn_free(t);
    cffi_barefn_free(u);

    CHECK(t_add_static(bare_add) == bare_add);
    CHECK(cffi_barefn_code(NULL) == NULL);
    cffi_barefn_free(NULL);
    CHECK(t_add_new(NULL, NULL, &t) == CFFI_EINVAL && t == NULL);
    CHECK(cffi_barefn_new(NULL, (void *)h_add, NULL, &t) == CFFI_EINVAL);
}

static void test_flavours(void) {
    cffi_set_barefn_hook(count_hook);
    memset(hook_events, 0, sizeof hook_events);

    /* BareFnMut: the nested call through the same thunk is caught; later calls run again. */
    mut_ctx m = {0};
    cffi_barefn *t;
    REQUIRE(t_mut_new(h_mut, &m, &t) == CFFI_OK);
    m.self = t_mut_code(t);
    int before = runs;
    CHECK(m.self(3) == 103);
    CHECK(m.inner_result == 0 && runs == before + 1);
    CHECK(hook_events[CFFI_BAREFN_EV_REENTERED] == 1 && hook_last == t);
    CHECK(strcmp(hook_name, "t_mut") == 0);
    CHECK(m.self(0) == 100 && runs == before + 2);
    cffi_barefn_free(t);
    CHECK(m.self(0) == 0 && hook_events[CFFI_BAREFN_EV_FREED] == 1);

    cffi_barefn *z;
    REQUIRE(t_mut0_new(h_mut0, &ctx_tag, &z) == CFFI_OK);
    before = runs;
    t_mut0_code(z)();
    t_mut0_code(z)();
    CHECK(runs == before + 2);
    cffi_barefn_free(z);

    /* BareFnOnce: the second call is caught. */
    REQUIRE(t_once_new(h_once, &ctx_tag, &t) == CFFI_OK);
    before = runs;
    CHECK(t_once_code(t)(21) == 42);
    CHECK(t_once_code(t)(21) == 0);
    CHECK(runs == before + 1 && hook_events[CFFI_BAREFN_EV_CALLED_TWICE] == 1);
    cffi_barefn_free(t);
    CHECK(t_once_code(t)(21) == 0); /* freed: reported as freed however often */
    CHECK(t_once_code(t)(21) == 0);
    CHECK(hook_events[CFFI_BAREFN_EV_FREED] == 3 && hook_events[CFFI_BAREFN_EV_CALLED_TWICE] == 1);

    REQUIRE(t_once0_new(h_once0, &ctx_tag, &t) == CFFI_OK);
    CHECK(t_once0_code(t)() == 2.5);
    CHECK(t_once0_code(t)() == 0.0);
    CHECK(hook_events[CFFI_BAREFN_EV_CALLED_TWICE] == 2);
    cffi_barefn_free(t);

    /* Plain thunks after free: zero of each result type, handler not run. */
    before = runs;
    REQUIRE(t_alt_w_new(h_alt, &ctx_tag, &t) == CFFI_OK);
    t_alt_w_bare alt = t_alt_w_code(t);
    cffi_barefn_free(t);
    CHECK(alt(1, 0.5, -3, 0.25, 5, -0.125, 7, 8.5, -9, 1e-3) == 0.0);
    REQUIRE(t_ptr_new(h_ptr, &ctx_tag, &t) == CFFI_OK);
    t_ptr_bare ptr = t_ptr_code(t);
    cffi_barefn_free(t);
    cffi_barefn_free(t); /* idempotent while dead */
    CHECK(ptr(&m) == NULL);
    CHECK(runs == before && hook_events[CFFI_BAREFN_EV_FREED] == 5);
    CHECK(strcmp(hook_name, "t_ptr") == 0);

    /* The default report goes to stderr and still returns zero. */
    cffi_set_barefn_hook(NULL);
    CHECK(ptr(&m) == NULL);
    CHECK(hook_events[CFFI_BAREFN_EV_FREED] == 5);
    CHECK(strcmp(cffi_barefn_event_text(CFFI_BAREFN_EV_CALLED_TWICE), "called more than once") == 0);
}

/* --- handlers bound at compile time (CFFI_BAREFN_FN): inlined into the template */
static int h_bound(void *ctx, int a, int b) { return *(int *)ctx * 100 + a * 10 + b; }
CFFI_BAREFN_FN(t_bound, C, int, (int a, int b), (a, b), h_bound)
CFFI_BAREFN_FN(t_bound_ten, sysv64, int64_t, TEN_PARAMS, TEN_ARGS, h_ten)
static double h_bound0(void *ctx) { return *(double *)ctx; }
CFFI_BAREFN0_FN(t_bound0, C, double, h_bound0)

static void test_bound(void) {
    cffi_set_barefn_hook(count_hook);
    memset(hook_events, 0, sizeof hook_events);
    int k1 = 3, k2 = 4;
    cffi_barefn *a, *b, *c, *z;
    REQUIRE(t_bound_new(&k1, &a) == CFFI_OK);
    REQUIRE(t_bound_new(&k2, &b) == CFFI_OK);
    t_bound_bare fa = t_bound_code(a), fb = t_bound_code(b);
    CHECK(fa(1, 2) == 312 && fb(5, 6) == 456 && fa(0, 0) == 300);
    REQUIRE(t_bound_ten_new(&ctx_tag, &c) == CFFI_OK);
    int before = runs;
    CHECK(t_bound_ten_code(c)(INT64_MIN, -2, 3, 0xFFFFFFFFu, -5, -6, 0x7000000000000007, 0xFFFF,
                              -9, 10) ==
          (int64_t)((uint64_t)INT64_MIN - 2 + 3 + 0xFFFFFFFFu - 5 - 6 + 0x7000000000000007 +
                    0xFFFF - 9 + 10));
    CHECK(runs == before + 1);
    double d = 2.5;
    REQUIRE(t_bound0_new(&d, &z) == CFFI_OK);
    CHECK(t_bound0_code(z)() == 2.5);
    /* Freed: the bound handler no longer runs, the trap reports. */
    cffi_barefn_free(a);
    CHECK(fa(1, 2) == 0 && hook_events[CFFI_BAREFN_EV_FREED] == 1 && hook_last == a);
    CHECK(fb(1, 2) == 412);
    cffi_barefn_free(z);
    CHECK(t_bound0_code(z)() == 0.0 && hook_events[CFFI_BAREFN_EV_FREED] == 2);
    cffi_barefn_free(b);
    cffi_barefn_free(c);
    cffi_set_barefn_hook(NULL);
}

static void test_disasm(void) {
    cffi_barefn *t;
    REQUIRE(t_add_new(h_add, &ctx_tag, &t) == CFFI_OK);
    char text[4096];
    size_t n = cffi_disasm(cffi_barefn_code(t), 512, text, sizeof text);
    CHECK(n > 0 && n < 512);
    CHECK(strstr(text, "endbr64") == strchr(text, ':') + 2); /* the entry is a landing pad */
    CHECK(strstr(text, "movabs") != NULL);
    size_t len = strlen(text);
    CHECK(len > 0 && text[len - 1] == '\n');
    const char *last = text + len - 1;
    while (last > text && last[-1] != '\n') last--;
    CHECK(strstr(last, ": jmp ") != NULL); /* the tail call, or the jump into the template */
#if defined(__x86_64__)
    /* The default allocator places copies near their template: a direct jump, if any. */
    CHECK_MSG(strstr(last, "[rip]") == NULL, "jump back: %s", last);
#endif

    /* Room for the first line and half the second: whole lines only. */
    char small[sizeof text];
    size_t first = (size_t)(strchr(text, '\n') - text) + 1;
    size_t second = (size_t)(strchr(text + first, '\n') - (text + first)) + 1;
    size_t m = cffi_disasm(cffi_barefn_code(t), 512, small, first + second / 2);
    CHECK(m < n && strchr(small, '\n') == strrchr(small, '\n') && strlen(small) == first);
    CHECK(cffi_disasm(cffi_barefn_code(t), 512, small, 0) == 0);
    cffi_barefn_free(t);
}

/* Copies run the template's body in place: whatever the compiler made of a template, a thunk of
 * it runs at least the start of its body in the copy and never jumps back to the landing pad
 * after the block (today's fallback, for a body that cannot be moved at all). Where the body ends
 * in a tail call of the handler (optimized builds without -fstack-protector-all, whose canary
 * check follows the call), the copy runs straight through: no jump into the template at all. */
static void check_in_place(cffi_barefn_template *d, cffi_barefn *t, bool tail_call) {
    char err[256], text[4096], hex[32];
    cffi_reloc_block blk;
    REQUIRE(cffi_reloc_find_block(d->code, 1024, &blk, err, sizeof err) == CFFI_OK);
    cffi_reloc_tail tail;
    REQUIRE(cffi_reloc_tail_build(&blk, true, 256, &tail) == CFFI_OK);
    CHECK_MSG(tail.body_len > 0, "%s: no body copied", d->name);
    CHECK_MSG(!tail_call || tail.straight, "%s: does not run straight through", d->name);
    cffi_reloc_tail_free(&tail);
    cffi_disasm(cffi_barefn_code(t), 1024, text, sizeof text);
    snprintf(hex, sizeof hex, "0x%llx\n", (unsigned long long)(uintptr_t)blk.landing);
    CHECK_MSG(strstr(text, hex) == NULL, "%s jumps back to its landing pad:\n%s", d->name, text);
}

#if defined(__OPTIMIZE__) && !defined(__SSP_ALL__) && !defined(__SSP_STRONG__) &&               \
    !defined(CFFI_TEST_SANITIZED) /* sanitizer checks can follow the handler's call */
#define TAIL_CALLS true
#else
#define TAIL_CALLS false
#endif

static void test_in_place(void) {
    int k = 1;
    cffi_barefn *t;
    REQUIRE(t_add_new(h_add, &ctx_tag, &t) == CFFI_OK);
    check_in_place(&t_add__tdesc, t, TAIL_CALLS);
    cffi_barefn_free(t);
    REQUIRE(t_alt_w_new(h_alt, &ctx_tag, &t) == CFFI_OK);
    check_in_place(&t_alt_w__tdesc, t, false);
    cffi_barefn_free(t);
    REQUIRE(t_once_new(h_once, &ctx_tag, &t) == CFFI_OK);
    check_in_place(&t_once__tdesc, t, false); /* win64 calling sysv64: no tail call */
    cffi_barefn_free(t);
    REQUIRE(t_mut_new(h_mut, &k, &t) == CFFI_OK); /* calls fn, then stores: stops at the call */
    check_in_place(&t_mut__tdesc, t, false);
    cffi_barefn_free(t);
    REQUIRE(t_bound_new(&k, &t) == CFFI_OK); /* the handler inlined: straight through */
    check_in_place(&t_bound__tdesc, t, TAIL_CALLS);
    cffi_barefn_free(t);
}

/* A freed bound thunk reports on every call through the quarantine; then its address comes back
 * with the new context, and its code as it was before the free. */
static double h_scale(void *ctx, double x, int k) { return *(double *)ctx * x + k; }
CFFI_BAREFN_FN(t_scale, win64, double, (double x, int k), (x, k), h_scale)

static void test_bound_reuse(void) {
    cffi_set_barefn_hook(count_hook);
    memset(hook_events, 0, sizeof hook_events);
    double k1 = 2, k2 = -3;
    cffi_barefn *t, *u;
    REQUIRE(t_scale_new(&k1, &t) == CFFI_OK);
    t_scale_bare f = t_scale_code(t);
    char live[4096], now[4096];
    cffi_disasm((const void *)f, 512, live, sizeof live);
    CHECK(f(1.5, 1) == 4.0);
    cffi_barefn_free(t);
    int wrong = 0;
    for (int i = 0; i < 1000; i++) wrong += f(1.5, 1) != 0.0;
    CHECK(wrong == 0 && hook_events[CFFI_BAREFN_EV_FREED] == 1000 && hook_last == t);
    /* t is the only freed thunk of its template: CFFI_QUARANTINE more before it comes back. */
    int fresh = 0;
    for (int i = 0; i < CFFI_QUARANTINE; i++) {
        REQUIRE(t_scale_new(&k2, &u) == CFFI_OK);
        fresh += u != t && t_scale_code(u)(1.5, 1) == -3.5;
        cffi_barefn_free(u);
    }
    CHECK(fresh == CFFI_QUARANTINE);
    CHECK(f(1.5, 1) == 0.0 && hook_events[CFFI_BAREFN_EV_FREED] == 1001 && hook_last == t);
    REQUIRE(t_scale_new(&k2, &u) == CFFI_OK);
    CHECK(u == t && t_scale_code(u) == f);
    CHECK(f(1.5, 1) == -3.5 && f(0.5, 0) == -1.5);
    cffi_disasm((const void *)f, 512, now, sizeof now);
    CHECK_MSG(strcmp(live, now) == 0, "reused code differs:\n%s\nwas:\n%s", now, live);
    cffi_barefn_free(u);
    CHECK(f(1.5, 1) == 0.0 && hook_events[CFFI_BAREFN_EV_FREED] == 1002);
    cffi_set_barefn_hook(NULL);
}

/* The mnemonic of each line of a cffi_disasm listing, in turn: *at moves to the next line. */
static bool next_mnemonic(const char **at, char *mn, size_t len) {
    const char *colon = strstr(*at, ": ");
    if (!colon) return false;
    const char *m = colon + 2;
    size_t n = strcspn(m, " \n");
    snprintf(mn, len, "%.*s", (int)n, m);
    const char *nl = strchr(m, '\n');
    *at = nl ? nl + 1 : m + strlen(m);
    return true;
}

/* Instructions in the listing that test something: cmp, test, conditional jumps. */
static int tests_in(const char *text) {
    int n = 0;
    char mn[32];
    for (const char *at = text; next_mnemonic(&at, mn, sizeof mn);)
        n += strcmp(mn, "cmp") == 0 || strcmp(mn, "test") == 0 ||
             (mn[0] == 'j' && strcmp(mn, "jmp") != 0);
    return n;
}

static int lines_in(const char *text) {
    int n = 0;
    for (const char *c = text; *c; c++) n += *c == '\n';
    return n;
}

/* Whether the listing reads memory through rax other than in the relocator's scratch sequence
 * for a moved RIP-relative load (push rax; movabs rax, <address>; mov reg, [rax]; pop rax), which
 * is how a copy reads a global such as mingw's stack canary pointer. */
static bool reads_through_rax(const char *text) {
    bool scratch = false; /* rax holds a relocated address, not the record */
    for (const char *line = text; *line;) {
        const char *end = strchr(line, '\n');
        size_t n = end ? (size_t)(end - line) : strlen(line);
        char buf[160];
        snprintf(buf, sizeof buf, "%.*s", (int)(n < sizeof buf - 1 ? n : sizeof buf - 1), line);
        if (strstr(buf, ": push rax")) scratch = true;
        else if (strstr(buf, ": pop rax")) scratch = false;
        else if (!scratch && strstr(buf, "qword ptr [rax]")) return true;
        line = end ? end + 1 : line + n;
    }
    return false;
}

/* A bound handler that ignores its context, and no overflow check under UBSan. */
static int h_sum(void *ctx, int a, int b) {
    (void)ctx;
    return (int)((unsigned)a + (unsigned)b);
}
CFFI_BAREFN_FN(t_sum, C, int, (int a, int b), (a, b), h_sum)

#if !defined(__SSP_ALL__) && !defined(__SSP_STRONG__) && !defined(CFFI_TEST_SANITIZED)
#define NO_CHECKS_ADDED true /* no canary test, no sanitizer test in the copy */
#else
#define NO_CHECKS_ADDED false
#endif

/* The live copy of a bound thunk runs the handler and nothing more: the record's fn is neither
 * read nor compared on the way. Freed, its entry jumps out to the dead copy just before it. */
static void test_bound_shape(void) {
    cffi_barefn *t;
    REQUIRE(t_sum_new(NULL, &t) == CFFI_OK);
    t_sum_bare f = t_sum_code(t);
    CHECK(f(2, 3) == 5);
    char text[4096];
    cffi_disasm((const void *)f, 512, text, sizeof text);
    CHECK_MSG(!reads_through_rax(text), "the record's fn is read:\n%s", text);
    CHECK_MSG(!NO_CHECKS_ADDED || tests_in(text) == 0, "the copy tests something:\n%s", text);
    /* Straight through to the handler's ret: nothing left in the template. */
    size_t len = strlen(text);
    CHECK_MSG(!TAIL_CALLS || (len > 6 && strcmp(text + len - 6, ": ret\n") == 0),
              "does not end in ret:\n%s", text);

    cffi_set_barefn_hook(count_hook);
    memset(hook_events, 0, sizeof hook_events);
    cffi_barefn_free(t);
    CHECK(f(2, 3) == 0 && hook_events[CFFI_BAREFN_EV_FREED] == 1 && hook_last == t);
    cffi_set_barefn_hook(NULL);
    cffi_disasm((const void *)f, 512, text, sizeof text);
    const char *jmp = strstr(text, ": jmp 0x");
    uintptr_t to = jmp ? (uintptr_t)strtoull(jmp + 6, NULL, 16) : 0;
    CHECK_MSG(lines_in(text) == 2 && strstr(text, ": endbr64\n") && jmp &&
                  to < (uintptr_t)f && (uintptr_t)f - to < CFFI_RELOC_GATE_REACH,
              "freed entry:\n%s", text);
}

int main(void) {
    test_shapes();
    test_in_place();
    test_flavours();
    test_bound();
    test_bound_shape();
    test_disasm();
    test_bound_reuse(); /* last: its thousands of thunks may use up the memory near the program */
    CHECK(bad_args == 0);
    return CHECK_DONE();
}
