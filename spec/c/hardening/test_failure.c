/*
 * test_failure.c - failure paths leave nothing behind and the process keeps working:
 *   - a host executable-memory allocator that fails after N successful blocks (N = 0, 1, 2):
 *     cffi_closure_new returns CFFI_ENOEXEC exactly when a new block is needed, the statistics
 *     and ordinary memory are unchanged by each failure, the closures made before keep working,
 *     freed ones keep trapping, and creation works again once the allocator recovers;
 *   - an allocator that claims success without memory counts as failure (CFFI_ENOEXEC);
 *   - ordinary memory failing at every allocation of cffi_closure_new (CFFI_ENOMEM, nothing
 *     half-made: stats, outstanding blocks, the next creation works);
 *   - ordinary memory failing at every allocation of cffi_sig_parse, once or from then on, for
 *     new signatures, new spellings of interned ones and large ones: only CFFI_OK or
 *     CFFI_ENOMEM, nothing leaked, and the interning table stays consistent (a later parse gives
 *     one shared object whose normal form re-parses to itself).
 * Each scenario runs in a child process (forked; on Windows the program started again with the
 * scenario's name): an allocator can be chosen only before first use.
 * Linked with --wrap for malloc, calloc, realloc and free (see alloc_wrap.h).
 */
#define _GNU_SOURCE
#include "alloc_wrap.h"
#include "cffi.h"
#include "check.h"

#include <stdlib.h>
#include <string.h>
#ifdef _WIN32
#include <process.h>
#else
#include <sys/wait.h>
#include <unistd.h>
#endif

/* A second real convention of the target, besides C. */
#if defined(__x86_64__)
#define OTHER_CONV "win64"
#else
#define OTHER_CONV "stdcall"
#endif

/* ---------------------------------------------------------------------------------------------
 * Scenarios in children. */
#ifdef _WIN32
static const char *program; /* argv[0]: a child is this program, told which scenario to run */

static void run_child(const char *name, void (*scenario)(long), long arg) {
    (void)scenario;
    char arg_text[32];
    snprintf(arg_text, sizeof arg_text, "%ld", arg);
    fflush(NULL);
    intptr_t status = _spawnl(_P_WAIT, program, program, "--scenario", name, arg_text, NULL);
    CHECK_MSG(status == 0, "scenario %s(%ld): exit %ld", name, arg, (long)status);
}
#else
static void run_child(const char *name, void (*scenario)(long), long arg) {
    fflush(NULL);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        scenario(arg);
        fflush(NULL);
        _exit(check_failed ? 1 : 0);
    }
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0, "scenario %s(%ld): %s %d", name, arg,
              WIFEXITED(status) ? "exit" : "signal",
              WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
}
#endif

static void add_handler(void *ctx, void *ret, void *const *args) {
    *(int *)ret = *(const int *)args[0] + *(const int *)args[1] + (int)(intptr_t)ctx;
}

/* Calls c's code through cffi_call (the closure's own convention). */
static int call_add(const cffi_sig *sig, void *code, int a, int b) {
    int r = -12345;
    cffi_status s = cffi_call(sig, code, &r, (void *[]){&a, &b});
    CHECK(s == CFFI_OK);
    return r;
}

static int dead_calls;
static void count_dead(const cffi_sig *sig, void *code) {
    (void)sig, (void)code;
    dead_calls++;
}

static bool stats_equal(const cffi_jit_stats *a, const cffi_jit_stats *b) {
    return a->live_closures == b->live_closures && a->dead_closures == b->dead_closures &&
           a->exec_bytes == b->exec_bytes && a->data_bytes == b->data_bytes;
}

/* ---------------------------------------------------------------------------------------------
 * A host allocator over the default one that gives `budget` blocks, then fails until told to
 * recover. */
typedef struct flaky {
    long budget;     /* blocks still granted; < 0: unlimited */
    int allocs, refused, releases;
    size_t block_size;
    bool lie;        /* fail by claiming success with NULL views */
} flaky;

