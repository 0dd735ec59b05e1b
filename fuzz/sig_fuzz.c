/*
 * sig_fuzz.c - libFuzzer target for cffi_sig_parse, and through it the plan builder, closures and
 * cffi_call of arbitrary signatures.
 *
 * Input: byte 0 picks the convention (one of cffi_convention_name's names, or NULL); the rest is
 * the signature text. Checked for every input:
 *   - the status is one of the documented ones; a failure leaves *out NULL and a message;
 *   - a success has a non-empty normal form, which re-parses (with the canonical convention) to
 *     the very same interned object, and sane introspection (types in range, texts for each
 *     parameter);
 *   - for every successful signature, a closure is made and called through cffi_call with a
 *     distinct value per argument: the handler sees each argument exactly, and the caller gets
 *     the handler's result back; then the closure is freed and called again (the default).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cffi.h"

#define FUZZ_ASSERT(cond)                                                                         \
    do {                                                                                          \
        if (!(cond)) {                                                                            \
            fprintf(stderr, "sig_fuzz: %s:%d: %s\n", __FILE__, __LINE__, #cond);                  \
            abort();                                                                              \
        }                                                                                         \
    } while (0)

/* The value argument i carries (in a 16-byte buffer), per machine type. */
static void arg_value(cffi_type t, size_t i, void *out) {
    memset(out, 0, 16);
    uint64_t bits = 0x0101010101010101ull * (uint64_t)(i + 1) ^ 0x8040201008040201ull;
    switch (t) {
    case CFFI_T_BOOL: *(bool *)out = (i & 1) != 0; break;
    case CFFI_T_FLOAT: *(float *)out = (float)i + 0.5f; break;
    case CFFI_T_DOUBLE: *(double *)out = (double)i * 3.25 - 1.0; break;
    case CFFI_T_LDOUBLE: *(long double *)out = (long double)i * 1.5L - 2.0L; break;
    default: memcpy(out, &bits, cffi_type_size(t)); break;
    }
}

typedef struct expect {
    const cffi_sig *sig;
    int calls, mismatches;
} expect;

static void check_handler(void *ctx, void *ret, void *const *args) {
    expect *e = ctx;
    e->calls++;
    size_t n = cffi_sig_nparams(e->sig);
    for (size_t i = 0; i < n; i++) {
        unsigned char want[16];
        cffi_type t = cffi_sig_param(e->sig, i);
        arg_value(t, i, want);
        if (memcmp(args[i], want, cffi_type_size(t)) != 0) e->mismatches++;
    }
    cffi_type r = cffi_sig_result(e->sig);
    if (r != CFFI_T_VOID) { /* ret holds exactly the result type's size */
        unsigned char value[16];
        arg_value(r, 77, value);
        memcpy(ret, value, cffi_type_size(r));
    }
}

static void exercise(const cffi_sig *sig) {
    size_t n = cffi_sig_nparams(sig);
    /* Scalars only: a variadic signature has no closure, and an aggregate's value does not fit
     * the 16-byte values below (test_agg and the random differential cover those). */
    bool scalars = !cffi_sig_variadic(sig) && cffi_sig_result(sig) != CFFI_T_AGG;
    for (size_t i = 0; i < n; i++) scalars = scalars && cffi_sig_param(sig, i) != CFFI_T_AGG;
    if (!scalars) return;
    static unsigned char values[CFFI_MAX_PARAMS][16];
    void *args[CFFI_MAX_PARAMS + 1];
    for (size_t i = 0; i < n; i++) {
        arg_value(cffi_sig_param(sig, i), i, values[i]);
        args[i] = values[i];
    }
    expect e = {.sig = sig};
    cffi_closure *c = NULL;
    cffi_status s = cffi_closure_new(sig, check_handler, &e, &c);
    FUZZ_ASSERT(s == CFFI_OK || s == CFFI_ENOEXEC);
    if (s != CFFI_OK) return;
    _Alignas(16) unsigned char ret[16] = {0}, want[16];
    cffi_type r = cffi_sig_result(sig);
    FUZZ_ASSERT(cffi_call(sig, cffi_closure_code(c), ret, args) == CFFI_OK);
    FUZZ_ASSERT(e.calls == 1);
    FUZZ_ASSERT(e.mismatches == 0);
    if (r != CFFI_T_VOID) {
        arg_value(r, 77, want);
        FUZZ_ASSERT(memcmp(ret, want, cffi_type_size(r)) == 0);
    }
    void *code = cffi_closure_code(c);
    cffi_closure_free(c);
    memset(ret, 0xAA, sizeof ret);
    FUZZ_ASSERT(cffi_call(sig, code, ret, args) == CFFI_OK);
    FUZZ_ASSERT(e.calls == 1);
    if (r != CFFI_T_VOID) {
        static const unsigned char zero[16];
        FUZZ_ASSERT(memcmp(ret, zero, cffi_type_size(r)) == 0);
    }
}

