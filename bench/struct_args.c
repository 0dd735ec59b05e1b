/*
 * struct_args.c - how a struct argument reaches a Lua callback: the measurement behind the
 * binding's choice of a table (a copy of every member) over a view (a small userdata that reads
 * the native bytes on each field access and is invalidated when the callback returns).
 *
 * The binding ships tables. The view here is built the way the binding would build it (a userdata
 * of the layout and the bytes' address, one shared metatable, __index looking the member up by
 * name and converting it with the binding's own scalar conversion, nested structs and arrays as
 * further views), so the two rows differ only in what the choice changes: each case pushes one
 * struct the chosen way and calls the same Lua function on it with lua_pcall, as the callback
 * bridge does. Cases:
 *   agg.vec3.table / agg.vec3.view   struct { float x, y, z; }, the callback reads every member
 *   agg.big.table / agg.big.view     a 104-byte entity (two Vec3, scalars, an id array, a name),
 *                                    the callback reads two members
 *   agg.vec3.wrap                    the whole path for scale: native code calls cffi.wrap's
 *                                    float(Vec3) pointer, which reads every member
 */
#include "struct_args.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cffi_lua.h"

typedef struct { float x, y, z; } Vec3;
typedef struct {
    Vec3 pos, vel;
    float hp, armor;
    int32_t id, team, flags;
    int32_t ids[8];
    char name[16];
} Entity;

static const char struct_cdef[] =
    "typedef struct { float x, y, z; } Vec3;"
    "typedef struct { Vec3 pos, vel; float hp, armor; int32_t id, team, flags;"
    "                 int32_t ids[8]; char name[16]; } Entity;";

static lua_State *SL;
static const cffi_agg *vec3_agg, *entity_agg;
static int fn_ref[2]; /* the Lua functions: Vec3 reader, Entity reader */
static int view_mt;   /* its address is the registry key of the view metatable */

/* --- the view ------------------------------------------------------------------------------- */
typedef struct view {
    const cffi_agg *agg;      /* NULL with count: an array of count elements of type */
    const unsigned char *p;   /* NULL once the callback has returned */
    cffi_type type;           /* arrays: the element type */
    size_t count;
} view;

static view *push_view(lua_State *L, const cffi_agg *agg, const void *p) {
    view *v = lua_newuserdatauv(L, sizeof *v, 0);
    v->agg = agg, v->p = p, v->type = CFFI_T_AGG, v->count = 0;
    lua_rawgetp(L, LUA_REGISTRYINDEX, &view_mt);
    lua_setmetatable(L, -2);
    return v;
}

static const cffi_field *member(const cffi_agg *agg, const char *name, size_t len, size_t *at) {
    for (size_t i = 0; i < agg->nfields; i++) {
        const cffi_field *f = &agg->fields[i];
        if (!f->name[0]) {
            const cffi_field *inside = member(f->agg, name, len, at);
            if (inside) {
                *at += f->offset;
                return inside;
            }
        } else if (strlen(f->name) == len && memcmp(f->name, name, len) == 0) {
            *at = f->offset;
            return f;
        }
    }
    return NULL;
}

/* One value at p: a scalar converted as the binding converts it, or a nested view. */
static void push_value(lua_State *L, cffi_type type, const cffi_agg *agg, const unsigned char *p) {
    if (type == CFFI_T_AGG) {
        push_view(L, agg, p);
        return;
    }
    union { uint64_t slot; long double ld; } aligned = {0};
    memcpy(&aligned, p, cffi_type_size(type));
    cffi_lua_push(L, type, &aligned);
}

static int view_index(lua_State *L) {
    const view *v = lua_touserdata(L, 1);
    if (!v->p) return luaL_error(L, "struct view used after its callback returned");
    if (v->count) { /* an array: 1-based */
        lua_Integer k = luaL_checkinteger(L, 2);
        if (k < 1 || (size_t)k > v->count) return luaL_error(L, "index %d out of range", (int)k);
        size_t step = v->type == CFFI_T_AGG ? v->agg->size : cffi_type_size(v->type);
        push_value(L, v->type, v->agg, v->p + (size_t)(k - 1) * step);
        return 1;
    }
    size_t len, at = 0;
    const char *name = luaL_checklstring(L, 2, &len);
    const cffi_field *f = member(v->agg, name, len, &at);
    if (!f) return luaL_error(L, "no member '%s'", name);
    if (f->count) {
        view *a = push_view(L, f->agg, v->p + at);
        a->type = f->type, a->count = f->count;
        return 1;
    }
    push_value(L, f->type, f->agg, v->p + at);
    return 1;
}

