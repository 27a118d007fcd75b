/* The semantics of every public call, one thread unless a test needs a
 * second one to force an abort or a wake-up. */
#include <math.h>
#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <urcu/urcu-memb.h>

#include "check_util.h"
#include "stm.h"
#include "store_util.h"

static uint64_t stat_commits(void)
{
    struct stm_stats s;
    stm_stats_get(&s);
    return s.commits_htm + s.commits_stm + s.commits_serial;
}

/* ---- TVars ------------------------------------------------------------- */

START_TEST(tvar_new_free_init)
{
    stm_tvar *a = stm_tvar_new(42);
    ck_assert_ptr_nonnull(a);
    ck_assert_uint_eq(stm_load(a), 42);
    stm_tvar_free(a);
    stm_tvar_free(NULL); /* ignored */

    stm_tvar b = STM_TVAR_INIT(-7);
    ck_assert_int_eq((intptr_t)stm_load(&b), -7);
    stm_tvar c;
    stm_tvar_init(&c, UINTPTR_MAX);
    ck_assert_uint_eq(stm_load(&c), UINTPTR_MAX);

    /* many TVars: distinct, each with its value */
    stm_tvar *v[100];
    for (int i = 0; i < 100; i++)
        v[i] = stm_tvar_new((uintptr_t)i * 3);
    for (int i = 0; i < 100; i++) {
        ck_assert_uint_eq(stm_load(v[i]), (uintptr_t)i * 3);
        for (int j = 0; j < i; j++)
            ck_assert_ptr_ne(v[i], v[j]);
    }
    for (int i = 0; i < 100; i++)
        stm_tvar_free(v[i]);
}
END_TEST

/* ---- stm_atomically, read, write -------------------------------------- */

static intptr_t return_arg(stm_tx *tx, void *arg)
{
    (void)tx;
    return (intptr_t)arg;
}

START_TEST(atomically_returns_result)
{
    ck_assert_int_eq(stm_atomically(return_arg, (void *)(intptr_t)5), 5);
    ck_assert_int_eq(stm_atomically(return_arg, (void *)(intptr_t)-123456), -123456);
    ck_assert_int_eq(stm_atomically(return_arg, (void *)INTPTR_MIN), INTPTR_MIN);
    ck_assert_int_eq(stm_atomically(return_arg, (void *)INTPTR_MAX), INTPTR_MAX);
}
END_TEST

static intptr_t write_then_read(stm_tx *tx, void *arg)
{
    stm_tvar *tv = arg;
    uintptr_t before = stm_read(tx, tv);
    stm_write(tx, tv, before + 10);
    ck_assert_uint_eq(stm_read(tx, tv), before + 10); /* read-after-write */
    stm_write(tx, tv, before + 20);
    ck_assert_uint_eq(stm_read(tx, tv), before + 20);
    return (intptr_t)before;
}

START_TEST(read_write_commit)
{
    stm_tvar tv = STM_TVAR_INIT(100);
    ck_assert_int_eq(stm_atomically(write_then_read, &tv), 100);
    ck_assert_uint_eq(stm_load(&tv), 120);
    ck_assert_int_eq(stm_atomically(write_then_read, &tv), 120);
    ck_assert_uint_eq(stm_load(&tv), 140);
}
END_TEST

/* Past STM_WLOG_LINEAR (16) writes the redo log is searched through a
 * hash index; read-after-write must hold on both sides of the threshold,
 * for rewrites of old entries and for TVars never written. */
#define BIG 3000
struct big {
    stm_tvar v[BIG];
    stm_tvar untouched[64];
    size_t n;
};

