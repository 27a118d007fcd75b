/*
 * Emulated hardware transactions, for tests on machines without HTM.
 *
 * Purpose: run stm_atomically's hardware path (begin in its frame, eager
 * subscription, the hw_commits gate, abort decoding, the policy) and inject
 * every abort cause on demand, from a script or a seeded generator.
 *
 * Atomicity and isolation.  An emulated transaction that starts must behave
 * like a hardware one against other emulated transactions and against
 * software (NOrec and serial) transactions, and an abort injected in the
 * middle of its body must leave no trace.  Design:
 *
 *  - Snapshot.  At begin the attempt records `seq` (its "subscription") and
 *    enters an RCU read-side section (so memory that a committed
 *    transaction frees is not reused while the attempt may still read it,
 *    as a hardware reader would just abort).
 *  - Reads.  Write buffer first; else load the word (relaxed), acquire
 *    fence, and check that `seq` still equals the snapshot.  If not, some
 *    writer committed since begin: abort with a conflict status.  Hardware
 *    subscribed to `seq` would have been aborted by that commit, so this is
 *    the same outcome, just detected at the next access instead of at once.
 *    Every value returned therefore belongs to the snapshot (the NOrec
 *    seqlock-reader argument with a single version number): opacity.
 *  - Writes go to the attempt's redo log (the descriptor's NOrec write log,
 *    unused while the mode is hardware).  Nothing is visible before commit,
 *    so an abort rolls back by dropping the log (and freeing stm_alloc
 *    blocks, which memory.c logs for emulated attempts).
 *  - Commit of a writer: CAS `seq` from the snapshot to snapshot+1 (failure:
 *    a writer committed since begin, so abort with a conflict status), read
 *    the waiter count, write back, store snapshot+2 (release).  This is
 *    exactly a NOrec writer commit, so software readers see the write-back
 *    through `seq` and never a torn state, other emulated attempts are
 *    aborted by it, and a waiter in stm_retry() is not lost (the waiter
 *    count is read after the CAS, as in norec.c's argument).  A read-only
 *    attempt commits at its last read.
 *  - The hw_commits bump that stm_atomically performs inside the attempt
 *    (when sw_active > 0) is a plain store here, not part of the emulated
 *    atomic region; it is harmless (software readers just revalidate) and
 *    keeps the real code path exercised.  The emulated write-back through
 *    `seq` is what makes the data consistent for software readers.
 * So the emulation is stronger than needed, never weaker: an emulated
 * transaction aborts in every situation where hardware subscribed to `seq`
 * would, plus when any writer commits during it.
 *
 * Raw statuses: injected outcomes carry an RTM status or a POWER TEXASR
 * value; explicit aborts (stm_emu_abort: our busy/retry/irrevocable codes)
 * and detected conflicts are RTM statuses.  The format of the last abort is
 * remembered per thread, and stm_emu_decode() hands the status to the same
 * decoder (decode.c) that the real back end of that format uses.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <urcu/urcu-memb.h>

#include "../../core/hybrid.h"
#include "../../core/memory.h"
#include "../../core/misuse.h"
#include "../../core/tx.h"
#include "../../core/wait.h"
#include "../htm.h"

/* per-thread attempt state */
static __thread jmp_buf frame;
static __thread uint64_t abort_status;
static __thread int abort_format;
static __thread bool active;     /* an attempt has started and not ended */
static __thread uint64_t snap;   /* seq at begin */
static __thread unsigned fail_after;   /* 0: no injected failure pending */
static __thread uint64_t fail_status;
static __thread int fail_format;
static __thread unsigned accesses;
static __thread uint64_t rng;

/* script, seed and counts: shared, set by tests while nothing runs */
static pthread_mutex_t script_lock = PTHREAD_MUTEX_INITIALIZER;
static struct stm_emu_outcome *script;
static size_t script_n, script_pos;
static uint64_t seed;
static unsigned seed_percent;
static uint64_t seed_threads; /* per-thread generator streams handed out */

static struct {
    uint64_t begins, started, injected, conflicts, commits;
} counts;

