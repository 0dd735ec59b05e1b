/*
 * sig_grammar.c - the signature grammar: C declarators as a C compiler reads them, the type table
 * that maps C spellings to machine types on this platform, and the printer of the normal form.
 *
 * A signature is parsed into a small type tree (base types, pointers, functions) so that any C
 * declarator a user pastes - `int (*cb)(const void *, const void *)`, `char *const *`,
 * `int (__stdcall *)(int)` - is understood the way a C compiler understands it, and printed back
 * in one normal form. The tree lives only while parsing (sig.c keeps what it describes).
 *
 * Machine types come from the compiler's own facts (sizeof, CHAR_MIN), never from #if on the
 * target, so this file means the right thing on every port.
 */
#include "sig_grammar.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------------------------------
 * The type table.
 */

/* The machine type of a signed or unsigned integer of `size` bytes, as a constant expression so
 * the table below can be static. */
#define INT_TYPE(size, is_signed)                                                                 \
    ((size) == 1   ? ((is_signed) ? CFFI_T_INT8 : CFFI_T_UINT8)                                   \
     : (size) == 2 ? ((is_signed) ? CFFI_T_INT16 : CFFI_T_UINT16)                                 \
     : (size) == 4 ? ((is_signed) ? CFFI_T_INT32 : CFFI_T_UINT32)                                 \
                   : ((is_signed) ? CFFI_T_INT64 : CFFI_T_UINT64))

_Static_assert(CHAR_BIT == 8, "cffi assumes 8-bit bytes");
_Static_assert(sizeof(short) == 2 && sizeof(int) == 4, "short and int must be 16 and 32 bits");
_Static_assert(sizeof(long) == 4 || sizeof(long) == 8, "long must be 32 or 64 bits");
_Static_assert(sizeof(long long) == 8, "long long must be 64 bits");
_Static_assert(sizeof(size_t) == 4 || sizeof(size_t) == 8, "size_t must be 32 or 64 bits");
_Static_assert(sizeof(ptrdiff_t) == sizeof(size_t), "ptrdiff_t and size_t must match");
_Static_assert(sizeof(intptr_t) == sizeof(void *), "intptr_t must hold a pointer");

/* Every base type a signature can name. Order matters only for the typedef_names table. */
typedef enum base_id {
    B_VOID, B_BOOL, B_CHAR, B_SCHAR, B_UCHAR, B_SHORT, B_USHORT, B_INT, B_UINT, B_LONG, B_ULONG,
    B_LLONG, B_ULLONG, B_FLOAT, B_DOUBLE, B_LDOUBLE,
    B_INT8, B_UINT8, B_INT16, B_UINT16, B_INT32, B_UINT32, B_INT64, B_UINT64,
    B_SIZE, B_SSIZE, B_INTPTR, B_UINTPTR, B_PTRDIFF,
    B_TAG, /* struct, union or enum NAME: spelled from the node, only usable behind a pointer */
    B_COUNT
} base_id;

typedef struct base_type {
    const char *spelling; /* normal form */
    cffi_type type;
    bool supported;       /* false: a valid C type this runtime cannot pass by value yet */
} base_type;

static const base_type base_types[B_COUNT] = {
    [B_VOID] = {"void", CFFI_T_VOID, true},
    [B_BOOL] = {"bool", CFFI_T_BOOL, true},
    [B_CHAR] = {"char", INT_TYPE(1, CHAR_MIN < 0), true},
    [B_SCHAR] = {"signed char", CFFI_T_INT8, true},
    [B_UCHAR] = {"unsigned char", CFFI_T_UINT8, true},
    [B_SHORT] = {"short", INT_TYPE(sizeof(short), 1), true},
    [B_USHORT] = {"unsigned short", INT_TYPE(sizeof(short), 0), true},
    [B_INT] = {"int", INT_TYPE(sizeof(int), 1), true},
    [B_UINT] = {"unsigned int", INT_TYPE(sizeof(int), 0), true},
    [B_LONG] = {"long", INT_TYPE(sizeof(long), 1), true},
    [B_ULONG] = {"unsigned long", INT_TYPE(sizeof(long), 0), true},
    [B_LLONG] = {"long long", INT_TYPE(sizeof(long long), 1), true},
    [B_ULLONG] = {"unsigned long long", INT_TYPE(sizeof(long long), 0), true},
    [B_FLOAT] = {"float", CFFI_T_FLOAT, true},
    [B_DOUBLE] = {"double", CFFI_T_DOUBLE, true},
    [B_LDOUBLE] = {"long double", CFFI_T_VOID, false},
    [B_INT8] = {"int8_t", CFFI_T_INT8, true},
    [B_UINT8] = {"uint8_t", CFFI_T_UINT8, true},
    [B_INT16] = {"int16_t", CFFI_T_INT16, true},
    [B_UINT16] = {"uint16_t", CFFI_T_UINT16, true},
    [B_INT32] = {"int32_t", CFFI_T_INT32, true},
    [B_UINT32] = {"uint32_t", CFFI_T_UINT32, true},
    [B_INT64] = {"int64_t", CFFI_T_INT64, true},
    [B_UINT64] = {"uint64_t", CFFI_T_UINT64, true},
    [B_SIZE] = {"size_t", INT_TYPE(sizeof(size_t), 0), true},
    /* ssize_t is POSIX's signed size_t; Windows has none of its own, so define it by size_t. */
    [B_SSIZE] = {"ssize_t", INT_TYPE(sizeof(size_t), 1), true},
    [B_INTPTR] = {"intptr_t", INT_TYPE(sizeof(intptr_t), 1), true},
    [B_UINTPTR] = {"uintptr_t", INT_TYPE(sizeof(uintptr_t), 0), true},
    [B_PTRDIFF] = {"ptrdiff_t", INT_TYPE(sizeof(ptrdiff_t), 1), true},
    [B_TAG] = {NULL, CFFI_T_VOID, false},
};

