/*
 * Blocking retry: precise wake-ups through a hashed address table
 * (doc/PROTOCOL.md, "Blocking retry").  GHC keeps a watch queue per TVar
 * (rts/STM.c); a TVar here is one bare word, so the queues live in a table
 * beside the TVars, found by hashing the address.
 *
 * Waiter (a thread in stm_retry).  Each has a record of its own (TLS) with
 * a futex word.  It registers, while its attempt is still inside its RCU
 * read-side section (stm_wait_register, from stm_tx_abort):
 *   waiters++ (seq_cst), the record into the list of all waiters, then
 *   either exactly: for each distinct address of its read log (at most
 *   STM_WAIT_EXACT) a node (address, record) into the list of the
 *   address's bucket and count[bucket] += 1, or coarsely (bigger read
 *   sets): a bitmap of the buckets of its read set and count[b] +=
 *   STM_WAIT_COARSE_ONE for every bucket b in it (bounded by the table
 *   size however big the read set; the bitmap is 8 KiB).
 * Then it loops: v = futex with the sleeping bit cleared (acquire);
 * re-check its read log by value (at an even seq, inside a read-side
 * section); if everything still holds, CAS futex from v to v|1 (sleeping;
 * on failure a writer bumped it: loop) and futex_wait(futex, v|1).  It
 * leaves by undoing the registration.
 *
 * Writer (NOrec, serial and emulated commits, stm_store, hardware
 * commits).  After taking the seq lock it loads `waiters` (seq_cst): zero
 * means nobody waits anywhere, and the commit is done (one load, as with
 * the single global wake-up before).  Otherwise, after the write-back, for
 * each address a it wrote: load count[bucket(a)] (seq_cst); zero (the
 * common case for data nobody waits on): nothing more.  Else lock the
 * bucket's list and bump the futex word of every waiter with a node for
 * exactly a, and, if coarse waiters cover the bucket, those among them
 * whose bitmap has it (a CAS that adds 2 and clears the sleeping bit);
 * then futex_wake each that had the bit set (after unlocking).  So a
 * commit wakes only waiters that read an address it wrote (coarse
 * waiters: a 1 in 65536 bucket collision), and a commit that touches no
 * waited address costs one load per written address and no syscall.
 * Hardware writers record the TVars they write inside the transaction
 * (tx->hw_w, rolled back with it) and, just before committing, read
 * `waiters` and, if non-zero, the counts of those TVars' buckets inside it
 * (stm_hw_wake_needed); if a count is non-zero they wake the same way after
 * the commit.  An attempt that wrote more TVars than it records re-runs in
 * software when someone waits.
 *
 * No lost wake-up.  Take a waiter T that read X (value x0) and a writer W
 * that commits X := x1.  W's CAS of seq, its load of `waiters` and its load
 * of count[bucket(X)] are seq_cst and in this program order; so are T's
 * increments of `waiters` and of that count and T's load of seq in the
 * re-check.  In the single total order S of seq_cst operations:
 *  (a) W's two loads both follow T's increments: W sees them, takes the
 *      bucket lock and finds T's node (T inserted it under that lock
 *      before incrementing; W's lock follows the load that saw the
 *      increment), so it bumps T's futex word after its write-back.  The
 *      RMWs on that word are totally ordered: if T's read of v or its CAS
 *      to v|1 came after the bump, it read the bump (release/acquire: the
 *      write-back is visible) and re-checks, which fails; if T's CAS came
 *      first, W's bump sees the sleeping bit and calls futex_wake, and the
 *      kernel either finds the word moved (futex_wait returns at once) or
 *      wakes T.  Either way T re-checks after the write-back.
 *  (b) one of W's loads precedes the matching increment: then W's CAS
 *      precedes that increment, hence precedes T's load of seq.  T sees seq
 *      odd and waits for the write-back, or sees a later even value and
 *      with it the write-back: its re-check fails and it does not sleep.
 * Hardware writers: the transaction reads `waiters` and count[bucket(X)]
 * and writes X in one atomic step.  If T's increments came first the
 * transaction sees them (or aborts: an increment conflicts with its read)
 * and wakes T as in (a) (the walk after the commit finds T's node, or T
 * has left); if an increment came later, T's re-check, which follows it,
 * follows the commit and sees x1.  tests/model/wait.pml checks
 * this protocol (a waiter, a writer of its TVar on either path, a writer of
 * an unrelated TVar in the same bucket) with spin.
 *
 * Freed TVars (issue 9).  T's re-checks read TVars long after its attempt
 * ended.  A TVar is freed by call_rcu after a grace period; T registered
 * inside the read-side section of the attempt that read X, so if X's block
 * was retired after that read, the grace period waited for the section
 * and T's registration is visible to the reclamation callback, which asks
 * stm_wait_block_watched before freeing.  While a waiter of an address in
 * the block is registered the block is not freed: the callback sets the
 * waiter's `stale` flag, wakes it and defers the free by another grace
 * period.  A re-check reads `stale` first inside its read-side section, so
 * it either started before that grace period (the memory stays until it
 * ends) or sees the flag and re-runs the transaction without touching the
 * TVars.  (A TVar retired before the attempt read it was reached through
 * freed memory: a program error that no wait scheme can repair.)
 *
 * Cancellation (issue 9).  stm_wait_for_change is a cancellation point
 * like pthread_cond_wait: it acts on a pending cancel on entry, and sleeps
 * with asynchronous cancellation enabled, so that pthread_cancel interrupts
 * the futex sleep at once; a cleanup handler removes the registration.
 * Registration and its removal run with deferred cancellation, so an
 * asynchronous cancel never interrupts them (a lock held, a count not
 * undone).
 */
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <urcu/urcu-memb.h>

