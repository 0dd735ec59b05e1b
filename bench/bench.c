/*
 * bench.c - the in-process benchmarks: per-call cost of every way cffi (and libffi) makes a bare
 * function pointer, Lua -> native calls, creation cost, memory per live closure, and (struct_args.c)
 * how a struct argument reaches a Lua callback.
 *
 * Usage:
 *   bench_cffi [--quick] [--rounds R] [--sample-ms MS]   timings
 *   bench_cffi --mem cffi|libffi|lua [N]                  memory with N live closures (1000000)
 *   bench_cffi --only KEY N                               run one case N times, print nothing
 *                                                         (instruction counts: run it under
 *                                                         callgrind for two N and subtract)
 *
 * Output is one record per line, for scripts/bench.sh (bench/report.lua) to tabulate:
 *   time <key> <ns per operation> <calibration ns>
 *   mem <key> <value>
 * The calibration is the best direct call of int(int, int) through the shared loop in this
 * process, so records from other processes (LuaJIT, Python) can be compared as ratios.
 *
 * Every case runs in each of R interleaved rounds and keeps its best round, so a burst of load
 * from other processes hurts all cases alike or none. Nothing here asserts a time.
 */
#include "cffi.h"
#include "loops.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef BENCH_HAVE_LIBFFI
#include <ffi.h>
#endif
#ifdef BENCH_HAVE_LUA
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "struct_args.h"
#endif

static volatile int64_t sink; /* results land here so no loop is dead code */

