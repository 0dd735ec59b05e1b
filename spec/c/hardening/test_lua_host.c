/*
 * test_lua_host.c - a C host embedding Lua with cffi linked in, at the edges hosts reach:
 *
 *   - lua_close of a state whose finalizers make callbacks (Lua finalizes nothing made while it
 *     closes): every such callback is dead once lua_close returns, or was refused;
 *   - a lua_Alloc that starts failing after N allocations, for every N over the range the paths
 *     below use: callbacks called from plain C (clean results, string results, nested string
 *     results, string arguments, errors with and without on_error, bad results) and from Lua
 *     through a native caller under pcall, and callbacks made and freed meanwhile. Nothing may
 *     panic, no error may unwind through the native caller's frame, every call returns its
 *     value or its default, and nothing leaks (ASan and valgrind check at exit).
 */
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#ifdef _WIN32
#include <io.h>
#define NULL_DEVICE "NUL"
#else
#include <unistd.h>
#define NULL_DEVICE "/dev/null"
#endif

#include "cffi.h"
#include "check.h"

typedef int (*binop)(int, int);
typedef const char *(*strfn)(int);
typedef int (*lenfn)(const char *);

/* ---------------------------------------------------------------------------------------------
 * An allocator that refuses growth after a countdown (shrinking never fails: Lua relies on it).
 */
typedef struct limited_alloc {
    long countdown; /* allocations left; -1: unlimited */
    long refused;
} limited_alloc;

static void *limited(void *ud, void *ptr, size_t osize, size_t nsize) {
    limited_alloc *a = ud;
    if (nsize == 0) {
        free(ptr);
        return NULL;
    }
    bool grows = ptr == NULL || nsize > osize;
    if (grows && a->countdown >= 0) {
        if (a->countdown == 0) {
            a->refused++;
            return NULL;
        }
        a->countdown--;
    }
    return realloc(ptr, nsize);
}

static int panicked(lua_State *L) {
    fprintf(stderr, "lua panic: %s\n", lua_tostring(L, -1));
    exit(1);
}

static lua_State *new_state(limited_alloc *a) {
    lua_State *L = a ? lua_newstate(limited, a) : luaL_newstate();
    REQUIRE(L != NULL);
    lua_atpanic(L, panicked);
    luaL_openlibs(L);
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
    lua_pushcfunction(L, luaopen_cffi);
    lua_setfield(L, -2, "cffi");
    lua_pop(L, 1);
    return L;
}

static void run(lua_State *L, const char *chunk) {
    if (luaL_dostring(L, chunk) != LUA_OK) {
        fprintf(stderr, "chunk failed: %s\n", lua_tostring(L, -1));
        exit(1);
    }
}

static void *global_addr(lua_State *L, const char *name) {
    lua_getglobal(L, name);
    void *p = (void *)(uintptr_t)lua_tointeger(L, -1);
    lua_pop(L, 1);
    REQUIRE(p != NULL);
    return p;
}

/* ---------------------------------------------------------------------------------------------
 * Callbacks made by finalizers while lua_close runs.
 */
static void *kept[8];
static int nkept;
static char refusal[256];

/* keep(addr) from Lua: remember a callback's address for after lua_close. */
static int l_keep(lua_State *L) {
    if (nkept < 8) kept[nkept++] = (void *)(uintptr_t)luaL_checkinteger(L, 1);
    return 0;
}

/* refused(msg) from Lua: what a refused cffi.wrap said. */
static int l_refused(lua_State *L) {
    snprintf(refusal, sizeof refusal, "%s", luaL_checkstring(L, 1));
    return 0;
}

static int dead_calls;
static void count_dead(const cffi_sig *sig, void *code) {
    (void)sig, (void)code;
    dead_calls++;
}

