/*
 * test_wx.c - no memory page is ever writable and executable at once, with everything that
 * makes executable code alive at the same time:
 *   - a closure of "int(int, int)" for every convention name cffi_convention_name lists, each
 *     called through cffi_call in its own convention, half of them freed and called again
 *     (the dead trap returns the default);
 *   - typed thunks of every flavour, one freed (builds with typed thunks);
 *   - Lua callbacks of every convention cffi.conventions() lists, one freed (builds with Lua);
 * then /proc/self/maps must show no mapping with both 'w' and 'x', and each closure's code must
 * sit in a mapping that is executable and not writable. Run again under PR_SET_MDWE (hard.wx.mdwe).
 */
#define _GNU_SOURCE
#include "cffi.h"
#include "check.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#if CFFI_TEST_LUA
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#endif

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif
#ifndef RUNNING_ON_VALGRIND
#define RUNNING_ON_VALGRIND 0
#endif

/* ---------------------------------------------------------------------------------------------
 * /proc/self/maps */
typedef struct wx_scan {
    int wx;             /* writable and executable mappings */
    const void *probe;  /* an address to classify, or NULL */
    char probe_perms[5];
} wx_scan;

static void scan_maps(wx_scan *scan) {
    FILE *maps = fopen("/proc/self/maps", "r");
    REQUIRE(maps != NULL);
    char line[512];
    while (fgets(line, sizeof line, maps)) {
        unsigned long start, end;
        char perms[5] = "";
        if (sscanf(line, "%lx-%lx %4s", &start, &end, perms) != 3) continue;
        if (perms[1] == 'w' && perms[2] == 'x') {
            fprintf(stderr, "writable and executable: %s", line);
            scan->wx++;
        }
        if (scan->probe && (uintptr_t)scan->probe >= start && (uintptr_t)scan->probe < end)
            memcpy(scan->probe_perms, perms, sizeof perms);
    }
    fclose(maps);
}

static int count_wx(void) {
    wx_scan scan = {0};
    scan_maps(&scan);
    return scan.wx;
}

/* The code at p is in an executable, non-writable mapping. */
static void check_code_mapping(const void *p, const char *what) {
    wx_scan scan = {.probe = p};
    scan_maps(&scan);
    CHECK_MSG(scan.probe_perms[0] && scan.probe_perms[2] == 'x' && scan.probe_perms[1] != 'w',
              "%s: code %p in a mapping with perms '%s'", what, p, scan.probe_perms);
}

/* ---------------------------------------------------------------------------------------------
 * C closures of every convention. */
static void add_handler(void *ctx, void *ret, void *const *args) {
    *(int *)ret = *(const int *)args[0] + *(const int *)args[1] + (int)(intptr_t)ctx;
}

static int dead_calls;
static void count_dead(const cffi_sig *sig, void *code) {
    (void)sig, (void)code;
    dead_calls++;
}

enum { MAX_CONV = 64 };
static cffi_closure *live[MAX_CONV];
static cffi_sig *sigs[MAX_CONV];

static int make_closures(void) {
    int made = 0;
    size_t n = cffi_convention_count();
    REQUIRE(n > 0 && n < MAX_CONV);
    for (size_t i = 0; i < n; i++) {
        const char *canonical = NULL;
        const char *name = cffi_convention_name(i, &canonical);
        REQUIRE(name != NULL);
        char err[160] = "";
        cffi_status s = cffi_sig_parse("int(int, int)", name, &sigs[i], err, sizeof err);
        CHECK_MSG(s == CFFI_OK, "convention %s: %s %s", name, cffi_strerror(s), err);
        if (s != CFFI_OK) continue;
        REQUIRE(cffi_closure_new(sigs[i], add_handler, (void *)(intptr_t)i, &live[i]) == CFFI_OK);
        int a = 2, b = 3, r = 0;
        void *code = cffi_closure_code(live[i]);
        CHECK(cffi_call(sigs[i], code, &r, (void *[]){&a, &b}) == CFFI_OK);
        CHECK_MSG(r == 5 + (int)i, "convention %s: %d", name, r);
        check_code_mapping(code, name);
        if (i % 2 == 1) { /* freed: the address goes on trapping */
            int dflt = -1 - (int)i;
            cffi_closure_set_default(live[i], &dflt);
            cffi_closure_free(live[i]);
            live[i] = NULL;
            dead_calls = 0;
            r = 0;
            CHECK(cffi_call(sigs[i], code, &r, (void *[]){&a, &b}) == CFFI_OK);
            CHECK_MSG(r == dflt && dead_calls == 1, "convention %s freed: %d, %d reports", name,
                      r, dead_calls);
        }
        made++;
    }
    return made;
}

/* ---------------------------------------------------------------------------------------------
 * Typed thunks. */
#if CFFI_TEST_BAREFN
static int thunk_add(void *ctx, int a, int b) { return a + b + *(const int *)ctx; }
CFFI_BAREFN(wx_plain, C, int, (int a, int b), (a, b))
CFFI_BAREFN_MUT(wx_mut, C, int, (int a, int b), (a, b))
CFFI_BAREFN_ONCE(wx_once, C, int, (int a, int b), (a, b))

