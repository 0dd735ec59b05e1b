/*
 * barefn.c - typed zero-marshalling thunks (BareFn, BareFnMut, BareFnOnce).
 *
 * A template (see CFFI_BAREFN in cffi.h) is a compiled function with the bare signature whose body
 * starts with the CFFI_BAREFN_RECORD block. The first thunk of a template relocates the template's
 * prologue (the code before the block) into an image, followed by the tail (cffi_reloc_tail): the
 * block's record load, then the template's body copied to run in place up to its ret or tail
 * call, so that a call runs straight through without jumping back into the template. Where the
 * copy stops early (before a call in the body, at anything it cannot move) and on branches to
 * code it did not copy, it continues in the template itself, which is always right: the copy ran
 * the same instructions on the same registers and stack. Every thunk is that image in executable
 * memory with its record's address in the record slot and, in a near image, the displacements of
 * its references into the program filled in: a copy and a few stores.
 *
 * Memory: thunk code is bump-allocated from the executable-memory arena shared by all templates
 * (jit/arena.c; written through its RW view, run through its RX view). A thunk's code and record
 * stay paired for the life of the process: a freed thunk's record switches to the template's trap
 * (which reports and returns zero) and joins its template's quarantine, and the pair is handed out
 * again only once CFFI_QUARANTINE later thunks of the template were freed.
 *
 * Freed thunks of a template whose code never reads the record's fn (CFFI_BAREFN_FN calls its
 * handler by name) need more than the record switch. Such a template has a dead template
 * (cffi_barefn_template.dead): the same signature, its body the plain call of the record's fn.
 * Each thunk's slot holds, before its entry, a copy of the dead template's image with the same
 * record and a hop to it; freeing the thunk closes its gate (the two bytes after the entry's
 * endbr become a short jump to the hop), so that a call runs the dead copy from its own prologue
 * and reaches the trap; a reuse opens the gate again. The dead copy cannot instead continue from
 * the live copy's record load into the dead template's body: the two templates are compiled
 * separately, and their prologues leave different frames (saved registers, stack adjustments,
 * arguments already loaded) that each body expects.
 */
#include "os/os.h"
#include "reloc/reloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define BAREFN_HAVE_VALGRIND_H 1
#endif
#endif

struct cffi_barefn {
    cffi_barefn_rec rec; /* MUST be first: the thunk's code holds this address */
    cffi_barefn_template *tpl;
    void *code;          /* executable address of the thunk */
    /* A template with a dead path: the gate through the slot's writable view (and its address in
     * the executable one), and its two settings, the live image's own bytes and the jump to the
     * dead copy. gate_rw NULL: none. */
    uint8_t *gate_rw, *gate_rx;
    uint8_t gate_open[CFFI_RELOC_GATE_LEN], gate_closed[CFFI_RELOC_GATE_LEN];
    bool dead;           /* freed (read by the report path, racing with nothing but a reuse) */
    cffi_qlink freed;    /* in its template's quarantine once freed */
};
_Static_assert(offsetof(struct cffi_barefn, rec) == 0, "the record is the thunk's address");

/* One relocated image of a template: the prologue, the tail (the record load and as much of the
 * body as runs in place), the prologue's cold paths. */
typedef struct tpl_image {
    const void *src;        /* the template function it was made from */
    size_t unwind_size;     /* bytes of unwind data a copy carries (os.h), known once per image */
    uint8_t *code;
    size_t len;
    size_t record_at;       /* offset of the record slot */
    cffi_reloc_fixup *fix;  /* near image: rel32s into the program, filled in per copy */
    size_t nfix;
    uintptr_t lo, hi;       /* the lowest and highest of their targets */
    uintptr_t code_tag;     /* added to a copy's address to call it (cffi_reloc_block) */
} tpl_image;

/* The two forms of one template function's image. */
typedef struct tpl_forms {
    tpl_image far;      /* absolute references only, for copies anywhere (code NULL if the
                         * target has no such form) */
    tpl_image near;     /* rel32s into the program, for copies within their reach (code NULL:
                         * no such form) */
} tpl_forms;

