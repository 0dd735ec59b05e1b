/*
 * call_frame.h - cffi_call_frame driven like cffi_call, for the tests that run every case of
 * cffi_call through both: each argument is turned into its slot value here (the encoding cffi.h
 * gives, written out again independently of the library's own) and stored where
 * cffi_sig_arg_place and cffi_sig_arg_width say.
 */
#ifndef CFFI_CALL_FRAME_H
#define CFFI_CALL_FRAME_H

#include <stdint.h>
#include <string.h>

#include "cffi.h"

/* The slot value of the value of type t at p. */
static inline uint64_t call_frame_slot(cffi_type t, const void *p) {
    switch (t) {
    case CFFI_T_BOOL: return *(const uint8_t *)p != 0;
    case CFFI_T_INT8: return (uint64_t)(int64_t) * (const int8_t *)p;
    case CFFI_T_UINT8: return *(const uint8_t *)p;
    case CFFI_T_INT16: return (uint64_t)(int64_t) * (const int16_t *)p;
    case CFFI_T_UINT16: return *(const uint16_t *)p;
    case CFFI_T_INT32: return (uint64_t)(int64_t) * (const int32_t *)p;
    case CFFI_T_UINT32: return *(const uint32_t *)p;
    case CFFI_T_FLOAT: {
        uint32_t bits;
        memcpy(&bits, p, 4);
        return bits;
    }
    case CFFI_T_PTR: case CFFI_T_CSTR: case CFFI_T_CPTR: return (uintptr_t) * (void *const *)p;
    default: {
        uint64_t v; /* int64_t, uint64_t, double */
        memcpy(&v, p, 8);
        return v;
    }
    }
}

/* cffi_call_frame of fn with args[i] pointing at a value of parameter i's type; the result's
 * bytes (exactly its type's size) are copied to ret unless it is NULL. The frame and stack area
 * start filled with 0x5a, so an argument stored at a wrong place or width shows as a wrong
 * value, and junk above a narrow slot is what a real caller may leave there too. */
static inline cffi_status call_frame_typed(const cffi_sig *sig, void *fn, void *ret,
                                           void *const *args) {
    _Alignas(16) unsigned char frame[CFFI_CALL_FRAME_BYTES];
    _Alignas(16) unsigned char stack[CFFI_CALL_STACK_BYTES];
    memset(frame, 0x5a, sizeof frame);
    memset(stack, 0x5a, sizeof stack);
    for (size_t i = 0; i < cffi_sig_nparams(sig); i++) {
        bool on_stack;
        size_t offset = cffi_sig_arg_place(sig, i, &on_stack);
        uint64_t slot = call_frame_slot(cffi_sig_param(sig, i), args[i]);
        memcpy((on_stack ? stack : frame) + offset, &slot, cffi_sig_arg_width(sig, i));
    }
    cffi_status st = cffi_call_frame(sig, fn, frame, stack);
    if (st == CFFI_OK && ret)
        memcpy(ret, frame + cffi_sig_result_offset(sig), cffi_type_size(cffi_sig_result(sig)));
    return st;
}

#endif
