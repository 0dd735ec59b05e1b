/*
 * value.h - moving scalar values between their C size and a register or stack slot.
 *
 * A slot value is a uint64_t whose low bytes hold the value, as a little-endian register or
 * stack slot does: integer types sign- or zero-extended to 64 bits (compilers assume narrow
 * integers arrive and return extended), bool as 0 or 1, float as its 32-bit pattern with zero
 * above, double and pointers as they are. Every target cffi supports is little-endian, so a
 * pointer to a slot is also a pointer to the narrow value in it.
 */
#ifndef CFFI_VALUE_H
#define CFFI_VALUE_H

#include "cffi.h"

#include <string.h>

/* Read a value of type t (exactly its size) from p and widen it to a slot value. */
static inline uint64_t cffi_value_widen(cffi_type t, const void *p) {
    switch (t) {
    case CFFI_T_BOOL: {
        uint8_t v; /* read as a byte: a _Bool holding anything but 0 or 1 would be undefined */
        memcpy(&v, p, 1);
        return v != 0;
    }
    case CFFI_T_INT8: { int8_t v; memcpy(&v, p, sizeof v); return (uint64_t)(int64_t)v; }
    case CFFI_T_UINT8: { uint8_t v; memcpy(&v, p, sizeof v); return v; }
    case CFFI_T_INT16: { int16_t v; memcpy(&v, p, sizeof v); return (uint64_t)(int64_t)v; }
    case CFFI_T_UINT16: { uint16_t v; memcpy(&v, p, sizeof v); return v; }
    case CFFI_T_INT32: { int32_t v; memcpy(&v, p, sizeof v); return (uint64_t)(int64_t)v; }
    case CFFI_T_UINT32: { uint32_t v; memcpy(&v, p, sizeof v); return v; }
    case CFFI_T_FLOAT: { uint32_t v; memcpy(&v, p, sizeof v); return v; }
    case CFFI_T_INT64: case CFFI_T_UINT64: case CFFI_T_DOUBLE: {
        uint64_t v;
        memcpy(&v, p, sizeof v);
        return v;
    }
    case CFFI_T_PTR: case CFFI_T_CSTR: case CFFI_T_CPTR: {
        uintptr_t v;
        memcpy(&v, p, sizeof v);
        return (uint64_t)v;
    }
    case CFFI_T_VOID: case CFFI_T_LDOUBLE: case CFFI_T_AGG: case CFFI_T_COUNT: break;
    }
    return 0;
}

/* Write the value of type t held in slot value v to out (exactly its size). */
static inline void cffi_value_narrow(cffi_type t, uint64_t v, void *out) {
    switch (t) {
    case CFFI_T_BOOL: {
        /* Only the low byte is defined in a returned bool register; normalize it to 0 or 1. */
        uint8_t b = (uint8_t)v != 0;
        memcpy(out, &b, 1);
        return;
    }
    case CFFI_T_INT8: case CFFI_T_UINT8: memcpy(out, &v, 1); return;
    case CFFI_T_INT16: case CFFI_T_UINT16: memcpy(out, &v, 2); return;
    case CFFI_T_INT32: case CFFI_T_UINT32: case CFFI_T_FLOAT: memcpy(out, &v, 4); return;
    case CFFI_T_INT64: case CFFI_T_UINT64: case CFFI_T_DOUBLE: memcpy(out, &v, 8); return;
    case CFFI_T_PTR: case CFFI_T_CSTR: case CFFI_T_CPTR: memcpy(out, &v, sizeof(void *)); return;
    case CFFI_T_VOID: case CFFI_T_LDOUBLE: case CFFI_T_AGG: case CFFI_T_COUNT: return;
    }
}

#endif
