/*
 * agg.c - interned aggregate layouts. A layout is immutable and kept until the process ends:
 * signatures, closures and the Lua binding hold plain pointers to it, and the number of distinct
 * layouts a program uses is small (each costs its text and member table once).
 */
#include "agg.h"

#include <stdlib.h>
#include <string.h>

#include "os/os.h"

typedef struct agg_obj {
    cffi_agg pub; /* first: a cffi_agg * is an agg_obj * */
    struct agg_obj *next;
    uint64_t hash;
    bool misaligned;
} agg_obj;

#define AGG_BUCKETS 256
static agg_obj *buckets[AGG_BUCKETS];
static cffi_os_lock agg_lock = CFFI_OS_LOCK_INIT;

static uint64_t text_hash(const char *s) {
    uint64_t h = 1469598103934665603u; /* FNV-1a */
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211u;
    return h;
}

/* One allocation: the object, the member table, the names and the text. */
static agg_obj *agg_new(const char *text, const cffi_field *fields, size_t n) {
    size_t names = 0;
    for (size_t i = 0; i < n; i++) names += strlen(fields[i].name) + 1;
    size_t text_len = strlen(text) + 1;
    agg_obj *a = calloc(1, sizeof *a + n * sizeof *fields + names + text_len);
    if (!a) return NULL;
    cffi_field *copy = (cffi_field *)(a + 1);
    char *strings = (char *)(copy + n);
    for (size_t i = 0; i < n; i++) {
        copy[i] = fields[i];
        size_t len = strlen(fields[i].name) + 1;
        memcpy(strings, fields[i].name, len);
        copy[i].name = strings;
        strings += len;
    }
    memcpy(strings, text, text_len);
    a->pub.text = strings;
    a->pub.fields = copy;
    a->pub.nfields = n;
    return a;
}

const cffi_agg *cffi_agg_intern(const char *text, const cffi_field *fields, size_t n, size_t size,
                                size_t align, bool is_union, bool misaligned) {
    uint64_t h = text_hash(text);
    cffi_os_lock_take(&agg_lock);
    for (agg_obj *a = buckets[h % AGG_BUCKETS]; a; a = a->next)
        if (a->hash == h && strcmp(a->pub.text, text) == 0) {
            cffi_os_lock_give(&agg_lock);
            return &a->pub;
        }
    agg_obj *a = agg_new(text, fields, n);
    if (a) {
        a->pub.size = size;
        a->pub.align = align;
        a->pub.is_union = is_union;
        a->misaligned = misaligned;
        a->hash = h;
        a->next = buckets[h % AGG_BUCKETS];
        buckets[h % AGG_BUCKETS] = a;
    }
    cffi_os_lock_give(&agg_lock);
    return a ? &a->pub : NULL;
}

bool cffi_agg_misaligned(const cffi_agg *agg) {
    return agg != &cffi_ldouble_layout && ((const agg_obj *)agg)->misaligned;
}

/* long double as the placement sees it: a value of its size and alignment, of one member. */
static const cffi_field ldouble_field = {"", 0, CFFI_T_LDOUBLE, NULL, 0};
const cffi_agg cffi_ldouble_layout = {sizeof(long double), _Alignof(long double), false, 1,
                                      &ldouble_field, "long double"};

bool cffi_agg_walk(const cffi_agg *agg, size_t base, cffi_agg_visitor visit, void *ctx) {
    for (size_t i = 0; i < agg->nfields; i++) {
        const cffi_field *f = &agg->fields[i];
        size_t count = f->count ? f->count : 1;
        size_t step = f->type == CFFI_T_AGG ? f->agg->size : cffi_type_size(f->type);
        for (size_t k = 0; k < count; k++) {
            size_t at = base + f->offset + k * step;
            bool go = f->type == CFFI_T_AGG ? cffi_agg_walk(f->agg, at, visit, ctx)
                                            : visit(ctx, at, f->type);
            if (!go) return false;
        }
    }
    return true;
}

/* Where the compiler puts a member of each type after a char: its alignment inside a struct. */
#define MEMBER_ALIGN(T) offsetof(struct { char c; T m; }, m)

size_t cffi_member_align(cffi_type t) {
    switch (t) {
    case CFFI_T_BOOL: return MEMBER_ALIGN(_Bool);
    case CFFI_T_INT8: case CFFI_T_UINT8: return MEMBER_ALIGN(int8_t);
    case CFFI_T_INT16: case CFFI_T_UINT16: return MEMBER_ALIGN(int16_t);
    case CFFI_T_INT32: case CFFI_T_UINT32: return MEMBER_ALIGN(int32_t);
    case CFFI_T_INT64: case CFFI_T_UINT64: return MEMBER_ALIGN(int64_t);
    case CFFI_T_FLOAT: return MEMBER_ALIGN(float);
    case CFFI_T_DOUBLE: return MEMBER_ALIGN(double);
    case CFFI_T_PTR: case CFFI_T_CSTR: case CFFI_T_CPTR: return MEMBER_ALIGN(void *);
    case CFFI_T_LDOUBLE: return MEMBER_ALIGN(long double);
    case CFFI_T_VOID: case CFFI_T_AGG: case CFFI_T_COUNT: break;
    }
    return 1;
}
