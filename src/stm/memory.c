#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <urcu/urcu-memb.h>

#include "../htm/htm.h"
#include "memory.h"
#include "misuse.h"

#define MAGIC_LIVE 0x5354414cu  /* "STAL" */
#define MAGIC_DEAD 0x53544644u  /* "STFD" */

struct block {
    struct rcu_head rcu;
    uint32_t magic;
    uint32_t kind;  /* 0 = stm_alloc, 1 = stm_tvar_new */
    size_t size;
} __attribute__((aligned(16)));

static struct block *block_of(void *p)
{
    return (struct block *)p - 1;
}

static void *block_new(size_t n, uint32_t kind)
{
    if (n > SIZE_MAX - sizeof(struct block)) {
        errno = ENOMEM;
        return NULL;
    }
    struct block *b = malloc(sizeof *b + n);
    if (b == NULL)
        return NULL;
    b->magic = MAGIC_LIVE;
    b->kind = kind;
    b->size = n;
    return b + 1;
}

static void block_release(struct rcu_head *h)
{
    struct block *b = caa_container_of(h, struct block, rcu);
    free(b);
}

/* Mark dead and defer: readers inside a read-side section (software
 * transactions) may still hold a pointer into the block. */
static void block_retire(void *p, const char *call)
{
    struct block *b = block_of(p);
    if (b->magic == MAGIC_DEAD)
        stm_fatal(call, "%p was already freed", p);
    if (b->magic != MAGIC_LIVE)
        stm_fatal(call, "%p was not allocated by stm_alloc() or stm_tvar_new()", p);
    b->magic = MAGIC_DEAD;
    urcu_memb_call_rcu(&b->rcu, block_release);
}

static void check_owned(void *p, const char *call)
{
    struct block *b = block_of(p);
    if (b->magic == MAGIC_DEAD)
        stm_fatal(call, "%p was already freed", p);
    if (b->magic != MAGIC_LIVE)
        stm_fatal(call, "%p was not allocated by stm_alloc() or stm_tvar_new()", p);
}

stm_tvar *stm_tvar_new(uintptr_t init)
{
    stm_tx *tx = stm_tx_self(); /* also registers the thread with RCU */
    stm_tvar *tv = block_new(sizeof *tv, 1);
    if (tv == NULL)
        return NULL;
    tv->word = init;
    /* inside a software attempt it is an allocation like stm_alloc's:
     * released again if the attempt aborts */
    if (tx->depth != 0 && tx->mode != STM_MODE_HTM)
        stm_ptrlog_push(&tx->allocs, block_of(tv));
    return tv;
}

void stm_tvar_free(stm_tvar *tv)
{
    if (tv == NULL)
        return;
    stm_tx *tx = stm_tx_self();
    if (tx->depth != 0)
        stm_fatal("stm_tvar_free", "called inside a transaction; use stm_free()");
    block_retire(tv, "stm_tvar_free");
}

static void check_in_tx(stm_tx *tx, const char *call)
{
    if (tx == NULL || tx != stm_tls_tx || tx->depth == 0)
        stm_fatal(call, "called outside a transaction (or with another thread's descriptor)");
}

void *stm_alloc(stm_tx *tx, size_t n)
{
    check_in_tx(tx, "stm_alloc");
    void *p = block_new(n, 0);
    if (p == NULL)
        return NULL;
    /* in hardware the allocator's own writes roll back with the
     * transaction, so only software attempts log the block */
    if (tx->mode != STM_MODE_HTM)
        stm_ptrlog_push(&tx->allocs, block_of(p));
    return p;
}

void stm_free(stm_tx *tx, void *p)
{
    check_in_tx(tx, "stm_free");
    if (p == NULL)
        return;
    check_owned(p, "stm_free");
    if (tx->mode == STM_MODE_HTM) {
        if (tx->hw_nfrees == STM_HTM_FREE_MAX)
            stm_htm_abort_needsw();
        tx->hw_frees[tx->hw_nfrees++] = p;
        return;
    }
    stm_ptrlog_push(&tx->frees, p);
}

void stm_mem_undo_allocs(stm_tx *tx, size_t from)
{
    for (size_t i = from; i < tx->allocs.n; i++)
        free(tx->allocs.e[i]);
    if (tx->allocs.n > from)
        tx->allocs.n = from;
}

void stm_mem_commit(stm_tx *tx)
{
    for (size_t i = 0; i < tx->frees.n; i++)
        block_retire(tx->frees.e[i], "stm_free");
    tx->frees.n = 0;
    tx->allocs.n = 0;
}

void stm_mem_commit_htm(stm_tx *tx)
{
    for (unsigned i = 0; i < tx->hw_nfrees; i++)
        block_retire(tx->hw_frees[i], "stm_free");
    tx->hw_nfrees = 0;
}