#define COUNT(f) __atomic_fetch_add(&counts.f, 1, __ATOMIC_RELAXED)

void stm_emu_enable(void)
{
    stm_emu_script(NULL, 0);
    stm_emu_seed(0, 0);
    memset(&counts, 0, sizeof counts);
    stm_htm_select(STM_HTM_EMU);
}

void stm_emu_disable(void)
{
    stm_emu_script(NULL, 0);
    stm_htm_select(-1);
}

void stm_emu_script(const struct stm_emu_outcome *o, size_t n)
{
    pthread_mutex_lock(&script_lock);
    free(script);
    script = NULL;
    script_n = script_pos = 0;
    if (n > 0) {
        script = malloc(n * sizeof *o);
        if (script == NULL)
            stm_fatal("stm_emu_script", "out of memory");
        memcpy(script, o, n * sizeof *o);
        script_n = n;
    }
    pthread_mutex_unlock(&script_lock);
}

void stm_emu_seed(uint64_t s, unsigned percent)
{
    pthread_mutex_lock(&script_lock);
    seed = s;
    seed_percent = percent > 100 ? 100 : percent;
    seed_threads = 0;
    pthread_mutex_unlock(&script_lock);
    rng = 0;
}

void stm_emu_counts(struct stm_emu_counts *out)
{
    out->begins = __atomic_load_n(&counts.begins, __ATOMIC_RELAXED);
    out->started = __atomic_load_n(&counts.started, __ATOMIC_RELAXED);
    out->injected = __atomic_load_n(&counts.injected, __ATOMIC_RELAXED);
    out->conflicts = __atomic_load_n(&counts.conflicts, __ATOMIC_RELAXED);
    out->commits = __atomic_load_n(&counts.commits, __ATOMIC_RELAXED);
}

/* xorshift64*; per thread, seeded from the test's seed and a stream
 * number, so a single-threaded run is reproducible */
static uint64_t next_random(void)
{
    if (rng == 0) {
        uint64_t k = __atomic_fetch_add(&seed_threads, 1, __ATOMIC_RELAXED);
        rng = (seed ^ (k + 1) * 0x9e3779b97f4a7c15ull) | 1;
    }
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 0x2545f4914f6cdd1dull;
}

/* What the seeded generator injects: one of each cause the policy tells
 * apart (persistent in POWER format, the rest as RTM statuses). */
static const struct stm_emu_outcome random_causes[] = {
    {STM_RTM_CONFLICT | STM_RTM_RETRY, 0, STM_EMU_FMT_RTM},
    {STM_RTM_CAPACITY, 0, STM_EMU_FMT_RTM},
    {0, 0, STM_EMU_FMT_RTM},
    {STM_RTM_XABORT_STATUS(STM_HTM_CODE_BUSY), 0, STM_EMU_FMT_RTM},
    {STM_RTM_DEBUG, 0, STM_EMU_FMT_RTM},
    {STM_TEXASR_QEMU, 0, STM_EMU_FMT_POWER},
};

/* The outcome of the next attempt. */
static struct stm_emu_outcome next_outcome(void)
{
    struct stm_emu_outcome o = {STM_HTM_STARTED, 0, STM_EMU_FMT_RTM};
    pthread_mutex_lock(&script_lock);
    bool scripted = script_pos < script_n;
    if (scripted)
        o = script[script_pos++];
    unsigned pct = seed_percent;
    pthread_mutex_unlock(&script_lock);
    if (!scripted && pct > 0 && next_random() % 100 < pct) {
        uint64_t r = next_random();
        o = random_causes[r % (sizeof random_causes / sizeof random_causes[0])];
        o.after = (unsigned)(r >> 32) % 4;
    }
    return o;
}

