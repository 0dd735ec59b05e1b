/*
 * unwind.c - unwind data for generated code (os.h) on POSIX systems: nothing to register. The
 * DWARF unwinders (libgcc, libunwind) meet generated code only as closure thunks and typed-thunk
 * copies, which never call anything and so are never a caller's frame; the hand-written stubs
 * carry .cfi directives in the library's own .eh_frame.
 */
#include "os/os.h"

int cffi_os_unwind_block_add(void *rx, void *rw, size_t size) {
    (void)rx, (void)rw, (void)size;
    return 0;
}

void cffi_os_unwind_block_remove(void *rx) { (void)rx; }

size_t cffi_os_unwind_data_size(const void *like) {
    (void)like;
    return 0;
}

int cffi_os_unwind_describe(void *rx, size_t size, const void *like, void *data_rw,
                            void *data_rx) {
    (void)rx, (void)size, (void)like, (void)data_rw, (void)data_rx;
    return 0;
}
