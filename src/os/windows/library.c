/*
 * library.c - libraries and symbols (os.h) for Windows: LoadLibraryW, GetProcAddress,
 * FreeLibrary. Paths are UTF-8, as everywhere in cffi, and converted to UTF-16 for the OS, with
 * forward slashes turned into backslashes (LoadLibrary does not accept "/" as a separator).
 * CFFI_OS_PROCESS searches every module loaded in the process, in load order, as dlsym's
 * RTLD_DEFAULT does on ELF systems.
 *
 * On x86-32, a name that is not exported as written is also looked up in its decorated forms, as
 * toolchains export stdcall and fastcall functions when not told otherwise: `name@N` (mingw's
 * stdcall), `_name@N` (MSVC's stdcall) and `@name@N` (fastcall), N the bytes of arguments.
 * System DLLs export undecorated names; DLLs built by mingw without --kill-at do not.
 */
#include "os/os.h"

#include <errno.h>
#include <psapi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

#if defined(__i386__)
/* Whether export is name decorated: [_ or @] name @ digits. */
static bool is_decorated(const char *export, const char *name) {
    if (*export == '_' || *export == '@') export++;
    size_t n = strlen(name);
    if (strncmp(export, name, n) != 0 || export[n] != '@' || !export[n + 1]) return false;
    for (const char *d = export + n + 1; *d; d++)
        if (*d < '0' || *d > '9') return false;
    return true;
}

/* The address of a decorated export of name in module, or NULL: a walk of its export table. */
static void *find_decorated(HMODULE module, const char *name) {
    const uint8_t *base = (const uint8_t *)module;
    const IMAGE_DOS_HEADER *dos = (const IMAGE_DOS_HEADER *)base;
    if (dos->e_magic != IMAGE_DOS_SIGNATURE) return NULL;
    const IMAGE_NT_HEADERS *nt = (const IMAGE_NT_HEADERS *)(base + dos->e_lfanew);
    if (nt->Signature != IMAGE_NT_SIGNATURE) return NULL;
    const IMAGE_DATA_DIRECTORY *dir =
        &nt->OptionalHeader.DataDirectory[IMAGE_DIRECTORY_ENTRY_EXPORT];
    if (!dir->VirtualAddress || !dir->Size) return NULL;
    const IMAGE_EXPORT_DIRECTORY *exports =
        (const IMAGE_EXPORT_DIRECTORY *)(base + dir->VirtualAddress);
    const DWORD *names = (const DWORD *)(base + exports->AddressOfNames);
    for (DWORD i = 0; i < exports->NumberOfNames; i++) {
        const char *export = (const char *)(base + names[i]);
        /* GetProcAddress of the exact export also follows forwarders. */
        if (is_decorated(export, name)) return (void *)(uintptr_t)GetProcAddress(module, export);
    }
    return NULL;
}
#endif

/* name in module, as written or (x86-32) decorated. */
static void *find_in_module(HMODULE module, const char *name) {
    void *p = (void *)(uintptr_t)GetProcAddress(module, name);
#if defined(__i386__)
    if (!p) {
        DWORD code = GetLastError();
        p = find_decorated(module, name);
        if (!p) SetLastError(code); /* the message names the plain lookup's failure */
    }
#endif
    return p;
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
        found = find_in_module(modules[i], name);
    if (modules != stack_modules) free(modules);
    return found;
}

int cffi_os_lib_sym(void *handle, const char *name, void **addr, char *err, size_t errlen) {
    *addr = NULL;
    if (errlen) err[0] = '\0';
    if (!name) return EINVAL;
    void *p = handle == CFFI_OS_PROCESS ? find_in_process(name) : find_in_module(handle, name);
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

bool cffi_os_pin_module(const void *addr) {
    HMODULE module;
    return GetModuleHandleExW(GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS |
                                  GET_MODULE_HANDLE_EX_FLAG_PIN,
                              (LPCWSTR)addr, &module) != 0;
}