/* Per template, computed once (status != CFFI_OK caches a permanent failure). */
typedef struct tpl_cache {
    cffi_status status;
    char msg[256];
    tpl_forms live;     /* the template's own code */
    tpl_forms dead;     /* its dead template's (both code NULL: none) */
    cffi_quarantine freed; /* freed thunks of the template: record and code reused together */
} tpl_cache;

enum {
    TEMPLATE_SCAN_LIMIT = 1024,   /* the block must start within this many bytes of the entry */
    OUT_OF_LINE_LIMIT = 512,      /* most bytes of cold prologue paths laid out elsewhere */
    BODY_SCAN_LIMIT = 4096,       /* bytes of template body explored to recognise it */
    BODY_COPY_LIMIT = 256,        /* most bytes of template body a copy runs in place */
    SLOT_ALIGN = CFFI_JIT_ARENA_ALIGN, /* thunk entries on a fetch-friendly boundary */
};

/* One lock for template caches and their quarantines: creation is not a hot path, and after the
 * first thunk of a template it is a copy and a store under this lock. */
static cffi_os_lock barefn_lock = CFFI_OS_LOCK_INIT;
static cffi_barefn_hook barefn_hook;
static _Thread_local char last_error[256];

/* ---------------------------------------------------------------------------------------------
 * Reporting.
 */
const char *cffi_barefn_event_text(cffi_barefn_event ev) {
    switch (ev) {
    case CFFI_BAREFN_EV_REENTERED: return "re-entrant or concurrent call of a BareFnMut refused";
    case CFFI_BAREFN_EV_CALLED_TWICE: return "called more than once";
    case CFFI_BAREFN_EV_FREED: return "call through a freed thunk";
    }
    return "unknown event";
}

void cffi_set_barefn_hook(cffi_barefn_hook hook) {
    __atomic_store_n(&barefn_hook, hook, __ATOMIC_RELEASE);
}

void cffi_barefn_report(cffi_barefn_rec *record, cffi_barefn_event ev) {
    cffi_barefn *b = (cffi_barefn *)record;
    /* A freed BareFnOnce that already trapped once says "freed" again, not "called twice". */
    if (__atomic_load_n(&b->dead, __ATOMIC_ACQUIRE)) ev = CFFI_BAREFN_EV_FREED;
    cffi_barefn_hook hook = __atomic_load_n(&barefn_hook, __ATOMIC_ACQUIRE);
    const char *name = b->tpl && b->tpl->name ? b->tpl->name : "barefn";
    if (hook)
        hook(b, name, ev);
    else
        fprintf(stderr, "cffi: %s: %s\n", name, cffi_barefn_event_text(ev));
}

const char *cffi_last_reloc_error(void) { return last_error; }

static cffi_status fail(cffi_status st, const char *msg, char *errbuf, size_t errlen) {
    cffi_errorf(last_error, sizeof last_error, "%s", msg && msg[0] ? msg : cffi_strerror(st));
    cffi_errorf(errbuf, errlen, "%s", last_error);
    return st;
}

/* ---------------------------------------------------------------------------------------------
 * Template caches (called with barefn_lock held).
 */
static void image_free(tpl_image *img) {
    free(img->code);
    free(img->fix);
    memset(img, 0, sizeof *img);
}

