/*
 * callback.c - cffi.wrap and the cffi.callback userdata: an owned bare function pointer that
 * runs a Lua function.
 *
 * Two objects per callback. The userdata (owned by Lua) follows liolib's pattern: created empty,
 * then filled; one idempotent release serves free, close, __close and __gc. The bridge context
 * (a malloc'd cb_core) is what the native closure points at; it outlives the userdata while a call
 * is still running inside it, so a callback freed or collected by its own Lua function never
 * leaves the bridge reading freed memory.
 */
#include "convert.h"
#include "os/os.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct lcallback lcallback;

typedef struct cb_core {
    lua_State *L;              /* the state's main thread: never a coroutine */
    cffi_lua_state *S;
    cffi_sig *sig;             /* a reference, for messages */
    cffi_lua_sig *lsig;        /* a use (cffi_lua_sig_hold), until the release; for calls */
    struct cb_core *prev, *next; /* S->live, while not released */
    lcallback *ud;             /* the userdata, while not released */
    cffi_os_thread owner;      /* the OS thread that created the callback */
    int fnref;                 /* the Lua function, in the registry */
    int errref;                /* on_error, or LUA_NOREF */
    /* Pointer results only: the registry slot anchoring the string results returned since the
     * last call began (one string, or a table of them when a nested call's result is still
     * valid), and how many there are. */
    int strref;
    unsigned strs;
    unsigned depth;            /* bridge activations running now */
    bool any_thread, once, called, released, str_args;
    uint8_t result, nparams;
    unsigned capacity;         /* params[] entries the memory holds (core_alloc) */
    uint64_t defval;           /* the default result, result-type-sized at offset 0 */
    size_t ret_offset;         /* where the result slot value goes in the frame */
    cffi_lua_place params[];   /* where each argument arrives, and its type */
} cb_core;

/* A released callback keeps no signature (its metatable has no __gc that could give one back):
 * what tostring, :signature() and :convention() say is kept in the userdata itself. */
struct lcallback {
    cb_core *core;            /* NULL when empty or released */
    cffi_closure *closure;    /* NULL when empty or released */
    void *code;               /* kept after release, for tostring */
    const char *conv;         /* the convention's name (the core's, static) */
    char text[];              /* the signature's text */
};

static void core_free(cb_core *k) {
    cffi_sig_free(k->sig);
    free(k);
}

/* Cores hold at least this many parameters' places, so that most can take the spare's memory. */
enum { CORE_MIN_CAPACITY = 8 };

/* Memory for a core with room for nparams places: S's spare if it is big enough, else new
 * (NULL when out of memory). Sets *capacity to what it holds. */
static cb_core *core_alloc(cffi_lua_state *S, size_t nparams, unsigned *capacity) {
    cb_core *k = S->spare_core;
    if (k && k->capacity >= nparams) {
        S->spare_core = NULL;
        *capacity = k->capacity;
        return k;
    }
    size_t cap = nparams > CORE_MIN_CAPACITY ? nparams : CORE_MIN_CAPACITY;
    *capacity = (unsigned)cap;
    return malloc(sizeof *k + cap * sizeof k->params[0]);
}

/* A released core nothing runs on any more: its memory becomes S's spare if there is none and
 * the state is not closing (lua_close frees the spare after the last release). */
static void core_recycle(cb_core *k) {
    cffi_lua_state *S = k->S;
    if (S->spare_core || S->closing) {
        core_free(k);
    } else {
        cffi_sig_free(k->sig);
        S->spare_core = k;
    }
}

static void write_default(const cb_core *k, void *frame) {
    cffi_frame_set_result(k->sig, frame, &k->defval);
}

/* ---------------------------------------------------------------------------------------------
 * The bridge: the handler of every Lua callback's closure. Runs on whatever thread native code
 * calls from; touches the Lua state only on the owner thread (or any thread, if so asked).
 */

/* Message handler: the error as {message, traceback}, so on_error gets a clean message and the
 * stderr report still has the traceback. */
static int msgh(lua_State *L) {
    const char *msg = lua_tostring(L, 1);
    if (!msg) {
        if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
            msg = lua_tostring(L, -1);
        else
            msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    }
    lua_createtable(L, 2, 0);          /* ..., t */
    lua_pushstring(L, msg);
    lua_rawseti(L, -2, 1);             /* t[1] = message */
    luaL_traceback(L, L, NULL, 1);
    lua_rawseti(L, -2, 2);             /* t[2] = traceback */
    return 1;
}

/* The arguments, pushed by the one conversion rule (convert.h), inlined into the bridge: no call,
 * no reload of nparams per argument. Raises only for strings (str_args: then protected). */
static inline __attribute__((always_inline)) void push_args(lua_State *L, const cb_core *k,
                                                            const unsigned char *frame,
                                                            const unsigned char *stack) {
    const cffi_lua_place *params = k->params;
    for (unsigned i = 0, n = k->nparams; i < n; i++) {
        cffi_lua_place p = params[i];
        cffi_lua_push_value(L, (cffi_type)p.type, (p.on_stack ? stack : frame) + p.offset);
    }
}

