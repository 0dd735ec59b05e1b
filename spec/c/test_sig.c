/*
 * test_sig.c - signature strings: the grammar (every spelling the product accepts, and the
 * normal form each one prints as), the machine type of every scalar on this platform, the
 * errors with their status and column, calling-convention names inside and outside the text,
 * interning (identity, sharing across spellings, reference counts) and concurrent use.
 */
#include "internal.h"

#include <limits.h>
#include <pthread.h>
#include <string.h>

#include "check.h"

#define CHECK_STR(actual, expected)                                                               \
    do {                                                                                          \
        const char *a_ = (actual), *e_ = (expected);                                              \
        CHECK_MSG(a_ && strcmp(a_, e_) == 0, "%s is \"%s\", expected \"%s\"", #actual,            \
                  a_ ? a_ : "(null)", e_);                                                        \
    } while (0)

/* The machine type C gives an integer of this size and signedness, computed independently of
 * the library's table. */
static cffi_type int_type(size_t size, int is_signed) {
    switch (size) {
    case 1: return is_signed ? CFFI_T_INT8 : CFFI_T_UINT8;
    case 2: return is_signed ? CFFI_T_INT16 : CFFI_T_UINT16;
    case 4: return is_signed ? CFFI_T_INT32 : CFFI_T_UINT32;
    default: return is_signed ? CFFI_T_INT64 : CFFI_T_UINT64;
    }
}

static cffi_sig *parse_ok(const char *text, const char *conv) {
    char err[256] = "";
    cffi_sig *sig = NULL;
    cffi_status s = cffi_sig_parse(text, conv, &sig, err, sizeof err);
    CHECK_MSG(s == CFFI_OK && sig, "\"%s\" (%s): status %d, %s", text, conv ? conv : "NULL", s,
              err);
    return s == CFFI_OK ? sig : NULL;
}

/* ---------------------------------------------------------------------------------------------
 * Every scalar spelling alone, as a parameter and as a result.
 */
static void test_scalar_types(void) {
    const cffi_type C_INT = int_type(sizeof(int), 1), C_UINT = int_type(sizeof(int), 0);
    const struct {
        const char *spelling, *normal;
        cffi_type type;
    } cases[] = {
        {"bool", "bool", CFFI_T_BOOL},
        {"_Bool", "bool", CFFI_T_BOOL},
        {"char", "char", CHAR_MIN < 0 ? CFFI_T_INT8 : CFFI_T_UINT8},
        {"signed char", "signed char", CFFI_T_INT8},
        {"char signed", "signed char", CFFI_T_INT8},
        {"unsigned char", "unsigned char", CFFI_T_UINT8},
        {"short", "short", int_type(sizeof(short), 1)},
        {"short int", "short", int_type(sizeof(short), 1)},
        {"signed short int", "short", int_type(sizeof(short), 1)},
        {"unsigned short", "unsigned short", int_type(sizeof(short), 0)},
        {"unsigned short int", "unsigned short", int_type(sizeof(short), 0)},
        {"short unsigned", "unsigned short", int_type(sizeof(short), 0)},
        {"int", "int", C_INT},
        {"signed", "int", C_INT},
        {"signed int", "int", C_INT},
        {"unsigned", "unsigned int", C_UINT},
        {"unsigned int", "unsigned int", C_UINT},
        {"int unsigned", "unsigned int", C_UINT},
        {"long", "long", int_type(sizeof(long), 1)},
        {"long int", "long", int_type(sizeof(long), 1)},
        {"signed long", "long", int_type(sizeof(long), 1)},
        {"unsigned long", "unsigned long", int_type(sizeof(long), 0)},
        {"long unsigned int", "unsigned long", int_type(sizeof(long), 0)},
        {"long long", "long long", int_type(sizeof(long long), 1)},
        {"long long int", "long long", int_type(sizeof(long long), 1)},
        {"long int long", "long long", int_type(sizeof(long long), 1)},
        {"unsigned long long", "unsigned long long", int_type(sizeof(long long), 0)},
        {"long unsigned long int", "unsigned long long", int_type(sizeof(long long), 0)},
        {"int8_t", "int8_t", CFFI_T_INT8},
        {"uint8_t", "uint8_t", CFFI_T_UINT8},
        {"int16_t", "int16_t", CFFI_T_INT16},
        {"uint16_t", "uint16_t", CFFI_T_UINT16},
        {"int32_t", "int32_t", CFFI_T_INT32},
        {"uint32_t", "uint32_t", CFFI_T_UINT32},
        {"int64_t", "int64_t", CFFI_T_INT64},
        {"uint64_t", "uint64_t", CFFI_T_UINT64},
        {"size_t", "size_t", int_type(sizeof(size_t), 0)},
        {"ssize_t", "ssize_t", int_type(sizeof(size_t), 1)},
        {"intptr_t", "intptr_t", int_type(sizeof(intptr_t), 1)},
        {"uintptr_t", "uintptr_t", int_type(sizeof(uintptr_t), 0)},
        {"ptrdiff_t", "ptrdiff_t", int_type(sizeof(ptrdiff_t), 1)},
        {"float", "float", CFFI_T_FLOAT},
        {"double", "double", CFFI_T_DOUBLE},
        {"const int", "int", C_INT}, /* top-level qualifiers are not part of a function type */
        {"volatile unsigned", "unsigned int", C_UINT},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char text[128], normal[128];
        snprintf(text, sizeof text, "void(%s)", cases[i].spelling);
        snprintf(normal, sizeof normal, "void(%s)", cases[i].normal);
        cffi_sig *sig = parse_ok(text, NULL);
        if (sig) {
            CHECK_STR(cffi_sig_text(sig), normal);
            CHECK_MSG(cffi_sig_nparams(sig) == 1, "%s: %zu params", text, cffi_sig_nparams(sig));
            CHECK_MSG(cffi_sig_param(sig, 0) == cases[i].type, "%s: param type %d, expected %d",
                      text, cffi_sig_param(sig, 0), cases[i].type);
            CHECK_STR(cffi_sig_param_text(sig, 0), cases[i].normal);
            CHECK(cffi_sig_result(sig) == CFFI_T_VOID);
            CHECK_STR(cffi_sig_result_text(sig), "void");
            cffi_sig_free(sig);
        }
        snprintf(text, sizeof text, "%s(void)", cases[i].spelling);
        snprintf(normal, sizeof normal, "%s(void)", cases[i].normal);
        sig = parse_ok(text, NULL);
        if (sig) {
            CHECK_STR(cffi_sig_text(sig), normal);
            CHECK_MSG(cffi_sig_result(sig) == cases[i].type, "%s: result type %d, expected %d",
                      text, cffi_sig_result(sig), cases[i].type);
            CHECK_STR(cffi_sig_result_text(sig), cases[i].normal);
            CHECK(cffi_sig_nparams(sig) == 0);
            cffi_sig_free(sig);
        }
    }
}

