/* stm_tbqueue (include/stm/tbqueue.h): a ring of slots with a full flag
 * each, indices for both ends, and the free-slot count split between
 * producers (write_capacity) and consumers (read_freed) as in GHC's
 * TBQueue, so that in steady state a producer's commit does not change
 * anything a consumer read and vice versa. */
#include <errno.h>

#include <stm/tbqueue.h>

#include "ds.h"

static stm_tvar *slot_value(stm_tbqueue *q, uintptr_t i)
{
    return &q->slots[2 * i];
}

static stm_tvar *slot_full(stm_tbqueue *q, uintptr_t i)
{
    return &q->slots[2 * i + 1];
}

int stm_tbqueue_init(stm_tbqueue *q, size_t capacity)
{
    stm_ds_require(q, "stm_tbqueue_init", "queue");
    if (capacity == 0 || capacity > SIZE_MAX / (2 * sizeof(stm_tvar)))
        return capacity == 0 ? EINVAL : ENOMEM;
    q->slots = calloc(2 * capacity, sizeof(stm_tvar));
    if (q->slots == NULL)
        return ENOMEM;
    q->capacity = capacity;
    stm_tvar_init(&q->write_index, 0);
    stm_tvar_init(&q->read_index, 0);
    stm_tvar_init(&q->write_capacity, capacity);
    stm_tvar_init(&q->read_freed, 0);
    return 0;
}

void stm_tbqueue_destroy(stm_tbqueue *q)
{
    stm_ds_require(q, "stm_tbqueue_destroy", "queue");
    free(q->slots);
    q->slots = NULL;
    q->capacity = 0;
}

bool stm_tbqueue_try_put(stm_tx *tx, stm_tbqueue *q, uintptr_t value)
{
    stm_ds_require(q, "stm_tbqueue_try_put", "queue");
    uintptr_t cap = stm_read(tx, &q->write_capacity);
    if (cap == 0) {
        /* out of producer credit: collect what consumers freed */
        cap = stm_read(tx, &q->read_freed);
        if (cap == 0)
            return false;
        stm_write(tx, &q->read_freed, 0);
    }
    stm_write(tx, &q->write_capacity, cap - 1);
    uintptr_t w = stm_read(tx, &q->write_index);
    stm_write(tx, slot_value(q, w), value);
    stm_write(tx, slot_full(q, w), 1);
    stm_write(tx, &q->write_index, w + 1 == q->capacity ? 0 : w + 1);
    return true;
}

bool stm_tbqueue_try_take(stm_tx *tx, stm_tbqueue *q, uintptr_t *out)
{
    stm_ds_require(q, "stm_tbqueue_try_take", "queue");
    uintptr_t r = stm_read(tx, &q->read_index);
    if (stm_read(tx, slot_full(q, r)) == 0)
        return false;
    *out = stm_read(tx, slot_value(q, r));
    stm_write(tx, slot_full(q, r), 0);
    stm_write(tx, &q->read_index, r + 1 == q->capacity ? 0 : r + 1);
    stm_write(tx, &q->read_freed, stm_read(tx, &q->read_freed) + 1);
    return true;
}

void stm_tbqueue_put(stm_tx *tx, stm_tbqueue *q, uintptr_t value)
{
    if (!stm_tbqueue_try_put(tx, q, value))
        stm_retry(tx); /* waits on write_capacity and read_freed */
}

uintptr_t stm_tbqueue_take(stm_tx *tx, stm_tbqueue *q)
{
    uintptr_t v;
    if (!stm_tbqueue_try_take(tx, q, &v))
        stm_retry(tx); /* waits on read_index and that slot's flag */
    return v;
}

uintptr_t stm_tbqueue_peek(stm_tx *tx, stm_tbqueue *q)
{
    stm_ds_require(q, "stm_tbqueue_peek", "queue");
    uintptr_t r = stm_read(tx, &q->read_index);
    if (stm_read(tx, slot_full(q, r)) == 0)
        stm_retry(tx);
    return stm_read(tx, slot_value(q, r));
}

size_t stm_tbqueue_length(stm_tx *tx, stm_tbqueue *q)
{
    stm_ds_require(q, "stm_tbqueue_length", "queue");
    uintptr_t free_slots = stm_read(tx, &q->write_capacity) + stm_read(tx, &q->read_freed);
    return q->capacity - free_slots;
}

/* the _atomic wrappers */

static intptr_t put_fn(stm_tx *tx, void *arg)
{
    struct stm_ds_call *c = arg;
    stm_tbqueue_put(tx, c->obj, c->value);
    return 0;
}

static intptr_t take_fn(stm_tx *tx, void *arg)
{
    struct stm_ds_call *c = arg;
    c->value = stm_tbqueue_take(tx, c->obj);
    return 0;
}

static intptr_t try_put_fn(stm_tx *tx, void *arg)
{
    struct stm_ds_call *c = arg;
    return stm_tbqueue_try_put(tx, c->obj, c->value);
}

static intptr_t try_take_fn(stm_tx *tx, void *arg)
{
    struct stm_ds_call *c = arg;
    uintptr_t v = 0;
    bool ok = stm_tbqueue_try_take(tx, c->obj, &v);
    c->value = v;
    return ok;
}

void stm_tbqueue_put_atomic(stm_tbqueue *q, uintptr_t value)
{
    struct stm_ds_call c = { q, value };
    stm_atomically(put_fn, &c);
}

uintptr_t stm_tbqueue_take_atomic(stm_tbqueue *q)
{
    struct stm_ds_call c = { q, 0 };
    stm_atomically(take_fn, &c);
    return c.value;
}

bool stm_tbqueue_try_put_atomic(stm_tbqueue *q, uintptr_t value)
{
    struct stm_ds_call c = { q, value };
    return stm_atomically(try_put_fn, &c) != 0;
}

bool stm_tbqueue_try_take_atomic(stm_tbqueue *q, uintptr_t *out)
{
    stm_ds_require(out, "stm_tbqueue_try_take_atomic", "output pointer");
    struct stm_ds_call c = { q, 0 };
    bool ok = stm_atomically(try_take_fn, &c) != 0;
    if (ok)
        *out = c.value;
    return ok;
}
