/* stm_tqueue (include/stm/tqueue.h): a singly linked list with head and
 * tail TVars.  Nodes come from stm_alloc(), so a put in an attempt that
 * aborts (or in an orElse branch that retries) frees its node again, and
 * take releases nodes with stm_free(), reclaimed after a grace period.
 * Node fields are TVars written with stm_write() even though the node is
 * private until commit: the commit's write-back then publishes them with
 * the same atomic stores as every other TVar, which is what readers'
 * atomic loads pair with. */
#include <errno.h>

#include <stm/tqueue.h>

#include "ds.h"

struct node {
    stm_tvar next;   /* struct node *, NULL at the tail */
    stm_tvar value;
};

void stm_tqueue_init(stm_tqueue *q)
{
    stm_ds_require(q, "stm_tqueue_init", "queue");
    stm_tvar_init(&q->head, 0);
    stm_tvar_init(&q->tail, 0);
}

int stm_tqueue_put(stm_tx *tx, stm_tqueue *q, uintptr_t value)
{
    stm_ds_require(q, "stm_tqueue_put", "queue");
    struct node *n = stm_alloc(tx, sizeof *n);
    if (n == NULL)
        return ENOMEM;
    stm_write_ptr(tx, &n->next, NULL);
    stm_write(tx, &n->value, value);
    struct node *t = stm_read_ptr(tx, &q->tail);
    if (t == NULL)
        stm_write_ptr(tx, &q->head, n);
    else
        stm_write_ptr(tx, &t->next, n);
    stm_write_ptr(tx, &q->tail, n);
    return 0;
}

bool stm_tqueue_try_take(stm_tx *tx, stm_tqueue *q, uintptr_t *out)
{
    stm_ds_require(q, "stm_tqueue_try_take", "queue");
    struct node *h = stm_read_ptr(tx, &q->head);
    if (h == NULL)
        return false;
    struct node *next = stm_read_ptr(tx, &h->next);
    *out = stm_read(tx, &h->value);
    stm_write_ptr(tx, &q->head, next);
    if (next == NULL)
        stm_write_ptr(tx, &q->tail, NULL); /* blind write: no need to read tail */
    stm_free(tx, h);
    return true;
}

uintptr_t stm_tqueue_take(stm_tx *tx, stm_tqueue *q)
{
    uintptr_t v;
    if (!stm_tqueue_try_take(tx, q, &v))
        stm_retry(tx); /* waits on head */
    return v;
}

uintptr_t stm_tqueue_peek(stm_tx *tx, stm_tqueue *q)
{
    stm_ds_require(q, "stm_tqueue_peek", "queue");
    struct node *h = stm_read_ptr(tx, &q->head);
    if (h == NULL)
        stm_retry(tx);
    return stm_read(tx, &h->value);
}

bool stm_tqueue_is_empty(stm_tx *tx, stm_tqueue *q)
{
    stm_ds_require(q, "stm_tqueue_is_empty", "queue");
    return stm_read_ptr(tx, &q->head) == NULL;
}

static intptr_t drain_fn(stm_tx *tx, void *arg)
{
    stm_tqueue *q = arg;
    for (struct node *n = stm_read_ptr(tx, &q->head); n != NULL;) {
        struct node *next = stm_read_ptr(tx, &n->next);
        stm_free(tx, n);
        n = next;
    }
    stm_write_ptr(tx, &q->head, NULL);
    stm_write_ptr(tx, &q->tail, NULL);
    return 0;
}

void stm_tqueue_destroy(stm_tqueue *q)
{
    stm_ds_require(q, "stm_tqueue_destroy", "queue");
    stm_atomically(drain_fn, q);
}

/* the _atomic wrappers */

static intptr_t put_fn(stm_tx *tx, void *arg)
{
    struct stm_ds_call *c = arg;
    return stm_tqueue_put(tx, c->obj, c->value);
}

static intptr_t take_fn(stm_tx *tx, void *arg)
{
    struct stm_ds_call *c = arg;
    c->value = stm_tqueue_take(tx, c->obj);
    return 0;
}

static intptr_t try_take_fn(stm_tx *tx, void *arg)
{
    struct stm_ds_call *c = arg;
    uintptr_t v = 0;
    bool ok = stm_tqueue_try_take(tx, c->obj, &v);
    c->value = v;
    return ok;
}

int stm_tqueue_put_atomic(stm_tqueue *q, uintptr_t value)
{
    struct stm_ds_call c = { q, value };
    return (int)stm_atomically(put_fn, &c);
}

uintptr_t stm_tqueue_take_atomic(stm_tqueue *q)
{
    struct stm_ds_call c = { q, 0 };
    stm_atomically(take_fn, &c);
    return c.value;
}

bool stm_tqueue_try_take_atomic(stm_tqueue *q, uintptr_t *out)
{
    stm_ds_require(out, "stm_tqueue_try_take_atomic", "output pointer");
    struct stm_ds_call c = { q, 0 };
    bool ok = stm_atomically(try_take_fn, &c) != 0;
    if (ok)
        *out = c.value;
    return ok;
}
