/*
 * status.c - status texts, type sizes and the bounded message formatter every module shares.
 */
#include "internal.h"

#include <stdarg.h>
#include <stdio.h>

static const char *const status_text[CFFI_STATUS_COUNT] = {
    [CFFI_OK] = "success",
    [CFFI_EBADSIG] = "malformed signature",
    [CFFI_EBADTYPE] = "unknown or misplaced type in signature",
    [CFFI_EBADCONV] = "unknown calling convention on this platform",
    [CFFI_ECONVCLASH] = "calling convention argument disagrees with the signature",
    [CFFI_ETOOMANY] = "too many parameters",
    [CFFI_EUNSUPPORTED] = "signature not supported by this calling convention here",
    [CFFI_ENOMEM] = "out of memory",
    [CFFI_ENOEXEC] = "no executable memory available",
    [CFFI_EINVAL] = "invalid argument",
    [CFFI_EBUSY] = "operation no longer allowed: resource in use",
    [CFFI_ERELOC] = "code cannot be relocated safely",
};

const char *cffi_strerror(cffi_status s) {
    if ((unsigned)s >= CFFI_STATUS_COUNT || !status_text[s]) return "unknown status";
    return status_text[s];
}

size_t cffi_type_size(cffi_type t) {
    switch (t) {
    case CFFI_T_VOID: return 0;
    case CFFI_T_BOOL: return sizeof(_Bool);
    case CFFI_T_INT8: case CFFI_T_UINT8: return 1;
    case CFFI_T_INT16: case CFFI_T_UINT16: return 2;
    case CFFI_T_INT32: case CFFI_T_UINT32: return 4;
    case CFFI_T_INT64: case CFFI_T_UINT64: return 8;
    case CFFI_T_FLOAT: return sizeof(float);
    case CFFI_T_DOUBLE: return sizeof(double);
    case CFFI_T_PTR: case CFFI_T_CSTR: case CFFI_T_CPTR: return sizeof(void *);
    case CFFI_T_LDOUBLE: return sizeof(long double);
    case CFFI_T_AGG: case CFFI_T_COUNT: break; /* an aggregate's size is its layout's */
    }
    return 0;
}

void cffi_errorf(char *buf, size_t len, const char *fmt, ...) {
    if (!buf || len == 0) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, len, fmt, ap);
    va_end(ap);
}
