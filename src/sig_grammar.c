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
    B_NAMED, /* a struct or union body, or a name from a scope: the node carries what it means */
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
    /* Where long double is double (MSVC's, 32-bit ARM's), it is passed as one. */
    [B_LDOUBLE] = {"long double",
                   sizeof(long double) > sizeof(double) ? CFFI_T_LDOUBLE : CFFI_T_DOUBLE, true},
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
    [B_NAMED] = {NULL, CFFI_T_VOID, false},
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
    TK_END, TK_IDENT, TK_NUMBER, TK_LPAREN, TK_RPAREN, TK_STAR, TK_COMMA, TK_ELLIPSIS,
    TK_LBRACE, TK_RBRACE, TK_SEMI, TK_LBRACKET, TK_RBRACKET, TK_COLON,
    TK_PRAGMA_PACK /* a whole `#pragma pack(...)` line: pack_op and pack_value say what */
} tok_kind;

enum pack_op { PACK_SET, PACK_PUSH, PACK_POP };

/* What an identifier means to the grammar. */
typedef enum keyword {
    KW_NONE, /* a name, or an unknown type */
    KW_VOID, KW_BOOL, KW_CHAR, KW_SHORT, KW_INT, KW_LONG, KW_SIGNED, KW_UNSIGNED, KW_FLOAT,
    KW_DOUBLE, KW_TYPEDEF, KW_STRUCT, KW_UNION, KW_ENUM,
    KW_TYPEDEF_DECL, /* the word `typedef` (KW_TYPEDEF is a built-in typedef name: size_t) */
    KW_CONST, KW_VOLATILE, KW_RESTRICT,
    KW_CONV,      /* __stdcall, WINAPI, ...: conv holds the convention it names */
    KW_ATTRIBUTE, /* __attribute__ */
    KW_REFUSED,   /* a type the compilers know and cffi does not carry: refused_types says why */
} keyword;

struct token {
    tok_kind kind;
    keyword kw;
    const char *start;
    size_t len;
    size_t col;       /* 1-based */
    base_id typedef_base;
    const char *conv; /* for KW_CONV: the convention; for KW_REFUSED: why */
    enum pack_op pack_op; /* TK_PRAGMA_PACK */
    unsigned pack_value;  /* TK_PRAGMA_PACK: 0 for "back to none" */
    bool pack_has_value;
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
    {"typedef", KW_TYPEDEF_DECL},
};

/* Types a C header may well contain that no convention table of cffi's places, refused by name
 * with what to do instead (rather than as an unknown name). */
