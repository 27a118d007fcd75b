/* Waiting without burning a core: a short spin with the CPU's pause hint,
 * then sched_yield(), so that an oversubscribed machine lets a preempted
 * lock holder run instead of everyone spinning through its time slice. */
#ifndef STM_SRC_SPIN_H
#define STM_SRC_SPIN_H

#include <sched.h>

static inline void stm_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__powerpc64__)
    __asm__ __volatile__("or 27,27,27" ::: "memory"); /* low SMT priority */
    __asm__ __volatile__("or 2,2,2" ::: "memory");    /* back to normal */
#else
    __asm__ __volatile__("" ::: "memory");
#endif
}

#define STM_SPIN_BEFORE_YIELD 64

/* Step i of a wait: spin for the first rounds, then yield each round. */
static inline void stm_backoff(unsigned i)
{
    if (i < STM_SPIN_BEFORE_YIELD)
        stm_cpu_relax();
    else
        sched_yield();
}

#endif
