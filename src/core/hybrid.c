#include <sched.h>

#include "hybrid.h"
#include "spin.h"

struct stm_hybrid stm_hybrid;

uint64_t stm_wait_even(const uint64_t *word)
{
    for (unsigned i = 0;; i++) {
        uint64_t s = __atomic_load_n(word, __ATOMIC_ACQUIRE);
        if (!(s & 1))
            return s;
        stm_backoff(i);
    }
}

void stm_hybrid_set_counters(uint64_t seq, uint64_t hw_commits)
{
    __atomic_store_n(STM_SEQ, seq & ~(uint64_t)1, __ATOMIC_SEQ_CST);
    __atomic_store_n(STM_HW_COMMITS, hw_commits, __ATOMIC_SEQ_CST);
}
