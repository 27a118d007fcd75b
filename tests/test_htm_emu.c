/* The hardware path's control flow and policy, through the emulation back
 * end (src/htm/emu): every abort cause leads to the documented next step
 * with matching counters; aborts injected mid-body leave no trace; the
 * lemming scenario resumes hardware; the adaptive skip engages and
 * recovers; emulated and software transactions stay atomic together. */
#include <check.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../src/htm/htm.h"
#include "../src/core/config.h"
#include "../src/stm/policy.h"
#include "../src/stm/runtime.h"
#include "../src/core/tx.h"
#include "stm.h"

#define RTM(s) {(s), 0, STM_EMU_FMT_RTM}
#define RTM_AT(s, n) {(s), (n), STM_EMU_FMT_RTM}
#define PPC(s) {(s), 0, STM_EMU_FMT_POWER}
#define START RTM(STM_HTM_STARTED)
#define CONFLICT (STM_RTM_CONFLICT | STM_RTM_RETRY)
#define BUSY STM_RTM_XABORT_STATUS(STM_HTM_CODE_BUSY)

static stm_tvar x = STM_TVAR_INIT(0), y = STM_TVAR_INIT(0);

static void fresh(void)
{
    stm_runtime_init();
    stm_emu_enable();
    stm_policy_reset();
    stm_store(&x, 0);
    stm_store(&y, 0);
    stm_stats_reset();
}

/* 4 accesses: read x, write x, read y, write y */
static intptr_t incr_both(stm_tx *tx, void *arg)
{
    (void)arg;
    stm_write(tx, &x, stm_read(tx, &x) + 1);
    stm_write(tx, &y, stm_read(tx, &y) + 1);
    return 0;
}

struct expect {
    uint64_t htm, stm, serial, conflict, capacity, expl, other, busy_waits, begins;
};

static void check_stats(const char *what, const struct expect *e)
{
    struct stm_stats s;
    struct stm_emu_counts c;
    stm_stats_get(&s);
    stm_emu_counts(&c);
#define EQ(field, val)                                                         \
    ck_assert_msg((field) == (val), "%s: %s = %llu, expected %llu", what, #field,  \
                  (unsigned long long)(field), (unsigned long long)(val))
    EQ(s.commits_htm, e->htm);
    EQ(s.commits_stm, e->stm);
    EQ(s.commits_serial, e->serial);
    EQ(s.aborts_htm_conflict, e->conflict);
    EQ(s.aborts_htm_capacity, e->capacity);
    EQ(s.aborts_htm_explicit, e->expl);
    EQ(s.aborts_htm_other, e->other);
    EQ(s.htm_busy_waits, e->busy_waits);
    EQ(c.begins, e->begins);
#undef EQ
}

struct cause_case {
    const char *name;
    struct stm_emu_outcome script[80];
    size_t n;
    struct expect e;
};

/* Filled at run time because the retry limits come from the configuration
 * (the environment may change them). */
static struct cause_case cc;

static void set_case(const char *name, const struct stm_emu_outcome *o, size_t n,
                     struct expect e)
{
    cc.name = name;
    memcpy(cc.script, o, n * sizeof *o);
    cc.n = n;
    cc.e = e;
}

static void fill(struct stm_emu_outcome *o, size_t from, size_t to, struct stm_emu_outcome v)
{
    for (size_t i = from; i < to; i++)
        o[i] = v;
}

enum { N_CAUSE_CASES = 16 };