static void die(const char *what, const char *detail) {
    fprintf(stderr, "bench_cffi: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    exit(1);
}

#define CHECK_OK(expr)                                                                            \
    do {                                                                                          \
        cffi_status st_ = (expr);                                                                 \
        if (st_ != CFFI_OK) die(#expr, cffi_strerror(st_));                                       \
    } while (0)

/* ---------------------------------------------------------------------------------------------
 * Signatures and handlers.
 */
#define SIG_II "int(int, int)"
#define SIG_DD "double(double, double)"
#define SIG_MIX "double(int, double, int64_t, float, int, double, void *, int)"

static void h_ii(void *ctx, void *ret, void *const *args) {
    (void)ctx;
    *(int *)ret = *(const int *)args[0] + *(const int *)args[1];
}

static void h_dd(void *ctx, void *ret, void *const *args) {
    (void)ctx;
    *(double *)ret = *(const double *)args[0] + *(const double *)args[1];
}

static void h_mixed(void *ctx, void *ret, void *const *args) {
    (void)ctx;
    *(double *)ret = bench_mixed(*(const int *)args[0], *(const double *)args[1],
                                 *(const int64_t *)args[2], *(const float *)args[3],
                                 *(const int *)args[4], *(const double *)args[5],
                                 *(void *const *)args[6], *(const int *)args[7]);
}

/* Typed thunks: the handler receives the arguments as they are. */
#if defined(BENCH_HAVE_BAREFN) && defined(CFFI_BAREFN)
#define HAVE_TYPED 1
static int t_ii(void *ctx, int a, int b) {
    (void)ctx;
    return a + b;
}
static double t_dd(void *ctx, double a, double b) {
    (void)ctx;
    return a + b;
}
static double t_mixed(void *ctx, int a, double b, int64_t c, float d, int e, double f, void *g,
                      int h) {
    (void)ctx;
    return bench_mixed(a, b, c, d, e, f, g, h);
}
CFFI_BAREFN(bf_ii, C, int, (int a, int b), (a, b))
CFFI_BAREFN(bf_dd, C, double, (double a, double b), (a, b))
CFFI_BAREFN(bf_mixed, C, double,
            (int a, double b, int64_t c, float d, int e, double f, void *g, int h),
            (a, b, c, d, e, f, g, h))
/* The same handlers bound at compile time: the template calls them directly. */
CFFI_BAREFN_FN(bfb_ii, C, int, (int a, int b), (a, b), t_ii)
CFFI_BAREFN_FN(bfb_dd, C, double, (double a, double b), (a, b), t_dd)
CFFI_BAREFN_FN(bfb_mixed, C, double,
               (int a, double b, int64_t c, float d, int e, double f, void *g, int h),
               (a, b, c, d, e, f, g, h), t_mixed)
#else
#define HAVE_TYPED 0
#endif

#ifdef BENCH_HAVE_LIBFFI
static void f_ii(ffi_cif *cif, void *ret, void **args, void *ud) {
    (void)cif, (void)ud;
    *(ffi_sarg *)ret = *(const int *)args[0] + *(const int *)args[1];
}
static void f_dd(ffi_cif *cif, void *ret, void **args, void *ud) {
    (void)cif, (void)ud;
    *(double *)ret = *(const double *)args[0] + *(const double *)args[1];
}
static void f_mixed(ffi_cif *cif, void *ret, void **args, void *ud) {
    (void)cif, (void)ud;
    h_mixed(NULL, ret, (void *const *)args);
}
static ffi_type *ffi_ii_args[] = {&ffi_type_sint, &ffi_type_sint};
static ffi_type *ffi_dd_args[] = {&ffi_type_double, &ffi_type_double};
static ffi_type *ffi_mix_args[] = {&ffi_type_sint,  &ffi_type_double, &ffi_type_sint64,
                                   &ffi_type_float, &ffi_type_sint,   &ffi_type_double,
                                   &ffi_type_pointer, &ffi_type_sint};
static ffi_cif cif_ii, cif_dd, cif_mix;

static void libffi_init(void) {
    if (ffi_prep_cif(&cif_ii, FFI_DEFAULT_ABI, 2, &ffi_type_sint, ffi_ii_args) != FFI_OK ||
        ffi_prep_cif(&cif_dd, FFI_DEFAULT_ABI, 2, &ffi_type_double, ffi_dd_args) != FFI_OK ||
        ffi_prep_cif(&cif_mix, FFI_DEFAULT_ABI, 8, &ffi_type_double, ffi_mix_args) != FFI_OK)
        die("ffi_prep_cif", NULL);
}

static void *libffi_closure(ffi_cif *cif, void (*fn)(ffi_cif *, void *, void **, void *),
                            ffi_closure **out) {
    void *code;
    ffi_closure *cl = ffi_closure_alloc(sizeof(ffi_closure), &code);
    if (!cl) die("ffi_closure_alloc", NULL);
    if (ffi_prep_closure_loc(cl, cif, fn, NULL, code) != FFI_OK) die("ffi_prep_closure_loc", NULL);
    *out = cl;
    return code;
}
#endif

/* ---------------------------------------------------------------------------------------------
 * Cases: a run function over n operations, and its best time per operation.
 */
typedef struct bcase {
    const char *key;
    void (*run)(void *arg, int64_t n);
    void *arg;
    int64_t n;   /* operations per sample, sized once so a sample takes sample_ms */
    double best; /* ns per operation, best sample */
} bcase;

enum { MAX_CASES = 64 };
static bcase cases[MAX_CASES];
static size_t ncases;

static void add_case(const char *key, void (*run)(void *, int64_t), void *arg) {
    if (ncases == MAX_CASES) die("too many cases", key);
    cases[ncases++] = (bcase){key, run, arg, 0, 0};
}

static void run_ii(void *fn, int64_t n) { sink += bench_loop_ii((bench_ii_fn)fn, n); }
static void run_dd(void *fn, int64_t n) { sink += (int64_t)bench_loop_dd((bench_dd_fn)fn, n); }
static void run_mixed(void *fn, int64_t n) {
    sink += (int64_t)bench_loop_mixed((bench_mixed_fn)fn, n);
}

/* The three call shapes of one way of making a pointer. */
static void add_call_cases(const char *way, void *ii, void *dd, void *mix) {
    static char keys[3 * 16][48];
    static size_t used;
    if (used + 3 > sizeof keys / sizeof keys[0]) die("too many call cases", way);
    snprintf(keys[used], sizeof keys[0], "call.ii.%s", way);
    add_case(keys[used++], run_ii, ii);
    snprintf(keys[used], sizeof keys[0], "call.dd.%s", way);
    add_case(keys[used++], run_dd, dd);
    snprintf(keys[used], sizeof keys[0], "call.mix.%s", way);
    add_case(keys[used++], run_mixed, mix);
}

static cffi_sig *sig_ii, *sig_dd, *sig_mix;

static void run_create_closure(void *arg, int64_t n) {
    (void)arg;
    for (int64_t i = 0; i < n; i++) {
        cffi_closure *c;
        CHECK_OK(cffi_closure_new(sig_ii, h_ii, NULL, &c));
        sink += (intptr_t)cffi_closure_code(c) & 1;
        cffi_closure_free(c);
    }
}

#if HAVE_TYPED
static void run_create_typed(void *arg, int64_t n) {
    (void)arg;
    for (int64_t i = 0; i < n; i++) {
        cffi_barefn *b;
        CHECK_OK(bf_ii_new(t_ii, NULL, &b));
        sink += (intptr_t)bf_ii_code(b) & 1;
        cffi_barefn_free(b);
    }
}
#endif

#ifdef BENCH_HAVE_LIBFFI
static void run_create_libffi(void *arg, int64_t n) {
    (void)arg;
    for (int64_t i = 0; i < n; i++) {
        ffi_closure *cl;
        sink += (intptr_t)libffi_closure(&cif_ii, f_ii, &cl) & 1;
        ffi_closure_free(cl);
    }
}
#endif

/* ---------------------------------------------------------------------------------------------
 * Lua: callbacks made by cffi.wrap, the lua_pcall floor, and Lua -> native calls.
 */
#ifdef BENCH_HAVE_LUA
static lua_State *L;
static int floor_ref[3]; /* the Lua functions the callbacks wrap, for the floor */

/* The floor: a plain C function with the benchmark signature that calls the same Lua function
 * with lua_pcall, the least any embedder writes. The same loop calls it. */
static int floor_ii(int a, int b) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, floor_ref[0]);
    lua_pushinteger(L, a);
    lua_pushinteger(L, b);
    int r = 0;
    if (lua_pcall(L, 2, 1, 0) == LUA_OK) r = (int)lua_tointeger(L, -1);
    lua_pop(L, 1);
    return r;
}

