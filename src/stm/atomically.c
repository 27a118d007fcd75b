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
#include <string.h>

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

/* After an unlogged attempt called stm_retry (which needs a read set, so
 * the transaction re-runs logged before it can block), this many of the
 * thread's next transactions start logged: a thread that keeps blocking
 * would otherwise run each blocking transaction twice.  Then it tries
 * unlogged again, so a burst costs nothing for long.  An unlogged attempt
 * that failed validation (a commit elsewhere) re-runs logged, but the
 * next transactions start unlogged: tried with a streak here too, the
 * streak made bank A=64 at 2 threads run NOrec with read logs nearly all
 * the time (every abort started 64 logged transactions) at 5.3M/s against
 * 10-12M/s without (bench/README.md, 0.3). */
#define STM_LOGGED_STREAK 64

/* Reads after which an invalidated logged attempt re-runs serially
 * (after_abort). */
#define STM_LONG_READER 1024

/*
 * Long readers.  A transaction function whose runs had to go serial twice
 * in a row (a long reader among writers, or STM_SERIAL_AFTER aborts) will
 * most likely have to again: its next STM_SERIAL_HINT_RUNS runs start
 * serially, skipping the attempts that would fail first (a full-sum
 * report over 4096 TVars, among two threads that transfer, aborted about
 * five times per report before it finished).  Twice in a row, because a
 * long list traversal goes serial once in a while and is better off
 * optimistic otherwise.  Remembered per thread and per function, in
 * direct-mapped tables of STM_SERIAL_HINTS slots; after the runs it is
 * measured again.
 */
#define STM_SERIAL_HINT_RUNS 64

static inline unsigned serial_hint_slot(stm_fn fn)
{
    uintptr_t a = (uintptr_t)fn;
    return (unsigned)((a >> 4) ^ (a >> 9)) & (STM_SERIAL_HINTS - 1);
}

/* How the next software attempt runs, after the last one was abandoned
 * (rare: out of line, so that run_software's frame stays small). */
static void __attribute__((noinline, cold)) after_abort(stm_tx *tx)
{
    switch (tx->abort_reason) {
    case STM_ABORT_RETRY:
        stm_wait_for_change(tx);
        break;
    case STM_ABORT_TO_SERIAL:
        tx->sw_serial = true;
        break;
    case STM_ABORT_VALIDATION:
        tx->sw_logged = true;
        /* A logged attempt that had read this much when a commit
         * invalidated it is a long reader among writers: each concurrent
         * commit costs it a revalidation of its whole log, and one that
         * touches what it read costs it the attempt, so its next attempts
         * rarely do better (a 4096-TVar report under 2 writing threads
         * aborted about 4 times per report, up to STM_SERIAL_AFTER).
         * Serially it finishes at once. */
        if (++tx->sw_aborts >= stm_config()->serial_after ||
            tx->abort_reads >= STM_LONG_READER) {
            tx->sw_serial = true;
            if (tx->sw_adaptive) {
                unsigned h = serial_hint_slot(tx->sw_fn);
                if (tx->serial_cand[h] == tx->sw_fn) {
                    if (tx->serial_hint[h] == NULL)
                        tx->serial_hints_on++;
                    tx->serial_hint[h] = tx->sw_fn;
                    tx->serial_hint_left[h] = STM_SERIAL_HINT_RUNS;
                    tx->serial_cand[h] = NULL;
                } else {
                    tx->serial_cand[h] = tx->sw_fn;
                }
            }
        }
        break;
    case STM_ABORT_RELOG:
        tx->sw_logged = true;
        tx->logged_left = STM_LOGGED_STREAK;
        break;
    default:
        break;
    }
}

