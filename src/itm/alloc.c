/* Memory in transactions: _ITM_malloc/_ITM_calloc/_ITM_free and
 * _ITM_dropReferences.
 *
 * Blocks are plain malloc blocks (code outside transactions frees them
 * with free()).  An allocation is undone if the attempt aborts; a free is
 * deferred to the commit and then past a liburcu grace period, as
 * stm_free's are (src/core/memory.c, stm_mem_call_rcu), so a software transaction that still
 * holds a pointer into the block never reads reused memory.  In hardware
 * the allocator's own writes roll back with the transaction, and frees are
 * remembered inside it and retired after the commit. */
#include <errno.h>
#include <stdlib.h>
#include <urcu/urcu-memb.h>

#include "../core/memory.h"
#include "../core/misuse.h"
#include "itm.h"

struct retired {
    struct rcu_head rcu;
    size_t n;
    void *p[];
};

static void release(struct rcu_head *h)
{
    stm_mem_release_begin();
    struct retired *r = caa_container_of(h, struct retired, rcu);
    for (size_t i = 0; i < r->n; i++)
        free(r->p[i]);
    free(r);
}

void stm_itm_mem_commit(struct stm_itm_tx *t)
{
    t->allocs.n = 0;
    if (t->frees.n == 0)
        return;
    struct retired *r = malloc(sizeof *r + t->frees.n * sizeof(void *));
    if (r == NULL)
        stm_fatal("_ITM_free", "out of memory deferring %zu frees", t->frees.n);
    r->n = t->frees.n;
    for (size_t i = 0; i < r->n; i++)
        r->p[i] = t->frees.e[i];
    t->frees.n = 0;
    /* through the core: a transaction that began before the first free
     * of the process runs without a read-side section (memory.h) */
    stm_mem_call_rcu(&r->rcu, release);
}

void stm_itm_mem_undo(struct stm_itm_tx *t, size_t allocs_from, size_t frees_from)
{
    for (size_t i = allocs_from; i < t->allocs.n; i++)
        free(t->allocs.e[i]);
    if (t->allocs.n > allocs_from)
        t->allocs.n = allocs_from;
    if (t->frees.n > frees_from)
        t->frees.n = frees_from;
}

static void *logged(void *p)
{
    struct stm_itm_tx *t = stm_itm_tls;
    if (p != NULL && t->nesting != 0 && t->mode != ITM_HTM)
        stm_itm_ptr_push(&t->allocs.e, &t->allocs.n, &t->allocs.cap, p);
    return p;
}

ITM_EXPORT void *_ITM_malloc(size_t n);
ITM_EXPORT void *_ITM_malloc(size_t n)
{
    return logged(malloc(n));
}

ITM_EXPORT void *_ITM_calloc(size_t n, size_t size);
ITM_EXPORT void *_ITM_calloc(size_t n, size_t size)
{
    return logged(calloc(n, size));
}

ITM_EXPORT void _ITM_free(void *p);
ITM_EXPORT void _ITM_free(void *p)
{
    struct stm_itm_tx *t = stm_itm_tls;
    if (p == NULL)
        return;
    if (t->nesting == 0) {
        free(p);
        return;
    }
    if (t->mode == ITM_HTM) {
        if (t->hw_nfrees == ITM_HTM_FREE_MAX)
            ITM_HTM_ABORT(STM_HTM_CODE_NEEDSW);
        t->hw_frees[t->hw_nfrees++] = p;
        return;
    }
    stm_itm_ptr_push(&t->frees.e, &t->frees.n, &t->frees.cap, p);
}

ITM_EXPORT void _ITM_dropReferences(void *p, size_t n);
ITM_EXPORT void _ITM_dropReferences(void *p, size_t n)
{
    struct stm_itm_tx *t = stm_itm_tls;
    if (t->nesting == 0)
        return; /* nothing is logged outside a transaction */
    /* hardware cannot commit part of a transaction early: software can */
    if (t->mode == ITM_HTM)
        ITM_HTM_ABORT(STM_HTM_CODE_NEEDSW);
    stm_itm_drop(t, p, n);
}