static double floor_dd(double a, double b) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, floor_ref[1]);
    lua_pushnumber(L, a);
    lua_pushnumber(L, b);
    double r = 0;
    if (lua_pcall(L, 2, 1, 0) == LUA_OK) r = lua_tonumber(L, -1);
    lua_pop(L, 1);
    return r;
}

static double floor_mixed(int a, double b, int64_t c, float d, int e, double f, void *g, int h) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, floor_ref[2]);
    lua_pushinteger(L, a);
    lua_pushnumber(L, b);
    lua_pushinteger(L, c);
    lua_pushnumber(L, d);
    lua_pushinteger(L, e);
    lua_pushnumber(L, f);
    lua_pushinteger(L, (lua_Integer)(intptr_t)g);
    lua_pushinteger(L, h);
    double r = 0;
    if (lua_pcall(L, 8, 1, 0) == LUA_OK) r = lua_tonumber(L, -1);
    lua_pop(L, 1);
    return r;
}

/* Hand-written lua_CFunctions: the baseline for Lua -> native. Each calls its target through a
 * volatile pointer, as the loops do. */
static bench_ii_fn volatile target_ii = bench_add_ii;
static bench_dd_fn volatile target_dd = bench_add_dd;
static bench_mixed_fn volatile target_mixed = bench_mixed;

static int l_hand_ii(lua_State *l) {
    int a = (int)luaL_checkinteger(l, 1), b = (int)luaL_checkinteger(l, 2);
    lua_pushinteger(l, target_ii(a, b));
    return 1;
}

static int l_hand_dd(lua_State *l) {
    lua_pushnumber(l, target_dd(luaL_checknumber(l, 1), luaL_checknumber(l, 2)));
    return 1;
}

static int l_hand_mixed(lua_State *l) {
    lua_pushnumber(l, target_mixed((int)luaL_checkinteger(l, 1), luaL_checknumber(l, 2),
                                   (int64_t)luaL_checkinteger(l, 3), (float)luaL_checknumber(l, 4),
                                   (int)luaL_checkinteger(l, 5), luaL_checknumber(l, 6),
                                   (void *)(intptr_t)luaL_checkinteger(l, 7),
                                   (int)luaL_checkinteger(l, 8)));
    return 1;
}

