#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <urcu/urcu-memb.h>

#include "memory.h"
#include "misuse.h"
#include "wait.h"

#define MAGIC_LIVE STM_MEM_LIVE
#define MAGIC_DEAD STM_MEM_DEAD

struct block {
    struct rcu_head rcu;
    uint32_t magic;
    uint32_t kind;  /* 0 = stm_alloc, 1 = stm_tvar_new */
    size_t size;
} __attribute__((aligned(16)));

static struct block *block_of(const void *p)
{
    return (struct block *)p - 1;
}

void *stm_mem_block_of(void *p)
{
    return block_of(p);
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

uint32_t stm_mem_magic(const void *p)
{
    return magic_of(block_of(p));
}

void *stm_mem_block_new(size_t n, uint32_t kind)
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
    /* a thread blocked in stm_retry that read a TVar in the block is woken
     * and re-runs; the block waits one more grace period per round */
    if (stm_wait_block_watched(b + 1, b->size)) {
        STM_TSAN_RCU_RELEASE();
        urcu_memb_call_rcu(&b->rcu, block_release);
        return;
    }
    free(b);
}

/* m: the block's magic word, read once by the caller. */
void stm_mem_check_owned(const void *p, uint32_t m, const char *call)
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
 * fork() off.  (block_release's own call_rcu runs in the worker, which
 * fork() pauses.) */
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
static void retire_locked(void *p, const char *call)
{
    struct block *b = block_of(p);
    stm_mem_check_owned(p, magic_of(b), call);
    __atomic_store_n(&b->magic, MAGIC_DEAD, __ATOMIC_RELEASE);
    STM_TSAN_RCU_RELEASE();
    urcu_memb_call_rcu(&b->rcu, block_release);
}

void stm_mem_retire(void *p, const char *call)
{
    pthread_rwlock_rdlock(&retire_lock);
    retire_locked(p, call);
    pthread_rwlock_unlock(&retire_lock);
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
            retire_locked(tx->frees.e[i], "stm_free");
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
        retire_locked(tx->hw_frees[i], "stm_free");
    pthread_rwlock_unlock(&retire_lock);
    tx->hw_nfrees = 0;
}