/* ---------------------------------------------------------------------------------------------
 * Whole signatures: spelling -> normal form and machine types.
 */
#define MAXP 6
typedef struct valid_case {
    const char *text;
    const char *normal;
    cffi_type result;
    size_t nparams;
    cffi_type params[MAXP];
    const char *param_texts[MAXP];
} valid_case;

static void test_valid_signatures(void) {
    const cffi_type I = int_type(sizeof(int), 1), P = CFFI_T_PTR, S = CFFI_T_CSTR,
                    V = CFFI_T_CPTR, D = CFFI_T_DOUBLE;
    const valid_case cases[] = {
        {"int(int,int)", "int(int, int)", I, 2, {I, I}, {"int", "int"}},
        {"  int ( int a , int b )  ", "int(int, int)", I, 2, {I, I}, {"int", "int"}},
        {"int\t(\nint\r)", "int(int)", I, 1, {I}, {"int"}},
        {"int()", "int(void)", I, 0, {0}, {0}},
        {"int(void)", "int(void)", I, 0, {0}, {0}},
        {"void()", "void(void)", CFFI_T_VOID, 0, {0}, {0}},
        {"int (*)(int, int)", "int(int, int)", I, 2, {I, I}, {"int", "int"}},
        {"int(*)(int,int)", "int(int, int)", I, 2, {I, I}, {"int", "int"}},
        {"int (*cb)(int)", "int(int)", I, 1, {I}, {"int"}},
        {"int compare(int x)", "int(int)", I, 1, {I}, {"int"}},
        {"double(double)", "double(double)", D, 1, {D}, {"double"}},
        {"const char *(const char *s)", "const char *(const char *)", S, 1, {S},
         {"const char *"}},
        {"char const*(char const*)", "const char *(const char *)", S, 1, {S}, {"const char *"}},
        {"void(const char *const)", "void(const char *)", CFFI_T_VOID, 1, {S}, {"const char *"}},
        {"void(char *, const char **, const void *, void const *, void *, void **)",
         "void(char *, const char **, const void *, const void *, void *, void **)",
         CFFI_T_VOID, 6, {P, P, V, V, P, P},
         {"char *", "const char **", "const void *", "const void *", "void *", "void **"}},
        {"void(const unsigned char *, const signed char *, volatile const char *, const int *)",
         "void(const unsigned char *, const signed char *, const volatile char *, const int *)",
         CFFI_T_VOID, 4, {P, P, P, P},
         {"const unsigned char *", "const signed char *", "const volatile char *",
          "const int *"}},
        {"void(char * const * p, int*restrict q)", "void(char *const *, int *)", CFFI_T_VOID, 2,
         {P, P}, {"char *const *", "int *"}},
        {"void(struct foo *, union bar *, enum baz *, const struct foo **)",
         "void(struct foo *, union bar *, enum baz *, const struct foo **)", CFFI_T_VOID, 4,
         {P, P, P, P}, {"struct foo *", "union bar *", "enum baz *", "const struct foo **"}},
        {"void(void *base, size_t n, size_t size, int (*compar)(const void *, const void *))",
         "void(void *, size_t, size_t, int (*)(const void *, const void *))", CFFI_T_VOID, 4,
         {P, int_type(sizeof(size_t), 0), int_type(sizeof(size_t), 0), P},
         {"void *", "size_t", "size_t", "int (*)(const void *, const void *)"}},
        /* A parameter of function type is a function pointer, as in C. */
        {"int(int cmp(int, int))", "int(int (*)(int, int))", I, 1, {P}, {"int (*)(int, int)"}},
        {"void(void (*)(void), void (*)(), int (*)(int, ...))",
         "void(void (*)(void), void (*)(void), int (*)(int, ...))", CFFI_T_VOID, 3, {P, P, P},
         {"void (*)(void)", "void (*)(void)", "int (*)(int, ...)"}},
        {"void(void (**)(int))", "void(void (**)(int))", CFFI_T_VOID, 1, {P},
         {"void (**)(int)"}},
        /* Inside a function-pointer parameter, what cannot be passed by value here is fine. */
        {"void(void (*)(struct s, long double))", "void(void (*)(struct s, long double))",
         CFFI_T_VOID, 1, {P}, {"void (*)(struct s, long double)"}},
        /* A function returning a function pointer. */
        {"int (*(int))(double)", "int (*(int))(double)", P, 1, {I}, {"int"}},
        {"int (*(*)(int))(double)", "int (*(int))(double)", P, 1, {I}, {"int"}},
        {"char *(*)(char *)", "char *(char *)", P, 1, {P}, {"char *"}},
        {"const int(const int)", "int(int)", I, 1, {I}, {"int"}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const valid_case *c = &cases[i];
        cffi_sig *sig = parse_ok(c->text, NULL);
        if (!sig) continue;
        CHECK_STR(cffi_sig_text(sig), c->normal);
        CHECK_MSG(cffi_sig_result(sig) == c->result, "\"%s\": result %d, expected %d", c->text,
                  cffi_sig_result(sig), c->result);
        CHECK_MSG(cffi_sig_nparams(sig) == c->nparams, "\"%s\": %zu params, expected %zu",
                  c->text, cffi_sig_nparams(sig), c->nparams);
        for (size_t j = 0; j < c->nparams && j < cffi_sig_nparams(sig); j++) {
            CHECK_MSG(cffi_sig_param(sig, j) == c->params[j], "\"%s\": param %zu is %d, not %d",
                      c->text, j, cffi_sig_param(sig, j), c->params[j]);
            CHECK_STR(cffi_sig_param_text(sig, j), c->param_texts[j]);
        }
        CHECK(cffi_sig_param(sig, c->nparams) == CFFI_T_VOID);
        CHECK(cffi_sig_param_text(sig, c->nparams) == NULL);
        /* The normal form is itself a spelling of the same signature. */
        cffi_sig *again = parse_ok(cffi_sig_text(sig), NULL);
        CHECK_MSG(again == sig, "\"%s\" does not parse back to the same signature",
                  cffi_sig_text(sig));
        cffi_sig_free(again);
        CHECK_STR(cffi_sig_convention(sig), cffi_convention_canonical("C"));
        cffi_sig_free(sig);
    }
}

/* ---------------------------------------------------------------------------------------------
 * Many parameters.
 */
static void build_params(char *buf, size_t len, size_t n, const char *type) {
    size_t used = (size_t)snprintf(buf, len, "void(");
    for (size_t i = 0; i < n; i++)
        used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? ", " : "", type);
    snprintf(buf + used, len - used, ")");
}

