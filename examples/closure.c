/*
 * closure.c - a C closure (a handler plus a context pointer) as a bare function pointer, and a
 * call of a function pointer through the same signature. The README's C example.
 *   cc -I src examples/closure.c build/libcffi.a -lcapstone -lpthread
 */
#include "cffi.h"

static void add(void *ctx, void *ret, void *const *args) {
    *(int *)ret = *(int *)args[0] + *(int *)args[1] + *(int *)ctx;
}

int main(void) {
    char err[128];
    cffi_sig *sig;
    if (cffi_sig_parse("int(int, int)", "C", &sig, err, sizeof err) != CFFI_OK) return 1;

    int bias = 100;
    cffi_closure *c;
    if (cffi_closure_new(sig, add, &bias, &c) != CFFI_OK) return 1;
    int (*fn)(int, int) = (int (*)(int, int))cffi_closure_code(c);
    int r = fn(2, 3);                               /* 105 */

    int a = 2, b = 3, r2;                           /* and the other direction */
    cffi_call(sig, (void *)fn, &r2, (void *[]){ &a, &b });

    cffi_closure_free(c);                           /* fn now traps safely */
    cffi_sig_free(sig);
    return r == 105 && r2 == 105 ? 0 : 1;
}
