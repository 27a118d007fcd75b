/* The words of the two-counter Hybrid NOrec protocol, shared by every path.
 * See PROTOCOL in src/stm/atomically.c for how they interact.
 *
 *  seq         NOrec sequence lock; odd while a software writer writes back
 *              or a serial transaction runs.  It moves in steps of
 *              STM_SEQ_STEP = 4: free values are 0 mod 4, held ones 1 mod
 *              4, so no value that is 2 mod 4 ever appears and a descriptor
 *              head's rsnap set to STM_RSNAP_SLOW never matches it (stm.h).
 *              It is the exported stm__clock, read by the inline stm_read.
 *  hw_commits  bumped by committing hardware writers, only while
 *              sw_active > 0 (RH-NOrec's gate: Matveev and Shavit, ASPLOS
 *              2015), so hardware writers do not contend on it otherwise.
 *  sw_active   software and serial transactions in flight.
 *
 * Each word sits on its own cache line (128 bytes covers POWER's line and
 * x86's adjacent-line prefetch) so that hardware readers of `seq` are not
 * aborted by updates of its neighbours. */
#ifndef STM_SRC_HYBRID_H
#define STM_SRC_HYBRID_H

#include "hidden.h"
#include <stdbool.h>
#include <stdint.h>

#include "stm.h"

#define STM_CACHELINE 128

struct stm_padded_word {
    _Alignas(STM_CACHELINE) uint64_t v;
    char pad[STM_CACHELINE - sizeof(uint64_t)];
};

struct stm_hybrid {
    struct stm_padded_word hw_commits;
    struct stm_padded_word sw_active;
    /* read-mostly: whether any hardware path may run in this process.  When
     * false, software transactions skip the sw_active bookkeeping, since no
     * hardware writer exists that would need the gate. */
    _Alignas(STM_CACHELINE) bool htm_enabled;
};

extern STM_HIDDEN struct stm_hybrid stm_hybrid;

/* Whether the front's top-level software fast path may run: STM_MODE auto
 * or stm, and no hardware path (set with htm_enabled: before any
 * transaction runs, or while none runs: tests). */
extern STM_HIDDEN bool stm_fast_ok;

#define STM_SEQ (&stm__clock.seq)
#define STM_SEQ_STEP 4
/* rsnap of a descriptor whose reads must not take the inline path */
#define STM_RSNAP_SLOW ((uint64_t)2)
#define STM_HW_COMMITS (&stm_hybrid.hw_commits.v)
#define STM_SW_ACTIVE (&stm_hybrid.sw_active.v)

/* Wait until *word is even and return it (acquire).  Spins briefly, then
 * yields the CPU so that a preempted lock holder can run
 * (oversubscription must not collapse throughput). */
uint64_t stm_wait_even(const uint64_t *word);

/* Fairness for waiters on seq.  Unlogged writers hold seq from their first
 * write to their commit and take it again at once, so a thread waiting
 * for it to be even can starve: under valgrind, which runs one thread at
 * a time and switched mostly while a writer held seq, a long reader among
 * a writer's tight loop waited for minutes.  A waiter that has waited
 * STM_STARVE_AFTER rounds counts itself in stm_starving until it sees seq
 * even, and new software attempts wait (before their snapshot, holding
 * nothing) while the count is not zero. */
#define STM_STARVE_AFTER 256
extern STM_HIDDEN uint32_t stm_starving;
void stm_wait_not_starving(void);

static inline uint64_t stm_seq_even(void)
{
    uint64_t s = __atomic_load_n(STM_SEQ, __ATOMIC_ACQUIRE);
    if (__builtin_expect(s & 1, 0))
        s = stm_wait_even(STM_SEQ);
    return s;
}

/* Test hook: start the counters at arbitrary values (near 2^64 to check
 * wrap-around).  Only while no transaction runs. */
void stm_hybrid_set_counters(uint64_t seq, uint64_t hw_commits);

#endif
