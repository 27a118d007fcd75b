/* process_vm_readv() */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <linux/membarrier.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>
#include <urcu/urcu-memb.h>
#if defined(__SANITIZE_ADDRESS__)
#define STM_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define STM_ASAN 1
#endif
#endif
#ifdef STM_ASAN
#include <sanitizer/asan_interface.h>
#endif

#include "memory.h"
#include "misuse.h"
#include "spin.h"
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

/* Whether the header in front of p can be read without faulting.  p is
 * what the user claims is ours, and may be anything: a pointer into the
 * middle of a malloc() block, a static array, a fresh mmap() page with
 * nothing mapped below it.  Our blocks are 16-byte aligned; a header that
 * lies on p's own page is readable if p is; one that starts on the page
 * before (p within sizeof(struct block) of a page start: rare for our
 * blocks, every time for page-aligned memory) is probed with
 * process_vm_readv(), which reports EFAULT instead of faulting (or, where
 * that call is not allowed, with mincore(), which at least sees an unmapped
 * page).  Under AddressSanitizer a poisoned header (a redzone: not one of
 * our blocks) is foreign too, so that the report is ours and not ASan's. */
static bool header_readable(const void *p)
{
    uintptr_t a = (uintptr_t)p;
    if (a % _Alignof(struct block) != 0 || a < sizeof(struct block))
        return false;
    const struct block *b = block_of(p);
#ifdef STM_ASAN
    if (__asan_region_is_poisoned((void *)b, sizeof *b) != NULL)
        return false;
#endif
    /* every thread computes the same value: relaxed atomics suffice (and
     * keep ThreadSanitizer quiet) */
    static long page;
    long pg = __atomic_load_n(&page, __ATOMIC_RELAXED);
    if (pg == 0) {
        pg = sysconf(_SC_PAGESIZE);
        __atomic_store_n(&page, pg, __ATOMIC_RELAXED);
    }
    uintptr_t mask = ~((uintptr_t)pg - 1);
    if (((uintptr_t)b & mask) == (a & mask))
        return true;
    struct block copy;
    struct iovec local = {&copy, sizeof copy}, remote = {(void *)b, sizeof copy};
    if (process_vm_readv(getpid(), &local, 1, &remote, 1, 0) == (ssize_t)sizeof copy)
        return true;
    if (errno == EFAULT)
        return false;
    unsigned char v;
    return mincore((void *)((uintptr_t)b & mask), 1, &v) == 0;
}

uint32_t stm_mem_magic(const void *p)
{
    if (!header_readable(p))
        return STM_MEM_FOREIGN;
    return magic_of(block_of(p));
}

