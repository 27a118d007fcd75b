/* The software path: NOrec (Dalessandro, Spear, Scott, PPoPP 2010) in its
 * Hybrid NOrec form, and the serial irrevocable mode.  This header is the
 * whole interface of src/fallback/, which calls only the core (src/core/).
 * The protocol essay is in norec.c. */
#ifndef STM_SRC_NOREC_H
#define STM_SRC_NOREC_H

#include "../core/attempt.h"
#include "../core/hybrid.h"
#include "../core/tx.h"

/* Start a software attempt: enter it (stm_attempt_enter: sw_active, RCU
 * read side), take the snapshot. */
void stm_norec_begin(stm_tx *tx);

/* Re-read the read log at a new, even seq; abort the attempt if any value
 * changed, else adopt the new snapshot.  A re-read that a commit keeps
 * unsettling aborts too, after a few rounds (norec.c). */
void stm_norec_validate(stm_tx *tx);

/* Test hook: called after each re-read of the log, before the counters
 * are checked again (a commit landing there unsettles the round).  NULL in
 * production. */
extern void (*stm_test_validate_round)(void);

/* Commit: read-only commits do nothing; writers take seq odd, write back,
 * release.  Aborts (longjmp) if validation fails.  Returns whether anyone
 * waits in stm_retry() and must be woken (read under the lock: see the
 * essay). */
bool stm_norec_commit(stm_tx *tx);

/* Serial irrevocable mode: hold seq odd for the whole transaction. */
void stm_serial_begin(stm_tx *tx);
bool stm_serial_commit(stm_tx *tx);

/* Turn the running NOrec attempt into a serial one (stm_irrevocable).
 * Aborts if a value read so far changed. */
void stm_norec_become_serial(stm_tx *tx);

/* One atomic write outside any transaction, ordered with transactions. */
bool stm_norec_store(stm_tvar *tv, uintptr_t v);

/* The complete read and write (the fast paths below fall back on them). */
uintptr_t stm_norec_read_slow(stm_tx *tx, const stm_tvar *tv);
void stm_norec_write_slow(stm_tx *tx, stm_tvar *tv, uintptr_t v);

/* The fast paths, inline so that stm_read/stm_write cost a call at most.
 * Each handles only the common case with few registers and no calls: a
 * software (not serial) read of a TVar this attempt has not written, with
 * the counters unchanged and room in the read log; a write of a TVar not
 * yet written while the write log is small (no index) and has room.  Every
 * other case takes the slow path, which repeats the whole operation, so the
 * fast path only ever skips work that is provably not needed. */
static inline uintptr_t stm_norec_read(stm_tx *tx, const stm_tvar *tv)
{
    /* an empty filter (a transaction that has not written yet) needs no
     * hashing of the address */
    uint64_t filter = tx->wlog.filter;
    if (__builtin_expect((filter == 0 || !(filter & stm_wlog_bit(tv))) &&
                             tx->mode == STM_MODE_NOREC && tx->rlog.n != tx->rlog.cap,
                         1)) {
        /* seqlock read: data, then acquire fence, then the counters.  If
         * neither moved, v belongs to the snapshot. */
        uintptr_t v = __atomic_load_n(&tv->word, __ATOMIC_RELAXED);
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        if (__builtin_expect(__atomic_load_n(STM_SEQ, __ATOMIC_RELAXED) == tx->snap &&
                                 __atomic_load_n(STM_HW_COMMITS, __ATOMIC_RELAXED) == tx->hsnap,
                             1)) {
            struct stm_rentry *e = &tx->rlog.e[tx->rlog.n++];
            e->addr = tv;
            e->val = v;
            return v;
        }
    }
    return stm_norec_read_slow(tx, tv);
}

static inline void stm_norec_write(stm_tx *tx, stm_tvar *tv, uintptr_t v)
{
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

#endif
