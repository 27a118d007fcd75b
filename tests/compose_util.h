/* Helpers for the composition suites (test_retry, test_wakeup, test_ds):
 * running a suite with every test in its own process, waiting (bounded)
 * until a number of threads are blocked in stm_retry, and a watchdog. */
#ifndef STM_TESTS_COMPOSE_UTIL_H
#define STM_TESTS_COMPOSE_UTIL_H

#include <check.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <stm.h>

#include "core/wait.h"

static inline int compose_run_suite(Suite *s)
{
    SRunner *sr = srunner_create(s);
    /* every test in its own process, unless CK_FORK=no (for debuggers) */
    if (getenv("CK_FORK") == NULL)
        srunner_set_fork_status(sr, CK_FORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

static inline void compose_sleep_ms(unsigned ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* Threads between announcing themselves as waiters and leaving the wait. */
static inline uint64_t compose_waiters(void)
{
    return __atomic_load_n(&stm_waitq.waiters.v, __ATOMIC_ACQUIRE);
}

/* Poll until at least n threads wait in stm_retry.  Not a timing
 * assertion: the watchdog (alarm) bounds it if the threads never block. */
static inline void compose_wait_blocked(uint64_t n)
{
    while (compose_waiters() < n)
        compose_sleep_ms(1);
}

/* The test fails (SIGALRM kills its process, and Check reports the signal)
 * instead of hanging if it is not done within `seconds`. */
static inline void compose_watchdog(unsigned seconds)
{
    alarm(seconds);
}

static inline double compose_thread_cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

#endif
