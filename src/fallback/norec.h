/* The software path: NOrec (Dalessandro, Spear, Scott, PPoPP 2010) in its
 * Hybrid NOrec form, and the serial irrevocable mode.  This header is the
 * whole interface of src/fallback/, which calls only the core (src/core/).
 * The protocol essay is in norec.c. */
#ifndef STM_SRC_NOREC_H
#define STM_SRC_NOREC_H

#include "../core/attempt.h"
#include "../core/gate.h"
#include "../core/hybrid.h"
#include "../core/tx.h"
#include "../core/wait.h"

/* Take a software attempt's snapshot (the attempt is entered).  logged:
 * keep a read log (else the attempt is unlogged, see tx.h; only when no
 * hardware path exists).  Returns whether seq was held (the attempt
 * waited: a sign of contention for the adaptation). */
static inline bool stm_norec_snapshot(stm_tx *tx, bool logged)
{
    tx->mode = STM_MODE_NOREC;
    tx->logged = logged;
    if (__builtin_expect(__atomic_load_n(&stm_starving, __ATOMIC_RELAXED) != 0, 0))
        stm_wait_not_starving(); /* hybrid.h */
    uint64_t s = __atomic_load_n(STM_SEQ, __ATOMIC_ACQUIRE);
    bool held = s & 1;
    if (__builtin_expect(held, 0))
        s = stm_wait_even(STM_SEQ);
    tx->snap = s;
    tx->hsnap = __atomic_load_n(STM_HW_COMMITS, __ATOMIC_ACQUIRE);
    /* unlogged reads may take stm.h's inline path while seq stays at s,
     * and writes its inline write (which takes seq first) */
    if (logged) {
        tx->head.rsnap = STM_RSNAP_SLOW;
    } else {
        tx->head.rsnap = s;
        stm_ulog_open(tx); /* empty: the first inline write takes seq */
    }
    return held;
}

/* Start a software attempt: enter it (stm_attempt_enter: sw_active, RCU
 * read side), take the snapshot. */
static inline void stm_norec_begin(stm_tx *tx, bool logged)
{
    stm_attempt_enter(tx);
    stm_norec_snapshot(tx, logged);
}

/* Re-read the read log at a new, even seq; abort the attempt if any value
 * changed, else adopt the new snapshot.  An unlogged attempt has nothing
 * to re-read: it aborts (and re-runs logged).  A re-read that a commit
 * keeps unsettling aborts too, after a few rounds (norec.c). */
void stm_norec_validate(stm_tx *tx);

/* Test hook: called after each re-read of the log, before the counters
 * are checked again (a commit landing there unsettles the round).  NULL in
 * production. */
extern void (*stm_test_validate_round)(void);

/* Commit: read-only commits do nothing; writers take seq odd, write back,
 * release.  Aborts (longjmp) if validation fails.  Returns whether anyone
 * waits in stm_retry() and must be woken (read under the lock: see the
 * essay). */
bool stm_norec_commit_writer(stm_tx *tx);
static inline bool stm_norec_commit(stm_tx *tx)
{
    if (tx->wlog.n == 0) {
        stm_attempt_exit(tx);
        return false;
    }
    return stm_norec_commit_writer(tx);
}

/* Serial mode: hold seq odd for the whole transaction and write in place
 * (undo log: tx->ulog).  logged: keep a read log (stm_retry needs one);
 * unlogged serial reads take stm.h's inline path. */
void stm_serial_begin(stm_tx *tx, bool logged);

/* Release seq after a serial attempt's body: to a new value if it wrote.  Sets *wake if anyone waits in stm_retry (the
 * waiters of the undo log's addresses are woken after the release, by
 * stm_attempt_committed_slow).  Returns the value seq was left at. */
static inline uint64_t stm_serial_release(stm_tx *tx, bool *wake)
{
    uint64_t s = tx->snap;
    if (tx->dirty) {
        /* a new value even if an orElse undid every write: see
         * attempt_leave (attempt.c) */
        /* after the CAS that took seq (see the essay) */
        *wake = stm_wait_any();
        s += STM_SEQ_STEP;
    }
    /* release: the in-place stores before the new seq */
    __atomic_store_n(STM_SEQ, s, __ATOMIC_RELEASE);
    return s;
}

/* stm_serial_release, the gate (an unlogged first attempt, which takes seq
 * with its first write, never holds it) and the attempt's exit. */
static inline bool stm_serial_commit(stm_tx *tx)
{
    bool wake = false;
    stm_serial_release(tx, &wake);
    stm_gate_leave(tx);
    stm_attempt_exit(tx);
    return wake;
}

/* Serial from here: seq is ours (odd).  The release fence orders the CAS
 * that took it before the in-place stores that follow, as in write_back. */
static inline void stm_norec_now_serial(stm_tx *tx)
{
    __atomic_thread_fence(__ATOMIC_RELEASE);
    tx->mode = STM_MODE_SERIAL;
    /* unlogged reads stay inline: seq == snap + 1 until we release it */
    tx->head.rsnap = tx->logged ? STM_RSNAP_SLOW : tx->snap + 1;
}

/* An unlogged attempt's first write: take seq from snap to snap+1 (abort if
 * anybody committed since the snapshot) and go on in serial mode. */
void stm_norec_lock_for_write(stm_tx *tx);

/* Turn the running NOrec attempt into a serial one (stm_irrevocable):
 * take seq, then apply the write log in place.  Aborts if a value read so
 * far changed. */
void stm_norec_become_serial(stm_tx *tx);

/* One atomic write outside any transaction, ordered with transactions. */
bool stm_norec_store(stm_tvar *tv, uintptr_t v);

