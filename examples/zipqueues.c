/*
 * The seed's zipQueues: take one item from each of two queues as a single
 * step.  zip() is just two stm_tqueue_take() calls in one transaction; if
 * either queue is empty the whole transaction retries, so it never takes an
 * item from one queue without the other and it sleeps until both have one.
 *
 * Two producers fill the queues at different paces (one in bursts); the
 * zipper must pair the i-th item of A with the i-th item of B for every i.
 * Exit status 0 if every pair matched and no item was lost or left over.
 */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>

#include <stm.h>
#include <stm/tqueue.h>

#define ITEMS 5000

static stm_tqueue qa, qb;

struct pair {
    uintptr_t a, b;
};

static intptr_t zip(stm_tx *tx, void *arg)
{
    struct pair *p = arg;
    p->a = stm_tqueue_take(tx, &qa);
    p->b = stm_tqueue_take(tx, &qb);
    return 0;
}

static void *produce_a(void *arg)
{
    for (uintptr_t i = 0; i < ITEMS; i++)
        stm_tqueue_put_atomic(&qa, i);
    return NULL;
}

static void *produce_b(void *arg)
{
    for (uintptr_t i = 0; i < ITEMS; i++) {
        stm_tqueue_put_atomic(&qb, 1000000 + i);
        if (i % 100 == 99)
            sched_yield(); /* bursts: the zipper waits on B, A runs ahead */
    }
    return NULL;
}

int main(void)
{
    stm_tqueue_init(&qa);
    stm_tqueue_init(&qb);
    pthread_t ta, tb;
    pthread_create(&ta, NULL, produce_a, NULL);
    pthread_create(&tb, NULL, produce_b, NULL);

    unsigned mismatches = 0;
    for (uintptr_t i = 0; i < ITEMS; i++) {
        struct pair p;
        stm_atomically(zip, &p);
        if (p.a != i || p.b != 1000000 + i) {
            if (mismatches++ < 5)
                fprintf(stderr, "zipqueues: pair %lu is (%lu, %lu)\n", (unsigned long)i,
                        (unsigned long)p.a, (unsigned long)p.b);
        }
    }
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    uintptr_t extra;
    int leftover = stm_tqueue_try_take_atomic(&qa, &extra) || stm_tqueue_try_take_atomic(&qb, &extra);
    stm_tqueue_destroy(&qa);
    stm_tqueue_destroy(&qb);

    struct stm_stats s;
    stm_stats_get(&s);
    printf("zipqueues: %d pairs, %u mismatched, %s left over; zipper blocked %llu times\n",
           ITEMS, mismatches, leftover ? "items" : "nothing", (unsigned long long)s.retries_blocked);
    return mismatches == 0 && !leftover ? EXIT_SUCCESS : EXIT_FAILURE;
}