/* The result by the one conversion rule (convert.h), stored straight into the frame's result
 * slot as its slot value (cffi.h). Pointer results take the general path (a string result must
 * be anchored), and so does a value that does not convert (for the error's message). */
static inline bool fast_result(lua_State *L, const cb_core *k, unsigned char *frame) {
    cffi_type t = (cffi_type)k->result;
    uint64_t v = 0; /* set on success; GCC cannot always see it */
    if (t >= CFFI_T_INT8 && t <= CFFI_T_UINT64) {
        if (cffi_lua_int_slot(L, -1, t, &v)) return false;
    } else if (t == CFFI_T_PTR || t == CFFI_T_CSTR || t == CFFI_T_CPTR ||
               cffi_lua_to_slot(L, k->S, -1, t, &v, false)) {
        return false;
    }
    memcpy(frame + k->ret_offset, &v, sizeof v);
    return true;
}

typedef struct bridge_frame {
    cb_core *k;
    unsigned char *frame;      /* the closure's register frame: arguments and the result slot */
    unsigned char *stack;      /* the caller's stack arguments */
    const char *cmsg;   /* a message from C (no Lua error object), or NULL */
    const char *expect; /* a bad result: what was expected (the error object is the result) */
    bool done;          /* the frame holds a result from on_error */
} bridge_frame;

/* Protected: push the function and the arguments and call. Used when converting an argument can
 * raise (strings allocate), so a memory error cannot unwind through native frames. */
static int call_protected(lua_State *L) {
    bridge_frame *f = lua_touserdata(L, 1);
    luaL_checkstack(L, f->k->nparams + 2, "too many callback arguments");
    lua_rawgeti(L, LUA_REGISTRYINDEX, f->k->fnref);
    push_args(L, f->k, f->frame, f->stack);
    lua_call(L, f->k->nparams, 1);
    return 1;
}

/* Anchor the string at idx with those returned since the current call began: the first one
 * alone in the slot, which cannot allocate; a second (a nested call's result is still valid)
 * makes the slot a table of them, which can raise a memory error: call that case protected. */
static void anchor_string(lua_State *L, cb_core *k, int idx) {
    if (k->strs == 0) {
        lua_pushvalue(L, idx);
        lua_rawseti(L, LUA_REGISTRYINDEX, k->strref); /* an existing slot: cannot allocate */
        k->strs = 1;
        return;
    }
    idx = lua_absindex(L, idx);
    lua_rawgeti(L, LUA_REGISTRYINDEX, k->strref);      /* the string, or the table */
    if (k->strs == 1) {
        lua_createtable(L, 4, 0);                      /* string, table */
        lua_insert(L, -2);
        lua_rawseti(L, -2, 1);                         /* table */
        lua_pushvalue(L, -1);
        lua_rawseti(L, LUA_REGISTRYINDEX, k->strref);
    }
    lua_pushvalue(L, idx);
    lua_rawseti(L, -2, (lua_Integer)++k->strs);
    lua_pop(L, 1);
}

/* Protected: anchor_string for the string at index 2. */
static int anchor_protected(lua_State *L) {
    anchor_string(L, lua_touserdata(L, 1), 2);
    return 0;
}

/* The result at idx into the frame's result slot (untouched on failure). Returns NULL or what
 * was expected. A string result that must be kept with another (nested calls) allocates: with
 * anchor_later NULL (the caller runs protected) it is anchored here, else *anchor_later is set
 * for the caller to do it protected, and this never raises. */
static const char *take_result(lua_State *L, cb_core *k, int idx, unsigned char *frame,
                               bool *anchor_later) {
    cffi_type t = (cffi_type)k->result;
    if (t == CFFI_T_VOID) return NULL;
    uint64_t value = 0;
    const char *expect = cffi_lua_tonative(L, k->S, idx, t, &value, true);
    if (expect) return expect;
    if (lua_type(L, idx) == LUA_TSTRING) {
        /* The string must outlive this call: anchor it until the next call or the free. */
        if (k->strref == LUA_NOREF) return "pointer (the callback was freed during the call)";
        if (k->strs == 0 || !anchor_later) anchor_string(L, k, idx);
        else *anchor_later = true;
    }
    cffi_frame_set_result(k->sig, frame, &value);
    return NULL;
}

/* Message and traceback of an error object at idx (a msgh table, or a bare value). Never raises:
 * what is not a string is named by its type. */
static void split_error(lua_State *L, int idx, const char **msg, const char **tb) {
    *tb = NULL;
    *msg = NULL;
    if (lua_type(L, idx) == LUA_TTABLE) {
        lua_rawgeti(L, idx, 1);
        lua_rawgeti(L, idx, 2);         /* ..., msg, tb (stay on the stack while used) */
        if (lua_type(L, -2) == LUA_TSTRING) *msg = lua_tostring(L, -2);
        if (lua_type(L, -1) == LUA_TSTRING) *tb = lua_tostring(L, -1);
    } else if (lua_type(L, idx) == LUA_TSTRING) {
        *msg = lua_tostring(L, idx);
    }
    if (!*msg) *msg = "(error object is not a string)";
}