/*
 * Contention adaptation (the default software path, STM_MODE=stm or auto
 * without hardware; not with STM_MODE=norec or serial, and not where a
 * hardware path exists: there the hardware policy adapts, per site).  Each
 * thread keeps an exponentially weighted average of how many of its
 * software transactions had to abort (weight 1/8, an aborted transaction
 * = STM_CONTENTION_ONE, however often it aborted: one long starved
 * transaction is STM_SERIAL_AFTER's business, not a sign of contention).
 * When it reaches STM_CONTENTION_SERIAL (about half of the recent
 * transactions aborted) the thread runs its next STM_SERIAL_STREAK
 * transactions serially, which cannot abort, then measures again: under
 * heavy conflict it runs at the serial mode's speed, under light conflict
 * optimistically.
 * Per thread, so that measuring costs no shared write; RSTM's adaptive
 * runtime (Spear, "Lightweight, robust adaptivity for software
 * transactional memory", SPAA 2010) switches algorithms on such measured
 * abort rates too, process-wide.
 */
#define STM_CONTENTION_ONE 256u
/* A short writer that aborted (at most STM_SHORT_READS reads) counts
 * double: running it serially costs little, and its conflicts come in
 * bursts that a turn-taking pair of threads repeats (bank A=64 at 2
 * threads, 0.4: 7.4 M/s, serial 10-13, and 13-16 with the double weight;
 * read-only lookups and long readers, whose aborts count once, stay
 * optimistic: intset-hash and intset-skip unchanged within the noise). */
#define STM_CONTENTION_SHORT (2 * STM_CONTENTION_ONE)
#define STM_SHORT_READS 8
#define STM_CONTENTION_SERIAL 1024u
#define STM_SERIAL_STREAK 64u

static void __attribute__((noinline)) adapt(stm_tx *tx, uint32_t add)
{
    uint32_t c = tx->contention;
    /* rounded up, so that the average reaches 0 and the callers stop
     * calling (c - c/8 stays at 7 forever) */
    c = c - ((c + 7) >> 3) + add;
    if (c >= STM_CONTENTION_SERIAL) {
        tx->serial_left = STM_SERIAL_STREAK; /* counted in commits_serial */
        STM_FAST_OFF(tx) = 1;
        c = 0;
    }
    tx->contention = c;
}

/* Commit the software or serial attempt whose body returned, and clean
 * up.  Aborts (longjmp) if a NOrec attempt's validation fails. */
static inline void sw_commit(stm_tx *tx)
{
    bool wake;
    stm_attempt_sync(tx);
    if (tx->mode == STM_MODE_SERIAL) {
        wake = stm_serial_commit(tx);
        if (tx->tml)
            STM_STAT_INC(tx, commits_stm);
        else
            STM_STAT_INC(tx, commits_serial);
    } else {
        wake = stm_norec_commit(tx);
        STM_STAT_INC(tx, commits_stm);
    }
    stm_attempt_committed(tx, wake);
}

/* One software or serial attempt, from begin to the committed clean-up.
 * An ordinary function (no restart point in its frame), so that the
 * compiler keeps tx in a register; run_software's frame holds the restart
 * point. */
static intptr_t __attribute__((noinline)) sw_attempt(stm_tx *tx)
{
    tx->head.depth = 1;
    bool moved = false; /* as in outer_fast_run */
    if (tx->sw_serial) {
        stm_serial_begin(tx, tx->sw_logged);
    } else {
        stm_norec_begin(tx, tx->sw_logged);
        moved = tx->snap != tx->last_seq;
    }
    STM_IN_LIB(tx) = false;
    intptr_t r = tx->sw_fn(tx, tx->sw_arg);
    STM_IN_LIB(tx) = true;
    /* after an abort: a short writer (STM_CONTENTION_SHORT)?  Looked at
     * before the commit clears the logs */
    bool short_tx = false;
    if (__builtin_expect(tx->sw_aborts != 0, 0))
        short_tx =
            tx->rlog.n <= STM_SHORT_READS && (tx->wlog.n != 0 || tx->mode == STM_MODE_SERIAL);
    sw_commit(tx);
    if (tx->sw_adaptive) {
        /* finished without going serial: not twice in a row */
        if (!tx->sw_serial) {
            unsigned h = serial_hint_slot(tx->sw_fn);
            if (tx->serial_cand[h] == tx->sw_fn)
                tx->serial_cand[h] = NULL;
        }
        /* seq as this commit left it, give or take a later one */
        tx->last_seq = __atomic_load_n(STM_SEQ, __ATOMIC_RELAXED);
        if (__builtin_expect((tx->sw_aborts | tx->contention | (uint32_t)moved) != 0, 0))
            adapt(tx, tx->sw_aborts == 0 ? (moved ? STM_CONTENTION_ONE : 0)
                      : short_tx       ? STM_CONTENTION_SHORT
                                       : STM_CONTENTION_ONE);
    }
    return r;
}

