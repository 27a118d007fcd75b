/* Concurrency stress.  Outcomes are deterministic (invariants that must
 * hold in every interleaving); work is a fixed number of operations, never
 * a duration, so the tests finish in bounded time on a loaded machine. */
#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "check_util.h"
#include "stm.h"
#include "core/hybrid.h"

static uint32_t rnd(uint32_t *s)
{
    /* xorshift32: per-thread state, no shared RNG */
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

typedef void *(*thread_fn)(void *);

static void run_threads(int n, thread_fn fn, void *arg)
{
    pthread_t *t = calloc((size_t)n, sizeof *t);
    ck_assert_ptr_nonnull(t);
    for (int i = 0; i < n; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, fn, arg), 0);
    for (int i = 0; i < n; i++)
        ck_assert_int_eq(pthread_join(t[i], NULL), 0);
    free(t);
}

/* ---- the bank ------------------------------------------------------------ */

#define ACCOUNTS 64
#define START_BALANCE 1000

struct bank {
    stm_tvar acct[ACCOUNTS];
    int ops;                    /* per thread */
    unsigned next_seed;         /* atomic */
    uint64_t bad_reports;       /* atomic: inconsistent sums seen in a body */
    uint64_t negative;          /* atomic: negative balances seen in a body */
    uint64_t reports, transfers;/* atomic */
};

struct account_op {
    stm_tvar *acct;
    intptr_t amount;
};

static intptr_t withdraw(stm_tx *tx, void *arg)
{
    struct account_op *op = arg;
    intptr_t bal = stm_read_int(tx, op->acct);
    if (bal < op->amount)
        return 0; /* insufficient funds: the transfer does nothing */
    stm_write_int(tx, op->acct, bal - op->amount);
    return 1;
}

static intptr_t deposit(stm_tx *tx, void *arg)
{
    struct account_op *op = arg;
    stm_write_int(tx, op->acct, stm_read_int(tx, op->acct) + op->amount);
    return 1;
}

struct transfer_args {
    stm_tvar *from, *to;
    intptr_t amount;
};

/* The seed's transfer: withdraw then deposit, each a transaction of its
 * own, composed into one by nesting. */
static intptr_t transfer(stm_tx *tx, void *arg)
{
    struct transfer_args *t = arg;
    struct account_op w = {t->from, t->amount}, d = {t->to, t->amount};
    if (!stm_atomically(withdraw, &w))
        return 0;
    return stm_atomically(deposit, &d);
}

static intptr_t report(stm_tx *tx, void *arg)
{
    struct bank *b = arg;
    intptr_t sum = 0;
    for (int i = 0; i < ACCOUNTS; i++) {
        intptr_t v = stm_read_int(tx, &b->acct[i]);
        if (v < 0)
            __atomic_fetch_add(&b->negative, 1, __ATOMIC_RELAXED);
        sum += v;
    }
    /* checked inside the body: a doomed attempt must not see this either */
    if (sum != (intptr_t)ACCOUNTS * START_BALANCE)
        __atomic_fetch_add(&b->bad_reports, 1, __ATOMIC_RELAXED);
    return sum;
}

static void *bank_thread(void *arg)
{
    struct bank *b = arg;
    uint32_t seed = 2463534242u + 7919u * __atomic_fetch_add(&b->next_seed, 1, __ATOMIC_RELAXED);
    for (int i = 0; i < b->ops; i++) {
        uint32_t r = rnd(&seed);
        if (r % 16 == 0) {
            intptr_t sum = stm_atomically(report, b);
            ck_assert_int_eq(sum, (intptr_t)ACCOUNTS * START_BALANCE);
            __atomic_fetch_add(&b->reports, 1, __ATOMIC_RELAXED);
            continue;
        }
        unsigned from = (r >> 4) % ACCOUNTS, to = (r >> 12) % ACCOUNTS;
        if (to == from)
            to = (to + 1) % ACCOUNTS;
        struct transfer_args t = {&b->acct[from], &b->acct[to], (intptr_t)(r >> 24) % 200 + 1};
        if (stm_atomically(transfer, &t))
            __atomic_fetch_add(&b->transfers, 1, __ATOMIC_RELAXED);
    }
    return NULL;
}