/* Protected: the error path, on the error thread (or the main thread). Stack: frame, error
 * object (or, for a bad result, the result; nil when frame->cmsg is set). Calls on_error (its
 * result becomes the callback's) or reports on stderr. */
static int error_path(lua_State *L) {
    bridge_frame *f = lua_touserdata(L, 1);
    cb_core *k = f->k;
    const char *msg, *tb;
    if (f->cmsg || f->expect) {
        if (f->expect) {
            const char *spelled = cffi_sig_result_text(k->sig);
            msg = lua_pushfstring(L, "bad result (%s expected, got %s)",
                                  spelled ? spelled : f->expect, luaL_typename(L, 2));
        } else {
            msg = f->cmsg;
        }
        /* Where the main thread is: the native call came in there. */
        luaL_traceback(L, k->L, NULL, L == k->L ? 1 : 0);
        tb = lua_tostring(L, -1);
    } else {
        split_error(L, 2, &msg, &tb);
    }
    if (k->errref == LUA_NOREF) {
        fprintf(stderr, "cffi: %s\n%s%s", msg, tb ? tb : "", tb ? "\n" : "");
        return 0;
    }
    int top = lua_gettop(L);
    lua_rawgeti(L, LUA_REGISTRYINDEX, k->errref);
    lua_pushstring(L, msg);
    if (tb) lua_pushstring(L, tb); else lua_pushnil(L);
    lua_call(L, 2, 1);                 /* ..., on_error's result */
    const char *expect = take_result(L, k, top + 1, f->frame, NULL);
    if (expect)
        return luaL_error(L, "on_error returned a bad result (%s expected, got %s)",
                          cffi_sig_result_text(k->sig) ? cffi_sig_result_text(k->sig) : expect,
                          luaL_typename(L, top + 1));
    f->done = true;
    return 0;
}

/* The error path, entered with the error object (or the bad result) on L's top, or with cmsg, a
 * message from C. Runs on the module state's error thread: its own count of nested C calls
 * leaves on_error room even when the error was a C stack overflow on the main thread. A nested
 * error path (on_error's own callbacks failing) runs on the main thread. Leaves L's stack as it
 * found it except for what the caller discards with lua_settop. Cold and out of line: the
 * bridge's clean path never builds a bridge_frame for it. */
static __attribute__((cold, noinline)) void fail(lua_State *L, cb_core *k, unsigned char *frame,
                                                 unsigned char *stack, const char *cmsg,
                                                 const char *expect) {
    bridge_frame frame_record = {k, frame, stack, cmsg, expect, false};
    bridge_frame *f = &frame_record;
    cffi_lua_state *S = k->S;
    lua_State *T = S->errthread && !S->errthread_busy ? S->errthread : L;
    int obj = lua_gettop(L);
    int base = lua_gettop(T);
    if (!lua_checkstack(T, 8) || !lua_checkstack(L, 2)) {
        fputs("cffi: error in a callback, and no Lua stack left to report it\n", stderr);
    } else {
        if (T != L) S->errthread_busy = true;
        lua_pushcfunction(T, msgh);       /* T: ..., msgh */
        lua_pushcfunction(T, error_path); /* T: ..., msgh, error_path */
        lua_pushlightuserdata(T, f);
        if (f->cmsg) lua_pushnil(L); else lua_pushvalue(L, obj);
        lua_xmove(L, T, 1);               /* T: ..., msgh, error_path, f, obj */
        if (lua_pcall(T, 2, 0, base + 1) != LUA_OK) { /* on_error raised, or out of memory */
            const char *msg, *tb;
            split_error(T, lua_gettop(T), &msg, &tb);
            if (k->errref != LUA_NOREF)
                fprintf(stderr, "cffi: error in on_error: %s\n%s%s", msg, tb ? tb : "",
                        tb ? "\n" : "");
            else
                fprintf(stderr, "cffi: error in a callback, and reporting it failed: %s\n", msg);
        }
        lua_settop(T, base);
        if (T != L) S->errthread_busy = false;
    }
    if (!f->done) write_default(f->k, f->frame);
}

/* A result the fast path did not take (at base + 2): the general conversion, or the error path
 * if it does not convert. */
static __attribute__((cold, noinline)) void slow_result(lua_State *L, cb_core *k,
                                                        unsigned char *frame,
                                                        unsigned char *stack, int base) {
    bool anchor_later = false;
    const char *expect = take_result(L, k, base + 2, frame, &anchor_later);
    if (expect) {
        fail(L, k, frame, stack, NULL, expect); /* the bad result is on the top */
        return;
    }
    if (anchor_later) { /* a second string to keep: allocates, so protected */
        if (!lua_checkstack(L, 3)) {
            fail(L, k, frame, stack, "Lua stack overflow keeping a string result", NULL);
            return;
        }
        lua_pushcfunction(L, anchor_protected);
        lua_pushlightuserdata(L, k);
        lua_pushvalue(L, base + 2);
        if (lua_pcall(L, 2, 0, 0) != LUA_OK) fail(L, k, frame, stack, NULL, NULL);
    }
}