/* The restart point: an abort longjmps here (STM_SETJMP spills every
 * register, so this frame does nothing else). */
static intptr_t __attribute__((noinline)) sw_frame(stm_tx *tx)
{
    stm_jmpbuf jb;
    tx->abort_jb = &jb;
    if (STM_SETJMP(jb) != 0) {
        tx = stm_tls_tx;
        STM_IN_LIB(tx) = true; /* aborted from inside the body */
        after_abort(tx);
    }
    intptr_t r = sw_attempt(tx);
    /* abort_jb is NULL outside sw_frame and outer_fast: the fast path's
     * entry need not set it (stm_tx_abort) */
    tx->abort_jb = NULL;
    return r;
}

/* The software and serial paths.  start_serial: go straight to serial.
 * The transaction's state lives in the descriptor (sw_*), so nothing but
 * the descriptor must survive an abort's longjmp. */
static intptr_t run_software(stm_tx *tx, stm_fn fn, void *arg, bool start_serial)
{
    tx->sw_fn = fn;
    tx->sw_arg = arg;
    tx->sw_aborts = 0;
    int mode = stm_config()->mode;
    /* unlogged first attempts only where hw_commits cannot move (tx.h);
     * htm_enabled is set before any transaction runs */
    bool logged = __atomic_load_n(&stm_hybrid.htm_enabled, __ATOMIC_RELAXED);
    if (tx->logged_left != 0) {
        tx->logged_left--;
        logged = true;
    }
    bool serial = start_serial;
    if (tx->serial_left != 0) {
        tx->serial_left--;
        serial = true;
    }
    tx->sw_adaptive = !__atomic_load_n(&stm_hybrid.htm_enabled, __ATOMIC_RELAXED);
    unsigned h = serial_hint_slot(fn);
    if (tx->serial_hints_on != 0 && tx->serial_hint[h] == fn) {
        if (--tx->serial_hint_left[h] == 0) {
            tx->serial_hint[h] = NULL;
            tx->serial_hints_on--;
        }
        serial = true;
    }
    if (__builtin_expect(mode >= STM_CFG_SERIAL, 0)) {
        /* STM_MODE=serial: all serial; STM_MODE=norec: NOrec, logged */
        tx->sw_adaptive = false;
        serial = mode == STM_CFG_SERIAL || start_serial;
        logged = logged || mode == STM_CFG_NOREC;
    }
    tx->sw_serial = serial;
    tx->sw_logged = logged;
    return sw_frame(tx);
}

/* The hardware attempts, in a frame of their own: the emulation back
 * end's setjmp and the volatile state live here, so the software path and
 * nested calls pay nothing for them.  Returns true with *result once the
 * transaction committed in hardware; false when it must run in software
 * (*serial_first: serially at once). */
