/* The software path: NOrec (Dalessandro, Spear, Scott, PPoPP 2010) in its
 * Hybrid NOrec form, and the serial irrevocable mode.  This header is the
 * whole interface of src/fallback/.  The protocol essay is in norec.c. */
#ifndef STM_SRC_NOREC_H
#define STM_SRC_NOREC_H

#include "../stm/hybrid.h"
#include "../stm/tx.h"

/* Start a software attempt: count it in sw_active (when hardware may run),
 * enter an RCU read-side section, take the snapshot. */
void stm_norec_begin(stm_tx *tx);

/* Re-read the read log at a new, even seq; abort the attempt if any value
 * changed, else adopt the new snapshot. */
void stm_norec_validate(stm_tx *tx);

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

/* Leave the attempt without committing: release seq if held (nothing was
 * written), leave the read-side section, uncount from sw_active. */
void stm_norec_leave(stm_tx *tx);

/* One atomic write outside any transaction, ordered with transactions. */
bool stm_norec_store(stm_tvar *tv, uintptr_t v);

/* The fast paths, inline so that stm_read/stm_write cost a call at most. */
static inline uintptr_t stm_norec_read(stm_tx *tx, const stm_tvar *tv)
{
    struct stm_wentry *w = stm_wlog_find(&tx->wlog, tv);
    if (w != NULL)
        return w->val;
    uintptr_t v = __atomic_load_n(&tv->word, __ATOMIC_RELAXED);
    if (tx->mode == STM_MODE_NOREC) {
        /* seqlock read: data, then acquire fence, then the counters.  If
         * neither moved, v belongs to the snapshot. */
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        while (__builtin_expect(__atomic_load_n(STM_SEQ, __ATOMIC_RELAXED) != tx->snap ||
                                __atomic_load_n(STM_HW_COMMITS, __ATOMIC_RELAXED) != tx->hsnap, 0)) {
            stm_norec_validate(tx);
            v = __atomic_load_n(&tv->word, __ATOMIC_RELAXED);
            __atomic_thread_fence(__ATOMIC_ACQUIRE);
        }
    }
    /* serial mode holds seq: nothing can change under us, but the read is
     * still logged because stm_retry() waits on the read set */
    stm_rlog_append(&tx->rlog, tv, v);
    return v;
}

static inline void stm_norec_write(stm_tx *tx, stm_tvar *tv, uintptr_t v)
{
    struct stm_wentry *w = stm_wlog_find(&tx->wlog, tv);
    /* an entry made inside the current orElse scope can be updated in place;
     * one from an enclosing scope must survive a rollback of this branch */
    if (w != NULL && (size_t)(w - tx->wlog.e) >= tx->wscope)
        w->val = v;
    else
        stm_wlog_append(&tx->wlog, tv, v);
}

#endif
