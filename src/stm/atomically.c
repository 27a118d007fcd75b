/*
 * stm_atomically: path choice and the attempt loop.
 *
 * PROTOCOL (two-counter Hybrid NOrec; Dalessandro et al., ASPLOS 2011, with
 * RH-NOrec's sw_active gate, Matveev and Shavit, ASPLOS 2015).
 *
 * Hardware attempt: wait (outside the transaction) while seq is odd, so one
 * software writer does not push everybody into software (the lemming
 * effect); begin; read seq first thing and abort with the busy code if odd.
 * seq is now in the hardware read set (eager subscription): any software
 * writeback or serial transaction that starts before we commit aborts us,
 * so a hardware transaction never observes a half-written writeback.  TVar
 * accesses are plain loads and stores.  A writer that sees sw_active > 0
 * bumps hw_commits inside the transaction, which tells running software
 * transactions to revalidate; with no software transaction in flight the
 * counter is left alone, so hardware writers do not all conflict on it.
 * Read-only hardware transactions touch no shared word.
 *
 * After a hardware abort the policy (policy.c) decides: again, wait for a
 * software writer and again (uncharged), software now, or serial now.
 * Software attempts are NOrec (src/fallback/norec.c); after
 * STM_SERIAL_AFTER software aborts the transaction runs serially, which
 * cannot abort, so every transaction finishes.
 *
 * Frames: STM_HTM_BEGIN and STM_SETJMP (tx.h) sit in the frames of
 * stm_atomically and run_software themselves; locals that change across an
 * abort are volatile.
 */
#include <setjmp.h>
#include <stdlib.h>

#include "../core/attempt.h"
#include "../core/config.h"
#include "../core/hybrid.h"
#include "../core/memory.h"
#include "../core/misuse.h"
#include "../core/spin.h"
#include "../core/tx.h"
#include "../core/wait.h"
#include "../fallback/norec.h"
#include "../htm/htm.h"
#include "policy.h"
#include "runtime.h"
#include "sites.h"

/* The software and serial paths.  start_serial: go straight to serial. */
static intptr_t __attribute__((noinline))
run_software(stm_tx *tx, stm_fn fn, void *arg, bool start_serial)
{
    jmp_buf jb;
    volatile unsigned aborts = 0;
    volatile bool serial = start_serial || stm_config()->mode == STM_CFG_SERIAL;

    tx->abort_jb = &jb;
    int why = 0;
    if (STM_SETJMP(jb) != 0) {
        why = tx->abort_reason;
        tx->in_lib = true; /* aborted from inside the body */
    }
    if (why == STM_ABORT_RETRY) {
        stm_wait_for_change(tx);
    } else if (why == STM_ABORT_TO_SERIAL) {
        serial = true;
    } else if (why == STM_ABORT_VALIDATION) {
        if (++aborts >= stm_config()->serial_after)
            serial = true;
    }

    tx->depth = 1;
    if (serial)
        stm_serial_begin(tx);
    else
        stm_norec_begin(tx);
    tx->in_lib = false;
    intptr_t r = fn(tx, arg);
    tx->in_lib = true;
    bool wake;
    if (tx->mode == STM_MODE_SERIAL) {
        wake = stm_serial_commit(tx);
        STM_STAT_INC(tx, commits_serial);
    } else {
        wake = stm_norec_commit(tx);
        STM_STAT_INC(tx, commits_stm);
    }
    stm_attempt_committed(tx, wake);
    return r;
}