/* The typedef names a signature may use: each one is its own base type and keeps its spelling. */
static const base_id typedef_names[] = {
    B_INT8, B_UINT8, B_INT16, B_UINT16, B_INT32, B_UINT32, B_INT64, B_UINT64,
    B_SIZE, B_SSIZE, B_INTPTR, B_UINTPTR, B_PTRDIFF,
};


/* ---------------------------------------------------------------------------------------------
 * Tokens.
 */
typedef enum tok_kind {
    TK_END, TK_IDENT, TK_NUMBER, TK_LPAREN, TK_RPAREN, TK_STAR, TK_COMMA, TK_ELLIPSIS
} tok_kind;

/* What an identifier means to the grammar. */
typedef enum keyword {
    KW_NONE, /* a name, or an unknown type */
    KW_VOID, KW_BOOL, KW_CHAR, KW_SHORT, KW_INT, KW_LONG, KW_SIGNED, KW_UNSIGNED, KW_FLOAT,
    KW_DOUBLE, KW_TYPEDEF, KW_STRUCT, KW_UNION, KW_ENUM,
    KW_CONST, KW_VOLATILE, KW_RESTRICT,
    KW_CONV,      /* __stdcall, WINAPI, ...: conv holds the convention it names */
    KW_ATTRIBUTE, /* __attribute__ */
} keyword;

struct token {
    tok_kind kind;
    keyword kw;
    const char *start;
    size_t len;
    size_t col;       /* 1-based */
    base_id typedef_base;
    const char *conv; /* for KW_CONV */
};

static const struct {
    const char *word;
    keyword kw;
} keywords[] = {
    {"void", KW_VOID},         {"bool", KW_BOOL},         {"_Bool", KW_BOOL},
    {"char", KW_CHAR},         {"short", KW_SHORT},       {"int", KW_INT},
    {"long", KW_LONG},         {"signed", KW_SIGNED},     {"__signed", KW_SIGNED},
    {"__signed__", KW_SIGNED}, {"unsigned", KW_UNSIGNED}, {"float", KW_FLOAT},
    {"double", KW_DOUBLE},     {"struct", KW_STRUCT},     {"union", KW_UNION},
    {"enum", KW_ENUM},         {"const", KW_CONST},       {"__const", KW_CONST},
    {"volatile", KW_VOLATILE}, {"__volatile", KW_VOLATILE}, {"__volatile__", KW_VOLATILE},
    {"restrict", KW_RESTRICT}, {"__restrict", KW_RESTRICT}, {"__restrict__", KW_RESTRICT},
    {"__attribute__", KW_ATTRIBUTE}, {"__attribute", KW_ATTRIBUTE},
};

/* The Windows SDK's convention macros (and UEFI's), as users paste them from headers. */
static const struct {
    const char *macro;
    const char *conv;
} convention_macros[] = {
    {"WINAPI", "stdcall"}, {"CALLBACK", "stdcall"}, {"APIENTRY", "stdcall"},
    {"WINAPIV", "cdecl"},  {"EFIAPI", "efiapi"},
};

static bool span_is(const char *s, size_t len, const char *word) {
    return strlen(word) == len && memcmp(s, word, len) == 0;
}

static void classify(token *t) {
    t->kw = KW_NONE;
    for (size_t i = 0; i < sizeof keywords / sizeof *keywords; i++)
        if (span_is(t->start, t->len, keywords[i].word)) {
            t->kw = keywords[i].kw;
            return;
        }
    for (size_t i = 0; i < sizeof typedef_names / sizeof *typedef_names; i++)
        if (span_is(t->start, t->len, base_types[typedef_names[i]].spelling)) {
            t->kw = KW_TYPEDEF;
            t->typedef_base = typedef_names[i];
            return;
        }
    for (size_t i = 0; i < sizeof convention_macros / sizeof *convention_macros; i++)
        if (span_is(t->start, t->len, convention_macros[i].macro)) {
            t->kw = KW_CONV;
            t->conv = convention_macros[i].conv;
            return;
        }
    /* In C text a convention keyword carries leading underscores (__stdcall, MSVC's old _cdecl);
     * the bare word would be an ordinary identifier. */
    if (t->len > 1 && t->start[0] == '_') {
        const char *name = t->start;
        size_t len = t->len;
        while (len > 0 && *name == '_') name++, len--;
        if (len == t->len || len < 2 || t->len - len > 2) return;
        t->conv = cffi_conv_keyword(name, len);
        if (t->conv) t->kw = KW_CONV;
    }
}

