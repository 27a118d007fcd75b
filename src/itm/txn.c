/*
 * Begin, commit, cancel, restart and the path choice of GCC-compiled
 * transactions (the Intel TM ABI's _ITM_beginTransaction family).
 *
 * _ITM_beginTransaction (src/itm/x86_64.S) saves the caller's callee-saved
 * registers, stack pointer and return address in a checkpoint and calls
 * stm_itm_begin, whose result is the action code GCC's code branches on
 * (run the instrumented or the uninstrumented copy, save or restore live
 * variables, or skip the body: cancelled).  A software restart or a cancel
 * restores the checkpoint and "returns from _ITM_beginTransaction again"
 * with a new action code (stm_itm_longjmp).
 *
 * Paths, as stm_atomically chooses them (src/stm/atomically.c):
 *  - hardware (RTM): stm_itm_begin executes xbegin itself, so an abort
 *    resumes in its frame with every register and all memory (the stack
 *    included) as they were, and the policy decides again.  The body runs
 *    the compiler's uninstrumented copy, with no per-access cost, while no
 *    software transaction runs (sw_active is 0, read at begin: a software
 *    begin aborts it); with software transactions in flight it runs the
 *    instrumented copy, whose barriers are plain accesses and whose frees
 *    wait for a grace period (the uninstrumented copy calls free() itself,
 *    and a software reader may still hold the block).  As in
 *    Hybrid NOrec it reads seq first (subscription) and, at commit, bumps
 *    hw_commits while software transactions run; not knowing what the
 *    uninstrumented code wrote, it does so whenever sw_active != 0 (unless
 *    the transaction is read-only, pr_readOnly), and wakes blocked threads
 *    whenever any wait.  A cancel of the outermost transaction is an
 *    xabort: the hardware rolls everything back and we return "cancelled";
 *    a cancel of a nested transaction, a retry, a free the hardware path
 *    cannot defer and _ITM_dropReferences re-run the transaction in
 *    software; a switch to irrevocable re-runs it serially.
 *  - NOrec (access.c): instrumented code, redo log, value validation.
 *  - serial: seq held odd for the whole transaction.  Irrevocable
 *    transactions run the uninstrumented copy; the others run instrumented
 *    code that writes in place behind an undo log, so a cancel or a retry
 *    is exact on this path too (see serial_uninstrumented).
 *
 * Nesting: flat where the nested transaction cannot cancel; otherwise a
 * checkpoint (closed nesting) that a cancel of the nested transaction
 * rolls back to, keeping the outer transaction's work.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* dladdr */
#endif
#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#ifndef STM_SANITIZED
#define _LGPL_SOURCE
#include <urcu/urcu-memb.h>
extern __thread struct urcu_reader urcu_memb_reader __attribute__((tls_model("initial-exec")));
#else
#include <urcu/urcu-memb.h>
#endif

#include "../htm/htm.h"
#include "../core/attempt.h"
#include "../core/config.h"
#include "../core/hybrid.h"
#include "../core/memory.h"
#include "../core/misuse.h"
#include "../stm/policy.h"
#include "../stm/runtime.h"
#include "../core/spin.h"
#include "../core/wait.h"
#include "itm.h"

#if defined(__SANITIZE_ADDRESS__)
#define ITM_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ITM_ASAN 1
#endif
#endif
#ifdef ITM_ASAN
void __asan_handle_no_return(void);
#define ITM_BEFORE_LONGJMP() __asan_handle_no_return()
#else
#define ITM_BEFORE_LONGJMP() ((void)0)
#endif

struct stm_itm_tx stm_itm_idle;
__thread struct stm_itm_tx *stm_itm_tls __attribute__((tls_model("initial-exec"))) = &stm_itm_idle;

static pthread_key_t itm_key;
static pthread_once_t itm_once = PTHREAD_ONCE_INIT;

static void itm_destroy(void *p)
{
    struct stm_itm_tx *t = p;
    stm_itm_logs_free(t);
    free(t);
    stm_itm_tls = &stm_itm_idle;
}