static void build_case(int i)
{
    const struct stm_config *cfg = stm_config();
    unsigned r = cfg->htm_retries, k = cfg->htm_capacity_retries;
    struct stm_emu_outcome o[80];
    memset(o, 0, sizeof o);
    switch (i) {
    case 0:
        set_case("no abort: hardware commit", o, 0, (struct expect){.htm = 1, .begins = 1});
        break;
    case 1:
        fill(o, 0, r + 1, (struct stm_emu_outcome)RTM(CONFLICT));
        set_case("conflict: STM_HTM_RETRIES more tries, then software", o, r + 1,
                 (struct expect){.stm = 1, .conflict = r + 1, .begins = r + 1});
        break;
    case 2:
        fill(o, 0, r, (struct stm_emu_outcome)RTM(CONFLICT));
        set_case("conflict: the last allowed retry commits in hardware", o, r,
                 (struct expect){.htm = 1, .conflict = r, .begins = r + 1});
        break;
    case 3:
        fill(o, 0, k + 1, (struct stm_emu_outcome)RTM(STM_RTM_CAPACITY));
        set_case("capacity: STM_HTM_CAPACITY_RETRIES more tries, then software", o, k + 1,
                 (struct expect){.stm = 1, .capacity = k + 1, .begins = k + 1});
        break;
    case 4:
        fill(o, 0, 2, (struct stm_emu_outcome)RTM(0));
        set_case("status 0: one more try, then software", o, 2,
                 (struct expect){.stm = 1, .other = 2, .begins = 2});
        break;
    case 5:
        fill(o, 0, 1, (struct stm_emu_outcome)RTM(0));
        set_case("status 0 once: the second try commits", o, 1,
                 (struct expect){.htm = 1, .other = 1, .begins = 2});
        break;
    case 6:
        fill(o, 0, 10, (struct stm_emu_outcome)RTM(BUSY));
        set_case("busy: waits are uncharged", o, 10,
                 (struct expect){.htm = 1, .expl = 10, .busy_waits = 10, .begins = 11});
        break;
    case 7:
        fill(o, 0, STM_HTM_BUSY_MAX + 1, (struct stm_emu_outcome)RTM(BUSY));
        set_case("busy: capped, then software", o, STM_HTM_BUSY_MAX + 1,
                 (struct expect){.stm = 1, .expl = STM_HTM_BUSY_MAX + 1,
                                 .busy_waits = STM_HTM_BUSY_MAX, .begins = STM_HTM_BUSY_MAX + 1});
        break;
    case 8:
        fill(o, 0, 1, (struct stm_emu_outcome)PPC(STM_TEXASR_QEMU));
        set_case("persistent (POWER TEXASR): software at once", o, 1,
                 (struct expect){.stm = 1, .other = 1, .begins = 1});
        break;
    case 9:
        fill(o, 0, 1, (struct stm_emu_outcome)RTM(STM_RTM_DEBUG));
        set_case("debug: software at once", o, 1,
                 (struct expect){.stm = 1, .other = 1, .begins = 1});
        break;
    case 10:
        fill(o, 0, 1, (struct stm_emu_outcome)RTM(STM_RTM_NESTED));
        set_case("nested: software at once", o, 1,
                 (struct expect){.stm = 1, .other = 1, .begins = 1});
        break;
    case 11:
        fill(o, 0, r + 1, (struct stm_emu_outcome)RTM(STM_RTM_XABORT_STATUS(0x42)));
        set_case("foreign explicit code: like a conflict", o, r + 1,
                 (struct expect){.stm = 1, .expl = r + 1, .begins = r + 1});
        break;
    case 12:
        fill(o, 0, 1, (struct stm_emu_outcome)RTM_AT(CONFLICT, 3));
        set_case("conflict after 2 accesses (x written): rolled back, retried", o, 1,
                 (struct expect){.htm = 1, .conflict = 1, .begins = 2});
        break;
    case 13:
        fill(o, 0, k + 1, (struct stm_emu_outcome)RTM_AT(STM_RTM_CAPACITY, 4));
        set_case("capacity at the 4th access, every try: software", o, k + 1,
                 (struct expect){.stm = 1, .capacity = k + 1, .begins = k + 1});
        break;
    case 14:
        fill(o, 0, 1, (struct stm_emu_outcome)PPC(STM_TEXASR_TX_CONFLICT));
        set_case("POWER conflict: retried in hardware", o, 1,
                 (struct expect){.htm = 1, .conflict = 1, .begins = 2});
        break;
    case 15:
        fill(o, 0, 1,
             (struct stm_emu_outcome)PPC(STM_TEXASR_ABORT | (uint64_t)STM_HTM_CODE_BUSY << 56));
        set_case("POWER busy code (tabort.): uncharged wait", o, 1,
                 (struct expect){.htm = 1, .expl = 1, .busy_waits = 1, .begins = 2});
        break;
    }
}