/* The floor of create + free for a Lua binding: a C function that returns a userdata owning one
 * malloc'd block (as a callback owns its bridge context), with a __gc, and a :free() method that
 * frees the block and swaps in a metatable without __gc (as cffi.callback does). Whatever
 * cffi.wrap does beyond this is its own cost; this much any such binding pays in Lua 5.4. */
typedef struct wfloor_ud {
    void *block;
} wfloor_ud;
static int wfloor_mt_live, wfloor_mt_freed; /* registry keys (addresses) of the two metatables */

static int wfloor_gc(lua_State *l) {
    wfloor_ud *u = lua_touserdata(l, 1);
    free(u->block);
    u->block = NULL;
    return 0;
}

static int wfloor_free(lua_State *l) {
    wfloor_ud *u = lua_touserdata(l, 1);
    free(u->block);
    u->block = NULL;
    lua_rawgetp(l, LUA_REGISTRYINDEX, &wfloor_mt_freed);
    lua_setmetatable(l, 1);
    return 0;
}

static int wfloor_new(lua_State *l) {
    wfloor_ud *u = lua_newuserdatauv(l, sizeof *u, 0);
    u->block = NULL;
    lua_rawgetp(l, LUA_REGISTRYINDEX, &wfloor_mt_live);
    lua_setmetatable(l, -2);
    u->block = malloc(64);
    if (!u->block) return luaL_error(l, "out of memory");
    return 1;
}

/* Pushes the floor's constructor; keeps its two metatables in the registry. */
static void wfloor_push(lua_State *l) {
    lua_createtable(l, 0, 1); /* methods */
    lua_pushcfunction(l, wfloor_free);
    lua_setfield(l, -2, "free");
    for (int live = 0; live <= 1; live++) {
        lua_createtable(l, 0, 2);
        lua_pushvalue(l, -2);
        lua_setfield(l, -2, "__index");
        if (live) {
            lua_pushcfunction(l, wfloor_gc);
            lua_setfield(l, -2, "__gc");
        }
        lua_rawsetp(l, LUA_REGISTRYINDEX, live ? &wfloor_mt_live : &wfloor_mt_freed);
    }
    lua_pop(l, 1);
    lua_pushcfunction(l, wfloor_new);
}

/* The Lua side: the functions to wrap, their callbacks, and one runner per Lua-driven case,
 * each `function(n)` doing n operations. */
static const char lua_setup[] =
    "local cffi, addr, hand, wfloor_new = ...\n"
    "local fns = {\n"
    "  ii = function(a, b) return a + b end,\n"
    "  dd = function(a, b) return a + b end,\n"
    "  mix = function(a, b, c, d, e, f, g, h)\n"
    "    return a + b + c + d + e + f + (g ~= 0 and 1 or 0) + h\n"
    "  end,\n"
    "}\n"
    "local sigs = { ii = '" SIG_II "', dd = '" SIG_DD "', mix = '" SIG_MIX "' }\n"
    "local cbs, cb_addr = {}, {}\n"
    "for k, f in pairs(fns) do\n"
    "  cbs[k] = assert(cffi.wrap(f, sigs[k]))\n"
    "  cb_addr[k] = cbs[k]:addr()\n"
    "end\n"
    "local views = {}\n"
    "for k in pairs(fns) do views[k] = cffi.cast(addr[k], sigs[k]) end\n"
    "local call, a_ii, s_ii = cffi.call, addr.ii, sigs.ii\n"
    "local function l2n(f)\n"
    "  return {\n"
    "    ii = function(n) local f = f.ii for i = 1, n do f(i, 3) end end,\n"
    "    dd = function(n) local f = f.dd for i = 1, n do f(i + 0.5, 0.25) end end,\n"
    "    mix = function(n) local f = f.mix\n"
    "      for i = 1, n do f(i, 1.5, i, 2.5, 7, 3.5, 0, 9) end end,\n"
    "  }\n"
    "end\n"
    "local wrapped = fns.ii\n"
    "return {\n"
    "  fns = fns, cbs = cbs, cb_addr = cb_addr,\n"
    "  hand = l2n(hand), cast = l2n(views),\n"
    "  call_ii = function(n) for i = 1, n do call(a_ii, s_ii, 'C', i, 3) end end,\n"
    "  wrap_free = function(n)\n"
    "    for i = 1, n do cffi.wrap(wrapped, s_ii):free() end\n"
    "  end,\n"
    "  wrap_floor = function(n)\n"
    "    for i = 1, n do wfloor_new(wrapped, s_ii):free() end\n"
    "  end,\n"
    "}\n";