uint64_t stm_emu_next(void)
{
    COUNT(begins);
    struct stm_emu_outcome o = next_outcome();
    if (o.status != STM_HTM_STARTED && o.after == 0) {
        COUNT(injected);
        abort_format = o.format;
        return o.status;
    }
    fail_after = o.status != STM_HTM_STARTED ? o.after : 0;
    fail_status = o.status;
    fail_format = o.format;
    accesses = 0;
    snap = __atomic_load_n(STM_SEQ, __ATOMIC_ACQUIRE);
    urcu_memb_read_lock();
    active = true;
    COUNT(started);
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

enum stm_htm_cause stm_emu_decode(uint64_t status)
{
    return abort_format == STM_EMU_FMT_POWER ? stm_power_decode(status)
                                             : stm_rtm_decode(status);
}

/* Roll the attempt back (nothing it wrote is visible: drop the buffer and
 * its allocations) and resume at the begin with `status`. */
static __attribute__((noreturn)) void emu_fail(uint64_t status, int format)
{
    stm_tx *tx = stm_tls_tx; /* exists: we are inside a transaction */
    stm_wlog_clear(&tx->wlog);
    stm_mem_undo_allocs(tx, 0);
    if (active) {
        active = false;
        STM_TSAN_RCU_RELEASE(); /* see memory.h */
        urcu_memb_read_unlock();
    }
    abort_status = status;
    abort_format = format;
    longjmp(frame, 1);
}

static void conflict(void)
{
    COUNT(conflicts);
    emu_fail(STM_RTM_CONFLICT | STM_RTM_RETRY, STM_EMU_FMT_RTM);
}

/* Count an access; fail here if the script said so. */
static inline void access_step(void)
{
    if (fail_after != 0 && ++accesses >= fail_after) {
        fail_after = 0;
        COUNT(injected);
        emu_fail(fail_status, fail_format);
    }
}

uintptr_t stm_emu_read(stm_tx *tx, const stm_tvar *tv)
{
    access_step();
    struct stm_wentry *w = stm_wlog_find(&tx->wlog, tv);
    if (w != NULL)
        return w->val;
    uintptr_t v = __atomic_load_n(&tv->word, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    if (__atomic_load_n(STM_SEQ, __ATOMIC_RELAXED) != snap)
        conflict();
    return v;
}

void stm_emu_write(stm_tx *tx, stm_tvar *tv, uintptr_t v)
{
    access_step();
    struct stm_wentry *w = stm_wlog_find(&tx->wlog, tv);
    if (w != NULL)
        w->val = v;
    else
        stm_wlog_append(&tx->wlog, tv, v);
}

int stm_emu_end(void)
{
    stm_tx *tx = stm_tls_tx; /* exists: we are inside a transaction */
    bool wake = false;
    if (tx->wlog.n != 0) {
        uint64_t s = snap;
        if (!__atomic_compare_exchange_n(STM_SEQ, &s, snap + 1, false, __ATOMIC_SEQ_CST,
                                         __ATOMIC_RELAXED))
            conflict();
        wake = stm_wait_any();
        if (wake && tx->hw_nw > STM_HTM_WMAX) {
            /* more TVars than recorded for the wake-up (wait.h): nothing
             * written yet, so release seq and let software commit it */
            __atomic_store_n(STM_SEQ, snap, __ATOMIC_RELEASE);
            stm_emu_abort(STM_HTM_CODE_NEEDSW);
        }
        __atomic_thread_fence(__ATOMIC_RELEASE);
        for (size_t i = 0; i < tx->wlog.n; i++)
            __atomic_store_n(&tx->wlog.e[i].addr->word, tx->wlog.e[i].val, __ATOMIC_RELAXED);
        __atomic_store_n(STM_SEQ, snap + 2, __ATOMIC_RELEASE);
        stm_wlog_clear(&tx->wlog);
    }
    tx->allocs.n = 0; /* committed: the blocks are the program's now */
    active = false;
    STM_TSAN_RCU_RELEASE(); /* see memory.h */
    urcu_memb_read_unlock();
    COUNT(commits);
    return wake; /* stm_atomically wakes after the commit (tx->hw_w) */
}

void stm_emu_abort(unsigned code)
{
    emu_fail(STM_RTM_XABORT_STATUS(code), STM_EMU_FMT_RTM);
}