static void test_many_params(void) {
    static char text[8192];
    const size_t counts[] = {32, 40, CFFI_MAX_PARAMS};
    for (size_t k = 0; k < sizeof counts / sizeof *counts; k++) {
        build_params(text, sizeof text, counts[k], "double");
        cffi_sig *sig = parse_ok(text, NULL);
        if (!sig) continue;
        CHECK_MSG(cffi_sig_nparams(sig) == counts[k], "%zu params, expected %zu",
                  cffi_sig_nparams(sig), counts[k]);
        CHECK_STR(cffi_sig_text(sig), text); /* already in normal form */
        CHECK(cffi_sig_param(sig, counts[k] - 1) == CFFI_T_DOUBLE);
        cffi_sig_free(sig);
    }
    /* Mixed 40: integers and floats alternate; each parameter keeps its own type. */
    size_t used = (size_t)snprintf(text, sizeof text, "long(");
    for (int i = 0; i < 40; i++)
        used += (size_t)snprintf(text + used, sizeof text - used, "%s%s a%d", i ? ", " : "",
                                 i % 2 ? "float" : "int64_t", i);
    snprintf(text + used, sizeof text - used, ")");
    cffi_sig *sig = parse_ok(text, "C");
    if (sig) {
        CHECK(cffi_sig_nparams(sig) == 40);
        for (size_t i = 0; i < 40; i++)
            CHECK_MSG(cffi_sig_param(sig, i) == (i % 2 ? CFFI_T_FLOAT : CFFI_T_INT64),
                      "param %zu is %d", i, cffi_sig_param(sig, i));
        cffi_sig_free(sig);
    }

    /* Nesting and pointer depth are bounded (a script's text must not exhaust the stack). */
    char err_limit[256];
    cffi_sig *limited;
    used = (size_t)snprintf(text, sizeof text, "int");
    for (int i = 0; i < 40; i++) used += (size_t)snprintf(text + used, sizeof text - used, "(*");
    for (int i = 0; i < 40; i++) used += (size_t)snprintf(text + used, sizeof text - used, ")");
    snprintf(text + used, sizeof text - used, "(int)");
    CHECK(cffi_sig_parse(text, NULL, &limited, err_limit, sizeof err_limit) == CFFI_EBADSIG);
    CHECK_STR(err_limit, "col 68: declarator nested too deeply (at most 32 levels)");
    /* 20 levels is fine: int(int) returning a pointer to a function returning a pointer ... */
    text[3 + 2 * 20] = '\0';
    strcat(text, "(int)");
    for (int i = 0; i < 20; i++) strcat(text, ")(void)");
    limited = parse_ok(text, NULL);
    CHECK(limited && cffi_sig_result(limited) == CFFI_T_PTR);
    cffi_sig_free(limited);
    /* A parameter of function type prints as a pointer to a function, one level deeper: a
     * text whose normal form would nest too deeply is refused, since its normal form would not
     * parse back. k nested function-type parameters take k + 1 levels as written, 2k + 1 in
     * normal form. */
    for (int k = 15; k <= 20; k += 5) {
        used = (size_t)snprintf(text, sizeof text, "void(");
        for (int i = 0; i < k; i++)
            used += (size_t)snprintf(text + used, sizeof text - used, "int (");
        used += (size_t)snprintf(text + used, sizeof text - used, "void");
        for (int i = 0; i <= k; i++)
            used += (size_t)snprintf(text + used, sizeof text - used, ")");
        if (k == 15) {
            limited = parse_ok(text, NULL);
            cffi_sig *again = limited ? parse_ok(cffi_sig_text(limited), NULL) : NULL;
            CHECK(again && again == limited);
            cffi_sig_free(again);
            cffi_sig_free(limited);
        } else {
            limited = (cffi_sig *)&limited;
            CHECK(cffi_sig_parse(text, NULL, &limited, err_limit, sizeof err_limit) ==
                  CFFI_EBADSIG);
            CHECK(limited == NULL);
            CHECK_MSG(strstr(err_limit, "written in normal form, the signature does not parse "
                                        "back (col ") == err_limit &&
                          strstr(err_limit, "declarator nested too deeply (at most 32 levels)"),
                      "message: %s", err_limit);
        }
    }
    CHECK(cffi_sig_parse("void(int *****************)", NULL, &limited, err_limit,
                         sizeof err_limit) == CFFI_EBADSIG);
    CHECK_STR(err_limit, "col 26: too many '*' (at most 16 in a row)");
    limited = parse_ok("void(int ****************)", NULL);
    CHECK(limited && cffi_sig_param(limited, 0) == CFFI_T_PTR);
    CHECK_STR(cffi_sig_param_text(limited, 0), "int ****************");
    cffi_sig_free(limited);

    build_params(text, sizeof text, CFFI_MAX_PARAMS + 1, "int");
    char err[128] = "";
    cffi_sig *bad = (cffi_sig *)&err; /* must be reset to NULL on failure */
    cffi_status s = cffi_sig_parse(text, NULL, &bad, err, sizeof err);
    CHECK(s == CFFI_ETOOMANY);
    CHECK(bad == NULL);
    char expected[128];
    snprintf(expected, sizeof expected, "col %zu: too many parameters, at most %d are supported",
             strlen("void(") + (size_t)CFFI_MAX_PARAMS * strlen("int, ") + 1, CFFI_MAX_PARAMS);
    CHECK_STR(err, expected);
}

