/* The registry of live descriptors (one per thread that used libstm) and
 * the statistics of threads that exited.  The front adds a descriptor when
 * it creates one and removes it when the thread exits (src/stm/thread.c);
 * the core walks it to sum statistics and to wait for other threads
 * (memory.c). */
#ifndef STM_SRC_REGISTRY_H
#define STM_SRC_REGISTRY_H

#include <stdbool.h>

#include "tx.h"

void stm_registry_add(stm_tx *tx);

/* Unlink tx and fold its counters into the exited-thread totals;
 * on_exit(tx), if not NULL, runs under the registry lock first (the front
 * folds its per-site table there). */
void stm_registry_remove(stm_tx *tx, void (*on_exit)(stm_tx *tx));

/* Call visit(NULL, ctx) (the exited threads' share), then visit(tx, ctx)
 * for every live thread, all under the registry lock, which also guards
 * what a thread folds into the exited totals as it exits. */
void stm_registry_visit(void (*visit)(stm_tx *tx, void *ctx), void *ctx);

/* Sum the counters of every live and exited thread into *out. */
void stm_registry_sum(struct stm_stats *out);

/* Wait until busy(tx) is false for every live descriptor other than
 * `self`; busy must become false without anything from the caller. */
void stm_registry_wait_all(const stm_tx *self, bool (*busy)(const stm_tx *tx));

#endif
