/* libstm-itm: GCC's transactional-memory ABI (the Intel TM ABI as libitm
 * implements it) on libstm's runtime.  The whole interface of src/itm/ to
 * itself; the rest of libstm does not include it.
 *
 * A transaction of compiled C code (`__transaction_atomic`) runs on the
 * paths stm_atomically uses, over the same words (src/stm/hybrid.h):
 *  - hardware: the compiler's uninstrumented copy inside an RTM
 *    transaction begun under _ITM_beginTransaction, subscribed to seq;
 *  - NOrec on arbitrary memory: reads of any size validated by value, a
 *    byte-precise redo log written back under seq (access.c);
 *  - serial: seq held odd for the whole transaction, writes in place with
 *    an undo log (instrumented code), or the uninstrumented copy where the
 *    transaction is irrevocable.
 * So __transaction_atomic blocks and stm_atomically transactions are
 * atomic with respect to each other. */
#ifndef STM_SRC_ITM_H
#define STM_SRC_ITM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../core/tx.h"
#include "../htm/htm.h"

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "libstm-itm's byte masks assume a little-endian machine (x86-64, ppc64le)"
#endif

/* The ABI's entry points are exported (the version script gives them
 * libitm's symbol versions); everything else stays hidden. */
#define ITM_EXPORT __attribute__((visibility("default")))

/* The ABI's constants (libitm.h names; values fixed by the ABI). */
enum {
    ITM_pr_instrumentedCode = 0x0001,
    ITM_pr_uninstrumentedCode = 0x0002,
    ITM_pr_hasNoAbort = 0x0008,
    ITM_pr_hasNoIrrevocable = 0x0020,
    ITM_pr_doesGoIrrevocable = 0x0040,
    ITM_pr_readOnly = 0x4000
};
enum {
    ITM_a_runInstrumentedCode = 0x01,
    ITM_a_runUninstrumentedCode = 0x02,
    ITM_a_saveLiveVariables = 0x04,
    ITM_a_restoreLiveVariables = 0x08,
    ITM_a_abortTransaction = 0x10
};
enum { ITM_userAbort = 1, ITM_userRetry = 2, ITM_TMConflict = 4, ITM_outerAbort = 16 };
enum { ITM_outsideTransaction = 0, ITM_inRetryableTransaction, ITM_inIrrevocableTransaction };

/* The caller's state at _ITM_beginTransaction, saved by the assembly
 * entry point (src/itm/x86_64.S): restoring it and jumping to `pc`
 * returns from _ITM_beginTransaction once more. */
struct stm_itm_jb {
#if defined(__x86_64__)
    uint64_t sp, rbx, rbp, r12, r13, r14, r15, pc; /* src/itm/x86_64.S */
#elif defined(__powerpc64__) && defined(_CALL_ELF) && _CALL_ELF == 2
    /* src/itm/ppc64le.S: the ELFv2 non-volatile state */
    uint64_t sp, reserved, pc, cr;
    uint64_t gpr[18];                    /* r14-r31 */
    double fpr[18];                      /* f14-f31 */
    _Alignas(16) uint64_t vr[24];        /* v20-v31 */
#else
#error "libstm-itm: no entry point for this architecture"
#endif
};
#if defined(__powerpc64__)
/* the offsets ppc64le.S uses */
_Static_assert(__builtin_offsetof(struct stm_itm_jb, gpr) == 32 &&
                   __builtin_offsetof(struct stm_itm_jb, fpr) == 176 &&
                   __builtin_offsetof(struct stm_itm_jb, vr) == 320 &&
                   sizeof(struct stm_itm_jb) == 512,
               "struct stm_itm_jb does not match src/itm/ppc64le.S");
#else
_Static_assert(__builtin_offsetof(struct stm_itm_jb, pc) == 56 && sizeof(struct stm_itm_jb) == 64,
               "struct stm_itm_jb does not match src/itm/x86_64.S");
#endif

__attribute__((noreturn)) void stm_itm_longjmp(const struct stm_itm_jb *jb, uint32_t action);

enum stm_itm_mode {
    ITM_NONE = 0,
    ITM_HTM,     /* hardware: plain accesses */
    ITM_NOREC,   /* redo log, value validation */
    ITM_SERIAL   /* seq held odd: in place, undo log */
};

/* Read log: one entry per naturally aligned piece of 1, 2, 4 or 8 bytes;
 * the size rides in the top byte of the address (user addresses are below
 * 2^56 on x86-64 and ppc64le), 0 meaning 8 so that the commonest key is
 * the bare address. */