static void run_lua(void *ref, int64_t n) {
    lua_gc(L, LUA_GCCOLLECT); /* garbage of earlier cases is not this case's cost */
    lua_rawgeti(L, LUA_REGISTRYINDEX, (int)(intptr_t)ref);
    lua_pushinteger(L, n);
    if (lua_pcall(L, 1, 0, 0) != LUA_OK) die("Lua case", lua_tostring(L, -1));
}

/* A registry reference to t[k1][k2] (k2 NULL: t[k1]), t at the top of the stack. */
static int ref_field(const char *k1, const char *k2) {
    lua_getfield(L, -1, k1);
    if (k2) {
        lua_getfield(L, -1, k2);
        lua_remove(L, -2);
    }
    if (lua_isnil(L, -1)) die("Lua setup lacks", k2 ? k2 : k1);
    return luaL_ref(L, LUA_REGISTRYINDEX);
}

static void *field_addr(const char *k1, const char *k2) {
    lua_getfield(L, -1, k1);
    lua_getfield(L, -1, k2);
    void *p = (void *)(intptr_t)lua_tointeger(L, -1);
    lua_pop(L, 2);
    return p;
}

static void *ref_arg(int ref) { return (void *)(intptr_t)ref; }

static void lua_cases(void) {
    L = luaL_newstate();
    if (!L) die("luaL_newstate", NULL);
    luaL_openlibs(L);
    luaL_requiref(L, "cffi", luaopen_cffi, 1); /* cffi */
    if (luaL_loadbuffer(L, lua_setup, sizeof lua_setup - 1, "=bench_setup") != LUA_OK)
        die("Lua setup", lua_tostring(L, -1));
    lua_insert(L, -2);                          /* setup, cffi */
    lua_createtable(L, 0, 3);                   /* setup, cffi, addr */
    lua_pushinteger(L, (lua_Integer)(intptr_t)bench_add_ii);
    lua_setfield(L, -2, "ii");
    lua_pushinteger(L, (lua_Integer)(intptr_t)bench_add_dd);
    lua_setfield(L, -2, "dd");
    lua_pushinteger(L, (lua_Integer)(intptr_t)bench_mixed);
    lua_setfield(L, -2, "mix");
    lua_createtable(L, 0, 3);                   /* setup, cffi, addr, hand */
    lua_pushcfunction(L, l_hand_ii);
    lua_setfield(L, -2, "ii");
    lua_pushcfunction(L, l_hand_dd);
    lua_setfield(L, -2, "dd");
    lua_pushcfunction(L, l_hand_mixed);
    lua_setfield(L, -2, "mix");
    wfloor_push(L);                             /* setup, cffi, addr, hand, wfloor_new */
    if (lua_pcall(L, 4, 1, 0) != LUA_OK) die("Lua setup", lua_tostring(L, -1));
    /* stack: the setup's table; it stays referenced from the registry below */
    floor_ref[0] = ref_field("fns", "ii");
    floor_ref[1] = ref_field("fns", "dd");
    floor_ref[2] = ref_field("fns", "mix");
    add_call_cases("lua", field_addr("cb_addr", "ii"), field_addr("cb_addr", "dd"),
                   field_addr("cb_addr", "mix"));
    add_call_cases("luafloor", (void *)floor_ii, (void *)floor_dd, (void *)floor_mixed);
    add_case("l2n.ii.hand", run_lua, ref_arg(ref_field("hand", "ii")));
    add_case("l2n.ii.cast", run_lua, ref_arg(ref_field("cast", "ii")));
    add_case("l2n.ii.call", run_lua, ref_arg(ref_field("call_ii", NULL)));
    add_case("l2n.dd.hand", run_lua, ref_arg(ref_field("hand", "dd")));
    add_case("l2n.dd.cast", run_lua, ref_arg(ref_field("cast", "dd")));
    add_case("l2n.mix.hand", run_lua, ref_arg(ref_field("hand", "mix")));
    add_case("l2n.mix.cast", run_lua, ref_arg(ref_field("cast", "mix")));
    add_case("create.wrap", run_lua, ref_arg(ref_field("wrap_free", NULL)));
    add_case("create.wrapfloor", run_lua, ref_arg(ref_field("wrap_floor", NULL)));
    luaL_ref(L, LUA_REGISTRYINDEX); /* keep the setup table (and the callbacks) alive */
    bench_struct_arg_cases(L, add_case);
}
#endif

