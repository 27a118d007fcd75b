/*
 * NOrec on arbitrary memory: the read log, the byte-precise redo log, the
 * undo log.
 *
 * The algorithm is libstm's NOrec (src/fallback/norec.c, after
 * Dalessandro, Spear and Scott, PPoPP 2010) with the unit of access
 * changed from a TVar word to any range of bytes:
 *
 *  - A read of [p, p+n) is split into naturally aligned pieces of 1, 2, 4
 *    or 8 bytes (never crossing an 8-byte word), each loaded atomically,
 *    checked against the snapshot like a TVar read, and logged as
 *    (address, size, value).  Validation reloads each piece at its size and
 *    compares: reads of any size and alignment are validated by value, and
 *    only the bytes the transaction read take part.
 *  - The redo log has one entry per aligned 8-byte word with a byte mask of
 *    the bytes written.  Write-back stores only masked bytes, in the
 *    largest aligned pieces the mask allows: a transaction that wrote one
 *    byte never writes its neighbours back, so two transactions writing
 *    adjacent bytes both land.  A read of a word the transaction wrote
 *    takes the written bytes from the log and the others from memory
 *    (those are logged and validated as usual).
 *  - The undo log keeps old bytes: of thread-local data the compiler asks
 *    to save (_ITM_L*), and of memory a serial transaction writes in place.
 *    It is replayed newest first on a cancel or a restart.
 *
 * All shared accesses are atomic (relaxed, at the piece's size) so that
 * ThreadSanitizer sees no race; ordering comes from the fences around the
 * seq loads, as in norec.c.
 */
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "../core/hybrid.h"
#include "../core/wait.h"
#include "../core/misuse.h"
#include "itm.h"

static uint64_t load_piece(uintptr_t a, unsigned size)
{
    switch (size) {
    case 1:
        return __atomic_load_n((const uint8_t *)a, __ATOMIC_RELAXED);
    case 2:
        return __atomic_load_n((const uint16_t *)a, __ATOMIC_RELAXED);
    case 4:
        return __atomic_load_n((const uint32_t *)a, __ATOMIC_RELAXED);
    default:
        return __atomic_load_n((const uint64_t *)a, __ATOMIC_RELAXED);
    }
}

static void store_piece(uintptr_t a, unsigned size, uint64_t v)
{
    switch (size) {
    case 1:
        __atomic_store_n((uint8_t *)a, (uint8_t)v, __ATOMIC_RELAXED);
        break;
    case 2:
        __atomic_store_n((uint16_t *)a, (uint16_t)v, __ATOMIC_RELAXED);
        break;
    case 4:
        __atomic_store_n((uint32_t *)a, (uint32_t)v, __ATOMIC_RELAXED);
        break;
    default:
        __atomic_store_n((uint64_t *)a, v, __ATOMIC_RELAXED);
        break;
    }
}

/* The largest naturally aligned piece at a within n bytes. */
static unsigned piece_size(uintptr_t a, size_t n)
{
    if ((a & 7) == 0 && n >= 8)
        return 8;
    if ((a & 3) == 0 && n >= 4)
        return 4;
    if ((a & 1) == 0 && n >= 2)
        return 2;
    return 1;
}

/* Copy n bytes piecewise with atomic loads / stores (shared memory that
 * others may access concurrently). */
static void load_bytes(void *dst, const void *src, size_t n)
{
    uintptr_t a = (uintptr_t)src;
    char *d = dst;
    while (n > 0) {
        unsigned sz = piece_size(a, n);
        uint64_t v = load_piece(a, sz);
        memcpy(d, &v, sz);
        a += sz;
        d += sz;
        n -= sz;
    }
}

static void store_bytes(void *dst, const void *src, size_t n)
{
    uintptr_t a = (uintptr_t)dst;
    const char *s = src;
    while (n > 0) {
        unsigned sz = piece_size(a, n);
        uint64_t v = 0;
        memcpy(&v, s, sz);
        store_piece(a, sz, v);
        a += sz;
        s += sz;
        n -= sz;
    }
}