static intptr_t big_tx(stm_tx *tx, void *arg)
{
    struct big *b = arg;
    for (size_t i = 0; i < b->n; i++) {
        stm_write(tx, &b->v[i], i * 7 + 1);
        /* every earlier entry still reads back (sample a few) */
        ck_assert_uint_eq(stm_read(tx, &b->v[i / 2]), (i / 2) * 7 + 1);
        ck_assert_uint_eq(stm_read(tx, &b->v[0]), 1);
    }
    for (size_t i = 0; i < b->n; i++)
        ck_assert_uint_eq(stm_read(tx, &b->v[i]), i * 7 + 1);
    /* overwrite every other entry, then read everything again */
    for (size_t i = 0; i < b->n; i += 2)
        stm_write(tx, &b->v[i], i + 1000000);
    for (size_t i = 0; i < b->n; i++)
        ck_assert_uint_eq(stm_read(tx, &b->v[i]), i % 2 ? i * 7 + 1 : i + 1000000);
    for (size_t i = 0; i < 64; i++)
        ck_assert_uint_eq(stm_read(tx, &b->untouched[i]), 9);
    return 0;
}

START_TEST(large_transactions)
{
    static struct big b;
    const size_t sizes[] = {1, 15, 16, 17, 33, 100, BIG};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        for (size_t i = 0; i < BIG; i++)
            stm_tvar_init(&b.v[i], 0);
        for (size_t i = 0; i < 64; i++)
            stm_tvar_init(&b.untouched[i], 9);
        b.n = sizes[k];
        stm_atomically(big_tx, &b);
        for (size_t i = 0; i < BIG; i++) {
            uintptr_t want = i >= b.n ? 0 : i % 2 ? i * 7 + 1 : i + 1000000;
            ck_assert_uint_eq(stm_load(&b.v[i]), want);
        }
    }
    /* a small transaction after a big one (index dropped, buffers kept) */
    b.n = 3;
    stm_atomically(big_tx, &b);
    ck_assert_uint_eq(stm_load(&b.v[2]), 1000002);
}
END_TEST

/* ---- typed helpers ---------------------------------------------------- */

struct typed {
    stm_tvar i, p, d;
    intptr_t iv;
    void *pv;
    double dv;
};

static intptr_t typed_write(stm_tx *tx, void *arg)
{
    struct typed *t = arg;
    stm_write_int(tx, &t->i, t->iv);
    stm_write_ptr(tx, &t->p, t->pv);
    stm_write_double(tx, &t->d, t->dv);
    /* read-after-write through the helpers */
    ck_assert_int_eq(stm_read_int(tx, &t->i), t->iv);
    ck_assert_ptr_eq(stm_read_ptr(tx, &t->p), t->pv);
    return 0;
}

static intptr_t typed_read(stm_tx *tx, void *arg)
{
    struct typed *t = arg;
    t->iv = stm_read_int(tx, &t->i);
    t->pv = stm_read_ptr(tx, &t->p);
    t->dv = stm_read_double(tx, &t->d);
    return 0;
}

static void round_trip(intptr_t i, void *p, double d)
{
    struct typed t = {STM_TVAR_INIT(0), STM_TVAR_INIT(0), STM_TVAR_INIT(0), i, p, d};
    stm_atomically(typed_write, &t);
    t.iv = 0;
    t.pv = NULL;
    t.dv = 0;
    stm_atomically(typed_read, &t);
    ck_assert_int_eq(t.iv, i);
    ck_assert_ptr_eq(t.pv, p);
    /* compare the bits: -0.0 == 0.0 and NaN != NaN as doubles */
    uint64_t a, b;
    memcpy(&a, &t.dv, sizeof a);
    memcpy(&b, &d, sizeof b);
    ck_assert_uint_eq(a, b);
}

START_TEST(typed_helpers_round_trip)
{
    static int object;
    round_trip(-1, &object, -0.0);
    round_trip(INTPTR_MIN, (void *)UINTPTR_MAX, INFINITY);
    round_trip(INTPTR_MAX, NULL, -INFINITY);
    round_trip(-42, (char *)&object + 1, NAN);
    double payload_nan;
    uint64_t bits = 0x7ff8000000abcdefull; /* quiet NaN with a payload */
    memcpy(&payload_nan, &bits, sizeof bits);
    round_trip(0, &round_trip, payload_nan);
    round_trip(1, &object, 5e-324); /* smallest subnormal */
    round_trip(-1000000007, &object, -1.5e308);
    ck_assert(signbit(stm_word_to_double(stm_double_to_word(-0.0))));
}
END_TEST

