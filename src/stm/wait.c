/*
 * Blocking retry with one futex word (PROTOCOL.md, "Blocking retry").
 *
 * A waiter: waiters++ (seq_cst); w = wake_seq (acquire); wait for seq even
 * (seq_cst load first); re-check every logged value; if all still hold,
 * futex_wait(&wake_seq, w).  A writer: after taking the seq lock, load
 * waiters (seq_cst); write back; release seq; if it saw waiters, wake_seq++
 * (release) and futex_wake(all).
 *
 * No lost wake-up: either the writer's load of `waiters` follows the
 * increment in the seq_cst order (it wakes: the kernel returns EAGAIN if
 * wake_seq moved after w was read, and the bump is ordered after the
 * writeback, so a waiter that read the bumped w also reads the new values),
 * or it precedes it, and then the waiter's seq load follows the writer's CAS,
 * so the waiter waits for the writeback and its re-check sees the change.
 * Hardware writers read `waiters` inside the transaction: an increment
 * during the transaction aborts it, one before it is seen.
 */
#include <errno.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <urcu/urcu-memb.h>

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
static bool read_set_holds(const stm_tx *tx)
{
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
    urcu_memb_read_unlock();
    return holds;
}

void stm_wait_for_change(stm_tx *tx)
{
    STM_STAT_INC(tx, retries_blocked);
    __atomic_fetch_add(&stm_waitq.waiters.v, 1, __ATOMIC_SEQ_CST);
    for (;;) {
        uint32_t w = __atomic_load_n(&stm_waitq.wake_seq, __ATOMIC_ACQUIRE);
        if (!read_set_holds(tx))
            break;
        if (stm_test_before_sleep != NULL)
            stm_test_before_sleep();
        futex_wait(&stm_waitq.wake_seq, w);
        /* woken, or wake_seq moved, or a signal: re-check (a waiter re-runs
         * only if a value it read changed) */
    }
    __atomic_fetch_sub(&stm_waitq.waiters.v, 1, __ATOMIC_RELEASE);
    tx->rlog.n = 0;
}
