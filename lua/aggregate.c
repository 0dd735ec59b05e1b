/*
 * aggregate.c - structs and unions by value in Lua: cffi.cdef, the conversions between a struct
 * and a table (a struct argument arrives in a callback as a table of its fields; a struct is taken
 * from a table with the fields, or from a buffer of at least its size), and calls of native
 * functions whose signature has one.
 *
 * A table is a copy: it stays valid after the call, can be kept and passed on, and reading it
 * costs what reading any table does. Members convert as the scalars of a signature do; an array
 * member is a sequence (1-based), a nested struct a nested table, and the members of an anonymous
 * struct or union member are fields of the enclosing table.
 */
#include "convert.h"

#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------------------------------
 * Native -> Lua.
 */
static void push_fields(lua_State *L, const cffi_agg *agg, const unsigned char *p);

/* One value of a member (scalar or aggregate) at p, which need not be aligned (packing). */
static void push_member(lua_State *L, cffi_type type, const cffi_agg *agg, const unsigned char *p) {
    if (type == CFFI_T_AGG) {
        lua_createtable(L, 0, (int)agg->nfields);
        push_fields(L, agg, p);
        return;
    }
    union { uint64_t slot; long double ld; } aligned = {0}; /* room for any scalar */
    memcpy(&aligned, p, cffi_type_size(type));
    cffi_lua_push(L, type, &aligned);
}

/* Every member of agg at p into the table on the top. */
static void push_fields(lua_State *L, const cffi_agg *agg, const unsigned char *p) {
    luaL_checkstack(L, 4, "struct nested too deeply");
    for (size_t i = 0; i < agg->nfields; i++) {
        const cffi_field *f = &agg->fields[i];
        const unsigned char *at = p + f->offset;
        if (!f->name[0]) { /* an anonymous member: its fields are the enclosing struct's */
            push_fields(L, f->agg, at);
            continue;
        }
        if (f->count) {
            size_t step = f->type == CFFI_T_AGG ? f->agg->size : cffi_type_size(f->type);
            lua_createtable(L, (int)f->count, 0);
            for (size_t k = 0; k < f->count; k++) {
                push_member(L, f->type, f->agg, at + k * step);
                lua_rawseti(L, -2, (lua_Integer)k + 1);
            }
        } else {
            push_member(L, f->type, f->agg, at);
        }
        lua_setfield(L, -2, f->name);
    }
}

void cffi_lua_push_agg(lua_State *L, const cffi_agg *agg, const void *p) {
    lua_createtable(L, 0, (int)agg->nfields);
    push_fields(L, agg, p);
}

/* ---------------------------------------------------------------------------------------------
 * Lua -> native.
 */

/* Where a conversion is, for its message: "field 'pos.y'", "field 'm[3]'". */
typedef struct path {
    char text[128];
    size_t len;
} path;

/* Append text to the path; returns the length before, for path_pop. */
static size_t path_push(path *at, const char *text) {
    size_t mark = at->len;
    int n = snprintf(at->text + at->len, sizeof at->text - at->len, "%s", text);
    if (n > 0) at->len += (size_t)n;
    if (at->len >= sizeof at->text) at->len = sizeof at->text - 1;
    return mark;
}

/* ".name" (or "name" first) and "[k]". */
static size_t path_push_name(path *at, const char *name) {
    size_t mark = path_push(at, at->len ? "." : "");
    path_push(at, name);
    return mark;
}

static size_t path_push_index(path *at, size_t index) {
    char text[32];
    snprintf(text, sizeof text, "[%zu]", index);
    return path_push(at, text);
}

static void path_pop(path *at, size_t mark) {
    at->len = mark;
    at->text[mark] = '\0';
}

typedef struct conversion {
    const cffi_lua_state *S;
    const char *what; /* "bad argument #2 to 'call'", "bad result", ... */
    path at;
} conversion;

static void fields_from(lua_State *L, conversion *c, int idx, const cffi_agg *agg,
                        unsigned char *out);