uint32_t stm_mem_kind(const void *p)
{
    return block_of(p)->kind;
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

static void drain_unguarded(void); /* below, with the lazy sections */

static void block_release(struct rcu_head *h)
{
    STM_TSAN_RCU_ACQUIRE();
    drain_unguarded();
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

/* m: the block's magic word, read once by the caller (stm_mem_magic). */
void stm_mem_check_owned(const void *p, uint32_t m, const char *call)
{
    if (m == MAGIC_DEAD)
        stm_fatal(call, "%p was already freed", p);
    if (m != MAGIC_LIVE)
        stm_fatal(call, "%p was not allocated by stm_alloc() or stm_tvar_new()", p);
}

/*
 * Lazy read-side sections.  Until the first block is retired nothing can
 * be freed under a running transaction, so software attempts skip the RCU
 * read-side section (about 40 instructions per transaction with liburcu's
 * memb flavour) and only mark themselves `unguarded`.  The first retire
 * sets stm_mem_rcu_on, then makes every thread execute a full barrier
 * (membarrier, as liburcu's memb flavour does for its grace periods), then
 * hands the block to call_rcu; the reclamation callbacks (in liburcu's
 * call_rcu thread, so that no thread of the program waits: a transaction
 * may well wait for the retiring thread) wait, the first time, until no
 * attempt is unguarded.  An attempt stores unguarded = true, then
 * (compiler barrier) loads stm_mem_rcu_on: with the barrier forced on its
 * thread, either it sees rcu_on (and takes a read-side section, which the
 * grace period waits for) or its unguarded store is visible to the
 * callback, which waits for its end (release store of false after its
 * last access).  After the barrier no attempt begins unguarded, so one
 * drained pass suffices.  Where membarrier is missing, and in sanitized
 * builds (whose models do not know the forced barrier), RCU is on from
 * the start.
 */
bool stm_mem_rcu_on;
void (*stm_mem_wait_threads)(bool (*busy)(const stm_tx *tx));

static bool membarrier_ok(void)
{
    long cmds = syscall(__NR_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
    if (cmds < 0 || !(cmds & MEMBARRIER_CMD_PRIVATE_EXPEDITED))
        return false;
    return syscall(__NR_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0;
}

void stm_mem_init(void)
{
#ifdef STM_SANITIZED
    bool lazy = false;
#else
    bool lazy = membarrier_ok();
#endif
    if (!lazy)
        __atomic_store_n(&stm_mem_rcu_on, true, __ATOMIC_SEQ_CST);
}

static bool unguarded(const stm_tx *tx)
{
    /* acquire: pairs with the release store at the attempt's end */
    return __atomic_load_n(&tx->unguarded, __ATOMIC_ACQUIRE);
}

/* no attempt can be unguarded any more (set by the reclamation thread) */
static bool drained;

static void rcu_turn_on(void)
{
    __atomic_store_n(&stm_mem_rcu_on, true, __ATOMIC_SEQ_CST);
    if (syscall(__NR_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) != 0)
        stm_fatal("stm_free", "membarrier failed after it was registered");
}

static void drain_unguarded(void)
{
    if (!__atomic_load_n(&drained, __ATOMIC_ACQUIRE)) {
        stm_mem_wait_threads(unguarded);
        __atomic_store_n(&drained, true, __ATOMIC_RELEASE);
    }
}

/* fork() must never find a thread inside urcu_memb_call_rcu(): its
 * lock-free enqueue swaps the queue tail and then links the old tail to
 * the new node, and a child forked between the two steps inherits a queue
 * whose worker waits forever for the link.  A minimal reader-writer gate
 * (not pthread_rwlock: glibc's records the writer's thread id, which the
 * child's thread no longer has): retiring threads count themselves in
 * `retiring` (once per batch of frees) unless a fork is pending; fork.c
 * sets `fork_pending` and waits for the count to drain.  Both sides
 * write their word and then read the other's, all seq_cst, so in the single
 * total order one of them sees the other (Dekker): either the retirer sees
 * the fork pending and backs out, or fork() sees it counted and waits.
 * A pending fork is served first, so a stream of frees cannot hold it off.
 * (block_release's own call_rcu runs in the worker, which fork() pauses.) */
static uint32_t retiring, fork_pending;

static void retire_enter(void)
{
    for (unsigned i = 0;; i++) {
        if (!__atomic_load_n(&fork_pending, __ATOMIC_SEQ_CST)) {
            __atomic_fetch_add(&retiring, 1, __ATOMIC_SEQ_CST);
            if (!__atomic_load_n(&fork_pending, __ATOMIC_SEQ_CST))
                return;
            __atomic_fetch_sub(&retiring, 1, __ATOMIC_SEQ_CST);
        }
        stm_backoff(i);
    }
}

static void retire_exit(void)
{
    /* release: the enqueue is complete before fork() can see the count
     * drop */
    __atomic_fetch_sub(&retiring, 1, __ATOMIC_RELEASE);
}

void stm_mem_fork_prepare(void)
{
    __atomic_store_n(&fork_pending, 1, __ATOMIC_SEQ_CST);
    for (unsigned i = 0; __atomic_load_n(&retiring, __ATOMIC_SEQ_CST) != 0; i++)
        stm_backoff(i);
}

void stm_mem_fork_parent(void)
{
    __atomic_store_n(&fork_pending, 0, __ATOMIC_RELEASE);
}

void stm_mem_fork_child(void)
{
    __atomic_store_n(&retiring, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&fork_pending, 0, __ATOMIC_RELEASE);
}

/* Mark dead and defer: readers inside a read-side section (software
 * transactions) may still hold a pointer into the block.  Called with
 * the retire gate entered. */
static void retire_locked(void *p, const char *call)
{
    struct block *b = block_of(p);
    stm_mem_check_owned(p, magic_of(b), call);
    __atomic_store_n(&b->magic, MAGIC_DEAD, __ATOMIC_RELEASE);
    if (__builtin_expect(!__atomic_load_n(&stm_mem_rcu_on, __ATOMIC_ACQUIRE), 0))
        rcu_turn_on();
    STM_TSAN_RCU_RELEASE();
    urcu_memb_call_rcu(&b->rcu, block_release);
}

void stm_mem_retire(void *p, const char *call)
{
    retire_enter();
    retire_locked(p, call);
    retire_exit();
}

void stm_mem_call_rcu(struct rcu_head *h, void (*fn)(struct rcu_head *h))
{
    retire_enter();
    if (!__atomic_load_n(&stm_mem_rcu_on, __ATOMIC_ACQUIRE))
        rcu_turn_on();
    STM_TSAN_RCU_RELEASE();
    urcu_memb_call_rcu(h, fn);
    retire_exit();
}

void stm_mem_release_begin(void)
{
    STM_TSAN_RCU_ACQUIRE();
    drain_unguarded();
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
        retire_enter();
        for (size_t i = 0; i < tx->frees.n; i++)
            retire_locked(tx->frees.e[i], "stm_free");
        retire_exit();
    }
    tx->frees.n = 0;
    tx->allocs.n = 0;
}

void stm_mem_commit_htm(stm_tx *tx)
{
    if (tx->hw_nfrees == 0)
        return;
    retire_enter();
    for (unsigned i = 0; i < tx->hw_nfrees; i++)
        retire_locked(tx->hw_frees[i], "stm_free");
    retire_exit();
    tx->hw_nfrees = 0;
}
