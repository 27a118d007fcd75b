/* stm_retry and stm_or_else (GHC semantics; cf. rts/STM.c, "Composable
 * memory transactions", Harris, Marlow, Peyton Jones, Herlihy, PPoPP 2005).
 *
 * Software: an orElse scope records the write-, alloc- and free-log
 * lengths and a jump frame.  A retry inside the first branch longjmps to
 * that frame; the logs are cut back to the marks (writes undone, including
 * new writes to TVars first written before the orElse, because writes made
 * inside a scope never overwrite an older scope's entry in place), the read
 * log is kept (the union is what a final retry waits on), and the second
 * branch runs.  Hardware nesting is flat: a retry in hardware aborts with
 * the retry code and the whole transaction re-runs in software. */
#include <setjmp.h>

#include "../core/attempt.h"
#include "../core/memory.h"
#include "../core/misuse.h"
#include "../core/tx.h"
#include "../htm/htm.h"

void stm_retry(stm_tx *tx)
{
    if (tx == NULL || tx->mode == STM_MODE_NONE)
        stm_fatal("stm_retry", "called outside a transaction");
    if (tx->mode == STM_MODE_HTM) {
        STM_HTM_ABORT(STM_HTM_CODE_RETRY);
        __builtin_unreachable();
    }
    stm_attempt_sync(tx);
    if (tx->irrevocable)
        stm_fatal("stm_retry", "called after stm_irrevocable(): an irrevocable transaction cannot wait");
    if (tx->orelse != NULL)
        longjmp(tx->orelse->jb, 1);
    if (!tx->logged)
        stm_tx_abort(tx, STM_ABORT_RELOG); /* no read set to wait on yet */
    if (tx->rlog.n == 0)
        stm_fatal("stm_retry", "the transaction read no TVar, so it could never be woken");
    stm_tx_abort(tx, STM_ABORT_RETRY);
}

intptr_t stm_or_else(stm_tx *tx, stm_fn first, void *a1, stm_fn second, void *a2)
{
    if (tx == NULL || tx->mode == STM_MODE_NONE)
        stm_fatal("stm_or_else", "called outside a transaction");
    if (first == NULL || second == NULL)
        stm_fatal("stm_or_else", "NULL branch function");
    if (tx->mode == STM_MODE_HTM)
        return first(tx, a1); /* a retry in it aborts to software */
    stm_attempt_sync(tx);

    struct stm_orelse_frame f;
    stm_ulog_settle(tx); /* stm.h's inline writes appended to it */
    f.wmark = tx->wlog.n;
    f.umark = tx->ulog.n;
    f.amark = tx->allocs.n;
    f.fmark = tx->frees.n;
    f.rmark = tx->rlog.n;
    f.prev_scope = tx->wscope;
    f.prev = tx->orelse;
    tx->orelse = &f;
    tx->wscope = tx->wlog.n;
    if (setjmp(f.jb) == 0) {
        intptr_t r = first(tx, a1);
        tx->orelse = f.prev;
        tx->wscope = f.prev_scope;
        return r;
    }
    /* the first branch retried, possibly from inside nested
     * stm_atomically() calls (they leave head.depth alone) */
    tx->orelse = f.prev;
    tx->wscope = f.prev_scope;
    stm_wlog_truncate(&tx->wlog, f.wmark);
    stm_ulog_settle(tx);
    stm_ulog_undo(&tx->ulog, f.umark); /* serial mode's in-place writes */
    stm_mem_forget_reads(tx, f.amark, f.rmark); /* the reads stay, except of freed TVars */
    stm_mem_undo_allocs(tx, f.amark);
    tx->frees.n = f.fmark;
    return second(tx, a2);
}
