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

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* CFFI_API marks the public functions. The library's own build (CFFI_BUILD_SHARED) exports them
 * as its OS spells it (src/os/<os>/os_attributes.h, on that build's include path); everyone else
 * sees declarations. */
#if defined(CFFI_BUILD_SHARED)
#include "os_attributes.h"
#define CFFI_API CFFI_OS_EXPORT
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
/* Why the OS last refused executable memory, in words ("" if it never did): e.g. that the process
 * forbids executable memory (Windows' Arbitrary Code Guard). Meaningful after CFFI_ENOEXEC from
 * the default allocator; a host allocator's failures leave it unchanged. */
CFFI_API const char *cffi_last_exec_error(void);

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
    CFFI_T_LDOUBLE,  /* long double where it is wider than double (x87 extended precision on
                        x86); where it equals double (MSVC, 32-bit ARM) it is CFFI_T_DOUBLE */
    CFFI_T_AGG,      /* a struct or union by value: its layout is a cffi_agg (see below) */
    CFFI_T_COUNT
} cffi_type;

/* Size in bytes of a value of type t (0 for void, and for CFFI_T_AGG, whose size is its
 * layout's). */
CFFI_API size_t cffi_type_size(cffi_type t);

/* ---------------------------------------------------------------------------------------------
 * Aggregates: structs and unions by value. A layout is computed once from C declarations (the
 * compiler's rules: each member at the next multiple of its alignment, the size a multiple of the
 * largest; packed and pack(N) lower member alignments) and interned by its normal form, which
 * spells every member with its name: two spellings of the same layout (a typedef name, `struct
 * Tag`, the body written inline) are one cffi_agg. Layouts are immutable and live until the
 * process ends.
 */
typedef struct cffi_agg cffi_agg;

typedef struct cffi_field {
    const char *name;     /* "" for an anonymous struct or union member */
    size_t offset;        /* from the start of the enclosing aggregate */
    cffi_type type;       /* a scalar type, or CFFI_T_AGG */
    const cffi_agg *agg;  /* the member's layout when type is CFFI_T_AGG, else NULL */
    size_t count;         /* 0: a plain member; n: an array of n elements (arrays of arrays are
                             counted flat: int m[2][3] has count 6) */
} cffi_field;

struct cffi_agg {
    size_t size, align;
    bool is_union;
    size_t nfields;
    const cffi_field *fields;
    const char *text;     /* normal form: "struct { float x; float y; }" */
};

/* Named types (typedef names and struct/union tags) live in a scope: NULL means the process's
 * own; a Lua state has one of its own. A name may be defined again only with the same meaning. */
typedef struct cffi_scope cffi_scope;
CFFI_API cffi_status cffi_scope_new(cffi_scope **out);
CFFI_API void cffi_scope_free(cffi_scope *scope); /* layouts stay valid; NULL is ignored */

/* Define the types declared in text, C declarations ending in ';':
 *   typedef struct { float x, y, z; } Vec3;      struct Rect { int x, y, w, h; };
 *   typedef union { int i; float f; } Bits;      typedef unsigned long DWORD;
 *   struct Node;  (a tag usable behind a pointer)   #pragma pack(push, 1) ... #pragma pack(pop)
 * Members may be arrays (float m[4][4]), nested or anonymous structs and unions, pointers and
 * function pointers; `__attribute__((packed))`, `__attribute__((aligned(N)))` and cffi's
 * `__attribute__((pack(N)))` (#pragma pack(N) for one aggregate) follow the body. Bit-fields and
 * enums are refused. All or nothing: on failure nothing of text is defined, errbuf says where. */
CFFI_API cffi_status cffi_cdef(cffi_scope *scope, const char *text, char *errbuf, size_t errlen);
/* What a type name means in scope ("Vec3", "struct Rect", "unsigned int", "int *"): its machine
 * type, its layout if an aggregate, its size and alignment. */
