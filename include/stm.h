/*
 * libstm: composable memory transactions for C.
 *
 * Haskell STM's semantics (TVar, atomically, retry, orElse) executed in
 * hardware transactional memory (Intel RTM, IBM POWER HTM) where the CPU has
 * it and in a software NOrec STM otherwise.  One API for every path: user
 * code never changes.
 *
 *     #include <stm.h>          cc prog.c $(pkg-config --cflags --libs libstm)
 *
 * Rules of use
 *  - A transaction is a function `intptr_t fn(stm_tx *tx, void *arg)` run by
 *    stm_atomically().  It may run several times before it commits: it must
 *    touch shared state only through stm_read()/stm_write() (or the typed
 *    helpers), and do no I/O unless it called stm_irrevocable() first.
 *  - Every value a transaction reads is consistent with every other value it
 *    read (opacity), even in an attempt that will be aborted.
 *  - Transactions compose: stm_atomically() called inside a transaction joins
 *    it, so `transfer` may be `withdraw` then `deposit`, each of which is also
 *    a complete transaction on its own.
 *  - Threads need no registration: first use registers, thread exit cleans up.
 *  - Misuse (a NULL TVar, a transactional call outside a transaction, a
 *    retry that could never wake, a body left by longjmp) prints a message
 *    naming the call on stderr and calls abort().  No function is
 *    async-signal-safe; see stm(3) for what is detected.
 *  - Locals of the calling function that a transaction modifies are not
 *    rolled back on abort; keep transaction results in TVars or the return
 *    value.
 *
 * Tuning is done with environment variables, see stm(7).
 */
#ifndef STM_H
#define STM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) && __GNUC__ >= 4
#define STM_API __attribute__((visibility("default")))
#else
#define STM_API
#endif

#define STM_VERSION_MAJOR 0
#define STM_VERSION_MINOR 4
#define STM_VERSION_PATCH 0

/* The per-thread transaction descriptor; opaque. */
typedef struct stm_tx stm_tx;

/* A transactional variable: one machine word.  Embed it in your own structs
 * or allocate one with stm_tvar_new().  Only access it through this API. */
typedef struct {
    uintptr_t word;
} stm_tvar;

/* Static initializer: `stm_tvar balance = STM_TVAR_INIT(100);` */
#define STM_TVAR_INIT(v) { (uintptr_t)(v) }

/* Initialize an embedded TVar before it is shared (no transaction needed). */
static inline void stm_tvar_init(stm_tvar *tv, uintptr_t init) { tv->word = init; }

/* Allocate a TVar holding `init`.  Returns NULL with errno = ENOMEM.
 * Inside a transaction the TVar is released again if the attempt aborts. */
STM_API stm_tvar *stm_tvar_new(uintptr_t init);

/* Free a TVar from stm_tvar_new().  Reclamation is deferred until no running
 * transaction can still see it (an RCU grace period).  Freeing anything else
 * (stm_alloc() memory too) is reported as misuse.  NULL is ignored. */
STM_API void stm_tvar_free(stm_tvar *tv);

/* A transaction body.  Its return value is what stm_atomically() returns. */
typedef intptr_t (*stm_fn)(stm_tx *tx, void *arg);

/* Run fn(tx, arg) atomically and in isolation, re-running it until it
 * commits; returns fn's result from the attempt that committed.  Called
 * inside a transaction it joins the enclosing transaction (flat nesting). */
STM_API intptr_t stm_atomically(stm_fn fn, void *arg);

/* Transactional read and write of one word. */
STM_API uintptr_t stm_read(stm_tx *tx, const stm_tvar *tv);
STM_API void stm_write(stm_tx *tx, stm_tvar *tv, uintptr_t value);

