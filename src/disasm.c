/*
 * disasm.c - cffi_disasm: a readable listing of a thunk or any code, for people debugging hooks.
 */
#if defined(CFFI_HAVE_CAPSTONE)
#include "reloc/reloc.h" /* cffi_reloc_describe: the target's relocator, with Capstone */
#else
#include "internal.h"
#endif

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

size_t cffi_disasm(const void *code, size_t max_bytes, char *buf, size_t len) {
    if (buf && len) buf[0] = '\0';
    if (!code || !buf || len == 0) return 0;
#if !defined(CFFI_HAVE_CAPSTONE)
    /* Built without a disassembler: nothing is described. */
    (void)max_bytes;
    return 0;
#else
    const uint8_t *p = code;
    size_t done = 0, used = 0;
    while (done < max_bytes) {
        char text[160], line[200];
        bool ends;
        size_t n = cffi_reloc_describe(p + done, max_bytes - done, text, sizeof text, &ends);
        if (n == 0) break;
        /* "0x" and lowercase hex on every OS (Windows' %p prints neither). */
        int w = snprintf(line, sizeof line, "0x%" PRIxPTR ": %s\n", (uintptr_t)(p + done), text);
        /* Whole lines only: a listing cut mid-line would read as a different instruction. */
        if (w < 0 || (size_t)w >= len - used) break;
        memcpy(buf + used, line, (size_t)w + 1);
        used += (size_t)w;
        done += n;
        if (ends) break;
    }
    return done;
#endif
}
