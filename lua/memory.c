/*
 * memory.c - cffi.read, cffi.write, cffi.string and cffi.sizeof: scalar access to raw memory.
 *
 * Type names are every spelling a signature accepts (the core's parser decides, by parsing
 * "<name>()"), cached per module state. Where the pointer is a cffi buffer, offsets and sizes are
 * checked against its bounds; a raw address is the caller's responsibility.
 */
#include "cffi_lua.h"

#include <string.h>

/* The scalar type named at idx; raises naming fname on an unknown or void type. */
static cffi_type check_type(lua_State *L, int idx, const char *fname) {
    if (lua_type(L, idx) != LUA_TSTRING) cffi_lua_argfail(L, idx, idx, fname, "type name");
    lua_getiuservalue(L, cffi_lua_stateidx, CFFI_LUA_UV_TYPECACHE); /* cache */
    lua_pushvalue(L, idx);
    if (lua_rawget(L, -2) == LUA_TNUMBER) {                         /* cache, type */
        cffi_type t = (cffi_type)lua_tointeger(L, -1);
        lua_pop(L, 2);
        return t;
    }
    lua_pop(L, 1);                                                  /* cache */
    const char *name = cffi_lua_checktext(L, idx, "type name");
    const char *text = lua_pushfstring(L, "%s()", name);            /* cache, text */
    char err[256] = "";
    cffi_sig *sig = NULL;
    cffi_status st = cffi_sig_parse(text, NULL, &sig, err, sizeof err);
    if (st != CFFI_OK)
        luaL_argerror(L, idx, lua_pushfstring(L, "unknown type '%s' (%s)", name,
                                              *err ? err : cffi_strerror(st)));
    cffi_type t = cffi_sig_result(sig);
    cffi_sig_free(sig);
    if (t == CFFI_T_VOID) luaL_argerror(L, idx, "scalar type expected, got void");
    lua_pop(L, 1);                                                  /* cache */
    cffi_lua_state *S = cffi_lua_getstate(L);
    if (++S->typecache_count > CFFI_LUA_CACHE_MAX) { /* spellings without end: start afresh */
        lua_pop(L, 1);
        lua_newtable(L);
        lua_pushvalue(L, -1);
        lua_setiuservalue(L, cffi_lua_stateidx, CFFI_LUA_UV_TYPECACHE);
        S->typecache_count = 1;
    }
    lua_pushvalue(L, idx);
    lua_pushinteger(L, t);
    lua_rawset(L, -3);                                              /* cache[name] = t */
    lua_pop(L, 1);
    return t;
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

/* cffi.read(ptr, type [, off]) */
static int l_read(lua_State *L) {
    cffi_type t = check_type(L, 2, "read");
    size_t n = cffi_type_size(t);
    unsigned char *p = check_span(L, 1, 3, n, "read");
    uint64_t v = 0;
    memcpy(&v, p, n); /* memcpy: the address need not be aligned */
    cffi_lua_push(L, t, &v);
    return 1;
}

/* cffi.write(ptr, type, v [, off]) */
static int l_write(lua_State *L) {
    cffi_type t = check_type(L, 2, "write");
    size_t n = cffi_type_size(t);
    unsigned char *p = check_span(L, 1, 4, n, "write");
    uint64_t v = 0;
    /* No Lua strings: nothing would keep one alive once stored in native memory. */
    const char *expect = cffi_lua_tonative(L, cffi_lua_getstate(L), 3, t, &v, false);
    if (expect) cffi_lua_argfail(L, 3, 3, "write", expect);
    memcpy(p, &v, n);
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
    lua_pushinteger(L, (lua_Integer)cffi_type_size(check_type(L, 1, "sizeof")));
    return 1;
}

static const luaL_Reg module_funcs[] = {
    {"read", l_read},
    {"write", l_write},
    {"string", l_string},
    {"sizeof", l_sizeof},
    {NULL, NULL},
};

void cffi_lua_open_memory(lua_State *L) {
    cffi_lua_setfuncs(L, module_funcs);
}