static void *grow(void *e, size_t *cap, size_t elem)
{
    size_t c = *cap ? *cap * 2 : 64;
    void *p = realloc(e, c * elem);
    if (p == NULL)
        stm_fatal("libstm-itm", "out of memory growing a transaction log");
    *cap = c;
    return p;
}

/* The transaction's own stack: this thread's stack below the frame that
 * began the outermost transaction (jb.sp).  Only this thread uses it, and
 * below the running frame it is dead or ours: the frames of functions the
 * transaction called and returned from, where libstm-itm's own frames live
 * now or will.  So writes there go in place (undo-logged, in case a nested
 * transaction that is still on the stack cancels); reads logged there are
 * not validated; rollbacks restore only what lies above the rolled-back
 * transaction's begin, never the frames below it. */
static inline bool own_stack(const struct stm_itm_tx *t, uintptr_t a, uintptr_t live_from)
{
    return a >= t->stack_lo && a < live_from;
}

/* ---------------------------------------------------------------- reads */

static void rlog_append(struct stm_itm_tx *t, uintptr_t a, unsigned size, uint64_t v)
{
    if (__builtin_expect(t->r.n == t->r.cap, 0))
        t->r.e = grow(t->r.e, &t->r.cap, sizeof *t->r.e);
    t->r.e[t->r.n].key = ITM_RKEY(a, size);
    t->r.e[t->r.n].val = v;
    t->r.n++;
}

bool stm_itm_rlog_holds(const struct stm_itm_tx *t)
{
    const struct stm_itm_rentry *e = t->r.e;
    uintptr_t lo = t->stack_lo, hi = t->jb.sp;
    for (size_t i = 0, n = t->r.n; i < n; i++) {
        uintptr_t a = ITM_RADDR(e[i].key);
        if (a - lo < hi - lo)
            continue; /* our own stack */
        if (load_piece(a, ITM_RSIZE(e[i].key)) != e[i].val)
            return false;
    }
    return true;
}

void stm_itm_validate(struct stm_itm_tx *t)
{
    for (;;) {
        uint64_t s = stm_seq_even();
        uint64_t h = __atomic_load_n(STM_HW_COMMITS, __ATOMIC_ACQUIRE);
        if (!stm_itm_rlog_holds(t))
            stm_itm_restart(t);
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        if (__atomic_load_n(STM_SEQ, __ATOMIC_RELAXED) == s &&
            __atomic_load_n(STM_HW_COMMITS, __ATOMIC_RELAXED) == h) {
            t->snap = s;
            t->hsnap = h;
            return;
        }
    }
}

/* One piece from memory, consistent with the snapshot, logged. */
static uint64_t read_piece(struct stm_itm_tx *t, uintptr_t a, unsigned sz)
{
    uint64_t v = load_piece(a, sz);
    if (t->mode == ITM_NOREC) {
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        while (__atomic_load_n(STM_SEQ, __ATOMIC_RELAXED) != t->snap ||
               __atomic_load_n(STM_HW_COMMITS, __ATOMIC_RELAXED) != t->hsnap) {
            stm_itm_validate(t);
            v = load_piece(a, sz);
            __atomic_thread_fence(__ATOMIC_ACQUIRE);
        }
    }
    /* serial: nothing changes under us, but stm_itm_retry waits on the
     * read set */
    rlog_append(t, a, sz, v);
    return v;
}

/* --------------------------------------------------------------- writes */

static size_t whash(uintptr_t word, size_t mask)
{
    uint64_t a = (uint64_t)word;
    a *= 0x9e3779b97f4a7c15ull; /* Fibonacci hashing */
    return (size_t)(a >> 32) & mask;
}

