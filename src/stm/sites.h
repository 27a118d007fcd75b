/* Per-site statistics (STM_STATS=2): the counters of struct stm_stats split
 * by transaction site, the stm_fn of the outermost stm_atomically() call.
 *
 * Each thread owns a small table of sites; a profiled transaction snapshots
 * the thread's counters when it starts and adds the difference to its
 * site's entry when it commits, so every counter (aborts per cause, busy
 * waits, adaptive skips, blocking) lands on the site that caused it with no
 * change to where the counters are bumped.  Off by default: the only cost
 * then is stm_atomically's test of tx->sites. */
#ifndef STM_SRC_SITES_H
#define STM_SRC_SITES_H

#include <stdio.h>

#include "stm.h"

struct stm_site_table;

/* A table for a new thread when STM_STATS=2, else NULL (stm_tx_create). */
struct stm_site_table *stm_sites_new(void);

/* Run one outermost transaction of `fn` and charge its counters to the
 * site.  stm_atomically calls this when tx->sites is set. */
intptr_t stm_sites_run(stm_tx *tx, stm_fn fn, void *arg);

/* The thread exits: fold its table into the exited-thread totals and free
 * it.  Called with the registry lock held (thread.c). */
void stm_sites_thread_exit(stm_tx *tx);

/* stm_stats_reset(): later reads subtract the current per-site sums. */
void stm_sites_reset(void);

/* The per-site baseline's lock, for fork() (fork.c). */
void stm_sites_lock(void);
void stm_sites_unlock(void);

/* The STM_STATS=2 part of the summary at exit: one block per site, the
 * busiest first. */
void stm_sites_print(FILE *f);

#endif
