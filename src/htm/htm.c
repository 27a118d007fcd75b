#include <stddef.h>

#include "../stm/hybrid.h"
#include "../stm/misuse.h"
#include "htm.h"

int stm_htm_backend = STM_HTM_NONE;

void stm_htm_init(const struct stm_config *cfg)
{
    (void)cfg;
    stm_htm_backend = STM_HTM_NONE;
    __atomic_store_n(&stm_hybrid.htm_enabled, stm_htm_backend != STM_HTM_NONE,
                     __ATOMIC_RELAXED);
}

const char *stm_htm_name(void)
{
    switch (stm_htm_backend) {
    case STM_HTM_RTM:
        return "rtm";
    case STM_HTM_POWER:
        return "power-htm";
    case STM_HTM_EMU:
        return "emu-htm";
    default:
        return NULL;
    }
}

enum stm_htm_cause stm_htm_decode(uint64_t status)
{
#if defined(__x86_64__) || defined(__i386__)
    unsigned s = (unsigned)status;
    if (s & STM_RTM_EXPLICIT) {
        switch (STM_RTM_CODE(s)) {
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
#else
    (void)status;
    return STM_HTM_CAUSE_PERSISTENT;
#endif
}

void stm_htm_abort_needsw(void)
{
    STM_HTM_ABORT(STM_HTM_CODE_NEEDSW);
    stm_fatal("stm_free", "hardware abort returned");
}