static struct stm_itm_wentry *wlog_find(struct stm_itm_tx *t, uintptr_t word)
{
    if (!(t->w.filter & stm_itm_bit(word)) || t->w.n == 0)
        return NULL;
    for (size_t h = whash(word, t->w.index_mask);; h = (h + 1) & t->w.index_mask) {
        uint32_t k = t->w.index[h];
        if (k == 0)
            return NULL;
        if (t->w.e[k - 1].word == word)
            return &t->w.e[k - 1];
    }
}

static void index_put(struct stm_itm_tx *t, size_t i)
{
    size_t h = whash(t->w.e[i].word, t->w.index_mask);
    while (t->w.index[h] != 0)
        h = (h + 1) & t->w.index_mask;
    t->w.index[h] = (uint32_t)(i + 1);
}

static void index_rebuild(struct stm_itm_tx *t, size_t slots)
{
    if (slots > t->w.index_mask + 1 || t->w.index == NULL) {
        free(t->w.index);
        t->w.index = malloc(slots * sizeof *t->w.index);
        if (t->w.index == NULL)
            stm_fatal("libstm-itm", "out of memory growing a transaction log");
        t->w.index_mask = slots - 1;
    }
    memset(t->w.index, 0, (t->w.index_mask + 1) * sizeof *t->w.index);
    for (size_t i = 0; i < t->w.n; i++)
        index_put(t, i);
}

static struct stm_itm_wentry *wlog_insert(struct stm_itm_tx *t, uintptr_t word)
{
    if (__builtin_expect(t->w.n == t->w.cap, 0))
        t->w.e = grow(t->w.e, &t->w.cap, sizeof *t->w.e);
    /* keep the index at most half full */
    if (__builtin_expect(t->w.index == NULL || 2 * (t->w.n + 1) > t->w.index_mask + 1, 0)) {
        size_t slots = t->w.index == NULL ? 64 : 2 * (t->w.index_mask + 1);
        while (2 * (t->w.n + 1) > slots)
            slots *= 2;
        index_rebuild(t, slots);
    }
    struct stm_itm_wentry *e = &t->w.e[t->w.n];
    e->word = word;
    e->val = 0;
    e->mask = 0;
    t->w.filter |= stm_itm_bit(word);
    index_put(t, t->w.n);
    t->w.n++;
    return e;
}

static uint64_t byte_mask(unsigned off, unsigned len)
{
    uint64_t m = len >= 8 ? ~(uint64_t)0 : ((uint64_t)1 << (8 * len)) - 1;
    return m << (8 * off);
}

/* Log the bytes `v` (already at their offsets) under mask m in the entry
 * for `word`. */
static void wlog_put(struct stm_itm_tx *t, uintptr_t word, uint64_t v, uint64_t m)
{
    struct stm_itm_wentry *e = wlog_find(t, word);
    if (e == NULL) {
        e = wlog_insert(t, word);
    } else if (t->cp.n != 0 && (size_t)(e - t->w.e) < t->cp.e[t->cp.n - 1].wn) {
        /* made before the innermost checkpoint: keep its old contents so
         * that a cancel of the nested transaction restores them */
        if (t->shadow.n == t->shadow.cap)
            t->shadow.e = grow(t->shadow.e, &t->shadow.cap, sizeof *t->shadow.e);
        t->shadow.e[t->shadow.n++] = (struct stm_itm_shadow){(size_t)(e - t->w.e), e->val, e->mask};
    }
    e->val = (e->val & ~m) | (v & m);
    e->mask |= m;
}

/* ------------------------------------------------------ generic access */

