/*
 * library.c - libraries and symbols (os.h) for Windows: LoadLibraryW, GetProcAddress,
 * FreeLibrary. Paths are UTF-8, as everywhere in cffi, and converted to UTF-16 for the OS, with
 * forward slashes turned into backslashes (LoadLibrary does not accept "/" as a separator).
 * CFFI_OS_PROCESS searches every module loaded in the process, in load order, as dlsym's
 * RTLD_DEFAULT does on ELF systems.
 */
#include "os/os.h"

#include <errno.h>
#include <psapi.h>
#include <stdio.h>
#include <stdlib.h>

/* The text of Windows error code `code` into err (English where the system has it). */
static void describe_error(DWORD code, char *err, size_t errlen) {
    if (!errlen) return;
    char text[256];
    DWORD n = FormatMessageA(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, NULL,
                             code, MAKELANGID(LANG_ENGLISH, SUBLANG_DEFAULT), text, sizeof text,
                             NULL);
    while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r' || text[n - 1] == ' ')) n--;
    text[n] = '\0';
    snprintf(err, errlen, "%s (Windows error %lu)", n ? text : "unknown error",
             (unsigned long)code);
}

int cffi_os_lib_open(const char *path, void **handle, char *err, size_t errlen) {
    *handle = NULL;
    if (errlen) err[0] = '\0';
    if (!path) return EINVAL;
    int wlen = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, path, -1, NULL, 0);
    if (wlen <= 0) {
        if (errlen) snprintf(err, errlen, "the name is not valid UTF-8");
        return EINVAL;
    }
    wchar_t *wide = malloc((size_t)wlen * sizeof *wide);
    if (!wide) return ENOMEM;
    MultiByteToWideChar(CP_UTF8, 0, path, -1, wide, wlen);
    /* LoadLibrary wants backslashes in paths; scripts write forward slashes. */
    for (wchar_t *c = wide; *c; c++)
        if (*c == L'/') *c = L'\\';
    HMODULE h = LoadLibraryW(wide);
    DWORD code = GetLastError();
    free(wide);
    if (!h) {
        describe_error(code, err, errlen);
        return ENOENT;
    }
    *handle = h;
    return 0;
}

/* The first module of the process that exports name, in load order (the program first). */
static void *find_in_process(const char *name) {
    HMODULE stack_modules[256], *modules = stack_modules;
    DWORD bytes = 0;
    HANDLE self = GetCurrentProcess();
    if (!EnumProcessModules(self, modules, sizeof stack_modules, &bytes)) return NULL;
    if (bytes > sizeof stack_modules) {
        modules = malloc(bytes);
        if (!modules || !EnumProcessModules(self, modules, bytes, &bytes)) {
            free(modules);
            return NULL;
        }
    }
    void *found = NULL;
    for (size_t i = 0; i < bytes / sizeof *modules && !found; i++)
        found = (void *)(uintptr_t)GetProcAddress(modules[i], name);
    if (modules != stack_modules) free(modules);
    return found;
}

int cffi_os_lib_sym(void *handle, const char *name, void **addr, char *err, size_t errlen) {
    *addr = NULL;
    if (errlen) err[0] = '\0';
    if (!name) return EINVAL;
    void *p = handle == CFFI_OS_PROCESS ? find_in_process(name)
                                        : (void *)(uintptr_t)GetProcAddress(handle, name);
    if (!p) {
        if (handle != CFFI_OS_PROCESS) describe_error(GetLastError(), err, errlen);
        else if (errlen) snprintf(err, errlen, "no module loaded in the process exports it");
        return ENOENT;
    }
    *addr = p;
    return 0;
}

void cffi_os_lib_close(void *handle) {
    if (handle) FreeLibrary(handle);
}
