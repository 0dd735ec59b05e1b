/*
 * cffi_lua.h - what the files of the Lua binding share: the module state, the userdata type
 * names, the signature cache and the Lua <-> native conversions.
 *
 * Every function of the module and every method carries the module state userdata as upvalue 1
 * (luv's habit: no globals, so two lua_States in one process never see each other).
 */
#ifndef CFFI_LUA_H
#define CFFI_LUA_H

#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <lauxlib.h>
#include <lua.h>

#include "cffi.h"

#define CFFI_LUA_CALLBACK "cffi.callback"
#define CFFI_LUA_FUNCTION "cffi.function"
#define CFFI_LUA_BUFFER "cffi.buffer"
#define CFFI_LUA_LIBRARY "cffi.library"
#define CFFI_LUA_SIG "cffi.sig"

/* Uservalue slots of the module state userdata. The signature caches and pins are described
 * where they are kept (signature.c). The metatables are kept here too: lua_getiuservalue is much
 * cheaper than a registry lookup by name. */
#define CFFI_LUA_UV_SIGCACHE 1    /* convention argument or false -> { text -> cffi.sig } */
#define CFFI_LUA_UV_TYPECACHE 2   /* type name -> cffi_type (integer) */
#define CFFI_LUA_UV_SIGPIN 3      /* light userdata cffi_lua_sig * -> its cffi.sig, while used */
#define CFFI_LUA_UV_MT_CALLBACK 4 /* the metatables of our userdata types */
#define CFFI_LUA_UV_MT_FUNCTION 5
#define CFFI_LUA_UV_MT_BUFFER 6
#define CFFI_LUA_UV_MT_SIG 7
#define CFFI_LUA_UV_MT_FREED 8    /* a released cffi.callback's: the same methods, no __gc */
#define CFFI_LUA_UV_SIGANCHOR 9   /* slot -> the strings and cffi.sig of a fast-cache entry */
#define CFFI_LUA_UV_REFPOOL 10    /* the memory of the registry-reference pool */
#define CFFI_LUA_UV_ERRTHREAD 11  /* the Lua thread a callback's error path runs on */
#define CFFI_LUA_UV_COUNT 11
#define CFFI_LUA_CACHE_MAX 4096

/* The fast signature cache (signature.c): a direct-mapped table from the addresses of the
 * signature and convention strings to the parsed signature. */
#define CFFI_LUA_SIGFAST 64
typedef struct cffi_lua_sigfast {
    const char *text;
    const char *conv; /* NULL: no convention argument */
    const struct cffi_lua_sig *sig;
} cffi_lua_sigfast;

struct cb_core;

/* The module state, one per lua_State that required cffi: the first luaopen_cffi creates it and
 * keeps it in the registry, so it lives until lua_close; requiring the module again (a script
 * reload) makes a new module table over the same state, and everything made before keeps
 * working. */
typedef struct cffi_lua_state {
    lua_State *main;          /* the main thread: callbacks always run there */
    /* Set when lua_close finalizes the state: from then on no callback is made, and those made
     * by finalizers before (which Lua no longer finalizes) were released then. */
    bool closing;
    lua_State *errthread;     /* CFFI_LUA_UV_ERRTHREAD: where a callback's error path runs */
    bool errthread_busy;      /* an error path runs there now (a nested one runs on main) */
    unsigned sigcache_count, typecache_count; /* entries, for CFFI_LUA_CACHE_MAX */
    struct cb_core *live;     /* every callback not yet released, doubly linked */
    struct cffi_lua_sig *sigs; /* every cffi.sig holding a signature, doubly linked: lua_close
                                  releases those Lua finalizes late or never */
    cffi_scope *scope;        /* the types cffi.cdef defined in this state (NULL once closed) */
    /* Metatable identities, so that conversions recognise our userdata without a registry
     * lookup. mt_freed is a released callback's (the callback's without __gc). */
    const void *mt_callback;
    const void *mt_freed;
    const void *mt_function;
    const void *mt_buffer;
    /* Registry references kept for reuse (each slot holds false while pooled): taking one is an
     * array pop and one raw set, where luaL_ref/luaL_unref cost four table operations each. The
     * array is the memory of a userdata in CFFI_LUA_UV_REFPOOL; cffi_lua_ref_reserve grows it
     * ahead of need, so giving a reference back does not allocate (it runs in __gc too); when
     * the pool is full anyway, the reference goes back through luaL_unref. */
    int *ref_pool;
    unsigned ref_pooled, ref_cap, ref_out; /* pooled now, array size, taken and not given back */
    cffi_lua_sigfast sigfast[CFFI_LUA_SIGFAST];
    /* The block of the live cffi.callback userdata that passed the full check last (or was
     * created last), or NULL: lua_touserdata equal to it proves the value is that callback
     * (a light userdata holding the same address would name the same, live, callback). Only a
     * live callback is kept: its release, which always runs before its memory can be reused
     * (free, close or __gc), clears this. */
    void *cb_last;
    /* The memory of one released callback's core, kept for the next cffi.wrap (callback.c), or
     * NULL: a malloc and a free saved per callback made and freed in turn. Freed by lua_close. */
    void *spare_core;
} cffi_lua_state;

