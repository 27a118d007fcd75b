/* TVar access: dispatch on the path of the running attempt. */
#include "../core/hybrid.h"
#include "../core/misuse.h"
#include "../core/tx.h"
#include "../core/wait.h"
#include "../fallback/norec.h"
#include "../htm/htm.h"
#include "runtime.h"

static void __attribute__((noinline, cold)) bad_access(const char *call, const stm_tx *tx,
                                                      const void *tv)
{
    if (tv == NULL)
        stm_fatal(call, "NULL TVar");
    if (tx == NULL)
        stm_fatal(call, "NULL transaction descriptor");
    stm_fatal(call, "called outside a transaction");
}

/* (stm_read): the function, not stm.h's inline macro */
uintptr_t(stm_read)(stm_tx *tx, const stm_tvar *tv)
{
    if (__builtin_expect(tv == NULL || tx == NULL, 0))
        bad_access("stm_read", tx, tv);
    if (tx->mode == STM_MODE_HTM) {
        if (__builtin_expect(stm_htm_backend == STM_HTM_EMU, 0))
            return stm_emu_read(tx, tv);
        return __atomic_load_n(&tv->word, __ATOMIC_RELAXED);
    }
    if (__builtin_expect(tx->mode == STM_MODE_NONE, 0))
        bad_access("stm_read", tx, tv);
    /* an attempt whose inline write took seq fails the fast path's seq
     * check: the slow path syncs (stm_attempt_sync) */
    return stm_norec_read(tx, tv);
}

static void __attribute__((noinline)) write_slow(stm_tx *tx, stm_tvar *tv, uintptr_t value)
{
    if (__builtin_expect(tv == NULL || tx == NULL, 0))
        bad_access("stm_write", tx, tv);
    if (tx->mode == STM_MODE_HTM) {
        if (__builtin_expect(stm_htm_backend == STM_HTM_EMU, 0))
            stm_emu_write(tx, tv, value); /* buffered: see emu.c */
        else
            __atomic_store_n(&tv->word, value, __ATOMIC_RELAXED);
        stm_hw_note_write(tx, tv);
        return;
    }
    stm_attempt_sync(tx);
    if (tx->mode == STM_MODE_SERIAL) {
        stm_serial_write(tx, tv, value);
        return;
    }
    if (__builtin_expect(tx->mode == STM_MODE_NONE, 0))
        bad_access("stm_write", tx, tv);
    stm_norec_write(tx, tv, value);
}

/* (stm_write): the function, whatever stm.h may define.  A logged NOrec
 * attempt's write (never an inline lock: it has no undo cursor) and the
 * common write of an unlogged one (stm_norec_write_fast, whose CAS fails
 * if stm.h's inline write took seq already) are leaves; write_slow syncs
 * and handles everything. */
void(stm_write)(stm_tx *tx, stm_tvar *tv, uintptr_t value)
{
    if (__builtin_expect(tx != NULL && tv != NULL, 1)) {
        if (tx->mode == STM_MODE_NOREC && tx->logged) {
            stm_norec_write(tx, tv, value);
            return;
        }
        if (stm_norec_write_fast(tx, tv, value))
            return;
    }
    write_slow(tx, tv, value);
}

uintptr_t stm_load(const stm_tvar *tv)
{
    if (tv == NULL)
        stm_fatal("stm_load", "NULL TVar");
    /* Inside a transaction (not what stm_load is for) a serial attempt
     * holds seq odd itself: a plain load, as before. */
    const stm_tx *tx = stm_tls_tx;
    if (__builtin_expect(tx != NULL && tx->head.depth != 0, 0))
        return __atomic_load_n(&tv->word, __ATOMIC_ACQUIRE);
    /* A seqlock read, as NOrec reads.  Software and serial commits write
     * their TVars back one at a time while seq is odd; a bare load in the
     * middle could return one of those writes, and the same thread's next
     * load, of another TVar that commit wrote, the old value: no order of
     * the commit and the two loads explains that (found with the history
     * checker's model; tests/history/test_load_order.c).  So the value must
     * be loaded while seq is even and unchanged.  Hardware commits are
     * atomic anyway.
     * Ordering: acquire on seq pairs with the release that published the
     * value; the fence orders the value load before the re-check. */
    for (;;) {
        uint64_t s = stm_seq_even();
        uintptr_t v = __atomic_load_n(&tv->word, __ATOMIC_RELAXED);
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        if (__atomic_load_n(STM_SEQ, __ATOMIC_RELAXED) == s)
            return v;
    }
}

void stm_store(stm_tvar *tv, uintptr_t v)
{
    if (tv == NULL)
        stm_fatal("stm_store", "NULL TVar");
    stm_tx *tx = stm_tx_self();
    if (STM_IN_LIB(tx))
        stm_fatal("stm_store", "called from a signal handler that interrupted libstm "
                               "in this thread (not async-signal-safe)");
    if (tx->head.depth != 0)
        stm_fatal("stm_store", "called inside a transaction; use stm_write()");
    /* the store holds seq odd: see stm_atomically */
    STM_IN_LIB(tx) = true;
    if (stm_norec_store(tv, v))
        stm_wake_addrs(tx, &tv, 1);
    STM_IN_LIB(tx) = false;
}

void stm_irrevocable(stm_tx *tx)
{
    if (tx == NULL || tx->mode == STM_MODE_NONE)
        stm_fatal("stm_irrevocable", "called outside a transaction");
    stm_attempt_sync(tx);
    switch (tx->mode) {
    case STM_MODE_HTM:
        STM_HTM_ABORT(STM_HTM_CODE_IRREVOCABLE);
        break;
    case STM_MODE_NOREC:
        stm_norec_become_serial(tx);
        break;
    default:
        break;
    }
    tx->irrevocable = true;
    tx->tml = false; /* counted as a serial commit */
}