struct stm_itm_rentry {
    uintptr_t key;
    uint64_t val;
};
#define ITM_RKEY(addr, size) ((uintptr_t)(addr) | (uintptr_t)((size) & 7) << 56)
#define ITM_RADDR(key) ((key) & (((uintptr_t)1 << 56) - 1))
#define ITM_RSIZE(key) ((key) >> 56 ? (unsigned)((key) >> 56) : 8u)

/* Redo log: one entry per aligned 8-byte word, with a byte mask (0xff in
 * each byte the transaction wrote): write-back stores only those bytes, so
 * a neighbour's byte is never written back. */
struct stm_itm_wentry {
    uintptr_t word;
    uint64_t val;
    uint64_t mask;
};

/* Undo log: old bytes of thread-local data (_ITM_L*) and of memory written
 * in place by serial transactions; restored newest first. */
struct stm_itm_undo {
    void *addr;
    size_t len;
    size_t off; /* into the byte arena */
};

/* A nested transaction that may cancel (closed nesting). */
struct stm_itm_cp {
    struct stm_itm_jb jb;
    uint32_t prop;
    unsigned nesting;           /* nesting level of the nested transaction */
    size_t wn, shadow_n, undo_n, arena_n, allocs_n, frees_n, commit_n, uact_n;
};

/* An old (val, mask) of a redo-log entry made before the innermost
 * checkpoint, saved before the nested transaction changes it. */
struct stm_itm_shadow {
    size_t idx;
    uint64_t val, mask;
};

struct stm_itm_action {
    void (*fn)(void *);
    void *arg;
};

#define ITM_HTM_FREE_MAX 16
#define ITM_HTM_WMAX 32     /* words a hardware attempt names for wake-ups */

struct stm_itm_tx {
    int mode;               /* enum stm_itm_mode */
    unsigned nesting;
    bool irrevocable;
    bool uninstrumented;    /* the outermost runs the uninstrumented copy */
    bool wrote_in_place;    /* serial: memory changed */
    uint32_t prop;          /* outermost properties */
    uint64_t snap, hsnap;
    stm_tx *core;           /* libstm's descriptor: stats, counted_active */
    uintptr_t stack_lo;     /* lowest address of this thread's stack */
    struct stm_itm_jb jb;   /* the outermost checkpoint (software paths) */
    void (*site)(void);     /* where the outermost began (adaptive policy) */
    uint64_t id;            /* 0 until _ITM_getTransactionId asks */
    unsigned aborts;        /* software aborts of this transaction */

    struct { struct stm_itm_rentry *e; size_t n, cap; } r;
    struct {
        struct stm_itm_wentry *e;
        size_t n, cap;
        uint64_t filter;    /* wait buckets / Bloom bits of written words */
        uint32_t *index;    /* entry + 1; open addressing */
        size_t index_mask;
    } w;
    struct { struct stm_itm_undo *e; size_t n, cap; char *arena; size_t an, acap; } u;
    struct { struct stm_itm_shadow *e; size_t n, cap; } shadow;
    struct { struct stm_itm_cp *e; size_t n, cap; } cp;
    struct { void **e; size_t n, cap; } allocs, frees;
    struct { struct stm_itm_action *e; size_t n, cap; } commit_acts, undo_acts;

    /* hardware attempt: frees to retire after the commit (0 outside one) */
    unsigned hw_nfrees;
    void *hw_frees[ITM_HTM_FREE_MAX];
    /* hardware attempt running the instrumented copy: the words it wrote
     * (rolled back with it), so that its commit wakes their waiters */
    unsigned hw_nw;
    uintptr_t hw_w[ITM_HTM_WMAX];
};

/* This thread's descriptor.  Before the first transaction (and after the
 * thread's destructor ran) it points at stm_itm_idle, a descriptor that is
 * never in a transaction and never written, so the barriers' mode checks
 * need no separate NULL test. */
extern __thread struct stm_itm_tx *stm_itm_tls __attribute__((tls_model("initial-exec")));
extern struct stm_itm_tx stm_itm_idle;
struct stm_itm_tx *stm_itm_create(void);

static inline struct stm_itm_tx *stm_itm_self(void)
{
    struct stm_itm_tx *t = stm_itm_tls;
    if (__builtin_expect(t == &stm_itm_idle, 0))
        t = stm_itm_create();
    return t;
}

/* Abandon the attempt (validation failed) and run the transaction again. */
__attribute__((noreturn)) void stm_itm_restart(struct stm_itm_tx *t);

