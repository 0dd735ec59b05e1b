/*
 * quarantine.h - the quarantine every freed executable address waits in: a FIFO whose oldest
 * entry leaves only once more than CFFI_QUARANTINE others wait behind it, so that an address is
 * reused only after that many later frees. Closure slots (thunk.c) and typed thunks (barefn.c,
 * one quarantine per template) share it. Intrusive: the waiting object embeds a cffi_qlink. Not
 * thread-safe: the owner's lock covers it.
 */
#ifndef CFFI_QUARANTINE_QUEUE_H
#define CFFI_QUARANTINE_QUEUE_H

#include <stddef.h>

#include "cffi.h" /* CFFI_QUARANTINE */

typedef struct cffi_qlink {
    struct cffi_qlink *next;
} cffi_qlink;

typedef struct cffi_quarantine {
    cffi_qlink *head; /* oldest */
    cffi_qlink *tail; /* newest */
    size_t count;
} cffi_quarantine;

/* The object that embeds link as its member named member. */
#define CFFI_QUARANTINE_OWNER(link, type, member) \
    ((type *)(void *)((char *)(link) - offsetof(type, member)))

static inline void cffi_quarantine_push(cffi_quarantine *q, cffi_qlink *link) {
    link->next = NULL;
    if (q->tail) q->tail->next = link;
    else q->head = link;
    q->tail = link;
    q->count++;
}

/* The oldest entry, if it has served its time (more than CFFI_QUARANTINE behind it), else NULL. */
static inline cffi_qlink *cffi_quarantine_release(cffi_quarantine *q) {
    if (q->count <= CFFI_QUARANTINE) return NULL;
    cffi_qlink *link = q->head;
    q->head = link->next;
    if (!q->head) q->tail = NULL;
    q->count--;
    link->next = NULL;
    return link;
}

#endif /* CFFI_QUARANTINE_QUEUE_H */
