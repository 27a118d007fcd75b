/* The hardware back ends behind one small interface; the whole interface of
 * src/htm/ to the rest of the library.
 *
 * STM_HTM_BEGIN(status) must expand in the frame of stm_atomically itself:
 * on an abort the hardware (or the emulation's longjmp) resumes there, so it
 * is a macro, never a helper function that returns. */
#ifndef STM_SRC_HTM_H
#define STM_SRC_HTM_H

#include "../core/hidden.h"
#include <stdbool.h>
#include <stdint.h>

#include "../core/config.h"

enum stm_htm_backend {
    STM_HTM_NONE = 0,
    STM_HTM_RTM,    /* Intel TSX/RTM */
    STM_HTM_POWER,  /* IBM POWER8/9 HTM */
    STM_HTM_EMU     /* abort-injecting emulation, for tests */
};

/* Set once by stm_htm_init() before any transaction runs. */
extern STM_HIDDEN int stm_htm_backend;

/* Why a hardware attempt ended: RTM and POWER statuses both map here. */
enum stm_htm_cause {
    STM_HTM_CAUSE_CONFLICT = 0,   /* data conflict: retry may succeed */
    STM_HTM_CAUSE_CAPACITY,       /* footprint overflow */
    STM_HTM_CAUSE_BUSY,           /* explicit: seq was odd (software writer) */
    STM_HTM_CAUSE_RETRY,          /* explicit: stm_retry() */
    STM_HTM_CAUSE_IRREVOCABLE,    /* explicit: stm_irrevocable() */
    STM_HTM_CAUSE_NEEDSW,         /* explicit: needs the software path */
    STM_HTM_CAUSE_EXPLICIT_OTHER, /* explicit abort with a foreign code */
    STM_HTM_CAUSE_ZERO,           /* no reason given: interrupt, fault, syscall */
    STM_HTM_CAUSE_PERSISTENT,     /* hardware says retrying is futile */
    STM_HTM_CAUSE_DEBUG,          /* breakpoint / debug exception */
    STM_HTM_CAUSE_NESTED,         /* nesting overflow */
    STM_HTM_CAUSE_COUNT
};

/* Our explicit abort codes (8 bits; even so that POWER treats them as
 * transient, see ppc). */
#define STM_HTM_CODE_BUSY 0xfe
#define STM_HTM_CODE_RETRY 0xfc
#define STM_HTM_CODE_IRREVOCABLE 0xfa
#define STM_HTM_CODE_NEEDSW 0xf8

#define STM_HTM_STARTED (~(uint64_t)0)

/* Probe the CPU (or obey STM_HTM_FORCE / STM_MODE) and set stm_htm_backend;
 * run once at start-up. */
void stm_htm_init(const struct stm_config *cfg);

/* "rtm", "power-htm", "emu-htm" or NULL. */
const char *stm_htm_name(void);

/* Decode a raw abort status of the running back end into a cause. */
enum stm_htm_cause stm_htm_decode(uint64_t status);
const char *stm_htm_cause_name(enum stm_htm_cause c);

/* The decoders themselves, pure and compiled on every architecture (so the
 * tests check POWER decoding on x86 too); src/htm/decode.c. */
enum stm_htm_cause stm_rtm_decode(uint64_t status);
enum stm_htm_cause stm_power_decode(uint64_t texasr);

/* Select the emulation back end (tests; src/htm/emu) or go back to what the
 * probe chose.  Only while no transaction runs. */
void stm_htm_select(int backend);

#include "ppc/texasr.h"
#include "x86/rtm_status.h"
#if defined(__x86_64__) || defined(__i386__)
#include "x86/rtm.h"
#endif
#if defined(__powerpc64__)
#include "ppc/power.h"
#endif
#include "emu/emu.h"

/* status = STM_HTM_STARTED inside a new transaction, else the raw abort
 * status. */
#if defined(__x86_64__) || defined(__i386__)
#define STM_HTM_BEGIN(status)                                                  \
    do {                                                                       \
        if (stm_htm_backend == STM_HTM_EMU)                                    \
            STM_EMU_BEGIN(status);                                             \
        else                                                                   \
            (status) = stm_rtm_begin();                                        \
    } while (0)
#define stm_htm_end()                                                          \
    (stm_htm_backend == STM_HTM_EMU ? stm_emu_end() : stm_rtm_end())
#define STM_HTM_ABORT(code)                                                    \
    do {                                                                       \
        if (stm_htm_backend == STM_HTM_EMU)                                    \
            stm_emu_abort(code);                                               \
        STM_RTM_ABORT(code);                                                   \
    } while (0)
#elif defined(__powerpc64__)
#define STM_HTM_BEGIN(status)                                                  \
    do {                                                                       \
        if (stm_htm_backend == STM_HTM_EMU)                                    \
            STM_EMU_BEGIN(status);                                             \
        else                                                                   \
            (status) = stm_power_begin();                                      \
    } while (0)
#define stm_htm_end()                                                          \
    (stm_htm_backend == STM_HTM_EMU ? stm_emu_end() : stm_power_end())
#define STM_HTM_ABORT(code)                                                    \
    do {                                                                       \
        if (stm_htm_backend == STM_HTM_EMU)                                    \
            stm_emu_abort(code);                                               \
        STM_POWER_ABORT(code);                                                 \
    } while (0)
#else
#define STM_HTM_BEGIN(status) STM_EMU_BEGIN(status)
#define stm_htm_end() stm_emu_end()
#define STM_HTM_ABORT(code) stm_emu_abort(code)
#endif

/* Out-of-line abort for callers outside the hot path (stm_free). */
__attribute__((noreturn)) void stm_htm_abort_needsw(void);

#endif
