/* A stand-in for liburcu's memb flavour, for the ppc64le cross test only
 * (tests/cross/ppc64le.sh): liburcu for ppc64el is not installable here
 * without multiarch (doc/FACTS.md).  It keeps the library's semantics safe in
 * the simplest way: read-side sections are no-ops and call_rcu() never
 * frees (the blocks stay allocated until the process exits), so no reader
 * can ever touch reused memory.  Memory is bounded by the test's size.
 * Never used by the real build. */
#ifndef STM_TESTS_CROSS_URCU_MEMB_H
#define STM_TESTS_CROSS_URCU_MEMB_H

#include <stddef.h>

struct rcu_head {
    struct rcu_head *next;
    void (*func)(struct rcu_head *);
};

#define caa_container_of(ptr, type, member)                                    \
    ((type *)((char *)(ptr) - offsetof(type, member)))

static inline void urcu_memb_register_thread(void) {}
static inline void urcu_memb_unregister_thread(void) {}
static inline void urcu_memb_read_lock(void) {}
static inline void urcu_memb_read_unlock(void) {}

static inline void urcu_memb_call_rcu(struct rcu_head *head, void (*func)(struct rcu_head *))
{
    /* no grace periods here: never reclaim */
    head->func = func;
    head->next = NULL;
}

/* fork(): nothing to pause, no worker to restart */
static inline void urcu_memb_call_rcu_before_fork(void) {}
static inline void urcu_memb_call_rcu_after_fork_parent(void) {}
static inline void urcu_memb_call_rcu_after_fork_child(void) {}

#endif
