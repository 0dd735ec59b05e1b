/*
 * memory.c - executable memory (os.h) for Linux and other POSIX systems.
 *
 * Dual mapping: one memory file, mapped once PROT_READ|PROT_WRITE and once PROT_READ|PROT_EXEC.
 * Mapping a file executable from the start is not an "exec gain", so Linux's
 * PR_MDWE_REFUSE_EXEC_GAIN allows it, while mprotect() adding PROT_EXEC, or any page that is
 * writable and executable at once, is refused there. The file is closed right after mapping: the
 * mappings keep its memory alive and no descriptor leaks into the process's fd table.
 *
 * Where the memory file comes from, in order: memfd_create (Linux 3.17+, FreeBSD 13+); an
 * unnamed O_TMPFILE file in /dev/shm, then in /tmp (for kernels or sandboxes without memfd, and
 * for a memfd that cannot be mapped executable); elsewhere a named temporary file, unlinked at
 * once. /tmp may be mounted noexec; then its attempt fails and the next one is tried.
 */
#define _GNU_SOURCE
#include "os/os.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(MFD_CLOEXEC) && !defined(MFD_EXEC)
/* Linux 6.3+: ask for an executable memfd explicitly, so a system that defaults memfds to
 * "no exec" (vm.memfd_noexec) neither warns nor refuses. Older kernels reject the flag. */
#define MFD_EXEC 0x0010U
#endif

size_t cffi_os_page_size(void) {
    static atomic_size_t cached;
    size_t size = atomic_load_explicit(&cached, memory_order_relaxed);
    if (size == 0) {
        long queried = sysconf(_SC_PAGESIZE);
        /* Every POSIX system answers; 4096 only guards against a broken sysconf. */
        size = queried > 0 ? (size_t)queried : 4096;
        atomic_store_explicit(&cached, size, memory_order_relaxed);
    }
    return size;
}

enum { MEMORY_FILE_KINDS = 3 };

/* Open the idx-th kind (< MEMORY_FILE_KINDS) of memory file, sized to size. Returns the
 * descriptor, or -1 with errno set. */
static int open_memory_file(int idx, size_t size) {
    int fd = -1;
    switch (idx) {
    case 0:
#ifdef MFD_CLOEXEC
        fd = memfd_create("cffi-jit", MFD_CLOEXEC | MFD_EXEC);
        if (fd < 0 && errno == EINVAL) fd = memfd_create("cffi-jit", MFD_CLOEXEC);
#else
        errno = ENOSYS;
#endif
        break;
    default: {
        const char *dir = idx == 1 ? "/dev/shm" : "/tmp";
#ifdef O_TMPFILE
        fd = open(dir, O_TMPFILE | O_RDWR | O_EXCL | O_CLOEXEC, 0600);
#else
        char path[64];
        snprintf(path, sizeof path, "%s/cffi-jit-XXXXXX", dir);
        fd = mkstemp(path);
        if (fd >= 0) {
            unlink(path);
            fcntl(fd, F_SETFD, FD_CLOEXEC);
        }
#endif
        break;
    }
    }
    if (fd < 0) return -1;
    if (ftruncate(fd, (off_t)size) != 0) {
        int err = errno;
        close(fd);
        errno = err;
        return -1;
    }
    return fd;
}

/* The execute view's protection. On AArch64, PROT_BTI marks the pages as guarded: an indirect
 * branch into them must land on a landing pad (every thunk and stub starts with `bti c`), as the
 * program's own code is when it was built with branch protection. A kernel (or CPU) without BTI
 * refuses the flag with EINVAL; then the view is mapped without it, and that answer is kept. */
#if defined(__aarch64__)
#ifndef PROT_BTI
#define PROT_BTI 0x10 /* <asm/mman.h> on arm64 */
#endif
static atomic_bool bti_refused;
static int exec_prot(void) {
    return PROT_READ | PROT_EXEC | (atomic_load(&bti_refused) ? 0 : PROT_BTI);
}
/* mmap for the execute view, dropping PROT_BTI for good if the system refuses it. */
static void *mmap_exec(void *hint, size_t size, int fd) {
    void *v = mmap(hint, size, exec_prot(), MAP_SHARED, fd, 0);
    if (v == MAP_FAILED && errno == EINVAL && !atomic_load(&bti_refused)) {
        atomic_store(&bti_refused, true);
        v = mmap(hint, size, exec_prot(), MAP_SHARED, fd, 0);
    }
    return v;
}
#else
static void *mmap_exec(void *hint, size_t size, int fd) {
    return mmap(hint, size, PROT_READ | PROT_EXEC, MAP_SHARED, fd, 0);
}
#endif

