/* Thread registry: descriptors are created on a thread's first use and
 * folded into the exited-thread totals by a pthread key destructor, so
 * threads need no registration calls.  Registration with liburcu happens
 * under the registry lock too, so that fork() (fork.c) never finds a
 * thread half registered. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <urcu/urcu-memb.h>

#include "../core/attempt.h"
#include "../core/config.h"
#include "../core/hybrid.h"
#include "../core/memory.h"
#include "../core/misuse.h"
#include "../core/spin.h"
#include "../core/tx.h"
#include "../htm/htm.h"
#include "fork.h"
#include "runtime.h"
#include "sites.h"

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static stm_tx *live_threads;
static struct stm_stats exited_totals;
static pthread_key_t tx_key;
static pthread_once_t init_once = PTHREAD_ONCE_INIT;

#define NSTATS (sizeof(struct stm_stats) / sizeof(uint64_t))

static void stats_accumulate(struct stm_stats *dst, const struct stm_stats *src)
{
    uint64_t *d = (uint64_t *)dst;
    const uint64_t *s = (const uint64_t *)src;
    for (size_t i = 0; i < NSTATS; i++)
        d[i] += __atomic_load_n(&s[i], __ATOMIC_RELAXED);
}

static void tx_destroy(void *p)
{
    stm_tx *tx = p;
    if (tx->head.depth != 0) {
        /* the thread exited (pthread_exit) inside a transaction: nothing can
         * be committed, but the locks and counters it holds must go */
        stm_mem_undo_allocs(tx, 0);
        stm_tx_leave_for_exit(tx);
    }
    pthread_mutex_lock(&registry_lock);
    stats_accumulate(&exited_totals, &tx->stats);
    stm_sites_thread_exit(tx);
    if (tx->prev)
        tx->prev->next = tx->next;
    else
        live_threads = tx->next;
    if (tx->next)
        tx->next->prev = tx->prev;
    urcu_memb_unregister_thread();
    pthread_mutex_unlock(&registry_lock);
    stm_logs_free(tx);
    free(tx);
    stm_tls_tx = STM_NO_DESC;
}

static void stats_at_exit(void)
{
    stm_stats_print(stderr);
}

/* The core's hook (memory.h): wait until busy(tx) is false for every live
 * descriptor but the caller's.  The lock only while looking: a descriptor
 * cannot be freed under us, and a busy thread may need the lock itself
 * (stm_stats_get inside a transaction, a new thread's registration). */
static void registry_wait_all(bool (*busy)(const stm_tx *tx))
{
    const stm_tx *self = stm_tls_tx;
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

static void runtime_init_once(void)
{
    if (pthread_key_create(&tx_key, tx_destroy) != 0)
        stm_fatal("libstm", "pthread_key_create failed");
    const struct stm_config *cfg = stm_config();
    stm_mem_wait_threads = registry_wait_all;
    stm_mem_init();
    stm_htm_init(cfg);
    stm_fork_handlers_install();
    if (cfg->stats)
        atexit(stats_at_exit);
}

void stm_runtime_init(void)
{
    pthread_once(&init_once, runtime_init_once);
}

stm_tx *stm_tx_create(void)
{
    /* a signal handler that interrupted this thread's first call (which
     * may hold pthread_once or the registry lock) and calls libstm */
    static __thread bool creating;
    if (creating)
        stm_fatal("libstm", "called from a signal handler that interrupted this thread's "
                            "first libstm call (not async-signal-safe)");
    creating = true;
    stm_runtime_init();
    stm_tx *tx = calloc(1, sizeof *tx);
    if (tx == NULL)
        stm_fatal("libstm", "out of memory creating a thread descriptor");
    tx->head.rsnap = STM_RSNAP_SLOW; /* not in a transaction: no inline reads */
    tx->site_table = tx->sites = stm_sites_new();
    stm_fast_recheck(tx);
    pthread_mutex_lock(&registry_lock);
    urcu_memb_register_thread();
    tx->rcu_reader = stm_rcu_reader_self();
    tx->next = live_threads;
    if (live_threads)
        live_threads->prev = tx;
    live_threads = tx;
    pthread_mutex_unlock(&registry_lock);
    pthread_setspecific(tx_key, tx);
    stm_tls_tx = tx;
    creating = false;
    return tx;
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

void stm_registry_fork_prepare(void)
{
    pthread_mutex_lock(&registry_lock);
    stm_stats_lock();
    stm_sites_lock();
}

void stm_registry_fork_parent(void)
{
    stm_sites_unlock();
    stm_stats_unlock();
    pthread_mutex_unlock(&registry_lock);
}

void stm_registry_fork_child(void (*forget_reader)(void *rec))
{
    stm_tx *self = stm_tls_tx, *next;
    for (stm_tx *tx = live_threads; tx != NULL; tx = next) {
        next = tx->next;
        if (tx == self)
            continue;
        /* its thread does not exist here: as if it had exited, except
         * that its attempt's blocks are left alone (an attempt that had
         * just committed may have published them) */
        stats_accumulate(&exited_totals, &tx->stats);
        stm_sites_thread_exit(tx);
        forget_reader(tx->rcu_reader);
        stm_logs_free(tx);
        free(tx);
    }
    if (self == STM_NO_DESC) {
        live_threads = NULL; /* the forking thread has no descriptor */
    } else {
        live_threads = self;
        self->next = self->prev = NULL;
    }
    stm_sites_unlock();
    stm_stats_unlock();
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