static void bank_run(int threads, int ops)
{
    struct bank *b = calloc(1, sizeof *b);
    ck_assert_ptr_nonnull(b);
    for (int i = 0; i < ACCOUNTS; i++)
        stm_tvar_init(&b->acct[i], START_BALANCE);
    b->ops = ops;
    run_threads(threads, bank_thread, b);
    intptr_t sum = 0;
    for (int i = 0; i < ACCOUNTS; i++) {
        intptr_t v = (intptr_t)stm_load(&b->acct[i]);
        ck_assert_int_ge(v, 0);
        sum += v;
    }
    ck_assert_int_eq(sum, (intptr_t)ACCOUNTS * START_BALANCE);
    ck_assert_uint_eq(b->bad_reports, 0);
    ck_assert_uint_eq(b->negative, 0);
    ck_assert_uint_gt(b->reports, 0);
    ck_assert_uint_gt(b->transfers, 0);
    ck_assert_uint_eq(b->reports + (uint64_t)threads * 0, b->reports);
    struct stm_stats s;
    stm_stats_get(&s);
    /* every operation committed exactly once */
    ck_assert_uint_eq(s.commits_htm + s.commits_stm + s.commits_serial,
                      (uint64_t)threads * (uint64_t)ops);
    free(b);
}

static const struct {
    int threads, ops;
} bank_sizes[] = {{2, 20000}, {4, 8000}, {32, 800}};

START_TEST(bank_invariant)
{
    bank_run(bank_sizes[_i].threads, bank_sizes[_i].ops);
}
END_TEST

START_TEST(bank_serial_after_one)
{
    /* every software abort escalates: the serial path under contention */
    setenv("STM_SERIAL_AFTER", "1", 1);
    bank_run(4, 4000);
}
END_TEST

/* Sequence counters near 2^64: the bank must not notice the wrap. */
START_TEST(bank_counters_wrap)
{
    /* a fresh child: no transaction has run yet.  The software path: on a
     * CPU with working RTM the hardware path would commit without moving
     * seq, and the wrap would go untested. */
    setenv("STM_MODE", "stm", 1);
    stm_hybrid_set_counters(UINT64_MAX - 63, UINT64_MAX - 5);
    bank_run(4, 4000);
    uint64_t seq = __atomic_load_n(STM_SEQ, __ATOMIC_ACQUIRE);
    ck_assert_msg(seq < UINT64_MAX - 63, "seq did not wrap: %llu", (unsigned long long)seq);
    ck_assert_uint_eq(seq % 2, 0);
}
END_TEST

/* ---- opacity: x and y with y == x + 1 always ------------------------------ */

struct pair {
    stm_tvar x, y;
    int ops;
    uint64_t violations; /* atomic */
    uint64_t done;       /* atomic: writers finished */
};

static intptr_t pair_write(stm_tx *tx, void *arg)
{
    struct pair *p = arg;
    intptr_t x = stm_read_int(tx, &p->x);
    stm_write_int(tx, &p->x, x + 1);
    stm_write_int(tx, &p->y, x + 2);
    return 0;
}

/* Reads in both orders: an inconsistent pair (old x with new y, or new x
 * with old y) breaks y == x + 1, and old y with new x makes x == y, so the
 * division traps (SIGFPE) if opacity is broken. */
static intptr_t pair_read(stm_tx *tx, void *arg)
{
    struct pair *p = arg;
    static __thread unsigned calls;
    /* now and then give a writer the CPU between the two reads, so that
     * the window for an inconsistent pair is wide open */
    bool pause = ++calls % 4 == 0;
    intptr_t a, b;
    if (stm_read_int(tx, &p->x) & 1) {
        a = stm_read_int(tx, &p->x);
        if (pause)
            sched_yield();
        b = stm_read_int(tx, &p->y);
    } else {
        b = stm_read_int(tx, &p->y);
        if (pause)
            sched_yield();
        a = stm_read_int(tx, &p->x);
    }
    if (b != a + 1)
        __atomic_fetch_add(&p->violations, 1, __ATOMIC_RELAXED);
    volatile intptr_t d = a - b; /* volatile: keep the division */
    return 1000 / d;
}

