/* IBM POWER HTM primitives.  Do not include directly: use src/htm/htm.h.
 *
 * Raw opcodes, not GCC's HTM builtins.  The builtins need -mhtm on the
 * compile unit, and tbegin. must sit in stm_atomically's own frame (an
 * abort resumes right after the tbegin. with the registers of that moment,
 * so a helper function that had returned would resume in a dead frame):
 * with builtins, atomically.c itself would need -mhtm, which also lets GCC
 * use HTM-only instructions anywhere in that file.  Instead these
 * always-inline asm statements emit the instruction words themselves
 * (encodings from the Power ISA 2.07; checked against GCC's -mhtm output),
 * so no file needs -mhtm and nothing runs unless the probe allowed it or
 * STM_HTM_FORCE=1. */
#ifndef STM_SRC_HTM_H
#error "include src/htm/htm.h"
#endif
#ifndef STM_SRC_HTM_PPC_POWER_H
#define STM_SRC_HTM_PPC_POWER_H

#include "texasr.h"

/* tbegin. 0 = 0x7c00051d.  CR0[EQ] is set when the transaction failed
 * (execution resumed here after an abort) and clear when it started.  On
 * failure, read TEXASR (mfspr 130) for the cause. */
static inline __attribute__((always_inline)) uint64_t stm_power_begin(void)
{
    unsigned long failed;
    __asm__ __volatile__(".long 0x7c00051d\n\t" /* tbegin. */
                         "mfcr %0\n\t"
                         "rlwinm %0,%0,3,31,31" /* CR0[EQ] (CR bit 2) to bit 31 */
                         : "=r"(failed)
                         :
                         : "cr0", "memory");
    if (!failed)
        return STM_HTM_STARTED;
    unsigned long texasr;
    __asm__ __volatile__("mfspr %0,130" : "=r"(texasr)); /* TEXASR */
    return texasr;
}

/* tend. 0 = 0x7c00055d */
static inline __attribute__((always_inline)) int stm_power_end(void)
{
    __asm__ __volatile__(".long 0x7c00055d" : : : "cr0", "memory");
    return 0;
}

/* tabort. RA = 0x7c00071d | RA << 16; the failure code is RA's low byte.
 * "b" keeps RA away from r0 (which would read as the constant 0). */
#define STM_POWER_ABORT(code)                                                  \
    do {                                                                       \
        unsigned long stm_code_ = (code);                                      \
        __asm__ __volatile__(".long 0x7c00071d | (%0 << 16)"                   \
                             :                                                 \
                             : "b"(stm_code_)                                  \
                             : "cr0", "memory");                               \
    } while (0)

#endif
