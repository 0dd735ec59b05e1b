/*
 * busted_host.c - a Lua interpreter with cffi linked in statically (package.preload.cffi), so that
 * the binding runs inside an executable built with the configuration's sanitizers (hard.busted.*:
 * the busted specs under ASan + UBSan, where lua5.4 loading an instrumented cffi.so could not).
 *
 *   hard_busted ARGS...     runs busted's runner with arg = ARGS (as /usr/bin/busted does)
 *   hard_lua SCRIPT ARGS... runs SCRIPT like lua5.4 (the specs' child interpreter, CFFI_LUA)
 * Which one is chosen at build time (CFFI_HOST_BUSTED). The exit status is the script's.
 */
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>

#include "cffi.h"

static int traceback(lua_State *L) {
    luaL_traceback(L, L, lua_tostring(L, 1), 1);
    return 1;
}

int main(int argc, char **argv) {
    lua_State *L = luaL_newstate();
    if (!L) return 1;
    luaL_openlibs(L);
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
    lua_pushcfunction(L, luaopen_cffi);
    lua_setfield(L, -2, "cffi");
    lua_pop(L, 1);

#if CFFI_HOST_BUSTED
    int first = 1; /* arg[1..] = argv[1..], arg[0] = "busted" */
    const char *chunk = "require 'busted.runner'({ standalone = false })";
#else
    if (argc < 2) {
        fprintf(stderr, "usage: %s script [args...]\n", argv[0]);
        return 2;
    }
    int first = 2; /* arg[0] = script */
    const char *chunk = NULL;
#endif
    lua_createtable(L, argc, 1);
    lua_pushstring(L, first == 1 ? "busted" : argv[1]);
    lua_rawseti(L, -2, 0);
    for (int i = first; i < argc; i++) {
        lua_pushstring(L, argv[i]);
        lua_rawseti(L, -2, i - first + 1);
    }
    lua_setglobal(L, "arg");

    lua_pushcfunction(L, traceback);
    int status = chunk ? luaL_loadstring(L, chunk) : luaL_loadfile(L, argv[1]);
    if (status == LUA_OK) {
        int nargs = 0;
        for (int i = first; i < argc; i++, nargs++) lua_pushstring(L, argv[i]);
        status = lua_pcall(L, nargs, 0, -2 - nargs);
    }
    if (status != LUA_OK) fprintf(stderr, "%s\n", lua_tostring(L, -1));
    lua_close(L);
    return status == LUA_OK ? 0 : 1;
}
