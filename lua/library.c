/*
 * library.c - cffi.load and the cffi.library userdata: a library handle (os/os.h) owned by Lua,
 * closed by lib:close() only (liolib's pattern: created empty, one idempotent release).
 *
 * The collector never closes a library: scripts keep addresses from a library (cffi.cast views,
 * integers handed to C) and drop the handle, and unloading the code under them would crash the
 * next call. Lua's package.loadlib and Python's ctypes keep libraries loaded the same way. A
 * handle collected without close() leaves the library loaded for the rest of the process, like
 * a library opened and never closed (a second cffi.load of it costs a reference count, not a copy).
 */
#include "cffi_lua.h"
#include "os/os.h"

typedef struct llibrary {
    void *handle; /* NULL when empty or closed */
} llibrary;

static llibrary *tolibrary(lua_State *L, int idx) {
    return luaL_checkudata(L, idx, CFFI_LUA_LIBRARY);
}

static void release(llibrary *lib) {
    cffi_os_lib_close(lib->handle);
    lib->handle = NULL;
}

/* cffi.load(path) */
static int l_load(lua_State *L) {
    luaL_checkstring(L, 1);
    const char *path = cffi_lua_checktext(L, 1, "library path");
    llibrary *lib = lua_newuserdatauv(L, sizeof *lib, 0);
    lib->handle = NULL;
    luaL_setmetatable(L, CFFI_LUA_LIBRARY);
    char err[512];
    if (cffi_os_lib_open(path, &lib->handle, err, sizeof err) != 0) {
        luaL_pushfail(L);
        lua_pushfstring(L, "cannot load '%s': %s", path, err);
        return 2;
    }
    return 1;
}

int cffi_lua_pushsym(lua_State *L, void *handle, const char *name) {
    char err[512];
    void *p;
    if (cffi_os_lib_sym(handle, name, &p, err, sizeof err) != 0) {
        luaL_pushfail(L);
        lua_pushfstring(L, "symbol '%s' not found%s%s", name, *err ? ": " : "", err);
        return 2;
    }
    lua_pushinteger(L, (lua_Integer)(uintptr_t)p);
    return 1;
}

static int lib_sym(lua_State *L) {
    llibrary *lib = tolibrary(L, 1);
    luaL_checkstring(L, 2);
    const char *name = cffi_lua_checktext(L, 2, "symbol name");
    if (!lib->handle) return luaL_error(L, "attempt to use a closed cffi.library");
    return cffi_lua_pushsym(L, lib->handle, name);
}

static int lib_close(lua_State *L) {
    release(tolibrary(L, 1));
    return 0;
}

/* __gc: forget the handle, keep the library loaded (see the top of this file). */
static int lib_gc(lua_State *L) {
    tolibrary(L, 1)->handle = NULL;
    return 0;
}

static int lib_tostring(lua_State *L) {
    llibrary *lib = tolibrary(L, 1);
    char addr[CFFI_LUA_ADDR_LEN];
    if (lib->handle) lua_pushfstring(L, CFFI_LUA_LIBRARY ": %s", cffi_lua_addr_text(addr, lib->handle));
    else lua_pushliteral(L, CFFI_LUA_LIBRARY " (closed)");
    return 1;
}

static const luaL_Reg lib_meta[] = {
    {"__gc", lib_gc},
    {"__close", lib_close},
    {"__tostring", lib_tostring},
    {NULL, NULL},
};

static const luaL_Reg lib_methods[] = {
    {"sym", lib_sym},
    {"close", lib_close},
    {NULL, NULL},
};

static const luaL_Reg module_funcs[] = {{"load", l_load}, {NULL, NULL}};

void cffi_lua_open_library(lua_State *L) {
    cffi_lua_newmeta(L, CFFI_LUA_LIBRARY, lib_meta, lib_methods);
    cffi_lua_setfuncs(L, module_funcs);
}
