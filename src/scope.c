/*
 * scope.c - named types: typedef names and struct/union tags that cffi_cdef defines, looked up by
 * the grammar. The process has one scope (scope argument NULL); a host may make more (the Lua
 * binding makes one per Lua state, so scripts in different states cannot see each other's names).
 *
 * Entries are only ever added, never changed or removed while their scope lives, so a pointer from
 * cffi_scope_find stays valid while a parse uses it.
 */
#include "agg.h"

#include <stdlib.h>
#include <string.h>

#include "os/os.h"

typedef struct named_entry {
    struct named_entry *next;
    cffi_named def; /* name and text point into the same allocation */
} named_entry;

struct cffi_scope {
    cffi_os_lock lock;
    named_entry *entries; /* a list: scopes hold tens of names, lookups run once per parse */
};

static cffi_scope process_scope = {CFFI_OS_LOCK_INIT, NULL};

static cffi_scope *resolve(cffi_scope *scope) { return scope ? scope : &process_scope; }

cffi_status cffi_scope_new(cffi_scope **out) {
    if (!out) return CFFI_EINVAL;
    *out = calloc(1, sizeof **out);
    if (!*out) return CFFI_ENOMEM;
    (*out)->lock = (cffi_os_lock)CFFI_OS_LOCK_INIT;
    return CFFI_OK;
}

void cffi_scope_free(cffi_scope *scope) {
    if (!scope || scope == &process_scope) return;
    for (named_entry *e = scope->entries, *next; e; e = next) {
        next = e->next;
        free(e);
    }
    free(scope);
}

/* Caller holds the scope's lock. */
static named_entry *find_locked(cffi_scope *scope, const char *name, size_t len, bool is_tag) {
    for (named_entry *e = scope->entries; e; e = e->next)
        if (e->def.is_tag == is_tag && strlen(e->def.name) == len &&
            memcmp(e->def.name, name, len) == 0)
            return e;
    return NULL;
}

const cffi_named *cffi_scope_find(cffi_scope *scope, const char *name, size_t len, bool is_tag) {
    scope = resolve(scope);
    cffi_os_lock_take(&scope->lock);
    named_entry *e = find_locked(scope, name, len, is_tag);
    cffi_os_lock_give(&scope->lock);
    return e ? &e->def : NULL;
}

static bool same_meaning(const cffi_named *a, const cffi_named *b) {
    return a->type == b->type && a->complete == b->complete && a->is_union == b->is_union &&
           strcmp(a->text, b->text) == 0;
}

/* Whether def may be added next to old (NULL: nothing of that name yet). A forward declaration
 * changes nothing, and a definition completes a forward-declared tag of the same keyword. */
static bool compatible(const cffi_named *old, const cffi_named *def) {
    if (!old) return true;
    if (old->is_tag && old->is_union != def->is_union) return false;
    if (!def->complete || !old->complete) return true;
    return same_meaning(old, def);
}

static named_entry *entry_copy(const cffi_named *def) {
    size_t name_len = strlen(def->name) + 1, text_len = strlen(def->text) + 1;
    named_entry *e = malloc(sizeof *e + name_len + text_len);
    if (!e) return NULL;
    e->next = NULL;
    e->def = *def;
    char *name = (char *)(e + 1), *text = name + name_len;
    memcpy(name, def->name, name_len);
    memcpy(text, def->text, text_len);
    e->def.name = name;
    e->def.text = text;
    return e;
}

cffi_status cffi_scope_add(cffi_scope *scope, const cffi_named *defs, size_t n, char *errbuf,
                           size_t errlen) {
    scope = resolve(scope);
    named_entry *added = NULL, **tail = &added;
    cffi_status status = CFFI_OK;
    cffi_os_lock_take(&scope->lock);
    for (size_t i = 0; i < n && status == CFFI_OK; i++) {
        const cffi_named *def = &defs[i];
        named_entry *old = find_locked(scope, def->name, strlen(def->name), def->is_tag);
        if (!compatible(old ? &old->def : NULL, def)) {
            cffi_errorf(errbuf, errlen, "'%s%s' is already defined as %s (a name keeps its "
                        "first meaning)", def->is_tag ? (def->is_union ? "union " : "struct ") : "",
                        def->name, old->def.complete ? old->def.text : "an incomplete type");
            status = CFFI_EBADTYPE;
            break;
        }
        if (old && (!def->complete || old->def.complete)) continue; /* nothing new */
        named_entry *e = entry_copy(def);
        if (!e) {
            status = CFFI_ENOMEM;
            break;
        }
        *tail = e;
        tail = &e->next;
    }
    if (status == CFFI_OK) {
        /* New entries go first, so that a completed tag is found before its forward declaration. */
        *tail = scope->entries;
        scope->entries = added;
        added = NULL;
    }
    cffi_os_lock_give(&scope->lock);
    for (named_entry *e = added, *next; e; e = next) {
        next = e->next;
        free(e);
    }
    return status;
}
