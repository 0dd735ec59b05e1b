/*
 * os.h - everything cffi needs from the operating system: executable memory, libraries and their
 * symbols, thread identity and locks. The core (src/) and the Lua binding (lua/) reach the OS
 * only through this file.
 *
 * One folder per OS implements it, with the same files in each: src/os/<os>/os_attributes.h
 * (what hidden.h spells per OS), os_types.h (the lock and thread types, and their inline
 * operations), memory.c (executable memory), library.c (libraries) and unwind.c (unwind data for
 * generated code). The build picks the folder (CFFI_OS: posix or windows) and puts it on the
 * include path. Nothing else in the tree may include an OS header for these jobs.
 *
 * Conventions, for every function here:
 *   - a function that can fail returns 0 on success or a positive errno-style code, and then
 *     leaves its out-parameters NULL and holds nothing it took;
 *   - out-parameters are written only through the pointers given, which must not be NULL;
 *   - preconditions are stated per function; breaking one gives EINVAL where it can be checked
 *     cheaply, and is undefined otherwise;
 *   - every function is thread-safe and never prints.
 */
#ifndef CFFI_OS_H
#define CFFI_OS_H

#include <stdbool.h>
#include <stddef.h>

#include "hidden.h"
#include "os_types.h" /* src/os/<os>/: cffi_os_lock, cffi_os_thread and their operations */

/* What os_types.h defines, with these meanings:
 *   cffi_os_lock               a mutual-exclusion lock; CFFI_OS_LOCK_INIT initialises a static one
 *   cffi_os_lock_take(lock)    wait for and take it (not recursive)
 *   cffi_os_lock_give(lock)    give it back
 *   cffi_os_thread             an OS thread's identity
 *   cffi_os_thread_self()      the calling thread's
 *   cffi_os_thread_equal(a, b) whether two identities name the same thread
 */


/* The granularity of cffi_os_dual_map: the page size (or, where the OS maps in larger units,
 * that unit). Always a power of two, never 0; computed once. */
CFFI_HIDDEN size_t cffi_os_page_size(void);

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
CFFI_HIDDEN int cffi_os_dual_map(size_t size, void **rx, void **rw);
/* The same, with the read-execute view placed within 1 GiB of `near` where the OS grants it (a
 * best effort: callers check the address they get). near NULL: anywhere. */
CFFI_HIDDEN int cffi_os_dual_map_near(size_t size, const void *near, void **rx, void **rw);

/* Undo one cffi_os_dual_map: rx, rw and size exactly as it gave and took them. Precondition: no
 * thread runs code in the block any more. Returns 0 or the OS's error (the views may then be
 * partly mapped still; nothing else can be done about it). */
CFFI_HIDDEN int cffi_os_dual_unmap(void *rx, void *rw, size_t size);

/* Why the last failed cffi_os_dual_map in the process failed, in words (a fixed text; "" if
 * none failed yet): e.g. a process policy that forbids executable memory. */
CFFI_HIDDEN const char *cffi_os_exec_refusal(void);

/* Make bytes [rx, rx + size) written through the read-write view visible to instruction fetch
 * on every thread of the process. Cannot fail; free on targets with coherent caches. */
CFFI_HIDDEN void cffi_os_flush_icache(void *rx, size_t size);

/* ---------------------------------------------------------------------------------------------
 * Unwind data for generated code (unwind.c). Where the OS unwinds with tables (Windows x64:
 * exceptions, debuggers and crash reporters walk every frame with them), every block from
 * cffi_os_dual_map is registered, and unwinds as leaf code (nothing saved, the return address on
 * top of the stack: right for closure thunks, which only jump) until pieces of it are described.
 * Elsewhere (DWARF .eh_frame unwinders find no frame in generated code and stop, which these
 * pieces never need: they only jump or run without calling), both do nothing.
 */

/* Register the block [rx, rx + size) from cffi_os_dual_map (rw its writable view) with the OS's
 * unwinder; until pieces are described, all of it unwinds as leaf code. Returns 0, or ENOMEM
 * when the bookkeeping could not be allocated (the block is then unregistered and may be
 * unmapped). Precondition: the block came from cffi_os_dual_map, which leaves room after it. */
CFFI_HIDDEN int cffi_os_unwind_block_add(void *rx, void *rw, size_t size);

/* Drop the block's registration, before cffi_os_dual_unmap. Nothing if it has none. */
CFFI_HIDDEN void cffi_os_unwind_block_remove(void *rx);

/* Bytes of unwind data cffi_os_unwind_describe stores for a copy of the function `like`: the
 * caller reserves them in the same block, after the copy. 0: none needed, or none to be had. */
CFFI_HIDDEN size_t cffi_os_unwind_data_size(const void *like);

/* Describe the piece [rx, rx + size) of a block from cffi_os_dual_map as unwinding like the
 * compiled function `like` it was copied from (same prologue, same frame), storing the unwind data
 * through data_rw, whose execute-view address is data_rx (cffi_os_unwind_data_size bytes, in the
 * same block). Pieces of one block are described in address order. Where the copy's prologue is
 * not like's byte for byte, only the state after the prologue is described. Returns 0; ENOTSUP
 * if like's unwind data names handlers or chains (they cannot move); ENOENT if like has none, or
 * rx is in no block of cffi_os_dual_map (a host allocator's: the host registers its own). */
CFFI_HIDDEN int cffi_os_unwind_describe(void *rx, size_t size, const void *like, void *data_rw,
                                        void *data_rx);

/* ---------------------------------------------------------------------------------------------
 * Libraries (memory.c's sibling library.c). Handles are the OS's own (a dlopen handle, an
 * HMODULE); CFFI_OS_PROCESS names every module loaded in the process.
 */
#define CFFI_OS_PROCESS ((void *)0)

/* Load the library at path (a path or a name the OS searches for). On failure, err gets the OS's
 * message (truncated to errlen, always terminated when errlen > 0). */
CFFI_HIDDEN int cffi_os_lib_open(const char *path, void **handle, char *err, size_t errlen);

/* The address of symbol name in handle (CFFI_OS_PROCESS: any loaded module). A symbol whose
 * address is NULL counts as not found. On failure, err gets the OS's message or is empty. */
CFFI_HIDDEN int cffi_os_lib_sym(void *handle, const char *name, void **addr, char *err,
                                   size_t errlen);

/* Keep the module (executable or library) that contains addr loaded for the life of the
 * process, whatever unloads it later: freed callbacks' addresses go on reaching the trap code in
 * it. Windows pins the module (GetModuleHandleEx, ..._PIN); on ELF systems the module is linked
 * with -z nodelete instead, and this does nothing. Best effort: returns whether it is pinned. */
CFFI_HIDDEN bool cffi_os_pin_module(const void *addr);

/* Unload a handle from cffi_os_lib_open. Addresses taken from it are invalid afterwards. */
CFFI_HIDDEN void cffi_os_lib_close(void *handle);

#endif /* CFFI_OS_H */
