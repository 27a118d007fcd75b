/* The serial gate: a sleeping lock that serial transactions take before
 * the sequence lock.  Under heavy conflict the contention adaptation runs
 * whole streaks of transactions serially; if every waiter for the
 * sequence lock spun on it, its cache line would cross between the cores
 * at every hand-over (a spinning serial mode ran bank A=64 at 2 threads at
 * 0.4x one pthread mutex).  Waiters for the gate sleep in the kernel
 * instead, so the holder's next transactions find `seq` in its own cache,
 * as a contended mutex's owner does (with the gate: 0.8-0.9x).  Only
 * throttling: `seq` still orders everything, and nothing that holds `seq`
 * ever waits for the gate (gate first, then seq), so it adds no deadlock.
 * A futex lock with three states (Drepper, "Futexes Are Tricky", 2011,
 * mutex 3). */
#ifndef STM_SRC_GATE_H
#define STM_SRC_GATE_H

#include "hidden.h"
#include <stdbool.h>
#include <stdint.h>

#include "tx.h"

/* 0 free, 1 held, 2 held and somebody may sleep */
extern STM_HIDDEN uint32_t stm_gate_word;

void stm_gate_lock_slow(void);
void stm_gate_wake(void);

static inline void stm_gate_lock(void)
{
    uint32_t free_word = 0;
    /* acquire: pairs with the unlock's release (throttling only) */
    if (!__atomic_compare_exchange_n(&stm_gate_word, &free_word, 1, false, __ATOMIC_ACQUIRE,
                                     __ATOMIC_RELAXED))
        stm_gate_lock_slow();
}

static inline void stm_gate_unlock(void)
{
    if (__atomic_exchange_n(&stm_gate_word, 0, __ATOMIC_RELEASE) == 2)
        stm_gate_wake();
}

/* A serial attempt's gate, released after its seq (commit, abort). */
static inline void stm_gate_leave(stm_tx *tx)
{
    if (tx->gated) {
        tx->gated = false;
        stm_gate_unlock();
    }
}

#endif