void stm_itm_read_bytes(struct stm_itm_tx *t, void *dst, const void *src, size_t n)
{
    if (t->mode == ITM_HTM) {
        memcpy(dst, src, n);
        return;
    }
    if (t->mode == ITM_NONE)
        stm_fatal("libstm-itm", "transactional read outside a transaction");
    uintptr_t a = (uintptr_t)src;
    char *d = dst;
    while (n > 0) {
        uintptr_t word = a & ~(uintptr_t)7;
        unsigned off = (unsigned)(a & 7);
        unsigned len = 8 - off < n ? 8 - off : (unsigned)n;
        uint64_t m = byte_mask(off, len);
        struct stm_itm_wentry *e = t->mode == ITM_NOREC ? wlog_find(t, word) : NULL;
        uint64_t v = 0;
        if (e == NULL || (e->mask & m) != m) {
            /* some bytes come from memory: read them in aligned pieces */
            for (unsigned o = off; o < off + len;) {
                unsigned sz = piece_size(word + o, off + len - o);
                uint64_t pv = read_piece(t, word + o, sz);
                v |= (sz == 8 ? pv : pv & (((uint64_t)1 << (8 * sz)) - 1)) << (8 * o);
                o += sz;
            }
        }
        if (e != NULL)
            v = (v & ~e->mask) | (e->val & e->mask);
        v >>= 8 * off;
        memcpy(d, &v, len);
        a += len;
        d += len;
        n -= len;
    }
}

/* The serial owner writes in place, saving the old bytes first. */
static void write_in_place(struct stm_itm_tx *t, void *dst, const void *src, size_t n)
{
    stm_itm_undo_log(t, dst, n);
    store_bytes(dst, src, n);
    t->wrote_in_place = true;
}

void stm_itm_write_bytes(struct stm_itm_tx *t, void *dst, const void *src, size_t n)
{
    if (t->mode == ITM_HTM) {
        memcpy(dst, src, n);
        stm_itm_hw_note(t, dst, n);
        return;
    }
    if (own_stack(t, (uintptr_t)dst, t->jb.sp) && t->mode != ITM_NONE) {
        stm_itm_undo_log(t, dst, n);
        memcpy(dst, src, n);
        return;
    }
    if (t->mode == ITM_SERIAL) {
        write_in_place(t, dst, src, n);
        return;
    }
    if (t->mode == ITM_NONE)
        stm_fatal("libstm-itm", "transactional write outside a transaction");
    uintptr_t a = (uintptr_t)dst;
    const char *s = src;
    while (n > 0) {
        uintptr_t word = a & ~(uintptr_t)7;
        unsigned off = (unsigned)(a & 7);
        unsigned len = 8 - off < n ? 8 - off : (unsigned)n;
        uint64_t v = 0;
        memcpy(&v, s, len);
        wlog_put(t, word, v << (8 * off), byte_mask(off, len));
        a += len;
        s += len;
        n -= len;
    }
}

void stm_itm_set_bytes(struct stm_itm_tx *t, void *dst, int c, size_t n)
{
    char buf[256];
    memset(buf, c, sizeof buf);
    char *d = dst;
    while (n > 0) {
        size_t k = n < sizeof buf ? n : sizeof buf;
        stm_itm_write_bytes(t, d, buf, k);
        d += k;
        n -= k;
    }
}

/* ------------------------------------------------------------ write-back */

void stm_itm_write_back(struct stm_itm_tx *t, bool undo)
{
    __atomic_thread_fence(__ATOMIC_RELEASE);
    for (size_t i = 0; i < t->w.n; i++) {
        const struct stm_itm_wentry *e = &t->w.e[i];
        if (e->mask == ~(uint64_t)0) {
            if (undo)
                stm_itm_undo_log(t, (void *)e->word, 8);
            store_piece(e->word, 8, e->val);
            continue;
        }
        /* only the masked bytes, in the largest aligned pieces that lie
         * wholly inside the mask */
        for (unsigned o = 0; o < 8;) {
            if (!(e->mask >> (8 * o) & 0xff)) {
                o++;
                continue;
            }
            unsigned sz = 1;
            if ((o & 3) == 0 && (e->mask >> (8 * o) & 0xffffffffu) == 0xffffffffu)
                sz = 4;
            else if ((o & 1) == 0 && (e->mask >> (8 * o) & 0xffff) == 0xffff)
                sz = 2;
            if (undo)
                stm_itm_undo_log(t, (void *)(e->word + o), sz);
            store_piece(e->word + o, sz, e->val >> (8 * o));
            o += sz;
        }
    }
}

