/* Abort-injecting emulation of a hardware TM, for tests.  Do not include
 * directly: use src/htm/htm.h.  Each STM_EMU_BEGIN consults a script (or a
 * seeded generator) that says whether this attempt "starts" or fails with
 * a given raw status. */
#ifndef STM_SRC_HTM_H
#error "include src/htm/htm.h"
#endif
#ifndef STM_SRC_HTM_EMU_H
#define STM_SRC_HTM_EMU_H

#include <setjmp.h>

/* The next scripted outcome: STM_HTM_STARTED or an abort status. */
uint64_t stm_emu_next(void);
/* Jump frame for aborts inside an emulated transaction. */
jmp_buf *stm_emu_frame(void);
uint64_t stm_emu_abort_status(void);

#define STM_EMU_BEGIN(status)                                                  \
    do {                                                                       \
        (status) = stm_emu_next();                                             \
        if ((status) == STM_HTM_STARTED && setjmp(*stm_emu_frame()) != 0)      \
            (status) = stm_emu_abort_status();                                 \
    } while (0)

int stm_emu_end(void);
__attribute__((noreturn)) void stm_emu_abort(unsigned code);

#endif