static void *pair_writer(void *arg)
{
    struct pair *p = arg;
    for (int i = 0; i < p->ops; i++)
        stm_atomically(pair_write, p);
    __atomic_fetch_add(&p->done, 1, __ATOMIC_RELEASE);
    return NULL;
}

static void *pair_reader(void *arg)
{
    struct pair *p = arg;
    /* read while any writer runs, and a minimum number of times */
    for (int i = 0; i < p->ops || __atomic_load_n(&p->done, __ATOMIC_ACQUIRE) < 2; i++)
        ck_assert_int_eq(stm_atomically(pair_read, p), -1000);
    return NULL;
}

static void *pair_role(void *arg)
{
    static unsigned role; /* first two threads write, the rest read */
    unsigned me = __atomic_fetch_add(&role, 1, __ATOMIC_RELAXED);
    return me < 2 ? pair_writer(arg) : pair_reader(arg);
}

START_TEST(opacity_pair)
{
    struct pair p = {STM_TVAR_INIT(0), STM_TVAR_INIT(1), 20000, 0, 0};
    run_threads(4, pair_role, &p);
    ck_assert_uint_eq(p.violations, 0);
    ck_assert_int_eq((intptr_t)stm_load(&p.x), 40000);
    ck_assert_int_eq((intptr_t)stm_load(&p.y), 40001);
}
END_TEST

/* ---- a sorted linked list: unlink + stm_free under traversing readers ---- */

#define NODE_LIVE 0x4c49564e4f444531ull
#define KEYS 64

struct node {
    stm_tvar next;
    uint64_t magic;
    uint64_t key;
    /* node_size - sizeof(struct node) bytes follow; the last word is read
     * by every traversal, so a reader touching an unmapped node faults */
};

struct list {
    stm_tvar head;
    size_t node_size;
    int ops;
    uint64_t violations; /* atomic */
    uint64_t done;       /* atomic */
};

static uint64_t *node_tail(const struct list *l, struct node *n)
{
    return (uint64_t *)((char *)n + l->node_size - sizeof(uint64_t));
}

static struct node *node_new(stm_tx *tx, struct list *l, uint64_t key, struct node *next)
{
    struct node *n = stm_alloc(tx, l->node_size);
    ck_assert_ptr_nonnull(n);
    stm_tvar_init(&n->next, (uintptr_t)next);
    n->magic = NODE_LIVE;
    n->key = key;
    *node_tail(l, n) = key;
    return n;
}

struct list_op {
    struct list *l;
    uint64_t key;
};

/* Insert key if absent, else unlink and free it. */
static intptr_t list_toggle(stm_tx *tx, void *arg)
{
    struct list_op *op = arg;
    stm_tvar *link = &op->l->head;
    struct node *n;
    while ((n = stm_read_ptr(tx, link)) != NULL && n->key < op->key)
        link = &n->next;
    if (n != NULL && n->key == op->key) {
        stm_write_ptr(tx, link, stm_read_ptr(tx, &n->next));
        stm_free(tx, n);
        return -1;
    }
    stm_write_ptr(tx, link, node_new(tx, op->l, op->key, n));
    return 1;
}

static intptr_t list_scan(stm_tx *tx, void *arg)
{
    struct list *l = arg;
    uint64_t prev = 0, count = 0, bad = 0;
    for (struct node *n = stm_read_ptr(tx, &l->head); n != NULL; n = stm_read_ptr(tx, &n->next)) {
        /* every node reached must be live and in order, even in an
         * attempt that will abort */
        if (n->magic != NODE_LIVE || n->key <= prev || n->key > KEYS || *node_tail(l, n) != n->key)
            bad++;
        prev = n->key;
        if (++count % 16 == 0)
            sched_yield(); /* let writers unlink what we are about to read */
        if (count > KEYS) {
            bad++; /* a cycle: only an inconsistent view could show one */
            break;
        }
    }
    if (bad)
        __atomic_fetch_add(&l->violations, bad, __ATOMIC_RELAXED);
    return (intptr_t)count;
}

