/*
 * module.c - luaopen_cffi: the module state, the signature cache, cffi.sym, cffi.conventions and
 * cffi.type.
 */
#include "cffi_lua.h"

#include <dlfcn.h>
#include <string.h>

/* ---------------------------------------------------------------------------------------------
 * Signatures: parsed once per (text, convention) and kept in the module state's cache table, so
 * a repeated string costs one table lookup and never reaches the parser.
 */
static int sig_gc(lua_State *L) {
    cffi_lua_sig *s = lua_touserdata(L, 1); /* only ever called by the GC, on a cffi.sig */
    cffi_sig_free(s->sig); /* NULL-safe: a parse that failed left it empty */
    s->sig = NULL;
    return 0;
}

/* Message for a failed parse: the core's "col N: ..." with the text, or the status text. */
static const char *sig_message(lua_State *L, cffi_status st, const char *text, const char *err) {
    if (!*err) err = cffi_strerror(st);
    return lua_pushfstring(L, "%s in \"%s\": %s", cffi_strerror(st), text, err);
}

/* The list of accepted convention names, for an error about an unknown one. */
static const char *conv_list(lua_State *L) {
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (size_t i = 0, n = cffi_convention_count(); i < n; i++) {
        const char *canon;
        const char *name = cffi_convention_name(i, &canon);
        if (i) luaL_addstring(&b, ", ");
        luaL_addstring(&b, name);
    }
    luaL_pushresult(&b);
    return lua_tostring(L, -1);
}

/* The fast cache's slot for a pair of string addresses. */
static unsigned sigfast_slot(const char *text, const char *conv) {
    uintptr_t h = (uintptr_t)text ^ ((uintptr_t)conv >> 3);
    return (unsigned)((h >> 4) ^ (h >> 10)) % CFFI_LUA_SIGFAST;
}

/* Remember s for the strings at sigidx and convidx (conv NULL: none), anchoring both strings at
 * the slot so that their addresses cannot be reused by other strings while the entry exists. */
static void sigfast_store(lua_State *L, cffi_lua_state *S, int sigidx, int convidx,
                          const char *text, const char *conv, const cffi_lua_sig *s) {
    unsigned slot = sigfast_slot(text, conv);
    lua_getiuservalue(L, cffi_lua_stateidx, CFFI_LUA_UV_SIGANCHOR); /* anchors */
    lua_pushvalue(L, sigidx);
    lua_rawseti(L, -2, 2 * slot + 1);
    if (conv) lua_pushvalue(L, convidx); else lua_pushnil(L);
    lua_rawseti(L, -2, 2 * slot + 2);
    lua_pop(L, 1);
    S->sigfast[slot] = (cffi_lua_sigfast){text, conv, s};
}

/* The cache tables and the parser: what a string not in the fast cache goes through. Out of
 * line, so the fast path of cffi_lua_checksig carries none of its stack frame. */