#include "memory.h"
#include "spin.h"
#include "wait.h"

struct stm_waitq stm_waitq;
void (*stm_test_before_sleep)(void);

struct waiter;

struct node {
    const void *addr;
    struct waiter *w;
    struct node *next, *prev;   /* the bucket's list, under its lock */
};

struct waiter {
    /* futex word: a wake count (bits 1..31, bumped by every wake) and
     * bit 0 set while the waiter sleeps or is about to */
    uint32_t futex;
    uint32_t stale;     /* a block it read is being freed: re-run */
    bool coarse;
    int cancel_type;    /* the thread's own type, restored on leaving */
    uintptr_t lo, hi;   /* address range of the read log */
    size_t n;           /* exact: nodes in use */
    uint64_t *map;      /* coarse: bitmap of buckets; NULL = every bucket */
    struct waiter *next, *prev;  /* all waiters, under list_lock */
    struct node node[STM_WAIT_EXACT];
};

#define NLOCKS 1024
#define MAP_WORDS (STM_WAIT_BUCKETS / 64)

static struct node *head[STM_WAIT_BUCKETS];
static uint32_t bucket_lock[NLOCKS];  /* bucket b: bucket_lock[b % NLOCKS] */
static uint32_t list_lock;
static struct waiter *all_waiters;
static __thread struct waiter self;

static void spin_lock(uint32_t *l)
{
    for (unsigned i = 0;; i++) {
        if (__atomic_load_n(l, __ATOMIC_RELAXED) == 0 &&
            __atomic_exchange_n(l, 1, __ATOMIC_ACQUIRE) == 0)
            return;
        stm_backoff(i);
    }
}

static void spin_unlock(uint32_t *l)
{
    __atomic_store_n(l, 0, __ATOMIC_RELEASE);
}

static void futex_wait(uint32_t *addr, uint32_t expected)
{
    syscall(SYS_futex, addr, FUTEX_WAIT_PRIVATE, expected, NULL, NULL, 0);
}