static void quiet_dead_hook(const cffi_sig *sig, void *code) { (void)sig, (void)code; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static bool init;
    if (!init) {
        cffi_set_dead_hook(quiet_dead_hook);
        init = true;
    }
    if (size < 1 || size > 4096) return 0;
    size_t nconv = cffi_convention_count();
    size_t pick = data[0] % (nconv + 1);
    const char *conv = pick < nconv ? cffi_convention_name(pick, NULL) : NULL;
    char *text = malloc(size);
    if (!text) return 0;
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';

    cffi_sig *sig = (cffi_sig *)&sig;
    char err[256];
    memset(err, 'x', sizeof err);
    cffi_status s = cffi_sig_parse(text, conv, &sig, err, sizeof err);
    FUZZ_ASSERT(s < CFFI_STATUS_COUNT);
    FUZZ_ASSERT(memchr(err, '\0', sizeof err) != NULL);
    if (s != CFFI_OK) {
        FUZZ_ASSERT(sig == NULL);
        FUZZ_ASSERT(err[0] != '\0');
        FUZZ_ASSERT(s != CFFI_ENOMEM && s != CFFI_ENOEXEC && s != CFFI_EBUSY);
        free(text);
        return 0;
    }
    FUZZ_ASSERT(sig != NULL);
    const char *normal = cffi_sig_text(sig);
    FUZZ_ASSERT(normal && normal[0]);
    FUZZ_ASSERT(cffi_sig_convention(sig) != NULL);
    size_t n = cffi_sig_nparams(sig);
    FUZZ_ASSERT(n <= CFFI_MAX_PARAMS);
    for (size_t i = 0; i < n; i++) {
        cffi_type t = cffi_sig_param(sig, i);
        FUZZ_ASSERT(t > CFFI_T_VOID && t < CFFI_T_COUNT);
        FUZZ_ASSERT(cffi_sig_param_text(sig, i) && cffi_sig_param_text(sig, i)[0]);
    }
    FUZZ_ASSERT(cffi_sig_param_text(sig, n) == NULL);
    FUZZ_ASSERT(cffi_sig_result(sig) < CFFI_T_COUNT);
    FUZZ_ASSERT(cffi_sig_result_text(sig) && cffi_sig_result_text(sig)[0]);

    /* The normal form is a fixed point: it parses to the same interned object. */
    cffi_sig *again = NULL;
    s = cffi_sig_parse(normal, cffi_sig_convention(sig), &again, err, sizeof err);
    if (s != CFFI_OK) fprintf(stderr, "sig_fuzz: normal form '%s' (%s): %s\n", normal,
                              cffi_sig_convention(sig), err);
    FUZZ_ASSERT(s == CFFI_OK);
    FUZZ_ASSERT(again == sig);
    /* And the same text again is the same object. */
    cffi_sig *third = NULL;
    FUZZ_ASSERT(cffi_sig_parse(text, conv, &third, NULL, 0) == CFFI_OK && third == sig);

    exercise(sig);
    cffi_sig_free(third);
    cffi_sig_free(again);
    cffi_sig_free(sig);
    free(text);
    return 0;
}
