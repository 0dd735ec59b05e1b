/*
 * struct_args.h - the struct-argument cases of bench_cffi (struct_args.c): a table against a view
 * for a struct that reaches a Lua callback.
 */
#ifndef BENCH_STRUCT_ARGS_H
#define BENCH_STRUCT_ARGS_H

#include <stdint.h>

#include <lua.h>

typedef void (*bench_add_case_fn)(const char *key, void (*run)(void *, int64_t), void *arg);

/* Defines the types in the process's scope, sets up the Lua side in L (whose global cffi is the
 * module) and adds the agg.* cases. */
void bench_struct_arg_cases(lua_State *L, bench_add_case_fn add);

#endif
