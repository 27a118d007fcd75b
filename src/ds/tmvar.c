/* stm_tmvar (include/stm/tmvar.h): two TVars, a full flag and the value.
 * Blocking operations retry on the flag, so a blocked taker wakes when a
 * put commits (and a blocked putter when a take commits). */
#include <stm/tmvar.h>

#include "ds.h"

void stm_tmvar_init_empty(stm_tmvar *m)
{
    stm_ds_require(m, "stm_tmvar_init_empty", "TMVar");
    stm_tvar_init(&m->full, 0);
    stm_tvar_init(&m->value, 0);
}

void stm_tmvar_init_full(stm_tmvar *m, uintptr_t value)
{
    stm_ds_require(m, "stm_tmvar_init_full", "TMVar");
    stm_tvar_init(&m->full, 1);
    stm_tvar_init(&m->value, value);
}

void stm_tmvar_destroy(stm_tmvar *m)
{
    stm_ds_require(m, "stm_tmvar_destroy", "TMVar");
}

bool stm_tmvar_try_take(stm_tx *tx, stm_tmvar *m, uintptr_t *out)
{
    stm_ds_require(m, "stm_tmvar_try_take", "TMVar");
    if (stm_read(tx, &m->full) == 0)
        return false;
    *out = stm_read(tx, &m->value);
    stm_write(tx, &m->full, 0);
    return true;
}

bool stm_tmvar_try_put(stm_tx *tx, stm_tmvar *m, uintptr_t value)
{
    stm_ds_require(m, "stm_tmvar_try_put", "TMVar");
    if (stm_read(tx, &m->full) != 0)
        return false;
    stm_write(tx, &m->value, value);
    stm_write(tx, &m->full, 1);
    return true;
}

uintptr_t stm_tmvar_take(stm_tx *tx, stm_tmvar *m)
{
    uintptr_t v;
    if (!stm_tmvar_try_take(tx, m, &v))
        stm_retry(tx);
    return v;
}

void stm_tmvar_put(stm_tx *tx, stm_tmvar *m, uintptr_t value)
{
    if (!stm_tmvar_try_put(tx, m, value))
        stm_retry(tx);
}

uintptr_t stm_tmvar_read(stm_tx *tx, stm_tmvar *m)
{
    stm_ds_require(m, "stm_tmvar_read", "TMVar");
    if (stm_read(tx, &m->full) == 0)
        stm_retry(tx);
    return stm_read(tx, &m->value);
}

bool stm_tmvar_is_empty(stm_tx *tx, stm_tmvar *m)
{
    stm_ds_require(m, "stm_tmvar_is_empty", "TMVar");
    return stm_read(tx, &m->full) == 0;
}

/* the _atomic wrappers */

static intptr_t take_fn(stm_tx *tx, void *arg)
{
    struct stm_ds_call *c = arg;
    c->value = stm_tmvar_take(tx, c->obj);
    return 0;
}

static intptr_t put_fn(stm_tx *tx, void *arg)
{
    struct stm_ds_call *c = arg;
    stm_tmvar_put(tx, c->obj, c->value);
    return 0;
}

static intptr_t read_fn(stm_tx *tx, void *arg)
{
    struct stm_ds_call *c = arg;
    c->value = stm_tmvar_read(tx, c->obj);
    return 0;
}

static intptr_t try_take_fn(stm_tx *tx, void *arg)
{
    struct stm_ds_call *c = arg;
    uintptr_t v = 0;
    bool ok = stm_tmvar_try_take(tx, c->obj, &v);
    c->value = v;
    return ok;
}

static intptr_t try_put_fn(stm_tx *tx, void *arg)
{
    struct stm_ds_call *c = arg;
    return stm_tmvar_try_put(tx, c->obj, c->value);
}

uintptr_t stm_tmvar_take_atomic(stm_tmvar *m)
{
    struct stm_ds_call c = { m, 0 };
    stm_atomically(take_fn, &c);
    return c.value;
}

void stm_tmvar_put_atomic(stm_tmvar *m, uintptr_t value)
{
    struct stm_ds_call c = { m, value };
    stm_atomically(put_fn, &c);
}

uintptr_t stm_tmvar_read_atomic(stm_tmvar *m)
{
    struct stm_ds_call c = { m, 0 };
    stm_atomically(read_fn, &c);
    return c.value;
}

bool stm_tmvar_try_take_atomic(stm_tmvar *m, uintptr_t *out)
{
    stm_ds_require(out, "stm_tmvar_try_take_atomic", "output pointer");
    struct stm_ds_call c = { m, 0 };
    bool ok = stm_atomically(try_take_fn, &c) != 0;
    if (ok)
        *out = c.value;
    return ok;
}

bool stm_tmvar_try_put_atomic(stm_tmvar *m, uintptr_t value)
{
    struct stm_ds_call c = { m, value };
    return stm_atomically(try_put_fn, &c) != 0;
}
