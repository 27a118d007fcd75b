/*
 * Blocking retry with per-address wait buckets and one futex word
 * (doc/PROTOCOL.md, "Blocking retry", refined by buckets).
 *
 * Buckets: every TVar address maps to one of 64 buckets (its bit in the
 * write log's Bloom filter, stm_wlog_bit).  A waiter announces itself in
 * the global count and in the bucket of every TVar it read; a software
 * writer wakes only if a bucket of its write set has waiters.  Measured
 * with bench/wakeup: with one idle waiter on an unrelated TVar, a writer's
 * commit rate fell about 40-fold when every commit woke (a futex syscall
 * plus the waiter's re-check per commit); with buckets such writers do not
 * wake at all.  Sleeping stays on the one futex word, so a wake-up still
 * wakes every sleeper, which re-checks its own read set.
 *
 * A waiter: waiters++ and bucket[b]++ for each bucket b of its read set
 * (all seq_cst); then repeat: w = wake_seq (acquire); wait for seq even
 * (seq_cst load first); re-check every logged value; if all still hold,
 * futex_wait(&wake_seq, w).  On leaving it undoes the increments.
 * A software writer (NOrec commit, serial commit, stm_store): after taking
 * the seq lock, load waiters and then bucket[b] for each bucket of its
 * write set (seq_cst); write back; release seq; if it saw a waiter in one
 * of its buckets, wake_seq++ and futex_wake(all).
 *
 * No lost wake-up.  Take a waiter T that read TVar X (bucket b) and a
 * writer W that commits a change to X, so b is in W's mask.  In the single
 * total order S of seq_cst operations either
 *  (a) W's loads of waiters and of bucket[b] both follow T's increments of
 *      them: W sees both nonzero and wakes.  The futex cannot miss it: the
 *      kernel returns EAGAIN if wake_seq moved after T read w, and the bump
 *      follows W's writeback, so a T that read the bumped w re-checks
 *      against the new values; or
 *  (b) one of W's loads precedes the matching increment of T.  W's CAS on
 *      seq precedes that load in S (program order, both seq_cst), and T's
 *      increments precede its seq load, so T's seq load follows W's CAS: T
 *      sees seq odd (and waits for the writeback) or a later even value,
 *      and its re-check sees X changed, so it does not sleep.
 * Other buckets' waiters are not W's concern: W changed none of their TVars.
 * Hardware writers read the global `waiters` inside the transaction (an
 * increment during the transaction aborts it, one before it is seen) and
 * wake whenever any thread waits: a superset, so the argument still holds.
  */
#include <errno.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <urcu/urcu-memb.h>

#include "memory.h"
#include "wait.h"

struct stm_waitq stm_waitq;
void (*stm_test_before_sleep)(void);

static void futex_wait(uint32_t *addr, uint32_t expected)
{
    syscall(SYS_futex, addr, FUTEX_WAIT_PRIVATE, expected, NULL, NULL, 0);
}

static void futex_wake_all(uint32_t *addr)
{
    syscall(SYS_futex, addr, FUTEX_WAKE_PRIVATE, INT32_MAX, NULL, NULL, 0);
}

void stm_wake_all(stm_tx *tx)
{
    __atomic_fetch_add(&stm_waitq.wake_seq, 1, __ATOMIC_SEQ_CST);
    futex_wake_all(&stm_waitq.wake_seq);
    if (tx != NULL)
        STM_STAT_INC(tx, wakeups);
}

/* Re-check the read log in the order it was read, stopping at the first
 * difference.  The TVars may live in memory that a later transaction
 * unlinked and freed while we slept (we are outside any read-side section
 * then).  But the transaction reached each TVar through TVars read before
 * it, and memory is freed only after it was unlinked, i.e. after an earlier
 * logged value changed: checking in order finds that change before
 * touching the freed TVar, and the read-side section keeps everything
 * checked from being freed during the check. */
static bool read_set_holds(const void *arg)
{
    const stm_tx *tx = arg;
    bool holds = true;
    urcu_memb_read_lock();
    /* wait out a writeback in progress so that we compare against whole
     * commits; the seq_cst load pairs with the writer's waiters load */
    uint64_t s = __atomic_load_n(STM_SEQ, __ATOMIC_SEQ_CST);
    if (s & 1)
        stm_wait_even(STM_SEQ);
    for (size_t i = 0; i < tx->rlog.n; i++) {
        if (__atomic_load_n(&tx->rlog.e[i].addr->word, __ATOMIC_ACQUIRE) != tx->rlog.e[i].val) {
            holds = false;
            break;
        }
    }
    STM_TSAN_RCU_RELEASE(); /* see memory.h */
    urcu_memb_read_unlock();
    return holds;
}

static uint64_t read_set_buckets(const stm_tx *tx)
{
    uint64_t m = 0;
    for (size_t i = 0; i < tx->rlog.n; i++)
        m |= stm_wlog_bit(tx->rlog.e[i].addr);
    return m;
}

void stm_wait_for_change(stm_tx *tx)
{
    stm_wait_until_changed(tx, read_set_buckets(tx), read_set_holds, tx);
    tx->rlog.n = 0;
}

void stm_wait_until_changed(stm_tx *tx, uint64_t mine, bool (*holds)(const void *arg),
                            const void *arg)
{
    STM_STAT_INC(tx, retries_blocked);
    __atomic_fetch_add(&stm_waitq.waiters.v, 1, __ATOMIC_SEQ_CST);
    for (uint64_t m = mine; m != 0; m &= m - 1)
        __atomic_fetch_add(&stm_waitq.bucket[__builtin_ctzll(m)], 1, __ATOMIC_SEQ_CST);
    for (;;) {
        uint32_t w = __atomic_load_n(&stm_waitq.wake_seq, __ATOMIC_ACQUIRE);
        if (!holds(arg))
            break;
        if (stm_test_before_sleep != NULL)
            stm_test_before_sleep();
        futex_wait(&stm_waitq.wake_seq, w);
        /* woken, or wake_seq moved, or a signal: re-check (a waiter re-runs
         * only if a value it read changed) */
    }
    for (uint64_t m = mine; m != 0; m &= m - 1)
        __atomic_fetch_sub(&stm_waitq.bucket[__builtin_ctzll(m)], 1, __ATOMIC_RELEASE);
    __atomic_fetch_sub(&stm_waitq.waiters.v, 1, __ATOMIC_RELEASE);
}