/* libstm-itm carries its own copy of libstm's runtime.  If the program's
 * __transaction_atomic blocks bind to libstm-itm but its stm_* calls bind
 * to a separately loaded libstm.so, the two would use different sequence
 * locks: refuse that (libstm-itm is linked with -Bsymbolic-functions, so
 * its own calls always stay inside it).  A libstm-itm loaded privately
 * (dlopen with RTLD_LOCAL, as stmbench does) is not the program's TM
 * library and is left alone. */
static void check_one_runtime(void)
{
    void *api = dlsym(RTLD_DEFAULT, "stm_atomically");
    void *abi = dlsym(RTLD_DEFAULT, "_ITM_beginTransaction");
    Dl_info mine, theirs, tm;
    if (api == NULL || abi == NULL || dladdr((void *)check_one_runtime, &mine) == 0 ||
        dladdr(api, &theirs) == 0 || dladdr(abi, &tm) == 0)
        return; /* static program: one runtime by construction */
    if (tm.dli_fbase != mine.dli_fbase)
        return;
    if (mine.dli_fbase != theirs.dli_fbase)
        stm_fatal("libstm-itm",
                  "libstm's API is bound to %s, not to libstm-itm: two runtimes would not be "
                  "atomic with respect to each other; link libstm-itm instead of libstm",
                  theirs.dli_fname ? theirs.dli_fname : "another object");
}

static void itm_init_once(void)
{
    if (pthread_key_create(&itm_key, itm_destroy) != 0)
        stm_fatal("libstm-itm", "pthread_key_create failed");
    check_one_runtime();
}

struct stm_itm_tx *stm_itm_create(void)
{
    pthread_once(&itm_once, itm_init_once);
    stm_tx_self(); /* libstm's runtime and this thread's registration */
    /* cache-line aligned and padded: hardware transactions of other threads
     * must not share a line with this thread's descriptor */
    size_t bytes = (sizeof(struct stm_itm_tx) + STM_CACHELINE - 1) & ~(size_t)(STM_CACHELINE - 1);
    struct stm_itm_tx *t = aligned_alloc(STM_CACHELINE, bytes);
    if (t != NULL)
        memset(t, 0, bytes);
    if (t == NULL)
        stm_fatal("libstm-itm", "out of memory creating a thread descriptor");
    /* the stack's low end (see own_stack in access.c) */
    pthread_attr_t attr;
    void *addr;
    size_t size;
    if (pthread_getattr_np(pthread_self(), &attr) == 0) {
        if (pthread_attr_getstack(&attr, &addr, &size) == 0)
            t->stack_lo = (uintptr_t)addr;
        pthread_attr_destroy(&attr);
    }
    if (t->stack_lo == 0) /* unknown: assume the usual 8 MiB below here */
        t->stack_lo = (uintptr_t)__builtin_frame_address(0) - ((uintptr_t)8 << 20);
    pthread_setspecific(itm_key, t);
    stm_itm_tls = t;
    return t;
}

/* Transaction ids: blocks of 2^16 per thread, so most begins touch no
 * shared word (ids only need to be unique).  1 is _ITM_noTransactionId. */
static uint64_t next_id_block = 1 << 16;
static __thread uint64_t id_next, id_end;

static uint64_t new_id(void)
{
    if (id_next == id_end) {
        id_next = __atomic_fetch_add(&next_id_block, 1 << 16, __ATOMIC_RELAXED);
        id_end = id_next + (1 << 16);
    }
    return id_next++;
}

/* ------------------------------------------------------ software paths */

/* sw_active and the RCU read-side section, on libstm's descriptor */
static void enter(struct stm_itm_tx *t)
{
    stm_attempt_enter(t->core);
}

static void leave(struct stm_itm_tx *t)
{
    stm_attempt_exit(t->core);
}

/* Which copy a serial transaction runs.  The uninstrumented one cannot be
 * rolled back, so only a transaction that can no longer roll back anyway
 * runs it: an irrevocable one (pr_doesGoIrrevocable, or one that switched
 * to irrevocable and re-runs), or one with no other copy.  pr_hasNoAbort
 * is not enough: the compiler cannot see stm_itm_retry, which rolls the
 * transaction back as a cancel does.  The others run their instrumented
 * copy, writing in place behind the undo log. */
