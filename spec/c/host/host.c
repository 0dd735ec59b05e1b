/*
 * host.c - a C host with two lua_States, both with cffi linked in statically (luaopen_cffi through
 * luaL_requiref). Covers: callbacks of both states called from plain C; lua_close of one state
 * turning its live callbacks into dead ones (the default comes back, the dead hook fires, nothing
 * crashes) while the other state's callbacks keep working; a freed callback of the live state.
 */
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "cffi.h"
#include "check.h"

typedef int (*binop)(int, int);

static int dead_calls;
static void count_dead(const cffi_sig *sig, void *code) {
    (void)sig;
    (void)code;
    dead_calls++;
}

static lua_State *new_state(void) {
    lua_State *L = luaL_newstate();
    REQUIRE(L != NULL);
    luaL_openlibs(L);
    luaL_requiref(L, "cffi", luaopen_cffi, 0); /* package.loaded.cffi, so require finds it */
    lua_pop(L, 1);
    return L;
}

/* Run chunk, which returns an address; the callbacks it makes stay referenced from globals. */
static binop wrap_in(lua_State *L, const char *chunk) {
    if (luaL_dostring(L, chunk) != LUA_OK) {
        fprintf(stderr, "chunk failed: %s\n", lua_tostring(L, -1));
        exit(1);
    }
    binop f = (binop)(uintptr_t)lua_tointeger(L, -1);
    lua_pop(L, 1);
    return f;
}

int main(void) {
    cffi_set_dead_hook(count_dead);
    lua_State *a = new_state();
    lua_State *b = new_state();

    binop add = wrap_in(a, "local cffi = require 'cffi'\n"
                           "keep = cffi.wrap(function(x, y) return x + y end, 'int(int, int)', nil,"
                           "                 {default = -1})\n"
                           "return keep:addr()");
    binop sub = wrap_in(a, "local cffi = require 'cffi'\n"
                           "keep2 = cffi.wrap(function(x, y) return x - y end, 'int(int, int)', nil,"
                           "                  {default = -2})\n"
                           "return keep2:addr()");
    binop mul = wrap_in(b, "local cffi = require 'cffi'\n"
                           "keep = cffi.wrap(function(x, y) return x * y end, 'int(int, int)')\n"
                           "return keep:addr()");
    binop freed = wrap_in(b, "local cffi = require 'cffi'\n"
                             "local cb = cffi.wrap(function() return 1 end, 'int(int, int)', nil,"
                             "                     {default = 77})\n"
                             "local addr = cb:addr(); cb:free(); return addr");
    CHECK(add(2, 3) == 5);
    CHECK(sub(2, 3) == -1);
    CHECK(mul(4, 5) == 20);
    CHECK(freed(1, 2) == 77);
    CHECK(dead_calls == 1);

    /* Each state's callbacks only see their own state: a's callback calls b's pointer. */
    lua_pushinteger(b, (lua_Integer)(uintptr_t)mul);
    lua_setglobal(b, "mul_addr");
    binop via = wrap_in(b, "local cffi = require 'cffi'\n"
                           "local mul = cffi.cast(mul_addr, 'int(int, int)')\n"
                           "keep3 = cffi.wrap(function(x, y) return mul(x, y) + 1 end, 'int(int, int)')\n"
                           "return keep3:addr()");
    CHECK(via(6, 7) == 43);

    lua_close(a);
    CHECK(add(2, 3) == -1); /* dead now: the default, through the dead hook */
    CHECK(sub(2, 3) == -2);
    CHECK(dead_calls == 3);
    CHECK(mul(6, 6) == 36); /* the other state is untouched */
    CHECK(via(2, 2) == 5);

    lua_close(b);
    CHECK(mul(1, 1) == 0);  /* no default given: 0 */
    CHECK(dead_calls == 4);
    cffi_set_dead_hook(NULL);
    return CHECK_DONE();
}