START_TEST(each_cause)
{
    fresh();
    build_case(_i);
    stm_emu_script(cc.script, cc.n);
    stm_atomically(incr_both, NULL);
    check_stats(cc.name, &cc.e);
    /* whatever aborted, the effects happened exactly once */
    ck_assert_msg(stm_load(&x) == 1 && stm_load(&y) == 1, "%s: x=%lu y=%lu", cc.name,
                  (unsigned long)stm_load(&x), (unsigned long)stm_load(&y));
}
END_TEST

static intptr_t retry_in_hw(stm_tx *tx, void *arg)
{
    (void)arg;
    uintptr_t v = stm_read(tx, &x);
    if (tx->mode == STM_MODE_HTM)
        stm_retry(tx); /* in hardware: abort, re-run in software */
    stm_write(tx, &x, v + 1);
    return 0;
}

static intptr_t irrevocable_tx(stm_tx *tx, void *arg)
{
    (void)arg;
    stm_write(tx, &x, stm_read(tx, &x) + 1);
    stm_irrevocable(tx);
    stm_write(tx, &y, stm_read(tx, &y) + 1);
    return 0;
}

static intptr_t or_else_second(stm_tx *tx, void *arg)
{
    (void)arg;
    stm_write(tx, &y, stm_read(tx, &y) + 1);
    return 2;
}

static intptr_t or_else_first(stm_tx *tx, void *arg)
{
    (void)arg;
    stm_write(tx, &x, 100);
    stm_retry(tx);
}

static intptr_t or_else_tx(stm_tx *tx, void *arg)
{
    return stm_or_else(tx, or_else_first, arg, or_else_second, arg);
}

START_TEST(explicit_paths)
{
    fresh();
    stm_atomically(retry_in_hw, NULL);
    check_stats("stm_retry in hardware: software at once",
                &(struct expect){.stm = 1, .expl = 1, .begins = 1});
    ck_assert_uint_eq(stm_load(&x), 1);

    fresh();
    stm_atomically(irrevocable_tx, NULL);
    check_stats("stm_irrevocable in hardware: serial at once",
                &(struct expect){.serial = 1, .expl = 1, .begins = 1});
    ck_assert_uint_eq(stm_load(&x), 1);
    ck_assert_uint_eq(stm_load(&y), 1);

    fresh();
    ck_assert_int_eq(stm_atomically(or_else_tx, NULL), 2);
    check_stats("orElse whose first branch retries: software",
                &(struct expect){.stm = 1, .expl = 1, .begins = 1});
    ck_assert_uint_eq(stm_load(&x), 0); /* first branch's write undone */
    ck_assert_uint_eq(stm_load(&y), 1);
}
END_TEST

static intptr_t alloc_tx(stm_tx *tx, void *arg)
{
    stm_tvar **slot = arg;
    stm_tvar *t = stm_alloc(tx, sizeof *t);
    t->word = 7;
    stm_write(tx, &x, stm_read(tx, &x) + 1);
    stm_write(tx, &y, 1);
    *slot = t;
    return 0;
}

static intptr_t free_tx(stm_tx *tx, void *arg)
{
    stm_free(tx, arg);
    return 0;
}

START_TEST(alloc_rolled_back)
{
    /* an injected abort after stm_alloc frees the block (ASan/valgrind
     * would report the leak); the committed attempt's block survives */
    fresh();
    struct stm_emu_outcome o[] = {RTM_AT(CONFLICT, 2), RTM_AT(CONFLICT, 1)};
    stm_emu_script(o, 2);
    stm_tvar *t = NULL;
    stm_atomically(alloc_tx, &t);
    check_stats("alloc", &(struct expect){.htm = 1, .conflict = 2, .begins = 3});
    ck_assert_ptr_nonnull(t);
    ck_assert_uint_eq(t->word, 7);
    ck_assert_uint_eq(stm_load(&x), 1);
    stm_atomically(free_tx, t);
}
END_TEST