/* Protected call through call_protected: the arguments include strings, whose conversion can
 * raise a memory error. */
static __attribute__((noinline)) int pcall_string_args(lua_State *L, cb_core *k,
                                                        unsigned char *frame,
                                                        unsigned char *stack) {
    bridge_frame f = {k, frame, stack, NULL, NULL, false};
    lua_pushcfunction(L, call_protected);
    lua_pushlightuserdata(L, &f);
    return lua_pcall(L, 1, 1, -3); /* the handler, below the two */
}

static void bridge(void *ctx, void *frame_, void *stack_) {
    unsigned char *frame = frame_, *stack = stack_;
    cb_core *k = ctx;
    int saved_errno = errno;
    if (!k->any_thread && !cffi_os_thread_equal(cffi_os_thread_self(), k->owner)) {
        /* Not a single touch of the Lua state from here. */
        fprintf(stderr, "cffi: called from a foreign thread (callback %s); returning the default\n",
                cffi_sig_text(k->sig));
        write_default(k, frame);
        errno = saved_errno;
        return;
    }
    lua_State *L = k->L;
    /* The stack's top on entry, to restore: found with lua_gettop on the paths that need it. A
     * clean call leaves exactly two values (handler and result) and pops them without it. */
    int base = -1;
    k->depth++; /* keeps k alive if the Lua function frees its own callback */
    k->strs = 0; /* string results of earlier calls need not stay valid */
    if (k->once && k->called) {
        base = lua_gettop(L);
        fail(L, k, frame, stack, "called more than once", NULL);
    } else if (!lua_checkstack(L, k->nparams + 4)) {
        base = lua_gettop(L);
        fail(L, k, frame, stack, "Lua stack overflow entering a callback", NULL);
    } else {
        k->called = true;
        int st;
        lua_pushcfunction(L, msgh);                       /* message handler */
        if (k->str_args) {
            st = pcall_string_args(L, k, frame, stack);
        } else {
            lua_rawgeti(L, LUA_REGISTRYINDEX, k->fnref);  /* the function */
            push_args(L, k, frame, stack);                /* cannot raise: numbers and booleans */
            st = lua_pcall(L, k->nparams, 1, -(int)k->nparams - 2); /* result or error object */
        }
        if (st != LUA_OK) {
            base = lua_gettop(L) - 2;
            fail(L, k, frame, stack, NULL, NULL);
        } else if (k->result != CFFI_T_VOID && !fast_result(L, k, frame)) {
            base = lua_gettop(L) - 2;
            slow_result(L, k, frame, stack, base);
        }
    }
    if (base < 0) lua_pop(L, 2); /* handler and result of a clean call */
    else lua_settop(L, base);
    if (--k->depth == 0 && k->released) core_free(k);
    errno = saved_errno;
}

/* ---------------------------------------------------------------------------------------------
 * Signatures with a struct or union: a generic closure (frame handlers cannot place aggregates),
 * whose handler receives pointers to the values. Struct arguments arrive as tables, a struct
 * result is converted from the table (or buffer) the function returns. Everything runs
 * protected: building tables allocates. A failure returns the default (a struct result: zeros).
 */
typedef struct agg_call {
    cb_core *k;
    void *ret;
    void *const *args;
} agg_call;

static int call_agg_protected(lua_State *L) {
    agg_call *a = lua_touserdata(L, 1);
    cb_core *k = a->k;
    const cffi_sig *sig = k->sig;
    luaL_checkstack(L, k->nparams + 2, "too many callback arguments");
    lua_rawgeti(L, LUA_REGISTRYINDEX, k->fnref);
    for (unsigned i = 0; i < k->nparams; i++) {
        const cffi_agg *agg = cffi_sig_param_agg(sig, i);
        if (agg) cffi_lua_push_agg(L, agg, a->args[i]);
        else cffi_lua_push(L, (cffi_type)k->params[i].type, a->args[i]);
    }
    lua_call(L, k->nparams, 1);
    const cffi_agg *ret_agg = cffi_sig_result_agg(sig);
    if (ret_agg) {
        cffi_lua_check_agg(L, k->S, -1, ret_agg, a->ret, "bad result");
    } else if (k->result != CFFI_T_VOID) {
        union { uint64_t slot; long double ld; } v = {0}; /* room for any scalar */
        /* No strings: nothing here keeps one alive after the call (return a buffer). */
        const char *expect = cffi_lua_tonative(L, k->S, -1, (cffi_type)k->result, &v, false);
        if (expect) {
            const char *spelled = cffi_sig_result_text(sig);
            return luaL_error(L, "bad result (%s expected, got %s)", spelled ? spelled : expect,
                              luaL_typename(L, -1));
        }
        memcpy(a->ret, &v, cffi_sig_result_size(sig));
    }
    return 0;
}

/* The error path of bridge_agg: fail() through a stand-in register frame, whose result slot then
 * holds on_error's result or the default. */
