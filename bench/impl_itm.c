/* stmbench baseline: GCC's transactional memory (__transaction_atomic,
 * -fgnu-tm, libitm; its default method: serialirr with one thread, ml_wt
 * with more).  libitm has no blocking retry: a full or empty queue is
 * polled with sched_yield() between transactions.
 *
 * The same code, linked against libstm-itm instead, is the "libstm-itm"
 * implementation (bench/impl_itm_stm.c defines ITM_IMPL_SYM and
 * ITM_IMPL_RETRY and includes this file): there a full or empty queue
 * blocks in stm_itm_retry. */
#include <sched.h>
#include <stdlib.h>

#include "stmbench.h"

#ifndef ITM_IMPL_SYM
#define ITM_IMPL_SYM bench_impl_libitm
#define ITM_IMPL_NAME "libitm"
#endif

#define DS(name) itm_##name
#define DS_TXP void *tx
#define DS_RD(tv) ((void)tx, (tv)->word)
#define DS_WR(tv, v) ((tv)->word = (uintptr_t)(v))
#define DS_ALLOC(n) malloc(n)
#define DS_FREE(p) free(p)
#define DS_FIELD(x) (x)
#define DS_FIELD_INIT(x, v) ((x) = (v))
#define DS_SAFE __attribute__((transaction_safe))
/* stm_tvar_init is a header inline function: give the transactional code
 * its own safe version */
#define stm_tvar_init(tv, v) ((tv)->word = (uintptr_t)(v))
#include "ds.inc"
#undef stm_tvar_init

static bool supports(enum bench_workload w)
{
    (void)w;
    return true;
}

static void setup(struct bench_world *wd)
{
    (void)wd;
}

static void transfer(struct bench_world *wd, size_t a, size_t b, intptr_t amt)
{
    __transaction_atomic {
        itm_bank_transfer(NULL, wd->acc, a, b, amt);
    }
}

static intptr_t sum(struct bench_world *wd)
{
    intptr_t s;
    __transaction_atomic {
        s = itm_bank_sum(NULL, wd->acc, wd->p.accounts);
    }
    return s;
}

static bool set_op(struct bench_world *wd, int op, uintptr_t key, unsigned level)
{
    bool r;
    switch (wd->p.w) {
    case W_LIST:
        __transaction_atomic {
            r = itm_list_op(NULL, wd->list, op, key);
        }
        break;
    case W_HASH: {
        struct bench_lnode *b = &wd->buckets[bench_hash(key, wd->nbuckets)];
        __transaction_atomic {
            r = itm_list_op(NULL, b, op, key);
        }
        break;
    }
    default:
        __transaction_atomic {
            r = itm_skip_op(NULL, wd->skip, op, key, level);
        }
        break;
    }
    return r;
}

static bool queue_op(struct bench_world *wd, bool enq, uintptr_t *v)
{
    for (;;) {
        int r;
        __transaction_atomic {
            r = enq ? itm_queue_enq(NULL, &wd->queue, *v) : itm_queue_deq(NULL, &wd->queue, v);
#ifdef ITM_IMPL_RETRY
            if (r != 0 && wd->qstop.word == 0)
                stm_itm_retry(); /* sleeps until the queue or qstop changes */
#endif
        }
        if (r == 0)
            return true;
        if (__atomic_load_n(&wd->qstop.word, __ATOMIC_RELAXED))
            return false;
        sched_yield();
    }
}

static void stop(struct bench_world *wd)
{
#ifdef ITM_IMPL_RETRY
    __transaction_atomic { wd->qstop.word = 1; } /* a commit wakes the blocked */
#else
    __atomic_store_n(&wd->qstop.word, 1, __ATOMIC_RELAXED);
#endif
}

const struct bench_impl ITM_IMPL_SYM = {
    .name = ITM_IMPL_NAME, .supports = supports, .setup = setup,
    .transfer = transfer, .sum = sum, .set_op = set_op,
    .queue_op = queue_op, .stop = stop,
};