/* The complete read and write (the fast paths below fall back on them). */
uintptr_t stm_norec_read_slow(stm_tx *tx, const stm_tvar *tv);
void stm_norec_write_slow(stm_tx *tx, stm_tvar *tv, uintptr_t v);

/* The fast paths, inline so that stm_read/stm_write cost a call at most.
 * Each handles only the common case with few registers and no calls: a
 * software (not serial) read of a TVar this attempt has not written, with
 * the counters unchanged (and, logged, room in the read log); a write of a
 * TVar not yet written while the write log is small (no index) and has
 * room.  Every other case takes the slow path, which repeats the whole
 * operation, so the fast path only ever skips work that is provably not
 * needed.  (The inline read of stm.h is the unlogged case of this one,
 * made possible by rsnap; this one serves calls of the library's stm_read.) */
static inline uintptr_t stm_norec_read(stm_tx *tx, const stm_tvar *tv)
{
    /* an empty filter (a transaction that has not written yet) needs no
     * hashing of the address */
    uint64_t filter = tx->wlog.filter;
    if (__builtin_expect((filter == 0 || !(filter & stm_wlog_bit(tv))) &&
                             tx->mode == STM_MODE_NOREC,
                         1)) {
        /* seqlock read: data, then acquire fence, then the counters.  If
         * neither moved, v belongs to the snapshot. */
        uintptr_t v = __atomic_load_n(&tv->word, __ATOMIC_RELAXED);
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        uint64_t seq = __atomic_load_n(STM_SEQ, __ATOMIC_RELAXED);
        if (!tx->logged) {
            /* unlogged attempts run only while hw_commits cannot move */
            if (__builtin_expect(seq == tx->snap, 1))
                return v;
        } else if (__builtin_expect(seq == tx->snap &&
                                        __atomic_load_n(STM_HW_COMMITS, __ATOMIC_RELAXED) ==
                                            tx->hsnap &&
                                        tx->rlog.n != tx->rlog.cap,
                                    1)) {
            struct stm_rentry *e = &tx->rlog.e[tx->rlog.n++];
            e->addr = tv;
            e->val = v;
            return v;
        }
    }
    return stm_norec_read_slow(tx, tv);
}

/* A write in serial mode: in place, the old word kept for undo.  A logged
 * attempt indexes the undo log like a write log, so that its reads can
 * tell the TVars it wrote (they stay out of the read set, as a read served
 * from the write log does). */
static inline void stm_serial_write(stm_tx *tx, stm_tvar *tv, uintptr_t v)
{
    uintptr_t old = __atomic_load_n(&tv->word, __ATOMIC_RELAXED);
    if (tx->logged) {
        stm_wlog_append(&tx->ulog, tv, old);
    } else {
        stm_ulog_settle(tx);
        stm_ulog_push(&tx->ulog, tv, old);
        stm_ulog_open(tx); /* stm.h's inline write takes the next ones */
    }
    tx->dirty = true;
    __atomic_store_n(&tv->word, v, __ATOMIC_RELAXED);
}

static inline void stm_norec_write(stm_tx *tx, stm_tvar *tv, uintptr_t v)
{
    if (!tx->logged) {
        stm_norec_lock_for_write(tx);
        stm_serial_write(tx, tv, v);
        return;
    }
    struct stm_wlog *l = &tx->wlog;
    uint64_t bit = stm_wlog_bit(tv);
    /* n < STM_WLOG_LINEAR: no index exists (one is built only past it) */
    if (__builtin_expect(!(l->filter & bit) && l->n < STM_WLOG_LINEAR && l->n != l->cap, 1)) {
        struct stm_wentry *e = &l->e[l->n++];
        e->addr = tv;
        e->val = v;
        l->filter |= bit;
        return;
    }
    stm_norec_write_slow(tx, tv, v);
}

/* The write of an unlogged attempt, complete, without calls: its first
 * write takes seq (TML's writer), every write goes in place with the old
 * word in the undo log, and opens stm.h's inline write for the next ones.
 * False: the caller takes the general path (which repeats the whole
 * operation). */
static inline bool stm_norec_write_fast(stm_tx *tx, stm_tvar *tv, uintptr_t v)
{
    if (tx->logged)
        return false;
    struct stm_wlog *u = &tx->ulog;
    if (tx->mode == STM_MODE_NOREC) {
        /* an unlogged NOrec attempt has not written: its undo log is
         * empty */
        if (__builtin_expect(u->cap == 0, 0))
            return false;
        uint64_t s = tx->snap;
        if (!__atomic_compare_exchange_n(STM_SEQ, &s, s + 1, false, __ATOMIC_SEQ_CST,
                                         __ATOMIC_RELAXED))
            return false; /* the general path aborts */
        stm_norec_now_serial(tx);
        tx->tml = true;
        tx->dirty = true;
        struct stm_wentry *e = u->e;
        e->addr = tv;
        e->val = __atomic_load_n(&tv->word, __ATOMIC_RELAXED);
        __atomic_store_n(&tv->word, v, __ATOMIC_RELAXED);
        u->n = 1;
        stm_ulog_open(tx); /* stm.h's inline write takes the next ones */
        return true;
    }
    if (tx->mode != STM_MODE_SERIAL)
        return false;
    /* the cursor is full (else stm.h would not have called us) or this is
     * a library caller's write: settle it first */
    stm_ulog_settle(tx);
    size_t n = u->n;
    if (__builtin_expect(n == u->cap, 0))
        return false;
    u->e[n].addr = tv;
    u->e[n].val = __atomic_load_n(&tv->word, __ATOMIC_RELAXED);
    u->n = n + 1;
    tx->dirty = true;
    __atomic_store_n(&tv->word, v, __ATOMIC_RELAXED);
    stm_ulog_open(tx);
    return true;
}

#endif
