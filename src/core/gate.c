/* The serial gate's slow paths (gate.h). */
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "gate.h"
#include "hybrid.h"
#include "spin.h"

/* a cache line of its own: serial transactions of every thread touch it */
_Alignas(STM_CACHELINE) uint32_t stm_gate_word;

void stm_gate_lock_slow(void)
{
    /* no spinning: a spinning waiter would pull the gate's line (and the
     * holder's next transaction with it) to its core, the very traffic
     * the gate is for; as glibc's default mutex, sleep at once.  Mark it
     * contended; sleep while it stays so; whoever takes it after a
     * sleep keeps it marked (there may be other sleepers) */
    while (__atomic_exchange_n(&stm_gate_word, 2, __ATOMIC_ACQUIRE) != 0)
        syscall(SYS_futex, &stm_gate_word, FUTEX_WAIT_PRIVATE, 2, NULL, NULL, 0);
}

void stm_gate_wake(void)
{
    syscall(SYS_futex, &stm_gate_word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}
