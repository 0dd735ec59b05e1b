/*
 * os_types.h - locks and thread identity for POSIX systems (the contract is in os/os.h): thin
 * inline wrappers over pthreads, so that a lock costs what pthread_mutex_lock costs.
 */
#ifndef CFFI_OS_TYPES_H
#define CFFI_OS_TYPES_H

#include <pthread.h>
#include <stdbool.h>

typedef pthread_mutex_t cffi_os_lock;
#define CFFI_OS_LOCK_INIT PTHREAD_MUTEX_INITIALIZER

static inline void cffi_os_lock_take(cffi_os_lock *lock) { pthread_mutex_lock(lock); }
static inline void cffi_os_lock_give(cffi_os_lock *lock) { pthread_mutex_unlock(lock); }

typedef pthread_t cffi_os_thread;

static inline cffi_os_thread cffi_os_thread_self(void) { return pthread_self(); }
static inline bool cffi_os_thread_equal(cffi_os_thread a, cffi_os_thread b) {
    return pthread_equal(a, b) != 0;
}

#endif /* CFFI_OS_TYPES_H */
