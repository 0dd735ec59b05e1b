/*
 * host.c - a C host with two lua_States, both with cffi linked in statically (luaopen_cffi through
 * luaL_requiref). Covers: callbacks of both states called from plain C; lua_close of one state
 * turning its live callbacks into dead ones (the default comes back, the dead hook fires, nothing
 * crashes) while the other state's callbacks keep working; a freed callback of the live state;
 * the main thread's stack left as found by every path through the bridge.
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

/* A table in the registry under name where wrap_in_kept keeps the callbacks it makes. */
static void keep_alive(lua_State *L, const char *name) {
    lua_newtable(L);
    lua_setfield(L, LUA_REGISTRYINDEX, name);
    lua_pushstring(L, name);
    lua_setglobal(L, "cffi_host_keep");
}

/* Like wrap_in for a chunk returning a callback's address, but the chunk's callback is kept in
 * the table made by keep_alive (the chunk returns it through its address only). */
static binop wrap_in_kept(lua_State *L, const char *chunk) {
    char full[1024];
    snprintf(full, sizeof full,
             "local cffi = require 'cffi'\n"
             "local real_wrap = cffi.wrap\n"
             "local t = debug.getregistry()[cffi_host_keep]\n"
             "cffi.wrap = function(...) local cb = real_wrap(...); t[#t + 1] = cb; return cb end\n"
             "local ok, addr = pcall(function() %s end)\n"
             "cffi.wrap = real_wrap\n"
             "assert(ok, addr)\n"
             "return addr",
             chunk);
    return wrap_in(L, full);
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

    /* Every way through the bridge leaves the main thread's stack as it found it: a clean call,
     * an error, an error in on_error, a result that does not convert, a second call of a once
     * callback, string arguments (the protected push), a void result. Junk on the stack first, so
     * that the calls do not start from an empty stack. */
    binop kinds[7];
    const char *const chunks[7] = {
        "return require('cffi').wrap(function(x, y) return x * y end, 'int(int, int)'):addr()",
        "return require('cffi').wrap(function() error('boom') end, 'int(int, int)', nil,"
        " {on_error = function() return 9 end}):addr()",
        "return require('cffi').wrap(function() error('boom') end, 'int(int, int)', nil,"
        " {on_error = function() error('again') end, default = 8}):addr()",
        "return require('cffi').wrap(function() return 'x' end, 'int(int, int)', nil,"
        " {on_error = function() return 7 end}):addr()",
        "return require('cffi').wrap(function(x, y) return x - y end, 'int(int, int)', nil,"
        " {once = true, on_error = function() return 6 end}):addr()",
        "return require('cffi').wrap(function(s, n) return #s + n end, 'int(const char *, int)'):addr()",
        "return require('cffi').wrap(function() end, 'void(int, int)'):addr()",
    };
    keep_alive(a, "stack_kinds");
    for (int i = 0; i < 7; i++) kinds[i] = wrap_in_kept(a, chunks[i]);
    lua_pushliteral(a, "junk");
    lua_pushinteger(a, 42);
    int top = lua_gettop(a);
    for (int round = 0; round < 3; round++) {
        CHECK(kinds[0](6, 7) == 42);
        CHECK(kinds[1](1, 2) == 9);
        CHECK(kinds[2](1, 2) == 8);
        CHECK(kinds[3](1, 2) == 7);
        CHECK(kinds[4](9, 2) == (round == 0 ? 7 : 6));
        CHECK(((int (*)(const char *, int))(void (*)(void))kinds[5])("abc", 1) == 4);
        ((void (*)(int, int))(void (*)(void))kinds[6])(1, 2);
        CHECK_MSG(lua_gettop(a) == top, "stack top %d after round %d, expected %d",
                  lua_gettop(a), round, top);
    }
    lua_pop(a, 2);

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
