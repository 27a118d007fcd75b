/*
 * stm_tmvar: a transactional box that is either empty or holds one word
 * (Haskell's TMVar).  stm_tmvar_take() waits (stm_retry) while it is empty,
 * stm_tmvar_put() waits while it is full, so a TMVar is a one-place channel,
 * a lock (full = free) or a one-shot result slot.
 *
 *     #include <stm/tmvar.h>
 *
 * Every operation comes twice:
 *  - stm_tmvar_OP(tx, ...) runs inside the caller's transaction and composes
 *    with anything else it does (take from two TMVars at once, orElse
 *    between them, ...);
 *  - stm_tmvar_OP_atomic(...) runs it as a transaction of its own.
 * The blocking operations block by calling stm_retry(): the whole enclosing
 * transaction waits until the TMVar (or anything else it read) changes; in
 * the first branch of stm_or_else() they make the second branch run.
 *
 * A TMVar is embedded in the user's memory; initialize it before sharing,
 * destroy it after the last use.
 */
#ifndef STM_TMVAR_H
#define STM_TMVAR_H

#include <stdbool.h>
#include <stdint.h>

#include <stm.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    stm_tvar full;   /* 0 = empty, 1 = full */
    stm_tvar value;  /* meaningful only while full */
} stm_tmvar;

/* Initialize empty, or full with `value`.  No transaction needed. */
STM_API void stm_tmvar_init_empty(stm_tmvar *m);
STM_API void stm_tmvar_init_full(stm_tmvar *m, uintptr_t value);
/* Nothing is allocated; present for symmetry (and so that a later
 * representation may allocate).  No thread may use m afterwards. */
STM_API void stm_tmvar_destroy(stm_tmvar *m);

/* Take the value, leaving m empty; retries while m is empty. */
STM_API uintptr_t stm_tmvar_take(stm_tx *tx, stm_tmvar *m);
/* Put a value into m; retries while m is full. */
STM_API void stm_tmvar_put(stm_tx *tx, stm_tmvar *m, uintptr_t value);
/* The value, leaving m full; retries while m is empty. */
STM_API uintptr_t stm_tmvar_read(stm_tx *tx, stm_tmvar *m);
/* Non-blocking: false (and nothing changed) when empty / full. */
STM_API bool stm_tmvar_try_take(stm_tx *tx, stm_tmvar *m, uintptr_t *out);
STM_API bool stm_tmvar_try_put(stm_tx *tx, stm_tmvar *m, uintptr_t value);
STM_API bool stm_tmvar_is_empty(stm_tx *tx, stm_tmvar *m);

/* The same, each as one transaction of its own. */
STM_API uintptr_t stm_tmvar_take_atomic(stm_tmvar *m);
STM_API void stm_tmvar_put_atomic(stm_tmvar *m, uintptr_t value);
STM_API uintptr_t stm_tmvar_read_atomic(stm_tmvar *m);
STM_API bool stm_tmvar_try_take_atomic(stm_tmvar *m, uintptr_t *out);
STM_API bool stm_tmvar_try_put_atomic(stm_tmvar *m, uintptr_t value);

#ifdef __cplusplus
}
#endif

#endif
