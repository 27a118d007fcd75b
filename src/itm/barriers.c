/* The ABI's loads, stores, logging and memory-transfer functions, generated
 * by macros over the types of libitm.h.  Every variant (R, RaR, RaW, RfW;
 * W, WaR, WaW) has the same semantics here: NOrec needs no early locking,
 * and a read after a write consults the redo log anyway.
 *
 * Scalars of 1, 2, 4 and 8 bytes, naturally aligned, take an inline fast
 * path in software (one atomic load, a fence, two counter loads and a log
 * append; the same work as libstm's stm_read); everything else goes
 * through access.c byte-precisely.  In hardware every access is a plain
 * one (the hardware transaction is the isolation). */
#include <stdlib.h>
#include <string.h>

#include "../core/hybrid.h"
#include "../core/misuse.h"
#include "itm.h"

typedef uint8_t itm_U1;
typedef uint16_t itm_U2;
typedef uint32_t itm_U4;
typedef uint64_t itm_U8;
typedef float itm_F;
typedef double itm_D;
typedef long double itm_E;
typedef float _Complex itm_CF;
typedef double _Complex itm_CD;
typedef long double _Complex itm_CE;
#if defined(__x86_64__)
/* the vector types exist in the ABI on x86 only (libitm.h) */
typedef int itm_M64 __attribute__((vector_size(8), may_alias));
typedef float itm_M128 __attribute__((vector_size(16), may_alias));
typedef float itm_M256 __attribute__((vector_size(32), may_alias));
#endif

static __attribute__((noinline)) void read_slow(void *dst, const void *src, size_t n)
{
    stm_itm_read_bytes(stm_itm_tls, dst, src, n);
}

static __attribute__((noinline)) void write_slow(void *dst, const void *src, size_t n)
{
    stm_itm_write_bytes(stm_itm_tls, dst, src, n);
}

/* Fast reads of naturally aligned scalars that the transaction has not
 * written, in NOrec with room in the read log and the counters unchanged;
 * otherwise the generic path, which repeats the whole operation.  An empty
 * write filter (a transaction that has not written) needs no hashing. */
#define ITM_FAST_READ(ty, ity, p)                                              \
    do {                                                                       \
        struct stm_itm_tx *t_ = stm_itm_tls;                                   \
        uintptr_t a_ = (uintptr_t)(p);                                         \
        uint64_t f_ = t_->w.filter;                                            \
        if (__builtin_expect(t_->mode == ITM_NOREC &&                          \
                                 (a_ & (sizeof(ty) - 1)) == 0 &&               \
                                 (f_ == 0 || !(f_ & stm_itm_bit(a_ & ~(uintptr_t)7))) && \
                                 t_->r.n != t_->r.cap,                         \
                             1)) {                                             \
            ity v_ = __atomic_load_n((const ity *)(p), __ATOMIC_RELAXED);     \
            __atomic_thread_fence(__ATOMIC_ACQUIRE);                           \
            if (__builtin_expect(                                              \
                    __atomic_load_n(STM_SEQ, __ATOMIC_RELAXED) == t_->snap &&  \
                        __atomic_load_n(STM_HW_COMMITS, __ATOMIC_RELAXED) == t_->hsnap, \
                    1)) {                                                      \
                struct stm_itm_rentry *e_ = &t_->r.e[t_->r.n++];               \
                e_->key = ITM_RKEY(a_, sizeof(ty));                            \
                e_->val = v_;                                                  \
                ty r_;                                                         \
                memcpy(&r_, &v_, sizeof r_);                                   \
                return r_;                                                     \
            }                                                                  \
        } else if (t_->mode == ITM_HTM) {                                      \
            return *(p);                                                       \
        }                                                                      \
    } while (0)

