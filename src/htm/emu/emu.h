/* Abort-injecting emulation of a hardware TM, for tests.  Do not include
 * directly: use src/htm/htm.h.  The design (how an emulated transaction is
 * made atomic and isolated) is explained at the top of emu.c. */
#ifndef STM_SRC_HTM_H
#error "include src/htm/htm.h"
#endif
#ifndef STM_SRC_HTM_EMU_H
#define STM_SRC_HTM_EMU_H

#include <setjmp.h>
#include <stddef.h>

#include "stm.h"

/* Raw statuses are in the format of the outcome that produced them. */
enum stm_emu_format { STM_EMU_FMT_RTM = 0, STM_EMU_FMT_POWER };

/* One scripted outcome of a hardware attempt.  status == STM_HTM_STARTED:
 * the attempt starts (and commits, unless it meets a real conflict).  Else
 * the attempt fails with `status` (an RTM status or a TEXASR value, per
 * `format`): at begin when after == 0, or at its after-th TVar access
 * (the body runs that far, then its writes are rolled back). */
struct stm_emu_outcome {
    uint64_t status;
    unsigned after;
    int format; /* enum stm_emu_format */
};

/* Test API.  stm_emu_enable() selects the back end (stm_htm_select) and
 * clears script, seed and counts.  A script is consumed in order by all
 * threads; when it runs out (or with none), each attempt starts, unless a
 * seed was given: then each attempt fails with probability percent/100,
 * with a cause and access count drawn from the seeded generator. */
void stm_emu_enable(void);
void stm_emu_disable(void);
void stm_emu_script(const struct stm_emu_outcome *o, size_t n);
void stm_emu_seed(uint64_t seed, unsigned percent);

struct stm_emu_counts {
    uint64_t begins;    /* attempts */
    uint64_t started;   /* attempts that ran their body */
    uint64_t injected;  /* failures taken from the script or the seed */
    uint64_t conflicts; /* real conflicts detected (seq moved) */
    uint64_t commits;
};
void stm_emu_counts(struct stm_emu_counts *out);

/* Back-end interface used by htm.h, access.c and memory.c. */
uint64_t stm_emu_next(void);
jmp_buf *stm_emu_frame(void);
uint64_t stm_emu_abort_status(void);
enum stm_htm_cause stm_emu_decode(uint64_t status);
struct stm_tx;
uintptr_t stm_emu_read(struct stm_tx *tx, const stm_tvar *tv);
void stm_emu_write(struct stm_tx *tx, stm_tvar *tv, uintptr_t v);

/* The setjmp sits in the frame where the macro expands (stm_atomically):
 * injected and real aborts longjmp back here, like a hardware abort
 * resumes after xbegin/tbegin. */
#define STM_EMU_BEGIN(status)                                                  \
    do {                                                                       \
        (status) = stm_emu_next();                                             \
        if ((status) == STM_HTM_STARTED && setjmp(*stm_emu_frame()) != 0)      \
            (status) = stm_emu_abort_status();                                 \
    } while (0)

/* Commit; returns whether waiters of the written buckets must be woken. */
int stm_emu_end(void);
__attribute__((noreturn)) void stm_emu_abort(unsigned code);

#endif
