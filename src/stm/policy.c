#include "policy.h"

enum stm_next stm_policy_after_abort(const struct stm_config *cfg,
                                     struct stm_htm_attempts *a,
                                     enum stm_htm_cause c)
{
    switch (c) {
    case STM_HTM_CAUSE_BUSY:
        /* a software writer or serial transaction holds seq: wait it out
         * without charging an attempt (no lemming effect), up to a cap */
        if (++a->busy <= STM_HTM_BUSY_MAX)
            return STM_NEXT_HTM_WAIT;
        return STM_NEXT_SOFTWARE;
    case STM_HTM_CAUSE_CONFLICT:
    case STM_HTM_CAUSE_EXPLICIT_OTHER:
        if (++a->conflict <= cfg->htm_retries)
            return STM_NEXT_HTM_AGAIN;
        return STM_NEXT_SOFTWARE;
    case STM_HTM_CAUSE_CAPACITY:
        if (++a->capacity <= cfg->htm_capacity_retries)
            return STM_NEXT_HTM_AGAIN;
        return STM_NEXT_SOFTWARE;
    case STM_HTM_CAUSE_ZERO:
        /* interrupts and page faults may not recur: one more try at most */
        if (++a->zero <= 1)
            return STM_NEXT_HTM_AGAIN;
        return STM_NEXT_SOFTWARE;
    case STM_HTM_CAUSE_IRREVOCABLE:
        return STM_NEXT_SERIAL;
    case STM_HTM_CAUSE_RETRY:
    case STM_HTM_CAUSE_NEEDSW:
    case STM_HTM_CAUSE_PERSISTENT:
    case STM_HTM_CAUSE_DEBUG:
    case STM_HTM_CAUSE_NESTED:
    default:
        return STM_NEXT_SOFTWARE;
    }
}

bool stm_policy_site_uses_htm(stm_fn site)
{
    (void)site;
    return true;
}

void stm_policy_site_result(stm_fn site, bool committed_in_htm)
{
    (void)site;
    (void)committed_in_htm;
}