static bool __attribute__((noinline))
run_hardware(stm_tx *volatile tx, stm_fn fn, void *arg, intptr_t *result, bool *serial_first)
{
    /* volatile like tx: the emulation back end's setjmp lives in this
     * frame */
    const struct stm_config *volatile cfg = stm_config();
    if (!stm_policy_site_uses_htm(cfg, fn)) {
        STM_STAT_INC(tx, htm_skipped_adaptive);
        return false;
    }
    struct stm_htm_attempts a = {0, 0, 0, 0};
    volatile unsigned attempt = 0;
    for (;;) {
        if (__atomic_load_n(STM_SEQ, __ATOMIC_RELAXED) & 1)
            stm_wait_even(STM_SEQ);
        volatile uint64_t status;
        STM_HTM_BEGIN(status);
        if (status == STM_HTM_STARTED) {
            /* eager subscription: seq joins the read set */
            uint64_t seq = __atomic_load_n(STM_SEQ, __ATOMIC_RELAXED);
            if (seq & 1)
                STM_HTM_ABORT(STM_HTM_CODE_BUSY);
            /* stm.h's inline read is right in hardware (seq cannot move
             * without aborting us), not in the emulation; rolled back with
             * the transaction */
            if (stm_htm_backend != STM_HTM_EMU)
                tx->head.rsnap = seq;
            tx->mode = STM_MODE_HTM;
            tx->head.depth = 1;
            tx->hw_nw = 0;
            tx->hw_nfrees = 0;
            STM_IN_LIB(tx) = false;
            intptr_t r = fn(tx, arg);
            STM_IN_LIB(tx) = true;
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
            /* the emulation reports its own wake-up decision (read under
             * its commit lock); real hardware returns 0 here */
            if (stm_htm_end())
                wake = true;
            tx->head.rsnap = STM_RSNAP_SLOW;
            tx->mode = STM_MODE_NONE;
            tx->head.depth = 0;
            STM_STAT_INC(tx, commits_htm);
            stm_mem_commit_htm(tx);
            if (wake)
                stm_wake_addrs(tx, tx->hw_w, tx->hw_nw);
            stm_policy_site_result(cfg, fn, true);
            *result = r;
            return true;
        }
        /* aborted: memory and registers are as they were at begin
         * (the emulation's abort restores no memory: in_lib too) */
        STM_IN_LIB(tx) = true;
        tx->mode = STM_MODE_NONE;
        tx->head.depth = 0;
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
        *serial_first = next == STM_NEXT_SERIAL;
        stm_policy_site_result(cfg, fn, false);
        return false;
    }
}

/* While stm_fast_ok (core/hybrid.h), a top-level transaction of a thread
 * with nothing pending (stm__atomically_top checks) starts as an unlogged
 * NOrec attempt, adaptive: what run_software would choose. */

/* Named in the assembly below (hidden, so not interposable). */
intptr_t stm_fast_aborted(void);
intptr_t stm_fast_run(stm_tx *tx);

/* The fast path's first attempt was abandoned: go on as run_software
 * would have after it.  Entered with the caller's registers and stack
 * (the entry's restart point, fctx): returns to the caller. */
__attribute__((visibility("hidden"), noinline, cold)) intptr_t stm_fast_aborted(void)
{
    stm_tx *tx = stm_tls_tx;
    STM_IN_LIB(tx) = true; /* aborted from inside the body */
    tx->sw_fn = tx->fctx.fn;
    tx->sw_arg = tx->fctx.arg;
    tx->sw_aborts = 0;
    tx->sw_serial = false;
    tx->sw_logged = false;
    tx->sw_adaptive = true;
    after_abort(tx);
    intptr_t r = sw_frame(tx);
    tx->head.outer_frame = NULL;
    stm_fast_recheck(tx);
    STM_IN_LIB(tx) = false;
    return r;
}

/*
 * The fast path's commit and clean-up, split so that the common case
 * calls nothing but tail calls: then its frames save no registers (each
 * function that calls and goes on pushes and pops every callee-saved
 * register it uses around the whole function).
 */

static intptr_t __attribute__((noinline)) fast_adapt(stm_tx *tx, intptr_t r, bool moved)
{
    adapt(tx, moved ? STM_CONTENTION_ONE : 0);
    return r;
}

/* The end of every fast-path transaction, after its commit: s is the seq
 * value the commit left. */
static inline intptr_t fast_done(stm_tx *tx, intptr_t r, uint64_t s)
{
    tx->head.outer_frame = NULL;
    /* head.depth and STM_IN_LIB to 0 in one store; STM_FAST_OFF and the
     * spare byte were 0 at the entry, and only adapt (below) sets it */
    uint64_t zero = 0;
    memcpy(&tx->head.depth, &zero, sizeof zero);
    /* Threads that take turns committing (seq moved since this thread's
     * last transaction, most of the time) hand seq's cache line back and
     * forth at every transaction, without aborting much: they run faster
     * serially, where the gate batches them (core/gate.h).  So a moved
     * seq counts as contention, as an abort does.  Read-mostly work sees
     * seq move rarely (only other threads' writers move it). */
    uint64_t moved = tx->snap ^ tx->last_seq;
    tx->last_seq = s;
    if (__builtin_expect((tx->contention | moved) != 0, 0))
        return fast_adapt(tx, r, moved != 0);
    return r;
}

