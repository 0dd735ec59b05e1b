/*
 * test_agg.c - structs and unions by value: the declaration grammar (cffi_cdef, cffi_type_parse)
 * and its errors, layouts against the compiler's, scopes, interning by layout, and calls and
 * closures with the structs game code passes (vectors, colours, rectangles, matrices) against
 * compiled functions. The random differential (spec/c/random, --aggregates) covers the rest.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "check.h"

#if defined(__x86_64__) || defined(__i386__) || defined(__aarch64__) || defined(__arm__)
#define AGG_TARGET 1 /* aggregates by value are carried here */
#else
#define AGG_TARGET 0
#endif

static void check_cdef_ok(cffi_scope *scope, const char *text) {
    char err[256] = "";
    cffi_status s = cffi_cdef(scope, text, err, sizeof err);
    CHECK_MSG(s == CFFI_OK, "cdef \"%s\": %s: %s", text, cffi_strerror(s), err);
}

static cffi_typeinfo type_of(cffi_scope *scope, const char *text) {
    cffi_typeinfo info = {0};
    char err[256] = "";
    cffi_status s = cffi_type_parse(scope, text, &info, err, sizeof err);
    CHECK_MSG(s == CFFI_OK, "type \"%s\": %s: %s", text, cffi_strerror(s), err);
    return info;
}

static const cffi_field *field_named(const cffi_agg *agg, const char *name) {
    for (size_t i = 0; agg && i < agg->nfields; i++)
        if (strcmp(agg->fields[i].name, name) == 0) return &agg->fields[i];
    return NULL;
}

/* Layouts the compiler and cffi must agree on, written once for both. */
#define LAYOUTS(X)                                                                                \
    X(L1, struct { char c; int i; short s; })                                                    \
    X(L2, struct { char c; double d; })                                                          \
    X(L3, struct { char c; long long ll; char e; })                                              \
    X(L4, union { char c[5]; int i; double d; })                                                 \
    X(L5, struct { char c; struct { short s; char k; } in; float f[3]; })                        \
    X(L6, struct __attribute__((packed)) { char c; int i; double d; })                           \
    X(L7, struct { char c; int i; } __attribute__((aligned(16))))                                \
    X(L8, struct { float m[4][4]; unsigned char tag; })                                          \
    X(L9, struct { void *p; bool b; uint16_t u[3]; })                                            \
    X(L10, struct { char c; struct { char a; double b; } __attribute__((packed)) in; })

#define DECLARE(name, ...) typedef __VA_ARGS__ name;
LAYOUTS(DECLARE)

