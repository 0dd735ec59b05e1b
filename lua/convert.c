/*
 * convert.c - Lua <-> native value conversions, shared by callbacks (arguments in, result out),
 * outgoing calls (arguments out, result in) and cffi.read/cffi.write.
 *
 * The rules are PRODUCT.md's: integer types take an integer or a float with an exact integer
 * value, reduced modulo 2^N like a C cast; bool takes a boolean; float and double take a number;
 * pointers take an integer, a light userdata, nil, one of our userdata, and (for const char * and
 * const void *) a Lua string. Nothing here coerces strings to numbers or numbers to strings.
 */
#include "convert.h"

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
    case CFFI_T_LDOUBLE: return "long double";
    case CFFI_T_AGG: return "table or buffer";
    case CFFI_T_COUNT: break;
    }
    return "?";
}

bool cffi_lua_float_bits64(lua_State *L, int idx, uint64_t *out) {
    double d = lua_tonumber(L, idx);
    if (!isfinite(d) || d != floor(d)) return false;
    double r = fmod(d, 0x1p64); /* exact; |r| < 2^64 with d's sign */
    *out = r >= 0 ? (uint64_t)r : (uint64_t)0 - (uint64_t)(-r);
    return true;
}

bool cffi_lua_userdata_addr(lua_State *L, const cffi_lua_state *S, int idx, void **out) {
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
    if (t == CFFI_T_LDOUBLE) { /* wider than a slot: a number, as it is */
        if (lua_type(L, idx) != LUA_TNUMBER) return "long double";
        long double v = (long double)lua_tonumber(L, idx);
        memcpy(out, &v, sizeof v);
        return NULL;
    }
    uint64_t slot;
    const char *expect = cffi_lua_to_slot(L, S, idx, t, &slot, allow_string);
    /* The value is the slot's low bytes: every target cffi supports is little-endian. */
    if (!expect) memcpy(out, &slot, cffi_type_size(t));
    return expect;
}

void cffi_lua_push(lua_State *L, cffi_type t, const void *in) { cffi_lua_push_value(L, t, in); }

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
    *limit = SIZE_MAX;
    uint64_t bits;
    /* An integer address, the common case: no module state, no metatable. */
    if (lua_type(L, idx) == LUA_TNUMBER && cffi_lua_number_bits64(L, idx, &bits))
        return (void *)(uintptr_t)bits;
    const cffi_lua_state *S = cffi_lua_getstate(L);
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

int cffi_lua_callnative(lua_State *L, const cffi_lua_state *S, const cffi_lua_sig *s, void *fn,
                        int first, int shown_first, const char *fname, bool anchored) {
    /* Released by lua_close (module.c: state_gc) while a finalizer still calls. */
    if (!s->sig) return luaL_error(L, "%s: the Lua state is closing", fname);
    int given = lua_gettop(L) - first + 1;
    if (given < 0) given = 0;
    if (s->generic)
        return cffi_lua_callnative_generic(L, S, s, fn, first, given, shown_first, fname,
                                           anchored);
    if (given != s->nparams)
        return luaL_error(L, "wrong number of arguments to '%s' (%d expected for %s, got %d)",
                          fname, (int)s->nparams, cffi_sig_text(s->sig), given);
    /* Every argument converted before the call, so no error can be raised while native code
     * runs. Each goes straight where the call stub loads it (a frame call, cffi.h). */
    _Alignas(16) unsigned char frame[CFFI_CALL_FRAME_BYTES];
    _Alignas(16) unsigned char stack[CFFI_CALL_STACK_BYTES];
    const cffi_lua_place *places = s->places;
    for (int i = 0; i < given; i++) {
        cffi_lua_place p = places[i];
        uint64_t slot = 0; /* set by to_slot on success; GCC cannot always see it */
        const char *expect = cffi_lua_to_slot(L, S, first + i, (cffi_type)p.type, &slot, true);
        if (expect) {
            const char *spelled = cffi_sig_param_text(s->sig, (size_t)i);
            if (spelled) expect = spelled; /* "unsigned int" says more than "uint32_t" */
            return cffi_lua_argfail(L, first + i, shown_first + i, fname, expect);
        }
        unsigned char *dst = (p.on_stack ? stack : frame) + p.offset;
        if (p.width == 8) {
            memcpy(dst, &slot, 8);
        } else {
            uint32_t low = (uint32_t)slot;
            memcpy(dst, &low, 4);
        }
    }
    /* Unless anchored, s may be collected while the native code runs callbacks (cffi.call's
     * signature is held by the caches only): what is needed after the call is read now, and
     * the core signature is held through it. */
    cffi_sig *sig = anchored ? s->sig : cffi_sig_ref(s->sig);
    cffi_type result = (cffi_type)s->result;
    const unsigned char *result_at = frame + s->ret_offset;
    cffi_status st = cffi_call_frame(sig, fn, frame, stack);
    if (!anchored) cffi_sig_free(sig);
    if (st != CFFI_OK) return luaL_error(L, "%s: %s", fname, cffi_strerror(st));
    if (result == CFFI_T_VOID) return 0;
    cffi_lua_push(L, result, result_at);
    return 1;
}