static const struct {
    const char *word;
    const char *why;
} refused_types[] = {
    {"__int128", "128-bit integers are not supported; pass a struct of two 64-bit halves or a "
                 "pointer"},
    {"__int128_t", "128-bit integers are not supported; pass a struct of two 64-bit halves or a "
                   "pointer"},
    {"__uint128_t", "128-bit integers are not supported; pass a struct of two 64-bit halves or a "
                    "pointer"},
    {"__float128", "128-bit floating types are not supported; pass a pointer"},
    {"_Float128", "128-bit floating types are not supported; pass a pointer"},
    {"_Complex", "complex types are not supported; pass a struct of the two parts or a pointer"},
    {"__complex__", "complex types are not supported; pass a struct of the two parts or a "
                    "pointer"},
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
    for (size_t i = 0; i < sizeof refused_types / sizeof *refused_types; i++)
        if (span_is(t->start, t->len, refused_types[i].word)) {
            t->kw = KW_REFUSED;
            t->conv = refused_types[i].why;
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
typedef enum node_kind { N_BASE, N_PTR, N_FUNC, N_ARRAY } node_kind;

enum { Q_CONST = 1, Q_VOLATILE = 2 };

struct node {
    node_kind kind;
    unsigned quals;
    size_t col;           /* where the type's spelling starts, for messages */
    base_id base;         /* N_BASE */
    const token *tag;     /* N_BASE with B_TAG: the struct/union/enum keyword */
    const token *tag_name; /* N_BASE with B_TAG: the tag */
    const cffi_named *named; /* N_BASE with B_NAMED: what the type means */
    bool anonymous;       /* B_NAMED: a body written without a tag (may be an anonymous member) */
    node *target;         /* N_PTR: pointee; N_FUNC: return type; N_ARRAY: element type */
    size_t count;         /* N_ARRAY: elements */
    node **params;        /* N_FUNC */
    size_t nparams;
    size_t varargs_col;   /* N_FUNC: nonzero if the list ends in "..." */
};

typedef struct block {
    struct block *next;
    max_align_t data[];
} block;

/* Text built piece by piece (normal forms); a failed allocation sticks in failed. */
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

/* A name a cdef text defines, kept until the whole text has parsed. */
struct pending {
    struct pending *next;
    cffi_named def;
};


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
        cffi_errorf(p->errbuf, p->errlen, "col %zu: %s, found end of %s", at->col, what,
                    p->cdef ? "declarations" : "signature");
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

/* Skip whitespace and comments from i; false (and a failure) for a comment left open. */
static bool skip_blank(cffi_sig_parser *p, size_t len, size_t *i) {
    const char *t = p->text;
    for (;;) {
        while (*i < len && is_space(t[*i])) (*i)++;
        if (*i + 1 < len && t[*i] == '/' && t[*i + 1] == '/') {
            while (*i < len && t[*i] != '\n') (*i)++;
            continue;
        }
        if (*i + 1 < len && t[*i] == '/' && t[*i + 1] == '*') {
            const char *close = strstr(t + *i + 2, "*/");
            if (!close) {
                fail_at(p, CFFI_EBADSIG, *i + 1, "comment not closed ('*/' expected)");
                return false;
            }
            *i = (size_t)(close - t) + 2;
            continue;
        }
        return true;
    }
}

/* Read an unsigned decimal or hexadecimal number at *i (no sign, no suffix). */
static bool read_number(const char *t, size_t len, size_t *i, unsigned long long *out) {
    size_t j = *i;
    int base = 10;
    if (j + 1 < len && t[j] == '0' && (t[j + 1] == 'x' || t[j + 1] == 'X')) base = 16, j += 2;
    unsigned long long v = 0;
    size_t digits = 0;
    for (; j < len; j++, digits++) {
        char c = t[j];
        int d = c >= '0' && c <= '9' ? c - '0'
                : base == 16 && c >= 'a' && c <= 'f' ? c - 'a' + 10
                : base == 16 && c >= 'A' && c <= 'F' ? c - 'A' + 10
                                                     : -1;
        if (d < 0) break;
        if (v > (ULLONG_MAX - (unsigned)d) / (unsigned)base) return false;
        v = v * (unsigned)base + (unsigned)d;
    }
    if (!digits || (j < len && is_ident_char(t[j]))) return false;
    *i = j;
    *out = v;
    return true;
}

/* Skip blanks within a line, then read the identifier there (truncated to fit) into word. */
static const char *line_word(const char *text, size_t end, size_t *j, char *word, size_t size) {
    while (*j < end && (text[*j] == ' ' || text[*j] == '\t')) (*j)++;
    size_t w = 0;
    while (*j < end && is_ident_char(text[*j])) {
        if (w < size - 1) word[w++] = text[*j];
        (*j)++;
    }
    word[w] = '\0';
    return word;
}

static void line_blank(const char *text, size_t end, size_t *j) {
    while (*j < end && (text[*j] == ' ' || text[*j] == '\t' || text[*j] == '\r')) (*j)++;
}

/* `#pragma pack(...)` at *i (on the '#'), to the end of its line, as one token. The forms GCC and
 * MSVC share: pack(N), pack(), pack(push), pack(push, N), pack(pop). */
static bool read_pragma(cffi_sig_parser *p, size_t len, size_t *i, token *t) {
    const char *text = p->text;
    size_t at = *i, j = *i + 1, end = j;
    while (end < len && text[end] != '\n') end++;
    const char *what = "only '#pragma pack(...)' lines are understood here";
    char word[16];
    if (strcmp(line_word(text, end, &j, word, sizeof word), "pragma") != 0 ||
        strcmp(line_word(text, end, &j, word, sizeof word), "pack") != 0)
        goto bad;
    line_blank(text, end, &j);
    if (j >= end || text[j++] != '(') goto bad;
    t->kind = TK_PRAGMA_PACK;
    t->pack_op = PACK_SET;
    line_blank(text, end, &j);
    if (j < end && is_ident_start(text[j])) {
        line_word(text, end, &j, word, sizeof word);
        if (strcmp(word, "push") == 0) t->pack_op = PACK_PUSH;
        else if (strcmp(word, "pop") == 0) t->pack_op = PACK_POP;
        else goto bad;
        line_blank(text, end, &j);
        if (j < end && text[j] == ',' && t->pack_op == PACK_PUSH) j++, line_blank(text, end, &j);
    }
    if (j < end && text[j] >= '0' && text[j] <= '9') {
        unsigned long long v;
        if (t->pack_op == PACK_POP || !read_number(text, end, &j, &v) || v == 0 || v > 64 ||
            (v & (v - 1)) != 0) {
            what = "#pragma pack takes 1, 2, 4, 8, 16, 32 or 64";
            goto bad;
        }
        t->pack_value = (unsigned)v;
        t->pack_has_value = true;
        line_blank(text, end, &j);
    }
    if (j >= end || text[j++] != ')') goto bad;
    line_blank(text, end, &j);
    if (j < end) goto bad;
    t->len = end - at;
    *i = end;
    return true;
bad:
    fail_at(p, CFFI_EBADSIG, at + 1, "%s", what);
    return false;
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
        if (!skip_blank(p, len, &i)) return false;
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
            /* Array sizes and attribute arguments; the parser reads the value from the text. */
            size_t j = i;
            while (j < len && is_ident_char(p->text[j])) j++;
            t->kind = TK_NUMBER;
            t->len = j - i;
            i = j;
            continue;
        }
        if (c == '#' && p->cdef) {
            if (!read_pragma(p, len, &i, t)) return false;
            continue;
        }
        t->len = 1;
        switch (c) {
        case '(': t->kind = TK_LPAREN; break;
        case ')': t->kind = TK_RPAREN; break;
        case '*': t->kind = TK_STAR; break;
        case ',': t->kind = TK_COMMA; break;
        case '{': t->kind = TK_LBRACE; break;
        case '}': t->kind = TK_RBRACE; break;
        case ';': t->kind = TK_SEMI; break;
        case '[': t->kind = TK_LBRACKET; break;
        case ']': t->kind = TK_RBRACKET; break;
        case ':': t->kind = TK_COLON; break;
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

/* Layout attributes of a struct or union, after its body. */
typedef struct type_attrs {
    bool packed;      /* __attribute__((packed)) */
    unsigned aligned; /* __attribute__((aligned(N))), 0 if none */
    unsigned pack;    /* __attribute__((pack(N))): cffi's spelling of #pragma pack(N); 0 if none */
} type_attrs;

/* The value of a number token: a positive power of two up to `max`, or 0 (failure recorded). */
static unsigned power_of_two_arg(cffi_sig_parser *p, const token *t, unsigned max,
                                 const char *what) {
    unsigned long long v = 0;
    size_t i = 0;
    if (t->kind != TK_NUMBER || !read_number(t->start, t->len, &i, &v) || v == 0 || v > max ||
        (v & (v - 1)) != 0) {
        char expected[96];
        snprintf(expected, sizeof expected, "expected %s: a power of two up to %u", what, max);
        fail_expected(p, CFFI_EBADSIG, t, expected);
        return 0;
    }
    return (unsigned)v;
}

/* One layout attribute at the current token (an identifier), into ta. */
static void parse_layout_attribute(cffi_sig_parser *p, const char *name, size_t len,
                                   type_attrs *ta) {
    const token *t = tok(p);
    if (span_is(name, len, "packed")) {
        ta->packed = true;
        p->pos++;
        return;
    }
    bool aligned = span_is(name, len, "aligned");
    if (!aligned && !span_is(name, len, "pack")) {
        fail_at(p, CFFI_EBADSIG, t->col,
                "unsupported attribute '%.*s' (a struct takes packed, aligned(N) or pack(N))",
                (int)t->len, t->start);
        return;
    }
    p->pos++;
    if (tok(p)->kind != TK_LPAREN) {
        fail_expected(p, CFFI_EBADSIG, tok(p), aligned ? "expected '(' after aligned"
                                                       : "expected '(' after pack");
        return;
    }
    p->pos++;
    unsigned v = power_of_two_arg(p, tok(p), aligned ? 4096 : 64,
                                  aligned ? "an alignment" : "a packing");
    if (!v) return;
    p->pos++;
    if (tok(p)->kind != TK_RPAREN) {
        fail_expected(p, CFFI_EBADSIG, tok(p), "expected ')'");
        return;
    }
    p->pos++;
    if (aligned) ta->aligned = v > ta->aligned ? v : ta->aligned;
    else ta->pack = v;
}

/* __attribute__((a, b)) with the current token on __attribute__. Without ta only
 * calling-convention attributes are accepted (silently dropping one such as regparm would change
 * the ABI); with ta, only a struct's layout attributes. */
static void parse_attribute(cffi_sig_parser *p, type_attrs *ta) {
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
        if (ta) {
            parse_layout_attribute(p, name, len, ta);
            if (p->status != CFFI_OK) return;
            if (tok(p)->kind != TK_COMMA) break;
            p->pos++;
            continue;
        }
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
        parse_attribute(p, NULL);
        return true;
    }
    return false;
}

/* ---------------------------------------------------------------------------------------------
 * Declaration specifiers: `const unsigned long int`, `struct foo`, `size_t`.
 */
typedef struct specs {
    int n_void, n_bool, n_char, n_short, n_int, n_long, n_signed, n_unsigned, n_float, n_double;
    int n_typedef, n_tag, n_named;
    base_id typedef_base;
    const token *tag, *tag_name; /* B_TAG: the keyword and the name */
    const cffi_named *named;     /* B_NAMED */
    bool anonymous;
} specs;

static int spec_total(const specs *s) {
    return s->n_void + s->n_bool + s->n_char + s->n_short + s->n_int + s->n_long + s->n_signed +
           s->n_unsigned + s->n_float + s->n_double + s->n_typedef + s->n_tag + s->n_named;
}

/* Whether s is a valid type or can still become one by adding keywords, as C allows them in any
 * order ("long unsigned int long" is "unsigned long long"). */
static bool specs_consistent(const specs *s) {
    int total = spec_total(s);
    int alone = s->n_void + s->n_bool + s->n_float + s->n_typedef + s->n_tag + s->n_named;
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
    if (s->n_named) return B_NAMED;
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

/* ---------------------------------------------------------------------------------------------
 * Named types: what this text defined so far (cdef), then the scope.
 */
static const cffi_named *lookup_named(cffi_sig_parser *p, const char *name, size_t len,
                                      bool is_tag) {
    for (struct pending *e = p->pending; e; e = e->next) /* newest first */
        if (e->def.is_tag == is_tag && strlen(e->def.name) == len &&
            memcmp(e->def.name, name, len) == 0)
            return &e->def;
    return cffi_scope_find(p->scope, name, len, is_tag);
}

/* A copy of s[0, len) in the parse's memory. */
static char *parser_strdup(cffi_sig_parser *p, const char *s, size_t len) {
    char *copy = parser_alloc(p, len + 1);
    if (copy) memcpy(copy, s, len);
    return copy;
}

/* Note that a cdef text defines def (named by token at). A name keeps its first meaning. */
static void define_name(cffi_sig_parser *p, const cffi_named *def, const token *at) {
    const cffi_named *old = lookup_named(p, def->name, strlen(def->name), def->is_tag);
    if (old && old->is_tag && old->is_union != def->is_union) {
        fail_at(p, CFFI_EBADTYPE, at->col, "'%s' is already a %s tag", def->name,
                old->is_union ? "union" : "struct");
        return;
    }
    if (old && old->complete && def->complete && strcmp(old->text, def->text) != 0) {
        fail_at(p, CFFI_EBADTYPE, at->col,
                "'%s%s' is already defined as %s (a name keeps its first meaning)",
                def->is_tag ? (def->is_union ? "union " : "struct ") : "", def->name, old->text);
        return;
    }
    if (old && (!def->complete || old->complete)) return; /* nothing new */
    struct pending *e = parser_alloc(p, sizeof *e);
    if (!e) return;
    e->def = *def;
    e->next = p->pending;
    p->pending = e;
    p->npending++;
}

static void apply_pragma(cffi_sig_parser *p, const token *t) {
    switch (t->pack_op) {
    case PACK_SET: p->pack = t->pack_has_value ? t->pack_value : 0; break;
    case PACK_PUSH:
        if (p->pack_depth == CFFI_PACK_STACK) {
            fail_at(p, CFFI_EBADSIG, t->col, "#pragma pack(push) nested too deeply (at most %d)",
                    CFFI_PACK_STACK);
            return;
        }
        p->pack_stack[p->pack_depth++] = p->pack;
        if (t->pack_has_value) p->pack = t->pack_value;
        break;
    case PACK_POP: p->pack = p->pack_depth ? p->pack_stack[--p->pack_depth] : 0; break;
    }
}

/* ---------------------------------------------------------------------------------------------
 * Struct and union bodies, and their layout.
 */
#define MAX_AGG_SIZE ((size_t)1 << 24) /* bytes; far beyond anything passed by value */

typedef struct member {
    const token *name; /* NULL: an anonymous struct or union member */
    node *type;
} member;

/* What a member of type t takes: machine type, layout, element count, size, alignment. */
typedef struct member_info {
    cffi_type type;
    const cffi_agg *agg;
    size_t count; /* 0: not an array */
    size_t size, align;
} member_info;

static cffi_type machine_type(cffi_sig_parser *p, const node *t, const cffi_agg **agg);

static bool member_layout(cffi_sig_parser *p, const node *t, const char *name, member_info *mi) {
    *mi = (member_info){0};
    if (t->kind == N_ARRAY) {
        if (!member_layout(p, t->target, name, mi)) return false;
        size_t count = (mi->count ? mi->count : 1) * t->count;
        if (mi->size > MAX_AGG_SIZE / t->count) {
            fail_at(p, CFFI_EUNSUPPORTED, t->col, "member '%s' is too large (at most %zu bytes)",
                    name, MAX_AGG_SIZE);
            return false;
        }
        mi->count = count;
        mi->size *= t->count;
        return true;
    }
    if (t->kind == N_FUNC) {
        fail_at(p, CFFI_EBADTYPE, t->col,
                "member '%s' is a function (a member can be a pointer to one)", name);
        return false;
    }
    if (t->kind == N_BASE && t->base == B_VOID) {
        fail_at(p, CFFI_EBADTYPE, t->col, "member '%s' is void", name);
        return false;
    }
    if (t->kind == N_BASE && t->base == B_TAG) {
        fail_at(p, CFFI_EBADTYPE, t->col,
                "member '%s' has the incomplete type '%.*s %.*s' (define it first, or make "
                "the member a pointer)",
                name, (int)t->tag->len, t->tag->start, (int)t->tag_name->len,
                t->tag_name->start);
        return false;
    }
    mi->type = machine_type(p, t, &mi->agg);
    if (p->status != CFFI_OK) return false;
    mi->size = mi->agg ? mi->agg->size : cffi_type_size(mi->type);
    mi->align = mi->agg ? mi->agg->align : cffi_member_align(mi->type);
    return true;
}

static size_t round_up(size_t n, size_t to) { return (n + to - 1) / to * to; }

static void print_type(strbuf *out, const node *t, const char *inner, size_t inner_len,
                       bool space);

/* Lay out members[0, n) and intern the layout; its normal form is printed along the way. */
static const cffi_agg *lay_out(cffi_sig_parser *p, bool is_union, const member *members, size_t n,
                               const type_attrs *ta, size_t col) {
    cffi_field *fields = calloc(n, sizeof *fields);
    strbuf text = {0};
    if (!fields) {
        p->status = CFFI_ENOMEM;
        return NULL;
    }
    sb_add(&text, is_union ? "union { " : "struct { ");
    size_t end = 0, size = 0, align = 1;
    bool reduced = false, misaligned = false;
    for (size_t i = 0; i < n && p->status == CFFI_OK; i++) {
        const member *m = &members[i];
        char *name = m->name ? parser_strdup(p, m->name->start, m->name->len) : "";
        member_info mi;
        if (!name || !member_layout(p, m->type, name, &mi)) break;
        for (size_t k = 0; k < i && m->name; k++)
            if (strcmp(fields[k].name, name) == 0)
                fail_at(p, CFFI_EBADTYPE, m->name->col, "duplicate member '%s'", name);
        size_t a = ta->packed ? 1 : ta->pack && mi.align > ta->pack ? ta->pack : mi.align;
        reduced |= a < mi.align;
        size_t at = is_union ? 0 : round_up(end, a);
        /* Below its natural alignment here, or holding such a member itself. */
        misaligned |= at % mi.align != 0 || (mi.agg && cffi_agg_misaligned(mi.agg));
        if (at > MAX_AGG_SIZE - mi.size) {
            fail_at(p, CFFI_EUNSUPPORTED, col, "the %s is too large (at most %zu bytes)",
                    is_union ? "union" : "struct", MAX_AGG_SIZE);
            break;
        }
        fields[i] = (cffi_field){name, at, mi.type, mi.agg, mi.count};
        end = at + mi.size;
        size = end > size ? end : size;
        align = a > align ? a : align;
        print_type(&text, m->type, name, strlen(name), true);
        sb_add(&text, "; ");
    }
    const cffi_agg *agg = NULL;
    if (p->status == CFFI_OK) {
        sb_add(&text, "}");
        if (reduced && ta->packed) sb_add(&text, " __attribute__((packed))");
        if (reduced && !ta->packed) {
            char attr[40];
            snprintf(attr, sizeof attr, " __attribute__((pack(%u)))", ta->pack);
            sb_add(&text, attr);
        }
        if (ta->aligned > align) {
            char attr[40];
            snprintf(attr, sizeof attr, " __attribute__((aligned(%u)))", ta->aligned);
            sb_add(&text, attr);
            align = ta->aligned;
        }
        size = round_up(size, align);
        if (size == 0)
            fail_at(p, CFFI_EBADTYPE, col, "an empty %s (it needs a member)",
                    is_union ? "union" : "struct");
        else if (text.failed)
            p->status = CFFI_ENOMEM;
        else if (!(agg = cffi_agg_intern(text.data, fields, n, size, align, is_union, misaligned)))
            p->status = CFFI_ENOMEM;
    }
    free(text.data);
    free(fields);
    return p->status == CFFI_OK ? agg : NULL;
}

static node *parse_specifiers(cffi_sig_parser *p, const char *what);
static node *parse_declarator(cffi_sig_parser *p, node *type);
static bool enter_nesting(cffi_sig_parser *p, const token *at);

/* One member declaration (`float x, y;`, `struct { int a; };`) into *members. */
static bool parse_member_declaration(cffi_sig_parser *p, member **members, size_t *n,
                                     size_t *cap) {
    node *base = parse_specifiers(p, "a member type");
    if (!base) return false;
    bool anonymous = tok(p)->kind == TK_SEMI && base->kind == N_BASE &&
                     base->base == B_NAMED && base->anonymous;
    for (;;) {
        node *m = base;
        p->last_name = NULL;
        if (!anonymous) {
            m = parse_declarator(p, base);
            if (!m) return false;
            if (!p->last_name) {
                fail_expected(p, CFFI_EBADSIG, tok(p), "expected a member name");
                return false;
            }
            if (tok(p)->kind == TK_COLON) {
                fail_at(p, CFFI_EUNSUPPORTED, tok(p)->col,
                        "bit-field '%.*s' is not supported (declare the whole integer)",
                        (int)p->last_name->len, p->last_name->start);
                return false;
            }
        }
        if (*n == *cap) {
            size_t grown = *cap ? *cap * 2 : 8;
            member *more = realloc(*members, grown * sizeof *more);
            if (!more) {
                p->status = CFFI_ENOMEM;
                return false;
            }
            *members = more;
            *cap = grown;
        }
        (*members)[(*n)++] = (member){p->last_name, m};
        if (tok(p)->kind == TK_COMMA && !anonymous) {
            p->pos++;
            continue;
        }
        if (tok(p)->kind == TK_SEMI) {
            p->pos++;
            return true;
        }
        fail_expected(p, CFFI_EBADSIG, tok(p), "expected ',' or ';' after a member");
        return false;
    }
}

/* A body `{ members } attributes` with the current token on '{': the aggregate it lays out. */
static const cffi_agg *parse_body(cffi_sig_parser *p, bool is_union, type_attrs ta) {
    const token *open = tok(p);
    if (!enter_nesting(p, open)) return NULL;
    p->pos++;
    member *members = NULL;
    size_t n = 0, cap = 0;
    while (p->status == CFFI_OK && tok(p)->kind != TK_RBRACE) {
        if (tok(p)->kind == TK_END) {
            char expected[64];
            snprintf(expected, sizeof expected, "expected '}' to match '{' at col %zu", open->col);
            fail_expected(p, CFFI_EBADSIG, tok(p), expected);
        } else if (tok(p)->kind == TK_PRAGMA_PACK) {
            apply_pragma(p, tok(p));
            p->pos++;
        } else if (tok(p)->kind == TK_SEMI) {
            p->pos++;
        } else {
            parse_member_declaration(p, &members, &n, &cap);
        }
    }
    const cffi_agg *agg = NULL;
    if (p->status == CFFI_OK) {
        p->pos++;
        p->nesting--;
        while (p->status == CFFI_OK && tok(p)->kind == TK_IDENT && tok(p)->kw == KW_ATTRIBUTE)
            parse_attribute(p, &ta);
        if (!ta.pack && !ta.packed) ta.pack = p->pack;
        if (p->status == CFFI_OK) agg = lay_out(p, is_union, members, n, &ta, open->col);
    }
    free(members);
    return agg;
}

/* `struct|union [attributes] [tag] [body]` with the current token on the keyword, into s. */
static bool parse_aggregate_specifier(cffi_sig_parser *p, specs *s) {
    const token *keyword = tok(p);
    bool is_union = keyword->kw == KW_UNION;
    p->pos++;
    type_attrs ta = {0};
    while (p->status == CFFI_OK && tok(p)->kind == TK_IDENT && tok(p)->kw == KW_ATTRIBUTE)
        parse_attribute(p, &ta);
    if (p->status != CFFI_OK) return false;
    const token *tag = NULL;
    if (tok(p)->kind == TK_IDENT && tok(p)->kw == KW_NONE) tag = tok(p), p->pos++;
    if (tok(p)->kind == TK_LBRACE) {
        const cffi_agg *agg = parse_body(p, is_union, ta);
        cffi_named *named = agg ? parser_alloc(p, sizeof *named) : NULL;
        if (!named) return false;
        *named = (cffi_named){"", false, is_union, true, CFFI_T_AGG, agg, agg->text};
        if (tag && p->cdef) {
            cffi_named def = *named;
            def.name = parser_strdup(p, tag->start, tag->len);
            def.is_tag = true;
            if (!def.name) return false;
            define_name(p, &def, tag);
            if (p->status != CFFI_OK) return false;
        }
        s->n_named = 1;
        s->named = named;
        s->anonymous = tag == NULL;
        return true;
    }
    if (!tag) {
        char expected[48];
        snprintf(expected, sizeof expected, "expected a name or '{' after '%.*s'",
                 (int)keyword->len, keyword->start);
        fail_expected(p, CFFI_EBADSIG, tok(p), expected);
        return false;
    }
    const cffi_named *named = lookup_named(p, tag->start, tag->len, true);
    if (named && named->is_union != is_union) {
        fail_at(p, CFFI_EBADTYPE, tag->col, "'%.*s' is a %s tag, not a %s tag", (int)tag->len,
                tag->start, named->is_union ? "union" : "struct", is_union ? "union" : "struct");
        return false;
    }
    if (named && named->complete) {
        s->n_named = 1;
        s->named = named;
    } else {
        s->n_tag = 1; /* usable behind a pointer only */
        s->tag = keyword;
        s->tag_name = tag;
    }
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
        if (t->kw == KW_REFUSED) {
            fail_at(p, CFFI_EUNSUPPORTED, t->col, "'%.*s': %s", (int)t->len, t->start, t->conv);
            return NULL;
        }
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
        if (t->kw == KW_STRUCT || t->kw == KW_UNION) {
            if (spec_total(&s)) break;
            col = t->col;
            if (!parse_aggregate_specifier(p, &s)) return NULL;
            continue;
        }
        if (t->kw == KW_ENUM) {
            if (spec_total(&s)) break;
            const token *name = t + 1;
            if (name->kind != TK_IDENT || name->kw != KW_NONE) {
                fail_expected(p, CFFI_EBADSIG, name, "expected a name after 'enum'");
                return NULL;
            }
            s.n_tag = 1;
            s.tag = t;
            s.tag_name = name;
            col = t->col;
            p->pos += 2;
            continue;
        }
        if (t->kw == KW_NONE) {
            if (spec_total(&s)) break; /* a parameter or function name */
            const cffi_named *named = lookup_named(p, t->start, t->len, false);
            if (!named) {
                fail_at(p, CFFI_EBADTYPE, t->col,
                        "unknown type '%.*s' (declare a type of your own with cdef first)",
                        (int)t->len, t->start);
                return NULL;
            }
            s.n_named = 1;
            s.named = named;
            col = t->col;
            p->pos++;
            continue;
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
    n->tag_name = s.tag_name;
    n->named = s.named;
    n->anonymous = s.anonymous;
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
        if (param->kind == N_FUNC || param->kind == N_ARRAY) {
            /* A parameter of function type is a function pointer, and one of array type a
             * pointer to the element, as in C. */
            node *ptr = new_node(p, N_PTR, param->col);
            if (!ptr) return NULL;
            ptr->target = param->kind == N_ARRAY ? param->target : param;
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

#define MAX_DIMENSIONS 8

/* Array suffixes `[2][3]` at the current token: type becomes an array of 2 arrays of 3. */
static node *parse_dimensions(cffi_sig_parser *p, node *type) {
    size_t counts[MAX_DIMENSIONS], n = 0;
    while (tok(p)->kind == TK_LBRACKET) {
        if (type->kind == N_FUNC) {
            fail_at(p, CFFI_EBADSIG, tok(p)->col, "a function cannot return an array");
            return NULL;
        }
        if (n == MAX_DIMENSIONS) {
            fail_at(p, CFFI_EBADSIG, tok(p)->col, "too many array dimensions (at most %d)",
                    MAX_DIMENSIONS);
            return NULL;
        }
        p->pos++;
        const token *size = tok(p);
        unsigned long long v = 0;
        size_t i = 0;
        if (size->kind != TK_NUMBER || !read_number(size->start, size->len, &i, &v) || v == 0 ||
            v > MAX_AGG_SIZE) {
            fail_expected(p, CFFI_EBADSIG, size, "expected an array size (a positive integer)");
            return NULL;
        }
        p->pos++;
        if (tok(p)->kind != TK_RBRACKET) {
            fail_expected(p, CFFI_EBADSIG, tok(p), "expected ']'");
            return NULL;
        }
        p->pos++;
        counts[n++] = (size_t)v;
    }
    while (n > 0) { /* the first dimension written is the outermost */
        node *array = new_node(p, N_ARRAY, type->col);
        if (!array) return NULL;
        array->target = type;
        array->count = counts[--n];
        type = array;
    }
    return type;
}

/* Array and parameter-list suffixes after a declarator's core: `[4]`, `(int, int)`. */
static node *parse_suffixes(cffi_sig_parser *p, node *type) {
    if (tok(p)->kind == TK_LBRACKET) {
        type = parse_dimensions(p, type);
        if (!type) return NULL;
    }
    while (tok(p)->kind == TK_LPAREN) {
        if (type->kind == N_ARRAY) {
            fail_at(p, CFFI_EBADSIG, tok(p)->col, "an array of functions is not a type");
            return NULL;
        }
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
    if (tok(p)->kind == TK_IDENT && tok(p)->kw == KW_NONE) { /* the declared name */
        p->last_name = tok(p);
        p->pos++;
    }
    return parse_suffixes(p, type);
}

/* ---------------------------------------------------------------------------------------------
 * Printing the normal form: C's declarator syntax, built inside out around an "inner" text.
 */

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
            sb_addn(out, t->tag->start, t->tag->len);
            sb_add(out, " ");
            sb_addn(out, t->tag_name->start, t->tag_name->len);
        } else if (t->base == B_NAMED) {
            sb_add(out, t->named->text);
        } else {
            sb_add(out, base_types[t->base].spelling);
        }
        if (inner_len) {
            if (space) sb_add(out, " ");
            sb_addn(out, inner, inner_len);
        }
        return;
    case N_PTR:
        if (t->target->kind == N_FUNC || t->target->kind == N_ARRAY) sb_add(&wrapped, "(");
        sb_add(&wrapped, "*");
        if (t->quals & Q_CONST) sb_add(&wrapped, "const");
        if (t->quals & Q_VOLATILE) sb_add(&wrapped, t->quals & Q_CONST ? " volatile" : "volatile");
        if (t->quals && inner_len) sb_add(&wrapped, " ");
        sb_addn(&wrapped, inner, inner_len);
        if (t->target->kind == N_FUNC || t->target->kind == N_ARRAY) sb_add(&wrapped, ")");
        break;
    case N_ARRAY: {
        char dim[32];
        snprintf(dim, sizeof dim, "[%zu]", t->count);
        sb_addn(&wrapped, inner, inner_len);
        sb_add(&wrapped, dim);
        break;
    }
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

/* The machine type of a parameter, result or member (and *agg for an aggregate), or a failure
 * recorded in p. */
static cffi_type machine_type(cffi_sig_parser *p, const node *t, const cffi_agg **agg) {
    *agg = NULL;
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
    if (t->kind != N_BASE) { /* an array where a value is expected: a typedef of one */
        fail_at(p, CFFI_EBADTYPE, t->col, "an array is passed by value only inside a struct");
        return CFFI_T_VOID;
    }
    if (t->base == B_NAMED) {
        *agg = t->named->agg;
        return t->named->type;
    }
    if (t->base == B_TAG) {
        bool is_enum = t->tag->kw == KW_ENUM;
        fail_at(p, CFFI_EBADTYPE, t->col,
                is_enum ? "'%.*s %.*s' by value is not supported (pass it as int)"
                        : "'%.*s %.*s' is not defined (cdef it first), so it can only be "
                          "passed behind a pointer",
                (int)t->tag->len, t->tag->start, (int)t->tag_name->len, t->tag_name->start);
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
    free(d->param_aggs);
    *d = (cffi_sig_desc){0};
}

cffi_status cffi_sig_grammar_describe(cffi_sig_parser *p, const node *fn, cffi_sig_desc *d) {
    *d = (cffi_sig_desc){0};
    const cffi_agg *result_agg;
    cffi_type result = machine_type(p, fn->target, &result_agg);
    cffi_type *params = calloc(fn->nparams ? fn->nparams : 1, sizeof *params);
    const cffi_agg **aggs = calloc(fn->nparams ? fn->nparams : 1, sizeof *aggs);
    if (!params || !aggs) {
        free(params);
        free(aggs);
        return CFFI_ENOMEM;
    }
    for (size_t i = 0; i < fn->nparams && p->status == CFFI_OK; i++)
        params[i] = machine_type(p, fn->params[i], &aggs[i]);
    if (p->status != CFFI_OK) {
        free(params);
        free(aggs);
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
        free(aggs);
        return CFFI_ENOMEM;
    }
    d->strings = texts.data;
    d->result_text = texts.data + starts[0];
    for (size_t i = 0; i < fn->nparams; i++) param_texts[i] = texts.data + starts[i + 1];
    free(starts);
    d->param_texts = param_texts;
    d->params = params;
    d->param_aggs = aggs;
    d->nparams = fn->nparams;
    d->result = result;
    d->result_agg = result_agg;
    d->variadic = fn->varargs_col != 0;
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

/* ---------------------------------------------------------------------------------------------
 * Declarations (cffi_cdef) and lone type names (cffi_type_parse).
 */

/* What the declared type t means as a named type: its machine type, layout and normal form. */
static bool describe_named(cffi_sig_parser *p, const node *t, cffi_named *def) {
    if (t->kind == N_ARRAY || t->kind == N_FUNC) {
        fail_at(p, CFFI_EUNSUPPORTED, t->col,
                t->kind == N_ARRAY ? "a typedef of an array type is not supported (make it a "
                                     "struct member)"
                                   : "a typedef of a function type is not supported (typedef a "
                                     "pointer to it)");
        return false;
    }
    if (t->kind == N_BASE && t->base == B_VOID) {
        fail_at(p, CFFI_EBADTYPE, t->col, "a typedef of void is not supported");
        return false;
    }
    def->type = machine_type(p, t, &def->agg);
    if (p->status != CFFI_OK) return false;
    strbuf text = {0};
    print_type(&text, t, "", 0, true);
    def->text = text.failed ? NULL : parser_strdup(p, text.data, text.len);
    free(text.data);
    if (!def->text) p->status = CFFI_ENOMEM;
    return def->text != NULL;
}

/* `typedef T a, *b;` after the word typedef. */
static void parse_typedef(cffi_sig_parser *p) {
    node *base = parse_specifiers(p, "a type after 'typedef'");
    while (base) {
        p->last_name = NULL;
        node *t = parse_declarator(p, base);
        if (!t) return;
        if (!p->last_name) {
            fail_expected(p, CFFI_EBADSIG, tok(p), "expected the name the typedef declares");
            return;
        }
        const token *name = p->last_name;
        cffi_named def = {.complete = true};
        def.name = parser_strdup(p, name->start, name->len);
        if (!def.name || !describe_named(p, t, &def)) return;
        define_name(p, &def, name);
        if (p->status != CFFI_OK) return;
        if (tok(p)->kind == TK_SEMI) {
            p->pos++;
            return;
        }
        if (tok(p)->kind != TK_COMMA) {
            fail_expected(p, CFFI_EBADSIG, tok(p), "expected ',' or ';' after a typedef name");
            return;
        }
        p->pos++;
    }
}

/* `struct Tag;`, `struct Tag { ... };` and the same for unions. */
static void parse_tag_declaration(cffi_sig_parser *p) {
    const token *start = tok(p);
    node *base = parse_specifiers(p, "a declaration");
    if (!base) return;
    if (tok(p)->kind != TK_SEMI || base->kind != N_BASE ||
        (base->base != B_NAMED && base->base != B_TAG) ||
        (base->base == B_TAG && base->tag->kw == KW_ENUM) || start->kw == KW_NONE) {
        fail_at(p, CFFI_EUNSUPPORTED, start->col,
                "only typedefs and struct or union definitions can be declared here");
        return;
    }
    if (base->base == B_TAG) { /* a forward declaration */
        cffi_named def = {.is_tag = true, .is_union = base->tag->kw == KW_UNION,
                          .complete = false, .type = CFFI_T_VOID, .text = ""};
        def.name = parser_strdup(p, base->tag_name->start, base->tag_name->len);
        if (def.name) define_name(p, &def, base->tag_name);
    }
    p->pos++;
}

cffi_status cffi_sig_grammar_cdef(cffi_sig_parser *p) {
    p->cdef = true;
    if (!tokenize(p)) return p->status;
    while (p->status == CFFI_OK && tok(p)->kind != TK_END) {
        const token *t = tok(p);
        if (t->kind == TK_SEMI) {
            p->pos++;
        } else if (t->kind == TK_PRAGMA_PACK) {
            apply_pragma(p, t);
            p->pos++;
        } else if (t->kind == TK_IDENT && t->kw == KW_TYPEDEF_DECL) {
            p->pos++;
            parse_typedef(p);
        } else {
            parse_tag_declaration(p);
        }
    }
    if (p->status != CFFI_OK) return p->status;
    /* Oldest first, so that a forward declaration comes before the definition completing it. */
    cffi_named *defs = calloc(p->npending ? p->npending : 1, sizeof *defs);
    if (!defs) return p->status = CFFI_ENOMEM;
    size_t i = p->npending;
    for (struct pending *e = p->pending; e; e = e->next) defs[--i] = e->def;
    p->status = cffi_scope_add(p->scope, defs, p->npending, p->errbuf, p->errlen);
    free(defs);
    return p->status;
}

cffi_status cffi_sig_grammar_type(cffi_sig_parser *p, cffi_typeinfo *out) {
    if (!tokenize(p)) return p->status;
    node *t = parse_declaration(p, "a type");
    if (t && tok(p)->kind != TK_END)
        fail_expected(p, CFFI_EBADSIG, tok(p), "expected end of the type");
    if (p->status != CFFI_OK) return p->status;
    if (t->kind == N_FUNC) {
        fail_at(p, CFFI_EBADTYPE, t->col, "a function type has no size (use a pointer to it)");
        return p->status;
    }
    member_info mi;
    if (t->kind == N_BASE && t->base == B_VOID) {
        mi = (member_info){.type = CFFI_T_VOID, .size = 0, .align = 1};
    } else if (!member_layout(p, t, "", &mi)) {
        return p->status;
    }
    if (mi.count) {
        fail_at(p, CFFI_EBADTYPE, t->col, "an array type is not a value (use its element type)");
        return p->status;
    }
    *out = (cffi_typeinfo){mi.type, mi.agg, mi.size, mi.align};
    return CFFI_OK;
}
