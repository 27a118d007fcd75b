/* stmbench baselines with plain memory: seq (no synchronization, one
 * thread), mutex (one global lock), rwlock (intset: shared lock for
 * lookups), finelock (bank: one lock per account, taken in address order). */
#include <sched.h>
#include <stdlib.h>

#include "stmbench.h"

#define DS(name) plain_##name
#define DS_TXP void *tx
#define DS_RD(tv) ((void)tx, (tv)->word)
#define DS_WR(tv, v) ((tv)->word = (uintptr_t)(v))
#define DS_ALLOC(n) malloc(n)
#define DS_FREE(p) free(p)
#define DS_FIELD(x) (x)
#define DS_FIELD_INIT(x, v) ((x) = (v))
#define DS_SAFE
#include "ds.inc"

static bool set_plain(struct bench_world *wd, int op, uintptr_t key, unsigned level)
{
    switch (wd->p.w) {
    case W_LIST:
        return plain_list_op(NULL, wd->list, op, key);
    case W_HASH:
        return plain_list_op(NULL, &wd->buckets[bench_hash(key, wd->nbuckets)], op, key);
    default:
        return plain_skip_op(NULL, wd->skip, op, key, level);
    }
}

static void setup_locks(struct bench_world *wd)
{
    pthread_mutex_init(&wd->lock, NULL);
    pthread_rwlock_init(&wd->rwlock, NULL);
    pthread_cond_init(&wd->qnotfull, NULL);
    pthread_cond_init(&wd->qnotempty, NULL);
    if (wd->p.w == W_BANK) {
        wd->acc_locks = malloc(wd->p.accounts * sizeof *wd->acc_locks);
        if (wd->acc_locks == NULL)
            abort();
        for (size_t i = 0; i < wd->p.accounts; i++)
            pthread_mutex_init(&wd->acc_locks[i], NULL);
    }
}

/* ---- seq ---- */

static bool seq_supports(enum bench_workload w)
{
    (void)w;
    return true;
}

static void seq_transfer(struct bench_world *wd, size_t a, size_t b, intptr_t amt)
{
    plain_bank_transfer(NULL, wd->acc, a, b, amt);
}

static intptr_t seq_sum(struct bench_world *wd)
{
    return plain_bank_sum(NULL, wd->acc, wd->p.accounts);
}

/* one thread: the driver alternates enqueue and dequeue, so never blocks */
static bool seq_queue_op(struct bench_world *wd, bool enq, uintptr_t *v)
{
    if (enq)
        return plain_queue_enq(NULL, &wd->queue, *v) == 0;
    return plain_queue_deq(NULL, &wd->queue, v) == 0;
}

static void no_stop(struct bench_world *wd)
{
    (void)wd;
}

const struct bench_impl bench_impl_seq = {
    .name = "seq", .supports = seq_supports, .setup = setup_locks,
    .transfer = seq_transfer, .sum = seq_sum, .set_op = set_plain,
    .queue_op = seq_queue_op, .stop = no_stop,
};

/* ---- mutex ---- */

static void mutex_transfer(struct bench_world *wd, size_t a, size_t b, intptr_t amt)
{
    pthread_mutex_lock(&wd->lock);
    plain_bank_transfer(NULL, wd->acc, a, b, amt);
    pthread_mutex_unlock(&wd->lock);
}

static intptr_t mutex_sum(struct bench_world *wd)
{
    pthread_mutex_lock(&wd->lock);
    intptr_t s = plain_bank_sum(NULL, wd->acc, wd->p.accounts);
    pthread_mutex_unlock(&wd->lock);
    return s;
}

static bool mutex_set(struct bench_world *wd, int op, uintptr_t key, unsigned level)
{
    pthread_mutex_lock(&wd->lock);
    bool r = set_plain(wd, op, key, level);
    pthread_mutex_unlock(&wd->lock);
    return r;
}

static bool mutex_queue_op(struct bench_world *wd, bool enq, uintptr_t *v)
{
    bool ok = true;
    pthread_mutex_lock(&wd->lock);
    for (;;) {
        int r = enq ? plain_queue_enq(NULL, &wd->queue, *v)
                    : plain_queue_deq(NULL, &wd->queue, v);
        if (r == 0)
            break;
        if (wd->qstop.word) {
            ok = false;
            break;
        }
        pthread_cond_wait(enq ? &wd->qnotfull : &wd->qnotempty, &wd->lock);
    }
    if (ok)
        pthread_cond_signal(enq ? &wd->qnotempty : &wd->qnotfull);
    pthread_mutex_unlock(&wd->lock);
    return ok;
}

static void mutex_stop(struct bench_world *wd)
{
    pthread_mutex_lock(&wd->lock);
    wd->qstop.word = 1;
    pthread_cond_broadcast(&wd->qnotfull);
    pthread_cond_broadcast(&wd->qnotempty);
    pthread_mutex_unlock(&wd->lock);
}

const struct bench_impl bench_impl_mutex = {
    .name = "mutex", .supports = seq_supports, .setup = setup_locks,
    .transfer = mutex_transfer, .sum = mutex_sum, .set_op = mutex_set,
    .queue_op = mutex_queue_op, .stop = mutex_stop,
};

/* ---- rwlock (intset) ---- */

static bool rw_supports(enum bench_workload w)
{
    return w == W_LIST || w == W_SKIP || w == W_HASH;
}

static bool rw_set(struct bench_world *wd, int op, uintptr_t key, unsigned level)
{
    if (op == BENCH_SET_CONTAINS)
        pthread_rwlock_rdlock(&wd->rwlock);
    else
        pthread_rwlock_wrlock(&wd->rwlock);
    bool r = set_plain(wd, op, key, level);
    pthread_rwlock_unlock(&wd->rwlock);
    return r;
}

const struct bench_impl bench_impl_rwlock = {
    .name = "rwlock", .supports = rw_supports, .setup = setup_locks,
    .set_op = rw_set, .stop = no_stop,
};

/* ---- finelock (bank) ---- */

static bool fine_supports(enum bench_workload w)
{
    return w == W_BANK;
}

static void fine_transfer(struct bench_world *wd, size_t a, size_t b, intptr_t amt)
{
    size_t lo = a < b ? a : b, hi = a < b ? b : a;
    pthread_mutex_lock(&wd->acc_locks[lo]);
    if (hi != lo)
        pthread_mutex_lock(&wd->acc_locks[hi]);
    plain_bank_transfer(NULL, wd->acc, a, b, amt);
    if (hi != lo)
        pthread_mutex_unlock(&wd->acc_locks[hi]);
    pthread_mutex_unlock(&wd->acc_locks[lo]);
}

/* all locks in address order: a consistent snapshot */
static intptr_t fine_sum(struct bench_world *wd)
{
    size_t n = wd->p.accounts;
    for (size_t i = 0; i < n; i++)
        pthread_mutex_lock(&wd->acc_locks[i]);
    intptr_t s = plain_bank_sum(NULL, wd->acc, n);
    for (size_t i = n; i-- > 0;)
        pthread_mutex_unlock(&wd->acc_locks[i]);
    return s;
}

const struct bench_impl bench_impl_finelock = {
    .name = "finelock", .supports = fine_supports, .setup = setup_locks,
    .transfer = fine_transfer, .sum = fine_sum, .stop = no_stop,
};