static bool serial_uninstrumented(const struct stm_itm_tx *t)
{
    uint32_t p = t->prop;
    if (!(p & ITM_pr_uninstrumentedCode))
        return false;
    return t->irrevocable || !(p & ITM_pr_instrumentedCode);
}

static uint32_t begin_serial(struct stm_itm_tx *t)
{
    enter(t);
    for (unsigned i = 0;; i++) {
        uint64_t s = stm_seq_even();
        if (__atomic_compare_exchange_n(STM_SEQ, &s, s + 1, false, __ATOMIC_SEQ_CST,
                                        __ATOMIC_RELAXED)) {
            t->snap = s;
            break;
        }
        stm_backoff(i);
    }
    t->hsnap = __atomic_load_n(STM_HW_COMMITS, __ATOMIC_ACQUIRE);
    t->mode = ITM_SERIAL;
    t->nesting = 1;
    t->wrote_in_place = false;
    t->uninstrumented = serial_uninstrumented(t);
    if (t->uninstrumented)
        return ITM_a_runUninstrumentedCode | (t->irrevocable ? 0 : ITM_a_saveLiveVariables);
    return ITM_a_runInstrumentedCode | ITM_a_saveLiveVariables;
}

static uint32_t begin_software(struct stm_itm_tx *t, bool serial)
{
    /* t->jb is the restart point of software attempts (the hardware path
     * does not need it: its aborts resume inside stm_itm_begin) */
    if (serial || t->irrevocable || stm_config()->mode == STM_CFG_SERIAL ||
        !(t->prop & ITM_pr_instrumentedCode))
        return begin_serial(t);
    enter(t);
    t->snap = stm_seq_even();
    t->hsnap = __atomic_load_n(STM_HW_COMMITS, __ATOMIC_ACQUIRE);
    t->mode = ITM_NOREC;
    t->nesting = 1;
    t->uninstrumented = false;
    return ITM_a_runInstrumentedCode | ITM_a_saveLiveVariables;
}

/* Release seq after a serial transaction; memory changed if `wrote`. */
static bool serial_release(struct stm_itm_tx *t, bool wrote)
{
    bool wake = false;
    if (wrote) {
        /* seq_cst while we hold seq: the no-lost-wake-up argument of
         * wait.c */
        wake = stm_wait_any();
        __atomic_store_n(STM_SEQ, t->snap + 2, __ATOMIC_RELEASE);
    } else {
        __atomic_store_n(STM_SEQ, t->snap, __ATOMIC_RELEASE);
    }
    return wake;
}

static void run_actions(struct stm_itm_tx *t, bool commit, size_t from)
{
    if (commit) {
        for (size_t i = from; i < t->commit_acts.n; i++)
            t->commit_acts.e[i].fn(t->commit_acts.e[i].arg);
    } else {
        for (size_t i = t->undo_acts.n; i-- > from;)
            t->undo_acts.e[i].fn(t->undo_acts.e[i].arg);
    }
}

/* Undo what the attempt did to memory and to its logs (it stays inside
 * its read-side section, holding seq if serial). */
static void rollback_undo(struct stm_itm_tx *t)
{
    stm_itm_undo_apply(t, 0, t->jb.sp);
    t->u.an = 0;
    stm_itm_mem_undo(t, 0, 0);
    run_actions(t, false, 0);
    t->undo_acts.n = 0;
    t->commit_acts.n = 0;
    stm_itm_wlog_clear(t);
    t->cp.n = 0;
}

/* Leave the rolled-back attempt: seq released, counters restored. */
static void rollback_leave(struct stm_itm_tx *t)
{
    if (t->mode == ITM_SERIAL) /* the undo log restored memory */
        serial_release(t, t->wrote_in_place || t->uninstrumented);
    leave(t);
    t->r.n = 0;
    t->mode = ITM_NONE;
    t->nesting = 0;
    t->irrevocable = false;
    t->uninstrumented = false;
    t->wrote_in_place = false;
}

static void rollback(struct stm_itm_tx *t)
{
    rollback_undo(t);
    rollback_leave(t);
}

static __attribute__((noreturn)) void jump(const struct stm_itm_jb *jb, uint32_t action)
{
    ITM_BEFORE_LONGJMP();
    stm_itm_longjmp(jb, action);
}

