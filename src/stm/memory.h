/* Transactional allocation and deferred reclamation (liburcu, memb flavor).
 * Every block handed out by stm_alloc() and stm_tvar_new() carries a header
 * with an rcu_head and a magic word, so misuse (freeing foreign memory,
 * double frees) is detected and reclamation needs no extra allocation. */
#ifndef STM_SRC_MEMORY_H
#define STM_SRC_MEMORY_H

#include "tx.h"

/* On abort: free this attempt's allocations from index `from` on. */
void stm_mem_undo_allocs(stm_tx *tx, size_t from);

/* Before stm_mem_undo_allocs(tx, amark) when the read log survives (an
 * orElse branch or an attempt that retried): drop the read-log entries from
 * index `rmark` on that point into the blocks about to be freed.  Nobody
 * else can change those TVars, and keeping them would make the wait and
 * later validations read freed memory. */
void stm_mem_forget_reads(stm_tx *tx, size_t amark, size_t rmark);

/* After commit: hand the logged frees to call_rcu, forget the allocations. */
void stm_mem_commit(stm_tx *tx);

/* After a hardware commit: release tx->hw_frees. */
void stm_mem_commit_htm(stm_tx *tx);

#endif
