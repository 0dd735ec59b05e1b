/*
 * system_core.c - the part of luasystem's system.core that busted uses (gettime, monotime,
 * sleep), for Windows. Debian's mirror lacks lua-system's upstream source, and busted needs the
 * module only for its timings, so the Windows test runs build this instead (scripts/mingw-deps.sh).
 */
#include <windows.h>

#include <lauxlib.h>
#include <lua.h>

/* Seconds since the Unix epoch, with sub-second precision. */
static int system_gettime(lua_State *L) {
    FILETIME ft;
    GetSystemTimePreciseAsFileTime(&ft);
    ULONGLONG ticks = ((ULONGLONG)ft.dwHighDateTime << 32) | ft.dwLowDateTime; /* 100 ns since 1601 */
    const ULONGLONG unix_epoch = 116444736000000000ULL;
    lua_pushnumber(L, (lua_Number)(ticks - unix_epoch) / 1e7);
    return 1;
}

/* Seconds from an arbitrary fixed point, never going backwards. */
static int system_monotime(lua_State *L) {
    LARGE_INTEGER now, freq;
    QueryPerformanceCounter(&now);
    QueryPerformanceFrequency(&freq);
    lua_pushnumber(L, (lua_Number)now.QuadPart / (lua_Number)freq.QuadPart);
    return 1;
}

/* Sleep for the given seconds (fractions allowed). */
static int system_sleep(lua_State *L) {
    lua_Number seconds = luaL_checknumber(L, 1);
    Sleep(seconds > 0 ? (DWORD)(seconds * 1000.0 + 0.5) : 0);
    return 0;
}

__declspec(dllexport) int luaopen_system_core(lua_State *L) {
    static const luaL_Reg functions[] = {
        {"gettime", system_gettime},
        {"monotime", system_monotime},
        {"sleep", system_sleep},
        {NULL, NULL},
    };
    luaL_newlib(L, functions);
    return 1;
}