static cffi_status image_build(const void *code, const cffi_reloc_block *blk, bool near,
                               tpl_image *img, char *why, size_t whylen) {
    /* What follows the relocated prologue: the record load and the body run in place (or the
     * block's jump back into the template, if none of the body can be). */
    cffi_reloc_tail tail;
    cffi_status st = cffi_reloc_tail_build(blk, near, BODY_COPY_LIMIT, &tail);
    if (st != CFFI_OK) return st;
    /* No path from the entry may reach into the block or its landing pad without going through
     * its start. */
    cffi_reloc_request rq = {
        .src = code,
        .len = blk->prologue_len,
        .tail = tail.code,
        .tail_len = tail.len,
        .guard_len = blk->guard_len,
        .max_outside = OUT_OF_LINE_LIMIT,
        .body = blk->landing,
        .body_limit = BODY_SCAN_LIMIT,
        .flags = CFFI_RELOC_ENTRY,
    };
    size_t tail_off = 0;
    st = cffi_reloc_copy(&rq, &img->code, &img->len, &tail_off, why, whylen);
    if (st == CFFI_OK) {
        img->src = code;
        img->code_tag = blk->code_tag;
        img->unwind_size = cffi_os_unwind_data_size(code);
        /* The tail's offsets become the image's. */
        img->record_at = tail_off + tail.record_slot;
        img->fix = tail.fix;
        img->nfix = tail.nfix;
        tail.fix = NULL;
        img->lo = img->hi = (uintptr_t)blk->landing;
        for (size_t i = 0; i < img->nfix; i++) {
            img->fix[i].at += tail_off;
            img->fix[i].from += tail_off;
            uintptr_t target = (uintptr_t)img->fix[i].target;
            if (target < img->lo) img->lo = target;
            if (target > img->hi) img->hi = target;
        }
    }
    cffi_reloc_tail_free(&tail);
    return st;
}

static void forms_free(tpl_forms *f) {
    image_free(&f->far);
    image_free(&f->near);
}

/* The images of the template function at code, in every form its block allows. */
static cffi_status forms_build(const void *code, tpl_forms *f, char *why, size_t whylen) {
    cffi_reloc_block blk;
    cffi_status st = cffi_reloc_find_block(code, TEMPLATE_SCAN_LIMIT, &blk, why, whylen);
    if (st == CFFI_OK && blk.slot_size != sizeof(uintptr_t)) {
        cffi_errorf(why, whylen, "record slots of %zu bytes", blk.slot_size);
        st = CFFI_ERELOC;
    }
    if (st == CFFI_OK && blk.has_far) st = image_build(code, &blk, false, &f->far, why, whylen);
    if (st == CFFI_OK && blk.near_len) st = image_build(code, &blk, true, &f->near, why, whylen);
    if (st != CFFI_OK) forms_free(f);
    return st;
}

/* Whether two templates have an image form in common: a thunk of a template with a dead path
 * holds both images in one form. */
static bool forms_common(const tpl_forms *a, const tpl_forms *b) {
    return (a->near.code && b->near.code) || (a->far.code && b->far.code);
}

static cffi_status cache_build(cffi_barefn_template *t, tpl_cache **out) {
    *out = NULL;
    tpl_cache *c = calloc(1, sizeof *c);
    if (!c) return CFFI_ENOMEM;
    char why[200] = "";
    const char *part = "";
    cffi_status st = forms_build(t->code, &c->live, why, sizeof why);
    if (st == CFFI_OK && t->dead) {
        part = " (its dead template)";
        st = forms_build(t->dead, &c->dead, why, sizeof why);
        if (st == CFFI_OK && !forms_common(&c->live, &c->dead)) {
            cffi_errorf(why, sizeof why, "no image form common to both templates");
            st = CFFI_ERELOC;
        }
    }
    if (st != CFFI_OK) {
        forms_free(&c->live);
        forms_free(&c->dead);
    }
    if (st == CFFI_ENOMEM) { /* transient: the next attempt starts over */
        free(c);
        return st;
    }
    c->status = st;
    if (st != CFFI_OK)
        cffi_errorf(c->msg, sizeof c->msg, "template %s%s: %s", t->name ? t->name : "?", part,
                    why);
    *out = c;
    return st;
}

static size_t slot_round(size_t size) {
    return (size + CFFI_JIT_ARENA_ALIGN - 1) & ~(size_t)(CFFI_JIT_ARENA_ALIGN - 1);
}

/* One thunk's slot: the template's image, and for a template with a dead path, before it, a copy
 * of the dead template's image and the hop to that copy:
 *
 *   dead copy | hop | padding to SLOT_ALIGN | live copy (the entry, its gate after its endbr)
 *
 * The hop sits within SLOT_ALIGN + CFFI_RELOC_HOP_LEN bytes before the gate, well within the
 * gate's short reach, however long the dead copy is. */
