/* The transactional data structures (issue 4): TMVar, TQueue, TBQueue.
 * Single-thread semantics (FIFO order, try-variants, capacity, composition
 * of two operations in one transaction), blocking operations woken by the
 * matching operation, and producers/consumers through a small bounded
 * queue with every item delivered exactly once. */
#include <errno.h>
#include <stdlib.h>

#include <stm/tbqueue.h>
#include <stm/tmvar.h>
#include <stm/tqueue.h>

#include "compose_util.h"
#include "htm/htm.h"
#include "stm/runtime.h"

/* --- TMVar --- */

START_TEST(tmvar_basic)
{
    stm_tmvar m;
    stm_tmvar_init_empty(&m);
    uintptr_t v = 0;
    ck_assert(!stm_tmvar_try_take_atomic(&m, &v));
    ck_assert(stm_tmvar_try_put_atomic(&m, 5));
    ck_assert(!stm_tmvar_try_put_atomic(&m, 6));
    ck_assert_uint_eq(stm_tmvar_read_atomic(&m), 5);
    ck_assert(stm_tmvar_try_take_atomic(&m, &v));
    ck_assert_uint_eq(v, 5);
    stm_tmvar_put_atomic(&m, 7);
    ck_assert_uint_eq(stm_tmvar_take_atomic(&m), 7);
    stm_tmvar_destroy(&m);

    stm_tmvar_init_full(&m, 9);
    ck_assert_uint_eq(stm_tmvar_take_atomic(&m), 9);
    stm_tmvar_destroy(&m);
}
END_TEST

static stm_tmvar box;

static void *taker(void *arg)
{
    return (void *)stm_tmvar_take_atomic(&box);
}

static void *putter(void *arg)
{
    stm_tmvar_put_atomic(&box, (uintptr_t)arg);
    return NULL;
}

START_TEST(tmvar_take_blocks_until_put)
{
    compose_watchdog(30);
    stm_tmvar_init_empty(&box);
    pthread_t t;
    pthread_create(&t, NULL, taker, NULL);
    compose_wait_blocked(1);
    stm_tmvar_put_atomic(&box, 33);
    void *r;
    pthread_join(t, &r);
    ck_assert_uint_eq((uintptr_t)r, 33);
}
END_TEST

START_TEST(tmvar_put_blocks_until_take)
{
    compose_watchdog(30);
    stm_tmvar_init_full(&box, 1);
    pthread_t t;
    pthread_create(&t, NULL, putter, (void *)2);
    compose_wait_blocked(1);
    ck_assert_uint_eq(stm_tmvar_take_atomic(&box), 1);
    pthread_join(t, NULL);
    ck_assert_uint_eq(stm_tmvar_take_atomic(&box), 2);
}
END_TEST

/* --- TQueue --- */

START_TEST(tqueue_fifo)
{
    stm_tqueue q;
    stm_tqueue_init(&q);
    uintptr_t v;
    ck_assert(!stm_tqueue_try_take_atomic(&q, &v));
    for (uintptr_t i = 0; i < 100; i++)
        ck_assert_int_eq(stm_tqueue_put_atomic(&q, i), 0);
    for (uintptr_t i = 0; i < 60; i++)
        ck_assert_uint_eq(stm_tqueue_take_atomic(&q), i);
    for (uintptr_t i = 100; i < 120; i++)
        ck_assert_int_eq(stm_tqueue_put_atomic(&q, i), 0);
    for (uintptr_t i = 60; i < 110; i++) {
        ck_assert(stm_tqueue_try_take_atomic(&q, &v));
        ck_assert_uint_eq(v, i);
    }
    /* 10 left: destroy frees them (valgrind checks) */
    stm_tqueue_destroy(&q);
}
END_TEST

/* the seed's zipQueues: one item from each queue, or wait for both */
static stm_tqueue qa, qb;

static intptr_t zip(stm_tx *tx, void *arg)
{
    uintptr_t *out = arg;
    out[0] = stm_tqueue_take(tx, &qa);
    out[1] = stm_tqueue_take(tx, &qb);
    return 0;
}

static void *zipper(void *arg)
{
    stm_atomically(zip, arg);
    return NULL;
}

START_TEST(tqueue_zip_waits_for_both)
{
    compose_watchdog(30);
    stm_tqueue_init(&qa);
    stm_tqueue_init(&qb);
    uintptr_t out[2] = { 0, 0 };
    pthread_t t;
    pthread_create(&t, NULL, zipper, out);
    compose_wait_blocked(1);
    stm_tqueue_put_atomic(&qa, 1);
    /* qb is empty: the zip must not have taken qa's item */
    compose_wait_blocked(1);
    uintptr_t peek;
    ck_assert(stm_tqueue_try_take_atomic(&qa, &peek));
    ck_assert_uint_eq(peek, 1);
    stm_tqueue_put_atomic(&qa, 2);
    stm_tqueue_put_atomic(&qb, 3);
    pthread_join(t, NULL);
    ck_assert_uint_eq(out[0], 2);
    ck_assert_uint_eq(out[1], 3);
    stm_tqueue_destroy(&qa);
    stm_tqueue_destroy(&qb);
}
END_TEST