/* ---------------------------------------------------------------------------------------------
 * Timing.
 */
static double sample(bcase *c) {
    double t0 = bench_now_ns();
    c->run(c->arg, c->n);
    return (bench_now_ns() - t0) / (double)c->n;
}

static void size_case(bcase *c, double sample_ns) {
    c->n = 1;
    for (;;) {
        double t0 = bench_now_ns();
        c->run(c->arg, c->n);
        double t = bench_now_ns() - t0;
        if (t >= sample_ns / 4 || c->n >= ((int64_t)1 << 40)) break;
        c->n *= 2;
    }
    c->n *= 4; /* about sample_ns per sample */
}

/* One case, n operations, nothing printed: for instruction counts under callgrind. */
static void run_only(const char *key, int64_t n) {
    for (size_t i = 0; i < ncases; i++) {
        if (strcmp(cases[i].key, key) != 0) continue;
        cases[i].n = n;
        sample(&cases[i]);
        return;
    }
    die("no such case", key);
}

static void run_timings(int rounds, double sample_ms, int quick) {
    for (size_t i = 0; i < ncases; i++) {
        if (quick) cases[i].n = 64;
        else size_case(&cases[i], sample_ms * 1e6);
        cases[i].best = 0;
    }
    for (int r = 0; r < rounds; r++) {
        for (size_t i = 0; i < ncases; i++) {
            double t = sample(&cases[i]);
            if (r == 0 || t < cases[i].best) cases[i].best = t;
        }
    }
    double calib = 0;
    for (size_t i = 0; i < ncases; i++)
        if (strcmp(cases[i].key, "call.ii.direct") == 0) calib = cases[i].best;
    for (size_t i = 0; i < ncases; i++)
        printf("time %s %.3f %.3f\n", cases[i].key, cases[i].best, calib);
}

/* ---------------------------------------------------------------------------------------------
 * Memory: N live closures, resident bytes before and after.
 */
static size_t rss_bytes(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long size = 0, resident = 0;
    if (f) {
        if (fscanf(f, "%lu %lu", &size, &resident) != 2) resident = 0;
        fclose(f);
    }
    return (size_t)resident * (size_t)sysconf(_SC_PAGESIZE);
}

