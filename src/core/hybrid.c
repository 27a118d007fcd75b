#include <sched.h>
#include <stdbool.h>

#include "hybrid.h"
#include "spin.h"

struct stm_hybrid stm_hybrid;
bool stm_fast_ok;
/* exported (stm.h): default visibility, so the library reaches it through
 * its GOT and sees the program's copy if the program has a copy relocation */
struct stm__clock stm__clock;
/* stm.h's head for a NULL descriptor: rsnap never equals the clock and no
 * undo cursor is open, so both inline paths call the library.  Also the
 * thread-local descriptor pointer's value before the thread has a
 * descriptor (STM_NO_DESC, tx.h): outer_frame NULL sends the inline
 * stm_atomically to stm__atomically_enter, whose entry check fails on
 * lib_private[1] (STM_FAST_OFF). */
const struct stm_tx_head stm__no_tx = {.rsnap = STM_RSNAP_SLOW, .lib_private = {0, 1, 0, 0}};

uint32_t stm_starving;

uint64_t stm_wait_even(const uint64_t *word)
{
    bool announced = false;
    for (unsigned i = 0;; i++) {
        uint64_t s = __atomic_load_n(word, __ATOMIC_ACQUIRE);
        if (!(s & 1)) {
            if (announced)
                __atomic_fetch_sub(&stm_starving, 1, __ATOMIC_RELEASE);
            return s;
        }
        if (i == STM_STARVE_AFTER && word == STM_SEQ) {
            __atomic_fetch_add(&stm_starving, 1, __ATOMIC_RELAXED);
            announced = true;
        }
        stm_backoff(i);
    }
}

void stm_wait_not_starving(void)
{
    for (unsigned i = 0; __atomic_load_n(&stm_starving, __ATOMIC_ACQUIRE) != 0; i++)
        stm_backoff(i);
}

void stm_hybrid_set_counters(uint64_t seq, uint64_t hw_commits)
{
    __atomic_store_n(STM_SEQ, seq & ~(uint64_t)(STM_SEQ_STEP - 1), __ATOMIC_SEQ_CST);
    __atomic_store_n(STM_HW_COMMITS, hw_commits, __ATOMIC_SEQ_CST);
}