static void test_close_with_finalizers(void) {
    lua_State *L = new_state(NULL);
    lua_register(L, "keep", l_keep);
    lua_register(L, "refused", l_refused);
    /* Finalized after the module state (older than it): cffi.wrap must refuse. */
    run(L, "local make = function() return require('cffi').wrap(function(a, b) return a + b end,"
           "                                                     'int(int,int)') end\n"
           "old = setmetatable({}, {__gc = function()\n"
           "  local ok, cb = pcall(make)\n"
           "  if ok then keep(cb:addr()) else refused(tostring(cb)) end\n"
           "end})\n"
           "local cffi = require 'cffi'\n"
           /* Finalized before the module state (younger): each makes callbacks that Lua will
            * not finalize, one kept referenced by a global, one only by C. */
           "for i = 1, 3 do\n"
           "  young = setmetatable({}, {__gc = function()\n"
           /* A text of its own: a signature cached earlier may be finalized by now. */
           "    local cb = cffi.wrap(function(a, b) return a * b + i end,\n"
           "                         'int(int, int b' .. i .. ')')\n"
           "    assert(cb(2, 3) == 6 + i)\n"
           "    keep(cb:addr())\n"
           "    _G['held' .. i] = cb\n"
           "  end})\n"
           "end\n");
    /* A collection before lua_close finalizes the two young ones no longer referenced: their
     * callbacks are made outside lua_close and live on normally. The third one (still in
     * `young`) is finalized by lua_close. */
    lua_gc(L, LUA_GCCOLLECT);
    int before_close = nkept;
    CHECK(before_close == 2);
    binop early = (binop)kept[0];
    int got = early(2, 3);
    CHECK_MSG(got == 6 + 1 || got == 6 + 2, "got %d", got);
    cffi_set_dead_hook(count_dead);
    lua_close(L);
    CHECK_MSG(nkept == 3, "%d callbacks made by finalizers", nkept);
    CHECK_MSG(strstr(refusal, "closing") != NULL, "refusal: '%s'", refusal);
    dead_calls = 0;
    for (int i = 0; i < nkept; i++) CHECK(((binop)kept[i])(2, 3) == 0);
    CHECK(dead_calls == nkept);
    cffi_set_dead_hook(NULL);
}

/* ---------------------------------------------------------------------------------------------
 * Out of memory inside callbacks.
 */
static int native_depth; /* host_call_ii frames entered and not left */
static int skipped_frames;

/* The native caller that Lua calls and that calls the callback: a longjmp over it would leave
 * native_depth raised. */
static int host_call_ii(binop f, int a, int b) {
    int entered = native_depth++;
    int r = f(a, b);
    if (native_depth != entered + 1) skipped_frames++;
    native_depth = entered;
    return r;
}

static const char *const oom_script =
    "local cffi = require 'cffi'\n"
    "add = cffi.wrap(function(a, b) return a + b end, 'int(int,int)', nil, { default = -1 })\n"
    "text = cffi.wrap(function(n) return ('result %d '):format(n) .. ('x'):rep(60) end,\n"
    "                 'const char*(int)')\n"
    "nested = cffi.wrap(function(n)\n"
    "  if n > 0 then inner = call_str(nested:addr(), n - 1) end\n"
    "  return ('nested %d '):format(n) .. ('y'):rep(60)\n"
    "end, 'const char*(int)')\n"
    "len = cffi.wrap(function(s) return #s end, 'int(const char*)', nil, { default = -1 })\n"
    "fails = cffi.wrap(function() error('boom ' .. ('z'):rep(40)) end, 'int(int,int)', nil,\n"
    "                  { default = -2 })\n"
    "handled = cffi.wrap(function() error({}) end, 'int(int,int)', nil, {\n"
    "  default = -3, on_error = function(msg) return #msg end })\n"
    "bad = cffi.wrap(function() return {} end, 'int(int,int)', nil, { default = -4 })\n"
    "call_ii = cffi.cast(host_call_ii_addr, 'int(void*,int,int)')\n"
    "function from_lua(cb)\n"
    "  local ok, r = pcall(call_ii, cb, 2, 3)\n"
    "  local ok2, made = pcall(cffi.wrap, function() return 1 end, 'int(void)')\n"
    "  if ok2 then made:free() end\n"
    "  return ok and r or -100\n"
    "end\n"
    "add_addr, text_addr, nested_addr, len_addr = add:addr(), text:addr(), nested:addr(),\n"
    "  len:addr()\n"
    "fails_addr, handled_addr, bad_addr = fails:addr(), handled:addr(), bad:addr()\n";