static __attribute__((noinline)) const cffi_lua_sig *
checksig_slow(lua_State *L, cffi_lua_state *S, int sigidx, int convidx, const char *text,
              const char *conv, const char *fname) {
    if (!conv) {
        lua_getiuservalue(L, cffi_lua_stateidx, CFFI_LUA_UV_SIGCACHE); /* cache */
    } else {
        lua_getiuservalue(L, cffi_lua_stateidx, CFFI_LUA_UV_CONVCACHE); /* convs */
        lua_pushvalue(L, convidx);
        if (lua_rawget(L, -2) != LUA_TTABLE) {                           /* convs, nil */
            lua_pop(L, 1);
            lua_newtable(L);                                             /* convs, cache */
            lua_pushvalue(L, convidx);
            lua_pushvalue(L, -2);
            lua_rawset(L, -4);                                           /* convs[conv] = cache */
        }
        lua_remove(L, -2);                                               /* cache */
    }
    lua_pushvalue(L, sigidx);                                            /* cache, key */
    lua_pushvalue(L, -1);
    if (lua_rawget(L, -3) == LUA_TUSERDATA) {                            /* cache, key, sig */
        const cffi_lua_sig *s = lua_touserdata(L, -1);
        lua_pop(L, 3); /* the cache keeps s alive */
        sigfast_store(L, S, sigidx, convidx, text, conv, s);
        return s;
    }
    lua_pop(L, 1);                                                       /* cache, key */

    char err[256] = "";
    cffi_sig *sig = NULL;
    cffi_status st = cffi_sig_parse(text, conv, &sig, err, sizeof err);
    switch (st) {
    case CFFI_OK: break;
    case CFFI_ENOMEM: luaL_error(L, "%s: out of memory parsing a signature", fname); break;
    case CFFI_EBADCONV:
        /* The core's message names the accepted conventions; say them if it did not. */
        luaL_argerror(L, convidx,
                      *err ? lua_pushstring(L, err)
                           : lua_pushfstring(L, "unknown calling convention '%s' (accepted here: "
                                                "%s)", conv ? conv : "C", conv_list(L)));
        break;
    case CFFI_ECONVCLASH:
        luaL_argerror(L, convidx, sig_message(L, st, text, err));
        break;
    default: luaL_argerror(L, sigidx, sig_message(L, st, text, err)); break;
    }

    size_t n = cffi_sig_nparams(sig);
    /* The places go after the types, aligned for their 16-bit offsets. */
    size_t places_at = (sizeof(cffi_lua_sig) + n + 1) & ~(size_t)1;
    /* Created empty first so that a memory error here still releases sig through __gc. */
    cffi_lua_sig *s = lua_newuserdatauv(L, places_at + n * sizeof(cffi_lua_place), 0);
    s->sig = NULL;                                                   /* cache, key, sig */
    cffi_lua_setmeta(L, CFFI_LUA_UV_MT_SIG);
    s->sig = sig;
    s->places = (cffi_lua_place *)((unsigned char *)s + places_at);
    s->ret_offset = (uint32_t)cffi_sig_result_offset(sig);
    s->result = (uint8_t)cffi_sig_result(sig);
    s->nparams = (uint8_t)n;
    s->has_cstr_param = false;
    for (size_t i = 0; i < n; i++) {
        bool on_stack;
        size_t offset = cffi_sig_arg_place(sig, i, &on_stack);
        s->params[i] = (uint8_t)cffi_sig_param(sig, i);
        s->places[i] = (cffi_lua_place){(uint16_t)offset, on_stack, s->params[i],
                                         (uint8_t)cffi_sig_arg_width(sig, i)};
        if (s->params[i] == CFFI_T_CSTR) s->has_cstr_param = true;
    }
    lua_rawset(L, -3);                                               /* cache */
    lua_pop(L, 1);
    sigfast_store(L, S, sigidx, convidx, text, conv, s);
    return s;
}

const cffi_lua_sig *cffi_lua_checksig(lua_State *L, cffi_lua_state *S, int sigidx, int convidx,
                                      const char *fname) {
    if (lua_type(L, sigidx) != LUA_TSTRING)
        cffi_lua_argfail(L, sigidx, sigidx, fname, "signature string");
    const char *text = lua_tostring(L, sigidx);
    const char *conv = NULL;
    int convtype = lua_type(L, convidx);
    if (convtype != LUA_TNONE && convtype != LUA_TNIL) {
        if (convtype != LUA_TSTRING) cffi_lua_argfail(L, convidx, convidx, fname, "convention name");
        conv = lua_tostring(L, convidx);
    }
    const cffi_lua_sigfast *fast = &S->sigfast[sigfast_slot(text, conv)];
    if (fast->text == text && fast->conv == conv) return fast->sig;
    return checksig_slow(L, S, sigidx, convidx, text, conv, fname);
}

/* ---------------------------------------------------------------------------------------------
 * The registry-reference pool (see cffi_lua_state).
 */
void cffi_lua_ref_reserve(lua_State *L, cffi_lua_state *S, unsigned more) {
    size_t need = (size_t)S->ref_pooled + S->ref_out + more;
    if (need <= S->ref_cap) return;
    size_t cap = S->ref_cap ? S->ref_cap : 64;
    while (cap < need) cap *= 2;
    if (cap > INT32_MAX / sizeof(int)) luaL_error(L, "cffi: too many live callbacks");
    int *pool = lua_newuserdatauv(L, cap * sizeof(int), 0);
    if (S->ref_pooled) memcpy(pool, S->ref_pool, S->ref_pooled * sizeof(int));
    lua_setiuservalue(L, cffi_lua_stateidx, CFFI_LUA_UV_REFPOOL); /* the old array is garbage */
    S->ref_pool = pool;
    S->ref_cap = (unsigned)cap;
}

