/* The life cycle of one attempt, shared by every back end: enter (count in
 * sw_active, open the RCU read-side section), exit, abort (undo and jump
 * back to the front's restart point) and the clean-up after a commit.
 * Back ends call these; they never call the front (src/stm/). */
#ifndef STM_SRC_ATTEMPT_H
#define STM_SRC_ATTEMPT_H

#include <stdbool.h>

#include "hybrid.h"
#include "memory.h"
#include "tx.h"

void stm_attempt_enter_slow(stm_tx *tx);
void stm_attempt_exit_slow(stm_tx *tx);

/* Before a software or serial attempt takes its snapshot: count it in
 * sw_active when a hardware path may run (see the essay in
 * src/fallback/norec.c, case (b)) and enter the RCU read-side section that
 * keeps retired blocks alive while the attempt may still read them (or,
 * while no block was ever retired, only mark the attempt unguarded: see
 * "Lazy read-side sections" in memory.c).  Inline: the common case is a
 * store and two loads. */
static inline void stm_attempt_enter(stm_tx *tx)
{
    /* htm_enabled is set once at start-up, before any transaction runs */
    if (__builtin_expect(!__atomic_load_n(&stm_hybrid.htm_enabled, __ATOMIC_RELAXED) &&
                             !__atomic_load_n(&stm_mem_rcu_on, __ATOMIC_RELAXED),
                         1)) {
        /* the retiring thread forces a full barrier on us between the
         * store and the load (memory.c) */
        __atomic_store_n(&tx->unguarded, true, __ATOMIC_RELAXED);
        __atomic_signal_fence(__ATOMIC_SEQ_CST);
        if (__builtin_expect(!__atomic_load_n(&stm_mem_rcu_on, __ATOMIC_RELAXED), 1))
            return;
        __atomic_store_n(&tx->unguarded, false, __ATOMIC_RELAXED);
    }
    stm_attempt_enter_slow(tx);
}

/* stm_attempt_enter and stm_attempt_exit where no hardware path exists
 * (htm_enabled false: sw_active is never counted). */
static inline void stm_attempt_enter_nohtm(stm_tx *tx)
{
    __atomic_store_n(&tx->unguarded, true, __ATOMIC_RELAXED);
    __atomic_signal_fence(__ATOMIC_SEQ_CST); /* see stm_attempt_enter */
    if (__builtin_expect(__atomic_load_n(&stm_mem_rcu_on, __ATOMIC_RELAXED), 0)) {
        __atomic_store_n(&tx->unguarded, false, __ATOMIC_RELAXED);
        stm_attempt_enter_slow(tx);
    }
}

static inline void stm_attempt_exit_nohtm(stm_tx *tx)
{
    if (__builtin_expect(tx->unguarded, 1))
        __atomic_store_n(&tx->unguarded, false, __ATOMIC_RELEASE);
    else
        stm_attempt_exit_slow(tx);
}

/* stm.h's inline write took seq for an unlogged NOrec attempt (its rsnap
 * is odd, snap + 1): make the descriptor say so, as the library's own
 * first write would have (stm_norec_write_fast).  Every library entry that
 * acts on the running attempt calls this first. */
static inline void stm_attempt_sync(stm_tx *tx)
{
    if (__builtin_expect(tx->mode == STM_MODE_NOREC && (tx->head.rsnap & 1), 0)) {
        tx->mode = STM_MODE_SERIAL;
        tx->tml = true;
        tx->dirty = true;
    }
}

/* Undo stm_attempt_enter.  The seq lock must already be released. */
static inline void stm_attempt_exit(stm_tx *tx)
{
    if (__builtin_expect(tx->unguarded && !tx->counted_active, 1)) {
        /* release: every access of the attempt happens before */
        __atomic_store_n(&tx->unguarded, false, __ATOMIC_RELEASE);
        return;
    }
    stm_attempt_exit_slow(tx);
}

/* Abandon the current software attempt: release what it holds (seq, if
 * serial; the read-side section; sw_active), undo its side effects and
 * longjmp to the front's restart point (tx->abort_jb) with `reason`. */
__attribute__((noreturn)) void stm_tx_abort(stm_tx *tx, enum stm_abort_reason reason);
/* Where stm_tx_abort goes when abort_jb is NULL: back to the top-level
 * fast path's entry with its caller's registers (src/stm/atomically.c). */
__attribute__((noreturn)) void stm_fast_resume(stm_tx *tx);

/* The descriptor back to "no transaction" after a commit. */
static inline void stm_attempt_clear_committed(stm_tx *tx)
{
    stm_wlog_clear(&tx->wlog);
    stm_wlog_clear(&tx->ulog);
    tx->head.ucur = tx->head.uend = NULL;
    tx->dirty = false;
    tx->tml = false;
    tx->rlog.n = 0;
    tx->wscope = 0;
    tx->irrevocable = false;
    tx->mode = STM_MODE_NONE;
    tx->head.rsnap = STM_RSNAP_SLOW;
    tx->head.depth = 0;
}

/* stm_attempt_clear_committed for an unlogged attempt: its write log,
 * read log and write scope stayed empty (its first write made it serial,
 * where writes go in place and reads are not logged), and its undo log
 * has no filter or index. */
static inline void stm_attempt_clear_unlogged(stm_tx *tx)
{
    tx->ulog.n = 0;
    tx->head.ucur = tx->head.uend = NULL;
    tx->dirty = false;
    tx->tml = false;
    tx->irrevocable = false;
    tx->mode = STM_MODE_NONE;
    tx->head.rsnap = STM_RSNAP_SLOW;
    tx->head.depth = 0;
}

/* After a software or serial commit (the back end has exited): release the
 * logged frees, clear the logs, leave the transaction; wake blocked
 * threads if `wake`. */
void stm_attempt_committed_slow(stm_tx *tx, bool wake);
static inline void stm_attempt_committed(stm_tx *tx, bool wake)
{
    /* the common transaction neither allocated nor freed, and wakes nobody */
    if (__builtin_expect((tx->allocs.n | tx->frees.n | (size_t)wake) != 0, 0)) {
        stm_attempt_committed_slow(tx, wake);
        return;
    }
    stm_attempt_clear_committed(tx);
}

/* The thread exits inside a transaction: release what the attempt holds. */
void stm_tx_leave_for_exit(stm_tx *tx);

#endif
