/* The words of the two-counter Hybrid NOrec protocol, shared by every path.
 * See PROTOCOL in src/stm/atomically.c for how they interact.
 *
 *  seq         NOrec sequence lock; odd while a software writer writes back
 *              or a serial transaction runs.
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

#include <stdbool.h>
#include <stdint.h>

#define STM_CACHELINE 128

struct stm_padded_word {
    _Alignas(STM_CACHELINE) uint64_t v;
    char pad[STM_CACHELINE - sizeof(uint64_t)];
};

struct stm_hybrid {
    struct stm_padded_word seq;
    struct stm_padded_word hw_commits;
    struct stm_padded_word sw_active;
    /* read-mostly: whether any hardware path may run in this process.  When
     * false, software transactions skip the sw_active bookkeeping, since no
     * hardware writer exists that would need the gate. */
    _Alignas(STM_CACHELINE) bool htm_enabled;
};

extern struct stm_hybrid stm_hybrid;

#define STM_SEQ (&stm_hybrid.seq.v)
#define STM_HW_COMMITS (&stm_hybrid.hw_commits.v)
#define STM_SW_ACTIVE (&stm_hybrid.sw_active.v)

/* Wait until *word is even and return it (acquire).  Spins briefly, then
 * yields the CPU so that a preempted lock holder can run
 * (oversubscription must not collapse throughput). */
uint64_t stm_wait_even(const uint64_t *word);

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