/* The body left the attempt serial (the library wrote, or
 * stm_irrevocable): stm_serial_commit's work without the gate (an
 * unlogged attempt never takes it). */
static intptr_t __attribute__((noinline)) fast_finish_serial(stm_tx *tx, intptr_t r)
{
    bool wake = false;
    uint64_t s = stm_serial_release(tx, &wake);
    if (tx->tml)
        STM_STAT_INC(tx, commits_stm);
    else
        STM_STAT_INC(tx, commits_serial);
    stm_attempt_exit_nohtm(tx);
    stm_attempt_committed(tx, wake);
    return fast_done(tx, r, s);
}

/* Committed NOrec, with something to do after: an RCU read side to leave,
 * blocks allocated or freed, threads to wake. */
static intptr_t __attribute__((noinline)) fast_finish_slow(stm_tx *tx, intptr_t r, uint64_t s,
                                                           bool wake)
{
    stm_attempt_exit_nohtm(tx);
    stm_attempt_committed(tx, wake);
    return fast_done(tx, r, s);
}

/* stm_fast_run's commit and clean-up, r the body's result (tail-called,
 * so that only tx stays in a register across the body). */
static intptr_t __attribute__((noinline)) fast_finish(stm_tx *tx, intptr_t r)
{
    STM_IN_LIB(tx) = true;
    if (__builtin_expect(tx->mode != STM_MODE_NOREC, 0))
        return fast_finish_serial(tx, r);
    /* Still NOrec: an attempt that wrote only through stm.h's inline write
     * holds seq at snap + 1 (rsnap odd), and stm_serial_release's work
     * for it is done here; one that did not write is read-only and
     * validated by construction: nothing to do but leave.  Either way
     * ulog.n stayed 0 (the library settles the cursor only on entries
     * that make a writing attempt serial first: stm_attempt_sync), and
     * dirty, tml and irrevocable stayed false. */
    uint64_t s = tx->head.rsnap;
    STM_STAT_INC(tx, commits_stm);
    if (s & 1) {
        /* after the CAS that took seq (see the essay) */
        bool wake = stm_wait_any();
        s += STM_SEQ_STEP - 1; /* rsnap = snap + 1 */
        /* release: the in-place stores before the new seq */
        __atomic_store_n(STM_SEQ, s, __ATOMIC_RELEASE);
        if (__builtin_expect(wake, 0))
            return fast_finish_slow(tx, r, s, true);
    }
    if (__builtin_expect(!tx->unguarded, 0))
        return fast_finish_slow(tx, r, s, false);
    if (__builtin_expect((tx->allocs.n | tx->frees.n) != 0, 0))
        return fast_finish_slow(tx, r, s, false);
    /* stm_attempt_exit_nohtm; release: every access of the attempt
     * happens before */
    __atomic_store_n(&tx->unguarded, false, __ATOMIC_RELEASE);
    /* stm_attempt_clear_unlogged's work for this case */
    tx->head.uend = NULL;
    __asm__("" ::: "memory"); /* two plain stores, not a vector one */
    tx->head.ucur = NULL;
    tx->mode = STM_MODE_NONE;
    tx->head.rsnap = STM_RSNAP_SLOW;
    return fast_done(tx, r, s);
}

static uint64_t __attribute__((noinline, cold)) fast_snapshot_wait(stm_tx *tx)
{
    uint64_t s = stm_wait_even(STM_SEQ);
    tx->last_seq = s + 1; /* waited: counts as moved */
    return s;
}

