/* Clone tables: GCC emits, per object file, a table of (function,
 * transactional clone) pairs for transaction_callable/safe functions, which
 * crtbegin registers at start-up (and dlclose deregisters).  A call through
 * a function pointer inside a transaction looks the clone up here.
 *
 * Lookups run inside transactions, in hardware too, so they take no lock
 * and write nothing: a lock-free list whose nodes are published with a
 * release store and never freed (a deregistered table is only marked
 * gone: the handful of bytes per dlclose is not worth a grace period). */
#include <pthread.h>
#include <stdlib.h>

#include "../core/misuse.h"
#include "itm.h"

struct clone_entry {
    void *orig, *clone;
};

struct clone_table {
    const struct clone_entry *e; /* NULL once deregistered */
    size_t n;
    struct clone_table *next;
};

static struct clone_table *tables;
static pthread_mutex_t tables_lock = PTHREAD_MUTEX_INITIALIZER;

ITM_EXPORT void _ITM_registerTMCloneTable(void *table, size_t n);
ITM_EXPORT void _ITM_registerTMCloneTable(void *table, size_t n)
{
    struct clone_table *t = malloc(sizeof *t);
    if (t == NULL)
        stm_fatal("_ITM_registerTMCloneTable", "out of memory");
    t->e = table;
    t->n = n;
    pthread_mutex_lock(&tables_lock);
    t->next = tables;
    __atomic_store_n(&tables, t, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&tables_lock);
}

ITM_EXPORT void _ITM_deregisterTMCloneTable(void *table);
ITM_EXPORT void _ITM_deregisterTMCloneTable(void *table)
{
    pthread_mutex_lock(&tables_lock);
    for (struct clone_table *t = tables; t != NULL; t = t->next)
        if (t->e == table)
            __atomic_store_n(&t->e, NULL, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&tables_lock);
}

static void *find_clone(void *fn)
{
    for (struct clone_table *t = __atomic_load_n(&tables, __ATOMIC_ACQUIRE); t != NULL;
         t = t->next) {
        const struct clone_entry *e = __atomic_load_n(&t->e, __ATOMIC_ACQUIRE);
        if (e == NULL)
            continue;
        for (size_t i = 0; i < t->n; i++)
            if (e[i].orig == fn)
                return e[i].clone;
    }
    return NULL;
}

ITM_EXPORT void *_ITM_getTMCloneSafe(void *fn);
ITM_EXPORT void *_ITM_getTMCloneSafe(void *fn)
{
    void *c = find_clone(fn);
    if (c == NULL)
        stm_fatal("_ITM_getTMCloneSafe", "%p has no transactional clone (not transaction_safe)", fn);
    return c;
}

ITM_EXPORT void *_ITM_getTMCloneOrIrrevocable(void *fn);
ITM_EXPORT void *_ITM_getTMCloneOrIrrevocable(void *fn)
{
    void *c = find_clone(fn);
    if (c != NULL)
        return c;
    /* unknown code: run it irrevocably, as it is */
    struct stm_itm_tx *t = stm_itm_tls;
    if (t->nesting != 0)
        stm_itm_go_irrevocable(t);
    return fn;
}
