/*
 * buffer.c - cffi.alloc and the cffi.buffer userdata: zeroed bytes owned by Lua, usable wherever
 * a pointer is expected. The bytes live inside the userdata, so the GC frees them and no __gc is
 * needed.
 */
#include "cffi_lua.h"

#include <string.h>

static cffi_lua_buffer *tobuffer(lua_State *L, int idx) {
    return cffi_lua_checkself(L, idx, cffi_lua_getstate(L)->mt_buffer, CFFI_LUA_BUFFER);
}

/* cffi.alloc(n) */
static int l_alloc(lua_State *L) {
    lua_Integer n = luaL_checkinteger(L, 1);
    luaL_argcheck(L, n >= 0, 1, "size must not be negative");
    luaL_argcheck(L, (lua_Unsigned)n <= (SIZE_MAX - sizeof(cffi_lua_buffer)) / 2, 1,
                  "size too large");
    /* No user value, like callbacks: a buffer and a callback of one size have the same layout,
     * so a test can watch a buffer take a collected callback's block at the callback's very
     * address (spec/05-lifetime_spec.lua). */
    cffi_lua_buffer *b = lua_newuserdatauv(L, sizeof *b + (size_t)n, 0);
    b->size = (size_t)n;
    memset(b->data, 0, (size_t)n);
    cffi_lua_setmeta(L, CFFI_LUA_UV_MT_BUFFER);
    return 1;
}

static int buf_addr(lua_State *L) {
    lua_pushinteger(L, (lua_Integer)(uintptr_t)tobuffer(L, 1)->data);
    return 1;
}

static int buf_ptr(lua_State *L) {
    lua_pushlightuserdata(L, tobuffer(L, 1)->data);
    return 1;
}

static int buf_len(lua_State *L) {
    lua_pushinteger(L, (lua_Integer)tobuffer(L, 1)->size);
    return 1;
}

static int buf_tostring(lua_State *L) {
    cffi_lua_buffer *b = tobuffer(L, 1);
    char addr[CFFI_LUA_ADDR_LEN];
    lua_pushfstring(L, CFFI_LUA_BUFFER "<%I>: %s", (lua_Integer)b->size,
                    cffi_lua_addr_text(addr, b->data));
    return 1;
}

static const luaL_Reg buf_meta[] = {
    {"__len", buf_len},
    {"__tostring", buf_tostring},
    {NULL, NULL},
};

static const luaL_Reg buf_methods[] = {
    {"addr", buf_addr},
    {"ptr", buf_ptr},
    {NULL, NULL},
};

static const luaL_Reg module_funcs[] = {{"alloc", l_alloc}, {NULL, NULL}};

void cffi_lua_open_buffer(lua_State *L) {
    cffi_lua_newmeta(L, CFFI_LUA_BUFFER, buf_meta, buf_methods);
    cffi_lua_setfuncs(L, module_funcs);
}
