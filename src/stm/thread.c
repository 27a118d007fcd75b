/* Thread set-up: descriptors are created on a thread's first use and
 * folded into the exited-thread totals (core/registry.c) by a pthread key
 * destructor, so threads need no registration calls. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <urcu/urcu-memb.h>

#include "../core/attempt.h"
#include "../core/config.h"
#include "../core/hybrid.h"
#include "../core/memory.h"
#include "../core/misuse.h"
#include "../core/registry.h"
#include "../core/tx.h"
#include "../htm/htm.h"
#include "runtime.h"
#include "sites.h"

static pthread_key_t tx_key;
static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void tx_destroy(void *p)
{
    stm_tx *tx = p;
    if (tx->depth != 0) {
        /* the thread exited (pthread_exit) inside a transaction: nothing can
         * be committed, but the locks and counters it holds must go */
        stm_mem_undo_allocs(tx, 0);
        stm_tx_leave_for_exit(tx);
    }
    /* the site table folds into the exited totals under the registry lock */
    stm_registry_remove(tx, stm_sites_thread_exit);
    stm_logs_free(tx);
    free(tx);
    stm_tls_tx = NULL;
    urcu_memb_unregister_thread();
}

static void stats_at_exit(void)
{
    stm_stats_print(stderr);
}

static void runtime_init_once(void)
{
    if (pthread_key_create(&tx_key, tx_destroy) != 0)
        stm_fatal("libstm", "pthread_key_create failed");
    const struct stm_config *cfg = stm_config();
    stm_mem_init();
    stm_htm_init(cfg);
    if (cfg->stats)
        atexit(stats_at_exit);
}

void stm_runtime_init(void)
{
    pthread_once(&init_once, runtime_init_once);
}

stm_tx *stm_tx_create(void)
{
    stm_runtime_init();
    stm_tx *tx = calloc(1, sizeof *tx);
    if (tx == NULL)
        stm_fatal("libstm", "out of memory creating a thread descriptor");
    tx->head.rsnap = STM_RSNAP_SLOW; /* not in a transaction: no inline reads */
    tx->site_table = tx->sites = stm_sites_new();
    urcu_memb_register_thread();
    stm_registry_add(tx);
    pthread_setspecific(tx_key, tx);
    stm_tls_tx = tx;
    return tx;
}
