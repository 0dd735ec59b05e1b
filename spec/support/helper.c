/*
 * helper.c - compiled C functions the busted specs call through cffi: callers of callbacks (many
 * mixed arguments, another pthread, errno set around the call) and natives of every scalar type,
 * so that both directions of every conversion meet code the compiler generated.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* Identity functions: what cffi passes in comes back as the compiler sees it. */
#define IDENTITY(T, name) T helper_id_##name(T v) { return v; }
IDENTITY(bool, bool)
IDENTITY(int8_t, i8)
IDENTITY(uint8_t, u8)
IDENTITY(int16_t, i16)
IDENTITY(uint16_t, u16)
IDENTITY(int32_t, i32)
IDENTITY(uint32_t, u32)
IDENTITY(int64_t, i64)
IDENTITY(uint64_t, u64)
IDENTITY(float, float)
IDENTITY(double, double)
IDENTITY(void *, ptr)

/* Extremes produced by C, for native -> Lua. */
int8_t helper_min_i8(void) { return INT8_MIN; }
uint8_t helper_max_u8(void) { return UINT8_MAX; }
int16_t helper_min_i16(void) { return INT16_MIN; }
uint16_t helper_max_u16(void) { return UINT16_MAX; }
int32_t helper_min_i32(void) { return INT32_MIN; }
uint32_t helper_max_u32(void) { return UINT32_MAX; }
int64_t helper_min_i64(void) { return INT64_MIN; }
uint64_t helper_max_u64(void) { return UINT64_MAX; }

/* Whether a value arrived exactly as C wrote it, for Lua -> native. */
int helper_is_u64max(uint64_t v) { return v == UINT64_MAX; }
int helper_is_i64min(int64_t v) { return v == INT64_MIN; }
int helper_is_u32max(uint32_t v) { return v == UINT32_MAX; }
int helper_is_true(bool v) { return v == true; }

/* 36 mixed parameters and one more: more than every register of both classes, so most go on
 * the stack. A weighted sum, so that two swapped arguments change the answer. */
double helper_mixed36(int a0, double a1, int64_t a2, float a3, int8_t a4, double a5, uint16_t a6, double a7, int a8, float a9, uint32_t a10, double a11, int a12, double a13, int64_t a14, float a15, int8_t a16, double a17, uint16_t a18, double a19, int a20, float a21, uint32_t a22, double a23, int a24, double a25, int64_t a26, float a27, int8_t a28, double a29, uint16_t a30, double a31, int a32, float a33, uint32_t a34, double a35, int last) {
    return (double)a0 * 1 + (double)a1 * 2 + (double)a2 * 3 + (double)a3 * 4 + (double)a4 * 5 + (double)a5 * 6 + (double)a6 * 7 + (double)a7 * 8 + (double)a8 * 9 + (double)a9 * 10 + (double)a10 * 11 + (double)a11 * 12 + (double)a12 * 13 + (double)a13 * 14 + (double)a14 * 15 + (double)a15 * 16 + (double)a16 * 17 + (double)a17 * 18 + (double)a18 * 19 + (double)a19 * 20 + (double)a20 * 21 + (double)a21 * 22 + (double)a22 * 23 + (double)a23 * 24 + (double)a24 * 25 + (double)a25 * 26 + (double)a26 * 27 + (double)a27 * 28 + (double)a28 * 29 + (double)a29 * 30 + (double)a30 * 31 + (double)a31 * 32 + (double)a32 * 33 + (double)a33 * 34 + (double)a34 * 35 + (double)a35 * 36 + last * 100.0;
}

typedef double (*mixed36_fn)(int, double, int64_t, float, int8_t, double, uint16_t, double, int, float, uint32_t, double, int, double, int64_t, float, int8_t, double, uint16_t, double, int, float, uint32_t, double, int, double, int64_t, float, int8_t, double, uint16_t, double, int, float, uint32_t, double, int);

/* Calls fn with argument k equal to k+1 (negated for odd signed ones, plus a half for floating
 * ones, times 1000 for unsigned ones) and last = 7: the values spec/04-call_spec.lua expects. */
double helper_call_mixed36(mixed36_fn fn) {
    return fn(1, 2.5, 3, 4.5, 5, 6.5, 7000, 8.5, 9, 10.5, 11000, 12.5, 13, 14.5, 15, 16.5, 17, 18.5, 19000, 20.5, 21, 22.5, 23000, 24.5, 25, 26.5, 27, 28.5, 29, 30.5, 31000, 32.5, 33, 34.5, 35000, 36.5, 7);
}