/* orElse between queues: take from qa, else from qb */
static intptr_t take_a(stm_tx *tx, void *arg) { return (intptr_t)stm_tqueue_take(tx, &qa); }
static intptr_t take_b(stm_tx *tx, void *arg) { return (intptr_t)stm_tqueue_take(tx, &qb) + 1000; }
static intptr_t take_either(stm_tx *tx, void *arg)
{
    return stm_or_else(tx, take_a, NULL, take_b, NULL);
}

static void *either_taker(void *arg)
{
    return (void *)stm_atomically(take_either, NULL);
}

START_TEST(tqueue_or_else)
{
    compose_watchdog(30);
    stm_tqueue_init(&qa);
    stm_tqueue_init(&qb);
    stm_tqueue_put_atomic(&qb, 5);
    ck_assert_int_eq(stm_atomically(take_either, NULL), 1005);
    stm_tqueue_put_atomic(&qa, 6);
    stm_tqueue_put_atomic(&qb, 7);
    ck_assert_int_eq(stm_atomically(take_either, NULL), 6);
    ck_assert_int_eq(stm_atomically(take_either, NULL), 1007);
    /* both empty: blocks on both, woken by either */
    pthread_t t;
    pthread_create(&t, NULL, either_taker, NULL);
    compose_wait_blocked(1);
    stm_tqueue_put_atomic(&qb, 8);
    void *r;
    pthread_join(t, &r);
    ck_assert_int_eq((intptr_t)r, 1008);
    stm_tqueue_destroy(&qa);
    stm_tqueue_destroy(&qb);
}
END_TEST

/* A put in a branch that then retries leaves nothing behind (its node is
 * freed: valgrind checks). */
static intptr_t put_then_retry(stm_tx *tx, void *arg)
{
    stm_tqueue_put(tx, &qa, 99);
    stm_tqueue_take(tx, &qb); /* empty: retries */
    return 0;
}

static intptr_t fallback(stm_tx *tx, void *arg) { return 1; }

static intptr_t put_or_not(stm_tx *tx, void *arg)
{
    return stm_or_else(tx, put_then_retry, NULL, fallback, NULL);
}

START_TEST(tqueue_put_in_retried_branch_undone)
{
    stm_tqueue_init(&qa);
    stm_tqueue_init(&qb);
    ck_assert_int_eq(stm_atomically(put_or_not, NULL), 1);
    uintptr_t v;
    ck_assert(!stm_tqueue_try_take_atomic(&qa, &v));
    stm_tqueue_destroy(&qa);
    stm_tqueue_destroy(&qb);
}
END_TEST

/* --- TBQueue --- */

static intptr_t length_fn(stm_tx *tx, void *arg)
{
    return (intptr_t)stm_tbqueue_length(tx, arg);
}

START_TEST(tbqueue_capacity_and_order)
{
    stm_tbqueue q;
    ck_assert_int_eq(stm_tbqueue_init(&q, 0), EINVAL);
    ck_assert_int_eq(stm_tbqueue_init(&q, 3), 0);
    uintptr_t v;
    ck_assert(!stm_tbqueue_try_take_atomic(&q, &v));
    /* several laps around the ring */
    uintptr_t next_in = 0, next_out = 0;
    for (int lap = 0; lap < 10; lap++) {
        while (stm_tbqueue_try_put_atomic(&q, next_in))
            next_in++;
        ck_assert_uint_eq(next_in - next_out, 3);
        ck_assert_int_eq(stm_atomically(length_fn, &q), 3);
        for (int k = 0; k < 1 + lap % 3; k++) {
            ck_assert(stm_tbqueue_try_take_atomic(&q, &v));
            ck_assert_uint_eq(v, next_out++);
        }
        ck_assert_int_eq(stm_atomically(length_fn, &q), (intptr_t)(next_in - next_out));
    }
    while (stm_tbqueue_try_take_atomic(&q, &v))
        ck_assert_uint_eq(v, next_out++);
    ck_assert_uint_eq(next_out, next_in);
    stm_tbqueue_destroy(&q);
}
END_TEST

static stm_tbqueue bq;

static void *bq_putter(void *arg)
{
    stm_tbqueue_put_atomic(&bq, (uintptr_t)arg);
    return NULL;
}

START_TEST(tbqueue_put_blocks_when_full)
{
    compose_watchdog(30);
    ck_assert_int_eq(stm_tbqueue_init(&bq, 2), 0);
    stm_tbqueue_put_atomic(&bq, 1);
    stm_tbqueue_put_atomic(&bq, 2);
    pthread_t t;
    pthread_create(&t, NULL, bq_putter, (void *)3);
    compose_wait_blocked(1);
    ck_assert_uint_eq(stm_tbqueue_take_atomic(&bq), 1);
    pthread_join(t, NULL);
    ck_assert_uint_eq(stm_tbqueue_take_atomic(&bq), 2);
    ck_assert_uint_eq(stm_tbqueue_take_atomic(&bq), 3);
    stm_tbqueue_destroy(&bq);
}
END_TEST