void stm_itm_wlog_clear(struct stm_itm_tx *t)
{
    if (t->w.n != 0 && t->w.index != NULL)
        memset(t->w.index, 0, (t->w.index_mask + 1) * sizeof *t->w.index);
    t->w.n = 0;
    t->w.filter = 0;
    t->shadow.n = 0;
}

void stm_itm_wlog_truncate(struct stm_itm_tx *t, size_t n, size_t shadow_n)
{
    /* restore entries the nested transaction changed, newest first */
    while (t->shadow.n > shadow_n) {
        const struct stm_itm_shadow *s = &t->shadow.e[--t->shadow.n];
        t->w.e[s->idx].val = s->val;
        t->w.e[s->idx].mask = s->mask;
    }
    if (n == t->w.n)
        return;
    t->w.n = n;
    t->w.filter = 0;
    for (size_t i = 0; i < n; i++)
        t->w.filter |= stm_itm_bit(t->w.e[i].word);
    if (t->w.index != NULL)
        index_rebuild(t, t->w.index_mask + 1);
}

/* ------------------------------------------------------------------ undo */

void stm_itm_undo_log(struct stm_itm_tx *t, const void *p, size_t n)
{
    if (n == 0)
        return;
    if (t->u.n == t->u.cap)
        t->u.e = grow(t->u.e, &t->u.cap, sizeof *t->u.e);
    while (t->u.an + n > t->u.acap) {
        size_t c = t->u.acap ? t->u.acap * 2 : 1024;
        char *a = realloc(t->u.arena, c);
        if (a == NULL)
            stm_fatal("libstm-itm", "out of memory growing the undo log");
        t->u.arena = a;
        t->u.acap = c;
    }
    load_bytes(t->u.arena + t->u.an, p, n);
    t->u.e[t->u.n++] = (struct stm_itm_undo){(void *)p, n, t->u.an};
    t->u.an += n;
}

void stm_itm_undo_apply(struct stm_itm_tx *t, size_t from, uintptr_t live_from)
{
    while (t->u.n > from) {
        const struct stm_itm_undo *u = &t->u.e[--t->u.n];
        /* dead frames below the rolled-back transaction's begin: skip */
        if (!own_stack(t, (uintptr_t)u->addr, live_from))
            store_bytes(u->addr, t->u.arena + u->off, u->len);
        t->u.an = u->off;
    }
}

/* ------------------------------------------------------- dropReferences */

void stm_itm_drop(struct stm_itm_tx *t, const void *p, size_t n)
{
    uintptr_t lo = (uintptr_t)p, hi = lo + n;
    if (n == 0)
        return;
    /* written bytes in the range go to memory now and leave the redo log */
    for (size_t i = 0; i < t->w.n; i++) {
        struct stm_itm_wentry *e = &t->w.e[i];
        if (e->word + 8 <= lo || e->word >= hi || e->mask == 0)
            continue;
        for (unsigned o = 0; o < 8; o++) {
            uintptr_t a = e->word + o;
            uint64_t bm = (uint64_t)0xff << (8 * o);
            if (a >= lo && a < hi && (e->mask & bm)) {
                store_piece(a, 1, e->val >> (8 * o));
                e->mask &= ~bm;
            }
        }
    }
    /* reads of the range are no longer validated */
    size_t out = 0;
    for (size_t i = 0; i < t->r.n; i++) {
        uintptr_t a = ITM_RADDR(t->r.e[i].key);
        if (a + ITM_RSIZE(t->r.e[i].key) <= lo || a >= hi)
            t->r.e[out++] = t->r.e[i];
    }
    t->r.n = out;
    /* undo entries keep the current bytes of the range: replaying them
     * leaves the range as it is now */
    for (size_t i = 0; i < t->u.n; i++) {
        const struct stm_itm_undo *u = &t->u.e[i];
        uintptr_t a = (uintptr_t)u->addr;
        for (size_t k = 0; k < u->len; k++)
            if (a + k >= lo && a + k < hi)
                t->u.arena[u->off + k] = (char)load_piece(a + k, 1);
    }
}

