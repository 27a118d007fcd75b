/* stm_stats_get/reset.  Per-thread counters only grow; a reset records the
 * current sums as a baseline that later reads subtract, so resetting needs
 * no write to another thread's counters (and cannot race with them). */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>

#include "runtime.h"
#include "sites.h"

static pthread_mutex_t baseline_lock = PTHREAD_MUTEX_INITIALIZER;
static struct stm_stats baseline;

#define NSTATS (sizeof(struct stm_stats) / sizeof(uint64_t))

/* Held across fork() (fork.c), so that the child never inherits it held. */
void stm_stats_lock(void)
{
    pthread_mutex_lock(&baseline_lock);
}

void stm_stats_unlock(void)
{
    pthread_mutex_unlock(&baseline_lock);
}

void stm_stats_get(struct stm_stats *out)
{
    if (out == NULL)
        return;
    stm_runtime_init();
    stm_registry_sum(out);
    pthread_mutex_lock(&baseline_lock);
    uint64_t *o = (uint64_t *)out;
    const uint64_t *b = (const uint64_t *)&baseline;
    for (size_t i = 0; i < NSTATS; i++)
        o[i] = o[i] >= b[i] ? o[i] - b[i] : 0;
    pthread_mutex_unlock(&baseline_lock);
}

void stm_stats_reset(void)
{
    struct stm_stats now;
    stm_runtime_init();
    stm_registry_sum(&now);
    pthread_mutex_lock(&baseline_lock);
    baseline = now;
    pthread_mutex_unlock(&baseline_lock);
    stm_sites_reset();
}

void stm_stats_print(FILE *f)
{
    struct stm_stats s;
    stm_stats_get(&s);
    uint64_t commits = s.commits_htm + s.commits_stm + s.commits_serial;
    uint64_t htm_aborts = s.aborts_htm_conflict + s.aborts_htm_capacity +
                          s.aborts_htm_explicit + s.aborts_htm_other;
    fprintf(f,
            "libstm stats (path %s)\n"
            "  commits        %" PRIu64 " (hardware %" PRIu64 ", software %" PRIu64
            ", serial %" PRIu64 ")\n"
            "  hardware aborts %" PRIu64 " (conflict %" PRIu64 ", capacity %" PRIu64
            ", explicit %" PRIu64 ", other %" PRIu64 ")\n"
            "  hardware busy waits %" PRIu64 ", adaptive skips %" PRIu64 "\n"
            "  software aborts %" PRIu64 "\n"
            "  blocked in retry %" PRIu64 ", wake-ups %" PRIu64 "\n",
            stm_path(), commits, s.commits_htm, s.commits_stm, s.commits_serial, htm_aborts,
            s.aborts_htm_conflict, s.aborts_htm_capacity, s.aborts_htm_explicit,
            s.aborts_htm_other, s.htm_busy_waits, s.htm_skipped_adaptive, s.aborts_stm,
            s.retries_blocked, s.wakeups);
    stm_sites_print(f);
}
