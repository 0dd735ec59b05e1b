/*
 * module.c - luaopen_cffi: the module state, the signature cache, cffi.sym, cffi.conventions and
 * cffi.type.
 */
#include "cffi_lua.h"
#include "os/os.h"

#include <string.h>

/* ---------------------------------------------------------------------------------------------
 * Signatures: parsed once per (text, convention) and kept in the module state's cache table, so
 * a repeated string costs one table lookup and never reaches the parser.
 */
/* Drop a cffi.sig's signature and take it off the state's list. */
static void sig_release(cffi_lua_state *S, cffi_lua_sig *s) {
    if (!s->sig) return; /* a parse that failed, or released before */
    if (s->prev) s->prev->next = s->next; else S->sigs = s->next;
    if (s->next) s->next->prev = s->prev;
    s->prev = s->next = NULL;
    cffi_sig_free(s->sig);
    s->sig = NULL;
}

static int sig_gc(lua_State *L) {
    /* Only ever called by the GC, on a cffi.sig; its upvalue is the module state. */
    sig_release(cffi_lua_getstate(L), lua_touserdata(L, 1));
    return 0;
}

/* Keep s (holding a signature now) on the state's list. */
static void sig_track(cffi_lua_state *S, cffi_lua_sig *s) {
    s->prev = NULL;
    s->next = S->sigs;
    if (S->sigs) S->sigs->prev = s;
    S->sigs = s;
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

const char *cffi_lua_checktext(lua_State *L, int idx, const char *what) {
    if (lua_type(L, idx) != LUA_TSTRING) return NULL;
    size_t len;
    const char *text = lua_tolstring(L, idx, &len);
    size_t at = strlen(text);
    if (at != len)
        luaL_argerror(L, idx, lua_pushfstring(L, "%s \"%s\\0...\": col %d: NUL byte inside the "
                                                 "text (a %s ends where its string ends)",
                                              what, text, (int)at + 1, what));
    return text;
}

/* The fast cache's slot for a pair of string addresses. */
static unsigned sigfast_slot(const char *text, const char *conv) {
    uintptr_t h = (uintptr_t)text ^ ((uintptr_t)conv >> 3);
    return (unsigned)((h >> 4) ^ (h >> 10)) % CFFI_LUA_SIGFAST;
}

/* Remember s (the cffi.sig userdata at sigud) for the strings at sigidx and convidx (conv NULL:
 * none), anchoring both strings and s at the slot: the addresses cannot be reused by other
 * strings, nor s collected, while the entry exists. */
static void sigfast_store(lua_State *L, cffi_lua_state *S, int sigidx, int convidx, int sigud,
                          const char *text, const char *conv, const cffi_lua_sig *s) {
    unsigned slot = sigfast_slot(text, conv);
    lua_getiuservalue(L, cffi_lua_stateidx, CFFI_LUA_UV_SIGANCHOR); /* anchors */
    lua_pushvalue(L, sigidx);
    lua_rawseti(L, -2, 3 * slot + 1);
    if (conv) lua_pushvalue(L, convidx); else lua_pushnil(L);
    lua_rawseti(L, -2, 3 * slot + 2);
    lua_pushvalue(L, sigud);
    lua_rawseti(L, -2, 3 * slot + 3);
    lua_pop(L, 1);
    S->sigfast[slot] = (cffi_lua_sigfast){text, conv, s};
}

/* Push the cache table for the convention argument (conv false: none), or nil when there is
 * none yet and create is false. Returns the type pushed. */
static int push_cache(lua_State *L, int convidx, bool conv, bool create) {
    if (!conv) return lua_getiuservalue(L, cffi_lua_stateidx, CFFI_LUA_UV_SIGCACHE);
    lua_getiuservalue(L, cffi_lua_stateidx, CFFI_LUA_UV_CONVCACHE); /* convs */
    lua_pushvalue(L, convidx);
    if (lua_rawget(L, -2) != LUA_TTABLE && create) {                 /* convs, cache or nil */
        lua_pop(L, 1);
        lua_newtable(L);                                             /* convs, cache */
        lua_pushvalue(L, convidx);
        lua_pushvalue(L, -2);
        lua_rawset(L, -4);                                           /* convs[conv] = cache */
    }
    lua_remove(L, -2);                                               /* cache or nil */
    return lua_type(L, -1);
}

/* Count one more cache entry; at CFFI_LUA_CACHE_MAX, start both signature caches afresh. Every
 * object using a signature anchors it, and the fast cache anchors what it points at, so
 * dropping the caches only costs a parse later. */
static void sigcache_count(lua_State *L, cffi_lua_state *S) {
    if (++S->sigcache_count <= CFFI_LUA_CACHE_MAX) return;
    lua_newtable(L);
    lua_setiuservalue(L, cffi_lua_stateidx, CFFI_LUA_UV_SIGCACHE);
    lua_newtable(L);
    lua_setiuservalue(L, cffi_lua_stateidx, CFFI_LUA_UV_CONVCACHE);
    S->sigcache_count = 1;
}

/* The cache tables and the parser: what a string not in the fast cache goes through. Out of
 * line, so the fast path of cffi_lua_checksig carries none of its stack frame. */
/* What the binding keeps of a parsed signature: types, places and the paths its calls take. */
static void sig_describe(cffi_lua_sig *s, cffi_sig *sig, size_t n) {
    s->ret_offset = (uint32_t)cffi_sig_result_offset(sig);
    s->result = (uint8_t)cffi_sig_result(sig);
    s->nparams = (uint8_t)n;
    s->has_cstr_param = false;
    /* long double is wider than a slot: it takes the generic paths as aggregates do. */
    s->has_agg = s->result == CFFI_T_AGG || s->result == CFFI_T_LDOUBLE;
    s->variadic = cffi_sig_variadic(sig);
    for (size_t i = 0; i < n; i++) {
        bool on_stack;
        size_t offset = cffi_sig_arg_place(sig, i, &on_stack);
        s->params[i] = (uint8_t)cffi_sig_param(sig, i);
        s->places[i] = (cffi_lua_place){(uint16_t)offset, on_stack, s->params[i],
                                         (uint8_t)cffi_sig_arg_width(sig, i)};
        if (s->params[i] == CFFI_T_CSTR) s->has_cstr_param = true;
        if (s->params[i] == CFFI_T_AGG || s->params[i] == CFFI_T_LDOUBLE) s->has_agg = true;
    }
    s->generic = s->has_agg || s->variadic;
}

static __attribute__((noinline)) const cffi_lua_sig *
checksig_slow(lua_State *L, cffi_lua_state *S, int sigidx, int convidx, const char *text,
              const char *conv, const char *fname, bool push) {
    /* Only here: a string in the fast cache passed these checks before. */
    cffi_lua_checktext(L, sigidx, "signature");
    if (conv) cffi_lua_checktext(L, convidx, "calling convention");
    int top = lua_gettop(L);
    if (push_cache(L, convidx, conv != NULL, false) == LUA_TTABLE) { /* cache */
        lua_pushvalue(L, sigidx);
        if (lua_rawget(L, -2) == LUA_TUSERDATA) {                    /* cache, sig */
            const cffi_lua_sig *s = lua_touserdata(L, -1);
            lua_remove(L, -2);                                       /* sig */
            sigfast_store(L, S, sigidx, convidx, top + 1, text, conv, s);
            if (!push) lua_pop(L, 1);
            return s;
        }
    }
    lua_settop(L, top);

    /* Nothing made now would be finalized: the state is being closed. */
    if (S->closing) luaL_error(L, "%s: the Lua state is closing", fname);
    /* A holder for the parsed signature first, so that whatever raises below (an error message,
     * out of memory) releases it through the holder's __gc. */
    cffi_lua_sig *holder = lua_newuserdatauv(L, sizeof(cffi_lua_sig), 0); /* holder */
    holder->sig = NULL;
    cffi_lua_setmeta(L, CFFI_LUA_UV_MT_SIG);
    char err[256] = "";
    cffi_status st = cffi_sig_parse_in(S->scope, text, conv, &holder->sig, err, sizeof err);
    if (holder->sig) sig_track(S, holder);
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

    cffi_sig *sig = holder->sig;
    size_t n = cffi_sig_nparams(sig);
    /* The places go after the types, aligned for their 16-bit offsets. */
    size_t places_at = (sizeof(cffi_lua_sig) + n + 1) & ~(size_t)1;
    cffi_lua_sig *s = lua_newuserdatauv(L, places_at + n * sizeof(cffi_lua_place), 0);
    s->sig = NULL;                                                   /* holder, sig */
    cffi_lua_setmeta(L, CFFI_LUA_UV_MT_SIG);
    cffi_sig_ref(sig);
    s->sig = sig;
    sig_track(S, s);
    sig_release(S, holder); /* s holds a reference of its own now */
    s->places = (cffi_lua_place *)((unsigned char *)s + places_at);
    sig_describe(s, sig, n);
    lua_remove(L, top + 1);                                          /* sig */
    sigcache_count(L, S);
    push_cache(L, convidx, conv != NULL, true);                      /* sig, cache */
    lua_pushvalue(L, sigidx);
    lua_pushvalue(L, top + 1);
    lua_rawset(L, -3);                                               /* cache[text] = sig */
    lua_pop(L, 1);                                                   /* sig */
    sigfast_store(L, S, sigidx, convidx, top + 1, text, conv, s);
    if (!push) lua_pop(L, 1);
    return s;
}

const cffi_lua_sig *cffi_lua_checksig(lua_State *L, cffi_lua_state *S, int sigidx, int convidx,
                                      const char *fname, bool push) {
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
    const cffi_lua_sig *s;
    if (fast->text == text && fast->conv == conv) {
        if (push) { /* the userdata the entry anchors, above the anchors (not popped: cheaper) */
            lua_getiuservalue(L, cffi_lua_stateidx, CFFI_LUA_UV_SIGANCHOR);
            lua_rawgeti(L, -1, 3 * (lua_Integer)sigfast_slot(text, conv) + 3);
        }
        s = fast->sig;
    } else {
        s = checksig_slow(L, S, sigidx, convidx, text, conv, fname, push);
    }
    /* An object about to keep s: not once lua_close has released the signatures (state_gc). */
    if (push && !s->sig) luaL_error(L, "%s: the Lua state is closing", fname);
    return s;
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
    luaL_checkstring(L, 1);
    return cffi_lua_pushsym(L, CFFI_OS_PROCESS, cffi_lua_checktext(L, 1, "symbol name"));
}

/* __index of the cffi.conventions() table: convention names are case-insensitive, so is the
 * table (its keys are the lower-case spellings). */
static int conventions_index(lua_State *L) {
    size_t len;
    const char *key = lua_type(L, 2) == LUA_TSTRING ? lua_tolstring(L, 2, &len) : NULL;
    char lower[64];
    if (!key || len >= sizeof lower) return 0; /* nil: longer than any name */
    for (size_t i = 0; i <= len; i++)
        lower[i] = (char)(key[i] >= 'A' && key[i] <= 'Z' ? key[i] - 'A' + 'a' : key[i]);
    lua_pushlstring(L, lower, len);
    lua_rawget(L, 1);
    return 1;
}

static int l_conventions(lua_State *L) {
    size_t n = cffi_convention_count();
    lua_createtable(L, 0, (int)n);
    lua_createtable(L, 0, 1);
    lua_pushcfunction(L, conventions_index);
    lua_setfield(L, -2, "__index");
    lua_setmetatable(L, -2);
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
    if (!luaL_newmetatable(L, name)) { /* state, mt: made by the first opening; keep it */
        lua_pop(L, 1);
        return;
    }
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
    if (lua_getiuservalue(L, -1, CFFI_LUA_UV_MT_FREED) == LUA_TTABLE) { /* state, freed */
        const void *p = lua_topointer(L, -1);
        lua_pop(L, 1);
        return p;
    }
    lua_pop(L, 1);
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

/* The registry key of the module state: one per lua_State, whatever the number of openings. */
static const char state_key = 0;

/* __gc of the module state. It is anchored in the registry, so this runs only in lua_close, and
 * after the finalizers of every callback (they are younger, and Lua finalizes the youngest
 * first). Callbacks made by finalizers during lua_close get no finalizer from Lua: they are
 * released here, and none is made after. */
static int state_gc(lua_State *L) {
    cffi_lua_state *S = lua_touserdata(L, 1);
    S->closing = true;
    cffi_lua_release_all(L, S);
    /* Signatures too: those parsed during lua_close have no finalizer, and those that do may
     * come later. A view called after this says the state is closing. */
    while (S->sigs) sig_release(S, S->sigs);
    cffi_scope_free(S->scope); /* the layouts it named stay valid */
    S->scope = NULL;
    return 0;
}

/* Create the module state, keep it in the registry, leave it on the stack. */
static cffi_lua_state *state_new(lua_State *L) {
    cffi_lua_state *S = lua_newuserdatauv(L, sizeof *S, CFFI_LUA_UV_COUNT); /* state */
    memset(S, 0, sizeof *S);
    lua_newtable(L);
    lua_setiuservalue(L, -2, CFFI_LUA_UV_SIGCACHE);
    lua_newtable(L);
    lua_setiuservalue(L, -2, CFFI_LUA_UV_TYPECACHE);
    lua_newtable(L);
    lua_setiuservalue(L, -2, CFFI_LUA_UV_CONVCACHE);
    lua_createtable(L, 3 * CFFI_LUA_SIGFAST, 0);
    lua_setiuservalue(L, -2, CFFI_LUA_UV_SIGANCHOR);
    S->errthread = lua_newthread(L);
    lua_setiuservalue(L, -2, CFFI_LUA_UV_ERRTHREAD);
    lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_MAINTHREAD);              /* state, main */
    S->main = lua_tothread(L, -1);
    lua_pop(L, 1);                                                       /* state */
    lua_createtable(L, 0, 1);
    lua_pushcfunction(L, state_gc);
    lua_setfield(L, -2, "__gc");
    lua_setmetatable(L, -2);
    lua_pushvalue(L, -1);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &state_key);
    if (cffi_scope_new(&S->scope) != CFFI_OK) luaL_error(L, "cffi: out of memory");
    return S;
}