static int fail(lua_State *L, conversion *c, int idx, const char *expected) {
    return luaL_error(L, "%s (field '%s': %s expected, got %s)", c->what, c->at.text, expected,
                      lua_isnone(L, idx) ? "no value" : luaL_typename(L, idx));
}

/* The value at idx as one member value (scalar or aggregate) at out. */
static void member_from(lua_State *L, conversion *c, int idx, cffi_type type, const cffi_agg *agg,
                        unsigned char *out) {
    if (type == CFFI_T_AGG) {
        if (!lua_istable(L, idx)) fail(L, c, idx, "table");
        fields_from(L, c, idx, agg, out);
        return;
    }
    union { uint64_t slot; long double ld; } value = {0}; /* room for any scalar */
    /* No Lua strings: nothing would keep one alive inside the struct's copy. */
    const char *expected = cffi_lua_tonative(L, c->S, idx, type, &value, false);
    if (expected) fail(L, c, idx, expected);
    memcpy(out, &value, cffi_type_size(type));
}

/* Every member of agg from the table at idx into out. */
static void fields_from(lua_State *L, conversion *c, int idx, const cffi_agg *agg,
                        unsigned char *out) {
    luaL_checkstack(L, 4, "struct nested too deeply");
    idx = lua_absindex(L, idx);
    for (size_t i = 0; i < agg->nfields; i++) {
        const cffi_field *f = &agg->fields[i];
        unsigned char *at = out + f->offset;
        if (!f->name[0]) {
            fields_from(L, c, idx, f->agg, at);
            continue;
        }
        size_t mark = path_push_name(&c->at, f->name);
        lua_getfield(L, idx, f->name);
        if (f->count) {
            if (!lua_istable(L, -1)) fail(L, c, -1, "table (an array)");
            size_t step = f->type == CFFI_T_AGG ? f->agg->size : cffi_type_size(f->type);
            for (size_t k = 0; k < f->count; k++) {
                size_t elem = path_push_index(&c->at, k + 1);
                lua_rawgeti(L, -1, (lua_Integer)k + 1);
                member_from(L, c, -1, f->type, f->agg, at + k * step);
                lua_pop(L, 1);
                path_pop(&c->at, elem);
            }
        } else {
            member_from(L, c, -1, f->type, f->agg, at);
        }
        lua_pop(L, 1);
        path_pop(&c->at, mark);
    }
}

void cffi_lua_check_agg(lua_State *L, const cffi_lua_state *S, int idx, const cffi_agg *agg,
                        void *out, const char *what) {
    memset(out, 0, agg->size); /* padding, and the bytes of a union beyond the member set */
    size_t limit;
    if (cffi_lua_kind(L, S, idx) == CFFI_LUA_IS_BUFFER) { /* the bytes of one, as they are */
        const void *p = cffi_lua_checkaddr(L, idx, false, &limit);
        if (limit < agg->size)
            luaL_error(L, "%s (a %I-byte buffer holds no %I-byte %s)", what, (lua_Integer)limit,
                       (lua_Integer)agg->size, agg->is_union ? "union" : "struct");
        memcpy(out, p, agg->size);
        return;
    }
    if (!lua_istable(L, idx))
        luaL_error(L, "%s (table or buffer expected for %s, got %s)", what, agg->text,
                   luaL_typename(L, idx));
    conversion c = {S, what, {"", 0}};
    fields_from(L, &c, idx, agg, out);
}

/* ---------------------------------------------------------------------------------------------
 * Calls through signatures with aggregates or "...": every argument converted into a value of its
 * type, then cffi_call or cffi_call_variadic (frame calls cannot place either).
 */

/* The type a variadic argument is passed as, from its Lua value: an integer as int when it fits
 * (what %d and most varargs APIs read), else long long; any other number as double; a boolean as
 * int; a string as const char *; nil and cffi's userdata as pointers. */
