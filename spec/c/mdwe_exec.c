/*
 * mdwe_exec.c - run a program with Linux's "memory deny write-execute" in force:
 *
 *   mdwe_exec prog args...          run prog under prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN)
 *   mdwe_exec --verify-enforced     exit 0 only if this process is under that restriction
 *
 * `mdwe_exec mdwe_exec --verify-enforced` shows the restriction survives execve and is really
 * enforced, so the wrapped test runs cannot pass vacuously.
 *
 * Under it the kernel refuses any mapping that is writable and executable at once and any
 * mprotect that adds execute permission; the flag is inherited across fork and execve. The C
 * tests run under it too (c.mdwe.*, see mdwe.cmake) to show cffi never needs such pages.
 *
 * Exit 77 (CTest's SKIP_RETURN_CODE) when the kernel does not know MDWE, so those runs show as
 * skipped instead of passing without the restriction.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

/* Linux 6.3+; older headers lack them. */
#ifndef PR_SET_MDWE
#define PR_SET_MDWE 65
#endif
#ifndef PR_GET_MDWE
#define PR_GET_MDWE 66
#endif
#ifndef PR_MDWE_REFUSE_EXEC_GAIN
#define PR_MDWE_REFUSE_EXEC_GAIN (1UL << 0)
#endif

enum { EXIT_SKIP = 77 };

/* Called without MDWE set by this process: it must come from the parent. With MDWE in force, an anonymous read-write page must not become executable, and a fresh
 * writable-and-executable mapping must be refused. Returns 0 if both hold. */
static int verify_enforced(void) {
    long page = sysconf(_SC_PAGESIZE);
    int failures = 0;
    void *p = mmap(NULL, (size_t)page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        fprintf(stderr, "mdwe_exec: mmap: %s\n", strerror(errno));
        return 1;
    }
    if (mprotect(p, (size_t)page, PROT_READ | PROT_EXEC) == 0) {
        fprintf(stderr, "mdwe_exec: mprotect(RW -> RX) succeeded: MDWE is not in force\n");
        failures++;
    }
    munmap(p, (size_t)page);
    void *wx = mmap(NULL, (size_t)page, PROT_READ | PROT_WRITE | PROT_EXEC,
                    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (wx != MAP_FAILED) {
        fprintf(stderr, "mdwe_exec: a writable and executable mapping succeeded\n");
        munmap(wx, (size_t)page);
        failures++;
    }
    if (prctl(PR_GET_MDWE, 0, 0, 0, 0) != (int)PR_MDWE_REFUSE_EXEC_GAIN) {
        fprintf(stderr, "mdwe_exec: PR_GET_MDWE does not report REFUSE_EXEC_GAIN\n");
        failures++;
    }
    if (failures == 0) printf("mdwe_exec: W^X is enforced by the kernel\n");
    return failures ? 1 : 0;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: mdwe_exec prog args... | mdwe_exec --verify-enforced\n");
        return 2;
    }
    if (strcmp(argv[1], "--verify-enforced") == 0) return verify_enforced();
    if (prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN, 0, 0, 0) != 0) {
        if (errno == EINVAL) {
            fprintf(stderr, "mdwe_exec: this kernel has no PR_SET_MDWE (Linux 6.3+): skipped\n");
            return EXIT_SKIP;
        }
        fprintf(stderr, "mdwe_exec: prctl(PR_SET_MDWE): %s\n", strerror(errno));
        return 1;
    }
    execvp(argv[1], argv + 1);
    fprintf(stderr, "mdwe_exec: %s: %s\n", argv[1], strerror(errno));
    return 127;
}