/* call_str(cb, n) for the nested callback: calls through the pointer and returns the address. */
static int l_call_str(lua_State *L) {
    strfn f = (strfn)(uintptr_t)luaL_checkinteger(L, 1);
    lua_pushinteger(L, (lua_Integer)(uintptr_t)f((int)luaL_checkinteger(L, 2)));
    return 1;
}

static bool starts_with(const char *s, const char *prefix) {
    return s && strncmp(s, prefix, strlen(prefix)) == 0;
}

static void test_out_of_memory(void) {
    limited_alloc a = {-1, 0};
    lua_State *L = new_state(&a);
    lua_pushinteger(L, (lua_Integer)(uintptr_t)host_call_ii);
    lua_setglobal(L, "host_call_ii_addr");
    lua_pushcfunction(L, l_call_str);
    lua_setglobal(L, "call_str");
    run(L, oom_script);
    lua_gc(L, LUA_GCCOLLECT);
    binop add = (binop)global_addr(L, "add_addr");
    strfn text = (strfn)global_addr(L, "text_addr");
    strfn nested = (strfn)global_addr(L, "nested_addr");
    lenfn len = (lenfn)global_addr(L, "len_addr");
    binop fails = (binop)global_addr(L, "fails_addr");
    binop handled = (binop)global_addr(L, "handled_addr");
    binop bad = (binop)global_addr(L, "bad_addr");
    static const int lua_results[][2] = {{5, -1}, {-2, -2}, {-3, -3}, {-4, -4}};

    int wrong = 0, from_lua_runs = 0;
    /* Quiet: the error paths report on stderr each time. */
    fflush(stderr);
    int saved = dup(2), devnull = open(NULL_DEVICE, O_WRONLY);
    REQUIRE(saved >= 0 && devnull >= 0);
    dup2(devnull, 2);
    close(devnull);
    for (long n = 0; n < 400; n++) {
        a.countdown = n;
        /* From plain C: the value or the default, never a panic. */
        int r = add(2, 3);
        wrong += r != 5 && r != -1;
        const char *s = text(7);
        wrong += s != NULL && !starts_with(s, "result 7 ");
        s = nested(1);
        wrong += s != NULL && !starts_with(s, "nested 1 ");
        r = len("four");
        wrong += r != 4 && r != -1;
        wrong += fails(1, 2) != -2;
        r = handled(1, 2);
        wrong += r != -3 && r <= 0; /* on_error's result (the message's length) or the default */
        wrong += bad(1, 2) != -4;
        /* From Lua through the native caller, under pcall. */
        for (int i = 0; i < 4; i++) {
            lua_getglobal(L, "from_lua");
            lua_getglobal(L, i == 0 ? "add" : i == 1 ? "fails" : i == 2 ? "handled" : "bad");
            if (lua_pcall(L, 1, 1, 0) == LUA_OK) {
                int got = (int)lua_tointeger(L, -1);
                from_lua_runs++;
                if (i == 2) wrong += got != -3 && got <= 0 && got != -100;
                else wrong += got != lua_results[i][0] && got != lua_results[i][1] && got != -100;
            }
            lua_pop(L, 1);
        }
        a.countdown = -1;
    }
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    CHECK_MSG(wrong == 0, "%d calls returned neither their value nor their default", wrong);
    CHECK_MSG(skipped_frames == 0 && native_depth == 0,
              "%d errors unwound through the native caller", skipped_frames);
    CHECK_MSG(a.refused > 400, "the allocator refused only %ld allocations", a.refused);
    CHECK(from_lua_runs > 0);
    /* Everything works again with memory back. */
    CHECK(add(2, 3) == 5);
    CHECK(starts_with(text(8), "result 8 "));
    CHECK(starts_with(nested(2), "nested 2 "));
    CHECK(len("seven!!") == 7);
    lua_close(L);
}

int main(void) {
    test_close_with_finalizers();
    test_out_of_memory();
    return CHECK_DONE();
}