/* The inline fast paths (ABI version STM_TX_HEAD_VERSION).  Every
 * descriptor begins with a struct stm_tx_head, and the library exports its
 * global version clock stm__clock.
 *  - Read: while the clock equals the head's `rsnap`, no transaction has
 *    committed since the running attempt took its snapshot and the attempt
 *    needs no record of what it reads, so a word loaded from a TVar is
 *    returned as it is (the seqlock reader: load, acquire fence, re-check
 *    the clock).  The library keeps rsnap at a value the clock never takes
 *    (2 mod 4) whenever the inline read must not be used: outside a
 *    transaction, on a path that logs its reads.
 *  - Nested stm_atomically: the calling thread's descriptor is the
 *    exported thread-local stm__tx (&stm__no_tx before the thread's first
 *    transaction, never NULL; stm__self, the name programs built with
 *    head version 2 use, is the same variable: a program built with this
 *    head names stm__tx, which an older libstm lacks, so it does not load
 *    there).  `outer_frame` is the outermost stm_atomically's stack
 *    pointer while a transaction runs and NULL outside one: a call whose
 *    stack pointer lies below it joins the running transaction by calling
 *    fn directly.  Every other call goes to stm__atomically_enter, which
 *    starts a transaction or (depth set: the enclosing body was left by
 *    longjmp) reports the misuse.  `lib_private` is the library's.
 *  - Write: while `ucur` != `uend`, the attempt may write in place: if
 *    rsnap is even (its first write) it takes the clock by moving it from
 *    rsnap to rsnap + 1, as the library's own first write would, and sets
 *    rsnap to match; holding the clock it runs alone, so it stores the
 *    TVar's old word at ucur (for undo), advances ucur and stores the new
 *    word.  The library opens the cursor only in an attempt that keeps no
 *    logs (rsnap 0 or 1 mod 4) and sets ucur = uend (NULL) whenever the
 *    inline write must not be used.
 * Every other case (a NULL descriptor or TVar included, through the
 * never-matching stm__no_tx) goes to the library's stm_read/stm_write,
 * which handle everything (logs, validation, hardware, misuse).  A library
 * whose head or clock changes layout or meaning changes its soname.
 * Define STM_NO_INLINE before including stm.h to call the library for
 * every access and every stm_atomically. */
#define STM_TX_HEAD_VERSION 3
struct stm__undo {
    stm_tvar *tv;
    uintptr_t old;
};
struct stm_tx_head {
    uint64_t rsnap;
    struct stm__undo *ucur, *uend;
    void *outer_frame; /* the outermost stm_atomically's stack; NULL outside */
    unsigned depth;    /* 1 inside a transaction, 0 outside */
    unsigned char lib_private[4];
};
struct stm__clock {
    uint64_t seq; /* odd while a writer writes back; internal */
    unsigned char pad[120]; /* a cache line (two on x86) of its own */
}
#if defined(__GNUC__)
__attribute__((aligned(128)))
#endif
;
extern STM_API struct stm__clock stm__clock;
/* The head the inline paths use for a NULL descriptor: it never matches,
 * so the library reports the misuse.  (Selecting it is a register move the
 * compiler hoists out of loops, where a NULL test would stay in them.) */
extern STM_API const struct stm_tx_head stm__no_tx;
#if defined(__GNUC__)
extern STM_API __thread stm_tx *stm__tx;
/* stm_atomically where the inline one cannot join: tx is the caller's
 * stm__tx (&stm__no_tx before its first transaction), fn not NULL, and
 * the stack pointer is not below tx's outer_frame.  (stm__atomically_top,
 * the same outside a transaction, serves programs built with head
 * version 2.) */
STM_API intptr_t stm__atomically_enter(stm_tx *tx, stm_fn fn, void *arg);
STM_API intptr_t stm__atomically_top(stm_tx *tx, stm_fn fn, void *arg);
/* The stack pointer (the library compares it with outer_frame too). */
static inline uintptr_t stm__stack_pointer(void)
{
    uintptr_t sp;
#if defined(__x86_64__)
    __asm__("mov %%rsp, %0" : "=r"(sp));
#elif defined(__powerpc64__)
    __asm__("mr %0, 1" : "=r"(sp));
#elif defined(__aarch64__)
    __asm__("mov %0, sp" : "=r"(sp));
#else
    sp = (uintptr_t)__builtin_frame_address(0);
#endif
    return sp;
}
#endif
/* ThreadSanitizer does not model the fence (GCC warns): sanitized
 * programs call the library, which is instrumented as a whole. */