static __attribute__((cold, noinline)) void fail_agg(lua_State *L, cb_core *k, void *ret,
                                                     const char *cmsg) {
    _Alignas(16) unsigned char frame[CFFI_CALL_FRAME_BYTES];
    memset(frame, 0, sizeof frame);
    fail(L, k, frame, NULL, cmsg, NULL);
    size_t size = cffi_sig_result_size(k->sig);
    if (cffi_sig_result_agg(k->sig)) memset(ret, 0, size); /* a half-converted struct: zeros */
    else if (size) memcpy(ret, frame + k->ret_offset, size);
}

static void bridge_agg(void *ctx, void *ret, void *const *args) {
    cb_core *k = ctx;
    int saved_errno = errno;
    size_t rsize = cffi_sig_result_size(k->sig);
    if (!k->any_thread && !cffi_os_thread_equal(cffi_os_thread_self(), k->owner)) {
        fprintf(stderr, "cffi: called from a foreign thread (callback %s); returning the default\n",
                cffi_sig_text(k->sig));
        if (!cffi_sig_result_agg(k->sig) && rsize) memcpy(ret, &k->defval, rsize);
        errno = saved_errno;
        return;
    }
    lua_State *L = k->L;
    int base = lua_gettop(L);
    k->depth++;
    k->strs = 0;
    if (k->once && k->called) {
        fail_agg(L, k, ret, "called more than once");
    } else if (!lua_checkstack(L, 4)) {
        fail_agg(L, k, ret, "Lua stack overflow entering a callback");
    } else {
        k->called = true;
        agg_call a = {k, ret, args};
        lua_pushcfunction(L, msgh);
        lua_pushcfunction(L, call_agg_protected);
        lua_pushlightuserdata(L, &a);
        if (lua_pcall(L, 1, 0, -3) != LUA_OK) fail_agg(L, k, ret, NULL);
    }
    lua_settop(L, base);
    if (--k->depth == 0 && k->released) core_free(k);
    errno = saved_errno;
}

/* ---------------------------------------------------------------------------------------------
 * The userdata.
 */
/* A cffi.callback, live or released (a released one has the __gc-less metatable). The live
 * callback checked (or created) last is remembered in S->cb_last, which makes the check of a
 * callback used over and over (cb(...) in a loop, wrap then free) one address comparison. */
static lcallback *tocallback_in(lua_State *L, cffi_lua_state *S, int idx) {
    void *p = lua_touserdata(L, idx);
    if (p && p == S->cb_last) return p;
    if (lua_getmetatable(L, idx)) { /* false for anything without one, userdata or not */
        const void *mt = lua_topointer(L, -1);
        lua_pop(L, 1);
        if ((mt == S->mt_callback || mt == S->mt_freed) && lua_type(L, idx) == LUA_TUSERDATA) {
            lcallback *cb = p;
            if (cb->closure) S->cb_last = cb;
            return cb;
        }
    }
    luaL_typeerror(L, idx, CFFI_LUA_CALLBACK);
    return NULL;
}

static lcallback *tocallback(lua_State *L, int idx) {
    return tocallback_in(L, cffi_lua_getstate(L), idx);
}

/* The one checked accessor for operations that need a live callback. */
static lcallback *checklive_in(lua_State *L, cffi_lua_state *S, int idx) {
    lcallback *cb = tocallback_in(L, S, idx);
    if (!cb->closure) luaL_error(L, "attempt to use a freed cffi.callback");
    return cb;
}

static lcallback *checklive(lua_State *L, int idx) {
    return checklive_in(L, cffi_lua_getstate(L), idx);
}

void *cffi_lua_callback_code(void *ud) {
    lcallback *cb = ud;
    return cb->closure ? cb->code : NULL;
}

bool cffi_lua_callback_freed(lua_State *L, int idx) {
    return tocallback(L, idx)->closure == NULL;
}

/* The one release: idempotent, safe on a half-built userdata. After it the address traps. */
static void release(lua_State *L, lcallback *cb) {
    cb_core *k = cb->core;
    if (cb->closure) {
        if (k->defval) /* a closure's default result starts as zeros */
            cffi_closure_set_default(cb->closure, &k->defval);
        cffi_closure_free(cb->closure); /* the handler becomes the core's dead trap */
        cb->closure = NULL;
    }
    if (!k) return;
    if (k->S->cb_last == cb) k->S->cb_last = NULL; /* it only ever holds a live callback */
    cb->core = NULL;
    if (k->prev) k->prev->next = k->next; else k->S->live = k->next;
    if (k->next) k->next->prev = k->prev;
    k->prev = k->next = NULL;
    k->ud = NULL;
    if (k->lsig) cffi_lua_sig_drop(k->lsig);
    k->lsig = NULL;
    cffi_lua_unref(L, k->S, k->fnref);
    cffi_lua_unref(L, k->S, k->errref);
    cffi_lua_unref(L, k->S, k->strref);
    k->fnref = k->errref = k->strref = LUA_NOREF;
    k->released = true;
    if (k->depth == 0) core_recycle(k); /* else the running bridge frees it on the way out */
}

