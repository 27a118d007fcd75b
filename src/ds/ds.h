/* Shared bits of the transactional data structures (src/ds/).  They are
 * built on the public API (<stm.h>) only; this header adds the misuse
 * check and the argument block the _atomic wrappers pass to
 * stm_atomically(). */
#ifndef STM_SRC_DS_H
#define STM_SRC_DS_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <stm.h>

/* Misuse: message naming the call, then abort (as the core does). */
static inline void stm_ds_require(const void *p, const char *call, const char *what)
{
    if (__builtin_expect(p == NULL, 0)) {
        fprintf(stderr, "libstm: %s: NULL %s\n", call, what);
        abort();
    }
}

/* Arguments and results of one wrapped operation. */
struct stm_ds_call {
    void *obj;       /* the TMVar or queue */
    uintptr_t value; /* in: value to put; out: value taken */
};

#endif