/* ---- stm_load / stm_store ---------------------------------------------- */

START_TEST(load_store)
{
    stm_tvar tv = STM_TVAR_INIT(1);
    stm_store(&tv, 2);
    ck_assert_uint_eq(stm_load(&tv), 2);
    stm_store(&tv, UINTPTR_MAX);
    ck_assert_uint_eq(stm_load(&tv), UINTPTR_MAX);
    /* a store is seen by the next transaction */
    struct typed t = {STM_TVAR_INIT(0), STM_TVAR_INIT(0), STM_TVAR_INIT(0), 0, NULL, 0};
    stm_store(&t.i, (uintptr_t)-5);
    stm_atomically(typed_read, &t);
    ck_assert_int_eq(t.iv, -5);
}
END_TEST

/* ---- stm_alloc / stm_free ---------------------------------------------- */

#define BIG_ALLOC (8u << 20) /* above the mmap threshold: shows in hblkhd */

struct alloc_abort {
    stm_tvar x;
    int attempts;
    size_t mapped_before, mapped_inside;
    void *block;
};

static size_t mapped_bytes(void)
{
    return mallinfo2().hblkhd;
}

static intptr_t alloc_then_abort(stm_tx *tx, void *arg)
{
    struct alloc_abort *a = arg;
    uintptr_t x = stm_read(tx, &a->x);
    if (++a->attempts == 1) {
        a->block = stm_alloc(tx, BIG_ALLOC);
        ck_assert_ptr_nonnull(a->block);
        memset(a->block, 0xab, BIG_ALLOC);
        a->mapped_inside = mapped_bytes();
        store_from_other_thread(&a->x, x + 1);
        stm_read(tx, &a->x); /* validation fails: this attempt aborts */
        ck_abort_msg("a read after a conflicting commit returned");
    }
    return (intptr_t)x;
}

START_TEST(alloc_freed_on_abort)
{
    struct alloc_abort a = {STM_TVAR_INIT(10), 0, 0, 0, NULL};
    a.mapped_before = mapped_bytes();
    struct stm_stats s0, s1;
    stm_stats_get(&s0);
    ck_assert_int_eq(stm_atomically(alloc_then_abort, &a), 11);
    stm_stats_get(&s1);
    ck_assert_int_eq(a.attempts, 2);
    ck_assert_uint_eq(s1.aborts_stm - s0.aborts_stm, 1);
    /* glibc counts mmapped blocks in hblkhd; under a sanitizer's allocator
     * mallinfo2 reports nothing, and the leak checker covers this case */
    if (a.mapped_inside >= a.mapped_before + BIG_ALLOC)
        ck_assert_uint_eq(mapped_bytes(), a.mapped_before);
}
END_TEST

struct free_case {
    stm_tvar x;
    int attempts;
    char *block;
};

static intptr_t alloc_keep(stm_tx *tx, void *arg)
{
    struct free_case *f = arg;
    f->block = stm_alloc(tx, 64);
    ck_assert_ptr_nonnull(f->block);
    strcpy(f->block, "kept");
    return 0;
}

/* stm_free in an attempt that aborts has no effect; in the attempt that
 * commits, the memory stays readable until the end of the transaction. */
static intptr_t free_then_abort(stm_tx *tx, void *arg)
{
    struct free_case *f = arg;
    uintptr_t x = stm_read(tx, &f->x);
    stm_free(tx, f->block);
    ck_assert_str_eq(f->block, "kept");
    if (++f->attempts == 1) {
        store_from_other_thread(&f->x, x + 1);
        stm_read(tx, &f->x);
        ck_abort_msg("a read after a conflicting commit returned");
    }
    return 0;
}

