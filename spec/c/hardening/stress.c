/*
 * stress.c - long runs of the lifetime machinery. CTest runs scaled-down sizes (hard.stress.*);
 * scripts/stress.sh runs the full ones.
 *
 *   stress live N          N live C closures at once, each called through its bare pointer
 *                          (its own result), then all freed: stats back to zero live
 *   stress cycles N        N create/free cycles: resident memory (/proc/self/statm, on Windows
 *                          the working set) and the
 *                          executable and data bytes stay flat after warm-up
 *   stress threads T SECS  T threads create, call and free closures for SECS seconds, each
 *                          checking every result (built with -fsanitize=thread in CI)
 *   stress lua N           N live Lua callbacks at once, each called from native code, then
 *                          freed and collected (builds with Lua)
 */
#define _GNU_SOURCE
#include "cffi.h"
#include "check.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#ifdef _WIN32
#include <windows.h>
#include <psapi.h>
#else
#include <unistd.h>
#endif

#if CFFI_TEST_LUA
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#endif

typedef int (*binop)(int, int); /* the "C" convention */

static void add_handler(void *ctx, void *ret, void *const *args) {
    *(int *)ret = *(const int *)args[0] + *(const int *)args[1] + (int)(intptr_t)ctx;
}

static cffi_sig *parse(const char *text) {
    cffi_sig *sig = NULL;
    char err[160] = "";
    cffi_status s = cffi_sig_parse(text, "C", &sig, err, sizeof err);
    CHECK_MSG(s == CFFI_OK, "parse %s: %s %s", text, cffi_strerror(s), err);
    REQUIRE(sig != NULL);
    return sig;
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long resident_kib(void) {
#ifdef _WIN32
    PROCESS_MEMORY_COUNTERS counters;
    if (!GetProcessMemoryInfo(GetCurrentProcess(), &counters, sizeof counters)) return -1;
    return (long)(counters.WorkingSetSize / 1024);
#else
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f) return -1;
    long size = 0, resident = 0;
    int got = fscanf(f, "%ld %ld", &size, &resident);
    fclose(f);
    return got == 2 ? resident * (sysconf(_SC_PAGESIZE) / 1024) : -1;
#endif
}

/* --------------------------------------------------------------------------------------------- */
static void stress_live(long n) {
    cffi_sig *sig = parse("int(int, int)");
    cffi_closure **all = calloc((size_t)n, sizeof *all);
    REQUIRE(all != NULL);
    double t0 = now();
    for (long i = 0; i < n; i++)
        REQUIRE(cffi_closure_new(sig, add_handler, (void *)(intptr_t)(i % 100000), &all[i]) ==
                CFFI_OK);
    double t1 = now();
    long wrong = 0;
    for (long i = 0; i < n; i++)
        wrong += ((binop)cffi_closure_code(all[i]))(1, 2) != 3 + (int)(i % 100000);
    CHECK_MSG(wrong == 0, "%ld of %ld live closures gave a wrong result", wrong, n);
    cffi_jit_stats st;
    cffi_jit_get_stats(&st);
    CHECK(st.live_closures == (size_t)n);
    printf("live: %ld closures in %.2f s; %zu exec bytes (%.1f per closure), %zu data bytes, "
           "RSS %ld KiB\n", n, t1 - t0, st.exec_bytes, (double)st.exec_bytes / (double)n,
           st.data_bytes, resident_kib());
    for (long i = 0; i < n; i++) cffi_closure_free(all[i]);
    cffi_jit_get_stats(&st);
    CHECK(st.live_closures == 0);
    free(all);
    cffi_sig_free(sig);
}

/* --------------------------------------------------------------------------------------------- */
static void stress_cycles(long n) {
    enum { BATCH = 16, SAMPLES = 10 };
    const long warmup = 4 * CFFI_QUARANTINE + 100000;
    cffi_sig *sig = parse("int(int, int)");
    cffi_closure *batch[BATCH];
    long failures = 0, wrong = 0;
    long rss[SAMPLES + 1] = {0};
    cffi_jit_stats warm = {0}, st;
    long total = warmup + n, next_sample = warmup, sample = 0;
    double t0 = now();
    for (long cycle = 0; cycle < total; cycle += BATCH) {
        if (cycle >= next_sample && sample <= SAMPLES) {
            if (sample == 0) cffi_jit_get_stats(&warm);
            rss[sample++] = resident_kib();
            next_sample += n / SAMPLES;
        }
        for (int i = 0; i < BATCH; i++) {
            if (cffi_closure_new(sig, add_handler, (void *)(intptr_t)i, &batch[i]) != CFFI_OK) {
                failures++;
                batch[i] = NULL;
                continue;
            }
            wrong += ((binop)cffi_closure_code(batch[i]))(cycle & 0xffff, 1) !=
                     (int)(cycle & 0xffff) + 1 + i;
        }
        for (int i = 0; i < BATCH; i++) cffi_closure_free(batch[i]);
    }
    double t1 = now();
    cffi_jit_get_stats(&st);
    CHECK(failures == 0);
    CHECK(wrong == 0);
    CHECK_MSG(st.exec_bytes == warm.exec_bytes && st.data_bytes == warm.data_bytes,
              "exec %zu -> %zu, data %zu -> %zu bytes", warm.exec_bytes, st.exec_bytes,
              warm.data_bytes, st.data_bytes);
    long low = rss[0], high = rss[0];
    for (long i = 0; i < sample; i++) {
        if (rss[i] < low) low = rss[i];
        if (rss[i] > high) high = rss[i];
    }
    /* Flat: a megabyte of slack for the C library's own bookkeeping and page-cache noise. */
    CHECK_MSG(high - low <= 1024, "resident memory moved from %ld to %ld KiB", low, high);
    printf("cycles: %ld create/free cycles (+%ld warm-up) in %.2f s; RSS %ld..%ld KiB over %ld "
           "samples; %zu exec bytes\n", n, warmup, t1 - t0, low, high, sample, st.exec_bytes);
    cffi_sig_free(sig);
}