static cffi_status flaky_alloc(void *self, size_t size, void **rx, void **rw) {
    flaky *f = self;
    f->allocs++;
    if (f->budget == 0) {
        f->refused++;
        *rx = *rw = NULL;
        return f->lie ? CFFI_OK : CFFI_ENOEXEC;
    }
    if (f->budget > 0) f->budget--;
    f->block_size = size;
    const cffi_jit_allocator *d = cffi_default_jit_allocator();
    return d->alloc(d->self, size, rx, rw);
}
static void flaky_flush(void *self, void *rx, size_t size) {
    (void)self;
    const cffi_jit_allocator *d = cffi_default_jit_allocator();
    d->flush(d->self, rx, size);
}
static void flaky_release(void *self, void *rx, void *rw, size_t size) {
    ((flaky *)self)->releases++;
    const cffi_jit_allocator *d = cffi_default_jit_allocator();
    d->release(d->self, rx, rw, size);
}

static void scenario_exec_fails_after(long blocks) {
    static flaky f;
    f = (flaky){.budget = blocks, .lie = blocks == 1};
    cffi_jit_allocator a = {flaky_alloc, flaky_flush, flaky_release, &f};
    REQUIRE(cffi_set_jit_allocator(&a) == CFFI_OK);
    cffi_set_dead_hook(count_dead);

    cffi_sig *sig = check_parse("int(int, int)", NULL);
    enum { MAX_CLOSURES = 1 << 16 };
    static cffi_closure *made[MAX_CLOSURES];
    long n = 0;
    cffi_status s = CFFI_OK;
    while (n < MAX_CLOSURES &&
           (s = cffi_closure_new(sig, add_handler, (void *)(intptr_t)n, &made[n])) == CFFI_OK)
        n++;
    CHECK_MSG(s == CFFI_ENOEXEC, "after %ld closures: %s", n, cffi_strerror(s));
    CHECK(made[n] == NULL);
    cffi_jit_stats st;
    cffi_jit_get_stats(&st);
    size_t per_block = f.block_size ? f.block_size / st.slot_exec_bytes : 0;
    CHECK_MSG((size_t)n == (size_t)blocks * per_block, "%ld closures from %ld blocks of %zu", n,
              blocks, per_block);
    CHECK(st.live_closures == (size_t)n);
    CHECK(st.exec_bytes == (size_t)blocks * f.block_size);

    /* More failures change nothing: not the statistics, not ordinary memory. */
    long outstanding = oom_outstanding();
    for (int i = 0; i < 5; i++) {
        cffi_closure *c = (cffi_closure *)&c; /* must come back NULL */
        CHECK(cffi_closure_new(sig, add_handler, NULL, &c) == CFFI_ENOEXEC);
        CHECK(c == NULL);
        cffi_jit_stats again;
        cffi_jit_get_stats(&again);
        CHECK(stats_equal(&st, &again));
    }
    CHECK_MSG(oom_outstanding() == outstanding, "failed creations leaked %ld blocks",
              oom_outstanding() - outstanding);
    CHECK(f.releases == 0);

    /* What exists keeps working: live calls, a freed closure's trap, signatures, cffi_call. */
    for (long i = 0; i < n; i += 97) CHECK(call_add(sig, cffi_closure_code(made[i]), 1, 2) == 3 + i);
    if (n > 0) {
        void *code = cffi_closure_code(made[0]);
        int dflt = -77;
        cffi_closure_set_default(made[0], &dflt);
        cffi_closure_free(made[0]);
        made[0] = NULL;
        dead_calls = 0;
        CHECK(call_add(sig, code, 1, 2) == -77);
        CHECK(dead_calls == 1);
    }
    cffi_sig *other = check_parse("double(double, int)", OTHER_CONV);
    cffi_sig_free(other);

    /* The allocator recovers: creation works again, in the very next call. */
    f.budget = -1;
    cffi_closure *fresh = NULL;
    CHECK(cffi_closure_new(sig, add_handler, (void *)(intptr_t)1000, &fresh) == CFFI_OK);
    if (fresh) CHECK(call_add(sig, cffi_closure_code(fresh), 1, 2) == 1003);
    CHECK(f.allocs == blocks + 7); /* the blocks, 1 + 5 refusals, the recovery */
    cffi_closure_free(fresh);
    for (long i = 0; i < n; i++) cffi_closure_free(made[i]);
    cffi_jit_get_stats(&st);
    CHECK(st.live_closures == 0);
    cffi_sig_free(sig);
    /* No allocator change after use, even after a failure. */
    CHECK(cffi_set_jit_allocator(NULL) == CFFI_EBUSY);
    cffi_set_dead_hook(NULL);
}