START_TEST(free_at_commit_only)
{
    struct free_case f = {STM_TVAR_INIT(0), 0, NULL};
    stm_atomically(alloc_keep, &f);
    ck_assert_str_eq(f.block, "kept"); /* committed allocation survives */
    /* the first attempt's stm_free was dropped with the abort: the second
     * attempt frees a live block (a double free would abort the process) */
    stm_atomically(free_then_abort, &f);
    ck_assert_int_eq(f.attempts, 2);
    urcu_memb_barrier(); /* run the deferred free now (leak checkers) */
}
END_TEST

/* Lazy read-side sections (src/core/memory.c): the first transaction of a
 * process runs outside any RCU read-side section.  When another thread
 * then frees, for the first time, a TVar that transaction can still reach,
 * the memory must not be reclaimed before the transaction ends: an
 * rcu_barrier() (which returns once every queued reclamation ran) must
 * wait for it. */
struct lazy_rcu {
    stm_tvar link;
    stm_tvar *inner;
    int stage;        /* atomic: 1 = reader inside, 2 = freed, barrier started */
    int barrier_done; /* atomic */
};

static void *lazy_barrier(void *arg)
{
    struct lazy_rcu *l = arg;
    urcu_memb_barrier();
    __atomic_store_n(&l->barrier_done, 1, __ATOMIC_RELEASE);
    return NULL;
}

static void *lazy_free(void *arg)
{
    struct lazy_rcu *l = arg;
    while (__atomic_load_n(&l->stage, __ATOMIC_ACQUIRE) != 1)
        sched_yield();
    stm_tvar_free(l->inner); /* the process's first retire */
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, lazy_barrier, l), 0);
    __atomic_store_n(&l->stage, 2, __ATOMIC_RELEASE);
    return (void *)t;
}

static intptr_t lazy_reader(stm_tx *tx, void *arg)
{
    struct lazy_rcu *l = arg;
    stm_tvar *inner = stm_read_ptr(tx, &l->link);
    if (__atomic_load_n(&l->stage, __ATOMIC_ACQUIRE) == 0) {
        __atomic_store_n(&l->stage, 1, __ATOMIC_RELEASE);
        while (__atomic_load_n(&l->stage, __ATOMIC_ACQUIRE) != 2)
            sched_yield();
        /* give the reclamation every chance to run too early */
        for (int i = 0; i < 200; i++)
            usleep(1000);
        ck_assert_int_eq(__atomic_load_n(&l->barrier_done, __ATOMIC_ACQUIRE), 0);
        ck_assert_ptr_eq(inner, l->inner);
    }
    return 0;
}

START_TEST(first_free_waits_for_unguarded_reader)
{
    setenv("STM_MODE", "stm", 1); /* the software path: hardware needs no RCU */
    struct lazy_rcu l = {STM_TVAR_INIT(0), NULL, 0, 0};
    l.inner = stm_tvar_new(7);
    ck_assert_ptr_nonnull(l.inner);
    stm_tvar_init(&l.link, (uintptr_t)l.inner);
    pthread_t f;
    ck_assert_int_eq(pthread_create(&f, NULL, lazy_free, &l), 0);
    stm_atomically(lazy_reader, &l);
    void *b;
    ck_assert_int_eq(pthread_join(f, &b), 0);
    ck_assert_int_eq(pthread_join((pthread_t)b, NULL), 0);
    ck_assert_int_eq(__atomic_load_n(&l.barrier_done, __ATOMIC_ACQUIRE), 1);
}
END_TEST

/* A doomed attempt frees a block that a concurrent transaction has just
 * unlinked and freed: that attempt must abort and re-run, not be reported
 * as a double free (regression: stm_free checked the block before
 * validating). */
struct shared_block {
    stm_tvar link;
    int attempts;
};