/* --------------------------------------------------------------------------------------------- */
typedef struct worker {
    pthread_t thread;
    int id;
    double deadline;
    long created, wrong, failed;
} worker;

static cffi_sig *thread_sig;
static atomic_int go;

static void *thread_main(void *arg) {
    worker *w = arg;
    enum { HELD = 32 };
    cffi_closure *held[HELD] = {0};
    unsigned seed = (unsigned)w->id * 2654435761u + 7;
    while (!atomic_load(&go)) {
    }
    for (long round = 0;; round++) {
        if ((round & 255) == 0 && now() > w->deadline) break;
        seed = seed * 1103515245u + 12345u;
        int slot = (int)((seed >> 16) % HELD);
        if (held[slot]) {
            cffi_closure_free(held[slot]);
            held[slot] = NULL;
        }
        int ctx = w->id * 100000 + (int)(round % 50000);
        if (cffi_closure_new(thread_sig, add_handler, (void *)(intptr_t)ctx, &held[slot]) !=
            CFFI_OK) {
            w->failed++;
            continue;
        }
        w->created++;
        w->wrong += ((binop)cffi_closure_code(held[slot]))(3, 4) != ctx + 7;
        /* Call another live closure of this thread: its own context, not a neighbour's. */
        int other = (slot + 1) % HELD;
        if (held[other]) {
            int r = ((binop)cffi_closure_code(held[other]))(0, 0);
            w->wrong += r / 100000 != w->id;
        }
    }
    for (int i = 0; i < HELD; i++) cffi_closure_free(held[i]);
    return NULL;
}

static void stress_threads(int nthreads, double seconds) {
    thread_sig = parse("int(int, int)");
    worker *workers = calloc((size_t)nthreads, sizeof *workers);
    REQUIRE(workers != NULL);
    double deadline = now() + seconds;
    for (int i = 0; i < nthreads; i++) {
        workers[i] = (worker){.id = i, .deadline = deadline};
        REQUIRE(pthread_create(&workers[i].thread, NULL, thread_main, &workers[i]) == 0);
    }
    atomic_store(&go, 1);
    long created = 0;
    for (int i = 0; i < nthreads; i++) {
        pthread_join(workers[i].thread, NULL);
        CHECK_MSG(workers[i].wrong == 0 && workers[i].failed == 0,
                  "thread %d: %ld wrong, %ld failed", i, workers[i].wrong, workers[i].failed);
        CHECK(workers[i].created > 0);
        created += workers[i].created;
    }
    cffi_jit_stats st;
    cffi_jit_get_stats(&st);
    CHECK(st.live_closures == 0);
    printf("threads: %d threads created, called and freed %ld closures in %.1f s\n", nthreads,
           created, seconds);
    free(workers);
    cffi_sig_free(thread_sig);
}

/* --------------------------------------------------------------------------------------------- */
#if CFFI_TEST_LUA
static const char lua_stress[] =
    "local cffi = require 'cffi'\n"
    "local n = ...\n"
    "local cbs = {}\n"
    "for i = 1, n do\n"
    "  cbs[i] = cffi.wrap(function(a) return a + i end, 'int(int)')\n"
    "end\n"
    "for i = 1, n do\n"
    "  local r = cffi.call(cbs[i]:addr(), 'int(int)', nil, 1)\n"
    "  if r ~= i + 1 then error(('callback %d returned %d'):format(i, r)) end\n"
    "end\n"
    "for i = 1, n, 2 do cbs[i]:free() end\n"
    "return cbs\n";

static void stress_lua(long n) {
    lua_State *L = luaL_newstate();
    REQUIRE(L != NULL);
    luaL_openlibs(L);
    luaL_requiref(L, "cffi", luaopen_cffi, 0);
    lua_pop(L, 1);
    double t0 = now();
    REQUIRE(luaL_loadstring(L, lua_stress) == LUA_OK);
    lua_pushinteger(L, n);
    if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
        CHECK_MSG(0, "%s", lua_tostring(L, -1));
        lua_close(L);
        return;
    }
    cffi_jit_stats st;
    cffi_jit_get_stats(&st);
    CHECK_MSG(st.live_closures == (size_t)(n / 2), "%zu live, want %ld", st.live_closures, n / 2);
    double t1 = now();
    lua_pop(L, 1);
    lua_gc(L, LUA_GCCOLLECT);
    cffi_jit_get_stats(&st);
    CHECK_MSG(st.live_closures == 0, "%zu live after collection", st.live_closures);
    printf("lua: %ld callbacks made and called in %.2f s; RSS %ld KiB\n", n, t1 - t0,
           resident_kib());
    lua_close(L);
}
#endif

int main(int argc, char **argv) {
    if (argc >= 3 && strcmp(argv[1], "live") == 0) {
        stress_live(atol(argv[2]));
    } else if (argc >= 3 && strcmp(argv[1], "cycles") == 0) {
        stress_cycles(atol(argv[2]));
    } else if (argc >= 4 && strcmp(argv[1], "threads") == 0) {
        stress_threads(atoi(argv[2]), atof(argv[3]));
    } else if (argc >= 3 && strcmp(argv[1], "lua") == 0) {
#if CFFI_TEST_LUA
        stress_lua(atol(argv[2]));
#else
        printf("built without Lua: skipped\n");
        return 77;
#endif
    } else {
        fprintf(stderr, "usage: stress live N | cycles N | threads T SECONDS | lua N\n");
        return 2;
    }
    return CHECK_DONE();
}
