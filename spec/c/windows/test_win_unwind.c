/*
 * test_win_unwind.c - unwinding through closures and typed thunks on Windows x64, the way SEH
 * dispatch, C++ exceptions, debuggers and crash reporters do it: from inside a handler, walk the
 * stack with RtlLookupFunctionEntry / RtlVirtualUnwind and require that
 *   - every frame up to the closure's caller has a function table entry (no frame is guessed to
 *     be a leaf): the handler, cffi_dispatch, the entry stub of the convention, and for typed
 *     thunks the template or its copy;
 *   - the walk arrives in the caller, with its callee-saved registers as they were (rbx, rsi,
 *     rdi, r12-r15 hold marker values across the call, checked in the unwound context);
 *   - the executable blocks themselves are registered: a closure's thunk and a typed thunk's copy
 *     each have an entry (the thunk as leaf code, the copy with its template's unwind codes).
 * wine lets exceptions pass frames without entries, so an exception test alone would prove
 * nothing; this walks frame by frame. The C++ test next to it throws across closures.
 */
#include "check.h"
#include "cffi.h"

#if !defined(__x86_64__)
int main(void) {
    printf("cffi: skipped: 32-bit Windows has no unwind tables (exception handlers are chained on "
           "the stack), so there is nothing to register or walk\n");
    return 77;
}
#else

#include <string.h>
#include <windows.h>

enum { MAX_FRAMES = 32 };

typedef struct walk {
    int frames;           /* frames walked before reaching the caller (or giving up) */
    int unlisted;         /* frames without a function table entry on the way */
    bool reached_caller;
    DWORD64 rip[MAX_FRAMES];   /* each frame's pc, and whether it had an entry, for messages */
    bool listed[MAX_FRAMES];
    DWORD64 saved_regs[7]; /* rbx rsi rdi r12 r13 r14 r15 in the caller's unwound context */
} walk;

static const void *caller_begin, *caller_end; /* the function that calls the closure */
static walk last_walk;

/* Walk from here up to the caller (caller_begin..caller_end). */
static __attribute__((noinline)) void walk_to_caller(walk *w) {
    CONTEXT ctx;
    RtlCaptureContext(&ctx);
    memset(w, 0, sizeof *w);
    for (w->frames = 0; w->frames < MAX_FRAMES && ctx.Rip; w->frames++) {
        if (ctx.Rip >= (DWORD64)(uintptr_t)caller_begin && ctx.Rip < (DWORD64)(uintptr_t)caller_end) {
            w->reached_caller = true;
            DWORD64 regs[7] = {ctx.Rbx, ctx.Rsi, ctx.Rdi, ctx.R12, ctx.R13, ctx.R14, ctx.R15};
            memcpy(w->saved_regs, regs, sizeof regs);
            return;
        }
        DWORD64 image = 0;
        PRUNTIME_FUNCTION fn = RtlLookupFunctionEntry(ctx.Rip, &image, NULL);
        w->rip[w->frames] = ctx.Rip;
        w->listed[w->frames] = fn != NULL;
        if (!fn) {
            /* A leaf as far as the OS knows: the return address is on top of the stack. */
            w->unlisted++;
            ctx.Rip = *(DWORD64 *)(uintptr_t)ctx.Rsp;
            ctx.Rsp += 8;
            continue;
        }
        void *handler_data;
        DWORD64 establisher;
        RtlVirtualUnwind(UNW_FLAG_NHANDLER, image, ctx.Rip, fn, &ctx, &handler_data,
                         &establisher, NULL);
    }
}

/* The caller: holds marker values in every callee-saved integer register across the call, so that
 * the unwound context shows whether each frame on the way restored them correctly. */
static const DWORD64 markers[7] = {0x1111, 0x2222, 0x3333, 0x4444, 0x5555, 0x6666, 0x7777};