/* Make sure `more` further references can be taken and all of them given back without the pool
 * allocating. Raises on memory errors: call it before creating anything that needs cleaning up. */
void cffi_lua_ref_grow(lua_State *L, cffi_lua_state *S, size_t need);
static inline void cffi_lua_ref_reserve(lua_State *L, cffi_lua_state *S, unsigned more) {
    size_t need = (size_t)S->ref_pooled + S->ref_out + more;
    if (need > S->ref_cap) cffi_lua_ref_grow(L, S, need);
}
/* A registry reference to the value at the top (popped), like luaL_ref(L, LUA_REGISTRYINDEX);
 * the value must not be nil. */
int cffi_lua_ref(lua_State *L, cffi_lua_state *S);
/* Give back a reference from cffi_lua_ref (LUA_NOREF is ignored). Never raises while the pool
 * has room (which cffi_lua_ref_reserve sees to); a full pool hands it to luaL_unref. */
void cffi_lua_unref_slot(lua_State *L, cffi_lua_state *S, int ref); /* a real reference */
/* An address as the module prints it everywhere: "0x" and lowercase hex digits, whatever the C
 * library's %p does (Windows prints 16 uppercase digits without 0x). buf: CFFI_LUA_ADDR_LEN. */
#define CFFI_LUA_ADDR_LEN 24
static inline const char *cffi_lua_addr_text(char *buf, const void *p) {
    snprintf(buf, CFFI_LUA_ADDR_LEN, "0x%" PRIxPTR, (uintptr_t)p);
    return buf;
}

static inline void cffi_lua_unref(lua_State *L, cffi_lua_state *S, int ref) {
    if (ref != LUA_NOREF && ref != LUA_REFNIL) cffi_lua_unref_slot(L, S, ref);
}

#define cffi_lua_stateidx lua_upvalueindex(1)
#define cffi_lua_getstate(L) ((cffi_lua_state *)lua_touserdata((L), cffi_lua_stateidx))

/* Where a parameter is in a frame (cffi_sig_arg_place) and its type: what the bridge reads per
 * argument of a callback, and where a call from Lua stores it (a frame call, cffi.h). */
typedef struct cffi_lua_place {
    uint16_t offset;  /* into the register frame, or into the stack argument area */
    uint8_t on_stack;
    uint8_t type;     /* cffi_type */
    uint8_t width;    /* bytes a call stores there (cffi_sig_arg_width): 4 or 8 */
} cffi_lua_place;

/* A parsed signature as the binding keeps it: the core object plus the types in a flat array, so
 * the per-call paths never call back into the core to learn them, and, for cffi.wrap, where
 * each argument and the result live in a frame closure's frame. */
typedef struct cffi_lua_sig {
    cffi_sig *sig;           /* one reference, released by __gc, or by lua_close (then NULL) */
    struct cffi_lua_sig *prev, *next; /* the module state's list of parsed signatures */
    cffi_lua_place *places;  /* nparams entries, in the same block after params */
    uint32_t ret_offset;     /* cffi_sig_result_offset */
    uint8_t result;          /* cffi_type */
    uint8_t nparams;
    bool has_cstr_param;     /* a const char * parameter: pushing the arguments can raise */
    bool has_agg;            /* a struct or union parameter or result: the generic paths */
    bool variadic;           /* "...": extra arguments, typed by their Lua values */
    bool generic;            /* has_agg or variadic: calls take cffi_lua_callnative_generic */
    bool pinned;             /* in CFFI_LUA_UV_SIGPIN (signature.c) */
    size_t uses;             /* live callbacks using it (cffi_lua_sig_hold) */
    size_t text_len;         /* strlen(cffi_sig_text(sig)) */
    uint8_t params[];        /* cffi_type each */
} cffi_lua_sig;