static cffi_type variadic_type(lua_State *L, int idx) {
    switch (lua_type(L, idx)) {
    case LUA_TNUMBER:
        if (lua_isinteger(L, idx)) {
            lua_Integer v = lua_tointeger(L, idx);
            return v >= INT32_MIN && v <= INT32_MAX ? CFFI_T_INT32 : CFFI_T_INT64;
        }
        return CFFI_T_DOUBLE;
    case LUA_TBOOLEAN: return CFFI_T_INT32;
    case LUA_TSTRING: return CFFI_T_CSTR;
    case LUA_TNIL: case LUA_TLIGHTUSERDATA: case LUA_TUSERDATA: return CFFI_T_PTR;
    default: return CFFI_T_VOID;
    }
}

/* Argument i (Lua index idx) into at, as type t (or the aggregate agg). */
static void convert_arg(lua_State *L, const cffi_lua_state *S, const cffi_lua_sig *s, size_t i,
                        int idx, int shown, cffi_type t, const cffi_agg *agg, unsigned char *at,
                        const char *fname) {
    if (agg) {
        char what[64];
        snprintf(what, sizeof what, "bad argument #%d to '%s'", shown, fname);
        cffi_lua_check_agg(L, S, idx, agg, at, what);
        return;
    }
    union { uint64_t slot; long double ld; } slot = {0}; /* room for any scalar */
    if (t == CFFI_T_INT32 && lua_type(L, idx) == LUA_TBOOLEAN) {
        slot.slot = (uint64_t)lua_toboolean(L, idx);
    } else {
        const char *expect = cffi_lua_tonative(L, S, idx, t, &slot, true);
        if (expect) {
            const char *spelled = i < s->nparams ? cffi_sig_param_text(s->sig, i) : NULL;
            cffi_lua_argfail(L, idx, shown, fname, spelled ? spelled : expect);
        }
    }
    memcpy(at, &slot, cffi_type_size(t));
}

int cffi_lua_callnative_generic(lua_State *L, const cffi_lua_state *S, const cffi_lua_sig *s,
                                void *fn, int first, int given, int shown_first,
                                const char *fname, bool anchored) {
    cffi_sig *sig = s->sig;
    if (given != s->nparams && !(s->variadic && given > s->nparams))
        return luaL_error(L, "wrong number of arguments to '%s' (%s%d expected for %s, got %d)",
                          fname, s->variadic ? "at least " : "", (int)s->nparams,
                          cffi_sig_text(sig), given);
    size_t n = (size_t)given, nfixed = s->nparams, nextra = n - nfixed;
    if (n > CFFI_MAX_PARAMS)
        return luaL_error(L, "too many arguments to '%s' (at most %d)", fname, CFFI_MAX_PARAMS);
    size_t rsize = (cffi_sig_result_size(sig) + 15) / 16 * 16, bytes = rsize;
    for (size_t i = 0; i < n; i++)
        bytes += i < nfixed ? (cffi_sig_param_size(sig, i) + 15) / 16 * 16 : 16;
    /* The values live in a userdata, so that an error raised while converting frees them. */
    unsigned char *values = lua_newuserdatauv(L, bytes + n * (sizeof(void *) + 1), 0);
    void **args = (void **)(values + bytes);
    cffi_type *extra = (cffi_type *)lua_newuserdatauv(L, (nextra + 1) * sizeof(cffi_type), 0);
    unsigned char *at = values + rsize;
    for (size_t i = 0; i < n; i++) {
        int idx = first + (int)i, shown = shown_first + (int)i;
        cffi_type t = i < nfixed ? (cffi_type)s->params[i] : variadic_type(L, idx);
        if (t == CFFI_T_VOID)
            cffi_lua_argfail(L, idx, shown, fname, "number, boolean, string, nil or pointer "
                                                   "(a variadic argument)");
        if (i >= nfixed) extra[i - nfixed] = t;
        args[i] = at;
        convert_arg(L, S, s, i, idx, shown, t, i < nfixed ? cffi_sig_param_agg(sig, i) : NULL,
                    at, fname);
        at += i < nfixed ? (cffi_sig_param_size(sig, i) + 15) / 16 * 16 : 16;
    }
    if (!anchored) cffi_sig_ref(sig);
    cffi_status st = s->variadic ? cffi_call_variadic(sig, fn, values, args, nextra, extra)
                                 : cffi_call(sig, fn, values, args);
    const cffi_agg *ret_agg = cffi_sig_result_agg(sig);
    cffi_type result = cffi_sig_result(sig);
    if (!anchored) cffi_sig_free(sig);
    if (st != CFFI_OK) return luaL_error(L, "%s: %s", fname, cffi_strerror(st));
    if (result == CFFI_T_VOID) return 0;
    if (ret_agg) cffi_lua_push_agg(L, ret_agg, values);
    else cffi_lua_push(L, result, values);
    return 1;
}

