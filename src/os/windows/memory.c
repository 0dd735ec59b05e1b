/*
 * memory.c - executable memory (os.h) for Windows.
 *
 * Dual mapping: one pagefile-backed section (CreateFileMapping with PAGE_EXECUTE_READWRITE as
 * its maximum protection), mapped once read-write and once read-execute. No page is ever
 * writable and executable at once, and no page ever has execute permission added by
 * VirtualProtect. That second point matters twice on Windows:
 *   - Control Flow Guard: memory mapped executable is a valid indirect-call target for CFG, while
 *     memory switched from read-write to executable is not (it would need SetProcessValidCallTargets),
 *     so the bare function pointers we hand out can be called from CFG-instrumented code;
 *   - Arbitrary Code Guard (PROCESS_MITIGATION_DYNAMIC_CODE_POLICY) refuses both ways, with
 *     ERROR_DYNAMIC_CODE_BLOCKED; that is reported, with a message saying so, as "no executable
 *     memory" (CFFI_ENOEXEC) when the first closure or thunk is made.
 *
 * Every block is followed by one extra page, readable through the execute view, holding the
 * unwind data the OS needs for code in the block (unwind.c, os.h: cffi_os_unwind_block_add);
 * callers never see it.
 */
#include "os/os.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>

#ifndef ERROR_DYNAMIC_CODE_BLOCKED
#define ERROR_DYNAMIC_CODE_BLOCKED 1655L /* winerror.h of newer SDKs */
#endif

/* Why the last dual map failed, process-wide: one of the fixed texts below. Not thread-local:
 * mingw's thread-local storage allocates on a thread's first use, which must not happen on a
 * path that reports running out of memory. */
static const char *_Atomic refusal = "";

const char *cffi_os_exec_refusal(void) { return refusal; }

size_t cffi_os_page_size(void) {
    static atomic_size_t cached;
    size_t size = atomic_load_explicit(&cached, memory_order_relaxed);
    if (size == 0) {
        SYSTEM_INFO info;
        GetSystemInfo(&info);
        size = info.dwPageSize ? info.dwPageSize : 4096;
        atomic_store_explicit(&cached, size, memory_order_relaxed);
    }
    return size;
}

/* Views are placed at multiples of this (64 KiB on every Windows so far). */
static uintptr_t allocation_granularity(void) {
    SYSTEM_INFO info;
    GetSystemInfo(&info);
    return info.dwAllocationGranularity ? info.dwAllocationGranularity : 65536;
}

/* The errno-style code for Windows error `code`, with its refusal text. */
static int failure(DWORD code, const char *what) {
    if (code == ERROR_DYNAMIC_CODE_BLOCKED) {
        refusal = "the process forbids executable memory it did not load from an image (Arbitrary "
                  "Code Guard, ERROR_DYNAMIC_CODE_BLOCKED)";
        return EPERM;
    }
    if (code == ERROR_NOT_ENOUGH_MEMORY || code == ERROR_COMMITMENT_LIMIT ||
        code == ERROR_OUTOFMEMORY) {
        refusal = "not enough memory or commit charge for a section";
        return ENOMEM;
    }
    refusal = what;
    return EACCES;
}

/* The read-execute view, within 1 GiB of near when one of a few hinted addresses around it is
 * free (below first), else anywhere. As on POSIX: 32-bit displacements then reach the program. */
enum { NEAR_TRIES = 8 };
#define NEAR_STEP ((uintptr_t)64 << 20)
static void *map_exec_near(HANDLE section, size_t size, const void *near) {
    uintptr_t n = (uintptr_t)near & ~(allocation_granularity() - 1) & ~(NEAR_STEP - 1);
    for (int i = 0; near && sizeof(void *) == 8 && i < NEAR_TRIES; i++) {
        uintptr_t step = NEAR_STEP * (uintptr_t)(i / 2 + 1);
        uintptr_t hint = i % 2 == 0 ? n - step : n + step;
        if ((i % 2 == 0 && n < step) || (i % 2 == 1 && hint < n)) continue;
        void *v = MapViewOfFileEx(section, FILE_MAP_READ | FILE_MAP_EXECUTE, 0, 0, size,
                                  (void *)hint);
        if (v) return v;
        if (GetLastError() == ERROR_DYNAMIC_CODE_BLOCKED) return NULL;
    }
    return MapViewOfFile(section, FILE_MAP_READ | FILE_MAP_EXECUTE, 0, 0, size);
}

int cffi_os_dual_map(size_t size, void **rx, void **rw) {
    return cffi_os_dual_map_near(size, NULL, rx, rw);
}

int cffi_os_dual_map_near(size_t size, const void *near, void **rx, void **rw) {
    *rx = NULL;
    *rw = NULL;
    size_t page = cffi_os_page_size();
    if (size == 0 || size % page != 0 || size > SIZE_MAX / 2) return EINVAL;
    size_t total = size + page; /* the unwind page after the block */
    HANDLE section = CreateFileMappingW(INVALID_HANDLE_VALUE, NULL,
                                        PAGE_EXECUTE_READWRITE | SEC_COMMIT,
                                        (DWORD)((uint64_t)total >> 32), (DWORD)total, NULL);
    if (!section) return failure(GetLastError(), "CreateFileMapping refused a pagefile-backed section");
    void *write_view = MapViewOfFile(section, FILE_MAP_WRITE, 0, 0, total);
    DWORD code = GetLastError();
    void *exec_view = write_view ? map_exec_near(section, total, near) : NULL;
    if (write_view && !exec_view) code = GetLastError();
    CloseHandle(section); /* the views keep the section alive */
    if (!exec_view) {
        if (write_view) UnmapViewOfFile(write_view);
        return failure(code, "MapViewOfFile refused a view of the section");
    }
    *rx = exec_view;
    *rw = write_view;
    return 0;
}

int cffi_os_dual_unmap(void *rx, void *rw, size_t size) {
    (void)size; /* a view is unmapped whole, by its base address */
    int err = 0;
    if (rx && !UnmapViewOfFile(rx)) err = EINVAL;
    if (rw && !UnmapViewOfFile(rw) && err == 0) err = EINVAL;
    return err;
}

void cffi_os_flush_icache(void *rx, size_t size) {
    FlushInstructionCache(GetCurrentProcess(), rx, size);
}
