/*
 * library.c - libraries and symbols (os.h) for POSIX systems: dlopen, dlsym, dlclose.
 */
#include "os/os.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>

/* The pending dlerror() text into err; returns whether there was one. */
static bool take_dlerror(char *err, size_t errlen) {
    const char *text = dlerror();
    if (errlen) snprintf(err, errlen, "%s", text ? text : "");
    return text != NULL;
}

int cffi_os_lib_open(const char *path, void **handle, char *err, size_t errlen) {
    *handle = NULL;
    if (errlen) err[0] = '\0';
    if (!path) return EINVAL;
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        if (!take_dlerror(err, errlen) && errlen) snprintf(err, errlen, "unknown error");
        return ENOENT;
    }
    *handle = h;
    return 0;
}

int cffi_os_lib_sym(void *handle, const char *name, void **addr, char *err, size_t errlen) {
    *addr = NULL;
    if (errlen) err[0] = '\0';
    if (!name) return EINVAL;
    dlerror(); /* clear, so that a NULL below is told apart from a symbol whose value is NULL */
    void *p = dlsym(handle == CFFI_OS_PROCESS ? RTLD_DEFAULT : handle, name);
    bool failed = take_dlerror(err, errlen);
    if (failed || !p) return ENOENT;
    *addr = p;
    return 0;
}

void cffi_os_lib_close(void *handle) {
    if (handle) dlclose(handle);
}

bool cffi_os_pin_module(const void *addr) {
    (void)addr; /* the Lua module is linked with -z nodelete (cmake/lua.cmake) */
    return true;
}
