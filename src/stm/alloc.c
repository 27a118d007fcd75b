/* The allocation API (stm_tvar_new, stm_tvar_free, stm_alloc, stm_free):
 * per path, what an allocation or a free inside a transaction must do.  The
 * blocks themselves and their reclamation are the core's (src/core/memory.c). */
#include "../core/memory.h"
#include "../core/misuse.h"
#include "../fallback/norec.h"
#include "../htm/htm.h"
#include "runtime.h"

stm_tvar *stm_tvar_new(uintptr_t init)
{
    stm_tx *tx = stm_tx_self(); /* also registers the thread with RCU */
    stm_tvar *tv = stm_mem_block_new(sizeof *tv, STM_MEM_KIND_TVAR);
    if (tv == NULL)
        return NULL;
    tv->word = init;
    /* inside a software attempt it is an allocation like stm_alloc's:
     * released again if the attempt aborts */
    if (tx->head.depth != 0 && tx->mode != STM_MODE_HTM)
        stm_ptrlog_push(&tx->allocs, stm_mem_block_of(tv));
    return tv;
}

void stm_tvar_free(stm_tvar *tv)
{
    if (tv == NULL)
        return;
    stm_tx *tx = stm_tx_self();
    if (tx->head.depth != 0)
        stm_fatal("stm_tvar_free", "called inside a transaction; use stm_free()");
    stm_mem_check_owned(tv, stm_mem_magic(tv), "stm_tvar_free");
    if (stm_mem_kind(tv) != STM_MEM_KIND_TVAR)
        stm_fatal("stm_tvar_free", "%p was allocated by stm_alloc(); free it with stm_free()",
                  (void *)tv);
    stm_mem_retire(tv, "stm_tvar_free");
}

static void check_in_tx(stm_tx *tx, const char *call)
{
    if (tx == NULL || tx != stm_tls_tx || tx->head.depth == 0)
        stm_fatal(call, "called outside a transaction (or with another thread's descriptor)");
}

void *stm_alloc(stm_tx *tx, size_t n)
{
    check_in_tx(tx, "stm_alloc");
    void *p = stm_mem_block_new(n, STM_MEM_KIND_ALLOC);
    if (p == NULL)
        return NULL;
    /* in hardware the allocator's own writes roll back with the
     * transaction, so only software attempts log the block (and emulated
     * hardware ones, whose aborts emu.c rolls back by hand) */
    if (tx->mode != STM_MODE_HTM || stm_htm_backend == STM_HTM_EMU)
        stm_ptrlog_push(&tx->allocs, stm_mem_block_of(p));
    return p;
}

void stm_free(stm_tx *tx, void *p)
{
    check_in_tx(tx, "stm_free");
    if (p == NULL)
        return;
    stm_attempt_sync(tx);
    /* read once: a concurrent commit may retire the block at any moment */
    uint32_t m = stm_mem_magic(p);
    if (tx->mode == STM_MODE_NOREC && m == STM_MEM_DEAD) {
        /* A transaction that committed after our snapshot may have
         * unlinked and freed the block: then this attempt is doomed and
         * validation aborts it.  If our reads still hold, the block was
         * freed before them: a real double free, reported below.  (A block
         * still live here but retired before we commit makes our commit's
         * validation fail, so it is never retired twice.) */
        stm_norec_validate(tx);
    }
    if (tx->mode == STM_MODE_HTM && m == STM_MEM_DEAD) {
        /* Real hardware never gets here unless the free is a real double
         * free (the retiring store would have aborted us), but the
         * emulation detects conflicts only at the next TVar access, so a
         * doomed emulated attempt can.  Let software decide: it validates
         * and reports a real double free as above. */
        stm_htm_abort_needsw();
    }
    stm_mem_check_owned(p, m, "stm_free");
    if (tx->mode == STM_MODE_HTM) {
        if (tx->hw_nfrees == STM_HTM_FREE_MAX)
            stm_htm_abort_needsw();
        tx->hw_frees[tx->hw_nfrees++] = p;
        return;
    }
    stm_ptrlog_push(&tx->frees, p);
}
