/*
 * fork() in a multi-threaded process: pthread_atfork handlers that let the
 * child use libstm fully.
 *
 * Only the forking thread exists in the child, and whatever the other
 * threads held at the instant of fork() stays held there for good.  So the
 * prepare handler brings every piece of shared state to rest first, in this
 * order:
 *  0. No thread is handing a block to call_rcu (memory.c: its lock-free
 *     enqueue is two steps, and a child forked between them inherits a
 *     queue its worker can never drain).  A thread waiting here holds
 *     neither the sequence lock nor a read-side section.
 *  1. liburcu's call_rcu workers pause (its documented fork hooks), so that
 *     no grace period is in progress and every reader record sits in
 *     liburcu's registry.  First, because a grace period may be waiting for
 *     a reader that waits for step 2's lock to be even.
 *  2. The serial gate (core/gate.h), then the sequence lock (even -> odd),
 *     as a serial transaction takes them: no software commit, serial
 *     transaction or stm_store() is in the middle of its writeback, and
 *     the child does not inherit a gate that a thread it lacks held.
 *  3. The registry lock (no thread is registering with libstm or liburcu:
 *     thread.c registers and unregisters under it) and the stats locks.
 * The parent releases them all.  The child releases them too, and forgets
 * the threads it does not have: their descriptors (counters folded into the
 * exited-thread totals), their liburcu reader records (unlinked from
 * liburcu's registry: grace periods would otherwise wait for a reader that
 * never leaves, and glibc reuses those threads' stacks, where the records
 * live, for the child's new threads), and the counts they contributed
 * (sw_active, the waiter counts).  call_rcu_after_fork_child gives the
 * child a call_rcu worker, so what it frees is reclaimed.
 *
 * liburcu's README discourages its call_rcu fork hooks in pthread_atfork
 * when callbacks call free(): with glibc before 2.24 malloc's own fork
 * locks were taken before these handlers ran, and a worker blocked in
 * free() could never pause.  glibc 2.24 and later take malloc's locks
 * after running the prepare handlers ("Run fork handler as late as
 * possible", BZ #19431), so the worker finishes its free() and pauses.
 *
 * Not restored in the child: blocks another thread had allocated in an
 * unfinished attempt, or freed in a commit whose reclamation it had not
 * queued yet, at the instant of fork(); they leak (never reused, never
 * freed twice).  fork() inside a transaction is misuse.
 */
#include <pthread.h>

#include "../core/gate.h"
#include "../core/hybrid.h"
#include "../core/memory.h"
#include "../core/misuse.h"
#include "../core/spin.h"
#include "../core/tx.h"
#include "../core/wait.h"
#include "fork.h"
#include "runtime.h"

/* liburcu's reader record (struct urcu_reader, in its LGPL static
 * header): thread.c records each thread's, the child unlinks the records of
 * threads that do not exist there. */
#include <urcu/urcu-memb.h>
#include <urcu/static/urcu-memb.h>

void *stm_rcu_reader_self(void)
{
    return &URCU_TLS(urcu_memb_reader);
}

/* What urcu_memb_unregister_thread() does for its own thread, done for a
 * thread that does not exist in this child (single-threaded here, so the
 * registry lock is not needed). */
static void rcu_reader_forget(void *rec)
{
    struct urcu_reader *r = rec;
    r->ctr = 0;
    r->registered = 0;
    cds_list_del(&r->node);
}

static uint64_t seq_at_fork; /* the even value taken in prepare */

static void fork_prepare(void)
{
    stm_tx *self = stm_tls_tx;
    if (self->head.depth != 0) /* STM_NO_DESC's is 0 */
        stm_fatal("fork", "called inside a transaction");
    stm_mem_fork_prepare();
    urcu_memb_call_rcu_before_fork();
    stm_gate_lock(); /* before seq, as a serial transaction takes them */
    for (unsigned i = 0;; i++) {
        uint64_t s = stm_seq_even();
        if (__atomic_compare_exchange_n(STM_SEQ, &s, s + 1, false, __ATOMIC_ACQUIRE,
                                        __ATOMIC_RELAXED)) {
            seq_at_fork = s;
            break;
        }
        stm_backoff(i);
    }
    stm_registry_fork_prepare();
}

static void fork_parent(void)
{
    stm_registry_fork_parent();
    /* nothing was written: the old even value is still accurate, and
     * snapshots taken at it stay valid */
    __atomic_store_n(STM_SEQ, seq_at_fork, __ATOMIC_RELEASE);
    stm_gate_unlock();
    urcu_memb_call_rcu_after_fork_parent();
    stm_mem_fork_parent();
}

static void fork_child(void)
{
    stm_registry_fork_child(rcu_reader_forget);
    /* this thread is outside any transaction (prepare checked): every
     * remaining count belonged to threads that are gone */
    __atomic_store_n(STM_SW_ACTIVE, 0, __ATOMIC_RELAXED);
    /* threads of the parent that waited for seq (prepare held it) may have
     * counted themselves starving; none of them is here */
    __atomic_store_n(&stm_starving, 0, __ATOMIC_RELAXED);
    stm_wait_reset_after_fork();
    __atomic_store_n(STM_SEQ, seq_at_fork, __ATOMIC_RELEASE);
    /* ours (prepare took it); a sleeper of the parent's is not here */
    __atomic_store_n(&stm_gate_word, 0, __ATOMIC_RELEASE);
    urcu_memb_call_rcu_after_fork_child();
    stm_mem_fork_child();
}

void stm_fork_handlers_install(void)
{
    if (pthread_atfork(fork_prepare, fork_parent, fork_child) != 0)
        stm_fatal("libstm", "pthread_atfork failed");
}
