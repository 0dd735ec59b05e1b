/*
 * memory.c - cffi.read, cffi.write, cffi.string, cffi.sizeof and cffi.alignof: access to raw
 * memory by type.
 *
 * Type names are every spelling a signature accepts, and the types cffi.cdef defined (the core's
 * cffi_type_parse decides), cached per module state. Where the pointer is a cffi buffer, offsets
 * and sizes are checked against its bounds; a raw address is the caller's responsibility.
 */
#include "cffi_lua.h"

#include <string.h>

/* The type named at idx, parsed now (cffi_type_parse in the state's scope). */
static cffi_typeinfo parse_type(lua_State *L, int idx, const char *fname) {
    if (lua_type(L, idx) != LUA_TSTRING) cffi_lua_argfail(L, idx, idx, fname, "type name");
    const char *name = cffi_lua_checktext(L, idx, "type name");
    char err[256] = "";
    cffi_typeinfo info;
    cffi_status st = cffi_type_parse(cffi_lua_getstate(L)->scope, name, &info, err, sizeof err);
    if (st != CFFI_OK)
        luaL_argerror(L, idx, lua_pushfstring(L, "unknown type '%s' (%s)", name,
                                              *err ? err : cffi_strerror(st)));
    if (info.type == CFFI_T_VOID)
        luaL_argerror(L, idx, "scalar type expected (or a struct or union), got void");
    return info;
}

/* The type named at idx; raises naming fname on an unknown or void type. Cached per module
 * state: a scalar as its cffi_type, an aggregate as its (immortal) layout. The cached form has no
 * alignment for scalars: cffi.alignof asks parse_type. */
cffi_typeinfo cffi_lua_checktypeinfo(lua_State *L, int idx, const char *fname) {
    if (lua_type(L, idx) != LUA_TSTRING) cffi_lua_argfail(L, idx, idx, fname, "type name");
    lua_getiuservalue(L, cffi_lua_stateidx, CFFI_LUA_UV_TYPECACHE); /* cache */
    lua_pushvalue(L, idx);
    int kind = lua_rawget(L, -2);                                   /* cache, type */
    if (kind == LUA_TNUMBER || kind == LUA_TLIGHTUSERDATA) {
        cffi_typeinfo info = {0};
        if (kind == LUA_TNUMBER) {
            info.type = (cffi_type)lua_tointeger(L, -1);
            info.size = cffi_type_size(info.type);
        } else {
            info.type = CFFI_T_AGG;
            info.agg = lua_touserdata(L, -1);
            info.size = info.agg->size;
            info.align = info.agg->align;
        }
        lua_pop(L, 2);
        return info;
    }
    lua_pop(L, 2);
    cffi_typeinfo info = parse_type(L, idx, fname);
    lua_getiuservalue(L, cffi_lua_stateidx, CFFI_LUA_UV_TYPECACHE); /* cache */
    cffi_lua_state *S = cffi_lua_getstate(L);
    if (++S->typecache_count > CFFI_LUA_CACHE_MAX) { /* spellings without end: start afresh */
        lua_pop(L, 1);
        lua_newtable(L);
        lua_pushvalue(L, -1);
        lua_setiuservalue(L, cffi_lua_stateidx, CFFI_LUA_UV_TYPECACHE);
        S->typecache_count = 1;
    }
    lua_pushvalue(L, idx);
    if (info.agg) lua_pushlightuserdata(L, (void *)info.agg);
    else lua_pushinteger(L, info.type);
    lua_rawset(L, -3);                                              /* cache[name] = type */
    lua_pop(L, 1);
    return info;
}

