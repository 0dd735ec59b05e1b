/*
 * unwind.h - the unwind tables of executable blocks on Windows (unwind.c), used by memory.c.
 * What the rest of the library calls is in os/os.h (cffi_os_unwind_*).
 */
#ifndef CFFI_OS_WINDOWS_UNWIND_H
#define CFFI_OS_WINDOWS_UNWIND_H

#include <stddef.h>

#include "hidden.h"

/* Register a function table for the block [rx, rx + size), whose unwind page (page bytes) follows
 * it in both views. Until pieces are described, all of the block unwinds as leaf code: the
 * return address on top of the stack, nothing saved (true of closure thunks, which only jump).
 * Returns 0 or an errno-style code. */
CFFI_HIDDEN int cffi_os_unwind_block_add(void *rx, void *rw, size_t size, size_t page);

/* Drop the block's table, before its views are unmapped. */
CFFI_HIDDEN void cffi_os_unwind_block_remove(void *rx);

#endif
