/*
 * NOrec with hybrid counters, and the serial irrevocable mode.
 *
 * Algorithm: NOrec (Dalessandro, Spear, Scott, "NOrec: streamlining STM by
 * abolishing ownership records", PPoPP 2010), extended to coexist with
 * hardware transactions as in Hybrid NOrec (Dalessandro et al., ASPLOS 2011)
 * in its two-counter form, with RH-NOrec's sw_active gate (Matveev and
 * Shavit, ASPLOS 2015).  The code is ours; the algorithm is theirs.
 *
 * State: one global sequence lock `seq` (even = no writer), a counter
 * `hw_commits` of hardware writer commits, and per transaction a read log of
 * (address, value) pairs, a redo log, and the snapshot (snap, hsnap).
 *
 * INVARIANT.  While a software attempt runs, every value in its read log
 * equals the value in memory at the moment the global counters read
 * (seq, hw_commits) == (snap, hsnap) with seq even.  In other words the
 * reads form a consistent snapshot of memory at one instant.
 *
 * Why it holds.  All committed changes to TVars happen either (a) inside a
 * software writeback, bracketed by seq going odd and then even to a new
 * value, or (b) inside a hardware transaction, which increments hw_commits
 * atomically with its writes whenever a software transaction is active (and
 * a software transaction counts itself in sw_active before it reads the
 * counters, so a hardware writer either sees it and bumps the counter, or
 * conflicts on sw_active and aborts, or committed before the snapshot), or
 * (c) in the serial mode, which holds seq odd like a writeback.  A read
 * loads the word, then (acquire fence) re-checks both counters; unchanged
 * counters mean no commit intervened between the snapshot and the load, so
 * the value belongs to the snapshot.  If a counter moved, validation waits
 * for an even seq, re-reads every logged address and compares values; if
 * all are equal and the counters did not move during the re-read, the whole
 * log is consistent at the new counters and those become the snapshot.
 *
 * Opacity.  Because every read is checked before it is returned, user code
 * never sees a value that is inconsistent with the earlier reads: a doomed
 * attempt is aborted inside stm_read() before it can act on a torn state.
 *
 * Commit.  A read-only attempt commits at its last successful read (the
 * snapshot instant).  A writer CASes seq from snap to snap+1; success means
 * no software writer committed since the snapshot, and from now on none can,
 * and every hardware transaction (subscribed to seq) aborts.  Hardware
 * writers that committed after the last validation show in hw_commits, so
 * one more validation settles that; then the redo log is written back and
 * seq = snap + STM_SEQ_STEP publishes it.  Linearization point: the CAS.
 *
 * Unlogged attempts.  Where no hardware path exists (hw_commits never
 * moves), a first attempt keeps no read log: a read returns its value only
 * while seq still equals snap (so the reads are the memory of that one
 * instant, the invariant above with an empty log), and a writer commits by
 * the same CAS from snap, which succeeds only if nobody committed since.
 * Any moved seq aborts the attempt, which re-runs logged (value-based
 * validation then tolerates unrelated commits).  Opacity and the
 * linearization point are as above.  The inline read of stm.h is exactly
 * this read, done in the caller: it compares seq with the descriptor's
 * rsnap, which equals snap only in an unlogged attempt that has not
 * written yet (STM_RSNAP_SLOW, 2 mod 4, otherwise; seq moves in steps of 4
 * and is never 2 mod 4).
 *
 * Blocking retry and wake-ups.  A writer reads the waiter count with a
 * seq_cst load right after its seq CAS, and when it is not zero, after the
 * write-back, the registrations of the addresses it wrote (wait.c; a serial
 * transaction's are those of its undo log).  A waiter increments the count
 * (seq_cst) and then reads seq (seq_cst) before re-checking its read set.
 * In the single total order of seq_cst operations either the writer's load
 * follows the increment (the writer sees the waiter and wakes it) or the
 * increment follows the load, hence follows the CAS, so the waiter sees seq
 * odd or later, waits for the writeback and sees the new value.  No lost
 * wake-up, and no separate full fence on the commit path.
 *
 * Memory ordering (C11): reader = relaxed data loads, acquire fence, relaxed
 * counter loads (the seqlock reader of Boehm, MSPC 2012).  Writer = CAS
 * (acquire), release fence, relaxed data stores, release store of seq.  All
 * TVar words are accessed atomically so ThreadSanitizer sees no race.
 */
#include "norec.h"

#include "../core/misuse.h"
#include "../core/spin.h"
#include "../core/wait.h"