/* ---------------------------------------------------------- wake-ups */

/* The whole aligned word at w: the piece read may be smaller, but the word
 * never crosses a page, and a waiter on a word wakes when any of its bytes
 * changes (a spurious wake-up re-runs the transaction, which retries
 * again).  Bytes next to the object may lie outside it: not an error. */
__attribute__((no_sanitize_address)) static uint64_t load_word(uintptr_t w)
{
    return __atomic_load_n((const uint64_t *)w, __ATOMIC_RELAXED);
}

static bool in_allocs(const struct stm_itm_tx *t, uintptr_t a)
{
    for (size_t i = 0; i < t->allocs.n; i++) {
        uintptr_t lo = (uintptr_t)t->allocs.e[i];
        if (a >= lo && a < lo + malloc_usable_size(t->allocs.e[i]))
            return true;
    }
    return false;
}

int stm_itm_reads_to_core(struct stm_itm_tx *t)
{
    struct stm_rlog *l = &t->core->rlog;
    l->n = 0;
    for (size_t i = 0; i < t->r.n; i++) {
        uintptr_t a = ITM_RADDR(t->r.e[i].key);
        unsigned sz = ITM_RSIZE(t->r.e[i].key);
        if (own_stack(t, a, t->jb.sp) || in_allocs(t, a))
            continue; /* private, or freed when the attempt is undone */
        uintptr_t w = a & ~(uintptr_t)7;
        uint64_t v = load_word(w);
        uint64_t piece = v >> (8 * (a & 7));
        if (sz < 8)
            piece &= ((uint64_t)1 << (8 * sz)) - 1;
        if (piece != t->r.e[i].val) {
            l->n = 0;
            return -1; /* changed already: run again at once */
        }
        if (l->n != 0 && (uintptr_t)l->e[l->n - 1].addr == w)
            continue;
        stm_rlog_append(l, (const stm_tvar *)w, v);
    }
    return (int)(l->n > INT32_MAX ? INT32_MAX : l->n);
}

/* Wake in batches of words (wait.c wants an array of addresses). */
struct word_batch {
    stm_tvar *w[64];
    size_t n;
};

static void batch_word(struct stm_itm_tx *t, struct word_batch *b, uintptr_t w)
{
    if (b->n != 0 && (uintptr_t)b->w[b->n - 1] == w)
        return;
    if (b->n == 64) {
        stm_wake_addrs(t->core, b->w, b->n);
        b->n = 0;
    }
    b->w[b->n++] = (stm_tvar *)w;
}

void stm_itm_wake_written(struct stm_itm_tx *t)
{
    struct word_batch b;
    b.n = 0;
    for (size_t i = 0; i < t->w.n; i++)
        if (t->w.e[i].mask != 0)
            batch_word(t, &b, t->w.e[i].word);
    /* in-place writes (serial) left their addresses in the undo log */
    for (size_t i = 0; i < t->u.n; i++) {
        uintptr_t a = (uintptr_t)t->u.e[i].addr;
        if (own_stack(t, a, t->jb.sp))
            continue;
        for (uintptr_t w = a & ~(uintptr_t)7; w < a + t->u.e[i].len; w += 8)
            batch_word(t, &b, w);
    }
    if (b.n != 0)
        stm_wake_addrs(t->core, b.w, b.n);
}

void stm_itm_logs_free(struct stm_itm_tx *t)
{
    free(t->r.e);
    free(t->w.e);
    free(t->w.index);
    free(t->u.e);
    free(t->u.arena);
    free(t->shadow.e);
    free(t->cp.e);
    free(t->allocs.e);
    free(t->frees.e);
    free(t->commit_acts.e);
    free(t->undo_acts.e);
}
