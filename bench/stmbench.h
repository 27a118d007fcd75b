/* stmbench: shared types of the driver and the implementations. */
#ifndef STMBENCH_H
#define STMBENCH_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stm.h"

enum bench_workload {
    W_BANK,
    W_LIST,
    W_SKIP,
    W_HASH,
    W_QUEUE,
    W_COUNT
};

enum { BENCH_SET_CONTAINS, BENCH_SET_INSERT, BENCH_SET_REMOVE };

#define BENCH_SKIP_LEVELS 16

struct bench_lnode {
    stm_tvar next;
    uintptr_t key;
};

struct bench_snode {
    uintptr_t key;
    unsigned level;
    stm_tvar next[]; /* level entries */
};

struct bench_queue {
    stm_tvar head, tail; /* counts of dequeued and enqueued items */
    uintptr_t cap;
    stm_tvar *items;
};

/* One run's parameters. */
struct bench_params {
    enum bench_workload w;
    size_t accounts;  /* bank: A */
    double report;    /* bank: share R of full-sum reports */
    size_t keys;      /* intset: key range K (keys 1..K) */
    unsigned update;  /* intset: update percentage U */
    size_t capacity;  /* queue: bound */
    unsigned threads;
    double duration;  /* seconds */
    uint64_t ops;     /* if not 0: operations per thread instead */
};

/* The shared state of one run.  Only the fields of the run's workload are
 * used. */
struct bench_world {
    struct bench_params p;
    stm_tvar *acc;            /* bank accounts */
    pthread_mutex_t *acc_locks; /* finelock */
    intptr_t total;           /* bank: the invariant sum */
    struct bench_lnode *list; /* list head sentinel */
    struct bench_lnode *buckets; /* hash: nbuckets head sentinels */
    size_t nbuckets;
    struct bench_snode *skip; /* skip list head sentinel */
    struct bench_queue queue;
    stm_tvar qstop;           /* queue: 1 = stop (wakes blocked threads) */
    pthread_mutex_t lock;     /* mutex */
    pthread_rwlock_t rwlock;  /* rwlock */
    pthread_cond_t qnotfull, qnotempty;
    int bad;                  /* a check failed (atomic) */
};

/* Per-thread xorshift64 (Marsaglia 2003): the same generator for every
 * implementation, seeded per thread. */
static inline uint64_t bench_rand(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

/* An implementation: how to populate and how to run one operation.  Each
 * op returns false when the run is stopping (a blocked queue op). */
struct bench_impl {
    const char *name;
    const char *stm_mode; /* STM_MODE for libstm instances, else NULL */
    bool (*supports)(enum bench_workload w);
    void (*setup)(struct bench_world *wd);
    void (*transfer)(struct bench_world *wd, size_t a, size_t b, intptr_t amt);
    intptr_t (*sum)(struct bench_world *wd);
    bool (*set_op)(struct bench_world *wd, int op, uintptr_t key, unsigned level);
    /* enq: *v in; deq: *v out.  false: stopped */
    bool (*queue_op)(struct bench_world *wd, bool enq, uintptr_t *v);
    void (*stop)(struct bench_world *wd); /* wake blocked threads */
    /* after the run: sum of the items left in the queue; NULL: the ring in
     * wd->queue holds them */
    uintptr_t (*queue_left)(struct bench_world *wd);
};

#ifdef STMBENCH_HAVE_ITM
extern const struct bench_impl bench_impl_libitm;
#endif
#ifdef STMBENCH_HAVE_LIBSTM_ITM
extern const struct bench_impl bench_impl_libstm_itm;
#endif

/* The hash set's bucket of a key (keys are 1..K, nbuckets a power of 2). */
static inline size_t bench_hash(uintptr_t key, size_t nbuckets)
{
    return (size_t)((key * 0x9e3779b97f4a7c15ull) >> 20) & (nbuckets - 1);
}

#endif
