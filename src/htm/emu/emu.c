#include "../htm.h"

static __thread jmp_buf frame;
static __thread uint64_t abort_status;

uint64_t stm_emu_next(void)
{
    return STM_HTM_STARTED;
}

jmp_buf *stm_emu_frame(void)
{
    return &frame;
}

uint64_t stm_emu_abort_status(void)
{
    return abort_status;
}

int stm_emu_end(void)
{
    return 0;
}

void stm_emu_abort(unsigned code)
{
    abort_status = STM_RTM_EXPLICIT | ((uint64_t)code << 24);
    longjmp(frame, 1);
}