typedef struct slot_plan {
    const tpl_image *live, *dead; /* dead NULL: no dead path */
    size_t hop_at, live_at;
    /* Where each image's unwind data goes (os.h: cffi_os_unwind_describe), after the code;
     * sizes 0 where the OS needs none. */
    size_t live_unwind_at, live_unwind_size, dead_unwind_at, dead_unwind_size;
    size_t size;
} slot_plan;
_Static_assert(SLOT_ALIGN + CFFI_RELOC_HOP_LEN + CFFI_RELOC_GATE_AT + CFFI_RELOC_GATE_LEN <=
                   CFFI_RELOC_GATE_REACH, "the gate reaches the hop");
_Static_assert(SLOT_ALIGN % CFFI_RELOC_GATE_LEN == 0 &&
                   CFFI_RELOC_GATE_AT % CFFI_RELOC_GATE_LEN == 0,
               "the gate is naturally aligned: one store writes it");

enum { UNWIND_DATA_ALIGN = 4 };

static slot_plan plan_slot(const tpl_image *live, const tpl_image *dead) {
    slot_plan p = {.live = live, .dead = dead};
    if (dead) {
        p.hop_at = dead->len;
        p.live_at = slot_round(dead->len + CFFI_RELOC_HOP_LEN);
    }
    size_t end = p.live_at + live->len;
    p.live_unwind_size = live->unwind_size;
    p.live_unwind_at = (end + UNWIND_DATA_ALIGN - 1) & ~(size_t)(UNWIND_DATA_ALIGN - 1);
    end = p.live_unwind_at + p.live_unwind_size;
    p.dead_unwind_size = dead ? dead->unwind_size : 0;
    p.dead_unwind_at = end;
    p.size = p.dead_unwind_at + p.dead_unwind_size;
    return p;
}

/* Tell the OS's unwinder about the copies (Windows x64; nothing elsewhere). A copy it cannot
 * describe (its template's unwind data names a handler, or the block is a host allocator's)
 * unwinds as the block's leaf code: no worse than a copy without any description, and never a
 * reason to refuse a thunk. */
static void slot_describe(const slot_plan *p, uint8_t *rx, uint8_t *rw) {
    if (p->dead && p->dead_unwind_size)
        (void)cffi_os_unwind_describe(rx, p->dead->len, p->dead->src, rw + p->dead_unwind_at,
                                      rx + p->dead_unwind_at);
    if (p->live_unwind_size)
        (void)cffi_os_unwind_describe(rx + p->live_at, p->live->len, p->live->src,
                                      rw + p->live_unwind_at, rx + p->live_unwind_at);
}

/* Space for the plan's slot: near both images' rel32 targets if they have any, else anywhere. */
static cffi_status plan_alloc(const slot_plan *p, uint8_t **rx, uint8_t **rw) {
    size_t nfix = p->live->nfix + (p->dead ? p->dead->nfix : 0);
    if (!nfix) return cffi_jit_arena_alloc(p->size, false, 0, 0, rx, rw);
    uintptr_t lo = p->live->lo, hi = p->live->hi;
    if (p->dead && p->dead->nfix) {
        if (p->dead->lo < lo) lo = p->dead->lo;
        if (p->dead->hi > hi) hi = p->dead->hi;
    }
    return cffi_jit_arena_alloc(p->size, true, lo, hi, rx, rw);
}

/* The image at rx (written through rw) with its record's address and its displacements. */
static void image_write(const tpl_image *img, uint8_t *rx, uint8_t *rw, uintptr_t rec) {
    memcpy(rw, img->code, img->len);
    memcpy(rw + img->record_at, &rec, sizeof rec);
    for (size_t i = 0; i < img->nfix; i++) {
        const cffi_reloc_fixup *f = &img->fix[i];
        int32_t rel = (int32_t)(uint32_t)((uintptr_t)f->target - (uintptr_t)(rx + f->from));
        memcpy(rw + f->at, &rel, sizeof rel);
    }
}

