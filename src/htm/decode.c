/* Abort statuses to causes.  Pure functions, compiled on every
 * architecture so that both decoders are unit-tested everywhere. */
#include "htm.h"

/* Our own abort codes (htm.h), the same on every back end. */
static enum stm_htm_cause explicit_cause(unsigned code)
{
    switch (code) {
    case STM_HTM_CODE_BUSY:
        return STM_HTM_CAUSE_BUSY;
    case STM_HTM_CODE_RETRY:
        return STM_HTM_CAUSE_RETRY;
    case STM_HTM_CODE_IRREVOCABLE:
        return STM_HTM_CAUSE_IRREVOCABLE;
    case STM_HTM_CODE_NEEDSW:
        return STM_HTM_CAUSE_NEEDSW;
    default:
        return STM_HTM_CAUSE_EXPLICIT_OTHER;
    }
}

/* RTM (Intel SDM vol. 1, 16.3.5).  Our own xabort codes first; then the
 * hardware's bits, capacity before conflict (a capacity abort may also set
 * the conflict bit on some parts, and retrying it is the costlier mistake,
 * as in glibc's elision code which stops on capacity).  The RETRY bit alone
 * is a transient abort (e.g. an interrupt on some parts): a conflict-class
 * retry.  No bit at all: status 0 (interrupt, page fault, syscall,
 * CPUID, or RTM disabled) gets one more try at most. */
enum stm_htm_cause stm_rtm_decode(uint64_t status)
{
    unsigned s = (unsigned)status;
    if (s & STM_RTM_EXPLICIT) {
        return explicit_cause(STM_RTM_CODE(s));
    }
    if (s & STM_RTM_CAPACITY)
        return STM_HTM_CAUSE_CAPACITY;
    if (s & STM_RTM_CONFLICT)
        return STM_HTM_CAUSE_CONFLICT;
    if (s & STM_RTM_DEBUG)
        return STM_HTM_CAUSE_DEBUG;
    if (s & STM_RTM_NESTED)
        return STM_HTM_CAUSE_NESTED;
    if (s & STM_RTM_RETRY)
        return STM_HTM_CAUSE_CONFLICT;
    return STM_HTM_CAUSE_ZERO;
}

/* POWER TEXASR (Power ISA 2.07 Book II 5.3.x; doc/PROTOCOL.md "POWER facts").
 * tabort. with one of our codes sets the abort bit and puts the code in the
 * failure-code byte; our codes are even, so the persistent bit (the code's
 * least significant bit) is clear.  Any other persistent failure means a
 * retry is futile.  Then footprint overflow (capacity), the conflict bits,
 * nesting overflow; a transient failure with none of these (interrupt,
 * fault) reads as status 0. */
enum stm_htm_cause stm_power_decode(uint64_t t)
{
    if (t & STM_TEXASR_ABORT) {
        enum stm_htm_cause c = explicit_cause(STM_TEXASR_CODE(t));
        if (c == STM_HTM_CAUSE_EXPLICIT_OTHER && (t & STM_TEXASR_PERSISTENT))
            return STM_HTM_CAUSE_PERSISTENT;
        return c;
    }
    if (t & STM_TEXASR_PERSISTENT)
        return STM_HTM_CAUSE_PERSISTENT;
    if (t & STM_TEXASR_FOOTPRINT_OVERFLOW)
        return STM_HTM_CAUSE_CAPACITY;
    if (t & STM_TEXASR_CONFLICTS)
        return STM_HTM_CAUSE_CONFLICT;
    if (t & STM_TEXASR_NESTING_OVERFLOW)
        return STM_HTM_CAUSE_NESTED;
    return STM_HTM_CAUSE_ZERO;
}

static const char *const cause_names[STM_HTM_CAUSE_COUNT] = {
    [STM_HTM_CAUSE_CONFLICT] = "conflict",
    [STM_HTM_CAUSE_CAPACITY] = "capacity",
    [STM_HTM_CAUSE_BUSY] = "busy",
    [STM_HTM_CAUSE_RETRY] = "retry",
    [STM_HTM_CAUSE_IRREVOCABLE] = "irrevocable",
    [STM_HTM_CAUSE_NEEDSW] = "needs-software",
    [STM_HTM_CAUSE_EXPLICIT_OTHER] = "explicit-other",
    [STM_HTM_CAUSE_ZERO] = "status-0",
    [STM_HTM_CAUSE_PERSISTENT] = "persistent",
    [STM_HTM_CAUSE_DEBUG] = "debug",
    [STM_HTM_CAUSE_NESTED] = "nested",
};

const char *stm_htm_cause_name(enum stm_htm_cause c)
{
    if ((unsigned)c >= STM_HTM_CAUSE_COUNT)
        return "?";
    return cause_names[c];
}