typedef struct cffi_typeinfo {
    cffi_type type;
    const cffi_agg *agg; /* for CFFI_T_AGG */
    size_t size, align;
} cffi_typeinfo;
CFFI_API cffi_status cffi_type_parse(cffi_scope *scope, const char *text, cffi_typeinfo *out,
                                     char *errbuf, size_t errlen);

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
/* The same, with the named types of scope (NULL: the process's). */
CFFI_API cffi_status cffi_sig_parse_in(cffi_scope *scope, const char *text, const char *conv,
                                       cffi_sig **out, char *errbuf, size_t errlen);
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
/* Whether the parameter list ends in "...": the parameters above are the fixed ones. Such a
 * signature is called with cffi_call (the fixed arguments only) or cffi_call_variadic; no closure
 * can be made for it (CFFI_EUNSUPPORTED: a callee cannot tell what it was passed). Variadic
 * functions are caller-pop: "..." with stdcall, fastcall or thiscall is CFFI_EUNSUPPORTED. */
CFFI_API bool cffi_sig_variadic(const cffi_sig *sig);
/* The layout of an aggregate parameter or result (CFFI_T_AGG), else NULL. */
CFFI_API const cffi_agg *cffi_sig_param_agg(const cffi_sig *sig, size_t i);
CFFI_API const cffi_agg *cffi_sig_result_agg(const cffi_sig *sig);
/* Bytes of a value of parameter i's or the result's type (an aggregate's size included). */
CFFI_API size_t cffi_sig_param_size(const cffi_sig *sig, size_t i);
CFFI_API size_t cffi_sig_result_size(const cffi_sig *sig);

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

/* ---------------------------------------------------------------------------------------------
 * Frame closures: the fast form of a generic closure, for a handler that reads the arguments
 * where the entry stub spilled them instead of through an array of pointers (the Lua binding's
 * callbacks use it). On x86-64 the entry stub calls such a handler directly, with no dispatcher
 * in between; elsewhere the dispatcher calls it.
 *
 * frame is the register frame the entry stub filled, stack the caller's first stack argument.
 * Argument i is at (on_stack ? stack : frame) + offset, as cffi_sig_arg_place says, in the low
 * bytes of its slot (the bytes above a narrow argument are whatever the caller left there).
 * The handler stores the result at frame + cffi_sig_result_offset(sig) as an 8-byte slot value:
 * integer types sign- or zero-extended to 64 bits as their type says, bool as 0 or 1, float as
 * its 32-bit pattern with zero above, double and pointers as they are (cffi_frame_set_result
 * does this from a value of the result type). A handler that stores nothing returns 0.
 */
typedef void (*cffi_frame_handler)(void *ctx, void *frame, void *stack);

CFFI_API cffi_status cffi_closure_new_frame(const cffi_sig *sig, cffi_frame_handler fn, void *ctx,
                                            cffi_closure **out);
/* Point an existing frame closure at another handler and context (as cffi_closure_set). Each
 * setter ignores the other kind of closure. */
CFFI_API void cffi_closure_set_frame(cffi_closure *c, cffi_frame_handler fn, void *ctx);
/* Where argument i arrives: returns its byte offset and sets *on_stack (true: from stack, false:
 * from frame). Out of range: returns 0 and sets *on_stack to false. */
CFFI_API size_t cffi_sig_arg_place(const cffi_sig *sig, size_t i, bool *on_stack);
/* Where the result goes in the frame (see above). */
CFFI_API size_t cffi_sig_result_offset(const cffi_sig *sig);
/* Store value (exactly the result type's size) as the frame's result slot value. */
CFFI_API void cffi_frame_set_result(const cffi_sig *sig, void *frame, const void *value);

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

/* A call of a variadic function (cffi_sig_variadic): args holds the fixed arguments, then nextra
 * more of the types extra_types (scalars). Each extra argument is passed as C's default argument
 * promotions make it (float as double, bool and integers narrower than int as int), as the
 * convention passes variadic arguments (on win64 a double also in its integer register; on armhf
 * everything by the base standard, without VFP registers). printf("%d %.1f\n", 5, 2.5):
 *   cffi_type extra[] = {CFFI_T_INT32, CFFI_T_DOUBLE};
 *   cffi_call_variadic(sig, printf, &ret, (void *[]){&fmt, &five, &two_and_a_half}, 2, extra);
 */
CFFI_API cffi_status cffi_call_variadic(const cffi_sig *sig, void *fn, void *ret,
                                        void *const *args, size_t nextra,
                                        const cffi_type *extra_types);

