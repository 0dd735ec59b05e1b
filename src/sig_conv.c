/*
 * sig_conv.c - calling-convention names: what each name a user may write (a convention argument,
 * a keyword or attribute in the text) means on this target, from the target's table
 * (src/arch/<target>/conventions.c), and the messages for names it does not know.
 */
#include "sig_grammar.h"

#include <stdio.h>
#include <string.h>

/* Every convention name any port knows. A name here but not in this port's table has no meaning
 * on this platform, which deserves a different message than a misspelling. The Microsoft-only
 * ones at the end are recognised in the text so that they fail as conventions, not as types. */
static const char *const known_conventions[] = {
    "c", "cdecl", "stdcall", "fastcall", "thiscall", "sysv64", "win64", "system", "efiapi",
    "aapcs", "aapcs64", "aapcs_vfp",
};
static const char *const microsoft_only_conventions[] = {
    "vectorcall", "regcall", "pascal", "clrcall",
};

static bool span_equals_nocase(const char *a, size_t alen, const char *b) {
    size_t blen = strlen(b);
    if (alen != blen) return false;
    for (size_t i = 0; i < alen; i++) {
        unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];
        if (x >= 'A' && x <= 'Z') x = (unsigned char)(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z') y = (unsigned char)(y - 'A' + 'a');
        if (x != y) return false;
    }
    return true;
}

const char *cffi_conv_canonical_of(const char *name, size_t len) {
    while (len > 0 && *name == '_') name++, len--;
    for (const cffi_conv_name *c = cffi_arch_conv_names; c->name; c++)
        if (span_equals_nocase(name, len, c->name)) return c->canonical;
    return NULL;
}

static bool known_anywhere(const char *name, size_t len) {
    while (len > 0 && *name == '_') name++, len--;
    for (size_t i = 0; i < sizeof known_conventions / sizeof *known_conventions; i++)
        if (span_equals_nocase(name, len, known_conventions[i])) return true;
    return false;
}

/* "unknown calling convention 'x'; accepted here: C, cdecl, ..." after an optional prefix. */
void cffi_conv_unknown_error(char *errbuf, size_t errlen, const char *prefix, const char *name,
                             size_t len) {
    char accepted[512];
    size_t used = 0;
    accepted[0] = '\0';
    for (const cffi_conv_name *c = cffi_arch_conv_names; c->name; c++) {
        /* "C" is how every document spells the default convention. */
        const char *shown = strcmp(c->name, "c") == 0 ? "C" : c->name;
        int n = snprintf(accepted + used, sizeof accepted - used, "%s%s", used ? ", " : "", shown);
        if (n < 0 || (size_t)n >= sizeof accepted - used) break;
        used += (size_t)n;
    }
    const char *why = known_anywhere(name, len) ? "; it has no meaning on " CFFI_ARCH_NAME : "";
    cffi_errorf(errbuf, errlen, "%sunknown calling convention '%.*s'%s; accepted here: %s",
                prefix, (int)len, name, why, accepted);
}

const cffi_abi *cffi_conv_abi_named(const char *canonical) {
    for (const cffi_abi *const *a = cffi_arch_abis; *a; a++)
        if (strcmp((*a)->name, canonical) == 0) return *a;
    return NULL;
}

size_t cffi_convention_count(void) {
    size_t n = 0;
    while (cffi_arch_conv_names[n].name) n++;
    return n;
}

const char *cffi_convention_name(size_t i, const char **canonical) {
    if (i >= cffi_convention_count()) {
        if (canonical) *canonical = NULL;
        return NULL;
    }
    if (canonical) *canonical = cffi_arch_conv_names[i].canonical;
    return cffi_arch_conv_names[i].name;
}

const char *cffi_convention_canonical(const char *conv) {
    return conv ? cffi_conv_canonical_of(conv, strlen(conv)) : NULL;
}

const char *cffi_conv_keyword(const char *name, size_t len) {
    const char *found = NULL;
    for (size_t i = 0; i < sizeof known_conventions / sizeof *known_conventions; i++)
        if (strlen(known_conventions[i]) == len && memcmp(name, known_conventions[i], len) == 0)
            found = known_conventions[i];
    for (size_t i = 0;
         i < sizeof microsoft_only_conventions / sizeof *microsoft_only_conventions; i++)
        if (strlen(microsoft_only_conventions[i]) == len &&
            memcmp(name, microsoft_only_conventions[i], len) == 0)
            found = microsoft_only_conventions[i];
    return found;
}
