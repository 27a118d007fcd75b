/* Process-wide start-up (configuration, CPU probe) and the descriptor of
 * the calling thread. */
#ifndef STM_SRC_RUNTIME_H
#define STM_SRC_RUNTIME_H

#include <stdbool.h>
#include <stdio.h>

#include "../core/tx.h"
#include "stm.h"

/* Idempotent, thread-safe; every entry point that needs the configuration
 * or the chosen path calls it (stm_tx_create does). */
void stm_runtime_init(void);

/* This thread's descriptor, created (and the thread registered) on first
 * use (thread.c). */
stm_tx *stm_tx_create(void);

static inline stm_tx *stm_tx_self(void)
{
    stm_tx *tx = stm_tls_tx;
    if (__builtin_expect(tx == STM_NO_DESC, 0))
        tx = stm_tx_create();
    return tx;
}

/* Sum the counters of every live and exited thread into *out. */
void stm_registry_sum(struct stm_stats *out);

/* The lock of stm_stats_reset()'s baseline, for fork() (fork.c). */
void stm_stats_lock(void);
void stm_stats_unlock(void);

/* Call visit(NULL, ctx) (the exited threads' share), then visit(tx, ctx)
 * for every live thread, all under the registry lock, which also guards
 * what a thread folds into the exited totals as it exits. */
void stm_registry_visit(void (*visit)(stm_tx *tx, void *ctx), void *ctx);

/* Print the STM_STATS summary to f (per site too with STM_STATS=2). */
void stm_stats_print(FILE *f);

#endif