static int run_memory(const char *what, long n) {
    size_t before = rss_bytes();
    if (strcmp(what, "cffi") == 0) {
        cffi_closure **all = calloc((size_t)n, sizeof *all);
        if (!all) die("malloc", NULL);
        memset(all, 1, (size_t)n * sizeof *all); /* resident now: not counted below */
        before = rss_bytes();
        for (long i = 0; i < n; i++) CHECK_OK(cffi_closure_new(sig_ii, h_ii, NULL, &all[i]));
        size_t after = rss_bytes();
        bench_ii_fn last = (bench_ii_fn)cffi_closure_code(all[n - 1]);
        if (last(2, 3) != 5) die("the last closure", "returned a wrong sum");
        cffi_jit_stats st;
        cffi_jit_get_stats(&st);
        printf("mem cffi.live %zu\n", st.live_closures);
        printf("mem cffi.slot_exec_bytes %zu\n", st.slot_exec_bytes);
        printf("mem cffi.exec_bytes_per %.1f\n", (double)st.exec_bytes / (double)n);
        printf("mem cffi.data_bytes_per %.1f\n", (double)st.data_bytes / (double)n);
        printf("mem cffi.rss_per %.1f\n", (double)(after - before) / (double)n);
        for (long i = 0; i < n; i++) cffi_closure_free(all[i]);
        free(all);
        return 0;
    }
#ifdef BENCH_HAVE_LIBFFI
    if (strcmp(what, "libffi") == 0) {
        ffi_closure **all = calloc((size_t)n, sizeof *all);
        if (!all) die("malloc", NULL);
        memset(all, 1, (size_t)n * sizeof *all); /* resident now: not counted below */
        before = rss_bytes();
        void *code = NULL;
        for (long i = 0; i < n; i++) code = libffi_closure(&cif_ii, f_ii, &all[i]);
        size_t after = rss_bytes();
        if (((bench_ii_fn)code)(2, 3) != 5) die("the last libffi closure", "returned a wrong sum");
        printf("mem libffi.live %ld\n", n);
        printf("mem libffi.rss_per %.1f\n", (double)(after - before) / (double)n);
        for (long i = 0; i < n; i++) ffi_closure_free(all[i]);
        free(all);
        return 0;
    }
#endif
#ifdef BENCH_HAVE_LUA
    if (strcmp(what, "lua") == 0) {
        L = luaL_newstate();
        if (!L) die("luaL_newstate", NULL);
        luaL_openlibs(L);
        luaL_requiref(L, "cffi", luaopen_cffi, 1);
        lua_pop(L, 1);
        lua_gc(L, LUA_GCCOLLECT);
        static const char code[] =
            "local cffi, n = require 'cffi', ...\n"
            "local f, t = function(a, b) return a + b end, {}\n"
            "for i = 1, n do t[i] = assert(cffi.wrap(f, '" SIG_II "')) end\n"
            "assert(t[n](2, 3) == 5)\n"
            "return t\n";
        if (luaL_loadbuffer(L, code, sizeof code - 1, "=bench_mem") != LUA_OK)
            die("Lua memory case", lua_tostring(L, -1));
        lua_pushinteger(L, n);
        before = rss_bytes();
        if (lua_pcall(L, 1, 1, 0) != LUA_OK) die("Lua memory case", lua_tostring(L, -1));
        lua_gc(L, LUA_GCCOLLECT);
        size_t after = rss_bytes();
        cffi_jit_stats st;
        cffi_jit_get_stats(&st);
        printf("mem lua.live %zu\n", st.live_closures);
        printf("mem lua.rss_per %.1f\n", (double)(after - before) / (double)n);
        lua_close(L);
        return 0;
    }
#endif
    printf("mem %s.unavailable 0\n", what);
    return 0;
}

/* ---------------------------------------------------------------------------------------------
 */
int main(int argc, char **argv) {
    int rounds = 7, quick = 0;
    double sample_ms = 10;
    const char *mem = NULL, *only = NULL;
    long mem_n = 1000000, only_n = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) quick = 1, rounds = 1;
        else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc) rounds = atoi(argv[++i]);
        else if (strcmp(argv[i], "--sample-ms") == 0 && i + 1 < argc) sample_ms = atof(argv[++i]);
        else if (strcmp(argv[i], "--only") == 0 && i + 2 < argc) {
            only = argv[++i];
            only_n = atol(argv[++i]);
        } else if (strcmp(argv[i], "--mem") == 0 && i + 1 < argc) {
            mem = argv[++i];
            if (i + 1 < argc && argv[i + 1][0] != '-') mem_n = atol(argv[++i]);
        } else {
            fprintf(stderr, "usage: %s [--quick] [--rounds R] [--sample-ms MS] "
                            "| --mem cffi|libffi|lua [N] | --only KEY N\n", argv[0]);
            return 2;
        }
    }
    if (rounds < 1) rounds = 1;
    if (mem_n < 1) mem_n = 1;
    setvbuf(stdout, NULL, _IOLBF, 0);

    char err[128];
    CHECK_OK(cffi_sig_parse(SIG_II, "C", &sig_ii, err, sizeof err));
    CHECK_OK(cffi_sig_parse(SIG_DD, "C", &sig_dd, err, sizeof err));
    CHECK_OK(cffi_sig_parse(SIG_MIX, "C", &sig_mix, err, sizeof err));
#ifdef BENCH_HAVE_LIBFFI
    libffi_init();