void stm_itm_restart(struct stm_itm_tx *t)
{
    if (t->mode == ITM_SERIAL)
        stm_fatal("libstm-itm", "a serial transaction was asked to restart");
    rollback(t);
    STM_STAT_INC(t->core, aborts_stm);
    bool serial = ++t->aborts >= stm_config()->serial_after;
    uint32_t a = begin_software(t, serial);
    jump(&t->jb, a | ITM_a_restoreLiveVariables);
}

/* Block until something the attempt read changes (stm_itm_retry): the
 * attempt's reads become libstm's read log (whole words, see
 * stm_itm_reads_to_core), registered with libstm's waiters while the
 * attempt is still inside its read-side section (wait.c's protocol), and
 * libstm's wait sleeps until a writer of either API changes one. */
static __attribute__((noreturn)) void retry_now(struct stm_itm_tx *t)
{
    if (t->irrevocable)
        stm_fatal("stm_itm_retry", "called in an irrevocable transaction, which cannot be rolled back");
    stm_itm_undo_apply(t, 0, t->jb.sp); /* memory as before the attempt */
    t->u.an = 0;
    int r = stm_itm_reads_to_core(t);
    if (r == 0)
        stm_fatal("stm_itm_retry", "the transaction read nothing, so it could never be woken");
    if (r > 0)
        stm_wait_register(t->core);
    rollback_undo(t);
    rollback_leave(t);
    if (r > 0)
        stm_wait_for_change(t->core); /* clears libstm's read log */
    t->core->rlog.n = 0;
    uint32_t a = begin_software(t, false);
    jump(&t->jb, a | ITM_a_restoreLiveVariables);
}

/* ------------------------------------------------------------- hardware */

#ifdef ITM_HAVE_HTM
/* Try the transaction in hardware.  Returns the action code, or 0 to go to
 * software (*serial: serially). */
static uint32_t begin_htm(struct stm_itm_tx *t, uint32_t prop, bool *serial)
{
    const struct stm_config *cfg = stm_config();
    stm_fn site = (stm_fn)t->site;
    if (!stm_policy_site_uses_htm(cfg, site)) {
        STM_STAT_INC(t->core, htm_skipped_adaptive);
        return 0;
    }
    struct stm_htm_attempts a = {0, 0, 0, 0};
    unsigned attempt = 0;
    for (;;) {
        if (__atomic_load_n(STM_SEQ, __ATOMIC_RELAXED) & 1)
            stm_wait_even(STM_SEQ);
        /* after an abort execution resumes here, registers and memory as
         * they were at this point */
        uint64_t status = stm_rtm_begin();
        if (status == STM_HTM_STARTED) {
            /* eager subscription: seq joins the read set */
            if (__atomic_load_n(STM_SEQ, __ATOMIC_RELAXED) & 1)
                STM_RTM_ABORT(STM_HTM_CODE_BUSY);
            t->mode = ITM_HTM;
            t->nesting = 1;
            /* The uninstrumented copy frees memory with free() at once.
             * That is safe only while no software transaction, which
             * might still read the block, runs: so only while sw_active
             * is 0, read here and thereby subscribed (a software begin
             * aborts us).  Likewise it cannot name what it writes, which
             * a commit must wake the waiters of: so only while nobody
             * waits either (wait.c's `waiters`, read here: a waiter
             * registering aborts us).  Otherwise the instrumented copy
             * runs, with plain accesses that note the words written
             * (hw_w) and _ITM_free deferred past a grace period. */
            t->hw_nw = 0;
            t->uninstrumented = (prop & ITM_pr_uninstrumentedCode) &&
                                (!(prop & ITM_pr_instrumentedCode) ||
                                 (__atomic_load_n(STM_SW_ACTIVE, __ATOMIC_RELAXED) == 0 &&
                                  __atomic_load_n(&stm_waitq.waiters.v, __ATOMIC_RELAXED) == 0));
            return t->uninstrumented ? ITM_a_runUninstrumentedCode : ITM_a_runInstrumentedCode;
        }
        unsigned s = (unsigned)status;
        if ((s & STM_RTM_EXPLICIT) && STM_RTM_CODE(s) == ITM_HTM_CODE_CANCEL) {
            /* the hardware undid the body; nothing to release */
            STM_STAT_INC(t->core, aborts_htm_explicit);
            return ITM_a_abortTransaction | ITM_a_restoreLiveVariables;
        }
        enum stm_htm_cause c = stm_htm_decode(status);
        stm_policy_count_abort(t->core, c);
        enum stm_next next = stm_policy_after_abort(cfg, &a, c);
        if (next == STM_NEXT_HTM_WAIT) {
            STM_STAT_INC(t->core, htm_busy_waits);
            stm_wait_even(STM_SEQ);
            continue;
        }
        if (next == STM_NEXT_HTM_AGAIN) {
            stm_policy_backoff(attempt++);
            continue;
        }
        if (c == STM_HTM_CAUSE_IRREVOCABLE)
            t->irrevocable = true;
        *serial = next == STM_NEXT_SERIAL;
        stm_policy_site_result(cfg, site, false);
        return 0;
    }
}

