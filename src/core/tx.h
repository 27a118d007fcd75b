/* The per-thread transaction descriptor and its logs: the bottom of the
 * core (src/core/), below both back ends.  Internal. */
#ifndef STM_SRC_TX_H
#define STM_SRC_TX_H

#include <setjmp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stm.h"

/* The software attempt's restart point.  __builtin_setjmp/longjmp keep
 * only the frame and stack pointers and the resume address (the compiler
 * spills live registers around the setjmp): a few instructions instead of
 * glibc's _setjmp (about 28 with its pointer mangling and mask check).
 * __builtin_longjmp always delivers 1, so the reason travels in
 * tx->abort_reason.  The sanitizers intercept only the library functions
 * (ASan unpoisons the abandoned stack, TSan unwinds its shadow stack), so
 * sanitized builds keep those. */
#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || \
    __has_feature(memory_sanitizer)
#define STM_SANITIZED 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define STM_SANITIZED 1
#endif
#ifdef STM_SANITIZED
typedef jmp_buf stm_jmpbuf;
#define STM_SETJMP(jb) setjmp(jb)
#define STM_LONGJMP(jb) longjmp((jb), 1)
#else
typedef void *stm_jmpbuf[5]; /* the builtins use five words at most */
#define STM_SETJMP(jb) __builtin_setjmp(jb)
#define STM_LONGJMP(jb) __builtin_longjmp((jb), 1)
#endif

/* Which path the current attempt runs on. */
enum stm_mode {
    STM_MODE_NONE = 0,  /* not in a transaction */
    STM_MODE_HTM,       /* hardware (or its emulation) */
    STM_MODE_NOREC,     /* software */
    STM_MODE_SERIAL     /* holds the sequence lock odd: runs alone */
};

/* Why a software attempt was abandoned (the value longjmp carries). */
enum stm_abort_reason {
    STM_ABORT_VALIDATION = 1, /* a value read earlier changed: re-run */
    STM_ABORT_RETRY,          /* stm_retry(): block, then re-run */
    STM_ABORT_TO_SERIAL,      /* re-run serially (e.g. hardware asked) */
    STM_ABORT_RELOG           /* an unlogged attempt called stm_retry():
                                 re-run logging reads, so it can block */
};

struct stm_rentry {
    const stm_tvar *addr;
    uintptr_t val;
};

struct stm_wentry {
    stm_tvar *addr;
    uintptr_t val;
};
_Static_assert(sizeof(struct stm_wentry) == sizeof(struct stm__undo) &&
                   offsetof(struct stm_wentry, val) == offsetof(struct stm__undo, old),
               "stm.h's inline write shares the undo log's entries");

struct stm_rlog {
    struct stm_rentry *e;
    size_t n, cap;
};

/* Redo log.  Small logs are searched linearly (newest first); past
 * STM_WLOG_LINEAR entries an open-addressing index maps each address to its
 * newest entry.  `filter` is a 64-bit Bloom filter over addresses so that the
 * common read of an unwritten TVar skips the search entirely. */
#define STM_WLOG_LINEAR 16
struct stm_wlog {
    struct stm_wentry *e;
    size_t n, cap;
    uint64_t filter;
    uint32_t *index;     /* entry number + 1; 0 = empty slot */
    size_t index_cap;    /* slots allocated */
    size_t index_mask;   /* slots in use - 1 (power of two); 0 = no index */
};

struct stm_ptrlog {
    void **e;
    size_t n, cap;
};

/* One stm_or_else() scope: where its first branch lands when it retries,
 * and the log lengths to roll back to. */
struct stm_orelse_frame {
    jmp_buf jb;
    size_t wmark, umark, amark, fmark;
    size_t rmark;    /* reads before the branch (never dropped) */
    size_t prev_scope;
    struct stm_orelse_frame *prev;
};

#define STM_HTM_FREE_MAX 16
#define STM_HTM_WMAX 32 /* TVars a hardware attempt records for wake-ups */