#endif
    if (mem) return run_memory(mem, mem_n);

    /* Per call: one pointer of each kind per signature, all alive for the whole run. */
    add_call_cases("direct", (void *)bench_add_ii, (void *)bench_add_dd, (void *)bench_mixed);
#if HAVE_TYPED
    cffi_barefn *b_ii, *b_dd, *b_mix;
    CHECK_OK(bf_ii_new(t_ii, NULL, &b_ii));
    CHECK_OK(bf_dd_new(t_dd, NULL, &b_dd));
    CHECK_OK(bf_mixed_new(t_mixed, NULL, &b_mix));
    add_call_cases("typed", (void *)bf_ii_code(b_ii), (void *)bf_dd_code(b_dd),
                   (void *)bf_mixed_code(b_mix));
    cffi_barefn *bb_ii, *bb_dd, *bb_mix;
    CHECK_OK(bfb_ii_new(NULL, &bb_ii));
    CHECK_OK(bfb_dd_new(NULL, &bb_dd));
    CHECK_OK(bfb_mixed_new(NULL, &bb_mix));
    add_call_cases("typedfn", (void *)bfb_ii_code(bb_ii), (void *)bfb_dd_code(bb_dd),
                   (void *)bfb_mixed_code(bb_mix));
#endif
    cffi_closure *c_ii, *c_dd, *c_mix;
    CHECK_OK(cffi_closure_new(sig_ii, h_ii, NULL, &c_ii));
    CHECK_OK(cffi_closure_new(sig_dd, h_dd, NULL, &c_dd));
    CHECK_OK(cffi_closure_new(sig_mix, h_mixed, NULL, &c_mix));
    add_call_cases("closure", cffi_closure_code(c_ii), cffi_closure_code(c_dd),
                   cffi_closure_code(c_mix));
#ifdef BENCH_HAVE_LIBFFI
    ffi_closure *l_ii, *l_dd, *l_mix;
    void *p_ii = libffi_closure(&cif_ii, f_ii, &l_ii);
    void *p_dd = libffi_closure(&cif_dd, f_dd, &l_dd);
    void *p_mix = libffi_closure(&cif_mix, f_mixed, &l_mix);
    add_call_cases("libffi", p_ii, p_dd, p_mix);
#endif
#ifdef BENCH_HAVE_LUA
    lua_cases();
#endif
    add_case("create.closure", run_create_closure, NULL);
#if HAVE_TYPED
    add_case("create.typed", run_create_typed, NULL);
#endif
#ifdef BENCH_HAVE_LIBFFI
    add_case("create.libffi", run_create_libffi, NULL);
#endif

    /* Every pointer computes the right thing before anything is timed. */
    for (size_t i = 0; i < ncases; i++) {
        if (strncmp(cases[i].key, "call.", 5) != 0) continue;
        if (cases[i].run == run_ii && ((bench_ii_fn)cases[i].arg)(40, 2) != 42)
            die("wrong result", cases[i].key);
        if (cases[i].run == run_dd && ((bench_dd_fn)cases[i].arg)(40.5, 1.5) != 42.0)
            die("wrong result", cases[i].key);
        if (cases[i].run == run_mixed &&
            ((bench_mixed_fn)cases[i].arg)(1, 1.5, 2, 2.5f, 3, 3.5, (void *)&sink, 4) != 18.5)
            die("wrong result", cases[i].key);
    }

    if (only) run_only(only, only_n);
    else run_timings(rounds, sample_ms, quick);

#ifdef BENCH_HAVE_LUA
    lua_close(L);
#endif
#ifdef BENCH_HAVE_LIBFFI
    ffi_closure_free(l_ii);
    ffi_closure_free(l_dd);
    ffi_closure_free(l_mix);
#endif
    cffi_closure_free(c_ii);
    cffi_closure_free(c_dd);
    cffi_closure_free(c_mix);
#if HAVE_TYPED
    cffi_barefn_free(b_ii);
    cffi_barefn_free(b_dd);
    cffi_barefn_free(b_mix);
#endif
    cffi_sig_free(sig_ii);
    cffi_sig_free(sig_dd);
    cffi_sig_free(sig_mix);
    return 0;
}