static intptr_t unlink_and_free(stm_tx *tx, void *arg)
{
    struct shared_block *s = arg;
    void *p = stm_read_ptr(tx, &s->link);
    if (p != NULL) {
        stm_write_ptr(tx, &s->link, NULL);
        stm_free(tx, p);
    }
    return p != NULL;
}

static void *unlink_thread(void *arg)
{
    stm_atomically(unlink_and_free, arg);
    return NULL;
}

static intptr_t unlink_racing(stm_tx *tx, void *arg)
{
    struct shared_block *s = arg;
    void *p = stm_read_ptr(tx, &s->link);
    if (p == NULL)
        return 0;
    if (++s->attempts == 1) {
        pthread_t t;
        ck_assert_int_eq(pthread_create(&t, NULL, unlink_thread, s), 0);
        ck_assert_int_eq(pthread_join(t, NULL), 0);
    }
    stm_write_ptr(tx, &s->link, NULL);
    stm_free(tx, p); /* the other thread freed it first: we must abort */
    return 1;
}

static intptr_t link_block(stm_tx *tx, void *arg)
{
    struct shared_block *s = arg;
    stm_write_ptr(tx, &s->link, stm_alloc(tx, 48));
    return 0;
}

START_TEST(free_race_aborts_doomed_attempt)
{
    struct shared_block s = {STM_TVAR_INIT(NULL), 0};
    stm_atomically(link_block, &s);
    ck_assert_int_eq(stm_atomically(unlink_racing, &s), 0);
    ck_assert_int_eq(s.attempts, 1);
    ck_assert_ptr_null((void *)stm_load(&s.link));
    urcu_memb_barrier();
}
END_TEST

/* ---- stm_irrevocable --------------------------------------------------- */

struct irrev {
    stm_tvar x, y;
    int attempts, after_irrevocable;
    FILE *out;
};

static intptr_t irrevocable_tx(stm_tx *tx, void *arg)
{
    struct irrev *r = arg;
    uintptr_t x = stm_read(tx, &r->x);
    if (++r->attempts == 1) {
        /* make the first attempt abort at stm_irrevocable's validation */
        store_from_other_thread(&r->x, x + 1);
    }
    stm_irrevocable(tx);
    r->after_irrevocable++;
    fprintf(r->out, "x=%lu\n", (unsigned long)stm_read(tx, &r->x)); /* I/O */
    fflush(r->out);
    stm_write(tx, &r->y, stm_read(tx, &r->x) * 2);
    return 0;
}

START_TEST(irrevocable_runs_once)
{
    char *buf = NULL;
    size_t len = 0;
    struct irrev r = {STM_TVAR_INIT(3), STM_TVAR_INIT(0), 0, 0, NULL};
    r.out = open_memstream(&buf, &len);
    ck_assert_ptr_nonnull(r.out);
    struct stm_stats s0, s1;
    stm_stats_get(&s0);
    stm_atomically(irrevocable_tx, &r);
    stm_stats_get(&s1);
    fclose(r.out);
    ck_assert_int_eq(r.attempts, 2);
    ck_assert_int_eq(r.after_irrevocable, 1);
    ck_assert_str_eq(buf, "x=4\n");
    ck_assert_uint_eq(stm_load(&r.y), 8);
    ck_assert_uint_eq(s1.commits_serial - s0.commits_serial, 1);
    /* the next transaction is an ordinary one again */
    stm_atomically(write_then_read, &r.y);
    ck_assert_uint_eq(stm_load(&r.y), 28);
    free(buf);
}
END_TEST

/* ---- nesting: transfer = withdraw then deposit ------------------------- */

struct account_op {
    stm_tvar *acct;
    intptr_t amount;
};

static intptr_t withdraw(stm_tx *tx, void *arg)
{
    struct account_op *op = arg;
    intptr_t bal = stm_read_int(tx, op->acct);
    if (bal < op->amount)
        stm_retry(tx); /* wait for funds */
    stm_write_int(tx, op->acct, bal - op->amount);
    return bal - op->amount;
}