/* No block was ever taken: the allocator can still be changed after failures. */
static void scenario_exec_never(long unused) {
    (void)unused;
    static flaky f;
    f = (flaky){.budget = 0};
    cffi_jit_allocator a = {flaky_alloc, flaky_flush, flaky_release, &f};
    REQUIRE(cffi_set_jit_allocator(&a) == CFFI_OK);
    cffi_sig *sig = check_parse("void(void)", NULL);
    cffi_closure *c = NULL;
    CHECK(cffi_closure_new(sig, add_handler, NULL, &c) == CFFI_ENOEXEC);
    CHECK(c == NULL);
    CHECK(cffi_set_jit_allocator(NULL) == CFFI_OK);
    CHECK(cffi_closure_new(sig, add_handler, NULL, &c) == CFFI_OK);
    CHECK(f.allocs == 1);
    cffi_closure_free(c);
    cffi_sig_free(sig);
}

/* ---------------------------------------------------------------------------------------------
 * Ordinary memory failing inside cffi_closure_new (the block's bookkeeping), at allocation k. */
static void scenario_closure_oom(long k) {
    cffi_sig *sig = check_parse("int(int, int)", NULL);
    cffi_jit_stats before, after;
    cffi_jit_get_stats(&before);
    long outstanding = oom_outstanding();
    cffi_closure *c = (cffi_closure *)&c;
    oom_fail_after(k, true);
    cffi_status s = cffi_closure_new(sig, add_handler, NULL, &c);
    oom_disarm();
    cffi_jit_get_stats(&after);
    if (s == CFFI_OK) {
        /* k was past the allocations creation needs: fine, and then it must work. */
        CHECK(oom_failures() == 0);
        CHECK(call_add(sig, cffi_closure_code(c), 2, 3) == 5);
        cffi_closure_free(c);
    } else {
        CHECK_MSG(s == CFFI_ENOMEM, "k=%ld: %s", k, cffi_strerror(s));
        CHECK(c == NULL);
        CHECK(stats_equal(&before, &after));
        CHECK_MSG(oom_outstanding() == outstanding, "k=%ld: leaked %ld blocks", k,
                  oom_outstanding() - outstanding);
        /* The next creation works. */
        CHECK(cffi_closure_new(sig, add_handler, (void *)(intptr_t)10, &c) == CFFI_OK);
        CHECK(call_add(sig, cffi_closure_code(c), 2, 3) == 15);
        cffi_closure_free(c);
        cffi_jit_get_stats(&after);
        CHECK(after.live_closures == 0 && after.dead_closures == 1);
    }
    cffi_sig_free(sig);
}

/* ---------------------------------------------------------------------------------------------
 * Ordinary memory failing inside cffi_sig_parse. */
static char big_sig[4096];

static void build_big_sig(void) {
    size_t len = (size_t)snprintf(big_sig, sizeof big_sig, "unsigned long long(");
    for (int i = 0; i < 100; i++)
        len += (size_t)snprintf(big_sig + len, sizeof big_sig - len, "%s%s p%d", i ? ", " : "",
                                i % 3 == 0 ? "double" : i % 3 == 1 ? "const char *" : "int8_t", i);
    snprintf(big_sig + len, sizeof big_sig - len, ")");
}

typedef struct parse_case {
    const char *text, *conv;
    cffi_status expected; /* what a clean parse gives */
} parse_case;

/* Parses cs once with allocation k failing (sticky or not); returns true if the failure was
 * hit at all (false: k is past every allocation the parse makes). The result must be what a
 * clean parse gives, or CFFI_ENOMEM if an allocation failed. */