struct stm_tx {
    /* first: stm.h's inline paths use it (ABI).  head.depth: 1 inside a
     * transaction (nested stm_atomically calls join it and leave it
     * alone), 0 outside; head.outer_frame: the outermost stm_atomically's
     * stack pointer while a transaction runs, NULL outside (nested calls,
     * misuse detection) */
    struct stm_tx_head head;
    /* The top-level fast path's restart point (atomically.c; on x86-64
     * its assembly entry): the caller's callee-saved registers, fn and
     * arg (its stack pointer is head.outer_frame).  Fixed offsets: the
     * assembly uses them. */
    struct stm_fast_ctx {
        void *rbx, *rbp, *r12, *r13, *r14, *r15;
        stm_fn fn;
        void *arg;
    } fctx;
    /* the restart point (STM_SETJMP); NULL (outside sw_frame and
     * outer_fast): fctx's */
    stm_jmpbuf *abort_jb;
    /* hot: touched by every access */
    int mode;                 /* enum stm_mode */
    /* NOrec: this attempt logs its reads.  An unlogged attempt (only when
     * no hardware path exists, so hw_commits never moves) returns a read
     * only while seq still equals snap, commits by CASing seq from snap,
     * and restarts logged when seq moved: with no commit since the
     * snapshot its reads need no record (TML's argument: Dalessandro,
     * Dice, Scott, Shavit, Spear, "Transactional Mutex Locks", Euro-Par
     * 2010). */
    bool logged;
    uint64_t snap;            /* NOrec: seq value our reads agree with */
    uint64_t hsnap;           /* NOrec: hw_commits value likewise */
    struct stm_rlog rlog;
    struct stm_wlog wlog;
    /* writes below this write-log index belong to an enclosing orElse
     * scope: a branch must not overwrite them in place */
    size_t wscope;
    /* Serial mode (this thread holds seq odd) writes in place and keeps
     * the old values here, (address, old value) in write order, for
     * stm_retry and stm_or_else to undo; only e, n and cap are used.  Its
     * write log stays empty. */
    struct stm_wlog ulog;
    bool dirty;               /* serial: wrote in place during this hold */
    /* serial mode was entered by an unlogged attempt's first write (TML's
     * writer: Dalessandro et al., Euro-Par 2010), not asked for: its commit
     * counts as a software one */
    bool tml;

    bool irrevocable;         /* stm_irrevocable() was called */
    bool gated;               /* serial: holds the serial gate (gate.h) */
    unsigned gated_left;      /* serial attempts still to take the gate */
    bool counted_active;      /* we incremented sw_active */
    /* the attempt runs outside an RCU read-side section (no block was
     * ever retired when it began: memory.c); read by a thread retiring the
     * first block */
    bool unguarded;
    /* transactions of this thread that still start logged because an
     * unlogged first attempt failed recently (atomically.c) */
    unsigned logged_left;
    int abort_reason;         /* enum stm_abort_reason of the last abort */
    size_t abort_reads;       /* read-log length at the last abort */
    /* run_software's state across attempts of one transaction */
    stm_fn sw_fn;
    void *sw_arg;
    unsigned sw_aborts;       /* validation aborts so far */
    bool sw_serial;           /* next attempt: serial */
    bool sw_logged;           /* next attempt: keeps a read log */
    bool sw_adaptive;         /* contention adaptation applies */
    /* contention adaptation (atomically.c) */
    uint32_t contention;      /* average aborts per transaction, scaled */
    uint64_t last_seq;        /* seq after this thread's last fast-path
                                 transaction (atomically.c) */
    /* transaction functions whose last run had to go serial, and how many
     * more of their runs start serially (atomically.c, "Long readers") */
#define STM_SERIAL_HINTS 8
    stm_fn serial_hint[STM_SERIAL_HINTS];
    stm_fn serial_cand[STM_SERIAL_HINTS]; /* went serial once */
    unsigned serial_hints_on;  /* non-NULL entries of serial_hint */
    unsigned serial_hint_left[STM_SERIAL_HINTS];
    unsigned serial_left;     /* transactions still to start serially */
    struct stm_orelse_frame *orelse;

    struct stm_ptrlog allocs; /* stm_alloc blocks, freed on abort */
    struct stm_ptrlog frees;  /* stm_free blocks, released after commit */

    /* hardware attempt state; written inside the hardware transaction, so
     * rolled back with it */
    unsigned hw_nw;           /* TVars written (wait.h, stm_hw_note_write) */
    unsigned hw_nfrees;
    void *hw_frees[STM_HTM_FREE_MAX];
    stm_tvar *hw_w[STM_HTM_WMAX];

    /* monotonic per-thread counters; read by other threads (relaxed) */
    struct stm_stats stats;
    /* STM_STATS=2 (the front's src/stm/sites.h): the thread's per-site
     * table, and the same pointer while the next outermost transaction is
     * to be profiled (NULL while one is) */
    struct stm_site_table *site_table, *sites;

    /* thread registry */
    struct stm_tx *next, *prev;
    void *rcu_reader;         /* this thread's liburcu reader record (fork.c) */
};