static void commit_htm(struct stm_itm_tx *t)
{
    bool wake = false;
    if (!(t->prop & ITM_pr_readOnly)) {
        if (__atomic_load_n(STM_SW_ACTIVE, __ATOMIC_RELAXED) != 0)
            __atomic_store_n(STM_HW_COMMITS,
                             __atomic_load_n(STM_HW_COMMITS, __ATOMIC_RELAXED) + 1,
                             __ATOMIC_RELAXED);
        /* read inside the transaction: a waiter registering after this
         * aborts us (wait.c) */
        wake = __atomic_load_n(&stm_waitq.waiters.v, __ATOMIC_RELAXED) != 0;
        if (wake && t->hw_nw > ITM_HTM_WMAX)
            ITM_HTM_ABORT(STM_HTM_CODE_NEEDSW); /* too many words to name */
    }
    t->mode = ITM_NONE;
    t->nesting = 0;
    t->uninstrumented = false;
    unsigned nfrees = t->hw_nfrees;
    stm_rtm_end();
    STM_STAT_INC(t->core, commits_htm);
    stm_policy_site_result(stm_config(), (stm_fn)t->site, true);
    for (unsigned i = 0; i < nfrees; i++)
        stm_itm_ptr_push(&t->frees.e, &t->frees.n, &t->frees.cap, t->hw_frees[i]);
    t->hw_nfrees = 0;
    if (nfrees != 0)
        stm_itm_mem_commit(t);
    if (wake)
        stm_wake_addrs(t->core, (stm_tvar *const *)t->hw_w, t->hw_nw);
}
#endif

/* ---------------------------------------------------------------- begin */

static uint32_t begin_nested(struct stm_itm_tx *t, uint32_t prop, const struct stm_itm_jb *jb)
{
    if (t->mode == ITM_HTM) {
        t->nesting++; /* flat; rolled back with the hardware transaction */
        /* the outermost's choice (see begin_htm) */
        return t->uninstrumented && (prop & ITM_pr_uninstrumentedCode) ? ITM_a_runUninstrumentedCode
                                                                        : ITM_a_runInstrumentedCode;
    }
    if (!(prop & ITM_pr_instrumentedCode)) {
        /* only an uninstrumented copy: it must run irrevocably */
        stm_itm_go_irrevocable(t);
        t->nesting++;
        return ITM_a_runUninstrumentedCode;
    }
    if (prop & ITM_pr_hasNoAbort) {
        t->nesting++; /* flat */
        if (t->mode == ITM_SERIAL && t->uninstrumented && (prop & ITM_pr_uninstrumentedCode))
            return ITM_a_runUninstrumentedCode;
        return ITM_a_runInstrumentedCode;
    }
    /* may cancel: closed nesting */
    if (t->cp.n == t->cp.cap) {
        size_t c = t->cp.cap ? 2 * t->cp.cap : 8;
        struct stm_itm_cp *e = realloc(t->cp.e, c * sizeof *e);
        if (e == NULL)
            stm_fatal("_ITM_beginTransaction", "out of memory");
        t->cp.e = e;
        t->cp.cap = c;
    }
    t->nesting++;
    t->cp.e[t->cp.n++] = (struct stm_itm_cp){
        .jb = *jb, .prop = prop, .nesting = t->nesting, .wn = t->w.n,
        .shadow_n = t->shadow.n, .undo_n = t->u.n, .allocs_n = t->allocs.n,
        .frees_n = t->frees.n, .commit_n = t->commit_acts.n, .uact_n = t->undo_acts.n};
    return ITM_a_runInstrumentedCode | ITM_a_saveLiveVariables;
}