/* --- the cases ------------------------------------------------------------------------------ */
static Vec3 vec3 = {1, 2, 3};
static Entity entity = {{1, 2, 3}, {4, 5, 6}, 90, 10, 7, 2, 0, {1, 2, 3, 4, 5, 6, 7, 8}, "ogre"};
static volatile double struct_sink;

/* Push the struct the chosen way, call the Lua function on it, drop the result. */
static void run_one(int ref, const cffi_agg *agg, const void *p, bool as_view, int64_t n) {
    lua_gc(SL, LUA_GCCOLLECT);
    for (int64_t i = 0; i < n; i++) {
        lua_rawgeti(SL, LUA_REGISTRYINDEX, ref);
        view *v = NULL;
        if (as_view)
            v = push_view(SL, agg, p);
        else
            cffi_lua_push_agg(SL, agg, p);
        if (lua_pcall(SL, 1, 1, 0) != LUA_OK) {
            fprintf(stderr, "bench_cffi: struct case: %s\n", lua_tostring(SL, -1));
            exit(1);
        }
        if (v) v->p = NULL; /* the callback has returned */
        struct_sink += lua_tonumber(SL, -1);
        lua_pop(SL, 1);
    }
}
static void run_vec3_table(void *arg, int64_t n) {
    (void)arg, run_one(fn_ref[0], vec3_agg, &vec3, false, n);
}
static void run_vec3_view(void *arg, int64_t n) {
    (void)arg, run_one(fn_ref[0], vec3_agg, &vec3, true, n);
}
static void run_big_table(void *arg, int64_t n) {
    (void)arg, run_one(fn_ref[1], entity_agg, &entity, false, n);
}
static void run_big_view(void *arg, int64_t n) {
    (void)arg, run_one(fn_ref[1], entity_agg, &entity, true, n);
}

typedef float (*vec3_fn)(Vec3);
static __attribute__((noinline)) void run_vec3_wrap(void *fn, int64_t n) {
    float sum = 0;
    for (int64_t i = 0; i < n; i++) sum += ((vec3_fn)fn)(vec3);
    struct_sink += sum;
}

static const char struct_setup[] =
    "local cffi, cdef = ...\n"
    "cffi.cdef(cdef)\n"
    "local function vec3(v) return v.x + v.y + v.z end\n"
    "local function big(e) return e.hp + e.id end\n"
    "local cb = assert(cffi.wrap(vec3, 'float(Vec3)'))\n"
    "return { vec3 = vec3, big = big, cb = cb, cb_addr = cb:addr() }\n";

static const cffi_agg *layout(const char *name) {
    cffi_typeinfo info;
    char err[128];
    if (cffi_type_parse(NULL, name, &info, err, sizeof err) != CFFI_OK || !info.agg) {
        fprintf(stderr, "bench_cffi: %s: %s\n", name, err);
        exit(1);
    }
    return info.agg;
}

void bench_struct_arg_cases(lua_State *L, bench_add_case_fn add) {
    SL = L;
    char err[256];
    if (cffi_cdef(NULL, struct_cdef, err, sizeof err) != CFFI_OK) {
        fprintf(stderr, "bench_cffi: cdef: %s\n", err);
        exit(1);
    }
    vec3_agg = layout("Vec3");
    entity_agg = layout("Entity");
    if (entity_agg->size != sizeof(Entity)) {
        fprintf(stderr, "bench_cffi: Entity layout differs from the compiler's\n");
        exit(1);
    }
    lua_createtable(L, 0, 1);
    lua_pushcfunction(L, view_index);
    lua_setfield(L, -2, "__index");
    lua_rawsetp(L, LUA_REGISTRYINDEX, &view_mt);

    if (luaL_loadbuffer(L, struct_setup, sizeof struct_setup - 1, "=bench_structs") != LUA_OK)
        goto fail;
    lua_getglobal(L, "cffi");
    lua_pushstring(L, struct_cdef);
    if (lua_pcall(L, 2, 1, 0) != LUA_OK) goto fail;
    lua_getfield(L, -1, "vec3");
    fn_ref[0] = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_getfield(L, -1, "big");
    fn_ref[1] = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_getfield(L, -1, "cb_addr");
    void *cb = (void *)(intptr_t)lua_tointeger(L, -1);
    lua_pop(L, 1);
    luaL_ref(L, LUA_REGISTRYINDEX); /* keeps the callback alive */

    add("agg.vec3.table", run_vec3_table, NULL);
    add("agg.vec3.view", run_vec3_view, NULL);
    add("agg.big.table", run_big_table, NULL);
    add("agg.big.view", run_big_view, NULL);
    add("agg.vec3.wrap", run_vec3_wrap, cb);
    return;
fail:
    fprintf(stderr, "bench_cffi: struct setup: %s\n", lua_tostring(L, -1));
    exit(1);
}
