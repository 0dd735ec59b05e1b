/*
 * convert.h - the Lua <-> native conversion rules, one definition per direction, inline so that
 * the hot paths (the callback bridge, calls from Lua) compile them into their own loops:
 * cffi_lua_to_slot (Lua value -> slot value) and cffi_lua_push_value (native value -> Lua).
 * convert.c holds the out-of-line entry points (cffi_lua_tonative, cffi_lua_push) and the rare
 * cases. The rules themselves are described at the top of convert.c.
 */
#ifndef CFFI_LUA_CONVERT_H
#define CFFI_LUA_CONVERT_H

#include "cffi_lua.h"

#include <string.h>

/* A float that tointegerx refused: integer-valued ones reduced modulo 2^64 (convert.c; out of
 * line: rare). */
bool cffi_lua_float_bits64(lua_State *L, int idx, uint64_t *out);

/* Our pointer-like userdata at idx -> address (convert.c). False if the value is none of them. */
bool cffi_lua_userdata_addr(lua_State *L, const cffi_lua_state *S, int idx, void **out);

/* The number at idx (a Lua number: the caller checked), if integer-valued, as the low 64 bits of
 * its two's complement value: what a C cast from an unbounded integer would keep. */
static inline bool cffi_lua_number_bits64(lua_State *L, int idx, uint64_t *out) {
    int isint;
    lua_Integer i = lua_tointegerx(L, idx, &isint);
    if (isint) { /* integers, and floats with an integer value that fits in 64 signed bits */
        *out = (uint64_t)i;
        return true;
    }
    return cffi_lua_float_bits64(L, idx, out);
}

/* The same for any value: false for anything but an integer-valued number. */
static inline bool cffi_lua_to_bits64(lua_State *L, int idx, uint64_t *out) {
    if (lua_isinteger(L, idx)) { /* the common case first: two API calls, no conversion */
        *out = (uint64_t)lua_tointeger(L, idx);
        return true;
    }
    return lua_type(L, idx) == LUA_TNUMBER && cffi_lua_number_bits64(L, idx, out);
}

/* An integer type's slot value (t from CFFI_T_INT8 to CFFI_T_UINT64): see cffi_lua_to_slot. The
 * bridge's result path calls it directly for integer results. */
static inline __attribute__((always_inline)) const char *
cffi_lua_int_slot(lua_State *L, int idx, cffi_type t, uint64_t *slot) {
    uint64_t bits;
    if (!cffi_lua_to_bits64(L, idx, &bits)) return cffi_lua_typename(t);
    switch (t) {
    case CFFI_T_INT8: *slot = (uint64_t)(int64_t)(int8_t)bits; break;
    case CFFI_T_UINT8: *slot = (uint8_t)bits; break;
    case CFFI_T_INT16: *slot = (uint64_t)(int64_t)(int16_t)bits; break;
    case CFFI_T_UINT16: *slot = (uint16_t)bits; break;
    case CFFI_T_INT32: *slot = (uint64_t)(int64_t)(int32_t)bits; break;
    case CFFI_T_UINT32: *slot = (uint32_t)bits; break;
    case CFFI_T_INT64:
    case CFFI_T_UINT64: *slot = bits; break;
    default: return "scalar type";
    }
    return NULL;
}

/* The value at idx as the slot value of type t (cffi.h): integer types reduced like a C cast
 * (GCC and Clang define narrowing as modulo 2^N) and then sign- or zero-extended to 64 bits as
 * the type says, bool as 0 or 1, float as its 32-bit pattern with zero above, double and
 * pointers as they are. Inlined into the two converters below. */
static inline __attribute__((always_inline)) const char *
cffi_lua_to_slot(lua_State *L, const cffi_lua_state *S, int idx, cffi_type t, uint64_t *slot,
        bool allow_string) {
    uint64_t bits;
    switch (t) {
    case CFFI_T_BOOL:
        if (lua_type(L, idx) != LUA_TBOOLEAN) return "bool";
        *slot = lua_toboolean(L, idx) != 0;
        return NULL;
    case CFFI_T_FLOAT: {
        if (lua_type(L, idx) != LUA_TNUMBER) return "float";
        float f = (float)lua_tonumber(L, idx); /* IEEE narrowing: overflow gives inf */
        uint32_t pattern;
        memcpy(&pattern, &f, sizeof pattern);
        *slot = pattern;
        return NULL;
    }
    case CFFI_T_DOUBLE: {
        if (lua_type(L, idx) != LUA_TNUMBER) return "double";
        double d = lua_tonumber(L, idx);
        memcpy(slot, &d, sizeof d);
        return NULL;
    }
    case CFFI_T_PTR:
    case CFFI_T_CSTR:
    case CFFI_T_CPTR: {
        void *p;
        switch (lua_type(L, idx)) {
        case LUA_TNIL: p = NULL; break;
        case LUA_TLIGHTUSERDATA: p = lua_touserdata(L, idx); break;
        case LUA_TNUMBER:
            if (!cffi_lua_number_bits64(L, idx, &bits)) return cffi_lua_typename(t);
            p = (void *)(uintptr_t)bits;
            break;
        case LUA_TSTRING:
            if (t == CFFI_T_PTR || !allow_string) return "pointer";
            p = (void *)lua_tostring(L, idx);
            break;
        case LUA_TUSERDATA:
            if (!cffi_lua_userdata_addr(L, S, idx, &p)) return cffi_lua_typename(t);
            break;
        default: return cffi_lua_typename(t);
        }
        *slot = (uint64_t)(uintptr_t)p;
        return NULL;
    }
    case CFFI_T_INT8: case CFFI_T_UINT8: case CFFI_T_INT16: case CFFI_T_UINT16:
    case CFFI_T_INT32: case CFFI_T_UINT32: case CFFI_T_INT64: case CFFI_T_UINT64:
        return cffi_lua_int_slot(L, idx, t, slot);
    case CFFI_T_VOID: case CFFI_T_LDOUBLE: case CFFI_T_AGG: case CFFI_T_COUNT: break;
    }
    return "scalar type";
}

/* The native value of type t at in, pushed: what cffi_lua_push does, inline for the bridge's
 * argument loop. Raises only on memory errors (strings). */
static inline __attribute__((always_inline)) void cffi_lua_push_value(lua_State *L, cffi_type t,
                                                                     const void *in) {
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
    case CFFI_T_LDOUBLE: {
        long double v;
        memcpy(&v, in, sizeof v);
        lua_pushnumber(L, (lua_Number)v); /* rounded to a Lua number */
        return;
    }
    case CFFI_T_CSTR: {
        const char *s;
        memcpy(&s, in, sizeof s);
        if (s) lua_pushstring(L, s); else lua_pushnil(L);
        return;
    }
    case CFFI_T_PTR:
    case CFFI_T_CPTR:
    case CFFI_T_AGG: /* never pushed from here: cffi_lua_push_agg knows its layout */
    case CFFI_T_COUNT: break;
    }
    void *p;
    memcpy(&p, in, sizeof p);
    lua_pushinteger(L, (lua_Integer)(uintptr_t)p);
}

#endif /* CFFI_LUA_CONVERT_H */
