/*
 * x86_support.h - what the x86-32 tests share: a deterministic value for every (type, position),
 * checks against it, and probes of the machine state a convention must leave behind (ESP, the
 * x87 register stack).
 */
#ifndef CFFI_X86_SUPPORT_H
#define CFFI_X86_SUPPORT_H

#include "cffi.h"
#include "check.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define CC_cdecl __attribute__((cdecl))
#define CC_stdcall __attribute__((stdcall))
#define CC_fastcall __attribute__((fastcall))
#define CC_thiscall __attribute__((thiscall))

/* Position of the result in value_of: distinct from every argument position. */
#define RESULT_POS 100u

/* The value of type t that argument i (or the result, RESULT_POS) carries in every test: all
 * bits of the type exercised, signs mixed, floats exactly representable. */
static inline void value_of(cffi_type t, unsigned i, void *out) {
    uint64_t x = 0x9e3779b97f4a7c15ull * (i + 1);
    x ^= x >> 29;
    switch (t) {
    case CFFI_T_BOOL: {
        bool b = x & 1;
        memcpy(out, &b, 1);
        break;
    }
    case CFFI_T_FLOAT: {
        float f = (float)((int)(x % 4001) - 2000) / 16.0f;
        memcpy(out, &f, sizeof f);
        break;
    }
    case CFFI_T_DOUBLE: {
        double d = (double)((int64_t)(x >> 11) - (INT64_C(1) << 52)) / 1024.0;
        memcpy(out, &d, sizeof d);
        break;
    }
    case CFFI_T_VOID: case CFFI_T_COUNT: break;
    default: memcpy(out, &x, cffi_type_size(t)); break; /* the low bytes: a C cast */
    }
}

/* Typed value, for calls written out in C. */
#define V(T, CT, i)                                                                               \
    ({                                                                                            \
        T v_;                                                                                     \
        value_of(CT, i, &v_);                                                                     \
        v_;                                                                                       \
    })

/* 0 if got holds value_of(t, i), else 1 (and says so). */
static inline int value_mismatch(const char *what, cffi_type t, unsigned i, const void *got) {
    uint64_t want = 0, have = 0;
    size_t size = cffi_type_size(t);
    value_of(t, i, &want);
    memcpy(&have, got, size);
    if (memcmp(&want, &have, size) == 0) return 0;
    fprintf(stderr, "  %s: value %u (type %d) is 0x%llx, expected 0x%llx\n", what, i, (int)t,
            (unsigned long long)have, (unsigned long long)want);
    return 1;
}

/* ESP as the compiler's code sees it at this point. With -fno-defer-pop, a call written between
 * two reads leaves ESP where it was iff the callee popped what the prototype says. */
#define READ_ESP()                                                                                \
    ({                                                                                            \
        uintptr_t esp_;                                                                           \
        __asm__ volatile("movl %%esp, %0" : "=r"(esp_)::"memory");                                \
        esp_;                                                                                     \
    })

/* Number of values on the x87 register stack: TOP counts down from 0 on each push. */
static inline unsigned x87_depth(void) {
    uint16_t sw;
    __asm__ volatile("fnstsw %0" : "=a"(sw));
    return (8 - ((sw >> 11) & 7)) & 7;
}

/* int32_t x86_call_popped(void *fn, int32_t arg, int32_t *result) - calls fn with one word
 * pushed (and ECX = EDX = arg), stores EAX in *result and returns the bytes fn popped off the
 * stack: 0 for a caller-pop function, 4 for a callee-pop one taking that word. Written in
 * assembly so the measurement does not depend on how a compiler tracks ESP. */
/* A naked function: its body is the assembly alone (GCC keeps track of sections and of the
 * object format's symbol names, which file-scope assembly would have to do by hand for ELF and
 * PE alike). */
#define NAKED_ARG __attribute__((unused)) /* read by the assembly, not by C */
/* A function that is its assembly alone. no_stack_protector: GCC 12 puts the canary code of
 * -fstack-protector-all into naked functions too, writing into the caller's frame. */
#define X86_NAKED __attribute__((naked, noinline, no_stack_protector))
static X86_NAKED __attribute__((unused)) int32_t x86_call_popped(void *fn NAKED_ARG,
                                                                        int32_t arg NAKED_ARG,
                                                                        int32_t *result NAKED_ARG) {
    __asm__("    pushl %esi\n"            /* callee-saved: holds ESP before the call */
            "    movl %esp, %esi\n"       /* esi+8 = fn, +12 = arg, +16 = result */
            "    movl 12(%esi), %ecx\n"   /* ecx = arg (fastcall, thiscall) */
            "    movl %ecx, %edx\n"       /* edx = arg (fastcall) */
            "    pushl %ecx\n"            /* and on the stack (cdecl, stdcall) */
            "    call *8(%esi)\n"         /* fn(arg) */
            "    movl 16(%esi), %ecx\n"   /* ecx = result pointer */
            "    movl %eax, (%ecx)\n"     /* *result = eax */
            "    movl %esp, %eax\n"       /* eax = esp after the call ... */
            "    subl %esi, %eax\n"       /* ... - esp before the push = popped - 4 */
            "    addl $4, %eax\n"         /* = bytes the callee popped */
            "    movl %esi, %esp\n"       /* drop the argument, whoever popped */
            "    popl %esi\n"             /* restore esi */
            "    ret\n");
}

#endif
