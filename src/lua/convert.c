/*
 * convert.c - Lua <-> native value conversions, shared by callbacks (arguments in, result out),
 * outgoing calls (arguments out, result in) and cffi.read/cffi.write.
 *
 * The rules are PRODUCT.md's: integer types take an integer or a float with an exact integer
 * value, reduced modulo 2^N like a C cast; bool takes a boolean; float and double take a number;
 * pointers take an integer, a light userdata, nil, one of our userdata, and (for const char * and
 * const void *) a Lua string. Nothing here coerces strings to numbers or numbers to strings.
 */
#include "cffi_lua.h"

#include <math.h>
#include <string.h>

const char *cffi_lua_typename(cffi_type t) {
    switch (t) {
    case CFFI_T_VOID: return "void";
    case CFFI_T_BOOL: return "bool";
    case CFFI_T_INT8: return "int8_t";
    case CFFI_T_UINT8: return "uint8_t";
    case CFFI_T_INT16: return "int16_t";
    case CFFI_T_UINT16: return "uint16_t";
    case CFFI_T_INT32: return "int32_t";
    case CFFI_T_UINT32: return "uint32_t";
    case CFFI_T_INT64: return "int64_t";
    case CFFI_T_UINT64: return "uint64_t";
    case CFFI_T_FLOAT: return "float";
    case CFFI_T_DOUBLE: return "double";
    case CFFI_T_PTR: return "pointer";
    case CFFI_T_CSTR: return "string or pointer";
    case CFFI_T_CPTR: return "string or pointer";
    case CFFI_T_COUNT: break;
    }
    return "?";
}

/* An integer-valued Lua number as the low 64 bits of its two's complement value: what a C cast
 * from an unbounded integer would keep. */
static bool to_bits64(lua_State *L, int idx, uint64_t *out) {
    if (lua_type(L, idx) != LUA_TNUMBER) return false;
    int isint;
    lua_Integer i = lua_tointegerx(L, idx, &isint);
    if (isint) { /* integers, and floats with an integer value that fits in 64 signed bits */
        *out = (uint64_t)i;
        return true;
    }
    double d = lua_tonumber(L, idx);
    if (!isfinite(d) || d != floor(d)) return false;
    double r = fmod(d, 0x1p64); /* exact; |r| < 2^64 with d's sign */
    *out = r >= 0 ? (uint64_t)r : (uint64_t)0 - (uint64_t)(-r);
    return true;
}

/* Our pointer-like userdata at idx -> address. Returns false if the value is none of them. */
static bool userdata_addr(lua_State *L, const cffi_lua_state *S, int idx, void **out) {
    switch (cffi_lua_kind(L, S, idx)) {
    case CFFI_LUA_IS_CALLBACK: {
        void *code = cffi_lua_callback_code(lua_touserdata(L, idx));
        if (!code) return false; /* a freed callback is no pointer any more */
        *out = code;
        return true;
    }
    case CFFI_LUA_IS_FUNCTION:
        *out = ((cffi_lua_function *)lua_touserdata(L, idx))->addr;
        return true;
    case CFFI_LUA_IS_BUFFER:
        *out = ((cffi_lua_buffer *)lua_touserdata(L, idx))->data;
        return true;
    default: return false;
    }
}