/* A cffi.function: a callable view of a native address, not owned. */
typedef struct cffi_lua_function {
    void *addr;
    const cffi_lua_sig *sig; /* anchored by the userdata's user value */
} cffi_lua_function;

/* A cffi.buffer: zeroed bytes owned by the userdata itself (no __gc needed). */
typedef struct cffi_lua_buffer {
    size_t size;
    size_t pad; /* data at offset 16: as aligned as Lua aligns the block (8 at least) */
    unsigned char data[];
} cffi_lua_buffer;

/* The code address of a live cffi.callback userdata, NULL once freed. */
void *cffi_lua_callback_code(void *ud);

/* Which userdata a value is, by metatable identity (0 if none of ours). */
enum { CFFI_LUA_NONE, CFFI_LUA_IS_CALLBACK, CFFI_LUA_IS_FUNCTION, CFFI_LUA_IS_BUFFER };
int cffi_lua_kind(lua_State *L, const cffi_lua_state *S, int idx);

/* The userdata at idx if its metatable is mt (one of S's), else raise luaL_checkudata's error
 * naming tname. The same check as luaL_checkudata without its registry lookup and strcmp. */
void *cffi_lua_checkself(lua_State *L, int idx, const void *mt, const char *tname);

/* Set the metatable kept in the module state's uservalue slot uv on the value at the top. */
void cffi_lua_setmeta(lua_State *L, int uv);

/* signature.c: parse (or fetch from the caches) the signature at sigidx with the convention at
 * convidx (nil or absent: "C" or the one in the text); both are positive stack indices. Raises
 * on misuse, naming fname and the argument. With push, leaves the cffi.sig userdata on the stack
 * top (with possibly one more value below it), for an object that keeps the result to anchor
 * (the caches do not keep it for ever), and raises once lua_close has released the signatures;
 * without, leaves nothing and the result is only valid until the next call of this function
 * (which can change the caches) or until an object holds it. */
const cffi_lua_sig *cffi_lua_checksig(lua_State *L, cffi_lua_state *S, int sigidx, int convidx,
                                      const char *fname, bool push);

/* Pin s, just returned by cffi_lua_checksig for the same stack indices. Raises on memory errors. */
void cffi_lua_sig_pin(lua_State *L, cffi_lua_state *S, const cffi_lua_sig *s, int sigidx,
                      int convidx, const char *fname);

/* Take a use of s for an object without a user value for it (a live callback): s stays valid
 * until cffi_lua_sig_drop, whatever happens to the caches. Call right after cffi_lua_checksig,
 * with its stack indices. Raises on memory errors before taking the use. */
static inline cffi_lua_sig *cffi_lua_sig_hold(lua_State *L, cffi_lua_state *S,
                                              const cffi_lua_sig *s, int sigidx, int convidx,
                                              const char *fname) {
    if (!s->pinned) cffi_lua_sig_pin(L, S, s, sigidx, convidx, fname);
    cffi_lua_sig *held = (cffi_lua_sig *)s; /* the binding's own object */
    held->uses++;
    return held;
}

/* Give a use back. Never raises, never calls into Lua (it runs in finalizers): the pin goes at
 * the next cache reset. */
static inline void cffi_lua_sig_drop(cffi_lua_sig *s) { s->uses--; }

/* Release every signature the state still holds (lua_close). */
void cffi_lua_sig_release_all(cffi_lua_state *S);

/* The string at idx for the C parts, which read up to a NUL: raises an argument error naming
 * what it is (what: "signature", "type name", ...) and the column if the string holds a NUL byte
 * before its end. Not a string: NULL. */
const char *cffi_lua_checktext(lua_State *L, int idx, const char *what);

/* callback.c: release every callback of S not yet released (lua_close: the ones made by
 * finalizers, which Lua does not finalize), and free the spare core. */
void cffi_lua_release_all(lua_State *L, cffi_lua_state *S);

/* convert.c ------------------------------------------------------------------------------- */