/* ptr + off with bounds checked for buffers; raises on NULL and out-of-bounds. */
static unsigned char *check_span(lua_State *L, int ptridx, int offidx, size_t size,
                                 const char *fname) {
    size_t limit;
    unsigned char *p = cffi_lua_checkaddr(L, ptridx, false, &limit);
    if (!p) cffi_lua_argfail(L, ptridx, ptridx, fname, "non-NULL pointer");
    lua_Integer off = luaL_optinteger(L, offidx, 0);
    if (limit != SIZE_MAX) {
        if (off < 0 || (lua_Unsigned)off > limit || size > limit - (size_t)off)
            luaL_argerror(L, offidx,
                          lua_pushfstring(L, "out of bounds: %I bytes at offset %I of a %I-byte "
                                             "buffer", (lua_Integer)size, off,
                                          (lua_Integer)limit));
    }
    return p + off;
}

/* cffi.read(ptr, type [, off]): a struct or union as a table of its members. */
static int l_read(lua_State *L) {
    cffi_typeinfo t = cffi_lua_checktypeinfo(L, 2, "read");
    unsigned char *p = check_span(L, 1, 3, t.size, "read");
    if (t.agg) {
        cffi_lua_push_agg(L, t.agg, p);
        return 1;
    }
    union { uint64_t slot; long double ld; } v = {0}; /* room for any scalar */
    memcpy(&v, p, t.size); /* memcpy: the address need not be aligned */
    cffi_lua_push(L, t.type, &v);
    return 1;
}

/* cffi.write(ptr, type, v [, off]): a struct or union from a table of its members (all of them)
 * or a buffer. */
static int l_write(lua_State *L) {
    cffi_typeinfo t = cffi_lua_checktypeinfo(L, 2, "write");
    unsigned char *p = check_span(L, 1, 4, t.size, "write");
    if (t.agg) {
        /* Converted into a copy first: a failure leaves the memory as it was. */
        unsigned char *copy = lua_newuserdatauv(L, t.size, 0);
        cffi_lua_check_agg(L, cffi_lua_getstate(L), 3, t.agg, copy, "bad argument #3 to 'write'");
        memcpy(p, copy, t.size);
        return 0;
    }
    union { uint64_t slot; long double ld; } v = {0}; /* room for any scalar */
    /* No Lua strings: nothing would keep one alive once stored in native memory. */
    const char *expect = cffi_lua_tonative(L, cffi_lua_getstate(L), 3, t.type, &v, false);
    if (expect) cffi_lua_argfail(L, 3, 3, "write", expect);
    memcpy(p, &v, t.size);
    return 0;
}

/* cffi.string(ptr [, len]) */
static int l_string(lua_State *L) {
    size_t limit;
    const char *p = cffi_lua_checkaddr(L, 1, false, &limit);
    if (!p) cffi_lua_argfail(L, 1, 1, "string", "non-NULL pointer");
    if (lua_isnoneornil(L, 2)) {
        /* A buffer need not hold a terminator: stop at its end. */
        size_t len = limit == SIZE_MAX ? strlen(p) : strnlen(p, limit);
        lua_pushlstring(L, p, len);
        return 1;
    }
    lua_Integer len = luaL_checkinteger(L, 2);
    luaL_argcheck(L, len >= 0, 2, "length must not be negative");
    if (limit != SIZE_MAX && (lua_Unsigned)len > limit)
        luaL_argerror(L, 2, lua_pushfstring(L, "out of bounds: %I bytes of a %I-byte buffer", len,
                                            (lua_Integer)limit));
    lua_pushlstring(L, p, (size_t)len);
    return 1;
}

/* cffi.sizeof(type) */
static int l_sizeof(lua_State *L) {
    lua_pushinteger(L, (lua_Integer)cffi_lua_checktypeinfo(L, 1, "sizeof").size);
    return 1;
}

/* cffi.alignof(type) */
static int l_alignof(lua_State *L) {
    lua_pushinteger(L, (lua_Integer)parse_type(L, 1, "alignof").align);
    return 1;
}

static const luaL_Reg module_funcs[] = {
    {"read", l_read},
    {"write", l_write},
    {"string", l_string},
    {"sizeof", l_sizeof},
    {"alignof", l_alignof},
    {NULL, NULL},
};

void cffi_lua_open_memory(lua_State *L) {
    cffi_lua_setfuncs(L, module_funcs);
}
