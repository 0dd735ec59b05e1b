/*
 * sig.c - signature objects: built from what the grammar (sig_grammar.c) read, with their plan,
 * and interned, so that a repeated parse is a hash lookup; the accessors of the public API.
 */
#include "os/os.h"
#include "sig_grammar.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------------------------------
 * Interned signatures.
 */
typedef struct sig_entry sig_entry;
typedef struct sig_obj sig_obj;

/* One key under which a signature can be found: either the text and convention argument exactly
 * as a caller gave them ("spelled"), or the normal form and canonical convention. */
struct sig_entry {
    sig_entry *next;        /* in its bucket */
    sig_entry *next_of_sig; /* all keys of one signature, removed together */
    sig_obj *sig;
    uint64_t hash;
    bool spelled;
    bool has_conv;          /* spelled keys: NULL and "" are different arguments */
    size_t conv_len, text_len;
    char key[];             /* conv '\0' text '\0' */
};

struct sig_obj {
    struct cffi_sig pub; /* first: a cffi_sig * is a sig_obj * */
    sig_entry *entries;
    size_t spellings;    /* spelled keys held; capped so odd spellings cannot grow it forever */
    char *strings;       /* text, result text and parameter texts, back to back */
    const char *result_text;
    const char **param_texts;
    cffi_type *params;
    const cffi_agg **param_aggs;
    cffi_plan *plan;
};

/* Beyond this many spellings of one signature, new ones are parsed each time (still shared). */
#define MAX_SPELLINGS 32

static cffi_os_lock table_lock = CFFI_OS_LOCK_INIT;
static sig_entry **buckets;
static size_t bucket_count, entry_count;

static uint64_t key_hash(bool spelled, bool has_conv, const char *conv, size_t conv_len,
                         const char *text, size_t text_len) {
    uint64_t h = 1469598103934665603u; /* FNV-1a */
    h = (h ^ (uint64_t)(spelled * 2 + has_conv)) * 1099511628211u;
    for (size_t i = 0; i < conv_len; i++) h = (h ^ (unsigned char)conv[i]) * 1099511628211u;
    h = (h ^ 0xffu) * 1099511628211u;
    for (size_t i = 0; i < text_len; i++) h = (h ^ (unsigned char)text[i]) * 1099511628211u;
    return h;
}

static sig_entry *entry_new(bool spelled, const char *conv, const char *text) {
    size_t conv_len = conv ? strlen(conv) : 0, text_len = strlen(text);
    sig_entry *e = malloc(sizeof *e + conv_len + text_len + 2);
    if (!e) return NULL;
    e->next = e->next_of_sig = NULL;
    e->sig = NULL;
    e->spelled = spelled;
    e->has_conv = conv != NULL;
    e->conv_len = conv_len;
    e->text_len = text_len;
    if (conv_len) memcpy(e->key, conv, conv_len);
    e->key[conv_len] = '\0';
    memcpy(e->key + conv_len + 1, text, text_len + 1);
    e->hash = key_hash(spelled, e->has_conv, conv, conv_len, text, text_len);
    return e;
}

/* Caller holds table_lock. */
static sig_entry *table_find(bool spelled, const char *conv, const char *text, uint64_t hash) {
    if (!bucket_count) return NULL;
    size_t conv_len = conv ? strlen(conv) : 0, text_len = strlen(text);
    for (sig_entry *e = buckets[hash % bucket_count]; e; e = e->next)
        if (e->hash == hash && e->spelled == spelled && e->has_conv == (conv != NULL) &&
            e->conv_len == conv_len && e->text_len == text_len &&
            memcmp(e->key, conv ? conv : "", conv_len) == 0 &&
            memcmp(e->key + conv_len + 1, text, text_len) == 0)
            return e;
    return NULL;
}

/* Caller holds table_lock. Growing is best effort: if memory is short, chains get longer. */
static void table_insert(sig_entry *e, sig_obj *sig) {
    if (entry_count >= bucket_count) {
        size_t count = bucket_count ? bucket_count * 2 : 64;
        sig_entry **grown = calloc(count, sizeof *grown);
        if (grown) {
            for (size_t i = 0; i < bucket_count; i++)
                for (sig_entry *old = buckets[i], *next; old; old = next) {
                    next = old->next;
                    old->next = grown[old->hash % count];
                    grown[old->hash % count] = old;
                }
            free(buckets);
            buckets = grown;
            bucket_count = count;
        }
    }
    if (!bucket_count) { /* not even the first table could be had: keep the entry unlisted */
        e->sig = sig;
        e->next_of_sig = sig->entries;
        sig->entries = e;
        return;
    }
    e->sig = sig;
    e->next = buckets[e->hash % bucket_count];
    buckets[e->hash % bucket_count] = e;
    e->next_of_sig = sig->entries;
    sig->entries = e;
    entry_count++;
}