int cffi_lua_ref(lua_State *L, cffi_lua_state *S) {
    int ref;
    if (S->ref_pooled) {
        ref = S->ref_pool[--S->ref_pooled];
        lua_rawseti(L, LUA_REGISTRYINDEX, ref); /* an existing slot: no allocation */
    } else {
        ref = luaL_ref(L, LUA_REGISTRYINDEX);
    }
    S->ref_out++;
    return ref;
}

void cffi_lua_unref_slot(lua_State *L, cffi_lua_state *S, int ref) {
    if (S->ref_out) S->ref_out--;
    /* ref_reserve keeps room, except when a finalizer run by the collector inside one wrap's
     * allocations wrapped callbacks of its own: then the reference goes back to Lua. */
    if (S->ref_pooled == S->ref_cap) {
        luaL_unref(L, LUA_REGISTRYINDEX, ref);
        return;
    }
    lua_pushboolean(L, 0); /* false, not nil: a nil would let luaL_ref's length count hand the
                              slot out again while it sits in the pool */
    lua_rawseti(L, LUA_REGISTRYINDEX, ref);
    S->ref_pool[S->ref_pooled++] = ref;
}

/* ---------------------------------------------------------------------------------------------
 * Functions that belong to no userdata.
 */
static int l_sym(lua_State *L) {
    return cffi_lua_pushsym(L, RTLD_DEFAULT, luaL_checkstring(L, 1));
}

static int l_conventions(lua_State *L) {
    size_t n = cffi_convention_count();
    lua_createtable(L, 0, (int)n);
    for (size_t i = 0; i < n; i++) {
        const char *canon = NULL;
        const char *name = cffi_convention_name(i, &canon);
        if (!name) continue;
        lua_pushstring(L, canon ? canon : name);
        lua_setfield(L, -2, name);
    }
    return 1;
}

int cffi_lua_kind(lua_State *L, const cffi_lua_state *S, int idx) {
    if (lua_type(L, idx) != LUA_TUSERDATA || !lua_getmetatable(L, idx)) return CFFI_LUA_NONE;
    const void *mt = lua_topointer(L, -1);
    lua_pop(L, 1); /* the metatable */
    if (mt == S->mt_callback || mt == S->mt_freed) return CFFI_LUA_IS_CALLBACK;
    if (mt == S->mt_function) return CFFI_LUA_IS_FUNCTION;
    if (mt == S->mt_buffer) return CFFI_LUA_IS_BUFFER;
    return CFFI_LUA_NONE;
}

void *cffi_lua_checkself(lua_State *L, int idx, const void *mt, const char *tname) {
    if (lua_type(L, idx) == LUA_TUSERDATA && lua_getmetatable(L, idx)) {
        const void *got = lua_topointer(L, -1);
        lua_pop(L, 1); /* the metatable */
        if (got == mt) return lua_touserdata(L, idx);
    }
    luaL_typeerror(L, idx, tname);
    return NULL;
}

void cffi_lua_setmeta(lua_State *L, int uv) {
    lua_getiuservalue(L, cffi_lua_stateidx, uv);
    lua_setmetatable(L, -2);
}

/* Declared in callback.c: whether a callback userdata has been released. */
bool cffi_lua_callback_freed(lua_State *L, int idx);

static int l_type(lua_State *L) {
    luaL_checkany(L, 1);
    switch (cffi_lua_kind(L, cffi_lua_getstate(L), 1)) {
    case CFFI_LUA_IS_CALLBACK:
        lua_pushstring(L, cffi_lua_callback_freed(L, 1) ? "freed callback" : "callback");
        return 1;
    case CFFI_LUA_IS_FUNCTION: lua_pushliteral(L, "function"); return 1;
    case CFFI_LUA_IS_BUFFER: lua_pushliteral(L, "buffer"); return 1;
    default: break;
    }
    if (luaL_testudata(L, 1, CFFI_LUA_LIBRARY)) {
        lua_pushliteral(L, "library");
        return 1;
    }
    luaL_pushfail(L);
    return 1;
}

void cffi_lua_setfuncs(lua_State *L, const luaL_Reg *funcs) {
    lua_pushvalue(L, -2);        /* M, state, M */
    lua_pushvalue(L, -2);        /* M, state, M, state */
    luaL_setfuncs(L, funcs, 1);  /* M, state, M */
    lua_pop(L, 1);               /* M, state */
}

