/*
 * test_x86_names.c - the convention names on x86-32: the four real ones, C, and the names that
 * mean something else here (system and efiapi: cdecl on Linux; system is stdcall on 32-bit
 * Windows) or nothing at all (sysv64, win64: x86-64 only; aapcs: 32-bit ARM only), and where
 * GCC's fastcall and thiscall put each argument (a 64-bit integer uses up the registers it
 * cannot go in).
 */
#include "x86_support.h"

#include "internal.h"
#include "frame.h"

static void check_name(const char *name, const char *canonical) {
    const char *got = cffi_convention_canonical(name);
    CHECK_MSG(canonical ? got && strcmp(got, canonical) == 0 : got == NULL,
              "%s means %s here, expected %s", name, got ? got : "(nothing)",
              canonical ? canonical : "(nothing)");
    cffi_sig *sig = NULL;
    char err[256];
    cffi_status s = cffi_sig_parse("int(int)", name, &sig, err, sizeof err);
    if (canonical) {
        CHECK_MSG(s == CFFI_OK && strcmp(cffi_sig_convention(sig), canonical) == 0,
                  "parse under %s", name);
    } else {
        CHECK_MSG(s == CFFI_EBADCONV, "parse under %s: status %d", name, (int)s);
        CHECK_MSG(strstr(err, "stdcall") && strstr(err, "thiscall"),
                  "the error lists what is accepted: %s", err);
    }
    cffi_sig_free(sig);
}

/* Where argument i of text under conv lives: 'c' ECX, 'd' EDX, 's' stack. */
static void check_places(const char *conv, const char *text, const char *places) {
    cffi_sig *sig = NULL;
    REQUIRE(cffi_sig_parse(text, conv, &sig, NULL, 0) == CFFI_OK);
    const cffi_plan *plan = sig->plan;
    for (size_t i = 0; i < plan->nparams; i++) {
        const cffi_argloc *loc = &plan->args[i];
        char where = loc->on_stack ? 's' : loc->offset == X86_FRAME_GPR ? 'c' : 'd';
        CHECK_MSG(where == places[i], "%s %s: argument %zu in %c, expected %c", conv, text, i,
                  where, places[i]);
    }
    cffi_sig_free(sig);
}

int main(void) {
    check_name("C", "cdecl");
    check_name("cdecl", "cdecl");
    check_name("__cdecl", "cdecl");
    check_name("STDCALL", "stdcall");
    check_name("__fastcall", "fastcall");
    check_name("thiscall", "thiscall");
    check_name("system", "cdecl");
    check_name("efiapi", "cdecl");
    check_name("sysv64", NULL);
    check_name("win64", NULL);
    check_name("aapcs", NULL);
    check_name("pascal", NULL);

    check_places("fastcall", "void(int, int, int)", "cds");
    check_places("fastcall", "void(char, short, void *)", "cds");
    check_places("fastcall", "void(long long, int, int)", "sss");
    check_places("fastcall", "void(int, long long, int)", "css");
    check_places("fastcall", "void(int, int, long long, int)", "cdss");
    check_places("fastcall", "void(double, float, int, double, int, int)", "sscsds");
    check_places("thiscall", "void(void *, int)", "cs");
    check_places("thiscall", "void(long long, int)", "ss");
    check_places("thiscall", "void(float, int, int)", "scs");
    check_places("stdcall", "void(int, int)", "ss");
    check_places("cdecl", "void(int, int)", "ss");
    return CHECK_DONE();
}
