/* A committed stm_store from a second thread, finished before the call
 * returns: a software transaction that read before it fails validation. */
#ifndef STM_TESTS_STORE_UTIL_H
#define STM_TESTS_STORE_UTIL_H

#include <check.h>
#include <pthread.h>

#include "stm.h"

struct poke {
    stm_tvar *tv;
    uintptr_t value;
};

static void *poke_thread(void *arg)
{
    struct poke *p = arg;
    stm_store(p->tv, p->value);
    return NULL;
}

static inline void store_from_other_thread(stm_tvar *tv, uintptr_t v)
{
    struct poke p = {tv, v};
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, poke_thread, &p), 0);
    ck_assert_int_eq(pthread_join(t, NULL), 0);
}

#endif