static void futex_wake(uint32_t *addr)
{
    syscall(SYS_futex, addr, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static bool map_has(const struct waiter *w, size_t b)
{
    return w->map == NULL || (w->map[b / 64] >> (b % 64) & 1);
}

/* --- writers --- */

/* Waiters whose futex word a writer bumped, woken after the locks are
 * released.  The waiter may have left (and its thread exited) by then:
 * futex_wake on a word that is no longer a waiter's is at worst a spurious
 * wake-up of whatever sleeps there, which every futex user tolerates (as
 * with glibc's unlock of a mutex that is destroyed at once), or EFAULT on
 * unmapped memory.  Waiting for the wakers instead made the woken waiter
 * wait for the writer's system call to return (24 us median wake-up
 * latency on the 2-CPU machine instead of 3 us). */
#define WAKE_BATCH 16
struct wake_batch {
    struct waiter *w[WAKE_BATCH];
    unsigned n;
    uint64_t woken;
};

/* Bump w's wake count and clear its sleeping bit; true if it was set (the
 * waiter sleeps or is about to: it needs a futex_wake).  Release: a waiter
 * that reads the new value sees our write-back.  A waiter that was awake
 * re-checks anyway, so repeated commits pay no syscall until it sleeps
 * again. */
static bool bump(struct waiter *w)
{
    uint32_t old = __atomic_load_n(&w->futex, __ATOMIC_RELAXED);
    while (!__atomic_compare_exchange_n(&w->futex, &old, (old & ~1u) + 2, true,
                                        __ATOMIC_RELEASE, __ATOMIC_RELAXED))
        ;
    return old & 1;
}

static void batch_add(struct wake_batch *wb, struct waiter *w)
{
    for (unsigned i = 0; i < wb->n; i++)
        if (wb->w[i] == w)
            return; /* already bumped by this commit */
    wb->woken++;
    if (!bump(w))
        return;
    if (wb->n == WAKE_BATCH) {
        futex_wake(&w->futex); /* batch full: wake now, under the lock */
        return;
    }
    wb->w[wb->n++] = w;
}

static void batch_flush(struct wake_batch *wb)
{
    for (unsigned i = 0; i < wb->n; i++)
        futex_wake(&wb->w[i]->futex);
    wb->n = 0;
}

static void wake_addr(struct wake_batch *wb, const void *a)
{
    size_t b = stm_wait_bucket(a);
    uint64_t c = __atomic_load_n(&stm_waitq.count[b], __ATOMIC_SEQ_CST);
    if (c == 0)
        return;
    if ((uint32_t)c != 0) {
        uint32_t *l = &bucket_lock[b % NLOCKS];
        spin_lock(l);
        for (struct node *nd = head[b]; nd != NULL; nd = nd->next)
            if (nd->addr == a)
                batch_add(wb, nd->w);
        spin_unlock(l);
    }
    if (c >= STM_WAIT_COARSE_ONE) {
        spin_lock(&list_lock);
        for (struct waiter *w = all_waiters; w != NULL; w = w->next)
            if (w->coarse && map_has(w, b))
                batch_add(wb, w);
        spin_unlock(&list_lock);
    }
    batch_flush(wb);
}

static void count_woken(stm_tx *tx, const struct wake_batch *wb)
{
    if (tx != NULL && wb->woken != 0)
        STM_STAT_ADD(tx, wakeups, wb->woken);
}

void stm_wake_wlog_from(stm_tx *tx, const struct stm_wlog *l, size_t from)
{
    struct wake_batch wb;
    wb.n = 0;
    wb.woken = 0;
    for (size_t i = from; i < l->n; i++)
        wake_addr(&wb, l->e[i].addr);
    count_woken(tx, &wb);
}

void stm_wake_addrs_from(stm_tx *tx, stm_tvar *const *a, size_t n, size_t from)
{
    struct wake_batch wb;
    wb.n = 0;
    wb.woken = 0;
    for (size_t i = from; i < n; i++)
        wake_addr(&wb, a[i]);
    count_woken(tx, &wb);
}

/* Wake every registered waiter: for a writer that cannot name what it
 * wrote (libstm-itm's irrevocable transactions run compiled code that
 * writes in place).  Called after the write-back by a writer that holds or
 * held seq and saw stm_wait_any(); a waiter missing from the list then has
 * not re-checked yet, and its re-check follows the write-back (it inserts
 * itself before re-checking). */
void stm_wake_everyone(stm_tx *tx)
{
    struct wake_batch wb;
    wb.n = 0;
    wb.woken = 0;
    spin_lock(&list_lock);
    for (struct waiter *w = all_waiters; w != NULL; w = w->next)
        batch_add(&wb, w);
    spin_unlock(&list_lock);
    batch_flush(&wb);
    count_woken(tx, &wb);
}

/* --- waiters --- */

static void list_insert(struct waiter *w)
{
    spin_lock(&list_lock);
    w->prev = NULL;
    w->next = all_waiters;
    if (all_waiters != NULL)
        all_waiters->prev = w;
    all_waiters = w;
    spin_unlock(&list_lock);
}

static void list_remove(struct waiter *w)
{
    spin_lock(&list_lock);
    if (w->prev != NULL)
        w->prev->next = w->next;
    else
        all_waiters = w->next;
    if (w->next != NULL)
        w->next->prev = w->prev;
    spin_unlock(&list_lock);
}

static void note_range(struct waiter *w, const void *a)
{
    uintptr_t p = (uintptr_t)a;
    if (p < w->lo)
        w->lo = p;
    if (p + sizeof(stm_tvar) > w->hi)
        w->hi = p + sizeof(stm_tvar);
}

/* Distinct addresses of the read log into w->node, or false if there are
 * more than STM_WAIT_EXACT of them. */
static bool collect_exact(struct waiter *w, const struct stm_rlog *r)
{
    w->n = 0;
    for (size_t i = 0; i < r->n; i++) {
        const void *a = r->e[i].addr;
        bool seen = false;
        for (size_t k = 0; k < w->n && !seen; k++)
            seen = w->node[k].addr == a;
        if (seen)
            continue;
        if (w->n == STM_WAIT_EXACT)
            return false;
        w->node[w->n].addr = a;
        w->node[w->n].w = w;
        w->n++;
        note_range(w, a);
    }
    return true;
}

static void collect_coarse(struct waiter *w, const struct stm_rlog *r)
{
    w->n = 0;
    /* without memory for the bitmap, every bucket (more false wake-ups,
     * none lost) */
    w->map = calloc(MAP_WORDS, sizeof(uint64_t));
    for (size_t i = 0; i < r->n; i++) {
        const void *a = r->e[i].addr;
        note_range(w, a);
        if (w->map != NULL) {
            size_t b = stm_wait_bucket(a);
            w->map[b / 64] |= 1ull << (b % 64);
        }
    }
}

void stm_wait_register(stm_tx *tx)
{
    struct waiter *w = &self;
    /* deferred while the registration is half done; restored on leaving */
    pthread_setcanceltype(PTHREAD_CANCEL_DEFERRED, &w->cancel_type);
    __atomic_store_n(&w->stale, 0, __ATOMIC_RELAXED);
    w->lo = UINTPTR_MAX;
    w->hi = 0;
    w->map = NULL;
    w->coarse = !collect_exact(w, &tx->rlog);
    if (w->coarse)
        collect_coarse(w, &tx->rlog);
    __atomic_fetch_add(&stm_waitq.waiters.v, 1, __ATOMIC_SEQ_CST);
    /* in the list before any count shows it: a writer (or reclamation)
     * that sees a count finds the record */
    list_insert(w);
    if (!w->coarse) {
        for (size_t k = 0; k < w->n; k++) {
            struct node *nd = &w->node[k];
            size_t b = stm_wait_bucket(nd->addr);
            uint32_t *l = &bucket_lock[b % NLOCKS];
            spin_lock(l);
            nd->prev = NULL;
            nd->next = head[b];
            if (head[b] != NULL)
                head[b]->prev = nd;
            head[b] = nd;
            __atomic_fetch_add(&stm_waitq.count[b], 1, __ATOMIC_SEQ_CST);
            spin_unlock(l);
        }
    } else {
        for (size_t b = 0; b < STM_WAIT_BUCKETS; b++)
            if (map_has(w, b))
                __atomic_fetch_add(&stm_waitq.count[b], STM_WAIT_COARSE_ONE, __ATOMIC_SEQ_CST);
    }
}

static void unregister(void)
{
    struct waiter *w = &self;
    if (!w->coarse) {
        for (size_t k = 0; k < w->n; k++) {
            struct node *nd = &w->node[k];
            size_t b = stm_wait_bucket(nd->addr);
            uint32_t *l = &bucket_lock[b % NLOCKS];
            spin_lock(l);
            if (nd->prev != NULL)
                nd->prev->next = nd->next;
            else
                head[b] = nd->next;
            if (nd->next != NULL)
                nd->next->prev = nd->prev;
            __atomic_fetch_sub(&stm_waitq.count[b], 1, __ATOMIC_RELEASE);
            spin_unlock(l);
        }
    } else {
        for (size_t b = 0; b < STM_WAIT_BUCKETS; b++)
            if (map_has(w, b))
                __atomic_fetch_sub(&stm_waitq.count[b], STM_WAIT_COARSE_ONE, __ATOMIC_RELEASE);
    }
    list_remove(w);
    __atomic_fetch_sub(&stm_waitq.waiters.v, 1, __ATOMIC_RELEASE);
    free(w->map);
    w->map = NULL;
    w->n = 0;
}

/* Re-check the read log.  Inside a read-side section, `stale` first: see
 * "Freed TVars" above for why the TVars are still allocated when it is
 * clear. */
static bool read_set_holds(const stm_tx *tx)
{
    bool holds = true;
    urcu_memb_read_lock();
    if (__atomic_load_n(&self.stale, __ATOMIC_ACQUIRE) != 0) {
        holds = false;
    } else {
        /* wait out a writeback in progress so that we compare against
         * whole commits; the seq_cst load pairs with the writer's loads */
        uint64_t s = __atomic_load_n(STM_SEQ, __ATOMIC_SEQ_CST);
        if (s & 1)
            stm_wait_even(STM_SEQ);
        for (size_t i = 0; i < tx->rlog.n; i++) {
            if (__atomic_load_n(&tx->rlog.e[i].addr->word, __ATOMIC_ACQUIRE) != tx->rlog.e[i].val) {
                holds = false;
                break;
            }
        }
    }
    STM_TSAN_RCU_RELEASE(); /* see memory.h */
    urcu_memb_read_unlock();
    return holds;
}

/* The thread was cancelled while it slept: leave as a normal return would,
 * so that nothing stays counted and the descriptor is idle. */
static void wait_cancelled(void *arg)
{
    stm_tx *tx = arg;
    unregister();
    tx->rlog.n = 0;
    tx->head.depth = 0;
    tx->head.outer_frame = NULL;
}

void stm_wait_for_change(stm_tx *tx)
{
    STM_STAT_INC(tx, retries_blocked);
    int t;
    pthread_cleanup_push(wait_cancelled, tx);
    pthread_testcancel();
    for (;;) {
        /* awake: clear the sleeping bit (left set by a spurious return) */
        uint32_t v = __atomic_and_fetch(&self.futex, ~1u, __ATOMIC_ACQUIRE);
        if (!read_set_holds(tx))
            break;
        if (stm_test_before_sleep != NULL)
            stm_test_before_sleep();
        /* about to sleep; fails if a writer bumped the count since v:
         * re-check instead */
        if (!__atomic_compare_exchange_n(&self.futex, &v, v | 1, false, __ATOMIC_ACQUIRE,
                                         __ATOMIC_ACQUIRE))
            continue;
        /* asynchronous only around the sleep: a cancel acts at once,
         * also one that is already pending */
        pthread_setcanceltype(PTHREAD_CANCEL_ASYNCHRONOUS, &t);
        futex_wait(&self.futex, v | 1);
        pthread_setcanceltype(PTHREAD_CANCEL_DEFERRED, &t);
        /* woken, or the word moved, or a signal: re-check (a waiter
         * re-runs only if a value it read changed) */
    }
    pthread_cleanup_pop(0);
    unregister();
    tx->rlog.n = 0;
    pthread_setcanceltype(self.cancel_type, &t);
}

/* --- reclamation --- */

bool stm_wait_block_watched(const void *p, size_t size)
{
    /* registrations of waiters whose attempts read the block were made
     * before the grace period that precedes this call ended */
    if (__atomic_load_n(&stm_waitq.waiters.v, __ATOMIC_ACQUIRE) == 0)
        return false;
    uintptr_t lo = (uintptr_t)p, hi = lo + size;
    bool hit = false;
    spin_lock(&list_lock);
    for (struct waiter *w = all_waiters; w != NULL; w = w->next) {
        if (w->hi <= lo || w->lo >= hi)
            continue;
        bool in = w->coarse; /* its range meets the block: assume it read it */
        for (size_t k = 0; k < w->n && !in; k++) {
            uintptr_t a = (uintptr_t)w->node[k].addr;
            in = a + sizeof(stm_tvar) > lo && a < hi;
        }
        if (in) {
            __atomic_store_n(&w->stale, 1, __ATOMIC_RELEASE);
            if (bump(w))
                futex_wake(&w->futex); /* under the lock: w stays registered */
            hit = true;
        }
    }
    spin_unlock(&list_lock);
    return hit;
}

/* --- fork --- */

void stm_wait_reset_after_fork(void)
{
    if (__atomic_load_n(&stm_waitq.waiters.v, __ATOMIC_RELAXED) != 0) {
        memset(stm_waitq.count, 0, sizeof stm_waitq.count);
        memset(head, 0, sizeof head);
    }
    /* a writer may have held a lock even with no waiter left */
    memset(bucket_lock, 0, sizeof bucket_lock);
    list_lock = 0;
    all_waiters = NULL;
    stm_waitq.waiters.v = 0;
}
