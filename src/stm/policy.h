/* What to do after a hardware abort, and whether a transaction site tries
 * hardware at all (adaptive).  Pure functions of their inputs, so the
 * policy is unit-tested directly and through the emulation back end. */
#ifndef STM_SRC_POLICY_H
#define STM_SRC_POLICY_H

#include <stdbool.h>

#include "../htm/htm.h"
#include "../core/config.h"
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
 * one transaction out of software forever.  Each wait lasts one software
 * writeback or one serial transaction, so 64 covers any burst that is not
 * a livelock (glibc's elision likewise waits on a busy lock without
 * charging, but bounds its retries: elision-conf.c). */
#define STM_HTM_BUSY_MAX 64

/* Adaptive skipping (per site = transaction function pointer).  A site
 * whose transactions fall back to software STM_ADAPT_FAILS times in a row
 * skips hardware for its next STM_ADAPT_SKIP << penalty transactions
 * (penalty grows by one each time the site fails again right after a skip
 * period, up to STM_ADAPT_PENALTY_MAX; a hardware commit clears it).  This
 * is libitm's idea of giving up on HTM for transactions that keep aborting
 * (its serial-mode "htm_fastpath" counter), made per site and recoverable,
 * close to the "adaptive" elision of glibc (skip_lock_busy /
 * skip_lock_internal_abort: skip elision for a few acquisitions after an
 * abort, then try again). */
#define STM_ADAPT_SLOTS 64
#define STM_ADAPT_FAILS 3
#define STM_ADAPT_SKIP 32
#define STM_ADAPT_PENALTY_MAX 6

enum stm_next stm_policy_after_abort(const struct stm_config *cfg,
                                     struct stm_htm_attempts *a,
                                     enum stm_htm_cause c);

/* Adaptive: should this site try hardware now?  False while the site is in
 * a skip period (the caller counts htm_skipped_adaptive).  Always true with
 * STM_ADAPTIVE=0. */
bool stm_policy_site_uses_htm(const struct stm_config *cfg, stm_fn site);
/* Report how a site's hardware attempts ended for this transaction. */
void stm_policy_site_result(const struct stm_config *cfg, stm_fn site,
                            bool committed_in_htm);

/* Count a hardware abort of cause c in tx's statistics. */
void stm_policy_count_abort(stm_tx *tx, enum stm_htm_cause c);

/* Randomized exponential backoff before hardware attempt number `attempt`
 * after conflicts (shared by stm_atomically and libstm-itm). */
void stm_policy_backoff(unsigned attempt);

/* Forget all adaptive state (tests). */
void stm_policy_reset(void);

#endif