/* Fill the slot at rx (rw) for the thunk b; its gate starts open. */
static void slot_write(const slot_plan *p, uint8_t *rx, uint8_t *rw, cffi_barefn *b) {
    uintptr_t rec = (uintptr_t)&b->rec;
    uint8_t *entry = rx + p->live_at;
    uintptr_t tag = p->live->code_tag;
    image_write(p->live, entry, rw + p->live_at, rec);
    b->code = entry + tag;
    b->gate_rw = NULL;
    if (p->dead) {
        image_write(p->dead, rx, rw, rec);
        /* The hop is in the live copy's instruction set (the gate's jump keeps it); it leads to
         * the dead copy in the dead template's. */
        cffi_reloc_put_hop(rw + p->hop_at, rx + p->hop_at + tag, rx + p->dead->code_tag);
        b->gate_rw = rw + p->live_at + CFFI_RELOC_GATE_AT;
        b->gate_rx = entry + CFFI_RELOC_GATE_AT;
        memcpy(b->gate_open, b->gate_rw, sizeof b->gate_open);
        cffi_reloc_gate_closed(entry + CFFI_RELOC_GATE_AT + tag, rx + p->hop_at + tag,
                               b->gate_closed);
    }
    slot_describe(p, rx, rw);
    cffi_jit_block_flush(rx, p->size);
}

/* Code for a new thunk b: the near images where their rel32s reach (anywhere, if they have
 * none), else the far images anywhere. */
static cffi_status place_copy(const tpl_cache *c, bool has_dead, cffi_barefn *b) {
    uint8_t *rx = NULL, *rw = NULL;
    slot_plan p = {0};
    cffi_status st = CFFI_ENOEXEC;
    if (c->live.near.code && (!has_dead || c->dead.near.code)) {
        p = plan_slot(&c->live.near, has_dead ? &c->dead.near : NULL);
        st = plan_alloc(&p, &rx, &rw);
    }
    if (st != CFFI_OK && c->live.far.code && (!has_dead || c->dead.far.code)) {
        p = plan_slot(&c->live.far, has_dead ? &c->dead.far : NULL);
        st = cffi_jit_arena_alloc(p.size, false, 0, 0, &rx, &rw);
    }
    if (st != CFFI_OK) return st;
    slot_write(&p, rx, rw, b);
    return CFFI_OK;
}

/* Valgrind translates code once and does not see code in a file mapping (the dual-mapped memory
 * file) change: the gate is the only code written after it may have run, so its translation is
 * dropped there. The request is a few instructions that do nothing outside valgrind. */
static void forget_translations(const void *code, size_t len) {
#ifdef BAREFN_HAVE_VALGRIND_H
    VALGRIND_DISCARD_TRANSLATIONS(code, len);
#else
    (void)code, (void)len;
#endif
}

/* The gate as one machine word: two bytes on x86 (a short jmp), one instruction on AArch64. */
#if CFFI_RELOC_GATE_LEN == 2
typedef uint16_t gate_word;
#elif CFFI_RELOC_GATE_LEN == 4
typedef uint32_t gate_word;
#else
#error "barefn.c: a gate is one 2- or 4-byte store"
#endif

/* Set a thunk's gate: one naturally aligned store, so that instruction fetch on another thread
 * sees the old bytes or the new ones, never a mix. */
static void gate_set(cffi_barefn *b, const uint8_t bytes[CFFI_RELOC_GATE_LEN]) {
    gate_word v;
    _Static_assert(sizeof v == CFFI_RELOC_GATE_LEN, "the gate is one store");
    memcpy(&v, bytes, sizeof v);
    __atomic_store_n((gate_word *)(void *)b->gate_rw, v, __ATOMIC_RELEASE);
    uint8_t *gate = b->gate_rx;
    cffi_jit_block_flush(gate, CFFI_RELOC_GATE_LEN);
    forget_translations(gate, CFFI_RELOC_GATE_LEN);
}

/* ---------------------------------------------------------------------------------------------
 * Thunks.
 */
