/*
 * cffi.h - the public C API of cffi, a callback runtime.
 *
 * cffi turns a C closure (a handler plus a context pointer) into a bare, context-free native
 * function pointer for a chosen calling convention and a signature given as a string, and calls
 * any native function pointer through the same signatures.
 *
 *   cffi_sig *sig;
 *   char err[128];
 *   if (cffi_sig_parse("int(int, int)", "sysv64", &sig, err, sizeof err) != CFFI_OK) ...
 *   cffi_closure *c;
 *   cffi_closure_new(sig, my_handler, my_ctx, &c);
 *   int (*fn)(int, int) = (int (*)(int, int))cffi_closure_code(c);
 *   fn(2, 3);                 // runs my_handler(my_ctx, &result, {&a, &b})
 *   cffi_closure_free(c);     // the address now traps: see cffi_set_dead_hook
 *   cffi_sig_free(sig);
 *
 * Every function that can fail returns a cffi_status; none prints, none longjmps.
 * All functions are thread-safe unless stated otherwise.
 */
#ifndef CFFI_H
#define CFFI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32) && defined(CFFI_BUILD_SHARED)
#define CFFI_API __declspec(dllexport)
#elif defined(__GNUC__)
#define CFFI_API __attribute__((visibility("default")))
#else
#define CFFI_API
#endif

/* ---------------------------------------------------------------------------------------------
 * Status codes. Each failure kind has its own code; cffi_strerror gives a one-line description.
 */
typedef enum cffi_status {
    CFFI_OK = 0,
    CFFI_EBADSIG,      /* the signature text does not parse (errbuf says where and why) */
    CFFI_EBADTYPE,     /* a type name in the signature is unknown or not allowed there */
    CFFI_EBADCONV,     /* unknown calling convention, or one with no meaning on this platform */
    CFFI_ECONVCLASH,   /* the convention argument disagrees with one written in the signature */
    CFFI_ETOOMANY,     /* more parameters than CFFI_MAX_PARAMS */
    CFFI_EUNSUPPORTED, /* the signature is valid but this convention cannot carry it here */
    CFFI_ENOMEM,       /* out of ordinary memory */
    CFFI_ENOEXEC,      /* no executable memory could be had */
    CFFI_EINVAL,       /* a NULL or otherwise invalid argument */
    CFFI_EBUSY,        /* the operation is no longer allowed (e.g. allocator already in use) */
    CFFI_ERELOC,       /* code could not be relocated safely */
    CFFI_STATUS_COUNT
} cffi_status;

/* A static, never-NULL description of s ("unknown status" for values out of range). */
CFFI_API const char *cffi_strerror(cffi_status s);

/* The most parameters a signature may have. */
#define CFFI_MAX_PARAMS 127

/* ---------------------------------------------------------------------------------------------
 * Types as the machine sees them. Spellings such as `long`, `size_t` or `char` resolve to one of
 * these on the current platform; the signature keeps the spelling for its normal form.
 */
typedef enum cffi_type {
    CFFI_T_VOID = 0, /* return type only */
    CFFI_T_BOOL,     /* _Bool, one byte */
    CFFI_T_INT8,
    CFFI_T_UINT8,
    CFFI_T_INT16,
    CFFI_T_UINT16,
    CFFI_T_INT32,
    CFFI_T_UINT32,
    CFFI_T_INT64,
    CFFI_T_UINT64,
    CFFI_T_FLOAT,
    CFFI_T_DOUBLE,
    CFFI_T_PTR,      /* any data or function pointer */
    CFFI_T_CSTR,     /* const char * (a pointer the Lua binding turns into a string) */
    CFFI_T_CPTR,     /* const void * (a pointer that also accepts a Lua string) */
    CFFI_T_COUNT
} cffi_type;

/* Size in bytes of a value of type t (0 for void). */
CFFI_API size_t cffi_type_size(cffi_type t);

/* ---------------------------------------------------------------------------------------------
 * Signatures. A parsed signature with its convention, immutable and shared: parsing the same
 * text with the same convention again returns the same object (interned) with one more
 * reference. Each successful cffi_sig_parse (and cffi_sig_ref) is balanced by cffi_sig_free.
 *
 * Grammar (whitespace-insensitive): `ret(params)`, params empty, `void`, or a comma list of types
 * with optional names; also `ret (*)(params)` and a convention inside the text:
 * `int (__stdcall *)(int)`, `int __stdcall(int)`.
 */
typedef struct cffi_sig cffi_sig;

/* Parse text for convention conv (NULL means "C", or the one written in text). On failure *out is
 * NULL and errbuf (if errlen > 0) receives a message "col N: ..." naming what was expected. */
CFFI_API cffi_status cffi_sig_parse(const char *text, const char *conv, cffi_sig **out,
                                    char *errbuf, size_t errlen);
CFFI_API cffi_sig *cffi_sig_ref(cffi_sig *sig);
CFFI_API void cffi_sig_free(cffi_sig *sig);

CFFI_API const char *cffi_sig_text(const cffi_sig *sig);       /* normal form: "int(int, int)" */
CFFI_API const char *cffi_sig_convention(const cffi_sig *sig); /* canonical name here: "sysv64" */
CFFI_API size_t cffi_sig_nparams(const cffi_sig *sig);
CFFI_API cffi_type cffi_sig_param(const cffi_sig *sig, size_t i); /* CFFI_T_VOID if out of range */
CFFI_API cffi_type cffi_sig_result(const cffi_sig *sig);
/* Stack bytes the callee removes on return (stdcall and friends; 0 for caller-pop conventions). */
CFFI_API size_t cffi_sig_callee_pop(const cffi_sig *sig);
/* Normal-form spelling of parameter i ("unsigned int", "const char *", "int (*)(int)"), NULL if
 * out of range; and of the result type ("void", "size_t"). For messages naming what is expected. */