/* head.lib_private, the library's bytes of the ABI head:
 * STM_IN_LIB: misuse detection (stm_atomically, stm_store): set while
 * libstm's own code runs in this thread, outside transaction bodies, so
 * that a signal handler calling in is caught (head.outer_frame catches a
 * nested call made after a body was left by longjmp).
 * STM_FAST_OFF: set while the thread's next top-level transaction must
 * look at more than the fast path's entry checks (a streak, a serial
 * hint, per-site statistics: stm__atomically_top).
 * With head.depth they make one 8-byte word that is 0 exactly when a
 * top-level call may take the fast path's entry (atomically.c's
 * assembly). */
#define STM_IN_LIB(tx) ((tx)->head.lib_private[0])
#define STM_FAST_OFF(tx) ((tx)->head.lib_private[1])
#define STM_TX_OFF_DEPTH 32
#define STM_STR_(x) #x
#define STM_STR(x) STM_STR_(x)
/* atomically.c's assembly restart point: x86-64 ELF, without shadow
 * stacks (__CET__) and sanitizers (their longjmp interceptors) */
#if defined(__x86_64__) && defined(__ELF__) && !defined(STM_SANITIZED) && !defined(__CET__)
#define STM_FAST_ASM 1
#else
#define STM_FAST_ASM 0
#endif
#define STM_TX_OFF_FCTX 40
#if UINTPTR_MAX == UINT64_MAX
_Static_assert(offsetof(struct stm_tx, head.outer_frame) == 24 &&
                   offsetof(struct stm_tx, head.depth) == STM_TX_OFF_DEPTH &&
                   offsetof(struct stm_tx, head.lib_private) == STM_TX_OFF_DEPTH + 4 &&
                   offsetof(struct stm_tx, fctx) == STM_TX_OFF_FCTX,
               "the offsets atomically.c's assembly uses");
#endif

/* STM_FAST_OFF from the fields it summarizes (wherever they may have
 * changed: the end of a top-level transaction on the general path, a
 * descriptor's creation, a streak's start) */
static inline void stm_fast_recheck(stm_tx *tx)
{
    STM_FAST_OFF(tx) =
        ((uintptr_t)tx->sites | tx->serial_left | tx->logged_left | tx->serial_hints_on) != 0;
}

/* Count one event in this thread's stats: only the owner writes, others read
 * relaxed in stm_stats_get(), so a plain load + relaxed store suffices.
 * On x86-64 one add to memory does both (its store is one aligned 8-byte
 * write, which a reader sees whole); compilers do not fuse the atomic
 * pair into it.  Sanitizers see the pair. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(STM_SANITIZED)
#define STM_STAT_ADD(tx, field, v)                                             \
    __asm__("addq %1, %0" : "+m"((tx)->stats.field) : "er"((uint64_t)(v)))
#else
#define STM_STAT_ADD(tx, field, v)                                             \
    __atomic_store_n(&(tx)->stats.field,                                       \
                     __atomic_load_n(&(tx)->stats.field, __ATOMIC_RELAXED) + (v), \
                     __ATOMIC_RELAXED)
#endif
#define STM_STAT_INC(tx, field) STM_STAT_ADD(tx, field, 1)

/* TLS model of libstm's thread-local words (this descriptor, and the
 * liburcu reader record that attempt.c reads inline).  initial-exec costs
 * one instruction per access but needs the defining library in the static
 * TLS block, so a libstm loaded with dlopen() (plugins, Python ctypes)
 * failed to load: "cannot allocate memory in static TLS block".  The
 * default model instead; the build compiles it with TLS descriptors
 * (-mtls-dialect=gnu2 where the compiler has it, configure.ac), which for
 * a library loaded at start-up resolve to a two-instruction call
 * (measured: doc/FACTS.md).  -DSTM_TLS_INITIAL_EXEC restores the old model
 * for programs that never dlopen libstm. */
#ifdef STM_TLS_INITIAL_EXEC
#define STM_TLS_MODEL __attribute__((tls_model("initial-exec")))
#else
#define STM_TLS_MODEL
#endif

/* This thread's descriptor, STM_NO_DESC until the front creates it on
 * the thread's first use (stm_tx_self, src/stm/runtime.h) and after its
 * thread-exit destructor.  Exported as stm__self and (stm.h's name since
 * head version 3) stm__tx for stm.h's inline stm_atomically, which so
 * needs no NULL test.  Defined in attempt.c. */
#define STM_NO_DESC ((stm_tx *)(void *)&stm__no_tx) /* only its head exists */
#define stm_tls_tx stm__self
extern __thread stm_tx *stm_tls_tx STM_TLS_MODEL;



/* Log helpers (src/stm/log.c).  Growth doubles; logs live as long as the
 * thread, so steady state does no allocation. */
