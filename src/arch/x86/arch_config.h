/*
 * arch_config.h (x86-32) - what generic code needs to know about this target.
 */
#ifndef CFFI_ARCH_CONFIG_H
#define CFFI_ARCH_CONFIG_H

#define CFFI_ARCH_NAME "x86"

/* Assembly stubs call into C, and are called from C, with plain cdecl (every argument on the
 * stack, caller pops, result in EAX), spelled out so that a build with -mregparm or -mrtd, or a
 * compiler whose default differs, cannot change it. cdecl is the one convention GCC, Clang and
 * MSVC agree on for Linux and Windows alike, and a stub that pushes three words costs nothing
 * next to the dispatcher it calls. */
#define CFFI_DISPATCH_ABI __attribute__((cdecl))
#define CFFI_STUB_ABI __attribute__((cdecl))

/* Bytes of executable memory per thunk: endbr32 (4) + mov eax, imm32 (5) + jmp [eax] (2) = 11,
 * padded with int3 to keep every thunk 16-byte aligned. */
#define CFFI_ARCH_THUNK_SIZE 16

/* Typed thunks' gate (src/reloc/reloc.h): after the endbr, two bytes that one aligned store
 * switches between the image's own bytes and a short jmp (EB rel8) to a hop, a 5-byte jmp rel32. */
#define CFFI_RELOC_GATE_AT 4      /* offset of the gate: after the endbr */
#define CFFI_RELOC_GATE_LEN 2     /* bytes of the gate */
#define CFFI_RELOC_GATE_REACH 128 /* a hop must start at most this far before the gate's end */
#define CFFI_RELOC_HOP_LEN 5      /* bytes of a hop */

#endif