intptr_t stm_atomically(stm_fn fn, void *arg)
{
    if (fn == NULL)
        stm_fatal("stm_atomically", "NULL transaction function");
    /* volatile: the emulation back end's setjmp lives in this frame */
    stm_tx *volatile tx = stm_tx_self();
    if (tx->depth != 0) {
        /* A nested call runs deeper on the stack than the outermost
         * stm_atomically (stacks grow down on every target we build for).
         * One that does not was made after the outermost frame was popped:
         * the body was left by longjmp (or this is a signal handler on an
         * alternate stack), and joining would leave it uncommitted. */
        if (__builtin_expect((uintptr_t)__builtin_frame_address(0) >= (uintptr_t)tx->outer_frame, 0))
            stm_fatal("stm_atomically", "the enclosing transaction's body was left by longjmp "
                                        "(or a signal handler runs on an alternate stack)");
        /* flat nesting: join the enclosing transaction; an abort unwinds
         * straight to the outermost frame */
        tx->depth++;
        intptr_t r = fn(tx, arg);
        tx->depth--;
        return r;
    }
    if (__builtin_expect(tx->sites != NULL, 0))
        return stm_sites_run(tx, fn, arg); /* STM_STATS=2: calls us again */
    /* in_lib is set from here to the body and from the body's return to
     * ours: a signal handler that interrupted any of that finds it set (a
     * hardware attempt's abort restores it set).  One that interrupted the
     * body itself cannot be told from a nested call: stm(3). */
    if (__builtin_expect(tx->in_lib, 0))
        stm_fatal("stm_atomically", "called from a signal handler that interrupted libstm "
                                    "in this thread (not async-signal-safe)");
    tx->in_lib = true;
    tx->outer_frame = __builtin_frame_address(0);

    bool serial_first = false;
    if (stm_htm_backend != STM_HTM_NONE) {
        /* volatile like tx: the emulation back end's setjmp lives in this
         * frame.  Read only here: the software path needs no configuration
         * before run_software. */
        const struct stm_config *volatile cfg = stm_config();
        if (!stm_policy_site_uses_htm(cfg, fn)) {
            STM_STAT_INC(tx, htm_skipped_adaptive);
        } else {
            struct stm_htm_attempts a = {0, 0, 0, 0};
            volatile unsigned attempt = 0;
            for (;;) {
                if (__atomic_load_n(STM_SEQ, __ATOMIC_RELAXED) & 1)
                    stm_wait_even(STM_SEQ);
                volatile uint64_t status;
                STM_HTM_BEGIN(status);
                if (status == STM_HTM_STARTED) {
                    /* eager subscription: seq joins the read set */
                    if (__atomic_load_n(STM_SEQ, __ATOMIC_RELAXED) & 1)
                        STM_HTM_ABORT(STM_HTM_CODE_BUSY);
                    tx->mode = STM_MODE_HTM;
                    tx->depth = 1;
                    tx->hw_nw = 0;
                    tx->hw_nfrees = 0;
                    tx->in_lib = false;
                    intptr_t r = fn(tx, arg);
                    tx->in_lib = true;
                    bool wake = false;
                    if (tx->hw_nw != 0) {
                        if (__atomic_load_n(STM_SW_ACTIVE, __ATOMIC_RELAXED) != 0)
                            __atomic_store_n(STM_HW_COMMITS,
                                             __atomic_load_n(STM_HW_COMMITS, __ATOMIC_RELAXED) + 1,
                                             __ATOMIC_RELAXED);
                        /* inside the transaction: see wait.h */
                        int w = stm_hw_wake_needed(tx);
                        if (w < 0)
                            STM_HTM_ABORT(STM_HTM_CODE_NEEDSW);
                        wake = w > 0;
                    }
                    /* the emulation reports its own wake-up decision (read
                     * under its commit lock); real hardware returns 0 here */
                    if (stm_htm_end())
                        wake = true;
                    tx->mode = STM_MODE_NONE;
                    tx->depth = 0;
                    STM_STAT_INC(tx, commits_htm);
                    stm_mem_commit_htm(tx);
                    if (wake)
                        stm_wake_addrs(tx, tx->hw_w, tx->hw_nw);
                    stm_policy_site_result(cfg, fn, true);
                    tx->in_lib = false;
                    return r;
                }
                /* aborted: memory and registers are as they were at begin
                 * (the emulation's abort restores no memory: in_lib too) */
                tx->in_lib = true;
                tx->mode = STM_MODE_NONE;
                tx->depth = 0;
                enum stm_htm_cause c = stm_htm_decode(status);
                stm_policy_count_abort(tx, c);
                enum stm_next next = stm_policy_after_abort(cfg, &a, c);
                if (next == STM_NEXT_HTM_WAIT) {
                    STM_STAT_INC(tx, htm_busy_waits);
                    stm_wait_even(STM_SEQ);
                    continue;
                }
                if (next == STM_NEXT_HTM_AGAIN) {
                    stm_policy_backoff(attempt++);
                    continue;
                }
                serial_first = next == STM_NEXT_SERIAL;
                stm_policy_site_result(cfg, fn, false);
                break;
            }
        }
    }
    intptr_t r = run_software(tx, fn, arg, serial_first);
    tx->in_lib = false;
    return r;
}

const char *stm_path(void)
{
    stm_runtime_init();
    const struct stm_config *cfg = stm_config();
    if (cfg->mode == STM_CFG_SERIAL)
        return "serial";
    const char *h = stm_htm_name();
    return h != NULL ? h : "norec";
}
