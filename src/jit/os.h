/*
 * os.h - the operating-system layer under the executable-memory allocator (jit/alloc.c).
 *
 * This is the whole contract one OS file (os_posix.c, os_windows.c) implements. It only maps,
 * unmaps and flushes; policy (block sizes, counters, which allocator is in use) lives above it.
 *
 * Conventions, for every function here:
 *   - a function that can fail returns 0 on success or a positive errno-style code, and then
 *     leaves its out-parameters NULL and holds nothing it took;
 *   - out-parameters are written only through the pointers given, which must not be NULL;
 *   - preconditions are stated per function; breaking one gives EINVAL where it can be checked
 *     cheaply, and is undefined otherwise;
 *   - every function is thread-safe and never prints.
 */
#ifndef CFFI_JIT_OS_H
#define CFFI_JIT_OS_H

#include <stddef.h>

#define CFFI_OS_HIDDEN __attribute__((visibility("hidden")))

/* The granularity of cffi_os_dual_map: the page size (or, where the OS maps in larger units,
 * that unit). Always a power of two, never 0; computed once. */
CFFI_OS_HIDDEN size_t cffi_os_page_size(void);

/* Map size bytes of fresh, zero-filled memory twice: *rw is a read-write view, *rx a
 * read-execute view of the same bytes. No page of either view is ever writable and executable
 * at once, and no protection change adds execute permission to a page, so this works where the
 * OS forbids both (Linux prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN)).
 *
 * Precondition: size is a non-zero multiple of cffi_os_page_size(). Both views start on a page
 * boundary. A write through *rw is visible through *rx once cffi_os_flush_icache has covered it.
 * The views survive fork() shared with the child, so bytes written before a fork must not be
 * written again after it.
 *
 * Fails with EINVAL (bad size), ENOMEM (no address space or backing memory), or whatever the OS
 * reported from the last way tried (e.g. EACCES, EPERM when a policy forbids executable file
 * mappings). */
CFFI_OS_HIDDEN int cffi_os_dual_map(size_t size, void **rx, void **rw);
/* The same, with the read-execute view placed within 1 GiB of `near` where the OS grants it (a
 * best effort: callers check the address they get). near NULL: anywhere. */
CFFI_OS_HIDDEN int cffi_os_dual_map_near(size_t size, const void *near, void **rx, void **rw);

/* Undo one cffi_os_dual_map: rx, rw and size exactly as it gave and took them. Precondition: no
 * thread runs code in the block any more. Returns 0 or the OS's error (the views may then be
 * partly mapped still; nothing else can be done about it). */
CFFI_OS_HIDDEN int cffi_os_dual_unmap(void *rx, void *rw, size_t size);

/* Make bytes [rx, rx + size) written through the read-write view visible to instruction fetch
 * on every thread of the process. Cannot fail; free on targets with coherent caches. */
CFFI_OS_HIDDEN void cffi_os_flush_icache(void *rx, size_t size);

#endif /* CFFI_JIT_OS_H */