CFFI_API int luaopen_cffi(lua_State *L) {
    luaL_checkversion(L);
    /* lua_close unloads C modules (FreeLibrary, dlclose), but the addresses of callbacks freed by
     * it must go on reaching the trap in this module: pinned for the life of the process (ELF
     * builds are linked -z nodelete, which does the same). */
    (void)cffi_os_pin_module((const void *)luaopen_cffi);
    lua_newtable(L);                                                     /* M */
    cffi_lua_state *S;
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &state_key) == LUA_TUSERDATA) { /* M, state */
        S = lua_touserdata(L, -1);
        if (S->closing) return luaL_error(L, "cffi: the Lua state is closing");
    } else {
        lua_pop(L, 1);
        S = state_new(L);                                                /* M, state */
    }

    /* Each part adds its functions to M, bound to the state; the metatables are made by the
     * first opening only, so what was made before keeps its identity. */
    cffi_lua_newmeta(L, CFFI_LUA_SIG, sig_meta, NULL);
    meta_keep(L, CFFI_LUA_SIG, CFFI_LUA_UV_MT_SIG); /* before any signature is parsed */
    cffi_lua_open_callback(L);
    cffi_lua_open_function(L);
    cffi_lua_open_buffer(L);
    cffi_lua_open_library(L);
    cffi_lua_open_memory(L);
    cffi_lua_open_aggregate(L);
    S->mt_callback = meta_keep(L, CFFI_LUA_CALLBACK, CFFI_LUA_UV_MT_CALLBACK);
    S->mt_freed = freed_meta(L);
    S->mt_function = meta_keep(L, CFFI_LUA_FUNCTION, CFFI_LUA_UV_MT_FUNCTION);
    S->mt_buffer = meta_keep(L, CFFI_LUA_BUFFER, CFFI_LUA_UV_MT_BUFFER);

    luaL_setfuncs(L, module_funcs, 1);                                   /* M (state popped) */
    lua_pushliteral(L, "0.1.0");
    lua_setfield(L, -2, "_VERSION");
    return 1;
}