static bool is_ident_start(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
static bool is_ident_char(char c) { return is_ident_start(c) || (c >= '0' && c <= '9'); }
static bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* ---------------------------------------------------------------------------------------------
 * The parse tree, kept in one list of blocks freed together when the parse ends.
 */
typedef enum node_kind { N_BASE, N_PTR, N_FUNC } node_kind;

enum { Q_CONST = 1, Q_VOLATILE = 2 };

struct node {
    node_kind kind;
    unsigned quals;
    size_t col;           /* where the type's spelling starts, for messages */
    base_id base;         /* N_BASE */
    const token *tag;     /* N_BASE with B_TAG: the struct/union/enum keyword; tag[1] the name */
    node *target;         /* N_PTR: pointee; N_FUNC: return type */
    node **params;        /* N_FUNC */
    size_t nparams;
    size_t varargs_col;   /* N_FUNC: nonzero if the list ends in "..." */
};

typedef struct block {
    struct block *next;
    max_align_t data[];
} block;


static void *parser_alloc(cffi_sig_parser *p, size_t size) {
    block *b = calloc(1, sizeof *b + size);
    if (!b) {
        if (p->status == CFFI_OK) p->status = CFFI_ENOMEM;
        return NULL;
    }
    b->next = p->blocks;
    p->blocks = b;
    return b->data;
}

static node *new_node(cffi_sig_parser *p, node_kind kind, size_t col) {
    node *n = parser_alloc(p, sizeof *n);
    if (n) {
        n->kind = kind;
        n->col = col;
    }
    return n;
}

static const token *tok(const cffi_sig_parser *p) { return &p->toks[p->pos]; }
static const token *peek(const cffi_sig_parser *p, size_t ahead) {
    const token *t = &p->toks[p->pos];
    for (size_t i = 0; i < ahead && t->kind != TK_END; i++) t++;
    return t;
}

/* Record the first failure as "col N: <what>, found '<token>'" (or "found end of signature"). */
static void fail_expected(cffi_sig_parser *p, cffi_status s, const token *at, const char *what) {
    if (p->status != CFFI_OK) return;
    p->status = s;
    if (at->kind == TK_END)
        cffi_errorf(p->errbuf, p->errlen, "col %zu: %s, found end of signature", at->col, what);
    else
        cffi_errorf(p->errbuf, p->errlen, "col %zu: %s, found '%.*s'", at->col, what,
                    (int)(at->len > 40 ? 40 : at->len), at->start);
}

/* Record the first failure as "col N: <message>". */
static void fail_at(cffi_sig_parser *p, cffi_status s, size_t col, const char *fmt, ...)
    CFFI_PRINTF_LIKE(4, 5);
static void fail_at(cffi_sig_parser *p, cffi_status s, size_t col, const char *fmt, ...) {
    if (p->status != CFFI_OK) return;
    p->status = s;
    char what[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    cffi_errorf(p->errbuf, p->errlen, "col %zu: %s", col, what);
}

static bool tokenize(cffi_sig_parser *p) {
    size_t len = strlen(p->text);
    p->toks = calloc(len + 1, sizeof *p->toks); /* never more tokens than bytes, plus the end */
    if (!p->toks) {
        p->status = CFFI_ENOMEM;
        return false;
    }
    size_t n = 0, i = 0;
    for (;;) {
        while (i < len && is_space(p->text[i])) i++;
        token *t = &p->toks[n++];
        t->start = p->text + i;
        t->col = i + 1;
        if (i == len) {
            t->kind = TK_END;
            return true;
        }
        char c = p->text[i];
        if (is_ident_start(c)) {
            size_t j = i;
            while (j < len && is_ident_char(p->text[j])) j++;
            t->kind = TK_IDENT;
            t->len = j - i;
            classify(t);
            i = j;
            continue;
        }
        if (c >= '0' && c <= '9') {
            /* Numbers have no place in a signature, but lexing them lets the parser say what it
             * expected there instead of complaining about a character. */
            size_t j = i;
            while (j < len && is_ident_char(p->text[j])) j++;
            t->kind = TK_NUMBER;
            t->len = j - i;
            i = j;
            continue;
        }
        t->len = 1;
        switch (c) {
        case '(': t->kind = TK_LPAREN; break;
        case ')': t->kind = TK_RPAREN; break;
        case '*': t->kind = TK_STAR; break;
        case ',': t->kind = TK_COMMA; break;
        case '.':
            if (i + 3 <= len && strncmp(p->text + i, "...", 3) == 0) {
                t->kind = TK_ELLIPSIS;
                t->len = 3;
                break;
            }
            /* fall through */
        default:
            if ((unsigned char)c >= 0x20 && (unsigned char)c < 0x7f)
                fail_at(p, CFFI_EBADSIG, i + 1, "unexpected character '%c'", c);
            else
                fail_at(p, CFFI_EBADSIG, i + 1, "unexpected byte 0x%02x", (unsigned char)c);
            return false;
        }
        i += t->len;
    }
}

/* ---------------------------------------------------------------------------------------------
 * Conventions written in the text.
 */

/* Note that the text names convention `name` at token `at` (written as word). Only conventions
 * outside every parameter list describe the signature; one inside belongs to a function-pointer
 * parameter, which is just a pointer here. */
static void note_convention(cffi_sig_parser *p, const char *name, const token *at, const char *word,
                            size_t word_len) {
    if (p->depth > 0 || p->status != CFFI_OK) return;
    const char *canonical = cffi_conv_canonical_of(name, strlen(name));
    if (!canonical) {
        char prefix[32];
        snprintf(prefix, sizeof prefix, "col %zu: ", at->col);
        p->status = CFFI_EBADCONV;
        cffi_conv_unknown_error(p->errbuf, p->errlen, prefix, word, word_len);
        return;
    }
    if (p->conv && strcmp(p->conv, canonical) != 0) {
        fail_at(p, CFFI_ECONVCLASH, at->col,
                "calling convention '%.*s' (%s here) disagrees with '%.*s' (%s here) at col %zu",
                (int)word_len, word, canonical, (int)p->conv_word_len, p->conv_word, p->conv,
                p->conv_col);
        return;
    }
    if (!p->conv) {
        p->conv = canonical;
        p->conv_col = at->col;
        p->conv_word = word;
        p->conv_word_len = word_len;
    }
}

/* GCC attributes that name a convention, with or without the __x__ wrapping. */
static const struct {
    const char *attribute;
    const char *conv;
} convention_attributes[] = {
    {"cdecl", "cdecl"},       {"stdcall", "stdcall"}, {"fastcall", "fastcall"},
    {"thiscall", "thiscall"}, {"ms_abi", "win64"},    {"sysv_abi", "sysv64"},
    {"vectorcall", "vectorcall"},
};

/* __attribute__((a, b)) with the current token on __attribute__. Only calling-convention
 * attributes are accepted: silently dropping one such as regparm would change the ABI. */
static void parse_attribute(cffi_sig_parser *p) {
    p->pos++;
    for (int i = 0; i < 2; i++) {
        if (tok(p)->kind != TK_LPAREN) {
            fail_expected(p, CFFI_EBADSIG, tok(p), "expected '((' after __attribute__");
            return;
        }
        p->pos++;
    }
    while (tok(p)->kind == TK_IDENT) {
        const token *t = tok(p);
        const char *name = t->start;
        size_t len = t->len;
        if (len > 4 && name[0] == '_' && name[1] == '_' && name[len - 1] == '_' &&
            name[len - 2] == '_')
            name += 2, len -= 4;
        const char *conv = NULL;
        for (size_t i = 0; i < sizeof convention_attributes / sizeof *convention_attributes; i++)
            if (span_is(name, len, convention_attributes[i].attribute))
                conv = convention_attributes[i].conv;
        if (!conv) {
            fail_at(p, CFFI_EBADSIG, t->col, "unsupported attribute '%.*s'", (int)t->len,
                    t->start);
            return;
        }
        note_convention(p, conv, t, t->start, t->len);
        p->pos++;
        if (tok(p)->kind != TK_COMMA) break;
        p->pos++;
    }
    for (int i = 0; i < 2; i++) {
        if (tok(p)->kind != TK_RPAREN) {
            fail_expected(p, CFFI_EBADSIG, tok(p), i ? "expected '))' to close __attribute__"
                                                     : "expected ',' or '))' in __attribute__");
            return;
        }
        p->pos++;
    }
}

/* Consume a convention keyword or attribute at the current token, if there is one. */
static bool take_convention(cffi_sig_parser *p) {
    const token *t = tok(p);
    if (t->kind != TK_IDENT) return false;
    if (t->kw == KW_CONV) {
        note_convention(p, t->conv, t, t->start, t->len);
        p->pos++;
        return true;
    }
    if (t->kw == KW_ATTRIBUTE) {
        parse_attribute(p);
        return true;
    }
    return false;
}

/* ---------------------------------------------------------------------------------------------
 * Declaration specifiers: `const unsigned long int`, `struct foo`, `size_t`.
 */
typedef struct specs {
    int n_void, n_bool, n_char, n_short, n_int, n_long, n_signed, n_unsigned, n_float, n_double;
    int n_typedef, n_tag;
    base_id typedef_base;
    const token *tag;
} specs;

static int spec_total(const specs *s) {
    return s->n_void + s->n_bool + s->n_char + s->n_short + s->n_int + s->n_long + s->n_signed +
           s->n_unsigned + s->n_float + s->n_double + s->n_typedef + s->n_tag;
}

/* Whether s is a valid type or can still become one by adding keywords, as C allows them in any
 * order ("long unsigned int long" is "unsigned long long"). */
static bool specs_consistent(const specs *s) {
    int total = spec_total(s);
    int alone = s->n_void + s->n_bool + s->n_float + s->n_typedef + s->n_tag;
    if (alone) return total == 1;
    if (s->n_double) return s->n_double == 1 && total == 1 + s->n_long && s->n_long <= 1;
    if (s->n_signed + s->n_unsigned > 1) return false;
    if (s->n_char) return s->n_char == 1 && s->n_short + s->n_int + s->n_long == 0;
    if (s->n_short > 1 || s->n_int > 1 || s->n_long > 2) return false;
    return !(s->n_short && s->n_long);
}

static base_id specs_base(const specs *s) {
    if (s->n_void) return B_VOID;
    if (s->n_bool) return B_BOOL;
    if (s->n_float) return B_FLOAT;
    if (s->n_double) return s->n_long ? B_LDOUBLE : B_DOUBLE;
    if (s->n_typedef) return s->typedef_base;
    if (s->n_tag) return B_TAG;
    bool uns = s->n_unsigned > 0;
    if (s->n_char) return s->n_signed ? B_SCHAR : uns ? B_UCHAR : B_CHAR;
    if (s->n_short) return uns ? B_USHORT : B_SHORT;
    if (s->n_long == 2) return uns ? B_ULLONG : B_LLONG;
    if (s->n_long == 1) return uns ? B_ULONG : B_LONG;
    return uns ? B_UINT : B_INT;
}

/* Try to add type keyword t to s; false (s unchanged) if C would not combine them. */
static bool specs_add(specs *s, const token *t) {
    specs next = *s;
    switch (t->kw) {
    case KW_VOID: next.n_void++; break;
    case KW_BOOL: next.n_bool++; break;
    case KW_CHAR: next.n_char++; break;
    case KW_SHORT: next.n_short++; break;
    case KW_INT: next.n_int++; break;
    case KW_LONG: next.n_long++; break;
    case KW_SIGNED: next.n_signed++; break;
    case KW_UNSIGNED: next.n_unsigned++; break;
    case KW_FLOAT: next.n_float++; break;
    case KW_DOUBLE: next.n_double++; break;
    case KW_TYPEDEF:
        next.n_typedef++;
        next.typedef_base = t->typedef_base;
        break;
    default: return false;
    }
    if (!specs_consistent(&next)) return false;
    *s = next;
    return true;
}

/* Parse specifiers into a base node. what names the type in messages ("a return type"). */
static node *parse_specifiers(cffi_sig_parser *p, const char *what) {
    specs s = {0};
    unsigned quals = 0;
    size_t col = 0; /* of the first type keyword */
    for (;;) {
        const token *t = tok(p);
        if (t->kind != TK_IDENT) break;
        if (t->kw == KW_CONST || t->kw == KW_VOLATILE || t->kw == KW_RESTRICT) {
            quals |= t->kw == KW_CONST ? Q_CONST : t->kw == KW_VOLATILE ? Q_VOLATILE : 0;
            p->pos++;
            continue;
        }
        if (t->kw == KW_CONV || t->kw == KW_ATTRIBUTE) {
            take_convention(p);
            if (p->status != CFFI_OK) return NULL;
            continue;
        }
        if (t->kw == KW_STRUCT || t->kw == KW_UNION || t->kw == KW_ENUM) {
            if (spec_total(&s)) break;
            const token *name = t + 1;
            if (name->kind != TK_IDENT || name->kw != KW_NONE) {
                char expected[48];
                snprintf(expected, sizeof expected, "expected a name after '%.*s'", (int)t->len,
                         t->start);
                fail_expected(p, CFFI_EBADSIG, name, expected);
                return NULL;
            }
            s.n_tag = 1;
            s.tag = t;
            col = t->col;
            p->pos += 2;
            continue;
        }
        if (t->kw == KW_NONE) {
            if (spec_total(&s)) break; /* a parameter or function name */
            fail_at(p, CFFI_EBADTYPE, t->col, "unknown type '%.*s'", (int)t->len, t->start);
            return NULL;
        }
        if (!specs_add(&s, t)) break; /* "int int": the caller reports what it expected */
        if (!col) col = t->col;
        p->pos++;
    }
    if (!spec_total(&s)) {
        char expected[64];
        snprintf(expected, sizeof expected, "expected %s", what);
        fail_expected(p, CFFI_EBADSIG, tok(p), expected);
        return NULL;
    }
    node *n = new_node(p, N_BASE, col);
    if (!n) return NULL;
    n->base = specs_base(&s);
    n->tag = s.tag;
    n->quals = quals;
    return n;
}

/* ---------------------------------------------------------------------------------------------
 * Declarators: pointers, parenthesized declarators and parameter lists, as C reads them.
 *
 * Parsing and printing recurse once per nesting level and per pointer, so both are bounded:
 * a text from a script must not be able to exhaust the stack.
 */
#define MAX_NESTING 32
#define MAX_POINTERS 16

static bool enter_nesting(cffi_sig_parser *p, const token *at) {
    if (++p->nesting <= MAX_NESTING) return true;
    fail_at(p, CFFI_EBADSIG, at->col, "declarator nested too deeply (at most %d levels)",
            MAX_NESTING);
    return false;
}
static node *parse_declarator(cffi_sig_parser *p, node *type);

static node *parse_declaration(cffi_sig_parser *p, const char *what) {
    node *base = parse_specifiers(p, what);
    if (!base) return NULL;
    return parse_declarator(p, base);
}

/* The top-level qualifiers of a parameter or result are not part of a function's type. */
static void drop_top_qualifiers(node *n) { n->quals = 0; }

/* "(params)" with the current token on '(' . */
static node **parse_params(cffi_sig_parser *p, size_t *count, size_t *varargs_col) {
    *count = 0;
    *varargs_col = 0;
    if (!enter_nesting(p, tok(p))) return NULL;
    p->pos++;
    p->depth++;
    node **params = parser_alloc(p, (CFFI_MAX_PARAMS + 1) * sizeof *params);
    if (!params) return NULL;
    /* "()" and "(void)" both mean no parameters. */
    if (tok(p)->kind == TK_RPAREN) {
        p->pos++;
        p->depth--;
        p->nesting--;
        return params;
    }
    if (tok(p)->kw == KW_VOID && tok(p)->kind == TK_IDENT && peek(p, 1)->kind == TK_RPAREN) {
        p->pos += 2;
        p->depth--;
        p->nesting--;
        return params;
    }
    for (;;) {
        const token *start = tok(p);
        if (start->kind == TK_ELLIPSIS && *count > 0) {
            *varargs_col = start->col;
            p->pos++;
            if (tok(p)->kind != TK_RPAREN) {
                fail_expected(p, CFFI_EBADSIG, tok(p), "expected ')' after '...'");
                return NULL;
            }
            p->pos++;
            break;
        }
        if (*count == CFFI_MAX_PARAMS) {
            fail_at(p, CFFI_ETOOMANY, start->col, "too many parameters, at most %d are supported",
                    CFFI_MAX_PARAMS);
            return NULL;
        }
        node *param = parse_declaration(p, "a parameter type");
        if (!param) return NULL;
        if (param->kind == N_FUNC) {
            /* A parameter of function type is a function pointer, as in C. */
            node *ptr = new_node(p, N_PTR, param->col);
            if (!ptr) return NULL;
            ptr->target = param;
            param = ptr;
        }
        if (param->kind == N_BASE && param->base == B_VOID) {
            fail_at(p, CFFI_EBADTYPE, param->col,
                    "'void' is not a parameter type (only '(void)' alone means no parameters)");
            return NULL;
        }
        drop_top_qualifiers(param);
        params[(*count)++] = param;
        if (tok(p)->kind == TK_COMMA) {
            p->pos++;
            continue;
        }
        if (tok(p)->kind == TK_RPAREN) {
            p->pos++;
            break;
        }
        fail_expected(p, CFFI_EBADSIG, tok(p), "expected ',' or ')'");
        return NULL;
    }
    p->depth--;
    p->nesting--;
    return params;
}

/* Parameter-list suffixes after a declarator's core: `(int, int)`. */
static node *parse_suffixes(cffi_sig_parser *p, node *type) {
    while (tok(p)->kind == TK_LPAREN) {
        if (type->kind == N_FUNC) {
            fail_at(p, CFFI_EBADSIG, tok(p)->col, "a function cannot return a function");
            return NULL;
        }
        node *fn = new_node(p, N_FUNC, type->col);
        if (!fn) return NULL;
        drop_top_qualifiers(type);
        fn->target = type;
        fn->params = parse_params(p, &fn->nparams, &fn->varargs_col);
        if (!fn->params) return NULL;
        type = fn;
    }
    return type;
}

/* Whether the '(' at the current token opens a parenthesized declarator such as `(*)` or
 * `(__stdcall *name)` rather than a parameter list. */
static bool opens_declarator(const cffi_sig_parser *p) {
    const token *next = peek(p, 1);
    return next->kind == TK_STAR || next->kind == TK_LPAREN ||
           (next->kind == TK_IDENT && (next->kw == KW_CONV || next->kw == KW_ATTRIBUTE));
}

static node *parse_declarator(cffi_sig_parser *p, node *type) {
    /* Pointers, each with its own qualifiers; conventions may sit between them (MSVC writes
     * `int (__stdcall *)(int)`, GCC accepts attributes there too). */
    for (size_t pointers = 0;;) {
        if (take_convention(p)) {
            if (p->status != CFFI_OK) return NULL;
            continue;
        }
        if (tok(p)->kind != TK_STAR) break;
        if (++pointers > MAX_POINTERS) {
            fail_at(p, CFFI_EBADSIG, tok(p)->col, "too many '*' (at most %d in a row)",
                    MAX_POINTERS);
            return NULL;
        }
        node *ptr = new_node(p, N_PTR, type->col);
        if (!ptr) return NULL;
        ptr->target = type;
        type = ptr;
        p->pos++;
        while (tok(p)->kind == TK_IDENT &&
               (tok(p)->kw == KW_CONST || tok(p)->kw == KW_VOLATILE || tok(p)->kw == KW_RESTRICT)) {
            type->quals |= tok(p)->kw == KW_CONST      ? Q_CONST
                           : tok(p)->kw == KW_VOLATILE ? Q_VOLATILE
                                                       : 0;
            p->pos++;
        }
    }
    if (tok(p)->kind == TK_LPAREN && opens_declarator(p)) {
        /* C reads `T (D)(params)` inside out: the suffixes after the parentheses apply to T
         * first, and D then applies to that. Skip over D, parse the suffixes, come back. */
        const token *open = tok(p);
        if (!enter_nesting(p, open)) return NULL;
        size_t inner = p->pos + 1, level = 0;
        do {
            const token *t = tok(p);
            if (t->kind == TK_END) {
                char expected[64];
                snprintf(expected, sizeof expected, "expected ')' to match '(' at col %zu",
                         open->col);
                fail_expected(p, CFFI_EBADSIG, t, expected);
                return NULL;
            }
            if (t->kind == TK_LPAREN) level++;
            if (t->kind == TK_RPAREN) level--;
            p->pos++;
        } while (level > 0);
        type = parse_suffixes(p, type);
        if (!type) return NULL;
        size_t after = p->pos;
        p->pos = inner;
        type = parse_declarator(p, type);
        if (!type) return NULL;
        if (tok(p)->kind != TK_RPAREN) {
            fail_expected(p, CFFI_EBADSIG, tok(p), "expected ')'");
            return NULL;
        }
        p->nesting--;
        p->pos = after;
        return type;
    }
    if (tok(p)->kind == TK_IDENT && tok(p)->kw == KW_NONE) p->pos++; /* the declared name */
    return parse_suffixes(p, type);
}

/* ---------------------------------------------------------------------------------------------
 * Printing the normal form: C's declarator syntax, built inside out around an "inner" text.
 */
typedef struct strbuf {
    char *data;
    size_t len, cap;
    bool failed;
} strbuf;

static void sb_addn(strbuf *b, const char *s, size_t n) {
    if (b->failed) return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + n + 1) cap *= 2;
        char *data = realloc(b->data, cap);
        if (!data) {
            b->failed = true;
            return;
        }
        b->data = data;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

static void sb_add(strbuf *b, const char *s) { sb_addn(b, s, strlen(s)); }

static void print_params(strbuf *out, const node *fn);

/* Append type t declaring `inner` (already-built declarator text) to out. space: whether a
 * space separates the base type from a non-empty inner; only the signature's own parameter list
 * sits right against its result type ("int(int)"). */
static void print_type(strbuf *out, const node *t, const char *inner, size_t inner_len,
                       bool space) {
    strbuf wrapped = {0};
    switch (t->kind) {
    case N_BASE:
        if (t->quals & Q_CONST) sb_add(out, "const ");
        if (t->quals & Q_VOLATILE) sb_add(out, "volatile ");
        if (t->base == B_TAG) {
            sb_addn(out, t->tag[0].start, t->tag[0].len);
            sb_add(out, " ");
            sb_addn(out, t->tag[1].start, t->tag[1].len);
        } else {
            sb_add(out, base_types[t->base].spelling);
        }
        if (inner_len) {
            if (space) sb_add(out, " ");
            sb_addn(out, inner, inner_len);
        }
        return;
    case N_PTR:
        if (t->target->kind == N_FUNC) sb_add(&wrapped, "(");
        sb_add(&wrapped, "*");
        if (t->quals & Q_CONST) sb_add(&wrapped, "const");
        if (t->quals & Q_VOLATILE) sb_add(&wrapped, t->quals & Q_CONST ? " volatile" : "volatile");
        if (t->quals && inner_len) sb_add(&wrapped, " ");
        sb_addn(&wrapped, inner, inner_len);
        if (t->target->kind == N_FUNC) sb_add(&wrapped, ")");
        break;
    case N_FUNC:
        sb_addn(&wrapped, inner, inner_len);
        print_params(&wrapped, t);
        break;
    }
    if (wrapped.failed) out->failed = true;
    else print_type(out, t->target, wrapped.data, wrapped.len, true);
    free(wrapped.data);
}

static void print_params(strbuf *out, const node *fn) {
    sb_add(out, "(");
    if (fn->nparams == 0) sb_add(out, "void");
    for (size_t i = 0; i < fn->nparams; i++) {
        if (i) sb_add(out, ", ");
        print_type(out, fn->params[i], "", 0, true);
    }
    if (fn->varargs_col) sb_add(out, ", ...");
    sb_add(out, ")");
}

/* ---------------------------------------------------------------------------------------------
 * From the tree to machine types.
 */

/* The machine type of a parameter or result, or a failure recorded in p. */
static cffi_type machine_type(cffi_sig_parser *p, const node *t) {
    if (t->kind == N_PTR) {
        /* One level of pointer to exactly `const char` or `const void` gets its own type: the Lua
         * binding reads the first as a string and lets the second take one. */
        const node *to = t->target;
        if (to->kind == N_BASE && to->quals == Q_CONST) {
            if (to->base == B_CHAR) return CFFI_T_CSTR;
            if (to->base == B_VOID) return CFFI_T_CPTR;
        }
        return CFFI_T_PTR;
    }
    if (t->base == B_TAG) {
        fail_at(p, CFFI_EBADTYPE, t->col,
                "'%.*s %.*s' by value is not supported yet (pass a pointer)",
                (int)t->tag[0].len, t->tag[0].start, (int)t->tag[1].len, t->tag[1].start);
        return CFFI_T_VOID;
    }
    if (!base_types[t->base].supported) {
        fail_at(p, CFFI_EBADTYPE, t->col, "'%s' is not supported yet",
                base_types[t->base].spelling);
        return CFFI_T_VOID;
    }
    return base_types[t->base].type;
}

/* ---------------------------------------------------------------------------------------------
 * What a parsed signature describes: machine types and normal texts.
 */
void cffi_sig_desc_release(cffi_sig_desc *d) {
    free(d->strings);
    free(d->param_texts);
    free(d->params);
    *d = (cffi_sig_desc){0};
}

cffi_status cffi_sig_grammar_describe(cffi_sig_parser *p, const node *fn, cffi_sig_desc *d) {
    *d = (cffi_sig_desc){0};
    cffi_type result = machine_type(p, fn->target);
    cffi_type *params = calloc(fn->nparams ? fn->nparams : 1, sizeof *params);
    if (!params) return CFFI_ENOMEM;
    for (size_t i = 0; i < fn->nparams && p->status == CFFI_OK; i++)
        params[i] = machine_type(p, fn->params[i]);
    if (p->status != CFFI_OK) {
        free(params);
        return p->status;
    }

    /* texts: "<result>(<params>)\0<result>\0<param 0>\0<param 1>\0..." */
    strbuf texts = {0};
    strbuf list = {0};
    print_params(&list, fn);
    if (list.failed)
        texts.failed = true; /* else the normal form would be empty */
    else
        print_type(&texts, fn->target, list.data, list.len, false);
    free(list.data);
    size_t *starts = calloc(fn->nparams + 1, sizeof *starts);
    if (!starts) texts.failed = true;
    sb_addn(&texts, "", 1);
    if (starts) starts[0] = texts.len;
    print_type(&texts, fn->target, "", 0, true);
    for (size_t i = 0; i < fn->nparams && starts; i++) {
        sb_addn(&texts, "", 1);
        starts[i + 1] = texts.len;
        print_type(&texts, fn->params[i], "", 0, true);
    }
    const char **param_texts = calloc(fn->nparams ? fn->nparams : 1, sizeof *param_texts);
    if (texts.failed || !param_texts) {
        free(texts.data);
        free(starts);
        free(param_texts);
        free(params);
        return CFFI_ENOMEM;
    }
    d->strings = texts.data;
    d->result_text = texts.data + starts[0];
    for (size_t i = 0; i < fn->nparams; i++) param_texts[i] = texts.data + starts[i + 1];
    free(starts);
    d->param_texts = param_texts;
    d->params = params;
    d->nparams = fn->nparams;
    d->result = result;
    return CFFI_OK;
}

/* Parse text into p; on success returns the signature's function node and sets p->conv to the
 * canonical convention written in the text, if any. */
const node *cffi_sig_grammar_parse(cffi_sig_parser *p) {
    if (!tokenize(p)) return NULL;
    if (tok(p)->kind == TK_END) {
        fail_expected(p, CFFI_EBADSIG, tok(p), "expected a return type");
        return NULL;
    }
    node *type = parse_declaration(p, "a return type");
    if (!type) return NULL;
    while (take_convention(p))
        if (p->status != CFFI_OK) return NULL;
    const node *fn = type->kind == N_FUNC                                   ? type
                     : type->kind == N_PTR && type->target->kind == N_FUNC ? type->target
                                                                            : NULL;
    if (!fn) {
        if (type->kind == N_PTR && type->target->kind == N_PTR &&
            type->target->target->kind == N_FUNC)
            fail_at(p, CFFI_EBADSIG, type->col,
                    "a pointer to a function pointer is not a signature");
        else
            fail_expected(p, CFFI_EBADSIG, tok(p), "expected '(' after the return type");
        return NULL;
    }
    if (tok(p)->kind != TK_END) {
        fail_expected(p, CFFI_EBADSIG, tok(p), "expected end of signature");
        return NULL;
    }
    if (fn->varargs_col) {
        fail_at(p, CFFI_EBADSIG, fn->varargs_col,
                "variadic functions ('...') are not supported yet");
        return NULL;
    }
    return fn;
}

void cffi_sig_grammar_release(cffi_sig_parser *p) {
    for (block *b = p->blocks, *next; b; b = next) {
        next = b->next;
        free(b);
    }
    p->blocks = NULL;
    free(p->toks);
    p->toks = NULL;
}