/* The common top-level software transaction's first attempt, begin to
 * end: run_software's choices made (unlogged, not serial, adaptive) and
 * sw_attempt's work for them inline.  Its entry (stm__atomically_enter or
 * outer_fast) made the restart point and set STM_IN_LIB,
 * head.outer_frame and fctx (fn and arg); an abort resumes in
 * stm_fast_aborted. */
__attribute__((visibility("hidden"), noinline)) intptr_t stm_fast_run(stm_tx *tx)
{
    /* stm_norec_begin(tx, false) without a hardware path */
    stm_attempt_enter_nohtm(tx);
    /* mode = STM_MODE_NOREC and logged = false in one store (padding up
     * to snap) */
    _Static_assert(offsetof(stm_tx, logged) == offsetof(stm_tx, mode) + sizeof(int) &&
                       offsetof(stm_tx, snap) == offsetof(stm_tx, mode) + 8,
                   "mode, logged and padding make 8 bytes");
    const struct {
        int mode;
        bool logged;
        char pad[3];
    } mode_logged = {STM_MODE_NOREC, false, {0}};
    memcpy(&tx->mode, &mode_logged, sizeof mode_logged);
    if (__builtin_expect(__atomic_load_n(&stm_starving, __ATOMIC_RELAXED) != 0, 0))
        stm_wait_not_starving(); /* hybrid.h */
    uint64_t s = __atomic_load_n(STM_SEQ, __ATOMIC_ACQUIRE);
    if (__builtin_expect(s & 1, 0))
        s = fast_snapshot_wait(tx);
    tx->snap = s;
    /* hsnap is not read: an unlogged attempt cannot revalidate, and no
     * hardware path exists */
    tx->head.rsnap = s;
    /* stm_ulog_open, empty (ulog.n is 0 between transactions): the first
     * inline write takes seq */
    struct stm_wentry *u = tx->ulog.e;
    tx->head.ucur = (struct stm__undo *)(void *)u;
    __asm__("" ::: "memory"); /* two plain stores, not a vector one */
    tx->head.uend = (struct stm__undo *)(void *)(u + tx->ulog.cap);
    /* head.depth = 1 and STM_IN_LIB = false in one store (STM_FAST_OFF
     * and the spare byte are 0: the entry checked) */
    const struct {
        unsigned depth;
        unsigned char lib_private[4];
    } depth1 = {1, {0}};
    memcpy(&tx->head.depth, &depth1, sizeof depth1);
    /* fn and arg from fctx: not kept in registers across the calls above */
    return fast_finish(tx, tx->fctx.fn(tx, tx->fctx.arg));
}

#if STM_FAST_ASM
/*
 * x86-64: the restart point without a frame.  stm__atomically_enter keeps
 * the caller's callee-saved registers in fctx and its stack pointer in
 * head.outer_frame, then tail-calls stm_fast_run, which returns to the
 * caller itself; stm_fast_resume (an abort) puts them back and tail-calls
 * stm_fast_aborted.  That is eight stores where __builtin_setjmp's frame
 * pushes, spills and pops; it is not shadow-stack aware, so builds with
 * -fcf-protection (__CET__) keep outer_fast below.
 * The checks: stm_fast_ok, and the word at head.depth
 * (depth, STM_IN_LIB, STM_FAST_OFF) 0, else stm__atomically_top.
 */