static void *list_writer(void *arg)
{
    struct list *l = arg;
    uint32_t seed = (uint32_t)(uintptr_t)&seed | 1;
    for (int i = 0; i < l->ops; i++) {
        struct list_op op = {l, rnd(&seed) % KEYS + 1};
        stm_atomically(list_toggle, &op);
    }
    __atomic_fetch_add(&l->done, 1, __ATOMIC_RELEASE);
    return NULL;
}

static void *list_reader(void *arg)
{
    struct list *l = arg;
    for (int i = 0; i < l->ops / 4 || __atomic_load_n(&l->done, __ATOMIC_ACQUIRE) < 2; i++)
        ck_assert_int_le(stm_atomically(list_scan, l), KEYS);
    return NULL;
}

static void *list_role(void *arg)
{
    static unsigned role;
    unsigned me = __atomic_fetch_add(&role, 1, __ATOMIC_RELAXED);
    return me < 2 ? list_writer(arg) : list_reader(arg);
}

static intptr_t list_free_all(stm_tx *tx, void *arg)
{
    struct list *l = arg;
    struct node *n = stm_read_ptr(tx, &l->head);
    while (n != NULL) {
        struct node *next = stm_read_ptr(tx, &n->next);
        stm_free(tx, n);
        n = next;
    }
    stm_write_ptr(tx, &l->head, NULL);
    return 0;
}

static void list_run(size_t node_size, int ops)
{
    struct list l = {STM_TVAR_INIT(NULL), node_size, ops, 0, 0};
    run_threads(4, list_role, &l);
    ck_assert_uint_eq(l.violations, 0);
    /* the final list is sorted and holds each key at most once */
    ck_assert_int_le(stm_atomically(list_scan, &l), KEYS);
    ck_assert_uint_eq(l.violations, 0);
    stm_atomically(list_free_all, &l);
}

START_TEST(opacity_list)
{
    list_run(sizeof(struct node) + sizeof(uint64_t), 20000);
}
END_TEST

/* Nodes above a small mmap threshold: each is its own mapping, unmapped by
 * free(), so a reader that touched a node after its grace period would
 * fault.  (Sanitizer allocators ignore mallopt; they catch use-after-free
 * themselves.) */
START_TEST(free_unmaps_under_readers)
{
    int set = mallopt(M_MMAP_THRESHOLD, 4096);
#if !defined(__SANITIZE_ADDRESS__)
    ck_assert_int_eq(set, 1); /* ASan's allocator has no mallopt */
#else
    (void)set;
#endif
    list_run(2 * 4096, 4000);
}
END_TEST

/* ---- progress: long read-only transactions against writers ---------------- */

#define WIDE 2000
#define SERIAL_AFTER 5

struct wide {
    stm_tvar v[WIDE];
    uint64_t writer_commits; /* atomic */
    uint64_t stop;           /* atomic */
    int attempts;            /* the reader's, this transaction */
};

static intptr_t move_one(stm_tx *tx, void *arg)
{
    struct account_op *op = arg;
    struct wide *w = (struct wide *)op->acct;
    unsigned a = (unsigned)op->amount % WIDE, b = (unsigned)(op->amount >> 16) % WIDE;
    stm_write_int(tx, &w->v[a], stm_read_int(tx, &w->v[a]) - 1);
    stm_write_int(tx, &w->v[b], stm_read_int(tx, &w->v[b]) + 1);
    return 0;
}

static void *wide_writer(void *arg)
{
    struct wide *w = arg;
    uint32_t seed = (uint32_t)(uintptr_t)&seed | 1;
    while (!__atomic_load_n(&w->stop, __ATOMIC_ACQUIRE)) {
        struct account_op op = {(stm_tvar *)w, (intptr_t)rnd(&seed)};
        stm_atomically(move_one, &op);
        __atomic_fetch_add(&w->writer_commits, 1, __ATOMIC_RELEASE);
    }
    return NULL;
}