void cffi_lua_release_all(lua_State *L, cffi_lua_state *S) {
    while (S->live) {
        lcallback *cb = S->live->ud;
        release(L, cb); /* unlinks it */
    }
    free(S->spare_core);
    S->spare_core = NULL;
}

/* free, close and __close. Besides the release, the userdata trades its metatable for the one
 * without __gc (upvalue 2, see cffi_lua_open_callback): nothing is left for a finalizer to do. */
static int cb_free(lua_State *L) {
    lcallback *cb = tocallback(L, 1);
    if (!cb->core && !cb->closure) return 0; /* released before */
    release(L, cb);
    lua_pushvalue(L, lua_upvalueindex(2));
    lua_setmetatable(L, 1);
    return 0;
}

static int cb_gc(lua_State *L) {
    lcallback *cb = tocallback(L, 1);
    release(L, cb);
    return 0;
}

static int cb_tostring(lua_State *L) {
    lcallback *cb = tocallback(L, 1);
    char addr[CFFI_LUA_ADDR_LEN];
    lua_pushfstring(L, CFFI_LUA_CALLBACK "<%s %s>: %s%s", cb->text, cb->conv,
                    cffi_lua_addr_text(addr, cb->code), cb->closure ? "" : " (freed)");
    return 1;
}

static int cb_addr(lua_State *L) {
    lua_pushinteger(L, (lua_Integer)(uintptr_t)checklive(L, 1)->code);
    return 1;
}

/* cb:disasm(): the disassembly of the callback's code up to its first jump or return, one
 * "0x<address>: <instruction>" line each. */
static int cb_disasm(lua_State *L) {
    void *code = checklive(L, 1)->code;
    char text[2048];
    if (cffi_disasm(code, 256, text, sizeof text) == 0)
        return luaL_error(L, "cffi: disasm: this build of cffi has no disassembler (Capstone)");
    lua_pushstring(L, text);
    return 1;
}

static int cb_ptr(lua_State *L) {
    lua_pushlightuserdata(L, checklive(L, 1)->code);
    return 1;
}

static int cb_signature(lua_State *L) {
    lua_pushstring(L, tocallback(L, 1)->text);
    return 1;
}

static int cb_convention(lua_State *L) {
    lua_pushstring(L, tocallback(L, 1)->conv);
    return 1;
}

static bool callable(lua_State *L, int idx) {
    if (lua_type(L, idx) == LUA_TFUNCTION) return true;
    if (luaL_getmetafield(L, idx, "__call") == LUA_TNIL) return false;
    lua_pop(L, 1); /* the __call field */
    return true;
}

static int cb_set(lua_State *L) {
    lcallback *cb = checklive(L, 1);
    if (!callable(L, 2)) cffi_lua_argfail(L, 2, 1, "set", "function");
    lua_pushvalue(L, 2);
    lua_rawseti(L, LUA_REGISTRYINDEX, cb->core->fnref); /* same slot: no new reference */
    return 0;
}

static int cb_call(lua_State *L) {
    cffi_lua_state *S = cffi_lua_getstate(L);
    lcallback *cb = checklive_in(L, S, 1);
    /* Lua passes the callback itself first: the caller's argument #1 is stack index 2. */
    return cffi_lua_callnative(L, S, cb->core->lsig, cb->code, 2, 1, CFFI_LUA_CALLBACK, true);
}

/* ---------------------------------------------------------------------------------------------
 * cffi.wrap(fn, sig [, conv [, opts]])
 */
typedef struct wrap_opts {
    int on_error;   /* stack index or 0 */
    int defidx;     /* stack index of the default or 0 */
    bool once, any_thread;
} wrap_opts;

