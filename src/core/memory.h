/* Transactional allocation and deferred reclamation (liburcu, memb flavor).
 * Every block handed out by stm_alloc() and stm_tvar_new() carries a header
 * with an rcu_head and a magic word, so misuse (freeing foreign memory,
 * double frees) is detected and reclamation needs no extra allocation. */
#ifndef STM_SRC_MEMORY_H
#define STM_SRC_MEMORY_H

#include "hidden.h"
#include "tx.h"

/* ThreadSanitizer cannot see the ordering liburcu provides: its grace
 * periods and call_rcu queue live in uninstrumented code (membarrier, asm
 * fences).  Model it with a sync object: the end of every read-side section
 * and every call_rcu() release it, every reclamation callback acquires it,
 * so "a section that ended, or a retire, happens before the free".  An
 * access made inside a section that is still open when the block is freed
 * stays unordered and is reported, as it should be. */
#if defined(__SANITIZE_THREAD__)
#define STM_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define STM_TSAN 1
#endif
#endif
#ifdef STM_TSAN
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
extern char stm_rcu_tsan_sync;
#define STM_TSAN_RCU_RELEASE() __tsan_release(&stm_rcu_tsan_sync)
#define STM_TSAN_RCU_ACQUIRE() __tsan_acquire(&stm_rcu_tsan_sync)
#else
#define STM_TSAN_RCU_RELEASE() ((void)0)
#define STM_TSAN_RCU_ACQUIRE() ((void)0)
#endif

/* The block header's magic word: STM_MEM_LIVE, STM_MEM_DEAD once retired,
 * anything else for memory that did not come from stm_mem_block_new. */
#define STM_MEM_LIVE 0x5354414cu /* "STAL" */
#define STM_MEM_DEAD 0x53544644u /* "STFD" */
#define STM_MEM_FOREIGN 0u       /* no readable header: not ours */

/* Block kinds. */
#define STM_MEM_KIND_ALLOC 0u /* stm_alloc */
#define STM_MEM_KIND_TVAR 1u  /* stm_tvar_new */

/* A block of n user bytes behind a header; kind 0 = stm_alloc, 1 =
 * stm_tvar_new.  NULL (errno = ENOMEM) on failure. */
void *stm_mem_block_new(size_t n, uint32_t kind);

/* The header of user pointer p: what the allocation log holds. */
void *stm_mem_block_of(void *p);

/* p's magic word (acquire: a thread that sees STM_MEM_DEAD also sees the
 * commit that retired the block), or STM_MEM_FOREIGN when p is misaligned
 * or its header is not readable memory: any pointer to readable memory is
 * checked without faulting. */
uint32_t stm_mem_magic(const void *p);

/* The kind of live block p (after stm_mem_check_owned). */
uint32_t stm_mem_kind(const void *p);

/* Report misuse (naming `call`) unless magic word m, read once by the
 * caller, says p is a live block of ours. */
void stm_mem_check_owned(const void *p, uint32_t m, const char *call);

/* Check, mark dead, and free p after a grace period: transactions still
 * running may hold a pointer into it. */
void stm_mem_retire(void *p, const char *call);

/* Defer fn(h) past a grace period as stm_mem_retire does, for memory that
 * is not a libstm block (libstm-itm's _ITM_free of malloc memory): turns
 * the lazy read-side sections on (below) and holds off fork.  fn must
 * call stm_mem_release_begin() before it frees anything. */
struct rcu_head;
void stm_mem_call_rcu(struct rcu_head *h, void (*fn)(struct rcu_head *h));
void stm_mem_release_begin(void);

/* Software attempts enter an RCU read-side section only once some block
 * was retired (stm_mem_rcu_on): a program that never frees pays nothing
 * for reclamation.  The first retire turns it on and waits for the
 * attempts that began without one (memory.c).  Read relaxed by
 * stm_attempt_enter. */
extern STM_HIDDEN bool stm_mem_rcu_on;

/* Set by the front at start-up (src/stm/thread.c owns the thread
 * registry): wait until busy(tx) is false for every other live
 * descriptor. */
extern void (*stm_mem_wait_threads)(bool (*busy)(const stm_tx *tx));

/* At start-up: keep RCU on from the beginning where the first retire could
 * not wait safely (no membarrier, or a sanitized build). */
void stm_mem_init(void);

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

/* fork() (fork.c): hold off every hand-over to call_rcu across it;
 * released in the parent, reset in the child. */
void stm_mem_fork_prepare(void);
void stm_mem_fork_parent(void);
void stm_mem_fork_child(void);

#endif