static bool parse_under_oom(const parse_case *cs, cffi_status expected, long k, bool sticky) {
    long outstanding = oom_outstanding(), refused = oom_failures();
    cffi_sig *sig = (cffi_sig *)&sig;
    char err[160] = "x";
    oom_fail_after(k, sticky);
    cffi_status s = cffi_sig_parse(cs->text, cs->conv, &sig, err, sizeof err);
    oom_disarm();
    bool hit = oom_failures() > refused;
    CHECK_MSG(s == expected || (hit && s == CFFI_ENOMEM), "%s k=%ld%s: %s (%s), want %s",
              cs->text, k, sticky ? " sticky" : "", cffi_strerror(s), err,
              cffi_strerror(expected));
    if (s == CFFI_OK) {
        REQUIRE(sig != NULL);
        cffi_sig *again = check_parse(cs->text, cs->conv);
        CHECK_MSG(again == sig, "%s k=%ld: interned object differs after a partial failure",
                  cs->text, k);
        cffi_sig *normal = check_parse(cffi_sig_text(sig), cffi_sig_convention(sig));
        CHECK_MSG(normal == sig, "%s k=%ld: normal form is another object", cs->text, k);
        cffi_sig_free(normal);
        cffi_sig_free(again);
        cffi_sig_free(sig);
        return hit;
    }
    CHECK(sig == NULL);
    CHECK_MSG(err[0] != '\0' && err[0] != 'x', "%s k=%ld: %s without a message", cs->text, k,
              cffi_strerror(s));
    CHECK_MSG(oom_outstanding() == outstanding, "%s k=%ld: leaked %ld blocks", cs->text, k,
              oom_outstanding() - outstanding);
    if (expected == CFFI_OK) {
        /* The table is usable and consistent: a clean parse now interns once. */
        cffi_sig *a = check_parse(cs->text, cs->conv);
        cffi_sig *b = check_parse(cs->text, cs->conv);
        CHECK(a == b);
        cffi_sig *normal = check_parse(cffi_sig_text(a), cffi_sig_convention(a));
        CHECK(normal == a);
        cffi_sig_free(normal);
        cffi_sig_free(b);
        cffi_sig_free(a);
    }
    return hit;
}

static void scenario_sig_oom(long sticky) {
    build_big_sig();
    const parse_case cases[] = {
        {"int(int, int)", NULL, CFFI_OK},        /* a new spelling of a signature held below */
        {"int (*)(int a, int b)", "C", CFFI_OK}, /* another one */
        {"double __stdcall(float, long long)", NULL, CFFI_OK}, /* new */
        {"void(const char *, void *, size_t)", OTHER_CONV, CFFI_OK},
        {big_sig, NULL, CFFI_OK},
        {"int(int", NULL, CFFI_EBADSIG},         /* errors under memory pressure */
        {"int(struct s)", NULL, CFFI_EBADTYPE},
        {"int(int)", "nonsense", CFFI_EBADCONV},
    };
    /* Warm the table (its first bucket array stays for the life of the process). */
    cffi_sig_free(check_parse("void(void)", NULL));
    long baseline = oom_outstanding();
    long total_steps = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cffi_status expected = cases[i].expected;
        long k = 0;
        for (;;) {
            /* Held around each attempt (and dropped after, which forgets every spelling), so
             * new spellings of it attach to an existing object each time. */
            cffi_sig *held = check_parse("int(int, int)", "C");
            bool hit = parse_under_oom(&cases[i], expected, k, sticky != 0);
            cffi_sig_free(held);
            if (!hit) break;
            k++;
            REQUIRE(k < 100000);
        }
        total_steps += k;
    }
    CHECK_MSG(oom_outstanding() == baseline, "%ld blocks outstanding after every signature was "
              "freed", oom_outstanding() - baseline);
    printf("sig_parse: %ld failure points%s\n", total_steps, sticky ? " (sticky)" : "");
}

static const struct {
    const char *name;
    void (*run)(long);
} scenarios[] = {
    {"exec_fails_after", scenario_exec_fails_after},
    {"exec_never", scenario_exec_never},
    {"closure_oom", scenario_closure_oom},
    {"sig_oom", scenario_sig_oom},
};

int main(int argc, char **argv) {
    /* A child started to run one scenario (Windows): argv = program --scenario name arg. */
    if (argc == 4 && strcmp(argv[1], "--scenario") == 0) {
        for (size_t i = 0; i < sizeof scenarios / sizeof scenarios[0]; i++)
            if (strcmp(argv[2], scenarios[i].name) == 0) {
                scenarios[i].run(strtol(argv[3], NULL, 10));
                fflush(NULL);
                return check_failed ? 1 : 0;
            }
        fprintf(stderr, "no scenario %s\n", argv[2]);
        return 2;
    }
#ifdef _WIN32
    program = argv[0];
#endif
    (void)argc;
    for (long blocks = 0; blocks <= 2; blocks++)
        run_child("exec_fails_after", scenario_exec_fails_after, blocks);
    run_child("exec_never", scenario_exec_never, 0);
    for (long k = 0; k < 4; k++) run_child("closure_oom", scenario_closure_oom, k);
    run_child("sig_oom", scenario_sig_oom, 0);
    run_child("sig_oom", scenario_sig_oom, 1);
    return CHECK_DONE();
}