/* Caller holds table_lock. */
static void table_remove_all(sig_obj *sig) {
    for (sig_entry *e = sig->entries, *next; e; e = next) {
        next = e->next_of_sig;
        if (bucket_count) {
            for (sig_entry **link = &buckets[e->hash % bucket_count]; *link;
                 link = &(*link)->next)
                if (*link == e) {
                    *link = e->next;
                    entry_count--;
                    break;
                }
        }
        free(e);
    }
    sig->entries = NULL;
}

static void sig_obj_destroy(sig_obj *sig) {
    if (!sig) return;
    for (sig_entry *e = sig->entries, *next; e; e = next) {
        next = e->next_of_sig;
        free(e);
    }
    free(sig->plan);
    free(sig->strings);
    free(sig->param_texts);
    free(sig->params);
    free(sig->param_aggs);
    free(sig);
}

/* Build the object for a parsed signature: what the text describes, and the plan. Not yet
 * interned. */
static cffi_status sig_obj_build(cffi_sig_parser *p, const node *fn, const cffi_abi *abi,
                                 sig_obj **out) {
    *out = NULL;
    cffi_sig_desc d;
    cffi_status s = cffi_sig_grammar_describe(p, fn, &d);
    if (s != CFFI_OK) return s;
    sig_obj *sig = calloc(1, sizeof *sig);
    if (!sig) {
        cffi_sig_desc_release(&d);
        return CFFI_ENOMEM;
    }
    sig->strings = d.strings;
    sig->result_text = d.result_text;
    sig->param_texts = d.param_texts;
    sig->params = d.params;
    sig->param_aggs = d.param_aggs;

    /* A variadic function is called by the variadic rules even for its fixed arguments. */
    const cffi_abi *call_abi = d.variadic && abi->variadic ? abi->variadic : abi;
    if (d.variadic && abi->callee_pops) {
        cffi_errorf(p->errbuf, p->errlen, "a variadic function cannot be %s: its caller removes "
                    "the arguments (declare it cdecl)", abi->name);
        sig_obj_destroy(sig);
        return CFFI_EUNSUPPORTED;
    }
    cffi_plan *plan;
    s = cffi_plan_build(call_abi, d.result, d.result_agg, d.params, d.param_aggs, d.nparams, &plan,
                        p->errbuf, p->errlen);
    if (s != CFFI_OK) {
        sig_obj_destroy(sig);
        return s;
    }
    sig->plan = plan;
    atomic_init(&sig->pub.refs, 1);
    sig->pub.abi = abi;
    sig->pub.text = sig->strings;
    sig->pub.result = d.result;
    sig->pub.nparams = d.nparams;
    sig->pub.params = d.params;
    sig->pub.plan = plan;
    sig->pub.result_agg = d.result_agg;
    sig->pub.param_aggs = d.param_aggs;
    sig->pub.variadic = d.variadic;
    sig->pub.call_abi = call_abi;
    sig->pub.closures = d.variadic       ? CFFI_CLOSURES_NONE
                        : plan->has_agg ? CFFI_CLOSURES_GENERIC
                                        : CFFI_CLOSURES_ANY;
    sig->pub.entry = plan->ret_how == CFFI_RET_X87 && abi->entry_x87 ? abi->entry_x87 : abi->entry;
    *out = sig;
    return CFFI_OK;
}

/* The normal form must parse back to the same signature: cffi_sig_text hands it out, and the
 * table finds it under it. It can nest deeper than the text it came from, since a parameter
 * written as a function type, `int (int)`, prints as a pointer to one, `int (*)(int)`, which is
 * one parenthesized level more per such parameter. Such a text is refused like any other that
 * nests too deeply. Destroys sig on failure. */