void cffi_lua_newmeta(lua_State *L, const char *name, const luaL_Reg *meta,
                      const luaL_Reg *methods) {
    int state = lua_gettop(L);
    luaL_newmetatable(L, name); /* state, mt (reused if the module is opened twice) */
    lua_pushvalue(L, state);
    luaL_setfuncs(L, meta, 1);  /* metamethods, each with the state upvalue */
    if (methods) {
        lua_createtable(L, 0, 8);  /* state, mt, methods */
        lua_pushvalue(L, state);
        luaL_setfuncs(L, methods, 1);
        lua_setfield(L, -2, "__index"); /* state, mt */
    }
    lua_pop(L, 1); /* state */
}

static const luaL_Reg module_funcs[] = {
    {"sym", l_sym},
    {"conventions", l_conventions},
    {"type", l_type},
    {NULL, NULL},
};

static const luaL_Reg sig_meta[] = {{"__gc", sig_gc}, {NULL, NULL}};

/* Keep the metatable called name in the state's uservalue slot uv; return its identity (valid
 * as long as the state userdata, which holds it, lives). */
static const void *meta_keep(lua_State *L, const char *name, int uv) {
    luaL_getmetatable(L, name);
    const void *p = lua_topointer(L, -1);
    lua_setiuservalue(L, -2, uv);
    return p;
}

/* The metatable a callback gets when it is released explicitly: the callback's, without __gc.
 * The collector then has no finalizer to call for it (Lua ignores a missing __gc), which is most
 * of what a short-lived callback costs. Kept in the state's uservalue slot; returns its identity. */
static const void *freed_meta(lua_State *L) {
    lua_createtable(L, 0, 8);                                        /* state, freed */
    luaL_getmetatable(L, CFFI_LUA_CALLBACK);                         /* state, freed, mt */
    lua_pushnil(L);
    while (lua_next(L, -2)) {                                        /* ..., mt, key, value */
        if (lua_type(L, -2) == LUA_TSTRING && strcmp(lua_tostring(L, -2), "__gc") == 0) {
            lua_pop(L, 1);
            continue;
        }
        lua_pushvalue(L, -2);
        lua_insert(L, -2);                                           /* ..., mt, key, key, value */
        lua_rawset(L, -5);                                           /* freed[key] = value */
    }
    lua_pop(L, 1);                                                   /* state, freed */
    const void *p = lua_topointer(L, -1);
    lua_setiuservalue(L, -2, CFFI_LUA_UV_MT_FREED);                  /* state */
    return p;
}

CFFI_API int luaopen_cffi(lua_State *L) {
    luaL_checkversion(L);
    lua_newtable(L);                                                     /* M */
    cffi_lua_state *S = lua_newuserdatauv(L, sizeof *S, CFFI_LUA_UV_COUNT); /* M, state */
    memset(S, 0, sizeof *S);
    lua_newtable(L);
    lua_setiuservalue(L, -2, CFFI_LUA_UV_SIGCACHE);
    lua_newtable(L);
    lua_setiuservalue(L, -2, CFFI_LUA_UV_TYPECACHE);
    lua_newtable(L);
    lua_setiuservalue(L, -2, CFFI_LUA_UV_CONVCACHE);
    lua_createtable(L, 2 * CFFI_LUA_SIGFAST, 0);
    lua_setiuservalue(L, -2, CFFI_LUA_UV_SIGANCHOR);
    lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_MAINTHREAD);              /* M, state, main */
    S->main = lua_tothread(L, -1);
    lua_pop(L, 1);                                                       /* M, state */

    cffi_lua_newmeta(L, CFFI_LUA_SIG, sig_meta, NULL);
    meta_keep(L, CFFI_LUA_SIG, CFFI_LUA_UV_MT_SIG); /* before any signature is parsed */
    cffi_lua_open_callback(L);
    cffi_lua_open_function(L);
    cffi_lua_open_buffer(L);
    cffi_lua_open_library(L);
    cffi_lua_open_memory(L);
    S->mt_callback = meta_keep(L, CFFI_LUA_CALLBACK, CFFI_LUA_UV_MT_CALLBACK);
    S->mt_freed = freed_meta(L);
    S->mt_function = meta_keep(L, CFFI_LUA_FUNCTION, CFFI_LUA_UV_MT_FUNCTION);
    S->mt_buffer = meta_keep(L, CFFI_LUA_BUFFER, CFFI_LUA_UV_MT_BUFFER);

    luaL_setfuncs(L, module_funcs, 1);                                   /* M (state popped) */
    lua_pushliteral(L, "0.1.0");
    lua_setfield(L, -2, "_VERSION");
    return 1;
}