uint32_t stm_itm_begin(uint32_t prop, const struct stm_itm_jb *jb);
uint32_t stm_itm_begin(uint32_t prop, const struct stm_itm_jb *jb)
{
    struct stm_itm_tx *t = stm_itm_self();
    if (t->nesting != 0)
        return begin_nested(t, prop, jb);
    t->core = stm_tx_self();
    t->prop = prop;
    t->site = (void (*)(void))jb->pc; /* the adaptive policy's key */
    t->id = 0;                         /* assigned when asked for */
    t->aborts = 0;
    t->irrevocable = (prop & ITM_pr_doesGoIrrevocable) != 0;
    bool serial = false;
#ifdef ITM_HAVE_HTM
    if (stm_htm_backend == STM_HTM_RTM && !t->irrevocable) {
        uint32_t a = begin_htm(t, prop, &serial);
        if (a != 0)
            return a;
    }
#endif
    t->jb = *jb;
    return begin_software(t, serial);
}

/* --------------------------------------------------------------- commit */

/* Take seq for the write-back (norec.c's lock_seq on this log). */
static void lock_seq(struct stm_itm_tx *t)
{
    for (;;) {
        uint64_t s = t->snap;
        if (__atomic_compare_exchange_n(STM_SEQ, &s, s + 1, false, __ATOMIC_SEQ_CST,
                                        __ATOMIC_RELAXED))
            break;
        stm_itm_validate(t);
    }
    if (__atomic_load_n(STM_HW_COMMITS, __ATOMIC_ACQUIRE) != t->hsnap) {
        if (!stm_itm_rlog_holds(t)) {
            __atomic_store_n(STM_SEQ, t->snap, __ATOMIC_RELEASE);
            stm_itm_restart(t);
        }
        t->hsnap = __atomic_load_n(STM_HW_COMMITS, __ATOMIC_RELAXED);
    }
}

/* After the outermost software or serial commit.  wake: stm_wait_any()
 * said someone waits; wake the waiters of what was written (the redo log,
 * or the undo log of in-place writes), or everyone after code that writes
 * without telling (uninstrumented or irrevocable). */
static void finish(struct stm_itm_tx *t, bool wake)
{
    leave(t);
    if (wake) {
        if (t->uninstrumented || t->irrevocable)
            stm_wake_everyone(t->core);
        else
            stm_itm_wake_written(t);
    }
    t->mode = ITM_NONE;
    t->nesting = 0;
    stm_itm_mem_commit(t);
    t->u.n = 0;
    t->u.an = 0;
    t->r.n = 0;
    stm_itm_wlog_clear(t);
    t->cp.n = 0;
    t->undo_acts.n = 0;
    t->irrevocable = false;
    t->uninstrumented = false;
    t->wrote_in_place = false;
    if (t->commit_acts.n != 0) {
        run_actions(t, true, 0);
        t->commit_acts.n = 0;
    }
}

ITM_EXPORT void _ITM_commitTransaction(void);
void _ITM_commitTransaction(void)
{
    struct stm_itm_tx *t = stm_itm_tls;
    if (t->nesting == 0)
        stm_fatal("_ITM_commitTransaction", "called outside a transaction");
    if (t->nesting > 1) {
        if (t->mode != ITM_HTM && t->cp.n != 0 && t->cp.e[t->cp.n - 1].nesting == t->nesting)
            t->cp.n--; /* its work now belongs to the parent */
        t->nesting--;
        return;
    }
#ifdef ITM_HAVE_HTM
    if (t->mode == ITM_HTM) {
        commit_htm(t);
        return;
    }
#endif
    bool wake;
    if (t->mode == ITM_SERIAL) {
        wake = serial_release(t, t->wrote_in_place || t->uninstrumented);
        STM_STAT_INC(t->core, commits_serial);
    } else if (t->w.n == 0) {
        wake = false;
        STM_STAT_INC(t->core, commits_stm);
    } else {
        lock_seq(t);
        wake = stm_wait_any(); /* seq_cst, after taking seq: wait.c */
        stm_itm_write_back(t, false);
        __atomic_store_n(STM_SEQ, t->snap + 2, __ATOMIC_RELEASE);
        STM_STAT_INC(t->core, commits_stm);
    }
    finish(t, wake);
}