static intptr_t deposit(stm_tx *tx, void *arg)
{
    struct account_op *op = arg;
    intptr_t bal = stm_read_int(tx, op->acct);
    stm_write_int(tx, op->acct, bal + op->amount);
    return bal + op->amount;
}

struct transfer {
    stm_tvar *from, *to;
    intptr_t amount;
    int attempts;
};

/* deposit first, then withdraw: if the withdrawal has to wait, the
 * deposit made in the same attempt must be undone */
static intptr_t transfer(stm_tx *tx, void *arg)
{
    struct transfer *t = arg;
    struct account_op d = {t->to, t->amount}, w = {t->from, t->amount};
    t->attempts++;
    stm_atomically(deposit, &d);
    return stm_atomically(withdraw, &w);
}

START_TEST(nested_transfer)
{
    stm_tvar a = STM_TVAR_INIT(100), b = STM_TVAR_INIT(5);
    struct account_op w = {&a, 30}, d = {&b, 30};
    uint64_t c0 = stat_commits();
    /* each is a transaction on its own */
    ck_assert_int_eq(stm_atomically(withdraw, &w), 70);
    ck_assert_int_eq(stm_atomically(deposit, &d), 35);
    ck_assert_uint_eq(stat_commits() - c0, 2);
    /* composed: one commit */
    struct transfer t = {&a, &b, 50, 0};
    ck_assert_int_eq(stm_atomically(transfer, &t), 20);
    ck_assert_uint_eq(stat_commits() - c0, 3);
    ck_assert_int_eq((intptr_t)stm_load(&a), 20);
    ck_assert_int_eq((intptr_t)stm_load(&b), 85);
}
END_TEST

struct funder {
    stm_tvar *acct;
};

static void *fund_when_blocked(void *arg)
{
    struct funder *f = arg;
    struct stm_stats s;
    do {
        sched_yield();
        stm_stats_get(&s);
    } while (s.retries_blocked == 0);
    stm_store(f->acct, 1000);
    return NULL;
}

START_TEST(nested_abort_undoes_outer)
{
    stm_tvar a = STM_TVAR_INIT(0), b = STM_TVAR_INIT(5);
    struct funder f = {&a};
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, fund_when_blocked, &f), 0);
    /* the first attempt deposits 40 into b, then blocks in withdraw (a is
     * empty); the funder then fills a and the transfer re-runs */
    struct transfer t = {&a, &b, 40, 0};
    ck_assert_int_eq(stm_atomically(transfer, &t), 960);
    ck_assert_int_eq(pthread_join(th, NULL), 0);
    ck_assert_int_ge(t.attempts, 2);
    ck_assert_int_eq((intptr_t)stm_load(&b), 45); /* deposited once */
    ck_assert_int_eq((intptr_t)stm_load(&a), 960);
}
END_TEST

/* ---- a thread that exits inside a transaction ------------------------- */

struct quitter {
    stm_tvar x;
    int irrevocable;
};

static intptr_t quit_inside(stm_tx *tx, void *arg)
{
    struct quitter *q = arg;
    stm_write(tx, &q->x, stm_read(tx, &q->x) + 100);
    memset(stm_alloc(tx, 1000), 0, 1000); /* must not leak */
    if (q->irrevocable)
        stm_irrevocable(tx); /* holds the sequence lock */
    pthread_exit(NULL);
}

static void *quit_thread(void *arg)
{
    stm_atomically(quit_inside, arg);
    return NULL;
}

START_TEST(thread_exit_inside_transaction)
{
    /* nothing commits, and what the attempt held (the sequence lock in
     * serial mode, the RCU section, its allocation) is released */
    struct quitter q = {STM_TVAR_INIT(1), _i};
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, quit_thread, &q), 0);
    ck_assert_int_eq(pthread_join(t, NULL), 0);
    ck_assert_uint_eq(stm_load(&q.x), 1);
    stm_atomically(write_then_read, &q.x); /* would hang on a held lock */
    ck_assert_uint_eq(stm_load(&q.x), 21);
    urcu_memb_synchronize_rcu(); /* would hang on an open RCU section */
    urcu_memb_barrier();
}
END_TEST

