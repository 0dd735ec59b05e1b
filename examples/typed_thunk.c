/*
 * typed_thunk.c - a C closure as a bare stdcall function pointer with no marshalling, for a
 * signature known at compile time.
 *   cc -I src examples/typed_thunk.c build/libcffi.a -lcapstone -lpthread
 */
#include "cffi.h"

#include <stdio.h>

/* The handler: a plain C function that also receives the context pointer. */
static int add_scaled(void *ctx, int a, int b) { return (a + b) * *(int *)ctx; }

/* At file scope: a template for bare `int stdcall (int, int)` pointers calling a handler. */
CFFI_BAREFN(add2, stdcall, int, (int a, int b), (a, b))

/* The handler bound at compile time: the template calls it directly and may inline it. */
CFFI_BAREFN_FN(add2_fast, stdcall, int, (int a, int b), (a, b), add_scaled)

int main(void) {
    int scale = 10;
    cffi_barefn *thunk;
    if (add2_new(add_scaled, &scale, &thunk) != CFFI_OK) {
        fprintf(stderr, "typed_thunk: %s\n", cffi_last_reloc_error());
        return 1;
    }
    add2_bare f = add2_code(thunk); /* int (stdcall *)(int, int) */
    printf("f(2, 3) = %d\n", f(2, 3));

    cffi_barefn *fast;
    if (add2_fast_new(&scale, &fast) != CFFI_OK) return 1;
    printf("fast(4, 5) = %d\n", add2_fast_code(fast)(4, 5));

    char text[512];
    cffi_disasm(add2_code(thunk), 256, text, sizeof text);
    printf("the thunk's first instructions:\n%s", text);

    cffi_barefn_free(fast);
    cffi_barefn_free(thunk); /* f now reports "cffi: add2: ..." and returns 0 if called */
    return 0;
}
