/*
 * module.c - luaopen_cffi: the module state, the registry-reference pool, cffi.sym,
 * cffi.conventions and cffi.type. (The signature caches are signature.c's.)
 */
#include "cffi_lua.h"
#include "os/os.h"

#include <string.h>

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

/* ---------------------------------------------------------------------------------------------
 * The registry-reference pool (see cffi_lua_state).
 */
/* cffi_lua_ref_reserve's slow path: a pool array for need references. */
void cffi_lua_ref_grow(lua_State *L, cffi_lua_state *S, size_t need) {
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

/* Keep the metatable called name in the state's uservalue slot uv; return its identity (valid
 * as long as the state userdata, which holds it, lives). */
static const void *meta_keep(lua_State *L, const char *name, int uv) {
    luaL_getmetatable(L, name);
    const void *p = lua_topointer(L, -1);
    lua_setiuservalue(L, -2, uv);
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
    cffi_lua_sig_release_all(S);
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
    lua_setiuservalue(L, -2, CFFI_LUA_UV_SIGPIN);
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
    cffi_lua_open_signature(L);
    meta_keep(L, CFFI_LUA_SIG, CFFI_LUA_UV_MT_SIG); /* before any signature is parsed */
    cffi_lua_open_callback(L);
    cffi_lua_open_function(L);
    cffi_lua_open_buffer(L);
    cffi_lua_open_library(L);
    cffi_lua_open_memory(L);
    cffi_lua_open_aggregate(L);
    S->mt_callback = meta_keep(L, CFFI_LUA_CALLBACK, CFFI_LUA_UV_MT_CALLBACK);
    S->mt_function = meta_keep(L, CFFI_LUA_FUNCTION, CFFI_LUA_UV_MT_FUNCTION);
    S->mt_buffer = meta_keep(L, CFFI_LUA_BUFFER, CFFI_LUA_UV_MT_BUFFER);

    luaL_setfuncs(L, module_funcs, 1);                                   /* M (state popped) */
    lua_pushliteral(L, "0.1.0");
    lua_setfield(L, -2, "_VERSION");
    return 1;
}