static cffi_status check_normal_form(sig_obj *sig, const char *text, char *errbuf,
                                     size_t errlen) {
    if (strcmp(sig->pub.text, text) == 0) return CFFI_OK;
    char why[160] = "";
    cffi_sig_parser check = {.text = sig->pub.text, .errbuf = why, .errlen = sizeof why};
    bool parsed = cffi_sig_grammar_parse(&check) != NULL;
    cffi_sig_grammar_release(&check);
    if (parsed) return CFFI_OK;
    sig_obj_destroy(sig);
    if (check.status == CFFI_ENOMEM) return CFFI_ENOMEM;
    cffi_errorf(errbuf, errlen, "written in normal form, the signature does not parse back (%s): "
                "a parameter of function type counts as a pointer to a function",
                why);
    return check.status;
}

/* Add one reference to a signature found in the table. Caller holds table_lock, which is what
 * keeps a concurrent final cffi_sig_free from destroying it (see cffi_sig_free). */
static cffi_sig *take_found(sig_entry *e) {
    atomic_fetch_add_explicit(&e->sig->pub.refs, 1, memory_order_relaxed);
    return &e->sig->pub;
}

/* A text and convention seen before: one hash lookup, no parsing. NULL if not interned. */
static cffi_sig *find_spelled(const char *text, const char *conv) {
    uint64_t hash = key_hash(true, conv != NULL, conv, conv ? strlen(conv) : 0, text, strlen(text));
    cffi_os_lock_take(&table_lock);
    sig_entry *found = table_find(true, conv, text, hash);
    cffi_sig *sig = found ? take_found(found) : NULL;
    cffi_os_lock_give(&table_lock);
    return sig;
}

/* The convention a signature has: the argument's (conv, canonical arg_canonical), the one
 * written in the text (p), or C; they must agree. Sets *abi, or fails with the message. */
static cffi_status resolve_convention(const cffi_sig_parser *p, const char *conv,
                                      const char *arg_canonical, const cffi_abi **abi,
                                      const char **canonical, char *errbuf, size_t errlen) {
    if (arg_canonical && p->conv && strcmp(arg_canonical, p->conv) != 0) {
        cffi_errorf(errbuf, errlen,
                    "col %zu: calling convention '%.*s' (%s here) in the signature disagrees "
                    "with the convention argument '%s' (%s here)",
                    p->conv_col, (int)p->conv_word_len, p->conv_word, p->conv, conv,
                    arg_canonical);
        return CFFI_ECONVCLASH;
    }
    *canonical = arg_canonical  ? arg_canonical
                 : p->conv      ? p->conv
                                : cffi_conv_canonical_of("c", 1);
    *abi = *canonical ? cffi_conv_abi_named(*canonical) : NULL;
    if (!*abi) {
        cffi_errorf(errbuf, errlen, "calling convention '%s' is not implemented in this build",
                    *canonical ? *canonical : "C");
        return CFFI_EBADCONV;
    }
    return CFFI_OK;
}

/* Parse text and build its object (not interned): the grammar, the convention, the plan, and
 * the check that the normal form parses back. */
static cffi_status parse_new(cffi_scope *scope, const char *text, const char *conv,
                             const char *arg_canonical, sig_obj **out, const char **canonical,
                             char *errbuf, size_t errlen) {
    *out = NULL;
    cffi_sig_parser p = {.text = text, .errbuf = errbuf, .errlen = errlen, .scope = scope};
    const node *fn = cffi_sig_grammar_parse(&p);
    const cffi_abi *abi = NULL;
    cffi_status s = fn ? resolve_convention(&p, conv, arg_canonical, &abi, canonical, errbuf,
                                            errlen)
                       : p.status;
    if (s == CFFI_OK) s = sig_obj_build(&p, fn, abi, out);
    cffi_sig_grammar_release(&p);
    if (s == CFFI_OK) s = check_normal_form(*out, text, errbuf, errlen);
    if (s != CFFI_OK) *out = NULL; /* check_normal_form destroyed it */
    if (s == CFFI_ENOMEM && errbuf && errlen && !errbuf[0])
        cffi_errorf(errbuf, errlen, "out of memory");
    return s;
}

/* Intern sig under its spelling (conv, text), when keep_spelling, and its normal form, and hand
 * out one reference: to sig, or to an equal signature another thread interned while this one
 * parsed (sig is then destroyed). */
