/*
 * frame.h (x86-32) - the register frame that the entry stub fills and the call stub reads,
 * shared by the C side (abi_i386.c) and the assembly (entry_i386.S, call_i386.S). Offsets are
 * defined once here and checked against the struct at compile time.
 *
 * Arguments: gpr[0] = ECX, gpr[1] = EDX (fastcall uses both, thiscall ECX only, cdecl and
 * stdcall neither; the stubs always spill and load both).
 * Results: ret_int = EAX, EDX (EDX:EAX for 64-bit; the dispatcher sign- or zero-extends narrower
 * integers to 64 bits, so EAX is extended as callers expect); st(0) is read and written as a double at
 * ret_double or as a float at ret_float, so each result has exactly its C type's size in place.
 *
 * The 32-bit word the dispatcher returns to the entry stub (plan->stub_word) says how to return:
 * bits 0..7 the result kind (X86_RET_*), bits 8..31 the bytes of stack arguments the callee pops.
 */
#ifndef CFFI_X86_FRAME_H
#define CFFI_X86_FRAME_H

#define X86_FRAME_GPR 0         /* 2 x 4 bytes: ecx, edx */
#define X86_FRAME_RET_INT 8     /* eax, edx */
#define X86_FRAME_RET_DOUBLE 16 /* st(0) as a double */
#define X86_FRAME_RET_FLOAT 24  /* st(0) as a float */
#define X86_FRAME_RET_LDOUBLE 32 /* st(0) as a long double (10 bytes of 16) */
#define X86_FRAME_SIZE 48       /* a multiple of 16 */

/* Result kinds in the low byte of the stub word. The dispatcher stores integer results widened
 * to 64 bits (see value.h), so one kind serves every integer and pointer type: EDX:EAX. */
#define X86_RET_VOID 0   /* nothing to load */
#define X86_RET_INT 1    /* edx:eax (EDX is scratch for results of 32 bits or less) */
#define X86_RET_FLOAT 2  /* st(0) = float */
#define X86_RET_DOUBLE 3 /* st(0) = double */
#define X86_RET_LDOUBLE 4 /* st(0) = long double */

#define X86_STUB_KIND_MASK 0xff
#define X86_STUB_POP_SHIFT 8

#ifndef __ASSEMBLER__
#include <stddef.h>
#include <stdint.h>

typedef struct x86_frame {
    uint32_t gpr[2];
    uint32_t ret_int[2];
    double ret_double;
    float ret_float;
    uint32_t pad;
    unsigned char ret_ldouble[16];
} x86_frame;

_Static_assert(offsetof(x86_frame, gpr) == X86_FRAME_GPR, "frame.h: gpr offset");
_Static_assert(offsetof(x86_frame, ret_int) == X86_FRAME_RET_INT, "frame.h: ret_int offset");
_Static_assert(offsetof(x86_frame, ret_double) == X86_FRAME_RET_DOUBLE, "frame.h: ret_double");
_Static_assert(offsetof(x86_frame, ret_float) == X86_FRAME_RET_FLOAT, "frame.h: ret_float");
_Static_assert(offsetof(x86_frame, ret_ldouble) == X86_FRAME_RET_LDOUBLE, "frame.h: ret_ldouble");
_Static_assert(sizeof(x86_frame) == X86_FRAME_SIZE, "frame.h: size");
_Static_assert(X86_FRAME_SIZE % 16 == 0, "frame.h: keeps the stack 16-byte aligned");
#endif

#endif