/* Short name of a type for messages ("int32_t", "pointer", ...). */
const char *cffi_lua_typename(cffi_type t);

/* Lua value at idx -> native value of type t written to out (cffi_type_size(t) bytes). Never
 * raises. Returns NULL on success or the expectation that failed ("int32_t expected"). Strings
 * are accepted for CSTR and CPTR only when allow_string; the pointer then lives as long as the
 * Lua string does. */
const char *cffi_lua_tonative(lua_State *L, const cffi_lua_state *S, int idx, cffi_type t,
                              void *out, bool allow_string);

/* Native value of type t at in -> pushed Lua value. Raises only on memory errors (strings). */
void cffi_lua_push(lua_State *L, cffi_type t, const void *in);

/* A pointer argument: integer, light userdata, nil (if nil_ok), callback, function view or buffer.
 * Raises a luaL_argerror on anything else. *limit gets the buffer size (SIZE_MAX otherwise). */
void *cffi_lua_checkaddr(lua_State *L, int idx, bool nil_ok, size_t *limit);

/* Raise "bad argument #shown to 'fname' (expect, got <type>)". */
int cffi_lua_argfail(lua_State *L, int idx, int shown, const char *fname, const char *expect);

/* Call fn through sig with the Lua values at [first, first+n) as arguments and push the result
 * (nothing for void). Raises on a wrong argument count or type, naming fname and the argument
 * number as the caller sees it (shown_first for the first parameter). Returns the results.
 * anchored: s is kept alive by a value on the stack (a callback or view); else the call holds
 * what it needs itself, since callbacks run by fn can let the caches drop s. */
int cffi_lua_callnative(lua_State *L, const cffi_lua_state *S, const cffi_lua_sig *s, void *fn,
                        int first, int shown_first, const char *fname, bool anchored);

/* aggregate.c ----------------------------------------------------------------------------- */

/* The aggregate at p (agg's layout), pushed as a table of its members. Raises on memory errors. */
void cffi_lua_push_agg(lua_State *L, const cffi_agg *agg, const void *p);
/* The table (or buffer) at idx converted into out (agg->size bytes, zeroed first). Raises
 * "<what> (field 'a.b': number expected, got nil)" on a wrong or missing member. */
void cffi_lua_check_agg(lua_State *L, const cffi_lua_state *S, int idx, const cffi_agg *agg,
                        void *out, const char *what);
/* cffi_lua_callnative for a signature with aggregates or "..." (s->has_agg, s->variadic):
 * through cffi_call or cffi_call_variadic. given: the number of Lua arguments. */
int cffi_lua_callnative_generic(lua_State *L, const cffi_lua_state *S, const cffi_lua_sig *s,
                                void *fn, int first, int given, int shown_first,
                                const char *fname, bool anchored);

/* memory.c: the type named at idx in the state's scope (scalars, pointers, cdef'd types); raises
 * naming fname on an unknown type or void. */
cffi_typeinfo cffi_lua_checktypeinfo(lua_State *L, int idx, const char *fname);

/* Opening the files' parts of the module: each adds its metatable (with the state upvalue on the
 * stack top) and its module functions to the table at -2. */
void cffi_lua_open_signature(lua_State *L); /* the cffi.sig metatable only */
void cffi_lua_open_callback(lua_State *L);
void cffi_lua_open_function(lua_State *L);
void cffi_lua_open_buffer(lua_State *L);
void cffi_lua_open_library(lua_State *L);
/* Push the address of symbol name in a library handle (CFFI_OS_PROCESS: every module loaded in
 * the process), or fail, message. Returns the number of values pushed. */
int cffi_lua_pushsym(lua_State *L, void *handle, const char *name);
void cffi_lua_open_memory(lua_State *L);
void cffi_lua_open_aggregate(lua_State *L);

/* Add funcs to the module table at -2, each with the state at -1 as upvalue 1. */
void cffi_lua_setfuncs(lua_State *L, const luaL_Reg *funcs);

/* Create a metatable (liolib's createmeta): __name, methods under __index, metamethods; every
 * function gets the state (on the stack top at the call) as upvalue 1. Leaves nothing. */
void cffi_lua_newmeta(lua_State *L, const char *name, const luaL_Reg *meta, const luaL_Reg *methods);

#endif /* CFFI_LUA_H */
