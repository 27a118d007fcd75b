/*
 * stm_tqueue: an unbounded transactional FIFO of words (Haskell's TQueue).
 * stm_tqueue_take() waits (stm_retry) while the queue is empty; put never
 * waits.  Nodes are allocated with stm_alloc() and released with stm_free(),
 * so an aborted or retried put leaks nothing and a taken node is reclaimed
 * only once no transaction can still see it.
 *
 *     #include <stm/tqueue.h>
 *
 * Every operation comes twice: stm_tqueue_OP(tx, ...) joins the caller's
 * transaction (so "take one item from each of two queues" is two takes in
 * one transaction, and it waits until both have an item), and
 * stm_tqueue_OP_atomic(...) runs as a transaction of its own.
 *
 * Producers and consumers touch different TVars (the tail and the head)
 * except when the queue is empty or holds one item.
 */
#ifndef STM_TQUEUE_H
#define STM_TQUEUE_H

#include <stdbool.h>
#include <stdint.h>

#include <stm.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    stm_tvar head;  /* oldest node, NULL when empty */
    stm_tvar tail;  /* newest node, NULL when empty */
} stm_tqueue;

/* Initialize an empty queue before sharing it.  No transaction needed. */
STM_API void stm_tqueue_init(stm_tqueue *q);
/* Free the nodes still queued.  No thread may use q any more; call it
 * outside any transaction. */
STM_API void stm_tqueue_destroy(stm_tqueue *q);

/* Append value.  Returns 0, or ENOMEM (nothing appended) when no node could
 * be allocated. */
STM_API int stm_tqueue_put(stm_tx *tx, stm_tqueue *q, uintptr_t value);
/* Remove and return the oldest value; retries while the queue is empty. */
STM_API uintptr_t stm_tqueue_take(stm_tx *tx, stm_tqueue *q);
/* The oldest value, left in the queue; retries while empty. */
STM_API uintptr_t stm_tqueue_peek(stm_tx *tx, stm_tqueue *q);
/* Non-blocking take: false (nothing changed) when empty. */
STM_API bool stm_tqueue_try_take(stm_tx *tx, stm_tqueue *q, uintptr_t *out);
STM_API bool stm_tqueue_is_empty(stm_tx *tx, stm_tqueue *q);

/* The same, each as one transaction of its own. */
STM_API int stm_tqueue_put_atomic(stm_tqueue *q, uintptr_t value);
STM_API uintptr_t stm_tqueue_take_atomic(stm_tqueue *q);
STM_API bool stm_tqueue_try_take_atomic(stm_tqueue *q, uintptr_t *out);

#ifdef __cplusplus
}
#endif

#endif
