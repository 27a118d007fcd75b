/* Blocking retry: a waiter registers the addresses of its read set and
 * sleeps on a futex word of its own; a committing writer wakes exactly the
 * waiters registered on an address it wrote.  The design and the no lost
 * wake-up argument are in wait.c. */
#ifndef STM_SRC_WAIT_H
#define STM_SRC_WAIT_H

#include "hidden.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hybrid.h"
#include "tx.h"

/* Address buckets of the registration table (a power of two). */
#define STM_WAIT_BUCKET_BITS 16
#define STM_WAIT_BUCKETS (1u << STM_WAIT_BUCKET_BITS)
/* Read-set entries a waiter registers address by address; a larger read
 * set registers coarsely, as a bitmap of buckets. */
#define STM_WAIT_EXACT 64

struct stm_waitq {
    struct stm_padded_word waiters;   /* threads registered as waiters */
    /* per bucket: low 32 bits = exact registrations of addresses in the
     * bucket, high 32 bits = coarse waiters whose bitmap has the bucket.
     * Written by waiters (rare), read by writers that saw waiters != 0. */
    _Alignas(STM_CACHELINE) uint64_t count[STM_WAIT_BUCKETS];
};
extern STM_HIDDEN struct stm_waitq stm_waitq;

#define STM_WAIT_COARSE_ONE (1ull << 32)

static inline size_t stm_wait_bucket(const void *addr)
{
    /* Fibonacci hashing of the word address */
    uint64_t a = (uint64_t)(uintptr_t)addr >> 3;
    return (size_t)((a * 0x9e3779b97f4a7c15ull) >> (64 - STM_WAIT_BUCKET_BITS));
}

/* Does anyone wait anywhere?  The one load a writer's commit pays when
 * nobody waits.  Software writers call it after taking the seq lock (or
 * later), seq_cst: see wait.c for why that loses no wake-up.  Hardware
 * writers read the count inside the transaction instead. */
static inline bool stm_wait_any(void)
{
    return __atomic_load_n(&stm_waitq.waiters.v, __ATOMIC_SEQ_CST) != 0;
}

/* Registrations (exact and coarse) on addr's bucket; for tests. */
static inline uint64_t stm_wait_registered(const void *addr)
{
    return __atomic_load_n(&stm_waitq.count[stm_wait_bucket(addr)], __ATOMIC_SEQ_CST);
}

/* Out of line: the wake-ups for the entries from `from` on, whose first
 * has registrations. */
void stm_wake_wlog_from(stm_tx *tx, const struct stm_wlog *l, size_t from);
void stm_wake_addrs_from(stm_tx *tx, stm_tvar *const *a, size_t n, size_t from);

/* Registrations on addr's bucket; seq_cst: see wait.c. */
static inline bool stm_wait_watched(const void *addr)
{
    return __atomic_load_n(&stm_waitq.count[stm_wait_bucket(addr)], __ATOMIC_SEQ_CST) != 0;
}

/* After a commit whose stm_wait_any() was true: wake the waiters
 * registered on the addresses of the write log (before it is cleared), or
 * of the n addresses a[0..n).  Inline, so that a commit to data nobody
 * waits on costs a hash and a load per address written and no call.
 * Counted in tx's stats (one per waiter woken) when tx is not NULL. */
static inline void stm_wake_wlog(stm_tx *tx, const struct stm_wlog *l)
{
    for (size_t i = 0; i < l->n; i++)
        if (stm_wait_watched(l->e[i].addr)) {
            stm_wake_wlog_from(tx, l, i);
            return;
        }
}

static inline void stm_wake_addrs(stm_tx *tx, stm_tvar *const *a, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (stm_wait_watched(a[i])) {
            stm_wake_addrs_from(tx, a, n, i);
            return;
        }
}

/* Wake every registered waiter (a writer that cannot list what it wrote);
 * counted like the above. */
void stm_wake_everyone(stm_tx *tx);

/* A hardware attempt records the TVars it writes (rolled back with it), so
 * that its commit wakes precisely.  Past STM_HTM_WMAX distinct writes the
 * attempt re-runs in software if anyone waits (atomically.c). */
static inline void stm_hw_note_write(stm_tx *tx, stm_tvar *tv)
{
    unsigned n = tx->hw_nw;
    if (n != 0 && n <= STM_HTM_WMAX && tx->hw_w[n - 1] == tv)
        return; /* the same TVar again (a loop of updates) */
    if (n < STM_HTM_WMAX)
        tx->hw_w[n] = tv;
    tx->hw_nw = n + 1;
}

/* Inside a hardware attempt that wrote, just before it commits: must its
 * commit wake anyone?  The loads of `waiters` and of the counts join the
 * transaction's read set, so a registration either precedes the commit
 * and is seen, or aborts the attempt, or follows the commit (and the
 * waiter's re-check sees the writes).  Checked here rather than after the
 * commit so that the loads overlap with the transaction.  Returns 1 (wake
 * after the commit), 0 (nobody to wake), or -1: someone waits and the
 * attempt wrote more TVars than it recorded, so it must re-run in software
 * (which wakes from its full write log). */
static inline int stm_hw_wake_needed(const stm_tx *tx)
{
    if (__atomic_load_n(&stm_waitq.waiters.v, __ATOMIC_RELAXED) == 0)
        return 0;
    if (tx->hw_nw > STM_HTM_WMAX)
        return -1;
    for (unsigned i = 0; i < tx->hw_nw; i++)
        if (__atomic_load_n(&stm_waitq.count[stm_wait_bucket(tx->hw_w[i])], __ATOMIC_RELAXED) != 0)
            return 1;
    return 0;
}

/* stm_retry, called by stm_tx_abort while the attempt is still inside its
 * read-side section: register tx's read log (which must be non-empty and
 * hold no TVar the attempt allocated).  Registration stays until
 * stm_wait_for_change returns or the thread is cancelled in it. */
void stm_wait_register(stm_tx *tx);

/* Block until some (address, value) of tx's read log no longer holds, or a
 * block holding a TVar of it is being freed.  A cancellation point (deferred
 * and asynchronous cancellation act while the thread sleeps).  The read
 * log is cleared on return. */
void stm_wait_for_change(stm_tx *tx);

/* Reclamation (memory.c), after a grace period: is some registered waiter
 * watching an address in [p, p + size)?  If so it is told to re-run its
 * transaction and woken, and the caller must defer the free by another
 * grace period. */
bool stm_wait_block_watched(const void *p, size_t size);

/* In a child after fork(): forget every waiter of the parent (only the
 * forking thread exists there, and it was not waiting). */
void stm_wait_reset_after_fork(void);

/* Test hook: called between the last re-check and the sleep, to widen the
 * lost-wake-up window in tests.  NULL in production. */
extern void (*stm_test_before_sleep)(void);

#endif