__attribute__((noinline)) int call_with_markers(int (*fn)(int, int), int a, int b);
__asm__(".text\n"
        ".globl call_with_markers\n"
        ".def call_with_markers; .scl 2; .type 32; .endef\n"
        ".seh_proc call_with_markers\n"
        "call_with_markers:\n\t"
        "pushq %rbx\n\t.seh_pushreg %rbx\n\t"
        "pushq %rsi\n\t.seh_pushreg %rsi\n\t"
        "pushq %rdi\n\t.seh_pushreg %rdi\n\t"
        "pushq %r12\n\t.seh_pushreg %r12\n\t"
        "pushq %r13\n\t.seh_pushreg %r13\n\t"
        "pushq %r14\n\t.seh_pushreg %r14\n\t"
        "pushq %r15\n\t.seh_pushreg %r15\n\t"
        "subq $32, %rsp\n\t.seh_stackalloc 32\n\t" /* shadow space; rsp 16-aligned */
        ".seh_endprologue\n\t"
        "movq %rcx, %rax\n\t"                      /* fn */
        "movl %edx, %ecx\n\t"                      /* a */
        "movl %r8d, %edx\n\t"                      /* b */
        "movl $0x1111, %ebx\n\t"
        "movl $0x2222, %esi\n\t"
        "movl $0x3333, %edi\n\t"
        "movl $0x4444, %r12d\n\t"
        "movl $0x5555, %r13d\n\t"
        "movl $0x6666, %r14d\n\t"
        "movl $0x7777, %r15d\n\t"
        "callq *%rax\n\t"
        "nop\n\t"                                  /* the return address stays inside */
        "addq $32, %rsp\n\t"
        "popq %r15\n\tpopq %r14\n\tpopq %r13\n\tpopq %r12\n\t"
        "popq %rdi\n\tpopq %rsi\n\tpopq %rbx\n\t"
        "ret\n"
        "call_with_markers_end:\n\t"
        ".seh_endproc\n");
extern const char call_with_markers_end[];

static void handler(void *ctx, void *ret, void *const *args) {
    (void)ctx;
    walk_to_caller(&last_walk);
    *(int *)ret = *(const int *)args[0] + *(const int *)args[1];
}

static void print_walk(const char *what) {
    for (int i = 0; i < last_walk.frames && i < MAX_FRAMES; i++)
        fprintf(stderr, "%s: frame %d at %#llx%s\n", what, i,
                (unsigned long long)last_walk.rip[i], last_walk.listed[i] ? "" : " (no entry)");
}

static void check_walk(const char *what) {
    if (!last_walk.reached_caller || last_walk.unlisted) print_walk(what);
    CHECK_MSG(last_walk.reached_caller, "%s: the walk did not reach the caller (%d frames)", what,
              last_walk.frames);
    CHECK_MSG(last_walk.unlisted == 0, "%s: %d frame(s) without a function table entry", what,
              last_walk.unlisted);
    for (int i = 0; i < 7; i++)
        CHECK_MSG(last_walk.saved_regs[i] == markers[i],
                  "%s: callee-saved register %d unwound as %#llx", what, i,
                  (unsigned long long)last_walk.saved_regs[i]);
}

/* A closure of `conv`, called by call_with_markers: the walk from its handler. */
static void check_closure(const char *conv) {
    cffi_sig *sig = check_parse("int(int, int)", conv);
    cffi_closure *c;
    REQUIRE(cffi_closure_new(sig, handler, NULL, &c) == CFFI_OK);
    void *code = cffi_closure_code(c);
    DWORD64 image = 0;
    PRUNTIME_FUNCTION thunk_entry = RtlLookupFunctionEntry((DWORD64)(uintptr_t)code, &image, NULL);
    CHECK_MSG(thunk_entry != NULL, "%s: the closure's thunk has no function table entry", conv);
    if (strcmp(conv, "win64") == 0) {
        CHECK(call_with_markers((int (*)(int, int))code, 20, 22) == 42);
        check_walk(conv);
    } else {
        /* A sysv64 closure is called by System V code: through a System V trampoline. */
        int (__attribute__((sysv_abi)) *f)(int, int) = code;
        memset(&last_walk, 0, sizeof last_walk);
        CHECK(f(20, 22) == 42);
        CHECK_MSG(last_walk.unlisted == 0, "sysv64: %d frame(s) without an entry",
                  last_walk.unlisted);
    }
    cffi_closure_free(c);
    cffi_sig_free(sig);
}

