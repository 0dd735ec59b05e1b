/*
 * signature.c - the binding's parsed signatures (cffi.sig userdata) and the one place that keeps
 * them: the caches a signature argument goes through, and the pins that keep a signature alive
 * for the live callbacks using it.
 *
 * A signature argument (a string, and an optional convention string) is looked up in three
 * layers, each in front of the next:
 *
 *   1. the fast cache (S->sigfast): direct-mapped, keyed by the addresses of the two Lua strings.
 *      A Lua string's address is stable while it lives, and every string an entry points at is
 *      anchored in CFFI_LUA_UV_SIGANCHOR at that entry's slot, with the cffi.sig: an equal
 *      address always means the same, live, string, and the entry's cffi.sig is alive.
 *   2. the cache table (CFFI_LUA_UV_SIGCACHE): convention string, or false for none ->
 *      { text -> cffi.sig }. Two raw gets of strings Lua already interned, never a key built per
 *      call. Bounded: at CFFI_LUA_CACHE_MAX entries it starts afresh, so that a script making
 *      signature texts without end does not grow memory.
 *   3. the core's intern table (cffi_sig_parse_in): a parse of a text seen before by any state
 *      is a hash lookup, and equal signatures are one object.
 *
 * A cache only saves parsing; it never keeps a signature alive for an object's sake. What uses a
 * cffi_lua_sig holds it one of two ways: a view anchors its cffi.sig userdata in a user value;
 * a live callback takes a use (cffi_lua_sig_hold), which pins the cffi.sig in
 * CFFI_LUA_UV_SIGPIN until the use is dropped and the next cache reset finds it unused. (A use
 * is a plain count, so creating and freeing a callback costs no user value and no table write.)
 * lua_close releases every signature still held here (cffi_lua_sig_release_all), as Lua may
 * finalize the cffi.sig userdata late or, for those made during lua_close, never.
 */
#include "cffi_lua.h"

#include <string.h>

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

/* Push the cache table's key for the convention argument: the string, or false for none. */
static void push_conv_key(lua_State *L, int convidx, bool conv) {
    if (conv) lua_pushvalue(L, convidx); else lua_pushboolean(L, 0);
}

/* Push the cache table for the convention argument (conv false: none), or nil when there is
 * none yet and create is false. Returns the type pushed. */
static int push_cache(lua_State *L, int convidx, bool conv, bool create) {
    lua_getiuservalue(L, cffi_lua_stateidx, CFFI_LUA_UV_SIGCACHE);  /* convs */
    push_conv_key(L, convidx, conv);
    if (lua_rawget(L, -2) != LUA_TTABLE && create) {                 /* convs, cache or nil */
        lua_pop(L, 1);
        lua_newtable(L);                                             /* convs, cache */
        push_conv_key(L, convidx, conv);
        lua_pushvalue(L, -2);
        lua_rawset(L, -4);                                           /* convs[key] = cache */
    }
    lua_remove(L, -2);                                               /* cache or nil */
    return lua_type(L, -1);
}

/* Unpin the signatures no live callback uses any more. */
static void sigpin_sweep(lua_State *L) {
    lua_getiuservalue(L, cffi_lua_stateidx, CFFI_LUA_UV_SIGPIN);     /* pins */
    lua_pushnil(L);
    while (lua_next(L, -2)) {                                        /* pins, key, sig */
        cffi_lua_sig *s = lua_touserdata(L, -1);
        lua_pop(L, 1);                                               /* pins, key */
        if (s->uses) continue;
        s->pinned = false;
        lua_pushvalue(L, -1);
        lua_pushnil(L);
        lua_rawset(L, -4); /* pins[key] = nil: allowed while traversing */
    }
    lua_pop(L, 1);
}

/* Count one more cache entry; at CFFI_LUA_CACHE_MAX, start the cache table afresh and unpin what
 * is unused. Every object using a signature holds it, and the fast cache anchors what it points
 * at, so dropping the cache only costs a parse later. */
static void sigcache_count(lua_State *L, cffi_lua_state *S) {
    if (++S->sigcache_count <= CFFI_LUA_CACHE_MAX) return;
    lua_newtable(L);
    lua_setiuservalue(L, cffi_lua_stateidx, CFFI_LUA_UV_SIGCACHE);
    sigpin_sweep(L);
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
    s->text_len = strlen(cffi_sig_text(sig));
    s->uses = 0;
    s->pinned = false;
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

/* The list's signatures and the cffi.sig userdata's finalizer. */
void cffi_lua_sig_release_all(cffi_lua_state *S) {
    while (S->sigs) sig_release(S, S->sigs);
}

static const luaL_Reg sig_meta[] = {{"__gc", sig_gc}, {NULL, NULL}};

void cffi_lua_open_signature(lua_State *L) { cffi_lua_newmeta(L, CFFI_LUA_SIG, sig_meta, NULL); }

void cffi_lua_sig_pin(lua_State *L, cffi_lua_state *S, const cffi_lua_sig *s, int sigidx,
                      int convidx, const char *fname) {
    int top = lua_gettop(L);
    /* The same strings just gave s: a fast-cache hit that pushes its cffi.sig. (Nothing is
     * pushed before it: an absent convention argument must stay absent.) */
    const cffi_lua_sig *again = cffi_lua_checksig(L, S, sigidx, convidx, fname, true);
    if (again != s) luaL_error(L, "%s: the signature cache lost a signature", fname);
    int sig = lua_gettop(L);
    lua_getiuservalue(L, cffi_lua_stateidx, CFFI_LUA_UV_SIGPIN);     /* sig, pins */
    lua_pushvalue(L, sig);
    lua_rawsetp(L, -2, s);                                           /* pins[s] = sig */
    lua_settop(L, top);
    ((cffi_lua_sig *)s)->pinned = true;
}