static intptr_t wide_sum(stm_tx *tx, void *arg)
{
    struct wide *w = arg;
    intptr_t sum = 0;
    int attempt = ++w->attempts;
    for (int i = 0; i < WIDE; i++) {
        sum += stm_read_int(tx, &w->v[i]);
        if (i == WIDE / 2 && attempt <= SERIAL_AFTER) {
            /* software attempts: let the writers commit a few times in the
             * middle, so that this attempt is all but certain to fail
             * validation (bounded wait; the serial attempt skips this, as
             * writers cannot commit while it runs) */
            uint64_t c0 = __atomic_load_n(&w->writer_commits, __ATOMIC_ACQUIRE);
            for (int k = 0; k < 100000 &&
                            __atomic_load_n(&w->writer_commits, __ATOMIC_ACQUIRE) < c0 + 20; k++)
                sched_yield();
        }
    }
    return sum;
}

START_TEST(progress_long_reader)
{
    setenv("STM_SERIAL_AFTER", "5", 1);
    static struct wide w;
    for (int i = 0; i < WIDE; i++)
        stm_tvar_init(&w.v[i], 10);
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, wide_writer, &w), 0);
    struct stm_stats s0, s1;
    stm_stats_get(&s0);
    int escalated = 0;
    for (int r = 0; r < 10; r++) {
        w.attempts = 0;
        ck_assert_int_eq(stm_atomically(wide_sum, &w), 10 * WIDE);
        /* bounded: at most SERIAL_AFTER software attempts, then serial */
        ck_assert_int_le(w.attempts, SERIAL_AFTER + 1);
        escalated += w.attempts == SERIAL_AFTER + 1;
    }
    __atomic_store_n(&w.stop, 1, __ATOMIC_RELEASE);
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(pthread_join(t[i], NULL), 0);
    stm_stats_get(&s1);
    ck_assert_int_gt(escalated, 0);
    ck_assert_uint_ge(s1.commits_serial - s0.commits_serial, (uint64_t)escalated);
    ck_assert_uint_ge(s1.aborts_stm - s0.aborts_stm, (uint64_t)escalated * SERIAL_AFTER);
}
END_TEST

/* ---- thread exit: logs freed, stats folded (leak checkers watch) -------- */

struct big_tx {
    stm_tvar v[600];
};

static intptr_t touch_all(stm_tx *tx, void *arg)
{
    struct big_tx *b = arg;
    for (int i = 0; i < 600; i++)
        stm_write_int(tx, &b->v[i], stm_read_int(tx, &b->v[i]) + 1);
    void *p = stm_alloc(tx, 100);
    stm_free(tx, p);
    return 0;
}

static void *big_once(void *arg)
{
    stm_atomically(touch_all, arg);
    return NULL;
}

START_TEST(thread_exit_cleanup)
{
    static struct big_tx b;
    for (int round = 0; round < 5; round++)
        run_threads(8, big_once, &b);
    ck_assert_int_eq((intptr_t)stm_load(&b.v[599]), 40);
    struct stm_stats s;
    stm_stats_get(&s);
    ck_assert_uint_eq(s.commits_htm + s.commits_stm + s.commits_serial, 40);
}
END_TEST

static Suite *stress_suite(void)
{
    Suite *s = suite_create("stress");
    TCase *tc = tcase_create("stress");
    /* generous: TSan and a loaded 2-core machine; the work is bounded */
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, bank_invariant, 0, (int)(sizeof bank_sizes / sizeof bank_sizes[0]));
    tcase_add_test(tc, bank_serial_after_one);
    tcase_add_test(tc, bank_counters_wrap);
    tcase_add_test(tc, opacity_pair);
    tcase_add_test(tc, opacity_list);
    tcase_add_test(tc, free_unmaps_under_readers);
    tcase_add_test(tc, progress_long_reader);
    tcase_add_test(tc, thread_exit_cleanup);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return check_run_suite(stress_suite());
}
