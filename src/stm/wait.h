/* Blocking retry: waiters sleep on a futex until a committed write may
 * have changed something they read.  The correctness argument (no lost
 * wake-up) is in src/fallback/norec.c's essay and in wait.c. */
#ifndef STM_SRC_WAIT_H
#define STM_SRC_WAIT_H

#include <stdbool.h>
#include <stdint.h>

#include "hybrid.h"
#include "tx.h"

struct stm_waitq {
    struct stm_padded_word waiters;   /* threads between announce and leave */
    _Alignas(STM_CACHELINE) uint32_t wake_seq; /* futex word */
};
extern struct stm_waitq stm_waitq;

/* Read by writers after taking the seq lock (seq_cst, see the essay) and
 * by hardware writers inside the transaction. */
static inline bool stm_waiters_present(void)
{
    return __atomic_load_n(&stm_waitq.waiters.v, __ATOMIC_SEQ_CST) != 0;
}

/* Wake every blocked thread; counted in tx's stats when tx is not NULL. */
void stm_wake_all(stm_tx *tx);

/* Block until some (address, value) of tx's read log no longer holds.
 * The read log must be non-empty; it is cleared on return. */
void stm_wait_for_change(stm_tx *tx);

/* Test hook: called between the last re-check and the sleep, to widen the
 * lost-wake-up window in tests.  NULL in production. */
extern void (*stm_test_before_sleep)(void);

#endif