static cffi_status intern(sig_obj *sig, const char *text, const char *conv, bool keep_spelling,
                          const char *canonical, cffi_sig **out, char *errbuf, size_t errlen) {
    sig_entry *spelled = keep_spelling ? entry_new(true, conv, text) : NULL;
    sig_entry *normal = entry_new(false, canonical, sig->pub.text);
    if ((keep_spelling && !spelled) || !normal) {
        free(spelled);
        free(normal);
        sig_obj_destroy(sig);
        cffi_errorf(errbuf, errlen, "out of memory");
        return CFFI_ENOMEM;
    }
    cffi_os_lock_take(&table_lock);
    sig_entry *found = spelled ? table_find(true, conv, text, spelled->hash) : NULL;
    if (!found) found = table_find(false, canonical, sig->pub.text, normal->hash);
    if (found) {
        *out = take_found(found);
        if (spelled && !found->spelled && found->sig->spellings < MAX_SPELLINGS) {
            found->sig->spellings++;
            table_insert(spelled, found->sig);
            spelled = NULL;
        }
    } else {
        table_insert(normal, sig);
        if (spelled) table_insert(spelled, sig);
        sig->spellings = spelled != NULL;
        normal = spelled = NULL;
        *out = &sig->pub;
        sig = NULL;
    }
    cffi_os_lock_give(&table_lock);
    free(spelled);
    if (sig) { /* lost the race: an equal signature was interned first */
        free(normal);
        sig_obj_destroy(sig);
    }
    return CFFI_OK;
}

/* Spellings are remembered only for the process's scope: in another one, the same text may
 * name other types. Such texts are parsed each time and found by their normal form. */
cffi_status cffi_sig_parse_in(cffi_scope *scope, const char *text, const char *conv,
                              cffi_sig **out, char *errbuf, size_t errlen) {
    if (errbuf && errlen) errbuf[0] = '\0';
    if (out) *out = NULL;
    if (!text || !out) {
        cffi_errorf(errbuf, errlen, "%s is NULL", text ? "the output pointer" : "the signature");
        return CFFI_EINVAL;
    }
    bool keep_spelling = scope == NULL;
    if (keep_spelling && (*out = find_spelled(text, conv)) != NULL) return CFFI_OK;

    const char *arg_canonical = NULL;
    if (conv) {
        arg_canonical = cffi_conv_canonical_of(conv, strlen(conv));
        if (!arg_canonical) {
            cffi_conv_unknown_error(errbuf, errlen, "", conv, strlen(conv));
            return CFFI_EBADCONV;
        }
    }
    sig_obj *sig;
    const char *canonical = NULL;
    cffi_status s = parse_new(scope, text, conv, arg_canonical, &sig, &canonical, errbuf,
                              errlen);
    if (s != CFFI_OK) return s;
    return intern(sig, text, conv, keep_spelling, canonical, out, errbuf, errlen);
}

cffi_status cffi_sig_parse(const char *text, const char *conv, cffi_sig **out, char *errbuf,
                           size_t errlen) {
    return cffi_sig_parse_in(NULL, text, conv, out, errbuf, errlen);
}

cffi_sig *cffi_sig_ref(cffi_sig *sig) {
    /* The caller holds a reference, so the count cannot be at zero here. */
    if (sig) atomic_fetch_add_explicit(&sig->refs, 1, memory_order_relaxed);
    return sig;
}

void cffi_sig_free(cffi_sig *sig) {
    if (!sig) return;
    /* Not the last reference: drop it without the lock. */
    size_t refs = atomic_load_explicit(&sig->refs, memory_order_relaxed);
    while (refs > 1)
        if (atomic_compare_exchange_weak_explicit(&sig->refs, &refs, refs - 1,
                                                  memory_order_release, memory_order_relaxed))
            return;
    /* Possibly the last: lookups add references only under the lock, so under the lock a count
     * that reaches zero stays there and the object can leave the table safely. */
    cffi_os_lock_take(&table_lock);
    bool last = atomic_fetch_sub_explicit(&sig->refs, 1, memory_order_acq_rel) == 1;
    if (last) table_remove_all((sig_obj *)sig);
    cffi_os_lock_give(&table_lock);
    if (last) sig_obj_destroy((sig_obj *)sig);
}

const char *cffi_sig_text(const cffi_sig *sig) { return sig ? sig->text : NULL; }