static cffi_barefn *thunks[3];

static int make_thunks(void) {
    static const int bias = 10;
    CHECK(wx_plain_new(thunk_add, (void *)&bias, &thunks[0]) == CFFI_OK);
    CHECK(wx_mut_new(thunk_add, (void *)&bias, &thunks[1]) == CFFI_OK);
    CHECK(wx_once_new(thunk_add, (void *)&bias, &thunks[2]) == CFFI_OK);
    if (!thunks[0] || !thunks[1] || !thunks[2]) return 0;
    CHECK(wx_plain_code(thunks[0])(1, 2) == 13);
    CHECK(wx_mut_code(thunks[1])(1, 2) == 13);
    CHECK(wx_once_code(thunks[2])(1, 2) == 13);
    check_code_mapping((const void *)wx_plain_code(thunks[0]), "typed thunk");
    wx_plain_bare freed = wx_plain_code(thunks[0]);
    cffi_barefn_free(thunks[0]);
    thunks[0] = NULL;
    CHECK(freed(1, 2) == 0); /* reports through the barefn hook, returns 0 */
    return 3;
}
static void free_thunks(void) {
    for (int i = 0; i < 3; i++) cffi_barefn_free(thunks[i]);
}
#else
static int make_thunks(void) { return 0; }
static void free_thunks(void) {}
#endif

/* ---------------------------------------------------------------------------------------------
 * Lua callbacks. */
#if CFFI_TEST_LUA
static const char lua_chunk[] =
    "local cffi = require 'cffi'\n"
    "keep = {}\n"
    "for name in pairs(cffi.conventions()) do\n"
    "  local ok, cb = pcall(cffi.wrap, function(a, b) return a + b end, 'int(int, int)', name)\n"
    "  if ok and cb then\n"
    "    assert(cb(2, 3) == 5, name)\n"
    "    keep[#keep + 1] = cb\n"
    "  end\n"
    "end\n"
    "local dead = cffi.wrap(function() return 1 end, 'int(int, int)', nil, {default = 7})\n"
    "local addr = dead:addr()\n"
    "dead:free()\n"
    "assert(cffi.call(addr, 'int(int, int)', nil, 1, 2) == 7)\n"
    "return #keep, keep[1] and keep[1]:addr() or 0\n";

static lua_State *lua_state;

static int make_lua_callbacks(void) {
    lua_State *L = luaL_newstate();
    REQUIRE(L != NULL);
    luaL_openlibs(L);
    luaL_requiref(L, "cffi", luaopen_cffi, 0);
    lua_pop(L, 1);
    if (luaL_dostring(L, lua_chunk) != LUA_OK) {
        CHECK_MSG(0, "Lua chunk: %s", lua_tostring(L, -1));
        lua_close(L);
        return 0;
    }
    int n = (int)lua_tointeger(L, -2);
    void *addr = (void *)(uintptr_t)lua_tointeger(L, -1);
    lua_pop(L, 2);
    CHECK(n > 0);
    if (addr) check_code_mapping(addr, "Lua callback");
    lua_state = L;
    return n;
}
static void close_lua(void) {
    if (lua_state) lua_close(lua_state);
}
#else
static int make_lua_callbacks(void) { return 0; }
static void close_lua(void) {}
#endif

/* The scan itself sees a writable and executable page when one exists (where the kernel allows
 * one: not under MDWE). */
static void check_scanner(void) {
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    void *p = mmap(NULL, page, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS,
                   -1, 0);
    if (p == MAP_FAILED) return;
    fprintf(stderr, "(the next line is expected: the scanner's self-check)\n");
    wx_scan scan = {.probe = p};
    scan_maps(&scan);
    CHECK_MSG(RUNNING_ON_VALGRIND || scan.wx >= 1,
              "a PROT_WRITE|PROT_EXEC mapping at %p is not seen (its perms: '%s')", p,
              scan.probe_perms);
    munmap(p, page);
}

int main(void) {
    check_scanner();
    cffi_set_dead_hook(count_dead);
    int closures = make_closures();
    int thunks = make_thunks();
    int callbacks = make_lua_callbacks();
    if (RUNNING_ON_VALGRIND) {
        /* Valgrind keeps its own translations in writable and executable memory of this
         * process; only cffi's mappings (checked above) mean anything there. */
        printf("under valgrind: the whole-process scan is skipped\n");
    } else {
        int wx = count_wx();
        CHECK_MSG(wx == 0, "%d writable and executable mappings", wx);
    }
    printf("%d closures, %d typed thunks, %d Lua callbacks alive; scanned /proc/self/maps\n",
           closures, thunks, callbacks);
    close_lua();
    free_thunks();
    for (int i = 0; i < MAX_CONV; i++) {
        cffi_closure_free(live[i]);
        cffi_sig_free(sigs[i]);
    }
    cffi_set_dead_hook(NULL);
    return CHECK_DONE();
}
