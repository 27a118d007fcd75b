/* What to do after a hardware abort, and whether a transaction site tries
 * hardware at all (adaptive).  Pure functions of their inputs, so the
 * policy is unit-tested directly and through the emulation back end. */
#ifndef STM_SRC_POLICY_H
#define STM_SRC_POLICY_H

#include <stdbool.h>

#include "../htm/htm.h"
#include "config.h"
#include "stm.h"

enum stm_next {
    STM_NEXT_HTM_AGAIN = 0,  /* another hardware attempt (after backoff) */
    STM_NEXT_HTM_WAIT,       /* wait for seq even, then again, uncharged */
    STM_NEXT_SOFTWARE,       /* run in NOrec now */
    STM_NEXT_SERIAL          /* run serially now (stm_irrevocable) */
};

/* Attempts so far in this transaction, by what ended them. */
struct stm_htm_attempts {
    unsigned conflict;   /* conflict and explicit-other aborts */
    unsigned capacity;
    unsigned zero;       /* status 0: interrupt, page fault, syscall */
    unsigned busy;       /* uncharged waits for a software writer */
};

/* Cap on uncharged busy waits, so a stream of software writers cannot keep
 * one transaction out of software forever. */
#define STM_HTM_BUSY_MAX 64

enum stm_next stm_policy_after_abort(const struct stm_config *cfg,
                                     struct stm_htm_attempts *a,
                                     enum stm_htm_cause c);

/* Adaptive: should this site try hardware now?  Counts a skip when not. */
bool stm_policy_site_uses_htm(stm_fn site);
/* Report how a site's hardware attempts ended for this transaction. */
void stm_policy_site_result(stm_fn site, bool committed_in_htm);

#endif