__asm__(".pushsection .text\n"
        ".globl stm__atomically_enter\n"
        ".type stm__atomically_enter, @function\n"
        ".p2align 4\n"
        "stm__atomically_enter:\n"
        "  cmpb $0, stm_fast_ok(%rip)\n"
        "  je 1f\n"
        "  cmpq $0, " STM_STR(STM_TX_OFF_DEPTH) "(%rdi)\n"
        "  jne 1f\n"
        "  movb $1, " STM_STR(STM_TX_OFF_DEPTH) "+4(%rdi)\n" /* STM_IN_LIB */
        "  movq %rsp, 24(%rdi)\n"                           /* head.outer_frame */
        "  movq %rbx, " STM_STR(STM_TX_OFF_FCTX) "(%rdi)\n"
        "  movq %rbp, " STM_STR(STM_TX_OFF_FCTX) "+8(%rdi)\n"
        "  movq %r12, " STM_STR(STM_TX_OFF_FCTX) "+16(%rdi)\n"
        "  movq %r13, " STM_STR(STM_TX_OFF_FCTX) "+24(%rdi)\n"
        "  movq %r14, " STM_STR(STM_TX_OFF_FCTX) "+32(%rdi)\n"
        "  movq %r15, " STM_STR(STM_TX_OFF_FCTX) "+40(%rdi)\n"
        "  movq %rsi, " STM_STR(STM_TX_OFF_FCTX) "+48(%rdi)\n"
        "  movq %rdx, " STM_STR(STM_TX_OFF_FCTX) "+56(%rdi)\n"
        "  jmp stm_fast_run\n"
        "1:\n"
        "  jmp stm__atomically_top\n"
        ".size stm__atomically_enter, .-stm__atomically_enter\n"
        "\n"
        ".globl stm_fast_resume\n"
        ".hidden stm_fast_resume\n"
        ".type stm_fast_resume, @function\n"
        ".p2align 4\n"
        "stm_fast_resume:\n"
        "  movq " STM_STR(STM_TX_OFF_FCTX) "(%rdi), %rbx\n"
        "  movq " STM_STR(STM_TX_OFF_FCTX) "+8(%rdi), %rbp\n"
        "  movq " STM_STR(STM_TX_OFF_FCTX) "+16(%rdi), %r12\n"
        "  movq " STM_STR(STM_TX_OFF_FCTX) "+24(%rdi), %r13\n"
        "  movq " STM_STR(STM_TX_OFF_FCTX) "+32(%rdi), %r14\n"
        "  movq " STM_STR(STM_TX_OFF_FCTX) "+40(%rdi), %r15\n"
        "  movq 24(%rdi), %rsp\n"
        "  jmp stm_fast_aborted\n"
        ".size stm_fast_resume, .-stm_fast_resume\n"
        ".popsection\n");
#else
/* The restart point in a frame of its own (a frame with a setjmp saves
 * every callee-saved register on entry, which the checks in
 * stm__atomically_top should not pay for the general path).  An abort
 * lands in stm_fast_aborted. */
static intptr_t __attribute__((noinline)) outer_fast(stm_tx *tx, stm_fn fn, void *arg)
{
    stm_jmpbuf jb;
    STM_IN_LIB(tx) = true;
    /* every nested call's stack lies below this (stm_atomically) */
    tx->head.outer_frame = (void *)&jb;
    tx->abort_jb = &jb;
    tx->fctx.fn = fn;
    tx->fctx.arg = arg;
    if (STM_SETJMP(jb) != 0)
        return stm_fast_aborted(); /* sw_frame put abort_jb back */
    intptr_t r = stm_fast_run(tx);
    tx->abort_jb = NULL; /* as sw_frame does */
    return r;
}

void stm_fast_resume(stm_tx *tx)
{
    (void)tx;
    abort(); /* never: outer_fast sets abort_jb */
}

intptr_t stm__atomically_enter(stm_tx *tx, stm_fn fn, void *arg)
{
    return stm__atomically_top(tx, fn, arg);
}
#endif

static void __attribute__((noinline, cold)) nested_after_longjmp(void)
{
    stm_fatal("stm_atomically", "the enclosing transaction's body was left by longjmp "
                                "(or a signal handler runs on an alternate stack)");
}

/* A top-level transaction: start-up, misuse, the hardware path. */
/* tx: the caller's stm_tls_tx (STM_NO_DESC before the thread's first
 * call) */
