/*
 * os_types.h - locks and thread identity for Windows (the contract is in os/os.h): slim
 * reader/writer locks, which need no initialisation call and no cleanup, and thread ids.
 */
#ifndef CFFI_OS_TYPES_H
#define CFFI_OS_TYPES_H

#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>
/* 16-bit Windows' pointer qualifiers, still defined empty by windef.h; cffi names variables and
 * fields "near" and "far" (placement of code within reach of the program). */
#undef near
#undef far

#include <stdbool.h>

typedef SRWLOCK cffi_os_lock;
#define CFFI_OS_LOCK_INIT SRWLOCK_INIT

static inline void cffi_os_lock_take(cffi_os_lock *lock) { AcquireSRWLockExclusive(lock); }
static inline void cffi_os_lock_give(cffi_os_lock *lock) { ReleaseSRWLockExclusive(lock); }

/* A thread id names one thread for as long as it runs, like pthread_t. */
typedef DWORD cffi_os_thread;

static inline cffi_os_thread cffi_os_thread_self(void) { return GetCurrentThreadId(); }
static inline bool cffi_os_thread_equal(cffi_os_thread a, cffi_os_thread b) { return a == b; }

#endif /* CFFI_OS_TYPES_H */
