/*
 * test_a64_apple_placement.c - the placement of Apple's arm64 variant, which this machine cannot
 * run: AAPCS64 with stack arguments packed by their natural size and alignment (the cffi_abi fact
 * stack_natural), checked against the offsets Apple's ABI documents, with the Linux ABI's table
 * as the base. Linux keeps one 8-byte slot per argument.
 */
#include "check.h"
#include "cffi.h"
#include "internal.h"

#include <stdlib.h>

#include "frame.h"

extern const cffi_abi cffi_a64_abi_aapcs64;

int main(void) {
    /* Nine ints fill x0-x7; then char, short, int, char, int64, float(s0..)... on the stack. */
    cffi_type params[] = {CFFI_T_INT32, CFFI_T_INT32, CFFI_T_INT32, CFFI_T_INT32,
                          CFFI_T_INT32, CFFI_T_INT32, CFFI_T_INT32, CFFI_T_INT32,
                          CFFI_T_INT8,  CFFI_T_INT16, CFFI_T_INT32, CFFI_T_UINT8,
                          CFFI_T_INT64, CFFI_T_INT8};
    size_t n = sizeof params / sizeof *params;

    cffi_abi apple = cffi_a64_abi_aapcs64;
    apple.stack_natural = 1;
    cffi_plan *plan = NULL;
    REQUIRE(cffi_plan_build(&apple, CFFI_T_VOID, NULL, params, NULL, n, &plan, NULL, 0) == CFFI_OK);
    /* char at 0, short at 2, int at 4, char at 8, int64 at 16, char at 24; 32 bytes in all */
    static const uint16_t apple_offsets[] = {0, 2, 4, 8, 16, 24};
    for (size_t i = 0; i < 6; i++) {
        CHECK(plan->args[8 + i].on_stack);
        CHECK_MSG(plan->args[8 + i].offset == apple_offsets[i], "argument %zu at %u, expected %u",
                  8 + i, plan->args[8 + i].offset, apple_offsets[i]);
    }
    CHECK_MSG(plan->stack_bytes == 32, "%u stack bytes", plan->stack_bytes);
    free(plan);

    REQUIRE(cffi_plan_build(&cffi_a64_abi_aapcs64, CFFI_T_VOID, NULL, params, NULL, n, &plan, NULL,
                            0) == CFFI_OK);
    for (size_t i = 0; i < 6; i++)
        CHECK_MSG(plan->args[8 + i].offset == 8 * i, "Linux: argument %zu at %u", 8 + i,
                  plan->args[8 + i].offset);
    CHECK(plan->stack_bytes == 48);
    free(plan);
    return CHECK_DONE();
}