const char *cffi_sig_convention(const cffi_sig *sig) { return sig ? sig->abi->name : NULL; }

size_t cffi_sig_nparams(const cffi_sig *sig) { return sig ? sig->nparams : 0; }

cffi_type cffi_sig_param(const cffi_sig *sig, size_t i) {
    return sig && i < sig->nparams ? sig->params[i] : CFFI_T_VOID;
}

cffi_type cffi_sig_result(const cffi_sig *sig) { return sig ? sig->result : CFFI_T_VOID; }

size_t cffi_sig_callee_pop(const cffi_sig *sig) { return sig ? sig->plan->callee_pop : 0; }

size_t cffi_sig_arg_place(const cffi_sig *sig, size_t i, bool *on_stack) {
    bool stack = false;
    size_t offset = 0;
    if (sig && i < sig->nparams) {
        stack = sig->plan->args[i].on_stack != 0;
        offset = sig->plan->args[i].offset;
    }
    if (on_stack) *on_stack = stack;
    return offset;
}

size_t cffi_sig_result_offset(const cffi_sig *sig) { return sig ? sig->plan->ret_offset : 0; }

size_t cffi_sig_arg_width(const cffi_sig *sig, size_t i) {
    return sig && i < sig->nparams ? sig->plan->args[i].width : 0;
}

size_t cffi_sig_stack_size(const cffi_sig *sig) { return sig ? sig->plan->stack_bytes : 0; }

const char *cffi_sig_param_text(const cffi_sig *sig, size_t i) {
    return sig && i < sig->nparams ? ((const sig_obj *)sig)->param_texts[i] : NULL;
}

const char *cffi_sig_result_text(const cffi_sig *sig) {
    return sig ? ((const sig_obj *)sig)->result_text : NULL;
}

const cffi_agg *cffi_sig_param_agg(const cffi_sig *sig, size_t i) {
    return sig && i < sig->nparams ? sig->param_aggs[i] : NULL;
}

const cffi_agg *cffi_sig_result_agg(const cffi_sig *sig) { return sig ? sig->result_agg : NULL; }

size_t cffi_sig_param_size(const cffi_sig *sig, size_t i) {
    if (!sig || i >= sig->nparams) return 0;
    return sig->param_aggs[i] ? sig->param_aggs[i]->size : cffi_type_size(sig->params[i]);
}

bool cffi_sig_variadic(const cffi_sig *sig) { return sig && sig->variadic; }

size_t cffi_sig_result_size(const cffi_sig *sig) {
    if (!sig) return 0;
    return sig->result_agg ? sig->result_agg->size : cffi_type_size(sig->result);
}

/* ---------------------------------------------------------------------------------------------
 * Named types (the grammar reads the declarations, scope.c keeps them).
 */
cffi_status cffi_cdef(cffi_scope *scope, const char *text, char *errbuf, size_t errlen) {
    if (errbuf && errlen) errbuf[0] = '\0';
    if (!text) {
        cffi_errorf(errbuf, errlen, "the declarations are NULL");
        return CFFI_EINVAL;
    }
    cffi_sig_parser p = {.text = text, .errbuf = errbuf, .errlen = errlen, .scope = scope};
    cffi_status s = cffi_sig_grammar_cdef(&p);
    cffi_sig_grammar_release(&p);
    if (s == CFFI_ENOMEM && errbuf && errlen && !errbuf[0]) cffi_errorf(errbuf, errlen, "out of memory");
    return s;
}

cffi_status cffi_type_parse(cffi_scope *scope, const char *text, cffi_typeinfo *out, char *errbuf,
                            size_t errlen) {
    if (errbuf && errlen) errbuf[0] = '\0';
    if (!text || !out) {
        cffi_errorf(errbuf, errlen, "%s is NULL", text ? "the output pointer" : "the type");
        return CFFI_EINVAL;
    }
    *out = (cffi_typeinfo){0};
    cffi_sig_parser p = {.text = text, .errbuf = errbuf, .errlen = errlen, .scope = scope};
    cffi_status s = cffi_sig_grammar_type(&p, out);
    cffi_sig_grammar_release(&p);
    if (s == CFFI_ENOMEM && errbuf && errlen && !errbuf[0]) cffi_errorf(errbuf, errlen, "out of memory");
    return s;
}