uintptr_t stm_norec_read_slow(stm_tx *tx, const stm_tvar *tv)
{
    stm_attempt_sync(tx); /* stm.h's inline write may have taken seq */
    struct stm_wentry *w = stm_wlog_find(&tx->wlog, tv);
    if (w != NULL)
        return w->val;
    uintptr_t v = __atomic_load_n(&tv->word, __ATOMIC_RELAXED);
    if (tx->mode == STM_MODE_NOREC) {
        /* seqlock read, as in the fast path; revalidate while a counter
         * moved */
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        while (__atomic_load_n(STM_SEQ, __ATOMIC_RELAXED) != tx->snap ||
               __atomic_load_n(STM_HW_COMMITS, __ATOMIC_RELAXED) != tx->hsnap) {
            stm_norec_validate(tx);
            v = __atomic_load_n(&tv->word, __ATOMIC_RELAXED);
            __atomic_thread_fence(__ATOMIC_ACQUIRE);
        }
    }
    /* serial mode holds seq: nothing can change under us, but the read is
     * still logged because stm_retry() waits on the read set (an unlogged
     * attempt's stm_retry re-runs logged first), unless it reads what the
     * attempt wrote in place (a logged attempt's undo log is indexed) */
    if (tx->logged && (tx->ulog.filter == 0 || stm_wlog_find(&tx->ulog, tv) == NULL))
        stm_rlog_append(&tx->rlog, tv, v);
    return v;
}

void stm_norec_write_slow(stm_tx *tx, stm_tvar *tv, uintptr_t v)
{
    struct stm_wentry *w = stm_wlog_find(&tx->wlog, tv);
    /* an entry made inside the current orElse scope can be updated in place;
     * one from an enclosing scope must survive a rollback of this branch */
    if (w != NULL && (size_t)(w - tx->wlog.e) >= tx->wscope)
        w->val = v;
    else
        stm_wlog_append(&tx->wlog, tv, v);
}

/* Every logged value still in memory? */
static bool rlog_unchanged(const stm_tx *tx)
{
#ifdef STM_TEST_BROKEN_VALIDATION
    /* Test-only fault, compiled into a second copy of the library that only
     * tests/history links (see its Makefile.inc): validation always passes,
     * so an attempt keeps reads that a commit made stale and a writer
     * commits over them.  The history checker must report it.  Keep this
     * the one place that decides whether a read log still holds. */
    (void)tx;
    return true;
#endif
    const struct stm_rentry *e = tx->rlog.e;
    for (size_t i = 0, n = tx->rlog.n; i < n; i++)
        if (__atomic_load_n(&e[i].addr->word, __ATOMIC_RELAXED) != e[i].val)
            return false;
    return true;
}

/* Re-reads of the log that may end unsettled (a commit landed during the
 * re-read) before the attempt gives up.  A long read set against a steady
 * stream of commits never settles: each re-read takes longer than the gap
 * between commits.  Counting that as a failed attempt lets STM_SERIAL_AFTER
 * finish the transaction serially (stm(7)); without it the attempt looped
 * here forever and no abort was ever counted.  Small read sets settle on
 * the first or second round. */
#define STM_VALIDATE_ROUNDS 4

void (*stm_test_validate_round)(void);

void stm_norec_validate(stm_tx *tx)
{
    /* called because a counter moved: a commit intervened, and an unlogged
     * attempt cannot tell whether it touched what we read */
    if (!tx->logged)
        stm_tx_abort(tx, STM_ABORT_VALIDATION);
    for (unsigned round = 0;; round++) {
        if (round == STM_VALIDATE_ROUNDS)
            stm_tx_abort(tx, STM_ABORT_VALIDATION);
        uint64_t s = stm_seq_even();
        uint64_t h = __atomic_load_n(STM_HW_COMMITS, __ATOMIC_ACQUIRE);
        if (!rlog_unchanged(tx))
            stm_tx_abort(tx, STM_ABORT_VALIDATION);
        if (stm_test_validate_round != NULL)
            stm_test_validate_round();
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        if (__atomic_load_n(STM_SEQ, __ATOMIC_RELAXED) == s &&
            __atomic_load_n(STM_HW_COMMITS, __ATOMIC_RELAXED) == h) {
            tx->snap = s;
            tx->hsnap = h;
            return;
        }
    }
}

/* Take seq from snap to snap+1, revalidating while others commit; then
 * settle hardware commits that happened since the last validation.  On
 * return this thread holds the lock with a consistent read log. */