/* ---------------------------------------------------------------------------------------------
 * Errors: exact status and message.
 */
static void test_errors(void) {
    const struct {
        const char *text;
        const char *conv;
        cffi_status status;
        const char *message;
    } cases[] = {
        {"", NULL, CFFI_EBADSIG, "col 1: expected a return type, found end of signature"},
        {"   ", NULL, CFFI_EBADSIG, "col 4: expected a return type, found end of signature"},
        {"(int)", NULL, CFFI_EBADSIG, "col 1: expected a return type, found '('"},
        {"void", NULL, CFFI_EBADSIG,
         "col 5: expected '(' after the return type, found end of signature"},
        {"int x y", NULL, CFFI_EBADSIG, "col 7: expected '(' after the return type, found 'y'"},
        {"int(int int)", NULL, CFFI_EBADSIG, "col 9: expected ',' or ')', found 'int'"},
        {"int(int a b)", NULL, CFFI_EBADSIG, "col 11: expected ',' or ')', found 'b'"},
        {"int(int", NULL, CFFI_EBADSIG, "col 8: expected ',' or ')', found end of signature"},
        {"int(int,)", NULL, CFFI_EBADSIG, "col 9: expected a parameter type, found ')'"},
        {"int(,int)", NULL, CFFI_EBADSIG, "col 5: expected a parameter type, found ','"},
        {"int(const)", NULL, CFFI_EBADSIG, "col 10: expected a parameter type, found ')'"},
        {"int(int))", NULL, CFFI_EBADSIG, "col 9: expected end of signature, found ')'"},
        {"int(int) x", NULL, CFFI_EBADSIG, "col 10: expected end of signature, found 'x'"},
        {"int(int 3)", NULL, CFFI_EBADSIG, "col 9: expected ',' or ')', found '3'"},
        {"int(int #)", NULL, CFFI_EBADSIG, "col 9: unexpected character '#'"},
        {"int(int[0])", NULL, CFFI_EBADSIG,
         "col 9: expected an array size (a positive integer), found '0'"},
        {"int(int[4)", NULL, CFFI_EBADSIG, "col 10: expected ']', found ')'"},
        {"int[4](int)", NULL, CFFI_EBADSIG, "col 7: an array of functions is not a type"},
        {"int (*(int)", NULL, CFFI_EBADSIG,
         "col 12: expected ')' to match '(' at col 5, found end of signature"},
        {"int (* x y)(int)", NULL, CFFI_EBADSIG, "col 10: expected ')', found 'y'"},
        {"int (**)(int)", NULL, CFFI_EBADSIG,
         "col 1: a pointer to a function pointer is not a signature"},
        {"int(int)(int)", NULL, CFFI_EBADSIG, "col 9: a function cannot return a function"},
        {"int(int, ..., int)", NULL, CFFI_EBADSIG, "col 13: expected ')' after '...', found ','"},
        {"int(...)", NULL, CFFI_EBADSIG, "col 5: expected a parameter type, found '...'"},
        {"int(int, ... x)", NULL, CFFI_EBADSIG, "col 14: expected ')' after '...', found 'x'"},
        {"int(struct)", NULL, CFFI_EBADSIG,
         "col 11: expected a name or '{' after 'struct', found ')'"},
        {"int __attribute__(stdcall)(int)", NULL, CFFI_EBADSIG,
         "col 19: expected '((' after __attribute__, found 'stdcall'"},
        {"int __attribute__((regparm(3)))(int)", NULL, CFFI_EBADSIG,
         "col 20: unsupported attribute 'regparm'"},
        {"int __attribute__((noreturn))(int)", NULL, CFFI_EBADSIG,
         "col 20: unsupported attribute 'noreturn'"},
        {"foo(int)", NULL, CFFI_EBADTYPE,
         "col 1: unknown type 'foo' (declare a type of your own with cdef first)"},
        {"int(foo)", NULL, CFFI_EBADTYPE,
         "col 5: unknown type 'foo' (declare a type of your own with cdef first)"},
        {"int(const foo *)", NULL, CFFI_EBADTYPE,
         "col 11: unknown type 'foo' (declare a type of your own with cdef first)"},
        {"__int128(int)", NULL, CFFI_EUNSUPPORTED,
         "col 1: '__int128': 128-bit integers are not supported; pass a struct of two 64-bit "
         "halves or a pointer"},
        {"void(int, __float128)", NULL, CFFI_EUNSUPPORTED,
         "col 11: '__float128': 128-bit floating types are not supported; pass a pointer"},
        {"int(int, void)", NULL, CFFI_EBADTYPE,
         "col 10: 'void' is not a parameter type (only '(void)' alone means no parameters)"},
        {"int(void x)", NULL, CFFI_EBADTYPE,
         "col 5: 'void' is not a parameter type (only '(void)' alone means no parameters)"},
        {"void(struct point)", NULL, CFFI_EBADTYPE,
         "col 6: 'struct point' is not defined (cdef it first), so it can only be passed behind "
         "a pointer"},
        {"union u(void)", NULL, CFFI_EBADTYPE,
         "col 1: 'union u' is not defined (cdef it first), so it can only be passed behind a "
         "pointer"},
        {"int(char short)", NULL, CFFI_EBADSIG, "col 10: expected ',' or ')', found 'short'"},
        {"int(signed unsigned)", NULL, CFFI_EBADSIG,
         "col 12: expected ',' or ')', found 'unsigned'"},
        {"int(long long long)", NULL, CFFI_EBADSIG, "col 15: expected ',' or ')', found 'long'"},
        {"int(int size_t)", NULL, CFFI_EBADSIG, "col 9: expected ',' or ')', found 'size_t'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char err[256] = "untouched";
        cffi_sig *sig = NULL;
        cffi_status s = cffi_sig_parse(cases[i].text, cases[i].conv, &sig, err, sizeof err);
        CHECK_MSG(s == cases[i].status, "\"%s\": status %d (%s), expected %d", cases[i].text, s,
                  err, cases[i].status);
        CHECK_MSG(sig == NULL, "\"%s\": out not NULL on failure", cases[i].text);
        CHECK_MSG(strcmp(err, cases[i].message) == 0, "\"%s\": message \"%s\", expected \"%s\"",
                  cases[i].text, err, cases[i].message);
        if (s == CFFI_OK) cffi_sig_free(sig);
    }

    /* Bad arguments. */
    char err[64];
    cffi_sig *sig = NULL;
    CHECK(cffi_sig_parse(NULL, NULL, &sig, err, sizeof err) == CFFI_EINVAL && sig == NULL);
    CHECK(cffi_sig_parse("int(int)", NULL, NULL, err, sizeof err) == CFFI_EINVAL);
    /* No message buffer at all, and one too small: never overflows, always terminated. */
    CHECK(cffi_sig_parse("int(int int)", NULL, &sig, NULL, 0) == CFFI_EBADSIG);
    char tiny[8];
    memset(tiny, 'x', sizeof tiny);
    CHECK(cffi_sig_parse("int(int int)", NULL, &sig, tiny, sizeof tiny) == CFFI_EBADSIG);
    CHECK_STR(tiny, "col 9: ");
    /* Success clears a stale message. */
    strcpy(err, "stale");
    sig = parse_ok("int(int)", NULL);
    CHECK(cffi_sig_parse("int(int)", NULL, &sig, err, sizeof err) == CFFI_OK);
    CHECK_STR(err, "");
    cffi_sig_free(sig);
    cffi_sig_free(sig);
    cffi_sig_free(NULL); /* ignored */
}

/* ---------------------------------------------------------------------------------------------
 * Calling conventions.
 */
static bool conv_exists(const char *name) { return cffi_convention_canonical(name) != NULL; }

static void test_convention_names(void) {
    size_t n = cffi_convention_count();
    CHECK(n > 0);
    bool has_c = false;
    for (size_t i = 0; i < n; i++) {
        const char *canonical = NULL;
        const char *name = cffi_convention_name(i, &canonical);
        REQUIRE(name && canonical);
        if (strcmp(name, "c") == 0) has_c = true;
        CHECK_STR(cffi_convention_canonical(name), canonical);
        /* Every accepted name parses, and means its canonical convention. */
        cffi_sig *sig = parse_ok("int(int)", name);
        if (sig) {
            CHECK_STR(cffi_sig_convention(sig), canonical);
            cffi_sig_free(sig);
        }
        /* Upper case and leading underscores name the same convention. */
        char spelled[64];
        size_t k = 0;
        spelled[k++] = '_';
        spelled[k++] = '_';
        for (const char *c = name; *c && k < sizeof spelled - 1; c++)
            spelled[k++] = (char)(*c >= 'a' && *c <= 'z' ? *c - 'a' + 'A' : *c);
        spelled[k] = '\0';
        CHECK_STR(cffi_convention_canonical(spelled), canonical);
        CHECK_STR(cffi_convention_canonical(spelled + 1), canonical);
    }
    CHECK(has_c);
    const char *canonical = (const char *)1;
    CHECK(cffi_convention_name(n, &canonical) == NULL && canonical == NULL);
    CHECK(cffi_convention_canonical(NULL) == NULL);
    CHECK(cffi_convention_canonical("xyz") == NULL);
    CHECK(cffi_convention_canonical("") == NULL);
    CHECK(cffi_convention_canonical("std call") == NULL);
    CHECK(cffi_convention_canonical("stdcall_") == NULL);

    /* NULL means C. */
    cffi_sig *sig = parse_ok("int(int)", NULL);
    if (sig) {
        CHECK_STR(cffi_sig_convention(sig), cffi_convention_canonical("C"));
        CHECK(cffi_sig_callee_pop(sig) == sig->plan->callee_pop);
        cffi_sig_free(sig);
    }

    /* Unknown: the message lists what is accepted here. */
    char err[512], expected[512];
    size_t used = (size_t)snprintf(expected, sizeof expected,
                                   "unknown calling convention 'xyz'; accepted here: ");
    for (size_t i = 0; i < n; i++) {
        const char *name = cffi_convention_name(i, NULL);
        used += (size_t)snprintf(expected + used, sizeof expected - used, "%s%s", i ? ", " : "",
                                 strcmp(name, "c") == 0 ? "C" : name);
    }
    sig = (cffi_sig *)err;
    CHECK(cffi_sig_parse("int(int)", "xyz", &sig, err, sizeof err) == CFFI_EBADCONV);
    CHECK(sig == NULL);
    CHECK_STR(err, expected);
    CHECK(cffi_sig_parse("int(int)", "", &sig, err, sizeof err) == CFFI_EBADCONV);
    CHECK(strstr(err, "unknown calling convention ''; accepted here: C, ") == err);
    /* A bad convention is reported before the text is looked at. */
    CHECK(cffi_sig_parse("int(int int)", "xyz", &sig, err, sizeof err) == CFFI_EBADCONV);
    /* A real convention of another platform. */
    if (!conv_exists("aapcs")) {
        CHECK(cffi_sig_parse("int(int)", "aapcs", &sig, err, sizeof err) == CFFI_EBADCONV);
        CHECK_MSG(strstr(err, "unknown calling convention 'aapcs'; it has no meaning on "
                              CFFI_ARCH_NAME "; accepted here: C, ") == err,
                  "message: %s", err);
        CHECK(cffi_sig_parse("int __aapcs(int)", NULL, &sig, err, sizeof err) == CFFI_EBADCONV);
        CHECK_MSG(strstr(err, "col 5: unknown calling convention '__aapcs'; it has no "
                              "meaning on ") == err,
                  "message: %s", err);
    }
    CHECK(cffi_sig_parse("int (__vectorcall *)(int)", NULL, &sig, err, sizeof err) ==
          CFFI_EBADCONV);
    CHECK_MSG(strstr(err, "col 6: unknown calling convention '__vectorcall'; accepted here: C, ")
                  == err,
              "message: %s", err);
}

static void test_conventions_in_text(void) {
    const struct {
        const char *text;
        const char *means; /* the accepted name it stands for */
    } cases[] = {
        {"int __stdcall(int)", "stdcall"},
        {"int (__stdcall *)(int)", "stdcall"},
        {"int (__stdcall *cb)(int)", "stdcall"},
        {"__stdcall int(int)", "stdcall"},
        {"int _stdcall(int)", "stdcall"},
        {"int __cdecl(int)", "cdecl"},
        {"int (__fastcall*)(int)", "fastcall"},
        {"int __thiscall(void *)", "thiscall"},
        {"int __attribute__((stdcall))(int)", "stdcall"},
        {"int __attribute__((__stdcall__)) (int)", "stdcall"},
        {"int (__attribute__((cdecl)) *)(int)", "cdecl"},
        {"int(int) __attribute__((fastcall))", "fastcall"},
        {"__attribute__((ms_abi)) int(int)", "win64"},
        {"int __attribute__((sysv_abi))(int)", "sysv64"},
        {"int __attribute__((stdcall, stdcall))(int)", "stdcall"},
        {"int WINAPI(int)", "stdcall"},
        {"int (CALLBACK *)(int)", "stdcall"},
        {"int APIENTRY(int)", "stdcall"},
        {"int (WINAPIV *)(int)", "cdecl"},
        {"int EFIAPI(int)", "efiapi"},
        /* A convention inside a function-pointer parameter belongs to that pointer. */
        {"int(int (__stdcall *)(int))", "C"},
        {"int(void (__attribute__((ms_abi)) *)(int))", "C"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        if (!cases[i].means) continue;
        const char *canonical = cffi_convention_canonical(cases[i].means);
        char err[512] = "";
        cffi_sig *sig = NULL;
        cffi_status s = cffi_sig_parse(cases[i].text, NULL, &sig, err, sizeof err);
        if (!canonical) {
            CHECK_MSG(s == CFFI_EBADCONV, "\"%s\": status %d, expected EBADCONV", cases[i].text,
                      s);
            continue;
        }
        CHECK_MSG(s == CFFI_OK, "\"%s\": status %d, %s", cases[i].text, s, err);
        if (s != CFFI_OK) continue;
        CHECK_STR(cffi_sig_convention(sig), canonical);
        CHECK_MSG(strstr(cffi_sig_text(sig), "call") == NULL &&
                      strstr(cffi_sig_text(sig), "attr") == NULL &&
                      strstr(cffi_sig_text(sig), "API") == NULL,
                  "convention left in the normal form: %s", cffi_sig_text(sig));
        cffi_sig_free(sig);
        /* The same convention given as the argument too: agrees. */
        sig = parse_ok(cases[i].text, cases[i].means);
        if (sig) {
            CHECK_STR(cffi_sig_convention(sig), canonical);
            cffi_sig_free(sig);
        }
    }
    /* Bare words are identifiers in C, so `stdcall` in the text is not a convention. */
    char err[512];
    cffi_sig *sig;
    CHECK(cffi_sig_parse("int stdcall(int)", NULL, &sig, err, sizeof err) == CFFI_OK);
    CHECK_STR(cffi_sig_convention(sig), cffi_convention_canonical("C"));
    cffi_sig_free(sig);
    /* Keywords in the text are case-sensitive, as in C. */
    CHECK(cffi_sig_parse("__STDCALL int(int)", NULL, &sig, err, sizeof err) == CFFI_EBADTYPE);
    CHECK_STR(err, "col 1: unknown type '__STDCALL' (declare a type of your own with cdef first)");
}

static void test_convention_clash(void) {
    char err[512];
    cffi_sig *sig = NULL;
    /* Agreement is by canonical convention: where stdcall means C, "C" does not clash. */
    const char *std = cffi_convention_canonical("stdcall");
    const char *c = cffi_convention_canonical("C");
    const char *win64 = cffi_convention_canonical("win64");
    const char *sysv64 = cffi_convention_canonical("sysv64");
    if (std && c) {
        cffi_status s = cffi_sig_parse("int __stdcall(int)", "C", &sig, err, sizeof err);
        if (strcmp(std, c) == 0) {
            CHECK(s == CFFI_OK);
            if (s == CFFI_OK) cffi_sig_free(sig);
        } else {
            CHECK(s == CFFI_ECONVCLASH && sig == NULL);
        }
    }
    if (win64 && sysv64 && strcmp(win64, sysv64) != 0) {
        CHECK(cffi_sig_parse("int __attribute__((sysv_abi)) (int)", "WIN64", &sig, err,
                             sizeof err) == CFFI_ECONVCLASH);
        CHECK(sig == NULL);
        char expected[256];
        snprintf(expected, sizeof expected,
                 "col 20: calling convention 'sysv_abi' (%s here) in the signature disagrees "
                 "with the convention argument 'WIN64' (%s here)",
                 sysv64, win64);
        CHECK_STR(err, expected);
        /* Two conventions inside the text that disagree. */
        CHECK(cffi_sig_parse("int (__attribute__((ms_abi)) __sysv64 *)(int)", NULL, &sig, err,
                             sizeof err) == CFFI_ECONVCLASH);
        snprintf(expected, sizeof expected,
                 "col 30: calling convention '__sysv64' (%s here) disagrees with 'ms_abi' (%s "
                 "here) at col 21",
                 sysv64, win64);
        CHECK_STR(err, expected);
        /* Same text, different convention: different objects. */
        cffi_sig *a = parse_ok("int(int)", "sysv64"), *b = parse_ok("int(int)", "win64");
        CHECK(a && b && a != b);
        if (a && b) CHECK(a->abi != b->abi && strcmp(cffi_sig_text(a), cffi_sig_text(b)) == 0);
        cffi_sig_free(a);
        cffi_sig_free(b);
    }
}

/* ---------------------------------------------------------------------------------------------
 * Interning and reference counts.
 */
static size_t refs_of(const cffi_sig *sig) { return atomic_load(&((cffi_sig *)sig)->refs); }

static void test_interning(void) {
    cffi_sig *a = parse_ok("int(int, int)", NULL);
    cffi_sig *b = parse_ok("int(int, int)", NULL);
    REQUIRE(a && b);
    CHECK(a == b);
    CHECK(refs_of(a) == 2);
    /* Other spellings of the same normal form and canonical convention share the object. */
    const char *spellings[] = {"int(int,int)", "int ( * ) ( int x , int y )", "signed(int, signed)",
                               "int (*cb)(int, int)"};
    cffi_sig *same[4];
    for (size_t i = 0; i < 4; i++) {
        same[i] = parse_ok(spellings[i], NULL);
        CHECK_MSG(same[i] == a, "\"%s\" is not interned with \"int(int, int)\"", spellings[i]);
    }
    CHECK(refs_of(a) == 6);
    /* "C" and NULL are the same convention; so is any name meaning the same canonical one. */
    cffi_sig *c = parse_ok("int(int, int)", "C");
    CHECK(c == a);
    cffi_sig *d = parse_ok("int(int, int)", "__CDECL");
    CHECK(d == a || strcmp(cffi_convention_canonical("cdecl"), cffi_convention_canonical("C")));
    /* A different signature is a different object. */
    cffi_sig *e = parse_ok("int(int, long)", NULL);
    CHECK(e && e != a);
    CHECK(cffi_sig_ref(a) == a);
    CHECK(refs_of(a) == 9);
    /* A failed parse leaves the existing object alone. */
    char err[128];
    cffi_sig *f;
    CHECK(cffi_sig_parse("int(int, int", NULL, &f, err, sizeof err) == CFFI_EBADSIG);
    CHECK(refs_of(a) == 9);

    for (size_t i = 0; i < 4; i++) cffi_sig_free(same[i]);
    cffi_sig_free(c);
    cffi_sig_free(d);
    cffi_sig_free(a); /* the ref */
    cffi_sig_free(b);
    CHECK(refs_of(a) == 1);
    CHECK_STR(cffi_sig_text(a), "int(int, int)");
    cffi_sig_free(a); /* the last: gone from the table */
    cffi_sig_free(e);

    /* After the last free the text parses into a fresh object with one reference (ASan checks
     * that nothing still points at the freed one). */
    cffi_sig *g = parse_ok("int(int,int)", NULL);
    if (g) {
        CHECK(refs_of(g) == 1);
        CHECK_STR(cffi_sig_text(g), "int(int, int)");
        cffi_sig_free(g);
    }

    /* Many spellings of one signature: all the same object, all released. */
    cffi_sig *many[100];
    for (int i = 0; i < 100; i++) {
        char text[64];
        snprintf(text, sizeof text, "double(double x%d)", i);
        many[i] = parse_ok(text, NULL);
        CHECK(many[i] && many[i] == many[0]);
    }
    CHECK(refs_of(many[0]) == 100);
    for (int i = 0; i < 100; i++) cffi_sig_free(many[i]);
}

/* ---------------------------------------------------------------------------------------------
 * Threads parsing and freeing the same texts at once.
 */
#define THREADS 8
#define ROUNDS 3000

static const char *const thread_texts[] = {
    "int(int, int)", "int(int,int)", "int (*)(int, int)", "void(const char *)",
    "void(char const *s)", "double(double, float)", "size_t(void *, size_t)", "int(int, int int)",
};
static const char *const thread_normal[] = {
    "int(int, int)", "int(int, int)", "int(int, int)", "void(const char *)",
    "void(const char *)", "double(double, float)", "size_t(void *, size_t)", NULL,
};

static void *thread_main(void *arg) {
    unsigned seed = (unsigned)(uintptr_t)arg;
    size_t n = sizeof thread_texts / sizeof *thread_texts;
    cffi_sig *held[4] = {0};
    size_t *errors = calloc(1, sizeof *errors);
    for (int r = 0; r < ROUNDS; r++) {
        seed = seed * 1103515245u + 12345u;
        size_t which = (seed >> 8) % n, slot = (seed >> 20) % 4;
        char err[128];
        cffi_sig *sig = NULL;
        cffi_status s = cffi_sig_parse(thread_texts[which], (seed >> 4) & 1 ? "C" : NULL, &sig,
                                       err, sizeof err);
        if (!thread_normal[which]) {
            if (s != CFFI_EBADSIG || sig) ++*errors;
            continue;
        }
        if (s != CFFI_OK || !sig || strcmp(cffi_sig_text(sig), thread_normal[which]) != 0) {
            ++*errors;
            continue;
        }
        /* Keep a few alive for a while so frees race with lookups of live objects too. */
        cffi_sig_free(held[slot]);
        held[slot] = sig;
    }
    for (size_t i = 0; i < 4; i++) cffi_sig_free(held[i]);
    return errors;
}

static void test_threads(void) {
    pthread_t threads[THREADS];
    for (uintptr_t i = 0; i < THREADS; i++)
        REQUIRE(pthread_create(&threads[i], NULL, thread_main, (void *)(i + 1)) == 0);
    size_t errors = 0;
    for (size_t i = 0; i < THREADS; i++) {
        void *result;
        pthread_join(threads[i], &result);
        errors += result ? *(size_t *)result : 1;
        free(result);
    }
    CHECK_MSG(errors == 0, "%zu wrong results from concurrent parses", errors);
    /* Everything was released: a fresh parse starts from one reference. */
    cffi_sig *sig = parse_ok("int(int, int)", NULL);
    if (sig) {
        CHECK(refs_of(sig) == 1);
        cffi_sig_free(sig);
    }
}

int main(void) {
    test_scalar_types();
    test_valid_signatures();
    test_many_params();
    test_errors();
    test_convention_names();
    test_conventions_in_text();
    test_convention_clash();
    test_interning();
    test_threads();
    return CHECK_DONE();
}
