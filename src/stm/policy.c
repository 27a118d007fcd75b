#include "policy.h"
#include "../core/spin.h"
#include "../core/tx.h"

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

/*
 * The adaptive site table: a small direct-mapped hash table keyed by the
 * transaction function pointer.  Every field is read and written with
 * relaxed atomic loads and stores, never read-modify-write, by any thread
 * running that site.  Racy but benign: a lost update, a torn combination of
 * one site's key with another's counters, or two sites evicting each other
 * only change how soon some site tries hardware again.  Either path
 * commits correctly, so the table affects performance only, never
 * correctness, and it costs no atomic instruction or fence on the
 * transaction path.
 */
struct adapt_slot {
    stm_fn site;
    unsigned fails;   /* consecutive transactions that fell to software */
    unsigned skip;    /* transactions left to skip hardware */
    unsigned penalty; /* skip periods that ended in failure again */
};

static struct adapt_slot slots[STM_ADAPT_SLOTS];

#define LOAD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define STORE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)

static struct adapt_slot *slot_of(stm_fn site)
{
    uintptr_t a = (uintptr_t)site;
    a ^= a >> 4 ^ a >> 12; /* code addresses: mix the low, aligned bits */
    return &slots[a % STM_ADAPT_SLOTS];
}

bool stm_policy_site_uses_htm(const struct stm_config *cfg, stm_fn site)
{
    if (!cfg->adaptive)
        return true;
    struct adapt_slot *s = slot_of(site);
    if (LOAD(s->site) != site)
        return true;
    unsigned k = LOAD(s->skip);
    if (k == 0)
        return true;
    STORE(s->skip, k - 1);
    return false;
}

void stm_policy_site_result(const struct stm_config *cfg, stm_fn site, bool committed_in_htm)
{
    if (!cfg->adaptive)
        return;
    struct adapt_slot *s = slot_of(site);
    if (LOAD(s->site) != site) {
        if (committed_in_htm)
            return; /* nothing to remember about a site that works */
        /* claim the slot (evicting whichever site had it) */
        STORE(s->site, site);
        STORE(s->fails, 0);
        STORE(s->skip, 0);
        STORE(s->penalty, 0);
    }
    if (committed_in_htm) {
        /* stores only when something changes: every hardware commit of a
         * site passes here, and a store would move the slot's cache line
         * between the cores running that site */
        if (LOAD(s->fails) != 0)
            STORE(s->fails, 0);
        if (LOAD(s->penalty) != 0)
            STORE(s->penalty, 0);
        return;
    }
    unsigned f = LOAD(s->fails) + 1;
    if (f < STM_ADAPT_FAILS) {
        STORE(s->fails, f);
        return;
    }
    unsigned p = LOAD(s->penalty);
    STORE(s->skip, (unsigned)STM_ADAPT_SKIP << p);
    if (p < STM_ADAPT_PENALTY_MAX)
        STORE(s->penalty, p + 1);
    /* after the skip period one failure is enough to skip again, longer */
    STORE(s->fails, STM_ADAPT_FAILS - 1);
}

void stm_policy_reset(void)
{
    for (unsigned i = 0; i < STM_ADAPT_SLOTS; i++) {
        STORE(slots[i].site, NULL);
        STORE(slots[i].fails, 0);
        STORE(slots[i].skip, 0);
        STORE(slots[i].penalty, 0);
    }
}

void stm_policy_count_abort(stm_tx *tx, enum stm_htm_cause c)
{
    switch (c) {
    case STM_HTM_CAUSE_CONFLICT:
        STM_STAT_INC(tx, aborts_htm_conflict);
        break;
    case STM_HTM_CAUSE_CAPACITY:
        STM_STAT_INC(tx, aborts_htm_capacity);
        break;
    case STM_HTM_CAUSE_BUSY:
    case STM_HTM_CAUSE_RETRY:
    case STM_HTM_CAUSE_IRREVOCABLE:
    case STM_HTM_CAUSE_NEEDSW:
    case STM_HTM_CAUSE_EXPLICIT_OTHER:
        STM_STAT_INC(tx, aborts_htm_explicit);
        break;
    default:
        STM_STAT_INC(tx, aborts_htm_other);
        break;
    }
}

/* Randomized exponential backoff between conflicting hardware attempts
 * (xorshift on a per-thread state; no shared RNG). */
void stm_policy_backoff(unsigned attempt)
{
    static __thread uint32_t rng = 0x9e3779b9u;
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    unsigned limit = 16u << (attempt < 6 ? attempt : 6);
    for (unsigned i = rng % limit; i > 0; i--)
        stm_cpu_relax();
}