CFFI_API const char *cffi_sig_param_text(const cffi_sig *sig, size_t i);
CFFI_API const char *cffi_sig_result_text(const cffi_sig *sig);

/* Calling conventions accepted on this platform. For i in [0, cffi_convention_count()):
 * the accepted name (lower case, as listed in the README) and the canonical convention it means
 * here. Names are matched case-insensitively, with or without leading underscores. */
CFFI_API size_t cffi_convention_count(void);
CFFI_API const char *cffi_convention_name(size_t i, const char **canonical);
/* Canonical name for conv here, or NULL (and CFFI_EBADCONV) if it has none. */
CFFI_API const char *cffi_convention_canonical(const char *conv);

/* ---------------------------------------------------------------------------------------------
 * Generic closures. The handler receives a pointer to each argument (args[i] points at a value of
 * exactly cffi_sig_param(sig, i)'s type) and a buffer for the result of exactly the result type's
 * size (unused for void). It runs on the caller's thread, re-entrantly if the caller re-enters.
 */
typedef void (*cffi_handler)(void *ctx, void *ret, void *const *args);
typedef struct cffi_closure cffi_closure;

CFFI_API cffi_status cffi_closure_new(const cffi_sig *sig, cffi_handler fn, void *ctx,
                                      cffi_closure **out);
CFFI_API void *cffi_closure_code(const cffi_closure *c); /* the bare function pointer */
CFFI_API const cffi_sig *cffi_closure_sig(const cffi_closure *c);
/* Point an existing closure (same address) at another handler and context. Not atomic with
 * respect to a call running on another thread at the same moment. */
CFFI_API void cffi_closure_set(cffi_closure *c, cffi_handler fn, void *ctx);
/* The value a call through the freed closure returns (copied; result-type size). Default zero. */
CFFI_API void cffi_closure_set_default(cffi_closure *c, const void *value);
/* Release the closure. Its address stays safe: a call through it reports through the dead hook
 * and returns the default value, popping the stack as the convention requires, until the address
 * is reused, which happens only after CFFI_QUARANTINE other closures have been freed after it.
 * Freeing a closure while another thread is inside it is the caller's race. NULL is ignored. */
CFFI_API void cffi_closure_free(cffi_closure *c);

#define CFFI_QUARANTINE 4096

/* Called when native code calls a freed closure: code is the address called, sig its signature.
 * The default hook writes "cffi: call through a freed callback <sig>" to stderr. A NULL hook
 * restores the default. The hook must not free closures. */
typedef void (*cffi_dead_hook)(const cffi_sig *sig, void *code);
CFFI_API void cffi_set_dead_hook(cffi_dead_hook hook);

/* ---------------------------------------------------------------------------------------------
 * Generic calls of any native function pointer. args[i] points at a value of exactly the i-th
 * parameter's type; ret receives exactly the result type's size (may be NULL for void).
 */
CFFI_API cffi_status cffi_call(const cffi_sig *sig, void *fn, void *ret, void *const *args);

/* ---------------------------------------------------------------------------------------------
 * Executable memory. cffi packs closures densely into blocks it gets from an allocator. The
 * default one maps a memory file twice, once read-write and once read-execute, so no page is ever
 * writable and executable at once (it works under prctl(PR_SET_MDWE)). A host may pass its own,
 * before the first closure is created.
 */
typedef struct cffi_jit_allocator {
    /* Get size bytes (a multiple of the page size). *rx is the address code runs at, *rw where it
     * is written; the two views show the same bytes. rx must not be writable. */
    cffi_status (*alloc)(void *self, size_t size, void **rx, void **rw);
    /* Bytes [rx, rx+size) were written through rw: make them visible to instruction fetch. */
    void (*flush)(void *self, void *rx, size_t size);
    /* Return a block from alloc. */
    void (*release)(void *self, void *rx, void *rw, size_t size);
    void *self;
} cffi_jit_allocator;

/* Install a (copied) allocator; NULL restores the default. CFFI_EBUSY once executable memory has
 * been taken from the current one. */
CFFI_API cffi_status cffi_set_jit_allocator(const cffi_jit_allocator *a);
/* The default allocator, for hosts that wrap it. */
CFFI_API const cffi_jit_allocator *cffi_default_jit_allocator(void);

/* Statistics for tests and benchmarks. */
typedef struct cffi_jit_stats {
    size_t live_closures;   /* closures created and not yet freed */
    size_t dead_closures;   /* freed closures whose address still traps (quarantine + free) */
    size_t exec_bytes;      /* bytes of executable memory mapped */
    size_t data_bytes;      /* bytes of ordinary memory held for closure records */
    size_t slot_exec_bytes; /* executable bytes per closure */
} cffi_jit_stats;
CFFI_API void cffi_jit_get_stats(cffi_jit_stats *out);

/* ---------------------------------------------------------------------------------------------
 * The Lua 5.4 binding: `require "cffi"`. Declared without lua.h so that C-only users need not
 * have it; the Lua module (cffi.so) and static hosts define it.
 */
struct lua_State;
int luaopen_cffi(struct lua_State *L);

#ifdef __cplusplus
}
#endif

#endif /* CFFI_H */
