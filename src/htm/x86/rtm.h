/* Intel RTM primitives.  Do not include directly: use src/htm/htm.h.
 * Written as raw opcodes so that no -mrtm flag (which would let the compiler
 * use RTM anywhere) is needed; executed only after the probe said yes or
 * with STM_HTM_FORCE=1. */
#ifndef STM_SRC_HTM_H
#error "include src/htm/htm.h"
#endif
#ifndef STM_SRC_HTM_X86_RTM_H
#define STM_SRC_HTM_X86_RTM_H

#include "rtm_status.h"

/* xbegin with the fallback address right after the instruction: on abort
 * execution continues there with the status in eax, as if the asm had
 * returned it.  Always inlined, so it sits in the caller's frame. */
static inline __attribute__((always_inline)) uint64_t stm_rtm_begin(void)
{
    unsigned status = 0xffffffffu;
    __asm__ __volatile__(".byte 0xc7,0xf8; .long 0" : "+a"(status) : : "memory");
    return status == 0xffffffffu ? STM_HTM_STARTED : status;
}

static inline __attribute__((always_inline)) int stm_rtm_end(void)
{
    __asm__ __volatile__(".byte 0x0f,0x01,0xd5" : : : "memory");
    return 0;
}

#define STM_RTM_ABORT_STR2(c) #c
#define STM_RTM_ABORT_STR(c) STM_RTM_ABORT_STR2(c)
/* xabort imm8 */
#define STM_RTM_ABORT(code)                                                    \
    __asm__ __volatile__(".byte 0xc6,0xf8," STM_RTM_ABORT_STR(code) : : : "memory")

#endif