static void check_opts(lua_State *L, int idx, const cffi_lua_sig *s, wrap_opts *o,
                       uint64_t *defval) {
    memset(o, 0, sizeof *o);
    *defval = 0;
    if (!idx || lua_isnoneornil(L, idx)) return;
    if (!lua_istable(L, idx)) cffi_lua_argfail(L, idx, idx, "wrap", "options table");
    lua_pushnil(L);
    while (lua_next(L, idx)) {                  /* ..., key, value */
        int v = lua_gettop(L);
        const char *key = lua_type(L, v - 1) == LUA_TSTRING ? lua_tostring(L, v - 1) : NULL;
        if (!key) {
            luaL_error(L, "bad argument #%d to 'wrap' (unknown option of type %s)", idx,
                       luaL_typename(L, v - 1));
        } else if (strcmp(key, "on_error") == 0) {
            if (!callable(L, v))
                luaL_error(L, "bad argument #%d to 'wrap' (option 'on_error': function expected, "
                              "got %s)", idx, luaL_typename(L, v));
            lua_pushvalue(L, v);                /* keep a copy below the iteration */
            lua_insert(L, v - 1);
            o->on_error = v - 1;
            v++;
        } else if (strcmp(key, "default") == 0) {
            if (s->result == CFFI_T_AGG) {
                if (!lua_isnil(L, v))
                    luaL_error(L, "bad argument #%d to 'wrap' (option 'default': a struct or union "
                                  "result's default is all zeros)", idx);
            } else if (s->result == CFFI_T_VOID) {
                if (!lua_isnil(L, v))
                    luaL_error(L, "bad argument #%d to 'wrap' (option 'default' given for a void "
                                  "callback)", idx);
            } else {
                const char *expect = cffi_lua_tonative(L, cffi_lua_getstate(L), v,
                                                       (cffi_type)s->result, defval, false);
                if (expect)
                    luaL_error(L, "bad argument #%d to 'wrap' (option 'default': %s expected for "
                                  "result type %s, got %s)", idx, expect,
                               cffi_sig_result_text(s->sig), luaL_typename(L, v));
            }
        } else if (strcmp(key, "once") == 0) {
            if (lua_type(L, v) != LUA_TBOOLEAN)
                luaL_error(L, "bad argument #%d to 'wrap' (option 'once': boolean expected, got "
                              "%s)", idx, luaL_typename(L, v));
            o->once = lua_toboolean(L, v);
        } else if (strcmp(key, "threads") == 0) {
            const char *p = lua_type(L, v) == LUA_TSTRING ? lua_tostring(L, v) : "";
            if (strcmp(p, "owner") == 0) o->any_thread = false;
            else if (strcmp(p, "any") == 0) o->any_thread = true;
            else
                luaL_error(L, "bad argument #%d to 'wrap' (option 'threads': \"owner\" or \"any\" "
                              "expected, got %s)", idx,
                           lua_type(L, v) == LUA_TSTRING ? lua_tostring(L, v)
                                                         : luaL_typename(L, v));
        } else {
            luaL_error(L, "bad argument #%d to 'wrap' (unknown option '%s'; expected on_error, "
                          "default, once or threads)", idx, key);
        }
        lua_settop(L, v - 1);                   /* ..., key */
    }
}

/* A new core (in memory for capacity places) for the callback userdata cb, with the use of the signature held, linked into the
 * state's live list (release unlinks it). Its registry references are the caller's to take. */
static void core_init(cb_core *k, unsigned capacity, cffi_lua_state *S, lcallback *cb,
                      cffi_lua_sig *held, const wrap_opts *o, uint64_t defval) {
    memset(k, 0, sizeof *k);
    k->capacity = capacity;
    k->fnref = k->errref = k->strref = LUA_NOREF;
    k->sig = cffi_sig_ref(held->sig);
    k->lsig = held; /* given back by the release */
    cb->core = k;
    k->ud = cb;
    k->next = S->live;
    if (S->live) S->live->prev = k;
    S->live = k;
    k->L = S->main;
    k->S = S;
    k->owner = cffi_os_thread_self();
    k->any_thread = o->any_thread;
    k->once = o->once;
    k->result = held->result;
    k->nparams = held->nparams;
    k->defval = defval;
    k->ret_offset = held->ret_offset;
    k->str_args = held->has_cstr_param;
    memcpy(k->params, held->places, held->nparams * sizeof k->params[0]);
}

static int l_wrap(lua_State *L) {
    cffi_lua_state *S = cffi_lua_getstate(L);
    if (!callable(L, 1)) cffi_lua_argfail(L, 1, 1, "wrap", "function");
    int optidx = lua_gettop(L) >= 4 ? 4 : 0; /* the options table's index, before the pushes */
    /* Room to give back every reference below, so that a release never allocates. First: it
     * allocates, and so can run finalizers, which may change the signature caches. */
    cffi_lua_ref_reserve(L, S, 3);
    /* lua_close runs finalizers: one that made a callback would leave it live after the state
     * is gone (Lua finalizes nothing made then). Those made before the module state's own
     * finalizer are released by it; after it, checksig refuses: none is made. */
    const cffi_lua_sig *s = cffi_lua_checksig(L, S, 2, 3, "wrap", false);
    if (!s->sig) return luaL_error(L, "wrap: the Lua state is closing");
    if (s->variadic)
        luaL_argerror(L, 2, "a variadic signature cannot be a callback (the function could not "
                            "tell what it was passed)");
    wrap_opts o;
    uint64_t defval;
    check_opts(L, optidx, s, &o, &defval); /* may leave a copy of on_error on the top */
    /* Nothing above allocated, so s is still the cache's (its errors raise before anything is
     * made). From the hold on, s is the callback's whatever the caches do; only running out of
     * memory before the core takes it over (below) leaves the signature pinned for good. */
    cffi_lua_sig *held = cffi_lua_sig_hold(L, S, s, 2, 3, "wrap");

    /* The userdata first, empty: whatever fails below, __gc cleans up. */
    lcallback *cb = lua_newuserdatauv(L, sizeof *cb + held->text_len + 1, 0);
    memset(cb, 0, sizeof *cb);
    cb->conv = cffi_sig_convention(held->sig);
    memcpy(cb->text, cffi_sig_text(held->sig), held->text_len + 1);
    lua_pushvalue(L, lua_upvalueindex(2)); /* the callback metatable */
    lua_setmetatable(L, -2);

    unsigned capacity;
    cb_core *k = core_alloc(S, s->nparams, &capacity);
    if (!k) {
        cffi_lua_sig_drop(held);
        return luaL_error(L, "wrap: not enough memory");
    }
    core_init(k, capacity, S, cb, held, &o, defval);
    lua_pushvalue(L, 1);
    k->fnref = cffi_lua_ref(L, S);
    if (o.on_error) {
        lua_pushvalue(L, o.on_error);
        k->errref = cffi_lua_ref(L, S);
    }
    if (s->result == CFFI_T_CSTR || s->result == CFFI_T_CPTR) {
        lua_pushboolean(L, 0); /* a placeholder holding the slot */
        k->strref = cffi_lua_ref(L, S);
    }

    cffi_closure *c = NULL;
    cffi_status st = s->has_agg ? cffi_closure_new(s->sig, bridge_agg, k, &c)
                                : cffi_closure_new_frame(s->sig, bridge, k, &c);
    if (st != CFFI_OK) {
        release(L, cb);
        if (st == CFFI_EUNSUPPORTED || st == CFFI_EINVAL)
            return luaL_argerror(L, 2, cffi_strerror(st));
        luaL_pushfail(L);
        const char *why = st == CFFI_ENOEXEC ? cffi_last_exec_error() : "";
        lua_pushfstring(L, "cffi.wrap: %s%s%s", cffi_strerror(st), *why ? ": " : "", why);
        return 2;
    }
    cb->closure = c;
    cb->code = cffi_closure_code(c);
    S->cb_last = cb; /* live now: the first method call on it need not check more */
    return 1; /* the userdata: every reference taken above popped what it took */
}

