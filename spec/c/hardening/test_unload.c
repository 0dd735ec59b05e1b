/*
 * test_unload.c - a plain Lua host that loads cffi.so through require (package.cpath), as lua5.4
 * does: lua_close dlcloses C modules, yet the addresses of the state's callbacks (freed before,
 * or turned dead by lua_close) must go on returning their default instead of jumping into an
 * unmapped module. cffi.so is linked never to unload (-z nodelete, cmake/lua.cmake).
 */
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdint.h>

#include "check.h"

typedef int (*binop)(int, int);

int main(void) {
    lua_State *L = luaL_newstate();
    REQUIRE(L != NULL);
    luaL_openlibs(L);
    const char *chunk =
        "local cffi = require 'cffi'\n"
        "live = cffi.wrap(function(a, b) return a + b end, 'int(int, int)', nil, {default = 41})\n"
        "local freed = cffi.wrap(function(a, b) return a * b end, 'int(int, int)', nil,\n"
        "                        {default = 42})\n"
        "assert(live(2, 3) == 5 and freed(2, 3) == 6)\n"
        "local f = freed:addr(); freed:free()\n"
        "return live:addr(), f\n";
    if (luaL_dostring(L, chunk) != LUA_OK) {
        fprintf(stderr, "%s\n", lua_tostring(L, -1));
        return 1;
    }
    binop live = (binop)(uintptr_t)lua_tointeger(L, -2);
    binop freed = (binop)(uintptr_t)lua_tointeger(L, -1);
    CHECK(live(2, 3) == 5);
    CHECK(freed(2, 3) == 42);
    lua_close(L); /* collects the callbacks, then unloads the C modules */
    fprintf(stderr, "(two reports of calls through freed callbacks are expected next)\n");
    CHECK(live(2, 3) == 41);
    CHECK(freed(2, 3) == 42);
    return CHECK_DONE();
}
