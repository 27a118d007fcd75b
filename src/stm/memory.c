#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <urcu/urcu-memb.h>

#include "../fallback/norec.h"
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

/* The magic word is read by transactions that may race with the commit
 * that retires the block (a doomed attempt calling stm_free on a block that
 * a concurrent transaction just unlinked and freed), so it is accessed
 * atomically.  Release/acquire: a thread that sees MAGIC_DEAD also sees the
 * retiring transaction's commit (seq), which was published before it. */
static uint32_t magic_of(const struct block *b)
{
    return __atomic_load_n(&b->magic, __ATOMIC_ACQUIRE);
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

#ifdef STM_TSAN
char stm_rcu_tsan_sync;
#endif

static void block_release(struct rcu_head *h)
{
    STM_TSAN_RCU_ACQUIRE();
    struct block *b = caa_container_of(h, struct block, rcu);
    free(b);
}

/* m: the block's magic word, read once by the caller. */
static void check_owned(void *p, uint32_t m, const char *call)
{
    if (m == MAGIC_DEAD)
        stm_fatal(call, "%p was already freed", p);
    if (m != MAGIC_LIVE)
        stm_fatal(call, "%p was not allocated by stm_alloc() or stm_tvar_new()", p);
}

/* fork() must never find a thread inside urcu_memb_call_rcu(): its
 * lock-free enqueue swaps the queue tail and then links the old tail to
 * the new node, and a child forked between the two steps inherits a queue
 * whose worker waits forever for the link.  Retiring threads hold this
 * lock shared (once per batch of frees); fork.c takes it exclusively
 * before fork().  Writer-preferring, so a stream of frees cannot hold
 * fork() off. */
#ifdef PTHREAD_RWLOCK_WRITER_NONRECURSIVE_INITIALIZER_NP
#define RETIRE_LOCK_INIT PTHREAD_RWLOCK_WRITER_NONRECURSIVE_INITIALIZER_NP
#else
#define RETIRE_LOCK_INIT PTHREAD_RWLOCK_INITIALIZER
#endif
static pthread_rwlock_t retire_lock = RETIRE_LOCK_INIT;

void stm_mem_fork_prepare(void)
{
    pthread_rwlock_wrlock(&retire_lock);
}

void stm_mem_fork_parent(void)
{
    pthread_rwlock_unlock(&retire_lock);
}

void stm_mem_fork_child(void)
{
    /* not an unlock: glibc's rwlock records the writer's thread id, which
     * the child's only thread no longer has; nobody else can hold it */
    retire_lock = (pthread_rwlock_t)RETIRE_LOCK_INIT;
}

/* Mark dead and defer: readers inside a read-side section (software
 * transactions) may still hold a pointer into the block.  Called with
 * retire_lock held shared. */
static void block_retire(void *p, const char *call)
{
    struct block *b = block_of(p);
    check_owned(p, magic_of(b), call);
    __atomic_store_n(&b->magic, MAGIC_DEAD, __ATOMIC_RELEASE);
    STM_TSAN_RCU_RELEASE();
    urcu_memb_call_rcu(&b->rcu, block_release);
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
    pthread_rwlock_rdlock(&retire_lock);
    block_retire(tv, "stm_tvar_free");
    pthread_rwlock_unlock(&retire_lock);
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
     * transaction, so only software attempts log the block (and emulated
     * hardware ones, whose aborts emu.c rolls back by hand) */
    if (tx->mode != STM_MODE_HTM || stm_htm_backend == STM_HTM_EMU)
        stm_ptrlog_push(&tx->allocs, block_of(p));
    return p;
}

void stm_free(stm_tx *tx, void *p)
{
    check_in_tx(tx, "stm_free");
    if (p == NULL)
        return;
    /* read once: a concurrent commit may retire the block at any moment */
    uint32_t m = magic_of(block_of(p));
    if (tx->mode == STM_MODE_NOREC && m == MAGIC_DEAD) {
        /* A transaction that committed after our snapshot may have
         * unlinked and freed the block: then this attempt is doomed and
         * validation aborts it.  If our reads still hold, the block was
         * freed before them: a real double free, reported below.  (A block
         * still live here but retired before we commit makes our commit's
         * validation fail, so it is never retired twice.) */
        stm_norec_validate(tx);
    }
    if (tx->mode == STM_MODE_HTM && m == MAGIC_DEAD) {
        /* Real hardware never gets here unless the free is a real double
         * free (the retiring store would have aborted us), but the
         * emulation detects conflicts only at the next TVar access, so a
         * doomed emulated attempt can.  Let software decide: it validates
         * and reports a real double free as above. */
        stm_htm_abort_needsw();
    }
    check_owned(p, m, "stm_free");
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

static bool in_block(const struct block *b, const void *addr)
{
    const char *lo = (const char *)(b + 1);
    return (const char *)addr >= lo && (const char *)addr < lo + b->size;
}

void stm_mem_forget_reads(stm_tx *tx, size_t amark, size_t rmark)
{
    if (amark >= tx->allocs.n || rmark >= tx->rlog.n)
        return;
    /* the blocks' overall address range filters most entries cheaply; the
     * rest are compared block by block (a retry path, not a hot one) */
    uintptr_t lo = UINTPTR_MAX, hi = 0;
    for (size_t i = amark; i < tx->allocs.n; i++) {
        const struct block *b = tx->allocs.e[i];
        uintptr_t a = (uintptr_t)(b + 1);
        if (a < lo)
            lo = a;
        if (a + b->size > hi)
            hi = a + b->size;
    }
    size_t out = rmark;
    for (size_t r = rmark; r < tx->rlog.n; r++) {
        const void *addr = tx->rlog.e[r].addr;
        bool mine = false;
        if ((uintptr_t)addr >= lo && (uintptr_t)addr < hi)
            for (size_t i = amark; i < tx->allocs.n && !mine; i++)
                mine = in_block(tx->allocs.e[i], addr);
        if (!mine)
            tx->rlog.e[out++] = tx->rlog.e[r];
    }
    tx->rlog.n = out;
}

void stm_mem_commit(stm_tx *tx)
{
    if (tx->frees.n != 0) {
        pthread_rwlock_rdlock(&retire_lock);
        for (size_t i = 0; i < tx->frees.n; i++)
            block_retire(tx->frees.e[i], "stm_free");
        pthread_rwlock_unlock(&retire_lock);
    }
    tx->frees.n = 0;
    tx->allocs.n = 0;
}

void stm_mem_commit_htm(stm_tx *tx)
{
    if (tx->hw_nfrees == 0)
        return;
    pthread_rwlock_rdlock(&retire_lock);
    for (unsigned i = 0; i < tx->hw_nfrees; i++)
        block_retire(tx->hw_frees[i], "stm_free");
    pthread_rwlock_unlock(&retire_lock);
    tx->hw_nfrees = 0;
}