/* ---------------------------------------------------------------------------------------------
 * cffi.cdef(text), cffi.offsetof(type, field)
 */
static int l_cdef(lua_State *L) {
    cffi_lua_state *S = cffi_lua_getstate(L);
    const char *text = cffi_lua_checktext(L, 1, "declarations");
    if (!text) cffi_lua_argfail(L, 1, 1, "cdef", "string");
    if (S->closing || !S->scope) return luaL_error(L, "cdef: the Lua state is closing");
    char err[256] = "";
    cffi_status st = cffi_cdef(S->scope, text, err, sizeof err);
    if (st == CFFI_ENOMEM) return luaL_error(L, "cdef: out of memory");
    if (st != CFFI_OK) luaL_argerror(L, 1, *err ? err : cffi_strerror(st));
    return 0;
}

/* The member named name[0, len) of agg, looking into anonymous members; *offset gets its offset
 * from the start of agg. */
static const cffi_field *find_member(const cffi_agg *agg, const char *name, size_t len,
                                     size_t *offset) {
    for (size_t i = 0; i < agg->nfields; i++) {
        const cffi_field *f = &agg->fields[i];
        if (!f->name[0]) {
            const cffi_field *inside = find_member(f->agg, name, len, offset);
            if (inside) {
                *offset += f->offset;
                return inside;
            }
        } else if (strlen(f->name) == len && memcmp(f->name, name, len) == 0) {
            *offset = f->offset;
            return f;
        }
    }
    return NULL;
}

/* "a.b", "m[3]" or "m[3].x" (0-based, as in C): the offset of that member of agg. */
static bool member_offset(const cffi_agg *agg, const char *name, size_t *offset) {
    size_t total = 0;
    for (;;) {
        size_t len = strcspn(name, ".["), at = 0;
        const cffi_field *f = find_member(agg, name, len, &at);
        if (!f) return false;
        total += at;
        name += len;
        if (*name == '[') {
            char *end;
            unsigned long k = strtoul(name + 1, &end, 10);
            if (end == name + 1 || *end != ']' || !f->count || k >= f->count) return false;
            total += k * (f->type == CFFI_T_AGG ? f->agg->size : cffi_type_size(f->type));
            name = end + 1;
        }
        if (!*name) {
            *offset = total;
            return true;
        }
        if (*name != '.' || f->type != CFFI_T_AGG) return false;
        name++;
        agg = f->agg;
    }
}

static int l_offsetof(lua_State *L) {
    cffi_typeinfo info = cffi_lua_checktypeinfo(L, 1, "offsetof");
    const char *field = luaL_checkstring(L, 2);
    size_t offset = 0;
    if (!info.agg)
        luaL_argerror(L, 1, lua_pushfstring(L, "struct or union expected, got %s",
                                            lua_tostring(L, 1)));
    if (!member_offset(info.agg, field, &offset))
        luaL_argerror(L, 2, lua_pushfstring(L, "no member '%s' in %s", field, info.agg->text));
    lua_pushinteger(L, (lua_Integer)offset);
    return 1;
}

static const luaL_Reg module_funcs[] = {
    {"cdef", l_cdef},
    {"offsetof", l_offsetof},
    {NULL, NULL},
};

void cffi_lua_open_aggregate(lua_State *L) {
    cffi_lua_setfuncs(L, module_funcs);
}
