/* Growth and indexing of the per-thread read, write and pointer logs.  The
 * logs belong to the thread and are reused by every transaction it runs, so
 * in steady state no transaction allocates. */
#include <stdlib.h>
#include <string.h>

#include "misuse.h"
#include "tx.h"

static void *grow(void *p, size_t *cap, size_t elem)
{
    size_t ncap = *cap ? *cap * 2 : 64;
    void *np = realloc(p, ncap * elem);
    if (np == NULL)
        stm_fatal("transaction log", "out of memory growing a log to %zu entries", ncap);
    *cap = ncap;
    return np;
}

void stm_rlog_grow(struct stm_rlog *l)
{
    l->e = grow(l->e, &l->cap, sizeof *l->e);
}

void stm_wlog_grow(struct stm_wlog *l)
{
    l->e = grow(l->e, &l->cap, sizeof *l->e);
    if (l->n >= UINT32_MAX - 1)
        stm_fatal("stm_write", "more than 2^32 writes in one transaction");
}

void stm_ptrlog_push(struct stm_ptrlog *l, void *p)
{
    if (l->n == l->cap)
        l->e = grow(l->e, &l->cap, sizeof *l->e);
    l->e[l->n++] = p;
}

void stm_wlog_index_put(struct stm_wlog *l, size_t i)
{
    /* keep the load factor at or below 1/2 */
    if (2 * (i + 1) > l->index_mask + 1) {
        stm_wlog_index_rebuild(l);
        return;
    }
    const void *addr = l->e[i].addr;
    for (size_t h = stm_wlog_hash(addr, l->index_mask);; h = (h + 1) & l->index_mask) {
        uint32_t k = l->index[h];
        if (k == 0 || l->e[k - 1].addr == addr) {
            l->index[h] = (uint32_t)(i + 1);
            return;
        }
    }
}

void stm_wlog_index_rebuild(struct stm_wlog *l)
{
    size_t size = 64;
    while (size < 4 * l->n)
        size *= 2;
    if (size > l->index_cap) {
        free(l->index);
        l->index = malloc(size * sizeof *l->index);
        if (l->index == NULL)
            stm_fatal("stm_write", "out of memory indexing the write log");
        l->index_cap = size;
    }
    memset(l->index, 0, size * sizeof *l->index);
    l->index_mask = size - 1;
    for (size_t i = 0; i < l->n; i++)
        stm_wlog_index_put(l, i);
}

void stm_wlog_truncate(struct stm_wlog *l, size_t n)
{
    if (n >= l->n)
        return;
    l->n = n;
    l->filter = 0;
    for (size_t i = 0; i < n; i++)
        l->filter |= stm_wlog_bit(l->e[i].addr);
    if (l->index_mask) {
        if (n > STM_WLOG_LINEAR)
            stm_wlog_index_rebuild(l);
        else
            l->index_mask = 0;
    }
}

void stm_ulog_undo(struct stm_wlog *u, size_t mark)
{
    for (size_t i = u->n; i-- > mark;)
        __atomic_store_n(&u->e[i].addr->word, u->e[i].val, __ATOMIC_RELAXED);
    if (u->filter != 0)
        stm_wlog_truncate(u, mark); /* a logged attempt's: filter and index */
    else if (u->n > mark)
        u->n = mark;
}

void stm_logs_free(stm_tx *tx)
{
    free(tx->rlog.e);
    free(tx->wlog.e);
    free(tx->wlog.index);
    free(tx->ulog.e);
    free(tx->allocs.e);
    free(tx->frees.e);
    memset(&tx->rlog, 0, sizeof tx->rlog);
    memset(&tx->wlog, 0, sizeof tx->wlog);
    memset(&tx->ulog, 0, sizeof tx->ulog);
    tx->head.ucur = tx->head.uend = NULL;
    memset(&tx->allocs, 0, sizeof tx->allocs);
    memset(&tx->frees, 0, sizeof tx->frees);
}
