/*
 * sig_grammar.h - what the signature files share: the grammar (sig_grammar.c) reads a text into a
 * tree and describes it, the convention names (sig_conv.c) say what a name means on this target,
 * and the signature objects (sig.c) build, intern and hand out the result.
 */
#ifndef CFFI_SIG_GRAMMAR_H
#define CFFI_SIG_GRAMMAR_H

#include "agg.h"
#include "internal.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct token token; /* sig_grammar.c's tokens, tree nodes and allocation blocks */
typedef struct node node;
struct block;
struct pending;

#define CFFI_PACK_STACK 16 /* #pragma pack(push) levels */

/* One parse: set text, errbuf and errlen, zero the rest; release with cffi_sig_grammar_release
 * whatever happened. */
typedef struct cffi_sig_parser {
    const char *text;
    token *toks;
    size_t pos;
    size_t depth;          /* parameter lists we are inside of */
    size_t nesting;        /* parameter lists and parenthesized declarators we are inside of */
    struct block *blocks;
    cffi_status status;    /* the first failure; later ones are consequences */
    char *errbuf;
    size_t errlen;
    const char *conv;      /* canonical convention written in the text, if any */
    size_t conv_col;       /* where it was written */
    const char *conv_word; /* as written (for attributes, the attribute name) */
    size_t conv_word_len;
    /* Named types: looked up in pending (what this cdef text defined so far), then in scope. */
    cffi_scope *scope;
    bool cdef;             /* a cffi_cdef text: tags defined in it are kept */
    struct pending *pending;
    size_t npending;
    const token *last_name; /* the name the last declarator declared, if any */
    unsigned pack;          /* #pragma pack's current value, 0 for none */
    unsigned pack_stack[CFFI_PACK_STACK];
    size_t pack_depth;
} cffi_sig_parser;

/* Parse p->text; on success returns the signature's function node and sets p->conv to the
 * canonical convention written in the text, if any. On failure NULL, p->status and the message. */
CFFI_HIDDEN const node *cffi_sig_grammar_parse(cffi_sig_parser *p);
CFFI_HIDDEN void cffi_sig_grammar_release(cffi_sig_parser *p);
/* Parse p->text as C declarations (cffi_cdef) and add what they define to p->scope. */
CFFI_HIDDEN cffi_status cffi_sig_grammar_cdef(cffi_sig_parser *p);
/* Parse p->text as one type name (cffi_type_parse). */
CFFI_HIDDEN cffi_status cffi_sig_grammar_type(cffi_sig_parser *p, cffi_typeinfo *out);

/* What a parsed signature describes: machine types and texts in normal form. */
typedef struct cffi_sig_desc {
    char *strings;            /* "<normal form>\0<result>\0<param 0>\0...", malloc'd */
    const char *result_text;  /* into strings */
    const char **param_texts; /* malloc'd, into strings */
    cffi_type *params;        /* malloc'd (at least one element) */
    const cffi_agg **param_aggs; /* malloc'd like params: the layout of each CFFI_T_AGG, or NULL */
    size_t nparams;
    cffi_type result;
    const cffi_agg *result_agg;
    bool variadic;            /* the list ends in "...": params are the fixed ones */
} cffi_sig_desc;

/* Describe fn (from cffi_sig_grammar_parse on p). A type this runtime cannot pass fails with the
 * message in p; the strings and arrays belong to the caller on success. */
CFFI_HIDDEN cffi_status cffi_sig_grammar_describe(cffi_sig_parser *p, const node *fn,
                                                  cffi_sig_desc *d);
CFFI_HIDDEN void cffi_sig_desc_release(cffi_sig_desc *d);

/* Convention names (sig_conv.c). */
/* The canonical convention `name` (any case, leading underscores allowed) means here, or NULL. */
CFFI_HIDDEN const char *cffi_conv_canonical_of(const char *name, size_t len);
/* The convention keyword spelled exactly name[0, len) (underscores stripped), known on some
 * target or a Microsoft-only one, or NULL: what makes `__stdcall` a convention in the text. */
CFFI_HIDDEN const char *cffi_conv_keyword(const char *name, size_t len);
/* "unknown calling convention 'x'; accepted here: C, cdecl, ..." after an optional prefix. */
CFFI_HIDDEN void cffi_conv_unknown_error(char *errbuf, size_t errlen, const char *prefix,
                                         const char *name, size_t len);
/* This target's ABI for a canonical name, or NULL. */
CFFI_HIDDEN const cffi_abi *cffi_conv_abi_named(const char *canonical);

#endif /* CFFI_SIG_GRAMMAR_H */