void stm_rlog_grow(struct stm_rlog *l);
void stm_wlog_grow(struct stm_wlog *l);
void stm_wlog_index_rebuild(struct stm_wlog *l);
void stm_ptrlog_push(struct stm_ptrlog *l, void *p);
void stm_wlog_truncate(struct stm_wlog *l, size_t n);
void stm_logs_free(stm_tx *tx);

static inline uint64_t stm_wlog_bit(const void *addr)
{
    uintptr_t a = (uintptr_t)addr;
    return 1ull << ((a >> 3 ^ a >> 9) & 63);
}

static inline size_t stm_wlog_hash(const void *addr, size_t mask)
{
    uint64_t a = (uint64_t)(uintptr_t)addr;
    a *= 0x9e3779b97f4a7c15ull; /* Fibonacci hashing */
    return (size_t)(a >> 32) & mask;
}

/* The newest write-log entry for addr, or NULL. */
static inline struct stm_wentry *stm_wlog_find(struct stm_wlog *l, const void *addr)
{
    if (!(l->filter & stm_wlog_bit(addr)))
        return NULL;
    if (l->index_mask) {
        for (size_t h = stm_wlog_hash(addr, l->index_mask);; h = (h + 1) & l->index_mask) {
            uint32_t k = l->index[h];
            if (k == 0)
                return NULL;
            if (l->e[k - 1].addr == addr)
                return &l->e[k - 1];
        }
    }
    for (size_t i = l->n; i-- > 0;)
        if (l->e[i].addr == addr)
            return &l->e[i];
    return NULL;
}

/* Serial mode's undo log without filter or index (an unlogged attempt
 * never looks an address up in it): remember tv's old word. */
static inline void stm_ulog_push(struct stm_wlog *u, stm_tvar *tv, uintptr_t old)
{
    if (__builtin_expect(u->n == u->cap, 0))
        stm_wlog_grow(u);
    u->e[u->n].addr = tv;
    u->e[u->n].val = old;
    u->n++;
}

/* stm.h's inline write appends to the undo log of an unlogged attempt
 * through head.ucur (up to head.uend), without the library (its first
 * write takes seq); while the cursor is open, ulog.n is stale.  The
 * library opens it (stm_ulog_open, from ulog.n) at an unlogged NOrec
 * attempt's begin and after a write of its own, and settles it (ulog.n
 * from the cursor, cursor closed) before anything else looks at the undo
 * log: the wake-ups after a commit, abort, stm_or_else, a write that needs
 * room.  The clean-up after a commit closes it.
 * Entries are struct stm_wentry here, struct stm__undo in stm.h: the same
 * two words. */
static inline void stm_ulog_settle(stm_tx *tx)
{
    if (tx->head.uend != NULL) {
        tx->ulog.n = (size_t)((struct stm_wentry *)(void *)tx->head.ucur - tx->ulog.e);
        tx->head.ucur = tx->head.uend = NULL;
    }
}

static inline void stm_ulog_open(stm_tx *tx)
{
    tx->head.ucur = (struct stm__undo *)(void *)(tx->ulog.e + tx->ulog.n);
    tx->head.uend = (struct stm__undo *)(void *)(tx->ulog.e + tx->ulog.cap);
}

/* Restore the words of undo-log entries from index `mark` on, newest
 * first, and drop them.  Only while this thread holds seq. */
void stm_ulog_undo(struct stm_wlog *u, size_t mark);

/* Point the index at entry i (the newest for its address). */
void stm_wlog_index_put(struct stm_wlog *l, size_t i);

/* Append (addr, val) as the newest entry. */
static inline void stm_wlog_append(struct stm_wlog *l, stm_tvar *addr, uintptr_t val)
{
    if (__builtin_expect(l->n == l->cap, 0))
        stm_wlog_grow(l);
    l->e[l->n].addr = addr;
    l->e[l->n].val = val;
    l->filter |= stm_wlog_bit(addr);
    l->n++;
    if (l->index_mask)
        stm_wlog_index_put(l, l->n - 1);
    else if (__builtin_expect(l->n > STM_WLOG_LINEAR, 0))
        stm_wlog_index_rebuild(l);
}

static inline void stm_rlog_append(struct stm_rlog *l, const stm_tvar *addr, uintptr_t val)
{
    if (__builtin_expect(l->n == l->cap, 0))
        stm_rlog_grow(l);
    l->e[l->n].addr = addr;
    l->e[l->n].val = val;
    l->n++;
}

static inline void stm_wlog_clear(struct stm_wlog *l)
{
    l->n = 0;
    l->filter = 0;
    l->index_mask = 0; /* the buffer is kept for the next large transaction */
}

#endif