#if defined(__SANITIZE_THREAD__) && !defined(STM_NO_INLINE)
#define STM_NO_INLINE 1
#endif
#if defined(__has_feature)
#if __has_feature(thread_sanitizer) && !defined(STM_NO_INLINE)
#define STM_NO_INLINE 1
#endif
#endif
#if defined(__GNUC__) && !defined(STM_NO_INLINE)

static inline struct stm_tx_head *stm__head(stm_tx *tx)
{
    return tx != NULL ? (struct stm_tx_head *)(void *)tx
                      : (struct stm_tx_head *)(void *)&stm__no_tx;
}

static inline uintptr_t stm__read_inline(stm_tx *tx, const stm_tvar *tv)
{
    const struct stm_tx_head *h = stm__head(tx);
    if (__builtin_expect(tv != NULL, 1)) {
        uintptr_t v = __atomic_load_n(&tv->word, __ATOMIC_RELAXED);
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        if (__builtin_expect(__atomic_load_n(&stm__clock.seq, __ATOMIC_RELAXED) == h->rsnap, 1))
            return v;
    }
    return stm_read(tx, tv);
}

static inline void stm__write_inline(stm_tx *tx, stm_tvar *tv, uintptr_t value)
{
    struct stm_tx_head *h = stm__head(tx);
    struct stm__undo *u = h->ucur;
    if (__builtin_expect(u != h->uend && tv != NULL, 1)) {
        uint64_t r = h->rsnap;
        if (!(r & 1)) {
            /* the attempt's first write: take the clock from the snapshot
             * to snapshot + 1 (fails if anybody committed since: the
             * library then aborts the attempt); the release fence orders
             * that before the in-place stores */
            if (!__atomic_compare_exchange_n(&stm__clock.seq, &r, r + 1, 0, __ATOMIC_SEQ_CST,
                                             __ATOMIC_RELAXED))
                goto call;
            __atomic_thread_fence(__ATOMIC_RELEASE);
            h->rsnap = r + 1;
        }
        u->tv = tv;
        u->old = __atomic_load_n(&tv->word, __ATOMIC_RELAXED);
        h->ucur = u + 1;
        __atomic_store_n(&tv->word, value, __ATOMIC_RELAXED);
        return;
    }
call:
    stm_write(tx, tv, value);
}
static inline intptr_t stm__atomically_inline(stm_fn fn, void *arg)
{
    stm_tx *tx = stm__tx; /* never NULL */
    if (__builtin_expect(fn != NULL, 1)) {
        const struct stm_tx_head *h = (const struct stm_tx_head *)(const void *)tx;
        if (stm__stack_pointer() < (uintptr_t)h->outer_frame)
            return fn(tx, arg);
        return stm__atomically_enter(tx, fn, arg);
    }
    return stm_atomically(fn, arg);
}
/* Function-like macros: `&stm_read` and `(stm_read)(tx, tv)` still name
 * the library functions. */
#define stm_read(tx, tv) stm__read_inline((tx), (tv))
#define stm_write(tx, tv, v) stm__write_inline((tx), (tv), (v))
#define stm_atomically(fn, arg) stm__atomically_inline((fn), (arg))
#endif

/* Typed helpers: the word holds an intptr_t, a pointer, or the bits of a
 * double (64-bit targets only for double). */
static inline intptr_t stm_read_int(stm_tx *tx, const stm_tvar *tv)
{
    return (intptr_t)stm_read(tx, tv);
}
static inline void stm_write_int(stm_tx *tx, stm_tvar *tv, intptr_t v)
{
    stm_write(tx, tv, (uintptr_t)v);
}
static inline void *stm_read_ptr(stm_tx *tx, const stm_tvar *tv)
{
    return (void *)stm_read(tx, tv);
}
static inline void stm_write_ptr(stm_tx *tx, stm_tvar *tv, void *p)
{
    stm_write(tx, tv, (uintptr_t)p);
}
#if UINTPTR_MAX == UINT64_MAX
static inline double stm_word_to_double(uintptr_t w)
{
    union { uintptr_t w; double d; } u;
    u.w = w;
    return u.d;
}
static inline uintptr_t stm_double_to_word(double d)
{
    union { uintptr_t w; double d; } u;
    u.d = d;
    return u.w;
}
static inline double stm_read_double(stm_tx *tx, const stm_tvar *tv)
{
    return stm_word_to_double(stm_read(tx, tv));
}
static inline void stm_write_double(stm_tx *tx, stm_tvar *tv, double d)
{
    stm_write(tx, tv, stm_double_to_word(d));
}
#endif