/* Call fn from a new pthread and wait for it: a foreign-thread caller. */
typedef int (*int_fn)(int);
struct thread_call { int_fn fn; int arg, result; };
static void *thread_main(void *p) {
    struct thread_call *tc = p;
    tc->result = tc->fn(tc->arg);
    return NULL;
}
int helper_call_in_thread(int_fn fn, int arg) {
    struct thread_call tc = {fn, arg, -1};
    pthread_t t;
    if (pthread_create(&t, NULL, thread_main, &tc) != 0) return -2;
    pthread_join(t, NULL);
    return tc.result;
}

/* libc's pthread_create and pthread_join in one native call: the main thread stays in C for the
 * new thread's whole life, which is the serialization threads = "any" asks of its host. */
int helper_spawn_join(void *(*start)(void *), void *arg, void **result) {
    pthread_t t;
    int rc = pthread_create(&t, NULL, start, arg);
    if (rc != 0) return rc;
    return pthread_join(t, result);
}

/* A host that serializes the Lua state with a mutex: nthreads pthreads each call fn(i) ncalls
 * times, one call at a time, while the caller waits in C. Returns the sum of the results, or -1
 * when a thread could not start. */
struct serialized_call {
    int_fn fn;
    pthread_mutex_t *lock;
    int ncalls;
    long sum;
};
static void *serialized_main(void *p) {
    struct serialized_call *sc = p;
    for (int i = 0; i < sc->ncalls; i++) {
        pthread_mutex_lock(sc->lock);
        sc->sum += sc->fn(i);
        pthread_mutex_unlock(sc->lock);
    }
    return NULL;
}
long helper_call_serialized(int_fn fn, int nthreads, int ncalls) {
    enum { MAX_THREADS = 16 };
    if (nthreads < 1 || nthreads > MAX_THREADS) return -1;
    pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    struct serialized_call calls[MAX_THREADS];
    pthread_t threads[MAX_THREADS];
    int started = 0;
    for (; started < nthreads; started++) {
        calls[started] = (struct serialized_call){fn, &lock, ncalls, 0};
        if (pthread_create(&threads[started], NULL, serialized_main, &calls[started]) != 0) break;
    }
    long sum = 0;
    for (int i = 0; i < started; i++) {
        pthread_join(threads[i], NULL);
        sum += calls[i].sum;
    }
    return started == nthreads ? sum : -1;
}

/* Set errno, call fn, report errno: whether a callback leaves errno as it found it. */
int helper_errno_across(void (*fn)(void), int value) {
    errno = value;
    fn();
    return errno;
}

/* Plain callers. */
int helper_call_ii(int (*fn)(int, int), int a, int b) { return fn(a, b); }
const char *helper_call_str(const char *(*fn)(int), int a) { return fn(a); }
size_t helper_strlen_of(const char *(*fn)(int), int a) {
    const char *s = fn(a);
    return s ? strlen(s) : (size_t)-1;
}
int helper_call_n(int (*fn)(int), int times) {
    int acc = 0;
    for (int i = 0; i < times; i++) acc += fn(i);
    return acc;
}

/* Structs by value, as game code passes them: natives taking and returning them, and callers of
 * callbacks that do. */
typedef struct { float x, y, z; } helper_vec3;
typedef struct { int x, y, w, h; } helper_rect;
typedef struct { unsigned char r, g, b, a; } helper_color;
typedef struct { helper_vec3 pos; helper_color tint; double weight; int ids[3]; } helper_entity;

helper_vec3 helper_vec3_add(helper_vec3 a, helper_vec3 b) {
    return (helper_vec3){a.x + b.x, a.y + b.y, a.z + b.z};
}
int helper_rect_area(helper_rect r) { return r.w * r.h; }
helper_entity helper_entity_moved(helper_entity e, helper_vec3 by) {
    e.pos = helper_vec3_add(e.pos, by);
    e.ids[2] += 1;
    return e;
}
/* Calls cb(v, k) twice and sums the results' components. */
float helper_call_vec3(helper_vec3 (*cb)(helper_vec3, float), helper_vec3 v, float k) {
    helper_vec3 a = cb(v, k), b = cb(a, k);
    return b.x + b.y + b.z;
}
/* Calls cb with an entity built in C and returns what it returned. */
helper_entity helper_call_entity(helper_entity (*cb)(int, helper_entity)) {
    helper_entity e = {{1.5f, -2.0f, 4.0f}, {10, 20, 30, 255}, 0.25, {7, 8, 9}};
    return cb(42, e);
}

/* long double (x87 extended on x86; double on 32-bit ARM). */
long double helper_ld_scale(long double x, int k) { return x * k; }
long double helper_ld_call(long double (*cb)(long double, int), long double x) { return cb(x, 3) + 1; }