cffi_status cffi_barefn_new_ex(cffi_barefn_template *t, void *fn, void *ctx, cffi_barefn **out,
                               char *errbuf, size_t errlen) {
    if (errlen) errbuf[0] = '\0';
    if (!out) return fail(CFFI_EINVAL, "out is NULL", errbuf, errlen);
    *out = NULL;
    if (!t || !t->code || !t->trap || !fn)
        return fail(CFFI_EINVAL, "NULL template or handler", errbuf, errlen);

    cffi_os_lock_take(&barefn_lock);
    tpl_cache *c = t->cache;
    if (!c) {
        cffi_status st = cache_build(t, &c);
        if (!c) {
            cffi_os_lock_give(&barefn_lock);
            return fail(st, NULL, errbuf, errlen);
        }
        t->cache = c;
    }
    if (c->status != CFFI_OK) {
        cffi_status st = c->status;
        char msg[sizeof c->msg];
        memcpy(msg, c->msg, sizeof msg);
        cffi_os_lock_give(&barefn_lock);
        return fail(st, msg, errbuf, errlen);
    }

    cffi_barefn *b;
    cffi_qlink *served = cffi_quarantine_release(&c->freed);
    bool reused = served != NULL;
    if (reused) {
        /* Out of quarantine: record and code are reused together; the gate, if any, opens below,
         * once the record is the new thunk's. */
        b = CFFI_QUARANTINE_OWNER(served, cffi_barefn, freed);
    } else {
        b = calloc(1, sizeof *b);
        if (!b) {
            cffi_os_lock_give(&barefn_lock);
            return fail(CFFI_ENOMEM, NULL, errbuf, errlen);
        }
        cffi_status st = place_copy(c, t->dead != NULL, b);
        if (st != CFFI_OK) {
            cffi_os_lock_give(&barefn_lock);
            free(b);
            return fail(st, "no executable memory for the thunk", errbuf, errlen);
        }
        b->tpl = t;
    }
    b->rec.ctx = ctx;
    b->rec.kind = (unsigned)t->kind;
    __atomic_store_n(&b->rec.state, 0u, __ATOMIC_RELAXED);
    __atomic_store_n(&b->dead, false, __ATOMIC_RELAXED);
    __atomic_store_n(&b->rec.fn, fn, __ATOMIC_RELEASE);
    /* A reused thunk with a dead path: a call until the gate opens runs the dead copy, which now
     * calls the new fn with the new ctx, as the live copy will. */
    if (reused && b->gate_rw) gate_set(b, b->gate_open);
    cffi_os_lock_give(&barefn_lock);
    last_error[0] = '\0';
    *out = b;
    return CFFI_OK;
}

cffi_status cffi_barefn_new(cffi_barefn_template *t, void *fn, void *ctx, cffi_barefn **out) {
    return cffi_barefn_new_ex(t, fn, ctx, out, NULL, 0);
}

void *cffi_barefn_code(const cffi_barefn *b) { return b ? b->code : NULL; }

void cffi_barefn_free(cffi_barefn *b) {
    if (!b) return;
    cffi_os_lock_take(&barefn_lock);
    if (!b->dead) {
        /* Close the gate first: from here on a call runs the dead copy, which calls the record's
         * fn, so it runs the handler as before until the record switches to the trap below. A
         * call that passed the gate before it closed runs the live copy on (a freeing that races
         * a call is the caller's race): it may see the record below half switched, and one that
         * has just run a first instruction of one byte resumes in the middle of the jump. */
        if (b->gate_rw) gate_set(b, b->gate_closed);
        /* The trap gets the record as its context, so it can name the thunk. */
        b->rec.ctx = &b->rec;
        __atomic_store_n(&b->rec.state, 0u, __ATOMIC_RELAXED);
        __atomic_store_n(&b->dead, true, __ATOMIC_RELEASE);
        __atomic_store_n(&b->rec.fn, b->tpl->trap, __ATOMIC_RELEASE);
        cffi_quarantine_push(&((tpl_cache *)b->tpl->cache)->freed, &b->freed);
    }
    cffi_os_lock_give(&barefn_lock);
}