/* --- access.c: the logs --- */
void stm_itm_read_bytes(struct stm_itm_tx *t, void *dst, const void *src, size_t n);
void stm_itm_write_bytes(struct stm_itm_tx *t, void *dst, const void *src, size_t n);
/* n copies of byte c */
void stm_itm_set_bytes(struct stm_itm_tx *t, void *dst, int c, size_t n);
/* Save the current bytes of [p, p+n) in the undo log (read non-
 * transactionally: thread-local data, or memory the serial owner holds). */
void stm_itm_undo_log(struct stm_itm_tx *t, const void *p, size_t n);
/* Restore undo entries from index `from` on, newest first, except those
 * on this thread's stack below live_from (the stack pointer at the begin
 * of the transaction being rolled back): dead frames, or ours. */
void stm_itm_undo_apply(struct stm_itm_tx *t, size_t from, uintptr_t live_from);
/* Re-read the read log at an even seq; adopt it as the snapshot, or
 * restart if a value changed. */
void stm_itm_validate(struct stm_itm_tx *t);
bool stm_itm_rlog_holds(const struct stm_itm_tx *t);
/* Write the redo log back (the caller holds seq); record the old bytes in
 * the undo log when `undo`. */
void stm_itm_write_back(struct stm_itm_tx *t, bool undo);
void stm_itm_wlog_clear(struct stm_itm_tx *t);
/* Roll the redo log back to n entries (a nested cancel). */
void stm_itm_wlog_truncate(struct stm_itm_tx *t, size_t n, size_t shadow_n);
/* Drop [p, p+n) from the logs after writing its logged bytes through. */
void stm_itm_drop(struct stm_itm_tx *t, const void *p, size_t n);
/* stm_itm_retry: the read log as libstm's (tx->rlog of t->core): each
 * piece's aligned word with its current value, except pieces on our own
 * stack and in blocks this attempt allocated.  Returns the entries made,
 * or -1 if a piece no longer holds what the attempt read (no need to
 * wait).  Memory must be as before the attempt (undo log replayed). */
int stm_itm_reads_to_core(struct stm_itm_tx *t);
/* Wake the waiters of the words the committed transaction wrote. */
void stm_itm_wake_written(struct stm_itm_tx *t);
/* A hardware attempt running instrumented code wrote [p, p+n). */
static inline void stm_itm_hw_note(struct stm_itm_tx *t, const void *p, size_t n)
{
    uintptr_t w = (uintptr_t)p & ~(uintptr_t)7, end = (uintptr_t)p + n;
    for (; w < end; w += 8) {
        unsigned k = t->hw_nw;
        if (k != 0 && k <= ITM_HTM_WMAX && t->hw_w[k - 1] == w)
            continue;
        if (k < ITM_HTM_WMAX)
            t->hw_w[k] = w;
        t->hw_nw = k + 1;
        if (k >= ITM_HTM_WMAX)
            return; /* overflowed: counted, not named */
    }
}
void stm_itm_logs_free(struct stm_itm_tx *t);

/* --- txn.c --- */
/* Enter serial irrevocable mode from the running attempt. */
void stm_itm_go_irrevocable(struct stm_itm_tx *t);
void stm_itm_push_action(struct stm_itm_tx *t, int which, void (*fn)(void *), void *arg);
void stm_itm_ptr_push(void ***e, size_t *n, size_t *cap, void *p);

/* --- alloc.c --- */
/* After the outermost commit: retire the logged frees past a grace
 * period, forget the allocations. */
void stm_itm_mem_commit(struct stm_itm_tx *t);
void stm_itm_mem_undo(struct stm_itm_tx *t, size_t allocs_from, size_t frees_from);

/* Our explicit hardware abort code beside libstm's (src/htm/htm.h): a
 * cancel of the outermost transaction, which the hardware has rolled back
 * already. */
#define ITM_HTM_CODE_CANCEL 0xf6

/* The hardware path runs on RTM (x86-64).  Elsewhere t->mode is never
 * ITM_HTM, and an abort is never asked for. */
#if defined(__x86_64__)
#define ITM_HAVE_HTM 1
#define ITM_HTM_ABORT(code) STM_RTM_ABORT(code)
#else
#define ITM_HTM_ABORT(code) ((void)0)
#endif

/* Fast-path helpers shared by the barriers. */
static inline uint64_t stm_itm_bit(uintptr_t word)
{
    return stm_wlog_bit((const void *)word);
}

#endif
