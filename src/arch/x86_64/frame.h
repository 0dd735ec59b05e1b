/*
 * frame.h (x86-64) - the register frame that entry stubs fill and call stubs read, shared by the
 * C side (abi_*.c) and the assembly (entry_*.S, call_*.S). Offsets are defined once here and
 * checked against the struct at compile time.
 *
 * System V uses gpr[0..5] = rdi rsi rdx rcx r8 r9 and fpr[0..7] = xmm0..xmm7 (low 64 bits).
 * Microsoft x64 uses gpr[0..3] = rcx rdx r8 r9 and fpr[0..3] = xmm0..xmm3.
 * Results: rax (ret_int[0]), rdx (ret_int[1]), xmm0 (ret_fp[0]), xmm1 (ret_fp[1]), and a long
 * double's st(0) in its 10-byte memory form at ret_x87 (System V only, by the _x87 stubs).
 */
#ifndef CFFI_X86_64_FRAME_H
#define CFFI_X86_64_FRAME_H

#define X64_FRAME_GPR 0      /* 6 x 8 bytes */
#define X64_FRAME_FPR 48     /* 8 x 8 bytes */
#define X64_FRAME_RET_INT 112 /* rax, rdx */
#define X64_FRAME_RET_FP 128 /* xmm0, xmm1 (low 64 bits) */
#define X64_FRAME_RET_X87 144 /* st(0) as a long double */
#define X64_FRAME_SIZE 160   /* a multiple of 16 */

/* Fields of the closure record (struct cffi_closure, internal.h) that frame entry stubs read;
 * checked against the struct in abi_sysv.c. */
#define X64_RECORD_HANDLER 16
#define X64_RECORD_CTX 24

#ifndef __ASSEMBLER__
#include "hidden.h"

#include <stddef.h>
#include <stdint.h>

typedef struct x64_frame {
    uint64_t gpr[6];
    uint64_t fpr[8];
    uint64_t ret_int[2];
    uint64_t ret_fp[2];
    unsigned char ret_x87[16];
} x64_frame;

_Static_assert(offsetof(x64_frame, gpr) == X64_FRAME_GPR, "frame.h: gpr offset");
_Static_assert(offsetof(x64_frame, fpr) == X64_FRAME_FPR, "frame.h: fpr offset");
_Static_assert(offsetof(x64_frame, ret_int) == X64_FRAME_RET_INT, "frame.h: ret_int offset");
_Static_assert(offsetof(x64_frame, ret_fp) == X64_FRAME_RET_FP, "frame.h: ret_fp offset");
_Static_assert(offsetof(x64_frame, ret_x87) == X64_FRAME_RET_X87, "frame.h: ret_x87 offset");
_Static_assert(sizeof(x64_frame) == X64_FRAME_SIZE, "frame.h: size");
_Static_assert(X64_FRAME_SIZE % 16 == 0, "frame.h: keeps the stack 16-byte aligned");

/* The stubs that fill and read this frame (entry_*.S, call_*.S). The entries are jumped to by
 * thunks with r10 = the closure record; they are not C functions, hence the char arrays. */
extern CFFI_HIDDEN const char cffi_x64_entry_sysv[];
extern CFFI_HIDDEN const char cffi_x64_entry_win64[];
extern CFFI_HIDDEN const char cffi_x64_entry_sysv_frame[];
extern CFFI_HIDDEN const char cffi_x64_entry_sysv_x87[];
extern CFFI_HIDDEN const char cffi_x64_entry_win64_frame[];
CFFI_HIDDEN CFFI_STUB_ABI void cffi_x64_call_sysv(void *fn, void *frame,
                                                                        const void *stack,
                                                                        size_t stack_bytes);
CFFI_HIDDEN CFFI_STUB_ABI void cffi_x64_call_sysv_x87(void *fn, void *frame, const void *stack,
                                                      size_t stack_bytes);
CFFI_HIDDEN CFFI_STUB_ABI void cffi_x64_call_win64(void *fn, void *frame,
                                                                         const void *stack,
                                                                         size_t stack_bytes);
#endif

#endif
