/* stmbench implementations over libstm (one per STM_MODE; the mode is set
 * in the environment of the child process that runs the measurement). */
#include <stdio.h>
#include <stdlib.h>

#include "stm/tbqueue.h"
#include "stmbench.h"

#define DS(name) stm_##name
#define DS_TXP stm_tx *tx
#define DS_RD(tv) stm_read(tx, (tv))
#define DS_WR(tv, v) stm_write(tx, (tv), (uintptr_t)(v))
#define DS_ALLOC(n) stm_alloc(tx, (n))
#define DS_FREE(p) stm_free(tx, (p))
#define DS_FIELD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define DS_FIELD_INIT(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)
#define DS_SAFE __attribute__((unused)) /* the ring queue: stm_tbqueue instead */
#include "ds.inc"

static bool supports(enum bench_workload w)
{
    (void)w;
    return true;
}

/* The queue workload uses the library's own bounded queue (stm_tbqueue);
 * one process runs one measurement, so one queue per process. */
static stm_tbqueue tbq;

static void setup(struct bench_world *wd)
{
    if (wd->p.w == W_QUEUE && stm_tbqueue_init(&tbq, wd->p.capacity) != 0) {
        perror("stmbench: stm_tbqueue_init");
        exit(2);
    }
}

struct xfer_arg {
    stm_tvar *acc;
    size_t a, b;
    intptr_t amt;
};

static intptr_t tx_transfer(stm_tx *tx, void *p)
{
    struct xfer_arg *x = p;
    stm_bank_transfer(tx, x->acc, x->a, x->b, x->amt);
    return 0;
}

static void transfer(struct bench_world *wd, size_t a, size_t b, intptr_t amt)
{
    struct xfer_arg x = {wd->acc, a, b, amt};
    stm_atomically(tx_transfer, &x);
}

/* bank-nested: withdraw and deposit are complete transactions of their
 * own; transfer runs them inside its transaction, which they join (flat
 * nesting) -- the seed's transfer, and the shape a program composing
 * library calls has. */
struct acct_arg {
    stm_tvar *acct;
    intptr_t amt;
};

static intptr_t tx_withdraw(stm_tx *tx, void *p)
{
    struct acct_arg *a = p;
    stm_write_int(tx, a->acct, stm_read_int(tx, a->acct) - a->amt);
    return 1;
}

static intptr_t tx_deposit(stm_tx *tx, void *p)
{
    struct acct_arg *a = p;
    stm_write_int(tx, a->acct, stm_read_int(tx, a->acct) + a->amt);
    return 1;
}

static intptr_t tx_transfer_nested(stm_tx *tx, void *p)
{
    (void)tx;
    struct xfer_arg *x = p;
    struct acct_arg w = {&x->acc[x->a], x->amt}, d = {&x->acc[x->b], x->amt};
    stm_atomically(tx_withdraw, &w);
    return stm_atomically(tx_deposit, &d);
}

static void transfer_nested(struct bench_world *wd, size_t a, size_t b, intptr_t amt)
{
    struct xfer_arg x = {wd->acc, a, b, amt};
    stm_atomically(tx_transfer_nested, &x);
}

static intptr_t tx_sum(stm_tx *tx, void *p)
{
    struct bench_world *wd = p;
    return stm_bank_sum(tx, wd->acc, wd->p.accounts);
}

static intptr_t sum(struct bench_world *wd)
{
    return stm_atomically(tx_sum, wd);
}

struct set_arg {
    struct bench_world *wd;
    int op;
    uintptr_t key;
    unsigned level;
};

static intptr_t tx_set(stm_tx *tx, void *p)
{
    struct set_arg *s = p;
    struct bench_world *wd = s->wd;
    switch (wd->p.w) {
    case W_LIST:
        return stm_list_op(tx, wd->list, s->op, s->key);
    case W_HASH:
        return stm_list_op(tx, &wd->buckets[bench_hash(s->key, wd->nbuckets)], s->op, s->key);
    default:
        return stm_skip_op(tx, wd->skip, s->op, s->key, s->level);
    }
}

static bool set_op(struct bench_world *wd, int op, uintptr_t key, unsigned level)
{
    struct set_arg s = {wd, op, key, level};
    return stm_atomically(tx_set, &s) != 0;
}

struct q_arg {
    struct bench_world *wd;
    uintptr_t v;
};

/* Blocking queue operations: a full (empty) queue retries, which blocks
 * until another transaction changes what was read (stm_tbqueue_put/take
 * do exactly this; the try_ forms are used so that the stop flag can be
 * read too, and setting it wakes every blocked thread). */
static intptr_t tx_enq(stm_tx *tx, void *p)
{
    struct q_arg *q = p;
    if (stm_tbqueue_try_put(tx, &tbq, q->v))
        return 1;
    if (stm_read(tx, &q->wd->qstop))
        return 0;
    stm_retry(tx);
}

static intptr_t tx_deq(stm_tx *tx, void *p)
{
    struct q_arg *q = p;
    uintptr_t v;
    if (stm_tbqueue_try_take(tx, &tbq, &v)) {
        q->v = v;
        return 1;
    }
    if (stm_read(tx, &q->wd->qstop))
        return 0;
    stm_retry(tx);
}

static bool queue_op(struct bench_world *wd, bool enq, uintptr_t *v)
{
    struct q_arg q = {wd, enq ? *v : 0};
    if (!stm_atomically(enq ? tx_enq : tx_deq, &q))
        return false;
    if (!enq)
        *v = q.v;
    return true;
}

/* After the run: the sum of the items still queued (drains the queue). */
static uintptr_t queue_left(struct bench_world *wd)
{
    (void)wd;
    uintptr_t sum = 0, v;
    while (stm_tbqueue_try_take_atomic(&tbq, &v))
        sum += v;
    return sum;
}

static void stop(struct bench_world *wd)
{
    stm_store(&wd->qstop, 1);
}

#define LIBSTM_IMPL(nm, mode)                                                  \
    {                                                                          \
        .name = nm, .stm_mode = mode, .supports = supports, .setup = setup,    \
        .transfer = transfer, .transfer_nested = transfer_nested, .sum = sum,  \
        .set_op = set_op,                                                      \
        .queue_op = queue_op, .queue_left = queue_left, .stop = stop           \
    }

/* libstm-stm: the software default (STM_MODE=stm); libstm-norec: NOrec
 * only, every attempt logged; libstm-serial: every transaction serial */
const struct bench_impl bench_impl_libstm_stm = LIBSTM_IMPL("libstm-stm", "stm");
const struct bench_impl bench_impl_libstm_norec = LIBSTM_IMPL("libstm-norec", "norec");
const struct bench_impl bench_impl_libstm_serial = LIBSTM_IMPL("libstm-serial", "serial");
const struct bench_impl bench_impl_libstm_auto = LIBSTM_IMPL("libstm-auto", "auto");
const struct bench_impl bench_impl_libstm_htm = LIBSTM_IMPL("libstm-htm", "htm");
