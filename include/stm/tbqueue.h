/*
 * stm_tbqueue: a bounded transactional FIFO of words (Haskell's TBQueue).
 * stm_tbqueue_take() waits (stm_retry) while the queue is empty and
 * stm_tbqueue_put() waits while it is full, so a full queue pushes back on
 * its producers.
 *
 *     #include <stm/tbqueue.h>
 *
 * Every operation comes twice: stm_tbqueue_OP(tx, ...) joins the caller's
 * transaction (it composes: two takes in one transaction, orElse between
 * queues, a put and a take from different queues as one step), and
 * stm_tbqueue_OP_atomic(...) runs as a transaction of its own.
 *
 * Representation: a ring of `capacity` slots, each a value and a full flag.
 * Like GHC's TBQueue, the free-slot count is split in two so that
 * producers and consumers do not all write one shared counter: producers
 * spend `write_capacity`; consumers add freed slots to `read_freed`, which
 * a producer moves over to write_capacity only when that runs out.  A
 * consumer waits on the full flag of the slot it would take, a producer on
 * the two capacity counters.
 */
#ifndef STM_TBQUEUE_H
#define STM_TBQUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <stm.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    stm_tvar *slots;          /* 2 * capacity TVars: value, full flag */
    size_t capacity;
    stm_tvar write_index;     /* next slot to fill */
    stm_tvar read_index;      /* next slot to take */
    stm_tvar write_capacity;  /* free slots producers may fill now */
    stm_tvar read_freed;      /* slots freed since producers last looked */
} stm_tbqueue;

/* Initialize an empty queue of `capacity` (>= 1) slots before sharing it.
 * Returns 0, EINVAL (capacity 0) or ENOMEM.  No transaction needed. */
STM_API int stm_tbqueue_init(stm_tbqueue *q, size_t capacity);
/* Release the slots.  No thread may use q any more. */
STM_API void stm_tbqueue_destroy(stm_tbqueue *q);

/* Append value; retries while the queue is full. */
STM_API void stm_tbqueue_put(stm_tx *tx, stm_tbqueue *q, uintptr_t value);
/* Remove and return the oldest value; retries while the queue is empty. */
STM_API uintptr_t stm_tbqueue_take(stm_tx *tx, stm_tbqueue *q);
/* The oldest value, left in the queue; retries while empty. */
STM_API uintptr_t stm_tbqueue_peek(stm_tx *tx, stm_tbqueue *q);
/* Non-blocking: false (nothing changed) when full / empty. */
STM_API bool stm_tbqueue_try_put(stm_tx *tx, stm_tbqueue *q, uintptr_t value);
STM_API bool stm_tbqueue_try_take(stm_tx *tx, stm_tbqueue *q, uintptr_t *out);
/* Items queued now (reads both capacity counters: conflicts with every
 * producer and consumer, so avoid it on hot paths). */
STM_API size_t stm_tbqueue_length(stm_tx *tx, stm_tbqueue *q);

/* The same, each as one transaction of its own. */
STM_API void stm_tbqueue_put_atomic(stm_tbqueue *q, uintptr_t value);
STM_API uintptr_t stm_tbqueue_take_atomic(stm_tbqueue *q);
STM_API bool stm_tbqueue_try_put_atomic(stm_tbqueue *q, uintptr_t value);
STM_API bool stm_tbqueue_try_take_atomic(stm_tbqueue *q, uintptr_t *out);

#ifdef __cplusplus
}
#endif

#endif