/* Abandon this attempt and block until some TVar read so far is changed by
 * another committed transaction (or freed), then run the transaction again.
 * Inside the first branch of stm_or_else() it moves on to the second branch
 * instead.  A retry with nothing read (it could never wake) is reported as
 * misuse.  A cancellation point, like pthread_cond_wait().  An attempt that
 * kept no record of its reads (the software path's first attempt, see
 * stm(7)) runs the transaction once more, recording them, before it
 * blocks. */
#if defined(__GNUC__)
__attribute__((noreturn))
#endif
STM_API void stm_retry(stm_tx *tx);

/* Run first(tx, a1); if it calls stm_retry(), undo its writes (keeping what
 * it read) and return second(tx, a2) instead.  If second retries too, the
 * whole transaction blocks on everything both read.  Nests to any depth. */
STM_API intptr_t stm_or_else(stm_tx *tx, stm_fn first, void *a1,
                             stm_fn second, void *a2);

/* From here on the transaction cannot abort and may perform I/O.  It runs
 * alone (all other transactions wait), so use sparingly.  stm_retry() after
 * this call is misuse. */
STM_API void stm_irrevocable(stm_tx *tx);

/* Memory whose lifetime follows the transaction.  stm_alloc(): freed again
 * if the attempt aborts; NULL on failure.  stm_free(): takes effect when the
 * transaction commits, and the memory is reused only after no transaction
 * can still see it.  stm_free() accepts only memory from stm_alloc() or
 * stm_tvar_new() (or NULL). */
STM_API void *stm_alloc(stm_tx *tx, size_t n);
STM_API void stm_free(stm_tx *tx, void *p);

/* Outside a transaction: one atomic read or write, ordered with every
 * transaction (a load never sees part of a commit).  stm_store() counts as
 * a committed write: it wakes transactions blocked in stm_retry(). */
STM_API uintptr_t stm_load(const stm_tvar *tv);
STM_API void stm_store(stm_tvar *tv, uintptr_t v);

/* The first path stm_atomically() tries, after the CPU probe and STM_MODE:
 * "rtm", "power-htm", "emu-htm" (tests), "norec" or "serial". */
STM_API const char *stm_path(void);

/* Process-wide counters: live threads and threads that exited. */
struct stm_stats {
    uint64_t commits_htm;          /* committed in hardware */
    uint64_t commits_stm;          /* committed in NOrec software */
    uint64_t commits_serial;       /* committed serially (irrevocable) */
    uint64_t aborts_htm_conflict;  /* hardware: data conflict */
    uint64_t aborts_htm_capacity;  /* hardware: footprint overflow */
    uint64_t aborts_htm_explicit;  /* hardware: our own abort codes */
    uint64_t aborts_htm_other;     /* hardware: status 0, debug, nested,
                                      persistent */
    uint64_t aborts_stm;           /* software validation failures */
    uint64_t retries_blocked;      /* times a thread blocked in stm_retry */
    uint64_t wakeups;              /* blocked threads woken by committing
                                      writers (one per thread woken) */
    uint64_t htm_busy_waits;       /* hardware: waits for a software writer */
    uint64_t htm_skipped_adaptive; /* transactions that skipped hardware
                                      because their site kept failing there */
};
STM_API void stm_stats_get(struct stm_stats *out);
STM_API void stm_stats_reset(void);

/* The same counters for one transaction site: the transactions whose
 * outermost stm_atomically() ran `site` (nested calls join the outermost
 * one and count there), since start or the last stm_stats_reset().  Needs
 * STM_STATS=2 in the environment; returns 0 (out filled, zero for a site
 * that never ran), or -1 (out zeroed) when per-site statistics are off. */
STM_API int stm_stats_site(stm_fn site, struct stm_stats *out);

#ifdef __cplusplus
}
#endif

#endif /* STM_H */