/* ---------------------------------------------------- cancel, irrevocable */

ITM_EXPORT void _ITM_abortTransaction(int reason);
void _ITM_abortTransaction(int reason)
{
    struct stm_itm_tx *t = stm_itm_tls;
    if (t->nesting == 0)
        stm_fatal("_ITM_abortTransaction", "called outside a transaction");
    if (!(reason & (ITM_userAbort | ITM_outerAbort)))
        stm_fatal("_ITM_abortTransaction", "unsupported reason %d", reason);
    bool outer = (reason & ITM_outerAbort) || t->nesting == 1;
    if (t->mode == ITM_HTM) {
        if (outer)
            ITM_HTM_ABORT(ITM_HTM_CODE_CANCEL);
        ITM_HTM_ABORT(STM_HTM_CODE_NEEDSW); /* closed nesting needs software */
    }
    if (!outer) {
        if (t->cp.n == 0 || t->cp.e[t->cp.n - 1].nesting != t->nesting)
            stm_fatal("_ITM_abortTransaction", "cancel of a nested transaction that declared it cannot cancel");
        const struct stm_itm_cp *cp = &t->cp.e[--t->cp.n];
        stm_itm_wlog_truncate(t, cp->wn, cp->shadow_n);
        stm_itm_undo_apply(t, cp->undo_n, cp->jb.sp);
        stm_itm_mem_undo(t, cp->allocs_n, cp->frees_n);
        run_actions(t, false, cp->uact_n);
        t->undo_acts.n = cp->uact_n;
        t->commit_acts.n = cp->commit_n;
        t->nesting = cp->nesting - 1;
        struct stm_itm_jb jb = cp->jb;
        jump(&jb, ITM_a_abortTransaction | ITM_a_restoreLiveVariables);
    }
    if (t->mode == ITM_SERIAL && t->uninstrumented)
        stm_fatal("_ITM_abortTransaction", "cancel in a transaction that declared it cannot cancel");
    rollback(t);
    jump(&t->jb, ITM_a_abortTransaction | ITM_a_restoreLiveVariables);
}

void stm_itm_go_irrevocable(struct stm_itm_tx *t)
{
    if (t->mode == ITM_HTM)
        ITM_HTM_ABORT(STM_HTM_CODE_IRREVOCABLE);
    if (t->mode == ITM_NOREC) {
        /* take seq for good and write the redo log through; the undo log
         * keeps the old bytes, so a nested transaction that cancels still
         * rolls back exactly */
        lock_seq(t);
        stm_itm_write_back(t, true);
        stm_itm_wlog_clear(t);
        t->mode = ITM_SERIAL;
        t->wrote_in_place = true;
    }
    t->irrevocable = true;
}

ITM_EXPORT void _ITM_changeTransactionMode(int state);
void _ITM_changeTransactionMode(int state)
{
    struct stm_itm_tx *t = stm_itm_tls;
    if (t->nesting == 0)
        stm_fatal("_ITM_changeTransactionMode", "called outside a transaction");
    if (state != 0)
        stm_fatal("_ITM_changeTransactionMode", "unknown mode %d", state);
    stm_itm_go_irrevocable(t);
}

ITM_EXPORT int _ITM_inTransaction(void);
int _ITM_inTransaction(void)
{
    struct stm_itm_tx *t = stm_itm_tls;
    if (t->nesting == 0)
        return ITM_outsideTransaction;
    return t->irrevocable ? ITM_inIrrevocableTransaction : ITM_inRetryableTransaction;
}

ITM_EXPORT uint64_t _ITM_getTransactionId(void);
uint64_t _ITM_getTransactionId(void)
{
    struct stm_itm_tx *t = stm_itm_tls;
    if (t->nesting == 0)
        return 1;
    if (t->id == 0)
        t->id = new_id();
    return t->id;
}

