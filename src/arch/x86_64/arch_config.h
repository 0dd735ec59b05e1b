/*
 * arch_config.h (x86-64) - what generic code needs to know about this target.
 */
#ifndef CFFI_ARCH_CONFIG_H
#define CFFI_ARCH_CONFIG_H

#define CFFI_ARCH_NAME "x86_64"

/* C calls the call stubs (call_*.S) with the System V convention on every OS: one convention to
 * write them for; on Windows GCC saves the extra registers the native convention expects
 * preserved around such calls, in the caller, whose unwind data says so.
 *
 * The entry stubs call cffi_dispatch with the OS's own C convention: System V on ELF systems,
 * Microsoft x64 on Windows (arguments in rcx rdx r8, 32 bytes of shadow space). GCC gives a
 * function it compiles with a foreign convention no Windows unwind data at all (and realigns
 * its stack), which would make cffi_dispatch a frame that exceptions, debuggers and crash
 * reporters cannot walk through. */
#define CFFI_STUB_ABI __attribute__((sysv_abi))
#ifdef _WIN32
#define CFFI_DISPATCH_ABI __attribute__((ms_abi))
#else
#define CFFI_DISPATCH_ABI __attribute__((sysv_abi))
#endif

/* The frame entry stubs call a frame handler (a plain C function of the host) with the System V
 * convention, which is the host's own only where the host is not Windows. On Windows frame
 * closures go through cffi_dispatch, which calls the handler as C does. */
#ifdef _WIN32
#define CFFI_X64_FRAME_ENTRY(stub) NULL
#else
#define CFFI_X64_FRAME_ENTRY(stub) stub
#endif

/* Bytes of executable memory per thunk: endbr64 (4) + movabs r10, imm64 (10) + jmp [r10] (3),
 * padded to keep every thunk 16-byte aligned. */
#define CFFI_ARCH_THUNK_SIZE 32

/* Typed thunks' gate (src/reloc/reloc.h): after the endbr, two bytes that one aligned store
 * switches between the image's own bytes and a short jmp (EB rel8) to a hop, a 5-byte jmp rel32. */
#define CFFI_RELOC_GATE_AT 4      /* offset of the gate: after the endbr */
#define CFFI_RELOC_GATE_LEN 2     /* bytes of the gate */
#define CFFI_RELOC_GATE_REACH 128 /* a hop must start at most this far before the gate's end */
#define CFFI_RELOC_HOP_LEN 5      /* bytes of a hop */

#endif