static intptr_t __attribute__((noinline)) atomically_outer(stm_tx *tx, stm_fn fn, void *arg)
{
    if (fn == NULL)
        stm_fatal("stm_atomically", "NULL transaction function");
    if (__builtin_expect(tx == STM_NO_DESC, 0))
        tx = stm_tx_create();
    /* A transaction runs, and the caller (stm.h's stm_atomically, which
     * found its stack pointer not below outer_frame, or the library's,
     * which found depth 0) is not inside its body: the body was left by
     * longjmp.  Not re-checked from here, deeper down the stack, where
     * the frames of this call may reach below the dead body's. */
    if (__builtin_expect(tx->head.depth != 0, 0))
        nested_after_longjmp();
    if (__builtin_expect(tx->sites != NULL, 0))
        return stm_sites_run(tx, fn, arg); /* STM_STATS=2: calls us again */
    /* STM_IN_LIB is set from here to the body and from the body's return
     * to ours: a signal handler that interrupted any of that finds it set
     * (a hardware attempt's abort restores it set).  One that interrupted
     * the body itself cannot be told from a nested call: stm(3). */
    if (__builtin_expect(STM_IN_LIB(tx), 0))
        stm_fatal("stm_atomically", "called from a signal handler that interrupted libstm "
                                    "in this thread (not async-signal-safe)");
    STM_IN_LIB(tx) = true;
    tx->head.outer_frame = __builtin_frame_address(0);
    bool serial_first = false;
    intptr_t r;
    if (stm_htm_backend == STM_HTM_NONE || !run_hardware(tx, fn, arg, &r, &serial_first))
        r = run_software(tx, fn, arg, serial_first);
    tx->head.outer_frame = NULL;
    if (__atomic_load_n(&stm_fast_ok, __ATOMIC_RELAXED)) /* else STM_FAST_OFF is unused */
        stm_fast_recheck(tx);
    STM_IN_LIB(tx) = false;
    return r;
}

/* (stm_atomically): the function, not stm.h's inline macro */
intptr_t(stm_atomically)(stm_fn fn, void *arg)
{
    stm_tx *tx = stm_tls_tx;
    if (__builtin_expect(tx != STM_NO_DESC && fn != NULL, 1)) {
        if (__builtin_expect(tx->head.depth != 0, 1)) {
            /* A nested call runs deeper on the stack than the outermost
             * stm_atomically (stacks grow down on every target we build
             * for).  One that does not was made after the outermost frame
             * was popped: the body was left by longjmp (or this is a
             * signal handler on an alternate stack), and joining would
             * leave it uncommitted. */
            if (__builtin_expect(stm__stack_pointer() >= (uintptr_t)tx->head.outer_frame, 0))
                nested_after_longjmp();
            /* flat nesting: join the enclosing transaction (a tail call:
             * depth stays 1, an abort unwinds straight to the outermost
             * frame) */
            return fn(tx, arg);
        }
        return stm__atomically_top(tx, fn, arg);
    }
    return atomically_outer(tx, fn, arg);
}

/* A top-level transaction (or, from stm__atomically_enter, a call that the
 * inline one could not join: depth set means misuse, which
 * atomically_outer reports): the common software one takes the fast path,
 * everything else atomically_outer. */
intptr_t stm__atomically_top(stm_tx *tx, stm_fn fn, void *arg)
{
    /* tx may be STM_NO_DESC (only a head, and the runtime perhaps not
     * initialized yet): tested before anything else.  A thread with a
     * descriptor has been through stm_runtime_init, which set
     * stm_fast_ok (relaxed: ordered by that pthread_once) */
    if (__builtin_expect(tx != STM_NO_DESC, 1) && fn != NULL &&
        __builtin_expect(__atomic_load_n(&stm_fast_ok, __ATOMIC_RELAXED), 1) &&
        tx->head.depth == 0 &&
        (tx->serial_hints_on == 0 || tx->serial_hint[serial_hint_slot(fn)] != fn) &&
        __builtin_expect(((uintptr_t)tx->sites | tx->serial_left | tx->logged_left |
                          (unsigned)STM_IN_LIB(tx)) == 0,
                         1)) {
#if STM_FAST_ASM
        /* serial hints on, for other functions: the entry's checks pass
         * once STM_FAST_OFF is clear (this call is not nested) */
        STM_FAST_OFF(tx) = 0;
        intptr_t r = stm__atomically_enter(tx, fn, arg);
        stm_fast_recheck(tx);
        return r;
#else
        return outer_fast(tx, fn, arg);
#endif
    }
    return atomically_outer(tx, fn, arg);
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
