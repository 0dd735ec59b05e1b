/*
 * test_arm_conventions.c - 32-bit ARM specifics the random differential does not name:
 *   - what convention names mean: the x86 names and C mean aapcs_vfp (armhf's C), aapcs is the
 *     base standard, sysv64, win64 and aapcs64 are refused with the accepted names;
 *   - where arguments go, as the plan says: a float back-filling the single a double's
 *     alignment left free (aapcs_vfp), 64-bit values in even register pairs and 8-byte aligned
 *     stack slots, floating values in core registers under aapcs;
 *   - a Thumb function (address with bit 0 set) called through cffi_call, and a thunk (ARM
 *     state) called from Thumb code.
 */
#include "check.h"
#include "cffi.h"
#include "internal.h"

#include <string.h>

#include "frame.h"

static const cffi_argloc *loc_of(const cffi_sig *sig, size_t i) { return &sig->plan->args[i]; }

static void check_names(void) {
    const char *vfp[] = {"C", "cdecl", "stdcall", "fastcall", "thiscall", "system", "efiapi",
                         "aapcs_vfp"};
    for (size_t i = 0; i < sizeof vfp / sizeof *vfp; i++) {
        cffi_sig *sig = check_parse("int(int)", vfp[i]);
        CHECK_MSG(strcmp(cffi_sig_convention(sig), "aapcs_vfp") == 0, "%s", vfp[i]);
        cffi_sig_free(sig);
    }
    cffi_sig *sig = check_parse("int __aapcs(int)", NULL);
    CHECK(strcmp(cffi_sig_convention(sig), "aapcs") == 0);
    cffi_sig_free(sig);
    const char *foreign[] = {"sysv64", "win64", "aapcs64"};
    for (size_t i = 0; i < sizeof foreign / sizeof *foreign; i++) {
        char err[512] = "";
        CHECK(cffi_sig_parse("int(int)", foreign[i], &sig, err, sizeof err) == CFFI_EBADCONV);
        CHECK_MSG(strstr(err, "has no meaning on arm") && strstr(err, "aapcs_vfp, aapcs"), "%s",
                  err);
    }
}

static void check_placement(void) {
    /* aapcs_vfp: f -> s0, d -> d1 (s2:s3), f -> s1 (back-filled), d -> d2 */
    cffi_sig *sig = check_parse("void(float, double, float, double)", "aapcs_vfp");
    CHECK(loc_of(sig, 0)->offset == ARM_FRAME_FPR + 0 && !loc_of(sig, 0)->on_stack);
    CHECK(loc_of(sig, 1)->offset == ARM_FRAME_FPR + 8);
    CHECK(loc_of(sig, 2)->offset == ARM_FRAME_FPR + 4);
    CHECK(loc_of(sig, 3)->offset == ARM_FRAME_FPR + 16);
    cffi_sig_free(sig);
    /* int -> r0, int64 -> r2:r3 (r1 skipped), int -> stack 0, int64 -> stack 8 (aligned) */
    sig = check_parse("void(int, int64_t, int, int64_t)", "aapcs_vfp");
    CHECK(loc_of(sig, 0)->offset == ARM_FRAME_GPR + 0);
    CHECK(loc_of(sig, 1)->offset == ARM_FRAME_GPR + 8 && loc_of(sig, 1)->width == 8);
    CHECK(loc_of(sig, 2)->on_stack && loc_of(sig, 2)->offset == 0);
    CHECK(loc_of(sig, 3)->on_stack && loc_of(sig, 3)->offset == 8);
    CHECK(sig->plan->stack_bytes == 16);
    cffi_sig_free(sig);
    /* aapcs: float -> r0, double -> r2:r3, float -> stack, result double in r0:r1 */
    sig = check_parse("double(float, double, float)", "aapcs");
    CHECK(loc_of(sig, 0)->offset == ARM_FRAME_GPR + 0);
    CHECK(loc_of(sig, 1)->offset == ARM_FRAME_GPR + 8);
    CHECK(loc_of(sig, 2)->on_stack && loc_of(sig, 2)->offset == 0);
    CHECK(sig->plan->ret_offset == ARM_FRAME_RET_INT);
    cffi_sig_free(sig);
}

/* Compiled in this file's instruction set; the build compiles it as Thumb-2 (armhf's default). */
__attribute__((noinline)) static double thumb_mix(float a, double b, int64_t c) {
    return a + b * 2 + (double)c * 3;
}

static void handler(void *ctx, void *ret, void *const *args) {
    (void)ctx;
    *(double *)ret = *(const float *)args[0] + *(const double *)args[1] * 2 +
                     (double)*(const int64_t *)args[2] * 3;
}

static void check_states(void) {
    CHECK(((uintptr_t)(void *)thumb_mix & 1) == ((uintptr_t)(void *)check_states & 1));
    cffi_sig *sig = check_parse("double(float, double, int64_t)", NULL);
    float a = 1.5f;
    double b = 2.25;
    int64_t c = -7;
    void *args[] = {&a, &b, &c};
    double r = 0;
    CHECK(cffi_call(sig, (void *)thumb_mix, &r, args) == CFFI_OK);
    CHECK(r == 1.5 + 4.5 - 21);
    cffi_closure *cl;
    REQUIRE(cffi_closure_new(sig, handler, NULL, &cl) == CFFI_OK);
    CHECK(((uintptr_t)cffi_closure_code(cl) & 1) == 0); /* thunks are ARM state */
    double (*f)(float, double, int64_t) = (double (*)(float, double, int64_t))cffi_closure_code(cl);
    CHECK(f(1.5f, 2.25, -7) == 1.5 + 4.5 - 21);
    cffi_closure_free(cl);
    cffi_sig_free(sig);
}

int main(void) {
    check_names();
    check_placement();
    check_states();
    printf("this file is %s code\n", ((uintptr_t)(void *)main & 1) ? "Thumb" : "ARM");
    return CHECK_DONE();
}