/* --- adaptive skip ------------------------------------------------------ */

static intptr_t site_a(stm_tx *tx, void *arg)
{
    return incr_both(tx, arg);
}

static intptr_t site_b(stm_tx *tx, void *arg)
{
    (void)arg;
    return (intptr_t)stm_read(tx, &x);
}

START_TEST(adaptive_skip)
{
    fresh();
    const struct stm_config *cfg = stm_config();
    unsigned k = cfg->htm_capacity_retries + 1; /* aborts per failing transaction */
    struct stm_emu_outcome o[3 * 1001];
    struct stm_stats s;
    if (!cfg->adaptive) {
        /* STM_ADAPTIVE=0 (as in the valgrind step): a site that keeps
         * failing still tries hardware every time */
        fill(o, 0, 10 * k, (struct stm_emu_outcome)RTM(STM_RTM_CAPACITY));
        stm_emu_script(o, 10 * k);
        for (int i = 0; i < 10 + STM_ADAPT_SKIP; i++)
            stm_atomically(site_a, NULL);
        stm_stats_get(&s);
        ck_assert_uint_eq(s.htm_skipped_adaptive, 0);
        ck_assert_uint_eq(s.commits_stm, 10);
        ck_assert_uint_eq(s.commits_htm, STM_ADAPT_SKIP);
        return;
    }
    fill(o, 0, STM_ADAPT_FAILS * k, (struct stm_emu_outcome)RTM(STM_RTM_CAPACITY));
    stm_emu_script(o, STM_ADAPT_FAILS * k);
    /* STM_ADAPT_FAILS transactions fall to software... */
    for (int i = 0; i < STM_ADAPT_FAILS; i++)
        stm_atomically(site_a, NULL);
    stm_stats_get(&s);
    ck_assert_uint_eq(s.commits_stm, STM_ADAPT_FAILS);
    ck_assert_uint_eq(s.htm_skipped_adaptive, 0);
    /* ...so the site skips hardware for STM_ADAPT_SKIP transactions */
    for (int i = 0; i < STM_ADAPT_SKIP; i++)
        stm_atomically(site_a, NULL);
    /* another site is not affected */
    stm_atomically(site_b, NULL);
    stm_stats_get(&s);
    ck_assert_uint_eq(s.htm_skipped_adaptive, STM_ADAPT_SKIP);
    ck_assert_uint_eq(s.commits_stm, STM_ADAPT_FAILS + STM_ADAPT_SKIP);
    ck_assert_uint_eq(s.commits_htm, 1);
    struct stm_emu_counts c;
    stm_emu_counts(&c);
    ck_assert_uint_eq(c.begins, STM_ADAPT_FAILS * k + 1);
    /* then it tries hardware again, which now works: recovered */
    stm_atomically(site_a, NULL);
    stm_atomically(site_a, NULL);
    stm_stats_get(&s);
    ck_assert_uint_eq(s.commits_htm, 3);
    ck_assert_uint_eq(s.htm_skipped_adaptive, STM_ADAPT_SKIP);

    /* a site that fails again right after its skip period skips longer */
    fresh();
    fill(o, 0, (STM_ADAPT_FAILS + 1) * k, (struct stm_emu_outcome)RTM(STM_RTM_CAPACITY));
    stm_emu_script(o, (STM_ADAPT_FAILS + 1) * k);
    for (int i = 0; i < STM_ADAPT_FAILS + STM_ADAPT_SKIP + 1 + 2 * STM_ADAPT_SKIP; i++)
        stm_atomically(site_a, NULL);
    stm_stats_get(&s);
    ck_assert_uint_eq(s.htm_skipped_adaptive, 3 * STM_ADAPT_SKIP);
    ck_assert_uint_eq(s.commits_htm, 0);
    stm_atomically(site_a, NULL);
    stm_stats_get(&s);
    ck_assert_uint_eq(s.commits_htm, 1);
    ck_assert_uint_eq(stm_load(&x), STM_ADAPT_FAILS + 3 * STM_ADAPT_SKIP + 2);

    /* STM_ADAPTIVE=0: the pure hooks never skip */
    struct stm_config off = *cfg;
    off.adaptive = false;
    for (int i = 0; i < 10; i++)
        stm_policy_site_result(&off, site_b, false);
    ck_assert(stm_policy_site_uses_htm(&off, site_b));
    ck_assert(stm_policy_site_uses_htm(cfg, site_b)); /* nothing recorded */
}
END_TEST