/* ---- stm_path ------------------------------------------------------------ */

START_TEST(path_is_known)
{
    const char *p = stm_path();
    ck_assert_ptr_nonnull(p);
    const char *known[] = {"rtm", "power-htm", "emu-htm", "norec", "serial"};
    int found = 0;
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        found |= strcmp(p, known[i]) == 0;
    ck_assert_msg(found, "unknown path \"%s\"", p);
    ck_assert_str_eq(stm_path(), p); /* stable */
}
END_TEST

START_TEST(path_follows_mode)
{
    /* each test runs in a fresh child: the configuration is read on first
     * use, after this setenv */
    setenv("STM_MODE", _i == 0 ? "stm" : "serial", 1);
    ck_assert_str_eq(stm_path(), _i == 0 ? "norec" : "serial");
}
END_TEST

/* ---- retry / orElse sanity (deep semantics: the composition suites) ---- */

struct oe {
    stm_tvar x, y;
};

static intptr_t branch_retry(stm_tx *tx, void *arg)
{
    struct oe *o = arg;
    stm_write(tx, &o->y, 99); /* undone when the branch retries */
    if (stm_read(tx, &o->x) == 0)
        stm_retry(tx);
    return 1;
}

static intptr_t branch_two(stm_tx *tx, void *arg)
{
    struct oe *o = arg;
    ck_assert_uint_eq(stm_read(tx, &o->y), 7);
    stm_write(tx, &o->y, 8);
    return 2;
}

static intptr_t or_else_tx(stm_tx *tx, void *arg)
{
    return stm_or_else(tx, branch_retry, arg, branch_two, arg);
}

START_TEST(or_else_and_retry_sanity)
{
    struct oe o = {STM_TVAR_INIT(0), STM_TVAR_INIT(7)};
    ck_assert_int_eq(stm_atomically(or_else_tx, &o), 2);
    ck_assert_uint_eq(stm_load(&o.y), 8);
    stm_store(&o.x, 1);
    ck_assert_int_eq(stm_atomically(or_else_tx, &o), 1);
    ck_assert_uint_eq(stm_load(&o.y), 99);

    /* a plain retry blocks until another thread changes what it read */
    stm_tvar a = STM_TVAR_INIT(0), b = STM_TVAR_INIT(0);
    struct funder f = {&a};
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, fund_when_blocked, &f), 0);
    struct transfer t = {&a, &b, 1, 0};
    ck_assert_int_eq(stm_atomically(transfer, &t), 999);
    ck_assert_int_eq(pthread_join(th, NULL), 0);
}
END_TEST

static Suite *api_suite(void)
{
    Suite *s = suite_create("api");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, tvar_new_free_init);
    tcase_add_test(tc, atomically_returns_result);
    tcase_add_test(tc, read_write_commit);
    tcase_add_test(tc, large_transactions);
    tcase_add_test(tc, typed_helpers_round_trip);
    tcase_add_test(tc, load_store);
    tcase_add_test(tc, alloc_freed_on_abort);
    tcase_add_test(tc, free_at_commit_only);
    tcase_add_test(tc, free_race_aborts_doomed_attempt);
    tcase_add_test(tc, first_free_waits_for_unguarded_reader);
    tcase_add_test(tc, irrevocable_runs_once);
    tcase_add_test(tc, nested_transfer);
    tcase_add_test(tc, nested_abort_undoes_outer);
    tcase_add_loop_test(tc, thread_exit_inside_transaction, 0, 2);
    tcase_add_test(tc, path_is_known);
    tcase_add_loop_test(tc, path_follows_mode, 0, 2);
    tcase_add_test(tc, or_else_and_retry_sanity);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return check_run_suite(api_suite());
}
