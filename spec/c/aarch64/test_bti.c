/*
 * test_bti.c - branch target identification (BTI) with closures on AArch64:
 *   - where the system accepts PROT_BTI, it is enforced: a blr to a guarded page's code without
 *     a landing pad stops the program with SIGILL (the control, in a child process);
 *   - closures' executable blocks are mapped guarded: a blr to a thunk's second instruction
 *     (past its `bti c`) is SIGILL too (in a child), while calls through the closure's address,
 *     which lands on `bti c`, run;
 *   - where the system refuses PROT_BTI (a CPU without BTI: qemu-aarch64 -cpu cortex-a72), the
 *     library maps blocks without it and closures work; the test says which case it saw.
 * Calls between C functions compiled with -mbranch-protection=standard (signed return addresses)
 * and the stubs run in every case.
 */
#include "check.h"
#include "cffi.h"

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef PROT_BTI
#define PROT_BTI 0x10
#endif

typedef int (*int_fn)(int);

/* Runs fn(arg) in a child; returns the signal that ended it (0: it returned). */
static int signal_of_call(int_fn fn, int arg) {
    fflush(NULL);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        volatile int r = fn(arg);
        (void)r;
        _exit(0);
    }
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    return WIFSIGNALED(status) ? WTERMSIG(status) : 0;
}

/* A guarded page holding `add w0, w0, #1; ret` with no landing pad, or NULL where the system
 * refuses PROT_BTI. */
static int_fn guarded_code_without_pad(void) {
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    uint32_t *p = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    REQUIRE(p != MAP_FAILED);
    p[0] = 0x11000400; /* add w0, w0, #1 */
    p[1] = 0xd65f03c0; /* ret */
    __builtin___clear_cache((char *)p, (char *)(p + 2));
    if (mprotect(p, page, PROT_READ | PROT_EXEC | PROT_BTI) != 0) {
        munmap(p, page);
        return NULL;
    }
    return (int_fn)(void *)p;
}

static void handler(void *ctx, void *ret, void *const *args) {
    (void)ctx;
    *(int *)ret = *(const int *)args[0] * 3;
}

int main(void) {
    int_fn control = guarded_code_without_pad();
    bool enforced = false;
    if (control) {
        int sig = signal_of_call(control, 1);
        enforced = sig == SIGILL;
        printf("PROT_BTI accepted; a branch to a guarded page without a landing pad: %s\n",
               enforced ? "SIGILL (enforced)" : sig ? strsignal(sig) : "ran (not enforced)");
    } else {
        printf("PROT_BTI refused by this system: closures are mapped without it\n");
    }

    cffi_sig *sig = check_parse("int(int)", NULL);
    cffi_closure *c;
    REQUIRE(cffi_closure_new(sig, handler, NULL, &c) == CFFI_OK);
    int_fn f = (int_fn)cffi_closure_code(c);
    CHECK(f(14) == 42);
    if (enforced) {
        /* Past the thunk's `bti c`: the block is guarded, so this must stop the child. */
        int_fn past_pad = (int_fn)(void *)((uint8_t *)cffi_closure_code(c) + 4);
        CHECK_MSG(signal_of_call(past_pad, 1) == SIGILL,
                  "a branch past the thunk's landing pad ran: the block is not mapped PROT_BTI");
        CHECK(signal_of_call(f, 1) == 0);
    }
    cffi_closure_free(c);
    cffi_sig_free(sig);
    return CHECK_DONE();
}