static void lock_seq(stm_tx *tx)
{
    for (;;) {
        uint64_t s = tx->snap;
        if (__atomic_compare_exchange_n(STM_SEQ, &s, s + 1, false, __ATOMIC_SEQ_CST,
                                        __ATOMIC_RELAXED))
            break;
        stm_norec_validate(tx);
    }
    /* hardware writers that committed between the last validation and the
     * CAS bumped hw_commits (sw_active > 0); none can commit now */
    if (__atomic_load_n(STM_HW_COMMITS, __ATOMIC_ACQUIRE) != tx->hsnap) {
        if (!rlog_unchanged(tx)) {
            /* nothing written: the old even value is still accurate */
            __atomic_store_n(STM_SEQ, tx->snap, __ATOMIC_RELEASE);
            stm_tx_abort(tx, STM_ABORT_VALIDATION);
        }
        tx->hsnap = __atomic_load_n(STM_HW_COMMITS, __ATOMIC_RELAXED);
    }
}

static void write_back(const stm_tx *tx)
{
    __atomic_thread_fence(__ATOMIC_RELEASE);
    const struct stm_wentry *e = tx->wlog.e;
    /* in log order, so the newest entry for an address lands last */
    for (size_t i = 0, n = tx->wlog.n; i < n; i++)
        __atomic_store_n(&e[i].addr->word, e[i].val, __ATOMIC_RELAXED);
}

bool stm_norec_commit_writer(stm_tx *tx)
{
    lock_seq(tx);
    bool wake = stm_wait_any();
    write_back(tx);
    __atomic_store_n(STM_SEQ, tx->snap + STM_SEQ_STEP, __ATOMIC_RELEASE);
    stm_attempt_exit(tx);
    return wake;
}

void stm_norec_lock_for_write(stm_tx *tx)
{
    uint64_t s = tx->snap;
    if (!__atomic_compare_exchange_n(STM_SEQ, &s, s + 1, false, __ATOMIC_SEQ_CST,
                                     __ATOMIC_RELAXED))
        stm_tx_abort(tx, STM_ABORT_VALIDATION); /* somebody committed */
    stm_norec_now_serial(tx);
    tx->tml = true;
    /* stm.h's inline write may run only once dirty is set: the library's
     * write that follows sets it and reopens the cursor (the undo log of
     * a NOrec attempt is empty) */
    tx->head.ucur = tx->head.uend = NULL;
}

void stm_norec_become_serial(stm_tx *tx)
{
    if (!tx->logged) {
        stm_norec_lock_for_write(tx);
        tx->tml = false;
        return;
    }
    lock_seq(tx);
    stm_norec_now_serial(tx);
    /* the write log, applied in place with undo entries, as if each write
     * had been made in serial mode */
    const struct stm_wentry *e = tx->wlog.e;
    for (size_t i = 0, n = tx->wlog.n; i < n; i++)
        stm_serial_write(tx, e[i].addr, e[i].val);
    stm_wlog_clear(&tx->wlog);
    tx->wscope = 0;
}

/* Serial attempts of a thread that found seq held take the gate for this
 * many of its next serial attempts (gate.h); then it tries without again,
 * so that a thread running alone pays for no gate. */
#define STM_GATED_STREAK 64

void stm_serial_begin(stm_tx *tx, bool logged)
{
    if (tx->gated_left == 0 && __builtin_expect(__atomic_load_n(STM_SEQ, __ATOMIC_RELAXED) & 1, 0))
        tx->gated_left = STM_GATED_STREAK; /* contended */
    if (tx->gated_left != 0) {
        /* the gate first: waiters sleep instead of spinning on seq */
        tx->gated_left--;
        stm_gate_lock();
        tx->gated = true;
    }
    stm_attempt_enter(tx);
    for (unsigned i = 0;; i++) {
        uint64_t s = stm_seq_even();
        if (__atomic_compare_exchange_n(STM_SEQ, &s, s + 1, false, __ATOMIC_SEQ_CST,
                                        __ATOMIC_RELAXED)) {
            tx->snap = s;
            break;
        }
        stm_backoff(i);
    }
    tx->hsnap = __atomic_load_n(STM_HW_COMMITS, __ATOMIC_ACQUIRE);
    tx->logged = logged;
    stm_norec_now_serial(tx);
}

bool stm_norec_store(stm_tvar *tv, uintptr_t v)
{
    /* a one-word writer commit: readers must see seq move, or a transaction
     * could combine the old value of tv with values written after it */
    for (unsigned i = 0;; i++) {
        uint64_t s = stm_seq_even();
        if (__atomic_compare_exchange_n(STM_SEQ, &s, s + 1, false, __ATOMIC_SEQ_CST,
                                        __ATOMIC_RELAXED)) {
            bool wake = stm_wait_any();
            __atomic_thread_fence(__ATOMIC_RELEASE);
            __atomic_store_n(&tv->word, v, __ATOMIC_RELAXED);
            __atomic_store_n(STM_SEQ, s + STM_SEQ_STEP, __ATOMIC_RELEASE);
            return wake;
        }
        stm_backoff(i);
    }
}
