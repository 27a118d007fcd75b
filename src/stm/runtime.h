/* Process-wide start-up (configuration, CPU probe) and the thread registry
 * that stm_stats_get() sums over. */
#ifndef STM_SRC_RUNTIME_H
#define STM_SRC_RUNTIME_H

#include <stdio.h>

#include "stm.h"

/* Idempotent, thread-safe; every entry point that needs the configuration
 * or the chosen path calls it (stm_tx_create does). */
void stm_runtime_init(void);

/* Sum the counters of every live and exited thread into *out. */
void stm_registry_sum(struct stm_stats *out);

/* The lock of stm_stats_reset()'s baseline, for fork() (fork.c). */
void stm_stats_lock(void);
void stm_stats_unlock(void);

/* Print the STM_STATS=1 summary to f. */
void stm_stats_print(FILE *f);

#endif
