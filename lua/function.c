/*
 * function.c - cffi.cast (the cffi.function userdata: a callable view of any native address,
 * not owned) and cffi.call (a one-shot call).
 */
#include "cffi_lua.h"

static cffi_lua_function *tofunction_in(lua_State *L, const cffi_lua_state *S, int idx) {
    return cffi_lua_checkself(L, idx, S->mt_function, CFFI_LUA_FUNCTION);
}

static cffi_lua_function *tofunction(lua_State *L, int idx) {
    return tofunction_in(L, cffi_lua_getstate(L), idx);
}

/* The target address of cast and call: any pointer-like value except NULL. */
static void *check_target(lua_State *L, int idx, const char *fname) {
    size_t limit;
    void *p = cffi_lua_checkaddr(L, idx, false, &limit);
    if (!p) cffi_lua_argfail(L, idx, idx, fname, "non-NULL function pointer");
    return p;
}

/* cffi.cast(addr, sig [, conv]) */
static int l_cast(lua_State *L) {
    void *addr = check_target(L, 1, "cast");
    lua_settop(L, 3);
    const cffi_lua_sig *s = cffi_lua_checksig(L, cffi_lua_getstate(L), 2, 3, "cast", true);
    cffi_lua_function *f = lua_newuserdatauv(L, sizeof *f, 1);
    f->addr = addr;
    f->sig = s;
    lua_insert(L, -2);             /* view, sig */
    lua_setiuservalue(L, -2, 1);   /* the view anchors its signature */
    cffi_lua_setmeta(L, CFFI_LUA_UV_MT_FUNCTION);
    return 1;
}

/* cffi.call(addr, sig, conv, ...) */
static int l_call(lua_State *L) {
    cffi_lua_state *S = cffi_lua_getstate(L);
    void *addr = check_target(L, 1, "call");
    /* Nothing anchors s but the caches, which a callback run by the call can make drop it:
     * callnative reads s only before the call, and holds the core signature itself. */
    const cffi_lua_sig *s = cffi_lua_checksig(L, S, 2, 3, "call", false);
    if (lua_gettop(L) < 3) lua_settop(L, 3); /* cffi.call(addr, sig) with no convention */
    return cffi_lua_callnative(L, S, s, addr, 4, 4, "call", false);
}

static int fn_call(lua_State *L) {
    const cffi_lua_state *S = cffi_lua_getstate(L);
    cffi_lua_function *f = tofunction_in(L, S, 1);
    /* Lua passes the view itself first: the caller's argument #1 is stack index 2. */
    return cffi_lua_callnative(L, S, f->sig, f->addr, 2, 1, CFFI_LUA_FUNCTION, true);
}

static int fn_tostring(lua_State *L) {
    cffi_lua_function *f = tofunction(L, 1);
    char addr[CFFI_LUA_ADDR_LEN];
    if (!f->sig->sig) { /* only while the state closes */
        lua_pushfstring(L, CFFI_LUA_FUNCTION "<?>: %s", cffi_lua_addr_text(addr, f->addr));
        return 1;
    }
    lua_pushfstring(L, CFFI_LUA_FUNCTION "<%s %s>: %s", cffi_sig_text(f->sig->sig),
                    cffi_sig_convention(f->sig->sig), cffi_lua_addr_text(addr, f->addr));
    return 1;
}

static int fn_addr(lua_State *L) {
    lua_pushinteger(L, (lua_Integer)(uintptr_t)tofunction(L, 1)->addr);
    return 1;
}

static int fn_ptr(lua_State *L) {
    lua_pushlightuserdata(L, tofunction(L, 1)->addr);
    return 1;
}

static int fn_signature(lua_State *L) {
    lua_pushstring(L, cffi_sig_text(tofunction(L, 1)->sig->sig));
    return 1;
}

static int fn_convention(lua_State *L) {
    lua_pushstring(L, cffi_sig_convention(tofunction(L, 1)->sig->sig));
    return 1;
}

static const luaL_Reg fn_meta[] = {
    {"__call", fn_call},
    {"__tostring", fn_tostring},
    {NULL, NULL},
};

static const luaL_Reg fn_methods[] = {
    {"addr", fn_addr},
    {"ptr", fn_ptr},
    {"signature", fn_signature},
    {"convention", fn_convention},
    {NULL, NULL},
};

static const luaL_Reg module_funcs[] = {{"cast", l_cast}, {"call", l_call}, {NULL, NULL}};

void cffi_lua_open_function(lua_State *L) {
    cffi_lua_newmeta(L, CFFI_LUA_FUNCTION, fn_meta, fn_methods);
    cffi_lua_setfuncs(L, module_funcs);
}