const char *cffi_lua_tonative(lua_State *L, const cffi_lua_state *S, int idx, cffi_type t,
                              void *out, bool allow_string) {
    uint64_t bits;
    switch (t) {
    case CFFI_T_BOOL:
        if (lua_type(L, idx) != LUA_TBOOLEAN) return "bool";
        *(_Bool *)out = lua_toboolean(L, idx);
        return NULL;
    case CFFI_T_FLOAT:
        if (lua_type(L, idx) != LUA_TNUMBER) return "float";
        *(float *)out = (float)lua_tonumber(L, idx); /* IEEE narrowing: overflow gives inf */
        return NULL;
    case CFFI_T_DOUBLE:
        if (lua_type(L, idx) != LUA_TNUMBER) return "double";
        *(double *)out = (double)lua_tonumber(L, idx);
        return NULL;
    case CFFI_T_PTR:
    case CFFI_T_CSTR:
    case CFFI_T_CPTR: {
        void *p;
        switch (lua_type(L, idx)) {
        case LUA_TNIL: p = NULL; break;
        case LUA_TLIGHTUSERDATA: p = lua_touserdata(L, idx); break;
        case LUA_TNUMBER:
            if (!to_bits64(L, idx, &bits)) return cffi_lua_typename(t);
            p = (void *)(uintptr_t)bits;
            break;
        case LUA_TSTRING:
            if (t == CFFI_T_PTR || !allow_string) return "pointer";
            p = (void *)lua_tostring(L, idx);
            break;
        case LUA_TUSERDATA:
            if (!userdata_addr(L, S, idx, &p)) return cffi_lua_typename(t);
            break;
        default: return cffi_lua_typename(t);
        }
        memcpy(out, &p, sizeof p);
        return NULL;
    }
    default: break;
    }
    /* Integer types: reduce like a C cast (GCC and Clang define narrowing as modulo 2^N). */
    if (!to_bits64(L, idx, &bits)) return cffi_lua_typename(t);
    switch (t) {
    case CFFI_T_INT8: *(int8_t *)out = (int8_t)bits; break;
    case CFFI_T_UINT8: *(uint8_t *)out = (uint8_t)bits; break;
    case CFFI_T_INT16: *(int16_t *)out = (int16_t)bits; break;
    case CFFI_T_UINT16: *(uint16_t *)out = (uint16_t)bits; break;
    case CFFI_T_INT32: *(int32_t *)out = (int32_t)bits; break;
    case CFFI_T_UINT32: *(uint32_t *)out = (uint32_t)bits; break;
    case CFFI_T_INT64: *(int64_t *)out = (int64_t)bits; break;
    case CFFI_T_UINT64: *(uint64_t *)out = bits; break;
    default: return "scalar type";
    }
    return NULL;
}

void cffi_lua_push(lua_State *L, cffi_type t, const void *in) {
    switch (t) {
    case CFFI_T_VOID: lua_pushnil(L); return;
    case CFFI_T_BOOL: lua_pushboolean(L, *(const uint8_t *)in != 0); return; /* any byte */
    case CFFI_T_INT8: lua_pushinteger(L, *(const int8_t *)in); return;
    case CFFI_T_UINT8: lua_pushinteger(L, *(const uint8_t *)in); return;
    case CFFI_T_INT16: lua_pushinteger(L, *(const int16_t *)in); return;
    case CFFI_T_UINT16: lua_pushinteger(L, *(const uint16_t *)in); return;
    case CFFI_T_INT32: lua_pushinteger(L, *(const int32_t *)in); return;
    case CFFI_T_UINT32: lua_pushinteger(L, *(const uint32_t *)in); return;
    case CFFI_T_INT64: lua_pushinteger(L, *(const int64_t *)in); return;
    /* Above 2^63-1 wraps to a negative integer, as string.unpack("J") does. */
    case CFFI_T_UINT64: lua_pushinteger(L, (lua_Integer)*(const uint64_t *)in); return;
    case CFFI_T_FLOAT: lua_pushnumber(L, *(const float *)in); return;
    case CFFI_T_DOUBLE: lua_pushnumber(L, *(const double *)in); return;
    case CFFI_T_CSTR: {
        const char *s;
        memcpy(&s, in, sizeof s);
        if (s) lua_pushstring(L, s); else lua_pushnil(L);
        return;
    }
    case CFFI_T_PTR:
    case CFFI_T_CPTR:
    case CFFI_T_COUNT: break;
    }
    void *p;
    memcpy(&p, in, sizeof p);
    lua_pushinteger(L, (lua_Integer)(uintptr_t)p);
}