static const luaL_Reg cb_meta[] = {
    {"__gc", cb_gc},
    {"__tostring", cb_tostring},
    {"__call", cb_call},
    {NULL, NULL},
};

static const luaL_Reg cb_methods[] = {
    {"addr", cb_addr},
    {"ptr", cb_ptr},
    {"disasm", cb_disasm},
    {"set", cb_set},
    {"signature", cb_signature},
    {"convention", cb_convention},
    {NULL, NULL},
};

/* The metatable a callback gets when it is released explicitly: a copy of the callback's (at the
 * top) without __gc. The collector then has no finalizer to call for it (Lua ignores a missing
 * __gc), which is most of what a short-lived callback costs. Pushes it. */
static void push_freed_meta(lua_State *L) {
    int mt = lua_gettop(L);
    lua_createtable(L, 0, 8);                                        /* mt, freed */
    lua_pushnil(L);
    while (lua_next(L, mt)) {                                        /* mt, freed, key, value */
        if (lua_type(L, -2) == LUA_TSTRING && strcmp(lua_tostring(L, -2), "__gc") == 0) {
            lua_pop(L, 1);
            continue;
        }
        lua_pushvalue(L, -2);
        lua_insert(L, -2);                                           /* ..., key, key, value */
        lua_rawset(L, mt + 1);                                       /* freed[key] = value */
    }
}

/* Adds the callback metatable, the freed one (kept in the state's CFFI_LUA_UV_MT_FREED), and
 * cffi.wrap. The functions that set a metatable on every call hold it as upvalue 2 (a push of an
 * upvalue costs a third of a user value's fetch): wrap the callback metatable; free, close and
 * __close the freed one. The metatables are made by the first opening only. */
void cffi_lua_open_callback(lua_State *L) {
    int state = lua_gettop(L), module = state - 1;                   /* M, state */
    cffi_lua_state *S = lua_touserdata(L, state);
    bool first = luaL_getmetatable(L, CFFI_LUA_CALLBACK) == LUA_TNIL;
    lua_pop(L, 1);
    cffi_lua_newmeta(L, CFFI_LUA_CALLBACK, cb_meta, cb_methods);
    luaL_getmetatable(L, CFFI_LUA_CALLBACK);                         /* M, state, mt */
    if (first) {
        push_freed_meta(L);                                          /* mt, freed */
        lua_pushvalue(L, state);
        lua_pushvalue(L, -2);
        lua_pushcclosure(L, cb_free, 2);                             /* mt, freed, free */
        lua_getfield(L, -3, "__index");                              /* mt, freed, free, methods */
        lua_pushvalue(L, -2);
        lua_setfield(L, -2, "free");
        lua_pushvalue(L, -2);
        lua_setfield(L, -2, "close");
        lua_pop(L, 1);                                               /* mt, freed, free */
        lua_pushvalue(L, -1);
        lua_setfield(L, -4, "__close");
        lua_setfield(L, -2, "__close");                              /* mt, freed */
        S->mt_freed = lua_topointer(L, -1);
        lua_setiuservalue(L, state, CFFI_LUA_UV_MT_FREED);           /* mt */
    }
    lua_pushvalue(L, state);
    lua_insert(L, -2);                                               /* state, mt */
    lua_pushcclosure(L, l_wrap, 2);
    lua_setfield(L, module, "wrap");                                 /* M, state */
}
