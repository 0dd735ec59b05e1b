// cxx_exception.cpp - a C++ exception thrown in a handler and caught by the C++ code that called
// the closure, across the closure's thunk, its entry stub and cffi_dispatch; for a win64
// closure, a sysv64 closure and a typed thunk. The unwinder (libgcc's, over RtlUnwindEx) needs a
// function table entry for every frame on the way, or the program terminates. Objects of the
// throwing frames are destroyed on the way (their destructors count), and the library keeps
// working afterwards.
#include "cffi.h"

#include <cstdio>
#include <stdexcept>

static int checks, failed;
#define CHECK(cond)                                                                                \
    do {                                                                                           \
        checks++;                                                                                  \
        if (!(cond)) {                                                                             \
            failed++;                                                                              \
            std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);        \
        }                                                                                          \
    } while (0)

static int destroyed;
struct counted {
    ~counted() { destroyed++; }
};

extern "C" void throwing_handler(void *, void *ret, void *const *args) {
    counted c;
    int a = *static_cast<const int *>(args[0]);
    if (a < 0) throw std::runtime_error("negative");
    *static_cast<int *>(ret) = a * 2;
}

static int throwing_bare(void *, int a, int b) {
    counted c;
    if (a < 0) throw std::runtime_error("negative");
    return a + b;
}
CFFI_BAREFN(add2, C, int, (int a, int b), (a, b))

template <typename F> static bool throws_through(F call) {
    try {
        call();
    } catch (const std::runtime_error &e) {
        return std::string(e.what()) == "negative";
    }
    return false;
}

static void check_closure(const char *conv) {
    cffi_sig *sig = nullptr;
    CHECK(cffi_sig_parse("int(int)", conv, &sig, nullptr, 0) == CFFI_OK);
    cffi_closure *c = nullptr;
    CHECK(cffi_closure_new(sig, throwing_handler, nullptr, &c) == CFFI_OK);
    void *code = cffi_closure_code(c);
    int before = destroyed;
    if (std::string(conv) == "win64") {
        auto f = reinterpret_cast<int (*)(int)>(code);
        CHECK(f(21) == 42);
        CHECK(throws_through([&] { f(-1); }));
    } else {
        auto f = reinterpret_cast<int(__attribute__((sysv_abi)) *)(int)>(code);
        CHECK(f(21) == 42);
        CHECK(throws_through([&] { f(-1); }));
    }
    CHECK(destroyed == before + 2);
    cffi_closure_free(c);
    cffi_sig_free(sig);
}

int main() {
    check_closure("win64");
    check_closure("sysv64");
    check_closure("win64"); // and again: nothing was left half-done
    cffi_barefn *t = nullptr;
    CHECK(add2_new(throwing_bare, nullptr, &t) == CFFI_OK);
    if (t) {
        auto f = add2_code(t);
        CHECK(f(20, 22) == 42);
        CHECK(throws_through([&] { f(-1, 0); }));
        CHECK(f(1, 2) == 3);
        cffi_barefn_free(t);
    }
    std::printf("%d checks, %d failed\n", checks, failed);
    return failed ? 1 : 0;
}
