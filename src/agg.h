/*
 * agg.h - aggregate layouts (struct and union types by value): interning, the scalar members an
 * ABI classifies, and the named-type scopes that cffi_cdef fills.
 *
 * The grammar (sig_grammar.c) computes a layout from C declarations and interns it here by its
 * normal form; signatures and the ABI placement (plan.c, src/arch/<arch>/abi_*.c) only read it.
 */
#ifndef CFFI_AGG_H
#define CFFI_AGG_H

#include "internal.h"

/* Intern a layout built by the grammar. fields (n entries) and text are copied. misaligned: a
 * member sits below its natural alignment (packing), which some ABIs cannot pass in registers.
 * Returns the one interned layout with this text, or NULL when out of memory. */
CFFI_HIDDEN const cffi_agg *cffi_agg_intern(const char *text, const cffi_field *fields, size_t n,
                                            size_t size, size_t align, bool is_union,
                                            bool misaligned);
CFFI_HIDDEN bool cffi_agg_misaligned(const cffi_agg *agg);

/* The layout plans give a long double (CFFI_T_LDOUBLE) argument or result: conventions pass it
 * like an aggregate of its size (on the stack, or by reference), or return it in st(0)
 * (CFFI_PASS_X87), which their classify hooks tell by this object's address. */
extern CFFI_HIDDEN const cffi_agg cffi_ldouble_layout;

/* Call visit(ctx, offset, type) for every scalar inside agg (arrays element by element, nested
 * aggregates recursively), offsets from the start of agg plus base, until visit returns false.
 * Returns false if it was stopped. */
typedef bool (*cffi_agg_visitor)(void *ctx, size_t offset, cffi_type type);
CFFI_HIDDEN bool cffi_agg_walk(const cffi_agg *agg, size_t base, cffi_agg_visitor visit,
                               void *ctx);

/* The alignment a scalar member of type t has inside a struct on this target (i386 aligns
 * double and 64-bit integers to 4 there, though their own alignment is 8). */
CFFI_HIDDEN size_t cffi_member_align(cffi_type t);

/* ---------------------------------------------------------------------------------------------
 * Named types in a scope (scope.c).
 */
typedef struct cffi_named {
    const char *name;
    bool is_tag;          /* a struct/union tag (`struct Rect`), else a typedef name */
    bool is_union;        /* tags: which keyword defined it */
    bool complete;        /* tags: false after a forward declaration `struct Node;` */
    cffi_type type;       /* what the name means by value */
    const cffi_agg *agg;  /* for CFFI_T_AGG */
    const char *text;     /* normal form of the type ("unsigned long", an aggregate's text) */
} cffi_named;

/* The named type `name[0, len)` of scope (NULL: the process's), or NULL. The entry stays valid
 * as long as the scope does (entries are never changed, only added). */
CFFI_HIDDEN const cffi_named *cffi_scope_find(cffi_scope *scope, const char *name, size_t len,
                                              bool is_tag);
/* Add every entry of defs[0, n) to scope at once, or none: an existing name with another meaning
 * is CFFI_EBADTYPE (message in errbuf). Copies what it keeps. */
CFFI_HIDDEN cffi_status cffi_scope_add(cffi_scope *scope, const cffi_named *defs, size_t n,
                                       char *errbuf, size_t errlen);

#endif /* CFFI_AGG_H */
