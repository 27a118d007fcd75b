#include <pthread.h>
#include <string.h>

#include "registry.h"
#include "spin.h"

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static stm_tx *live_threads;
static struct stm_stats exited_totals;

#define NSTATS (sizeof(struct stm_stats) / sizeof(uint64_t))

static void stats_accumulate(struct stm_stats *dst, const struct stm_stats *src)
{
    uint64_t *d = (uint64_t *)dst;
    const uint64_t *s = (const uint64_t *)src;
    for (size_t i = 0; i < NSTATS; i++)
        d[i] += __atomic_load_n(&s[i], __ATOMIC_RELAXED);
}

void stm_registry_add(stm_tx *tx)
{
    pthread_mutex_lock(&registry_lock);
    tx->prev = NULL;
    tx->next = live_threads;
    if (live_threads)
        live_threads->prev = tx;
    live_threads = tx;
    pthread_mutex_unlock(&registry_lock);
}

void stm_registry_remove(stm_tx *tx, void (*on_exit)(stm_tx *tx))
{
    pthread_mutex_lock(&registry_lock);
    stats_accumulate(&exited_totals, &tx->stats);
    if (on_exit != NULL)
        on_exit(tx);
    if (tx->prev)
        tx->prev->next = tx->next;
    else
        live_threads = tx->next;
    if (tx->next)
        tx->next->prev = tx->prev;
    pthread_mutex_unlock(&registry_lock);
}

void stm_registry_visit(void (*visit)(stm_tx *tx, void *ctx), void *ctx)
{
    pthread_mutex_lock(&registry_lock);
    visit(NULL, ctx);
    for (stm_tx *tx = live_threads; tx; tx = tx->next)
        visit(tx, ctx);
    pthread_mutex_unlock(&registry_lock);
}

void stm_registry_sum(struct stm_stats *out)
{
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&registry_lock);
    stats_accumulate(out, &exited_totals);
    for (stm_tx *tx = live_threads; tx; tx = tx->next)
        stats_accumulate(out, &tx->stats);
    pthread_mutex_unlock(&registry_lock);
}

void stm_registry_wait_all(const stm_tx *self, bool (*busy)(const stm_tx *tx))
{
    /* the lock only while looking: a descriptor cannot be freed under us,
     * and a busy thread may need the lock itself (stm_stats_get inside a
     * transaction, a new thread's registration) */
    for (unsigned i = 0;; i++) {
        bool any = false;
        pthread_mutex_lock(&registry_lock);
        for (stm_tx *tx = live_threads; tx && !any; tx = tx->next)
            any = tx != self && busy(tx);
        pthread_mutex_unlock(&registry_lock);
        if (!any)
            return;
        stm_backoff(i);
    }
}