#define ITM_READ_SCALAR(T, ity)                                                \
    static inline itm_##T read_##T(const itm_##T *p)                           \
    {                                                                          \
        ITM_FAST_READ(itm_##T, ity, p);                                        \
        itm_##T v;                                                             \
        read_slow(&v, p, sizeof v);                                            \
        return v;                                                              \
    }
#define ITM_READ_OTHER(T)                                                      \
    static inline itm_##T read_##T(const itm_##T *p)                           \
    {                                                                          \
        itm_##T v;                                                             \
        read_slow(&v, p, sizeof v);                                            \
        return v;                                                              \
    }

/* In hardware a store is a plain store; in software it goes to the log. */
#define ITM_WRITE_ANY(T)                                                       \
    static inline void write_##T(itm_##T *p, itm_##T v)                        \
    {                                                                          \
        struct stm_itm_tx *t_ = stm_itm_tls;                                   \
        if (__builtin_expect(t_->mode == ITM_HTM, 1)) {                        \
            *p = v;                                                            \
            stm_itm_hw_note(t_, p, sizeof v);                                  \
            return;                                                            \
        }                                                                      \
        write_slow(p, &v, sizeof v);                                           \
    }

#define ITM_FAMILY(T)                                                          \
    ITM_WRITE_ANY(T)                                                           \
    ITM_EXPORT itm_##T _ITM_R##T(const itm_##T *p);                            \
    ITM_EXPORT itm_##T _ITM_R##T(const itm_##T *p) { return read_##T(p); }     \
    ITM_EXPORT itm_##T _ITM_RaR##T(const itm_##T *p);                          \
    ITM_EXPORT itm_##T _ITM_RaR##T(const itm_##T *p) { return read_##T(p); }   \
    ITM_EXPORT itm_##T _ITM_RaW##T(const itm_##T *p);                          \
    ITM_EXPORT itm_##T _ITM_RaW##T(const itm_##T *p) { return read_##T(p); }   \
    ITM_EXPORT itm_##T _ITM_RfW##T(const itm_##T *p);                          \
    ITM_EXPORT itm_##T _ITM_RfW##T(const itm_##T *p) { return read_##T(p); }   \
    ITM_EXPORT void _ITM_W##T(itm_##T *p, itm_##T v);                          \
    ITM_EXPORT void _ITM_W##T(itm_##T *p, itm_##T v) { write_##T(p, v); }      \
    ITM_EXPORT void _ITM_WaR##T(itm_##T *p, itm_##T v);                        \
    ITM_EXPORT void _ITM_WaR##T(itm_##T *p, itm_##T v) { write_##T(p, v); }    \
    ITM_EXPORT void _ITM_WaW##T(itm_##T *p, itm_##T v);                        \
    ITM_EXPORT void _ITM_WaW##T(itm_##T *p, itm_##T v) { write_##T(p, v); }    \
    ITM_EXPORT void _ITM_L##T(const itm_##T *p);                               \
    ITM_EXPORT void _ITM_L##T(const itm_##T *p) { _ITM_LB(p, sizeof *p); }

ITM_EXPORT void _ITM_LB(const void *p, size_t n);
ITM_EXPORT void _ITM_LB(const void *p, size_t n)
{
    /* the hardware rolls thread-local data back itself */
    struct stm_itm_tx *t = stm_itm_tls;
    if (t->nesting == 0)
        stm_fatal("_ITM_LB", "called outside a transaction");
    if (t->mode != ITM_HTM)
        stm_itm_undo_log(t, p, n);
}

ITM_READ_SCALAR(U1, uint8_t)
ITM_READ_SCALAR(U2, uint16_t)
ITM_READ_SCALAR(U4, uint32_t)
ITM_READ_SCALAR(U8, uint64_t)
ITM_READ_SCALAR(F, uint32_t)
ITM_READ_SCALAR(D, uint64_t)
ITM_READ_OTHER(E)
ITM_READ_OTHER(CF)
ITM_READ_OTHER(CD)
ITM_READ_OTHER(CE)
#if defined(__x86_64__)
ITM_READ_OTHER(M64)
ITM_READ_OTHER(M128)
#endif

ITM_FAMILY(U1)
ITM_FAMILY(U2)
ITM_FAMILY(U4)
ITM_FAMILY(U8)
ITM_FAMILY(F)
ITM_FAMILY(D)
ITM_FAMILY(E)
ITM_FAMILY(CF)
ITM_FAMILY(CD)
ITM_FAMILY(CE)
#if defined(__x86_64__)
ITM_FAMILY(M64)
ITM_FAMILY(M128)
/* 256-bit vectors travel in ymm registers: the callers are compiled with
 * AVX (libitm.h declares these only under __AVX__), so these are too. */
#pragma GCC push_options
#pragma GCC target("avx")
ITM_READ_OTHER(M256)
ITM_FAMILY(M256)
#pragma GCC pop_options
#endif

/* ------------------------------------------- memcpy, memmove, memset */

/* Rn/Wn: the source / destination is not shared (plain access); Rt, Rta*,
 * Wt, Wta*: transactional.  The whole source is read before anything is
 * written, so overlapping ranges behave as memmove for every variant. */
static void transfer(void *dst, const void *src, size_t n, bool rt, bool wt)
{
    struct stm_itm_tx *t = stm_itm_tls;
    if (n == 0)
        return;
    if (t->nesting == 0)
        stm_fatal("_ITM_memcpy", "called outside a transaction");
    if (t->mode == ITM_HTM) {
        memmove(dst, src, n);
        if (wt)
            stm_itm_hw_note(t, dst, n);
        return;
    }
    char small[256];
    char *buf = n <= sizeof small ? small : malloc(n);
    if (buf == NULL)
        stm_fatal("_ITM_memcpy", "out of memory for %zu bytes", n);
    if (rt)
        stm_itm_read_bytes(t, buf, src, n);
    else
        memcpy(buf, src, n);
    if (wt)
        stm_itm_write_bytes(t, dst, buf, n);
    else
        memcpy(dst, buf, n);
    if (buf != small)
        free(buf);
}

#define ITM_TRANSFER(op, name, rt, wt)                                         \
    ITM_EXPORT void _ITM_##op##name(void *d, const void *s, size_t n);         \
    ITM_EXPORT void _ITM_##op##name(void *d, const void *s, size_t n) { transfer(d, s, n, rt, wt); }
#define ITM_TRANSFERS(op)                                                      \
    ITM_TRANSFER(op, RnWt, 0, 1)                                               \
    ITM_TRANSFER(op, RnWtaR, 0, 1)                                             \
    ITM_TRANSFER(op, RnWtaW, 0, 1)                                             \
    ITM_TRANSFER(op, RtWn, 1, 0)                                               \
    ITM_TRANSFER(op, RtWt, 1, 1)                                               \
    ITM_TRANSFER(op, RtWtaR, 1, 1)                                             \
    ITM_TRANSFER(op, RtWtaW, 1, 1)                                             \
    ITM_TRANSFER(op, RtaRWn, 1, 0)                                             \
    ITM_TRANSFER(op, RtaRWt, 1, 1)                                             \
    ITM_TRANSFER(op, RtaRWtaR, 1, 1)                                           \
    ITM_TRANSFER(op, RtaRWtaW, 1, 1)                                           \
    ITM_TRANSFER(op, RtaWWn, 1, 0)                                             \
    ITM_TRANSFER(op, RtaWWt, 1, 1)                                             \
    ITM_TRANSFER(op, RtaWWtaR, 1, 1)                                           \
    ITM_TRANSFER(op, RtaWWtaW, 1, 1)

ITM_TRANSFERS(memcpy)
ITM_TRANSFERS(memmove)

static void set(void *dst, int c, size_t n)
{
    struct stm_itm_tx *t = stm_itm_tls;
    if (n == 0)
        return;
    if (t->nesting == 0)
        stm_fatal("_ITM_memset", "called outside a transaction");
    if (t->mode == ITM_HTM) {
        memset(dst, c, n);
        stm_itm_hw_note(t, dst, n);
    } else
        stm_itm_set_bytes(t, dst, c, n);
}

ITM_EXPORT void _ITM_memsetW(void *d, int c, size_t n);
ITM_EXPORT void _ITM_memsetW(void *d, int c, size_t n) { set(d, c, n); }
ITM_EXPORT void _ITM_memsetWaR(void *d, int c, size_t n);
ITM_EXPORT void _ITM_memsetWaR(void *d, int c, size_t n) { set(d, c, n); }
ITM_EXPORT void _ITM_memsetWaW(void *d, int c, size_t n);
ITM_EXPORT void _ITM_memsetWaW(void *d, int c, size_t n) { set(d, c, n); }