static void test_layouts(void) {
#define CHECK_LAYOUT(name, ...)                                                                   \
    do {                                                                                          \
        check_cdef_ok(NULL, "typedef " #__VA_ARGS__ " " #name ";");                            \
        cffi_typeinfo info = type_of(NULL, #name);                                               \
        CHECK_MSG(info.type == CFFI_T_AGG && info.agg, #name ": an aggregate");                  \
        CHECK_MSG(info.size == sizeof(name), #name ": size %zu, compiler %zu", info.size,         \
                  sizeof(name));                                                                  \
        CHECK_MSG(info.align == _Alignof(name), #name ": align %zu, compiler %zu", info.align,   \
                  _Alignof(name));                                                                \
    } while (0);
    LAYOUTS(CHECK_LAYOUT)
    const cffi_agg *l5 = type_of(NULL, "L5").agg;
    REQUIRE(l5 && l5->nfields == 3);
    CHECK(field_named(l5, "in")->offset == offsetof(L5, in));
    CHECK(field_named(l5, "in")->type == CFFI_T_AGG);
    CHECK(field_named(l5, "in")->agg->fields[1].offset ==
          offsetof(L5, in.k) - offsetof(L5, in));
    CHECK(field_named(l5, "f")->offset == offsetof(L5, f) && field_named(l5, "f")->count == 3);
    CHECK(field_named(l5, "f")->type == CFFI_T_FLOAT);
    const cffi_agg *l8 = type_of(NULL, "L8").agg;
    CHECK(l8 && l8->fields[0].count == 16 && l8->fields[1].offset == offsetof(L8, tag));
    CHECK(type_of(NULL, "L4").agg->is_union);
    CHECK(type_of(NULL, "L10").agg->fields[1].offset == offsetof(L10, in));
}

/* #pragma pack, the form game headers use. */
#pragma pack(push, 1)
typedef struct { char c; int i; } P1;
#pragma pack(2)
typedef struct { char c; int i; double d; } P2;
#pragma pack(pop)
typedef struct { char c; int i; } P3;

static void test_pragma_pack(void) {
    check_cdef_ok(NULL, "#pragma pack(push, 1)\n"
                        "typedef struct { char c; int i; } P1;\n"
                        "#pragma pack(2)\n"
                        "typedef struct { char c; int i; double d; } P2;\n"
                        "#pragma pack(pop)\n"
                        "typedef struct { char c; int i; } P3;\n");
    CHECK(type_of(NULL, "P1").size == sizeof(P1));
    CHECK(type_of(NULL, "P2").size == sizeof(P2) && type_of(NULL, "P2").align == _Alignof(P2));
    CHECK(type_of(NULL, "P3").size == sizeof(P3));
    /* The normal form says what the pragma did, so that it can be written inline. */
    CHECK_MSG(strstr(type_of(NULL, "P2").agg->text, "pack(2)") != NULL, "%s",
              type_of(NULL, "P2").agg->text);
    check_cdef_ok(NULL, "typedef struct { char c; int i; } __attribute__((pack(1))) P1b;");
    CHECK(type_of(NULL, "P1b").agg == type_of(NULL, "P1").agg); /* one layout, one object */
}

static void test_names(void) {
    check_cdef_ok(NULL, "typedef struct { float x, y, z; } Vec3;"
                        "struct Rect { int x, y, w, h; };"
                        "typedef struct Rect RectT, *RectP;"
                        "typedef unsigned long DWORD;"
                        "typedef int (*compare_fn)(const void *, const void *);"
                        "// a comment\n/* another */ struct Node;"
                        "typedef struct Node *NodeP;");
    CHECK(type_of(NULL, "Vec3").size == 12);
    CHECK(type_of(NULL, "struct Rect").size == 16);
    CHECK(type_of(NULL, "RectT").agg == type_of(NULL, "struct Rect").agg);
    CHECK(type_of(NULL, "RectP").type == CFFI_T_PTR);
    CHECK(type_of(NULL, "DWORD").type == (sizeof(long) == 8 ? CFFI_T_UINT64 : CFFI_T_UINT32));
    CHECK(type_of(NULL, "compare_fn").type == CFFI_T_PTR);
    CHECK(type_of(NULL, "NodeP").type == CFFI_T_PTR);
    CHECK(type_of(NULL, "struct Node *").type == CFFI_T_PTR);
    /* The same again, and completing the forward declaration, are fine. */
    check_cdef_ok(NULL, "typedef struct { float x, y, z; } Vec3; struct Rect { int x, y, w, h; };");
    check_cdef_ok(NULL, "struct Node { int value; struct Node *next; };");
    CHECK(type_of(NULL, "struct Node").size == sizeof(struct { int v; void *n; }));

    /* Names live in their scope. */
    cffi_scope *a, *b;
    REQUIRE(cffi_scope_new(&a) == CFFI_OK && cffi_scope_new(&b) == CFFI_OK);
    check_cdef_ok(a, "typedef struct { double u, v; } UV;");
    check_cdef_ok(b, "typedef struct { char tag; } UV;"); /* another meaning, another scope */
    CHECK(type_of(a, "UV").size == 16 && type_of(b, "UV").size == 1);
    cffi_typeinfo none;
    char err[256];
    CHECK(cffi_type_parse(NULL, "UV", &none, err, sizeof err) == CFFI_EBADTYPE);
    /* The process's names are not a scope's. */
    CHECK(cffi_type_parse(a, "Vec3", &none, err, sizeof err) == CFFI_EBADTYPE);
    /* A signature in a scope: the spelling is not remembered across scopes. */
    cffi_sig *sa = NULL, *sb = NULL;
    CHECK(cffi_sig_parse_in(a, "void(UV)", NULL, &sa, err, sizeof err) == (AGG_TARGET ? CFFI_OK
                                                                                    : CFFI_EUNSUPPORTED));
    CHECK(cffi_sig_parse_in(b, "void(UV)", NULL, &sb, err, sizeof err) == (AGG_TARGET ? CFFI_OK
                                                                                    : CFFI_EUNSUPPORTED));
    if (sa && sb) {
        CHECK(sa != sb);
        CHECK(cffi_sig_param_size(sa, 0) == 16 && cffi_sig_param_size(sb, 0) == 1);
    }
    cffi_sig_free(sa);
    cffi_sig_free(sb);
    cffi_scope_free(a);
    cffi_scope_free(b);
}

static void test_cdef_errors(void) {
    static const struct {
        const char *text;
        cffi_status status;
        const char *message;
    } cases[] = {
        {"typedef struct { int a; } E1", CFFI_EBADSIG,
         "col 29: expected ',' or ';' after a typedef name, found end of declarations"},
        {"typedef struct { int a; E2;", CFFI_EBADTYPE,
         "col 25: unknown type 'E2' (declare a type of your own with cdef first)"},
        {"typedef struct { int a; ", CFFI_EBADSIG,
         "col 25: expected '}' to match '{' at col 16, found end of declarations"},
        {"typedef struct { int; } E3;", CFFI_EBADSIG,
         "col 21: expected a member name, found ';'"},
        {"typedef struct { int a : 3; } E4;", CFFI_EUNSUPPORTED,
         "col 24: bit-field 'a' is not supported (declare the whole integer)"},
        {"typedef struct { int a; float a; } E5;", CFFI_EBADTYPE, "col 31: duplicate member 'a'"},
        {"typedef struct { void v; } E6;", CFFI_EBADTYPE, "col 18: member 'v' is void"},
        {"typedef struct { int f(int); } E7;", CFFI_EBADTYPE,
         "col 18: member 'f' is a function (a member can be a pointer to one)"},
        {"typedef struct { struct Missing m; } E8;", CFFI_EBADTYPE,
         "col 18: member 'm' has the incomplete type 'struct Missing' (define it first, or make "
         "the member a pointer)"},
        {"typedef struct { } E9;", CFFI_EBADTYPE, "col 16: an empty struct (it needs a member)"},
        {"typedef struct { int a[0]; } E10;", CFFI_EBADSIG,
         "col 24: expected an array size (a positive integer), found '0'"},
        {"typedef struct { int a; } __attribute__((aligned(3))) E11;", CFFI_EBADSIG,
         "col 50: expected an alignment: a power of two up to 4096, found '3'"},
        {"typedef struct { int a; } __attribute__((noinline)) E12;", CFFI_EBADSIG,
         "col 42: unsupported attribute 'noinline' (a struct takes packed, aligned(N) or "
         "pack(N))"},
        {"#pragma once\n", CFFI_EBADSIG, "col 1: only '#pragma pack(...)' lines are understood here"},
        {"#pragma pack(3)\n", CFFI_EBADSIG, "col 1: #pragma pack takes 1, 2, 4, 8, 16, 32 or 64"},
        {"int x;", CFFI_EUNSUPPORTED,
         "col 1: only typedefs and struct or union definitions can be declared here"},
        {"typedef enum { A, B } E13;", CFFI_EBADSIG, "col 14: expected a name after 'enum', found '{'"},
        {"typedef int E14[4];", CFFI_EUNSUPPORTED,
         "col 9: a typedef of an array type is not supported (make it a struct member)"},
        {"typedef struct { float x, y, z; } Vec3x; typedef struct { int i; } Vec3x;", CFFI_EBADTYPE,
         "col 68: 'Vec3x' is already defined as struct { float x; float y; float z; } (a name "
         "keeps its first meaning)"},
        {"struct Tg { int a; }; union Tg { int a; };", CFFI_EBADTYPE,
         "col 29: 'Tg' is already a struct tag"},
        {"typedef struct { int a; } /* open", CFFI_EBADSIG, "col 27: comment not closed ('*/' expected)"},
        {"typedef struct { unsigned __int128 v; } E15;", CFFI_EUNSUPPORTED,
         "col 27: '__int128': 128-bit integers are not supported; pass a struct of two 64-bit "
         "halves or a pointer"},
        {"typedef __uint128_t E16;", CFFI_EUNSUPPORTED,
         "col 9: '__uint128_t': 128-bit integers are not supported; pass a struct of two 64-bit "
         "halves or a pointer"},
        {"typedef struct { double _Complex z; } E17;", CFFI_EUNSUPPORTED,
         "col 25: '_Complex': complex types are not supported; pass a struct of the two parts or "
         "a pointer"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char err[256] = "untouched";
        cffi_status s = cffi_cdef(NULL, cases[i].text, err, sizeof err);
        CHECK_MSG(s == cases[i].status, "\"%s\": status %d (%s), expected %d", cases[i].text, s,
                  err, cases[i].status);
        CHECK_MSG(strcmp(err, cases[i].message) == 0, "\"%s\": message \"%s\", expected \"%s\"",
                  cases[i].text, err, cases[i].message);
    }
    /* All or nothing: the first typedef of a failing text is not defined. */
    char err[256];
    cffi_typeinfo info;
    CHECK(cffi_cdef(NULL, "typedef struct { int a; } Half1; typedef struct { Nope n; } Half2;", err,
                    sizeof err) == CFFI_EBADTYPE);
    CHECK(cffi_type_parse(NULL, "Half1", &info, err, sizeof err) == CFFI_EBADTYPE);
    /* A name keeps its first meaning across texts too. */
    check_cdef_ok(NULL, "typedef struct { int a; } Kept;");
    CHECK(cffi_cdef(NULL, "typedef struct { char a; } Kept;", err, sizeof err) == CFFI_EBADTYPE);
    CHECK_MSG(strstr(err, "already defined as struct { int a; }") != NULL, "%s", err);
    CHECK(cffi_cdef(NULL, NULL, err, sizeof err) == CFFI_EINVAL);
}

/* Signatures: inline bodies, interning by layout, accessors, what is refused. */
static void test_signatures(void) {
    char err[256];
    cffi_sig *a = NULL, *b = NULL;
    cffi_status sa = cffi_sig_parse("Vec3(Vec3, int)", NULL, &a, err, sizeof err);
    cffi_status sb = cffi_sig_parse("struct { float x; float y; float z; }(struct { float x, y, z; } v, int)",
                                    NULL, &b, err, sizeof err);
    if (!AGG_TARGET) {
        CHECK_MSG(sa == CFFI_EUNSUPPORTED && strstr(err, "not supported") != NULL, "%s", err);
        return;
    }
    CHECK_MSG(sa == CFFI_OK && sb == CFFI_OK, "%s", err);
    REQUIRE(a && b);
    CHECK(a == b); /* interned by layout, not by spelling */
    CHECK(strcmp(cffi_sig_text(a), "struct { float x; float y; float z; }(struct { float x; float "
                                   "y; float z; }, int)") == 0);
    CHECK(cffi_sig_param(a, 0) == CFFI_T_AGG && cffi_sig_result(a) == CFFI_T_AGG);
    CHECK(cffi_sig_param_agg(a, 0) == type_of(NULL, "Vec3").agg);
    CHECK(cffi_sig_result_agg(a) == type_of(NULL, "Vec3").agg);
    CHECK(cffi_sig_param_agg(a, 1) == NULL && cffi_sig_param_size(a, 1) == 4);
    CHECK(cffi_sig_param_size(a, 0) == 12 && cffi_sig_result_size(a) == 12);
    /* Array parameters are pointers, as in C. */
    cffi_sig *arr = check_parse("int(int v[4], float m[4][4])", NULL);
    CHECK(cffi_sig_param(arr, 0) == CFFI_T_PTR && cffi_sig_param(arr, 1) == CFFI_T_PTR);
    cffi_sig_free(arr);
    /* Frame closures and frame calls cannot place aggregates: refused, not garbage. */
    cffi_closure *c = NULL;
    CHECK(cffi_closure_new_frame(a, (cffi_frame_handler)(void (*)(void))check_cdef_ok, NULL, &c) ==
          CFFI_EUNSUPPORTED);
    CHECK(c == NULL);
    _Alignas(16) unsigned char frame[CFFI_CALL_FRAME_BYTES], stack[64];
    CHECK(cffi_call_frame(a, (void *)check_cdef_ok, frame, stack) == CFFI_EUNSUPPORTED);
    cffi_sig_free(a);
    cffi_sig_free(b);
}

/* --------------------------------------------------------------------------------------------
 * Calls and closures with game structs, against compiled functions.
 */
typedef struct { float x, y, z; } Vec3;
typedef struct { uint8_t r, g, b, a; } Color;
typedef struct { int x, y, w, h; } Rect;
typedef struct { float m[16]; } Mat4;
typedef struct { double d; int i; } Mixed;

static Vec3 vadd(Vec3 a, Vec3 b) { return (Vec3){a.x + b.x, a.y + b.y, a.z + b.z}; }
static Color blend(Color a, Color b, int k) {
    return (Color){(uint8_t)((a.r + b.r) / k), (uint8_t)((a.g + b.g) / k),
                   (uint8_t)((a.b + b.b) / k), (uint8_t)((a.a + b.a) / k)};
}
static Rect grow(Rect r, int by) { return (Rect){r.x - by, r.y - by, r.w + 2 * by, r.h + 2 * by}; }
static float trace(Mat4 m) { return m.m[0] + m.m[5] + m.m[10] + m.m[15]; }
static Mixed mix(int i, Mixed m, double d) { return (Mixed){m.d * d, m.i + i}; }

/* Handlers doing the same through the generic closure interface. */
static void h_vadd(void *ctx, void *ret, void *const *args) {
    (void)ctx;
    *(Vec3 *)ret = vadd(*(Vec3 *)args[0], *(Vec3 *)args[1]);
}
static void h_blend(void *ctx, void *ret, void *const *args) {
    (void)ctx;
    *(Color *)ret = blend(*(Color *)args[0], *(Color *)args[1], *(int *)args[2]);
}
static void h_grow(void *ctx, void *ret, void *const *args) {
    (void)ctx;
    *(Rect *)ret = grow(*(Rect *)args[0], *(int *)args[1]);
}
static void h_trace(void *ctx, void *ret, void *const *args) {
    (void)ctx;
    *(float *)ret = trace(*(Mat4 *)args[0]);
}
static void h_mix(void *ctx, void *ret, void *const *args) {
    (void)ctx;
    *(Mixed *)ret = mix(*(int *)args[0], *(Mixed *)args[1], *(double *)args[2]);
}

static void test_game_structs(void) {
    if (!AGG_TARGET) return;
    check_cdef_ok(NULL, "typedef struct { uint8_t r, g, b, a; } Color;"
                        "typedef struct { int x, y, w, h; } RectI;"
                        "typedef struct { float m[16]; } Mat4;"
                        "typedef struct { double d; int i; } Mixed;");
    Vec3 a = {1, 2, 3}, b = {0.5f, -2, 10};
    Color c1 = {10, 20, 30, 40}, c2 = {30, 40, 50, 60};
    Rect r = {5, 6, 7, 8};
    Mat4 m = {{0}};
    for (int i = 0; i < 16; i++) m.m[i] = (float)i;
    Mixed mx = {1.5, 7};
    int k = 2, by = 3, iv = 4;
    double dv = 3.0;

    struct {
        const char *text;
        void *fn;
        cffi_handler h;
        void *const *args;
        size_t rsize;
    } cases[] = {
        {"Vec3(Vec3, Vec3)", (void *)vadd, h_vadd, (void *const[]){&a, &b}, sizeof(Vec3)},
        {"Color(Color, Color, int)", (void *)blend, h_blend, (void *const[]){&c1, &c2, &k},
         sizeof(Color)},
        {"RectI(RectI, int)", (void *)grow, h_grow, (void *const[]){&r, &by}, sizeof(Rect)},
        {"float(Mat4)", (void *)trace, h_trace, (void *const[]){&m}, sizeof(float)},
        {"Mixed(int, Mixed, double)", (void *)mix, h_mix, (void *const[]){&iv, &mx, &dv},
         sizeof(Mixed)},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        cffi_sig *sig = check_parse(cases[i].text, NULL);
        unsigned char direct[64], called[64];
        memset(called, 0, sizeof called);
        /* The compiled function through cffi_call, and a closure doing the same called with the
         * compiled function's own prototype (each case below). */
        CHECK(cffi_call(sig, cases[i].fn, called, cases[i].args) == CFFI_OK);
        cffi_closure *c = NULL;
        REQUIRE(cffi_closure_new(sig, cases[i].h, NULL, &c) == CFFI_OK);
        void *code = cffi_closure_code(c);
        switch (i) {
        case 0: *(Vec3 *)direct = vadd(a, b); CHECK(memcmp(called, direct, 12) == 0);
            *(Vec3 *)called = ((Vec3(*)(Vec3, Vec3))code)(a, b); break;
        case 1: *(Color *)direct = blend(c1, c2, k); CHECK(memcmp(called, direct, 4) == 0);
            *(Color *)called = ((Color(*)(Color, Color, int))code)(c1, c2, k); break;
        case 2: *(Rect *)direct = grow(r, by); CHECK(memcmp(called, direct, 16) == 0);
            *(Rect *)called = ((Rect(*)(Rect, int))code)(r, by); break;
        case 3: *(float *)direct = trace(m); CHECK(memcmp(called, direct, 4) == 0);
            *(float *)called = ((float (*)(Mat4))code)(m); break;
        case 4: {
            Mixed want = mix(iv, mx, dv), got;
            memcpy(&got, called, sizeof got);
            CHECK(got.d == want.d && got.i == want.i);
            got = ((Mixed(*)(int, Mixed, double))code)(iv, mx, dv);
            CHECK(got.d == want.d && got.i == want.i);
            break;
        }
        }
        if (i < 4) CHECK_MSG(memcmp(called, direct, cases[i].rsize) == 0, "closure %s", cases[i].text);
        cffi_closure_free(c);
        cffi_sig_free(sig);
    }
}

int main(void) {
    test_layouts();
    test_pragma_pack();
    test_names();
    test_cdef_errors();
    test_signatures();
    test_game_structs();
    return CHECK_DONE();
}
