/* Blocking retry: waiters sleep on a futex until a committed write may
 * have changed something they read (a write to one of the wait buckets of
 * their read set).  The correctness argument (no lost
 * wake-up) is in src/fallback/norec.c's essay and in wait.c. */
#ifndef STM_SRC_WAIT_H
#define STM_SRC_WAIT_H

#include <stdbool.h>
#include <stdint.h>

#include "hybrid.h"
#include "tx.h"

/* Wait buckets: a TVar's bucket is its bit in the write log's 64-bit Bloom
 * filter (stm_wlog_bit), so a software writer's write set is already
 * summarized as a bucket mask (tx->wlog.filter). */
#define STM_WAIT_BUCKETS 64

struct stm_waitq {
    struct stm_padded_word waiters;   /* threads between announce and leave */
    /* per bucket: waiters that read a TVar of that bucket.  Written only by
     * waiters (rare), read by writers that saw waiters != 0. */
    _Alignas(STM_CACHELINE) uint32_t bucket[STM_WAIT_BUCKETS];
    _Alignas(STM_CACHELINE) uint32_t wake_seq; /* futex word */
};
extern struct stm_waitq stm_waitq;

/* Does a writer whose write set has bucket mask `wmask` have to wake?
 * Called by software writers right after taking the seq lock; every load is
 * seq_cst (see wait.c for why that gives no lost wake-up).  Hardware
 * writers instead read the global count inside the transaction. */
static inline bool stm_waiters_for(uint64_t wmask)
{
    if (__atomic_load_n(&stm_waitq.waiters.v, __ATOMIC_SEQ_CST) == 0)
        return false;
    for (uint64_t m = wmask; m != 0; m &= m - 1)
        if (__atomic_load_n(&stm_waitq.bucket[__builtin_ctzll(m)], __ATOMIC_SEQ_CST) != 0)
            return true;
    return false;
}

/* Wake every blocked thread; counted in tx's stats when tx is not NULL. */
void stm_wake_all(stm_tx *tx);

/* Block until some (address, value) of tx's read log no longer holds.
 * The read log must be non-empty; it is cleared on return. */
void stm_wait_for_change(stm_tx *tx);

/* The same wait for a read set libstm does not log itself (libstm-itm's
 * byte-granular one): announce in the buckets of `buckets`, then sleep
 * until holds(arg) returns false.  holds must wait out an odd seq with a
 * seq_cst load first and compare against memory inside a read-side
 * section, as read_set_holds in wait.c does.  Counted in tx's stats. */
void stm_wait_until_changed(stm_tx *tx, uint64_t buckets, bool (*holds)(const void *arg),
                            const void *arg);

/* Test hook: called between the last re-check and the sleep, to widen the
 * lost-wake-up window in tests.  NULL in production. */
extern void (*stm_test_before_sleep)(void);

#endif