/* ------------------------------------------------------------- actions */

void stm_itm_ptr_push(void ***e, size_t *n, size_t *cap, void *p)
{
    if (*n == *cap) {
        size_t c = *cap ? 2 * *cap : 16;
        void **a = realloc(*e, c * sizeof *a);
        if (a == NULL)
            stm_fatal("libstm-itm", "out of memory");
        *e = a;
        *cap = c;
    }
    (*e)[(*n)++] = p;
}

static void action_push(struct stm_itm_action **e, size_t *n, size_t *cap, void (*fn)(void *),
                        void *arg)
{
    if (*n == *cap) {
        size_t c = *cap ? 2 * *cap : 8;
        struct stm_itm_action *a = realloc(*e, c * sizeof *a);
        if (a == NULL)
            stm_fatal("libstm-itm", "out of memory logging a user action");
        *e = a;
        *cap = c;
    }
    (*e)[(*n)++] = (struct stm_itm_action){fn, arg};
}

void stm_itm_push_action(struct stm_itm_tx *t, int commit, void (*fn)(void *), void *arg)
{
    if (t->mode == ITM_HTM)
        ITM_HTM_ABORT(STM_HTM_CODE_NEEDSW); /* kept in software logs */
    if (commit)
        action_push(&t->commit_acts.e, &t->commit_acts.n, &t->commit_acts.cap, fn, arg);
    else
        action_push(&t->undo_acts.e, &t->undo_acts.n, &t->undo_acts.cap, fn, arg);
}

ITM_EXPORT void _ITM_addUserCommitAction(void (*fn)(void *), uint64_t tid, void *arg);
void _ITM_addUserCommitAction(void (*fn)(void *), uint64_t tid, void *arg)
{
    struct stm_itm_tx *t = stm_itm_tls;
    (void)tid; /* the ABI's "resuming transaction" id: commit actions run
                  at the outermost commit regardless */
    if (t->nesting == 0)
        stm_fatal("_ITM_addUserCommitAction", "called outside a transaction");
    stm_itm_push_action(t, 1, fn, arg);
}

ITM_EXPORT void _ITM_addUserUndoAction(void (*fn)(void *), void *arg);
void _ITM_addUserUndoAction(void (*fn)(void *), void *arg)
{
    struct stm_itm_tx *t = stm_itm_tls;
    if (t->nesting == 0)
        stm_fatal("_ITM_addUserUndoAction", "called outside a transaction");
    stm_itm_push_action(t, 0, fn, arg);
}

/* ----------------------------------------------------------------- retry */

ITM_EXPORT void stm_itm_retry(void);
void stm_itm_retry(void)
{
    struct stm_itm_tx *t = stm_itm_tls;
    if (t->nesting == 0)
        stm_fatal("stm_itm_retry", "called outside a transaction");
    if (t->mode == ITM_HTM)
        ITM_HTM_ABORT(STM_HTM_CODE_RETRY); /* software blocks */
    retry_now(t);
}

/* ------------------------------------------------------ version, errors */

ITM_EXPORT int _ITM_versionCompatible(int v);
int _ITM_versionCompatible(int v)
{
    return v == 90; /* _ITM_VERSION_NO of the ABI this library implements */
}

ITM_EXPORT const char *_ITM_libraryVersion(void);
const char *_ITM_libraryVersion(void)
{
    return "libstm-itm " STM_ITM_VERSION " (Intel TM ABI 0.90, GCC libitm compatible)";
}

struct stm_itm_src_location {
    uint32_t reserved_1, flags, reserved_2, reserved_3;
    const char *psource;
};

ITM_EXPORT void _ITM_error(const struct stm_itm_src_location *loc, int code);
void _ITM_error(const struct stm_itm_src_location *loc, int code)
{
    stm_fatal("_ITM_error", "error %d at %s", code,
              loc != NULL && loc->psource != NULL ? loc->psource : "(unknown location)");
}

/* The transactional clone GCC calls from instrumented code (the function
 * is declared transaction_safe in <stm/itm.h>); it is the same function. */
ITM_EXPORT void _ZGTt13stm_itm_retry(void) __attribute__((alias("stm_itm_retry")));