/* --- the lemming scenario ------------------------------------------------ */

enum { TOTAL = 1000, WORKERS = 3, LEMMING_TX = 3000 };
static stm_tvar acc_a = STM_TVAR_INIT(TOTAL), acc_b = STM_TVAR_INIT(0);
static int progress[WORKERS];
static int serial_done;
static int bad_sum;

static intptr_t read_pair(stm_tx *tx, void *arg)
{
    (void)arg;
    uintptr_t a = stm_read(tx, &acc_a), b = stm_read(tx, &acc_b);
    if (a + b != TOTAL)
        __atomic_store_n(&bad_sum, 1, __ATOMIC_RELAXED);
    return 0;
}

static void *lemming_worker(void *p)
{
    int id = (int)(intptr_t)p;
    for (int i = 0; i < LEMMING_TX; i++) {
        stm_atomically(read_pair, NULL);
        __atomic_store_n(&progress[id], i + 1, __ATOMIC_RELAXED);
        /* keep running until the serial transaction is over, so that
         * hardware transactions certainly run after it */
        while (i == LEMMING_TX - 2 && !__atomic_load_n(&serial_done, __ATOMIC_ACQUIRE))
            sched_yield();
    }
    return NULL;
}

static intptr_t long_serial(stm_tx *tx, void *arg)
{
    (void)arg;
    stm_irrevocable(tx);
    uintptr_t a = stm_read(tx, &acc_a);
    stm_write(tx, &acc_a, a - 10);
    /* hold the sequence lock for a while: hardware transactions must wait
     * (uncharged), not fall into software */
    for (int i = 0; i < 200; i++)
        sched_yield();
    stm_write(tx, &acc_b, stm_read(tx, &acc_b) + 10);
    return 0;
}

START_TEST(lemming)
{
    fresh();
    stm_store(&acc_a, TOTAL);
    stm_store(&acc_b, 0);
    stm_stats_reset();
    pthread_t t[WORKERS];
    for (int i = 0; i < WORKERS; i++)
        pthread_create(&t[i], NULL, lemming_worker, (void *)(intptr_t)i);
    for (int i = 0; i < WORKERS; i++)
        while (__atomic_load_n(&progress[i], __ATOMIC_RELAXED) < 100)
            sched_yield();
    stm_atomically(long_serial, NULL);
    __atomic_store_n(&serial_done, 1, __ATOMIC_RELEASE);
    for (int i = 0; i < WORKERS; i++)
        pthread_join(t[i], NULL);
    struct stm_stats s;
    stm_stats_get(&s);
    ck_assert_int_eq(bad_sum, 0);
    ck_assert_uint_eq(s.commits_serial, 1);
    /* nobody followed the serial transaction into software */
    ck_assert_msg(s.commits_stm == 0, "%llu software commits", (unsigned long long)s.commits_stm);
    ck_assert_uint_eq(s.commits_htm, (uint64_t)WORKERS * LEMMING_TX);
    ck_assert_uint_eq(stm_load(&acc_a) + stm_load(&acc_b), TOTAL);
}
END_TEST

/* --- emulated and software transactions together ------------------------ */