/* A typed thunk: its copy is registered with its template's unwind codes, and a walk from the
 * handler (called from the template's body) reaches the caller. */
static int typed_handler(void *ctx, int a, int b) {
    (void)ctx;
    walk_to_caller(&last_walk);
    return a * b;
}
CFFI_BAREFN(mul2, C, int, (int a, int b), (a, b))
/* Six parameters: the call to the handler needs more stack arguments than the template got, so
 * the template cannot tail-call it and has a frame, with unwind codes to copy. */
static int sum6_handler(void *ctx, int a, int b, int c, int d, int e, int f) {
    (void)ctx;
    return a + b + c + d + e + f;
}
CFFI_BAREFN(sum6, C, int, (int a, int b, int c, int d, int e, int f), (a, b, c, d, e, f))

/* The UNWIND_INFO of the function table entry covering pc (NULL: none), and its entry. */
static const uint8_t *unwind_info_at(const void *pc, PRUNTIME_FUNCTION *entry) {
    DWORD64 image = 0;
    *entry = RtlLookupFunctionEntry((DWORD64)(uintptr_t)pc, &image, NULL);
    return *entry ? (const uint8_t *)(uintptr_t)(image + (*entry)->UnwindData) : NULL;
}

/* The copy at code has an entry starting at it, with its template's unwind codes. */
static void check_copy_described(const char *what, const void *code, const void *template_fn) {
    PRUNTIME_FUNCTION copy_entry, tpl_entry;
    const uint8_t *copy = unwind_info_at(code, &copy_entry);
    const uint8_t *tpl = unwind_info_at(template_fn, &tpl_entry);
    CHECK_MSG(copy != NULL, "%s: the typed thunk's copy has no function table entry", what);
    REQUIRE(tpl != NULL);
    if (!copy) return;
    CHECK_MSG(copy != tpl, "%s: the copy's pc resolves to the template's own entry", what);
    size_t codes = tpl[2];
    CHECK_MSG(copy[2] == codes && copy[3] == tpl[3] &&
                  memcmp(copy + 4, tpl + 4, 2 * codes) == 0,
              "%s: the copy's unwind codes (%u) are not its template's (%u)", what, copy[2],
              tpl[2]);
}

static void check_typed_thunk(void) {
    cffi_barefn *t;
    REQUIRE(mul2_new(typed_handler, NULL, &t) == CFFI_OK);
    check_copy_described("mul2", (const void *)mul2_code(t), mul2__tdesc.code);
    CHECK(call_with_markers(mul2_code(t), 6, 7) == 42);
    check_walk("typed thunk");
    cffi_barefn_free(t);

    REQUIRE(sum6_new(sum6_handler, NULL, &t) == CFFI_OK);
    const uint8_t *tpl = NULL;
    PRUNTIME_FUNCTION tpl_entry;
    tpl = unwind_info_at(sum6__tdesc.code, &tpl_entry);
    CHECK_MSG(tpl && tpl[2] > 0, "the six-parameter template has no frame to describe");
    check_copy_described("sum6", (const void *)sum6_code(t), sum6__tdesc.code);
    CHECK(sum6_code(t)(1, 2, 3, 4, 5, 6) == 21);
    cffi_barefn_free(t);
}

int main(void) {
    caller_begin = (const void *)call_with_markers;
    caller_end = call_with_markers_end;
    check_closure("win64");
    check_closure("sysv64");
    check_typed_thunk();
    return CHECK_DONE();
}
#endif