/* Frame calls: the fast form of cffi_call and the mirror of frame closures, for a caller that
 * converts its arguments straight into place instead of into values of their types (the Lua
 * binding does). The caller provides two buffers, both aligned to 16 bytes and left as they are
 * except for the arguments: frame, CFFI_CALL_FRAME_BYTES bytes, and stack, CFFI_CALL_STACK_BYTES
 * bytes (or cffi_sig_stack_size(sig), if smaller; NULL when that is 0). It stores argument i's
 * slot value (the encoding frame closures use for results, see above) at
 * (on_stack ? stack : frame) + offset, as cffi_sig_arg_place says: the low
 * cffi_sig_arg_width(sig, i) bytes of it, 4 or 8. cffi_call_frame calls fn; the result is then
 * in the low bytes (exactly the result type's size) at frame + cffi_sig_result_offset(sig), as
 * the callee left them: the bytes above mean nothing, and a bool is its byte (read it as != 0;
 * cffi_call turns it into 0 or 1). Argument registers the signature leaves unused are loaded
 * from the frame's other bytes, which no callee reads. */
#define CFFI_CALL_FRAME_BYTES 256
#define CFFI_CALL_STACK_BYTES (8 * CFFI_MAX_PARAMS) /* every parameter type takes at most 8 */
/* Bytes of the stack argument area; each argument's slot width (4 or 8, 0 out of range). */
CFFI_API size_t cffi_sig_stack_size(const cffi_sig *sig);
CFFI_API size_t cffi_sig_arg_width(const cffi_sig *sig, size_t i);
CFFI_API cffi_status cffi_call_frame(const cffi_sig *sig, void *fn, void *frame, void *stack);

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
 * Typed thunks (closure-ffi's BareFn, BareFnMut, BareFnOnce): zero-marshalling bare function
 * pointers for a signature known at compile time.
 *
 *   static int add(void *ctx, int a, int b) { return *(int *)ctx + a + b; }
 *   CFFI_BAREFN(add2, stdcall, int, (int a, int b), (a, b))   // at file scope
 *   ...
 *   cffi_barefn *t;
 *   if (add2_new(add, &base, &t) != CFFI_OK) ... cffi_last_reloc_error() ...
 *   add2_bare f = add2_code(t);      // int (stdcall *)(int, int)
 *   f(2, 3);                         // runs add(&base, 2, 3)
 *   cffi_barefn_free(t);
 *
 * CFFI_BAREFN(NAME, CONV, RET, PARAMS, ARGS) defines, at file scope:
 *   NAME_bare   the bare function pointer type RET (CONV *)(PARAMS)
 *   NAME_fn     the handler type RET (*)(void *ctx, PARAMS), the C convention
 *   NAME_new(NAME_fn fn, void *ctx, cffi_barefn **out)   a new thunk calling fn(ctx, args...)
 *   NAME_code(const cffi_barefn *)   cffi_barefn_code with the bare type
 *   NAME_static(NAME_bare f)         the identity, type-checked: a function that already has the
 *                                    bare signature (a "non-capturing closure") needs no thunk.
 * PARAMS is a parenthesized parameter list with names and at least one parameter; ARGS lists the
 * same names in parentheses. A thunk of no parameters is CFFI_BAREFN0(NAME, CONV, RET), with
 * NAME_fn = RET (*)(void *ctx). RET is void or any type a function can return: scalars, pointers
 * (use a typedef for a function pointer type), structs and unions by value; parameters may also be
 * structs and unions (the template is compiled code: the compiler passes them).
 *
 * CONV is a bare token: C, cdecl, stdcall, fastcall, thiscall, sysv64, win64, system, efiapi
 * (aapcs on 32-bit ARM), meaning what cffi_sig_parse's conventions mean on the target; one with
 * no meaning there (win64 on i386) does not compile (CFFI_CONV_ATTR_win64 is undeclared).
 *
 * Flavours:
 *   CFFI_BAREFN(...)       may run any number of times, re-entrantly, from any thread;
 *   CFFI_BAREFN_MUT(...)   a call that starts while another call of the same thunk is running
 *                          (re-entrant or concurrent) is caught and does not run fn;
 *   CFFI_BAREFN_ONCE(...)  only the first call runs fn; every later call is caught.
 *   (and CFFI_BAREFN0_MUT, CFFI_BAREFN0_ONCE)
 *
 * Handler bound at compile time (the fast form):
 *   CFFI_BAREFN_FN(NAME, CONV, RET, PARAMS, ARGS, FN), CFFI_BAREFN0_FN(NAME, CONV, RET, FN)
 * where FN is a function of type NAME_fn, known by name where the macro expands. The template
 * calls FN directly, so the compiler can inline it, and checks nothing on the way: a call costs
 * about what a direct call of FN would, plus the record load. A freed thunk still reports: its
 * code is switched to a copy of a second template that calls the record's fn (see below).
 * NAME_new(void *ctx, cffi_barefn **out) takes no handler. Otherwise these are CFFI_BAREFN
 * thunks (any number of calls, re-entrant, any thread; a freed one reports).
 * A caught call, and a call through a freed thunk, reports through the barefn hook (default:
 * one line "cffi: <NAME>: <what>" on stderr) and returns zero (all bits zero for a struct).
 *
 * How it works: NAME's template is a compiled function with the bare signature whose body starts
 * with CFFI_BAREFN_RECORD, a small inline-assembly block with marked data slots that puts the
 * thunk's record in a register. At the first NAME_new the template's prologue (everything before
 * the block) is relocated once into an image (cffi_last_reloc_error() names an instruction that
 * cannot be moved: CFFI_ERELOC), followed by the record load and a copy of the template's body
 * (the code after the block) up to its ret or tail call; each thunk is a copy of that image in
 * executable memory with its record's address stored in a slot. A call runs straight through the
 * copy: the prologue, the record load, the loads of fn and ctx and the jump to fn (or, for
 * CFFI_BAREFN_FN, the inlined handler). Paths the copy does not hold (a cold branch, the code
 * from a call in the body on: BareFnMut calls fn, then stores) continue in the template itself.
 * A freed thunk's record names the template's trap in place of fn, which the other flavours'
 * copies call from then on. A CFFI_BAREFN_FN copy never reads fn, so NAME also has a dead
 * template, the CFFI_BAREFN body with NAME's signature, and each thunk holds a copy of it, made
 * the same way, just before its entry: freeing the thunk turns the two bytes after the entry's
 * endbr into a short jump that leads there (one store), and a reuse of the address turns them
 * back.
 * The copies are placed near the program's code when the default executable-memory allocator
 * can get memory there (direct references into the template); otherwise (a host allocator, a full
 * neighbourhood) they reach it through pointers, which works anywhere but costs more.
 */
typedef struct cffi_barefn cffi_barefn;

/* What a thunk's code reads on each call; the first member of every cffi_barefn. Public only so
 * that templates compiled in the user's program can read it. */
typedef struct cffi_barefn_rec {
    void *fn;       /* RET (*)(void *ctx, PARAMS) */
    void *ctx;
    unsigned state; /* BareFnMut: 1 while a call runs. BareFnOnce: 1 once called. */
    unsigned kind;  /* cffi_barefn_kind */
} cffi_barefn_rec;

typedef enum cffi_barefn_kind {
    CFFI_BAREFN_KIND_PLAIN = 0,
    CFFI_BAREFN_KIND_MUT,
    CFFI_BAREFN_KIND_ONCE
} cffi_barefn_kind;

typedef enum cffi_barefn_event {
    CFFI_BAREFN_EV_REENTERED = 1, /* BareFnMut: called while a call of it was running */
    CFFI_BAREFN_EV_CALLED_TWICE,  /* BareFnOnce: called more than once */
    CFFI_BAREFN_EV_FREED          /* any flavour: called after cffi_barefn_free */
} cffi_barefn_event;

/* A template: static in the program that expands CFFI_BAREFN. code must start with the function's
 * prologue and contain CFFI_BAREFN_RECORD before any other use of the record. trap has the type
 * RET (*)(void *record, PARAMS): it reports CFFI_BAREFN_EV_FREED for the record and returns 0.
 * dead is NULL, or, for a template whose code never reads the record's fn (CFFI_BAREFN_FN), a
 * second template of the same signature and convention, built the same way, whose body calls the
 * record's fn: a freed thunk's code is switched to a copy of it, so that the trap runs. */
typedef struct cffi_barefn_template {
    const void *code;
    void *trap;
    const char *name;
    cffi_barefn_kind kind;
    void *cache; /* owned by the library: the relocated images, computed once */
    const void *dead;
} cffi_barefn_template;

/* A new thunk of template t calling fn(ctx, ...). On failure *out is NULL; CFFI_ERELOC and
 * CFFI_ENOEXEC come with a message in cffi_last_reloc_error() and, if errlen > 0, in errbuf.
 * A template whose prologue cannot be relocated fails the same way every time. */
CFFI_API cffi_status cffi_barefn_new(cffi_barefn_template *t, void *fn, void *ctx,
                                     cffi_barefn **out);
CFFI_API cffi_status cffi_barefn_new_ex(cffi_barefn_template *t, void *fn, void *ctx,
                                        cffi_barefn **out, char *errbuf, size_t errlen);
/* The calling thread's message for its last failed thunk creation ("" if none). */
CFFI_API const char *cffi_last_reloc_error(void);
/* The bare function pointer (NULL for NULL). */
CFFI_API void *cffi_barefn_code(const cffi_barefn *b);
/* Release the thunk. Its address stays safe: a call through it reports CFFI_BAREFN_EV_FREED and
 * returns 0, until the address is reused by a thunk of the same template, which happens only after
 * CFFI_QUARANTINE other thunks of that template have been freed after it. Freeing a thunk while
 * another thread is inside it is the caller's race (a CFFI_BAREFN_FN call already past the entry
 * runs on with the record as it finds it). NULL is ignored. */
CFFI_API void cffi_barefn_free(cffi_barefn *b);

/* Called for every caught call: b is the thunk, name the NAME of its CFFI_BAREFN. The default hook
 * writes "cffi: <name>: <cffi_barefn_event_text(ev)>" to stderr; NULL restores it. The hook runs
 * on the calling thread, inside the thunk, and must not free thunks. */
typedef void (*cffi_barefn_hook)(const cffi_barefn *b, const char *name, cffi_barefn_event ev);
CFFI_API void cffi_set_barefn_hook(cffi_barefn_hook hook);
CFFI_API const char *cffi_barefn_event_text(cffi_barefn_event ev);
/* Templates call this for a caught call (record is the thunk's cffi_barefn_rec). */
CFFI_API void cffi_barefn_report(cffi_barefn_rec *record, cffi_barefn_event ev);

/* Disassemble the code at `code` (a thunk, a hook target) into buf, one instruction per line,
 * "0x<address>: <mnemonic> <operands>", stopping after the first unconditional jmp or ret, an
 * undecodable byte, max_bytes, or when buf is full (a line is written whole or not at all). buf is
 * always terminated if len > 0. Returns the number of code bytes described. Built on every
 * target; where cffi has no disassembler (Capstone: on the targets with typed thunks) it
 * describes nothing and returns 0. A Thumb address (bit 0 set) is listed as Thumb code.
 * The Lua binding's cb:disasm() returns this text for a callback. */
CFFI_API size_t cffi_disasm(const void *code, size_t max_bytes, char *buf, size_t len);

/* What differs per target (src/arch/<target>/include/cffi_target.h): CFFI_CONV_ATTR_<name>, the
 * calling conventions as function attributes, and the typed-thunk block below. */
#include "cffi_target.h"

/* CFFI_BAREFN_RECORD(var): the template block. Puts the thunk's cffi_barefn_rec * in var. Its
 * bytes are a fixed pattern the library looks for; each relocated prologue is followed by the
 * block's record load with its slot filled in, then the body run in place (or, if none of it can
 * be, the jump back to the landing pad). Only reached in copies: the template itself is never
 * called (its slots hold non-canonical addresses, so running it faults at once). */
#ifndef CFFI_BAREFN_RECORD
#define CFFI_BAREFN_RECORD(var) _Static_assert(0, "cffi: typed thunks are not ported to this target")
#endif

#if defined(__has_attribute)
#if __has_attribute(noipa)
#define CFFI__BAREFN_NOIPA __attribute__((noipa))
#endif
#endif
#ifndef CFFI__BAREFN_NOIPA
#define CFFI__BAREFN_NOIPA __attribute__((noinline))
#endif

#define CFFI__UNPAREN(...) __VA_ARGS__

/* CFFI__ZERO(RET): the value a caught call returns: all bits zero, for void, scalars, pointers,
 * structs and unions alike (`(RET)0` cannot name a struct). In C, a local of type RET (of type
 * char when RET is void, so that the branch not taken still compiles) cleared with memset; in
 * C++, a value-initialized RET. */
#ifdef __cplusplus
#define CFFI__ZERO(RET) cffi__zero_value<RET>()
#else
#define CFFI__RET_IS_VOID(RET) __builtin_types_compatible_p(RET, void)
#define CFFI__ZERO_TYPE(RET)                                                                      \
    __typeof__(*(__typeof__(__builtin_choose_expr(CFFI__RET_IS_VOID(RET), (char *)0, (RET *)0)))0)
#define CFFI__ZERO(RET)                                                                           \
    __builtin_choose_expr(CFFI__RET_IS_VOID(RET), (void)0, ({                                     \
                              CFFI__ZERO_TYPE(RET) cffi__zero;                                    \
                              __builtin_memset(&cffi__zero, 0, sizeof cffi__zero);                \
                              cffi__zero;                                                         \
                          }))
#endif

/* Leave a BareFnMut call (run by the cleanup attribute after the handler returns). */
static inline void cffi__barefn_leave(cffi_barefn_rec **r) {
    __atomic_store_n(&(*r)->state, 0u, __ATOMIC_RELEASE);
}

#define CFFI__BAREFN_BODY_PLAIN(NAME, RET, CALLARGS, BOUND)                                       \
    return ((NAME##_fn)cffi__r->fn) CALLARGS;
#define CFFI__BAREFN_BODY_MUT(NAME, RET, CALLARGS, BOUND)                                         \
    if (__builtin_expect(__atomic_exchange_n(&cffi__r->state, 1u, __ATOMIC_ACQUIRE) != 0, 0)) {  \
        cffi_barefn_report(cffi__r, CFFI_BAREFN_EV_REENTERED);                                    \
        return CFFI__ZERO(RET);                                                                            \
    }                                                                                             \
    cffi_barefn_rec *cffi__busy __attribute__((cleanup(cffi__barefn_leave))) = cffi__r;           \
    return ((NAME##_fn)cffi__busy->fn) CALLARGS;
#define CFFI__BAREFN_BODY_ONCE(NAME, RET, CALLARGS, BOUND)                                        \
    if (__builtin_expect(__atomic_exchange_n(&cffi__r->state, 1u, __ATOMIC_ACQ_REL) != 0, 0)) {  \
        cffi_barefn_report(cffi__r, CFFI_BAREFN_EV_CALLED_TWICE);                                 \
        return CFFI__ZERO(RET);                                                                            \
    }                                                                                             \
    return ((NAME##_fn)cffi__r->fn) CALLARGS;
/* Handler bound at compile time: called by name, so the compiler may inline it, and nothing on the
 * way checks for a freed thunk. Freeing one switches its code to a copy of the dead template
 * below, which calls the record's fn like CFFI_BAREFN: the trap, once freed. */
#define CFFI__BAREFN_BODY_FN(NAME, RET, CALLARGS, BOUND) return BOUND CALLARGS;

/* A template function FUNC: the record block, then BODY. */
#define CFFI__BAREFN_TEMPLATE(FUNC, CONV, RET, PARAMS, NAME, CALLARGS, BODY, BOUND)               \
    static CFFI__BAREFN_NOIPA RET CFFI_CONV_ATTR_##CONV FUNC PARAMS {                             \
        cffi_barefn_rec *cffi__r;                                                                 \
        CFFI_BAREFN_RECORD(cffi__r);                                                              \
        BODY(NAME, RET, CALLARGS, BOUND)                                                          \
    }

/* The dead template (cffi_barefn_template.dead) that a bound NAME's freed thunks run, and its
 * address; the other flavours read the record's fn on every call and have none. */
#define CFFI__BAREFN_DEAD_DEFINE(NAME, CONV, RET, PARAMS, CALLARGS)                               \
    CFFI__BAREFN_TEMPLATE(NAME##__dead, CONV, RET, PARAMS, NAME, CALLARGS,                        \
                          CFFI__BAREFN_BODY_PLAIN, 0)
#define CFFI__BAREFN_DEAD_CODE(NAME) (const void *)NAME##__dead
#define CFFI__BAREFN_NO_DEAD_DEFINE(NAME, CONV, RET, PARAMS, CALLARGS)
#define CFFI__BAREFN_NO_DEAD_CODE(NAME) 0

/* `return (void)expr;` is how one body serves void and non-void results: a GNU extension that
 * -Wpedantic would flag, hence the pragmas. DEAD is CFFI__BAREFN_DEAD or CFFI__BAREFN_NO_DEAD. */
#define CFFI__BAREFN_DEFINE(NAME, CONV, RET, PARAMS, FNPARAMS, CALLARGS, BODY, KIND, BOUND, DEAD) \
    _Pragma("GCC diagnostic push")                                                                \
    _Pragma("GCC diagnostic ignored \"-Wpedantic\"")                                              \
    _Pragma("GCC diagnostic ignored \"-Wunused-parameter\"")                                      \
    typedef RET (CFFI_CONV_ATTR_##CONV *NAME##_bare) PARAMS;                                     \
    typedef RET (*NAME##_fn) FNPARAMS;                                                            \
    static RET NAME##__trap FNPARAMS {                                                            \
        cffi_barefn_report((cffi_barefn_rec *)cffi__ctx, CFFI_BAREFN_EV_FREED);                   \
        return CFFI__ZERO(RET);                                                                            \
    }                                                                                             \
    CFFI__BAREFN_TEMPLATE(NAME##__template, CONV, RET, PARAMS, NAME, CALLARGS, BODY, BOUND)       \
    DEAD##_DEFINE(NAME, CONV, RET, PARAMS, CALLARGS)                                              \
    static cffi_barefn_template NAME##__tdesc __attribute__((unused)) = {                        \
        (const void *)NAME##__template, (void *)NAME##__trap, #NAME, KIND, 0,                     \
        DEAD##_CODE(NAME)};                                                                       \
    __attribute__((unused)) static inline NAME##_bare NAME##_code(const cffi_barefn *b) {        \
        return (NAME##_bare)cffi_barefn_code(b);                                                  \
    }                                                                                             \
    __attribute__((unused)) static inline NAME##_bare NAME##_static(NAME##_bare f) { return f; } \
    _Pragma("GCC diagnostic pop")

/* NAME_new with a handler given at run time, and with the one bound at compile time. The handler
 * travels as void * (a function pointer as an object pointer: -Wpedantic's complaint, silenced). */
#define CFFI__BAREFN_NEW(NAME)                                                                    \
    _Pragma("GCC diagnostic push")                                                                \
    _Pragma("GCC diagnostic ignored \"-Wpedantic\"")                                              \
    __attribute__((unused)) static inline cffi_status NAME##_new(NAME##_fn fn, void *ctx,         \
                                                                 cffi_barefn **out) {            \
        return cffi_barefn_new(&NAME##__tdesc, (void *)fn, ctx, out);                             \
    }                                                                                             \
    _Pragma("GCC diagnostic pop")
#define CFFI__BAREFN_NEW_BOUND(NAME, FN)                                                          \
    _Pragma("GCC diagnostic push")                                                                \
    _Pragma("GCC diagnostic ignored \"-Wpedantic\"")                                              \
    __attribute__((unused)) static inline cffi_status NAME##_new(void *ctx, cffi_barefn **out) { \
        NAME##_fn cffi__fn = FN; /* FN must have the handler type */                              \
        return cffi_barefn_new(&NAME##__tdesc, (void *)cffi__fn, ctx, out);                       \
    }                                                                                             \
    _Pragma("GCC diagnostic pop")

#define CFFI__BAREFN_N(NAME, CONV, RET, PARAMS, ARGS, BODY, KIND, BOUND, DEAD)                    \
    CFFI__BAREFN_DEFINE(NAME, CONV, RET, PARAMS, (void *cffi__ctx, CFFI__UNPAREN PARAMS),        \
                        (cffi__r->ctx, CFFI__UNPAREN ARGS), BODY, KIND, BOUND, DEAD)
#define CFFI__BAREFN_0(NAME, CONV, RET, BODY, KIND, BOUND, DEAD)                                  \
    CFFI__BAREFN_DEFINE(NAME, CONV, RET, (void), (void *cffi__ctx), (cffi__r->ctx), BODY, KIND,  \
                        BOUND, DEAD)

#define CFFI_BAREFN(NAME, CONV, RET, PARAMS, ARGS)                                                \
    CFFI__BAREFN_N(NAME, CONV, RET, PARAMS, ARGS, CFFI__BAREFN_BODY_PLAIN,                        \
                   CFFI_BAREFN_KIND_PLAIN, 0, CFFI__BAREFN_NO_DEAD)                               \
    CFFI__BAREFN_NEW(NAME)
#define CFFI_BAREFN_MUT(NAME, CONV, RET, PARAMS, ARGS)                                            \
    CFFI__BAREFN_N(NAME, CONV, RET, PARAMS, ARGS, CFFI__BAREFN_BODY_MUT, CFFI_BAREFN_KIND_MUT, 0, \
                   CFFI__BAREFN_NO_DEAD)                                                          \
    CFFI__BAREFN_NEW(NAME)
#define CFFI_BAREFN_ONCE(NAME, CONV, RET, PARAMS, ARGS)                                           \
    CFFI__BAREFN_N(NAME, CONV, RET, PARAMS, ARGS, CFFI__BAREFN_BODY_ONCE, CFFI_BAREFN_KIND_ONCE,  \
                   0, CFFI__BAREFN_NO_DEAD)                                                       \
    CFFI__BAREFN_NEW(NAME)
#define CFFI_BAREFN_FN(NAME, CONV, RET, PARAMS, ARGS, FN)                                         \
    CFFI__BAREFN_N(NAME, CONV, RET, PARAMS, ARGS, CFFI__BAREFN_BODY_FN, CFFI_BAREFN_KIND_PLAIN,   \
                   FN, CFFI__BAREFN_DEAD)                                                         \
    CFFI__BAREFN_NEW_BOUND(NAME, FN)
#define CFFI_BAREFN0(NAME, CONV, RET)                                                             \
    CFFI__BAREFN_0(NAME, CONV, RET, CFFI__BAREFN_BODY_PLAIN, CFFI_BAREFN_KIND_PLAIN, 0,           \
                   CFFI__BAREFN_NO_DEAD)                                                          \
    CFFI__BAREFN_NEW(NAME)
#define CFFI_BAREFN0_MUT(NAME, CONV, RET)                                                         \
    CFFI__BAREFN_0(NAME, CONV, RET, CFFI__BAREFN_BODY_MUT, CFFI_BAREFN_KIND_MUT, 0,               \
                   CFFI__BAREFN_NO_DEAD)                                                          \
    CFFI__BAREFN_NEW(NAME)
#define CFFI_BAREFN0_ONCE(NAME, CONV, RET)                                                        \
    CFFI__BAREFN_0(NAME, CONV, RET, CFFI__BAREFN_BODY_ONCE, CFFI_BAREFN_KIND_ONCE, 0,             \
                   CFFI__BAREFN_NO_DEAD)                                                          \
    CFFI__BAREFN_NEW(NAME)
#define CFFI_BAREFN0_FN(NAME, CONV, RET, FN)                                                      \
    CFFI__BAREFN_0(NAME, CONV, RET, CFFI__BAREFN_BODY_FN, CFFI_BAREFN_KIND_PLAIN, FN,             \
                   CFFI__BAREFN_DEAD)                                                             \
    CFFI__BAREFN_NEW_BOUND(NAME, FN)

/* ---------------------------------------------------------------------------------------------
 * The Lua 5.4 binding: `require "cffi"`. Declared without lua.h so that C-only users need not
 * have it; the Lua module (cffi.so) and static hosts define it.
 */
struct lua_State;
int luaopen_cffi(struct lua_State *L);

#ifdef __cplusplus
}
/* The zero value of CFFI__ZERO in C++ (templates cannot have C linkage). */
template <class T> static inline T cffi__zero_value() { return T(); }
#endif

#endif /* CFFI_H */
