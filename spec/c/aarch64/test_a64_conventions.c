/*
 * test_a64_conventions.c - what convention names mean on AArch64: every name a script may write
 * for an x86 convention (C, cdecl, stdcall, fastcall, thiscall, system, efiapi), in an argument
 * or in the text, means AAPCS64, as the compilers treat them; sysv64, win64 and aapcs have no
 * meaning here and are refused with the accepted names.
 */
#include "check.h"
#include "cffi.h"

#include <string.h>

int main(void) {
    const char *same[] = {"C", "cdecl", "stdcall", "fastcall", "thiscall", "system", "efiapi",
                          "aapcs64", "__stdcall", "FASTCALL"};
    for (size_t i = 0; i < sizeof same / sizeof *same; i++) {
        cffi_sig *sig = check_parse("int(int, double)", same[i]);
        CHECK_MSG(strcmp(cffi_sig_convention(sig), "aapcs64") == 0, "%s means %s", same[i],
                  cffi_sig_convention(sig));
        CHECK(cffi_sig_callee_pop(sig) == 0);
        cffi_sig_free(sig);
    }
    cffi_sig *sig = check_parse("int __stdcall(int)", NULL);
    CHECK(strcmp(cffi_sig_convention(sig), "aapcs64") == 0);
    cffi_sig_free(sig);
    sig = check_parse("int (WINAPI *)(int)", NULL);
    CHECK(strcmp(cffi_sig_convention(sig), "aapcs64") == 0);
    cffi_sig_free(sig);

    const char *foreign[] = {"sysv64", "win64", "aapcs"};
    for (size_t i = 0; i < sizeof foreign / sizeof *foreign; i++) {
        char err[512] = "";
        sig = (cffi_sig *)err;
        CHECK(cffi_sig_parse("int(int)", foreign[i], &sig, err, sizeof err) == CFFI_EBADCONV);
        CHECK(sig == NULL);
        CHECK_MSG(strstr(err, "has no meaning on aarch64") &&
                      strstr(err, "accepted here: C, cdecl, stdcall, fastcall, thiscall, system, "
                                  "efiapi, aapcs64"),
                  "%s: %s", foreign[i], err);
    }
    return CHECK_DONE();
}