/* The read-execute view of fd, within NEAR_REACH of near when the kernel grants one of a few
 * hinted addresses around it (below first: above a program's text lies its heap), else anywhere.
 * Code there can reach code near `near` with 32-bit relative branches, which are cheaper for
 * branch predictors than jumps across the address space. */
enum { NEAR_TRIES = 8 };
#define NEAR_STEP ((uintptr_t)64 << 20)
#define NEAR_REACH ((uintptr_t)1 << 30)
static void *map_exec_near(int fd, size_t size, const void *near) {
    uintptr_t n = (uintptr_t)near & ~(NEAR_STEP - 1);
    for (int i = 0; near && sizeof(void *) == 8 && i < NEAR_TRIES; i++) {
        uintptr_t step = NEAR_STEP * (uintptr_t)(i / 2 + 1);
        uintptr_t hint = i % 2 == 0 ? n - step : n + step;
        if ((i % 2 == 0 && n < step) || (i % 2 == 1 && hint < n)) continue;
        void *v = mmap_exec((void *)hint, size, fd);
        if (v == MAP_FAILED) return v;
        uintptr_t a = (uintptr_t)v, d = a > (uintptr_t)near ? a - (uintptr_t)near
                                                             : (uintptr_t)near - a;
        if (d < NEAR_REACH) return v;
        munmap(v, size);
    }
    return mmap_exec(NULL, size, fd);
}

/* Why the last dual map failed, process-wide: one of the fixed texts below (a thread-local
 * buffer could allocate on a thread's first use, on a path that reports running out of memory). */
static const char *_Atomic refusal = "";

const char *cffi_os_exec_refusal(void) { return refusal; }

int cffi_os_dual_map(size_t size, void **rx, void **rw) {
    return cffi_os_dual_map_near(size, NULL, rx, rw);
}

int cffi_os_dual_map_near(size_t size, const void *near, void **rx, void **rw) {
    *rx = NULL;
    *rw = NULL;
    if (size == 0 || size % cffi_os_page_size() != 0 || (size_t)(off_t)size != size ||
        (off_t)size < 0)
        return EINVAL;

    /* Report the most telling failure: running out of memory beats "this way is unavailable". */
    int err = ENOENT;
    bool saw_enomem = false;
    for (int idx = 0; idx < MEMORY_FILE_KINDS; idx++) {
        int fd = open_memory_file(idx, size);
        if (fd < 0) {
            err = errno;
            saw_enomem |= err == ENOMEM;
            continue;
        }
        void *write_view = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        void *exec_view = MAP_FAILED;
        if (write_view != MAP_FAILED)
            exec_view = map_exec_near(fd, size, near);
        err = errno;
        close(fd);
        if (exec_view != MAP_FAILED) {
            *rx = exec_view;
            *rw = write_view;
            return 0;
        }
        if (write_view != MAP_FAILED) munmap(write_view, size);
        saw_enomem |= err == ENOMEM;
    }
    err = saw_enomem ? ENOMEM : err;
    refusal = err == ENOMEM ? "no address space or memory left for a memory file's two views"
              : err == EPERM || err == EACCES
                  ? "the system refused to map a memory file executable (a noexec mount, or a "
                    "security policy)"
                  : "no memory file could be mapped both writable and executable";
    return err;
}

int cffi_os_dual_unmap(void *rx, void *rw, size_t size) {
    int err = 0;
    if (rx && munmap(rx, size) != 0) err = errno;
    if (rw && munmap(rw, size) != 0 && err == 0) err = errno;
    return err;
}

void cffi_os_flush_icache(void *rx, size_t size) {
    __builtin___clear_cache((char *)rx, (char *)rx + size);
}