enum { ACCOUNTS = 8, MIX_THREADS = 3, MIX_TX = 3000, START_BALANCE = 100 };
static stm_tvar accounts[ACCOUNTS];
static int mix_bad;

struct transfer {
    unsigned from, to, amount;
    bool check_all, irrevocable;
};

static intptr_t transfer_tx(stm_tx *tx, void *arg)
{
    const struct transfer *t = arg;
    intptr_t a = (intptr_t)stm_read(tx, &accounts[t->from]);
    stm_write(tx, &accounts[t->from], (uintptr_t)(a - (intptr_t)t->amount));
    if (t->irrevocable)
        stm_irrevocable(tx);
    intptr_t b = (intptr_t)stm_read(tx, &accounts[t->to]);
    stm_write(tx, &accounts[t->to], (uintptr_t)(b + (intptr_t)t->amount));
    if (t->check_all) {
        intptr_t sum = 0;
        for (int i = 0; i < ACCOUNTS; i++)
            sum += (intptr_t)stm_read(tx, &accounts[i]);
        /* opacity: even a doomed attempt never sees a torn total */
        if (sum != ACCOUNTS * START_BALANCE)
            __atomic_store_n(&mix_bad, 1, __ATOMIC_RELAXED);
    }
    return 0;
}

static void *mix_worker(void *p)
{
    unsigned r = (unsigned)(uintptr_t)p * 2654435761u + 1;
    for (int i = 0; i < MIX_TX; i++) {
        r = r * 1103515245u + 12345u;
        struct transfer t = {(r >> 8) % ACCOUNTS, (r >> 16) % ACCOUNTS, (r >> 24) % 7,
                             (i % 4) == 0, (i % 97) == 0};
        stm_atomically(transfer_tx, &t);
    }
    return NULL;
}

START_TEST(mixed_isolation)
{
    fresh();
    for (int i = 0; i < ACCOUNTS; i++)
        stm_store(&accounts[i], START_BALANCE);
    stm_emu_seed(12345, 30); /* 30% of attempts fail, every cause */
    stm_stats_reset();
    pthread_t t[MIX_THREADS];
    for (int i = 0; i < MIX_THREADS; i++)
        pthread_create(&t[i], NULL, mix_worker, (void *)(intptr_t)(i + 1));
    for (int i = 0; i < MIX_THREADS; i++)
        pthread_join(t[i], NULL);
    intptr_t sum = 0;
    for (int i = 0; i < ACCOUNTS; i++)
        sum += (intptr_t)stm_load(&accounts[i]);
    ck_assert_int_eq(sum, ACCOUNTS * START_BALANCE);
    ck_assert_int_eq(mix_bad, 0);
    struct stm_stats s;
    stm_stats_get(&s);
    ck_assert_uint_eq(s.commits_htm + s.commits_stm + s.commits_serial,
                      (uint64_t)MIX_THREADS * MIX_TX);
    ck_assert(s.commits_htm > 0);
    ck_assert(s.commits_stm > 0);
    ck_assert(s.commits_serial > 0);
    ck_assert(s.aborts_htm_capacity > 0 && s.aborts_htm_other > 0 && s.aborts_htm_conflict > 0);
}
END_TEST

int main(void)
{
    /* the emulated hardware path needs STM_MODE=auto (CI also runs the
     * suites with STM_MODE=stm) */
    unsetenv("STM_MODE");
    Suite *s = suite_create("htm_emu");
    TCase *tc = tcase_create("policy");
    tcase_add_loop_test(tc, each_cause, 0, N_CAUSE_CASES);
    tcase_add_test(tc, explicit_paths);
    tcase_add_test(tc, alloc_rolled_back);
    tcase_add_test(tc, adaptive_skip);
    suite_add_tcase(s, tc);
    TCase *mt = tcase_create("threads");
    tcase_set_timeout(mt, 60);
    tcase_add_test(mt, lemming);
    tcase_add_test(mt, mixed_isolation);
    suite_add_tcase(s, mt);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
