/* Begin/exit/abort/reset of an attempt (attempt.h).  Everything here acts
 * on the descriptor, the hybrid counters, the logs, the memory hooks and
 * the wait queue, all of them core state, so both back ends share it. */
#include <setjmp.h>

/* The read-side lock and unlock of liburcu's memb flavour run twice per
 * transaction; the library's exported versions cost a PLT call and a
 * general-dynamic TLS lookup (__tls_get_addr) each, about 80 instructions
 * per transaction.  _LGPL_SOURCE gives their inline versions (libstm is
 * LGPL-2.1-or-later itself, see COPYING, as liburcu asks of code that
 * defines it).  The reader record's TLS model is our own descriptor's
 * (STM_TLS_MODEL, tx.h).  Not in
 * sanitized builds: ThreadSanitizer would instrument the inlined plain
 * accesses to liburcu's words while the library's own stay invisible to
 * it, and report races that are not there. */
#include "tx.h"
#ifndef STM_SANITIZED
#define _LGPL_SOURCE
#include <urcu/urcu-memb.h>
extern __thread struct urcu_reader urcu_memb_reader STM_TLS_MODEL;
#else
#include <urcu/urcu-memb.h>
#endif

#include "attempt.h"
#include "gate.h"
#include "hybrid.h"
#include "memory.h"
#include "misuse.h"
#include "wait.h"

STM_API __thread stm_tx *stm_tls_tx STM_TLS_MODEL = STM_NO_DESC;
/* stm.h's name for it since head version 3 (tx.h): a program built with
 * that head refers to stm__tx, which libstm before 0.4.0 lacks, so the
 * dynamic linker refuses to load it there (thread-local references are
 * bound at load time, functions only at their first call) */
extern STM_API __thread stm_tx *stm__tx STM_TLS_MODEL __attribute__((alias("stm__self")));

void stm_attempt_enter_slow(stm_tx *tx)
{
    if (__atomic_load_n(&stm_hybrid.htm_enabled, __ATOMIC_RELAXED)) {
        /* before the snapshot: see the essay in norec.c, case (b) */
        __atomic_fetch_add(STM_SW_ACTIVE, 1, __ATOMIC_SEQ_CST);
        tx->counted_active = true;
    }
    if (!__atomic_load_n(&stm_mem_rcu_on, __ATOMIC_RELAXED)) {
        /* see "Lazy read-side sections" in memory.c: the retiring thread
         * forces a full barrier on us between the store and the load */
        __atomic_store_n(&tx->unguarded, true, __ATOMIC_RELAXED);
        __atomic_signal_fence(__ATOMIC_SEQ_CST);
        if (!__atomic_load_n(&stm_mem_rcu_on, __ATOMIC_RELAXED))
            return;
        __atomic_store_n(&tx->unguarded, false, __ATOMIC_RELAXED);
    }
    urcu_memb_read_lock();
}

void stm_attempt_exit_slow(stm_tx *tx)
{
    if (tx->unguarded) {
        /* release: every access of the attempt happens before */
        __atomic_store_n(&tx->unguarded, false, __ATOMIC_RELEASE);
    } else {
        STM_TSAN_RCU_RELEASE(); /* see memory.h */
        urcu_memb_read_unlock();
    }
    if (tx->counted_active) {
        __atomic_fetch_sub(STM_SW_ACTIVE, 1, __ATOMIC_RELEASE);
        tx->counted_active = false;
    }
}

/* Leave the attempt without committing.  A serial attempt holds seq odd:
 * its in-place writes are undone, and seq moves on to a new value if there
 * were any (a reader that loaded a word while we held seq must see seq
 * change, or it would take an uncommitted value for the snapshot's); with
 * none, the old even value is still accurate. */
static void attempt_leave(stm_tx *tx)
{
    stm_attempt_sync(tx);
    if (tx->mode == STM_MODE_SERIAL) {
        uint64_t s = tx->snap;
        stm_ulog_settle(tx);
        if (tx->dirty) {
            stm_ulog_undo(&tx->ulog, 0);
            s += STM_SEQ_STEP;
        }
        __atomic_store_n(STM_SEQ, s, __ATOMIC_RELEASE);
        stm_gate_leave(tx);
    }
    stm_attempt_exit(tx);
}

/* The read log a retrying attempt waits on: without the TVars it allocated
 * itself (freed with the attempt). */
static void keep_reads_for_wait(stm_tx *tx)
{
    stm_mem_forget_reads(tx, 0, 0);
    if (tx->rlog.n == 0)
        stm_fatal("stm_retry", "the transaction read only TVars it allocated itself, so it could never be woken");
}

/* Undo the attempt's side effects; keep the read log if the attempt is to
 * block in stm_retry. */
static void attempt_reset(stm_tx *tx, bool keep_reads)
{
    stm_mem_undo_allocs(tx, 0);
    tx->frees.n = 0;
    stm_wlog_clear(&tx->wlog);
    stm_wlog_clear(&tx->ulog);
    tx->head.ucur = tx->head.uend = NULL;
    tx->dirty = false;
    tx->tml = false;
    tx->wscope = 0;
    if (!keep_reads)
        tx->rlog.n = 0;
    tx->orelse = NULL;
    tx->irrevocable = false;
    tx->mode = STM_MODE_NONE;
    tx->head.rsnap = STM_RSNAP_SLOW;
}

void stm_tx_abort(stm_tx *tx, enum stm_abort_reason reason)
{
    if (reason == STM_ABORT_RETRY) {
        keep_reads_for_wait(tx);
        /* still inside the attempt's read-side section: see wait.c, "Freed
         * TVars" */
        stm_wait_register(tx);
    }
    tx->abort_reads = tx->rlog.n;
    attempt_leave(tx);
    attempt_reset(tx, reason == STM_ABORT_RETRY);
    if (reason == STM_ABORT_VALIDATION)
        STM_STAT_INC(tx, aborts_stm);
    tx->abort_reason = (int)reason;
    if (tx->abort_jb == NULL)
        stm_fast_resume(tx); /* the top-level fast path's (atomically.c) */
    STM_LONGJMP(*tx->abort_jb);
}

void stm_tx_leave_for_exit(stm_tx *tx)
{
    if (tx->mode == STM_MODE_NOREC || tx->mode == STM_MODE_SERIAL)
        attempt_leave(tx);
    attempt_reset(tx, false);
    tx->head.depth = 0;
    tx->head.outer_frame = NULL;
}

void stm_attempt_committed_slow(stm_tx *tx, bool wake)
{
    /* stm_mem_commit acts on these two logs only: skip the call (and its
     * loop set-up) for the common transaction that neither allocated nor
     * freed */
    if ((tx->allocs.n | tx->frees.n) != 0)
        stm_mem_commit(tx);
    if (wake) {
        /* a NOrec writer's addresses are in its write log, a serial one's
         * in its undo log (the other one is empty; stm.h's inline writes
         * appended to the undo log through the cursor) */
        stm_ulog_settle(tx);
        stm_wake_wlog(tx, &tx->wlog);
        stm_wake_wlog(tx, &tx->ulog);
    }
    stm_attempt_clear_committed(tx);
}