/* --- producers and consumers through a bounded queue of 4 --- */

#define PAIRS 3
#define PER_PRODUCER 3000
#define ITEMS (PAIRS * PER_PRODUCER)

struct consumer {
    unsigned char seen[ITEMS];
    uint64_t sum;
};

static bool use_tqueue; /* else the bounded queue bq */
static stm_tqueue uq;

static void *producer(void *arg)
{
    uintptr_t id = (uintptr_t)arg;
    for (uintptr_t i = 0; i < PER_PRODUCER; i++) {
        uintptr_t v = id * PER_PRODUCER + i + 1; /* 0 is never sent */
        if (use_tqueue)
            ck_assert_int_eq(stm_tqueue_put_atomic(&uq, v), 0);
        else
            stm_tbqueue_put_atomic(&bq, v);
    }
    return NULL;
}

static void *consumer(void *arg)
{
    struct consumer *c = arg;
    /* each consumer takes a fixed share, so all of them finish */
    for (unsigned i = 0; i < ITEMS / PAIRS; i++) {
        uintptr_t v = use_tqueue ? stm_tqueue_take_atomic(&uq) : stm_tbqueue_take_atomic(&bq);
        ck_assert(v >= 1 && v <= ITEMS);
        c->seen[v - 1]++;
        c->sum += v;
    }
    return NULL;
}

static void producers_consumers(void)
{
    compose_watchdog(55);
    ck_assert_int_eq(stm_tbqueue_init(&bq, 4), 0);
    stm_tqueue_init(&uq);
    static struct consumer cons[PAIRS];
    memset(cons, 0, sizeof cons); /* CK_FORK=no runs the variants in one process */
    pthread_t p[PAIRS], c[PAIRS];
    for (uintptr_t i = 0; i < PAIRS; i++) {
        pthread_create(&c[i], NULL, consumer, &cons[i]);
        pthread_create(&p[i], NULL, producer, (void *)i);
    }
    for (int i = 0; i < PAIRS; i++) {
        pthread_join(p[i], NULL);
        pthread_join(c[i], NULL);
    }
    uint64_t sum = 0;
    for (unsigned v = 0; v < ITEMS; v++) {
        unsigned n = 0;
        for (int i = 0; i < PAIRS; i++)
            n += cons[i].seen[v];
        ck_assert_msg(n == 1, "item %u delivered %u times", v + 1, n);
    }
    for (int i = 0; i < PAIRS; i++)
        sum += cons[i].sum;
    ck_assert_uint_eq(sum, (uint64_t)ITEMS * (ITEMS + 1) / 2);
    uintptr_t v;
    ck_assert(!stm_tbqueue_try_take_atomic(&bq, &v));
    ck_assert(!stm_tqueue_try_take_atomic(&uq, &v));
    ck_assert_int_eq(stm_atomically(length_fn, &bq), 0);
    stm_tbqueue_destroy(&bq);
    stm_tqueue_destroy(&uq);
}

START_TEST(producers_consumers_exactly_once)
{
    producers_consumers();
}
END_TEST

START_TEST(producers_consumers_tqueue)
{
    use_tqueue = true;
    producers_consumers();
}
END_TEST

/* The same on the (emulated) hardware path with 20% of the hardware
 * attempts aborted at random: blocking takes/puts start in hardware, retry
 * moves them to software, and hardware commits wake them. */
static void emulated(void)
{
    stm_runtime_init();
    stm_emu_enable();
    stm_emu_seed(42, 20);
}

static void check_hardware_ran(void)
{
    struct stm_stats st;
    stm_stats_get(&st);
    ck_assert_uint_gt(st.commits_htm, 0);
    ck_assert_uint_gt(st.commits_stm, 0);
}

START_TEST(producers_consumers_hardware_emulated)
{
    emulated();
    producers_consumers();
    check_hardware_ran();
}
END_TEST

START_TEST(producers_consumers_tqueue_hardware_emulated)
{
    emulated();
    use_tqueue = true;
    producers_consumers();
    check_hardware_ran();
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("ds");
    TCase *tc = tcase_create("tmvar");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, tmvar_basic);
    tcase_add_test(tc, tmvar_take_blocks_until_put);
    tcase_add_test(tc, tmvar_put_blocks_until_take);
    suite_add_tcase(s, tc);

    tc = tcase_create("tqueue");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, tqueue_fifo);
    tcase_add_test(tc, tqueue_zip_waits_for_both);
    tcase_add_test(tc, tqueue_or_else);
    tcase_add_test(tc, tqueue_put_in_retried_branch_undone);
    suite_add_tcase(s, tc);

    tc = tcase_create("tbqueue");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, tbqueue_capacity_and_order);
    tcase_add_test(tc, tbqueue_put_blocks_when_full);
    tcase_add_test(tc, producers_consumers_exactly_once);
    tcase_add_test(tc, producers_consumers_tqueue);
    tcase_add_test(tc, producers_consumers_hardware_emulated);
    tcase_add_test(tc, producers_consumers_tqueue_hardware_emulated);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return compose_run_suite(suite());
}