/* What the value at idx is, for "got X" in messages. */
static const char *got_name(lua_State *L, int idx) {
    if (luaL_getmetafield(L, idx, "__name") == LUA_TSTRING) return lua_tostring(L, -1);
    if (lua_type(L, idx) == LUA_TLIGHTUSERDATA) return "light userdata";
    if (lua_type(L, idx) == LUA_TNUMBER && !lua_isinteger(L, idx)) {
        double d = lua_tonumber(L, idx);
        if (!isfinite(d) || d != floor(d)) return "non-integer number";
    }
    return luaL_typename(L, idx);
}

int cffi_lua_argfail(lua_State *L, int idx, int shown, const char *fname, const char *expect) {
    const char *got = got_name(L, idx);
    return luaL_error(L, "bad argument #%d to '%s' (%s expected, got %s)", shown, fname, expect,
                      got);
}

void *cffi_lua_checkaddr(lua_State *L, int idx, bool nil_ok, size_t *limit) {
    const cffi_lua_state *S = cffi_lua_getstate(L);
    *limit = SIZE_MAX;
    if (cffi_lua_kind(L, S, idx) == CFFI_LUA_IS_BUFFER) {
        cffi_lua_buffer *b = lua_touserdata(L, idx);
        *limit = b->size;
        return b->data;
    }
    void *p;
    if (lua_isnoneornil(L, idx) && !nil_ok) luaL_argerror(L, idx, "pointer expected, got nil");
    if (cffi_lua_tonative(L, S, idx, CFFI_T_PTR, &p, false)) {
        lua_Debug ar;
        const char *fname = "?";
        if (lua_getstack(L, 0, &ar) && lua_getinfo(L, "n", &ar) && ar.name) fname = ar.name;
        if (cffi_lua_kind(L, S, idx) == CFFI_LUA_IS_CALLBACK) /* only a freed one fails */
            luaL_error(L, "bad argument #%d to '%s' (pointer expected, got a freed %s)", idx,
                       fname, CFFI_LUA_CALLBACK);
        /* argfail raises; returning here tells the compiler p is never read unset */
        cffi_lua_argfail(L, idx, idx, fname, "pointer");
        return NULL;
    }
    return p;
}

int cffi_lua_callnative(lua_State *L, const cffi_lua_sig *s, void *fn, int first, int shown_first,
                        const char *fname) {
    const cffi_lua_state *S = cffi_lua_getstate(L);
    int given = lua_gettop(L) - first + 1;
    if (given < 0) given = 0;
    if (given != s->nparams)
        return luaL_error(L, "wrong number of arguments to '%s' (%d expected for %s, got %d)",
                          fname, (int)s->nparams, cffi_sig_text(s->sig), given);
    /* Every argument converted before the call, so no error can be raised while native code
     * runs; slots are 8 bytes, enough for every scalar type. */
    uint64_t vals[CFFI_MAX_PARAMS];
    void *args[CFFI_MAX_PARAMS];
    for (int i = 0; i < given; i++) {
        const char *expect = cffi_lua_tonative(L, S, first + i, s->params[i], &vals[i], true);
        if (expect) {
            const char *spelled = cffi_sig_param_text(s->sig, (size_t)i);
            if (spelled) expect = spelled; /* "unsigned int" says more than "uint32_t" */
            cffi_lua_argfail(L, first + i, shown_first + i, fname, expect);
        }
        args[i] = &vals[i];
    }
    uint64_t ret = 0;
    cffi_status st = cffi_call(s->sig, fn, &ret, (void *const *)args);
    if (st != CFFI_OK) return luaL_error(L, "%s: %s", fname, cffi_strerror(st));
    if (s->result == CFFI_T_VOID) return 0;
    cffi_lua_push(L, (cffi_type)s->result, &ret);
    return 1;
}
