/* Blocking retry under stress (issue 4): no lost wake-ups (the test hook
 * stm_test_before_sleep widens the window between the last re-check and
 * the futex sleep; a change committed exactly there must still wake the
 * waiter), thousands of block/wake cycles between threads, no busy waiting
 * (CPU time of a blocked thread), and threads exiting while others are
 * blocked.  Every test runs under a watchdog (alarm) so that a lost
 * wake-up fails the test instead of hanging it. */
#include <sched.h>

#include "compose_util.h"

/* --- a change committed inside the window --- */

static stm_tvar x = STM_TVAR_INIT(0);
static stm_tvar y = STM_TVAR_INIT(0);
static unsigned hook_calls;

static void *store_x(void *arg)
{
    stm_store(&x, (uintptr_t)arg);
    return NULL;
}

static intptr_t bump_x(stm_tx *tx, void *arg)
{
    stm_write(tx, &x, stm_read(tx, &x) + 1);
    return 0;
}

static void *commit_x(void *arg)
{
    stm_atomically(bump_x, NULL);
    return NULL;
}

static intptr_t bump_x_serial(stm_tx *tx, void *arg)
{
    stm_irrevocable(tx);
    stm_write(tx, &x, stm_read(tx, &x) + 1);
    return 0;
}

static void *commit_x_serial(void *arg)
{
    stm_atomically(bump_x_serial, NULL);
    return NULL;
}

static void *(*window_writer)(void *);

/* Runs on the waiter between its last re-check and its sleep: commit the
 * change on another thread and wait until it is complete. */
static void change_in_window(void)
{
    if (__atomic_fetch_add(&hook_calls, 1, __ATOMIC_RELAXED) == 0) {
        pthread_t t;
        pthread_create(&t, NULL, window_writer, (void *)1);
        pthread_join(t, NULL);
    }
}

static intptr_t wait_x(stm_tx *tx, void *arg)
{
    uintptr_t v = stm_read(tx, &x);
    if (v == 0)
        stm_retry(tx);
    return (intptr_t)v;
}

static void window_test(void *(*writer)(void *))
{
    compose_watchdog(20);
    window_writer = writer;
    stm_test_before_sleep = change_in_window;
    ck_assert_int_eq(stm_atomically(wait_x, NULL), 1);
    ck_assert_uint_ge(hook_calls, 1);
}

START_TEST(change_in_window_store) { window_test(store_x); }
END_TEST
START_TEST(change_in_window_commit) { window_test(commit_x); }
END_TEST
START_TEST(change_in_window_serial) { window_test(commit_x_serial); }
END_TEST

/* --- ping-pong torture: a turn passed around a ring of threads --- */

#define ROUNDS 2000
static stm_tvar turn = STM_TVAR_INIT(0);
static unsigned ring_size;
static int wake_by; /* 0: transaction, 1: stm_store, 2: serial, 3: spread */

/* Randomly yield or nap in the window (per-thread xorshift). */
static void jitter(void)
{
    static __thread uint32_t rng = 0;
    if (rng == 0)
        rng = (uint32_t)(uintptr_t)&rng | 1;
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    if (rng % 4 == 0)
        compose_sleep_ms(0);
    else if (rng % 4 == 1) {
        struct timespec ts = { 0, 20000 };
        nanosleep(&ts, NULL);
    } else {
        sched_yield();
    }
}

struct player {
    uintptr_t me;
    unsigned blocked;
};

/* wake_by 3: the turn is the sum of SPREAD TVars (in different wait
 * buckets); passing it increments one of them, chosen by the round, so
 * waiters register in several buckets and each writer touches one. */
#define SPREAD 8
static stm_tvar part[SPREAD];

static uintptr_t read_turn(stm_tx *tx)
{
    if (wake_by != 3)
        return stm_read(tx, &turn);
    uintptr_t sum = 0;
    for (int i = 0; i < SPREAD; i++)
        sum += stm_read(tx, &part[i]);
    return sum;
}

static intptr_t await_turn(stm_tx *tx, void *arg)
{
    struct player *p = arg;
    uintptr_t t = read_turn(tx);
    if (t % ring_size != p->me)
        stm_retry(tx);
    return (intptr_t)t;
}

static intptr_t pass_turn(stm_tx *tx, void *arg)
{
    if (wake_by == 3) {
        stm_tvar *tv = &part[(uintptr_t)arg * 5 % SPREAD];
        stm_write(tx, tv, stm_read(tx, tv) + 1);
        return 0;
    }
    uintptr_t t = stm_read(tx, &turn);
    if (wake_by == 2)
        stm_irrevocable(tx);
    stm_write(tx, &turn, t + 1);
    return 0;
}

static void *player(void *arg)
{
    struct player *p = arg;
    for (unsigned r = 0; r < ROUNDS; r++) {
        uintptr_t t = (uintptr_t)stm_atomically(await_turn, p);
        ck_assert_uint_eq(t, (uintptr_t)r * ring_size + p->me);
        if (wake_by == 1)
            stm_store(&turn, t + 1); /* only the turn holder writes */
        else
            stm_atomically(pass_turn, (void *)t);
    }
    return NULL;
}

static void ring(unsigned n, int how)
{
    compose_watchdog(55);
    ring_size = n;
    wake_by = how;
    stm_store(&turn, 0); /* CK_FORK=no runs every ring in one process */
    for (int i = 0; i < SPREAD; i++)
        stm_store(&part[i], 0);
    stm_test_before_sleep = jitter;
    struct player p[4];
    pthread_t t[4];
    for (unsigned i = 0; i < n; i++) {
        p[i].me = i;
        ck_assert_int_eq(pthread_create(&t[i], NULL, player, &p[i]), 0);
    }
    for (unsigned i = 0; i < n; i++)
        pthread_join(t[i], NULL);
    uintptr_t total = stm_load(&turn);
    for (int i = 0; i < SPREAD; i++)
        total += stm_load(&part[i]);
    ck_assert_uint_eq(total, (uintptr_t)ROUNDS * n);
    struct stm_stats s;
    stm_stats_get(&s);
    /* the players really blocked (not only found their turn at once) */
    ck_assert_uint_gt(s.retries_blocked, 0);
    ck_assert_uint_eq(compose_waiters(), 0);
}

START_TEST(ping_pong_two_threads) { ring(2, 0); }
END_TEST
START_TEST(ping_pong_two_threads_store) { ring(2, 1); }
END_TEST
START_TEST(ping_pong_two_threads_serial) { ring(2, 2); }
END_TEST
START_TEST(ring_of_three_threads) { ring(3, 0); }
END_TEST
START_TEST(ring_of_four_threads_store) { ring(4, 1); }
END_TEST
START_TEST(ping_pong_spread_over_buckets) { ring(2, 3); }
END_TEST
START_TEST(ring_of_three_spread_over_buckets) { ring(3, 3); }
END_TEST

/* --- no busy waiting --- */

static double blocked_cpu_s;

static void *blocked_waiter(void *arg)
{
    stm_load(&y); /* register the thread before measuring */
    double t0 = compose_thread_cpu_s();
    ck_assert_int_eq(stm_atomically(wait_x, NULL), 1);
    blocked_cpu_s = compose_thread_cpu_s() - t0;
    return NULL;
}

START_TEST(blocked_thread_uses_no_cpu)
{
    compose_watchdog(30);
    pthread_t t;
    pthread_create(&t, NULL, blocked_waiter, NULL);
    compose_wait_blocked(1);
    compose_sleep_ms(1000);
    stm_store(&x, 1);
    pthread_join(t, NULL);
    /* a resource bound, not a speed assertion: a spinning waiter would use
     * most of the second (the main thread sleeps meanwhile).  The figure
     * includes running the transaction twice, which under valgrind means
     * translating those code paths first (measured 0.056 s there, 0.03 ms
     * natively), hence the margin. */
    ck_assert_msg(blocked_cpu_s < 0.250, "blocked thread used %.3f s of CPU", blocked_cpu_s);
}
END_TEST

/* --- threads exit while others are blocked --- */

#define NWAIT 4
static stm_tvar slot[NWAIT];

static intptr_t wait_slot(stm_tx *tx, void *arg)
{
    uintptr_t v = stm_read(tx, arg);
    if (v == 0)
        stm_retry(tx);
    return (intptr_t)v;
}

static void *slot_waiter(void *arg)
{
    return (void *)stm_atomically(wait_slot, arg);
}

static intptr_t bump_y(stm_tx *tx, void *arg)
{
    stm_write(tx, &y, stm_read(tx, &y) + 1);
    return 0;
}

static void *short_lived(void *arg)
{
    stm_atomically(bump_y, NULL);
    return NULL;
}

static intptr_t exit_inside(stm_tx *tx, void *arg)
{
    stm_write(tx, &y, 12345);
    pthread_exit(NULL);
}

static void *exits_in_transaction(void *arg)
{
    stm_atomically(exit_inside, NULL);
    return NULL;
}

START_TEST(thread_exit_while_others_blocked)
{
    compose_watchdog(30);
    pthread_t w[NWAIT];
    for (uintptr_t i = 0; i < NWAIT; i++)
        pthread_create(&w[i], NULL, slot_waiter, &slot[i]);
    compose_wait_blocked(NWAIT);
    for (int i = 0; i < 50; i++) {
        pthread_t t;
        pthread_create(&t, NULL, i % 10 == 9 ? exits_in_transaction : short_lived, NULL);
        pthread_join(t, NULL);
    }
    ck_assert_uint_eq(stm_load(&y), 45); /* the exits inside committed nothing */
    /* wake them one at a time: each wakes only for its own slot */
    for (uintptr_t i = 0; i < NWAIT; i++) {
        stm_store(&slot[i], i + 1);
        void *r;
        pthread_join(w[i], &r);
        ck_assert_int_eq((intptr_t)r, (intptr_t)i + 1);
    }
    ck_assert_uint_eq(compose_waiters(), 0);
}
END_TEST

/* --- wait buckets: writers wake only for buckets with waiters --- */

static stm_tvar arr[1024];
static unsigned arr_attempts;

static intptr_t wait_arr0(stm_tx *tx, void *arg)
{
    __atomic_fetch_add(&arr_attempts, 1, __ATOMIC_RELAXED);
    uintptr_t v = stm_read(tx, &arr[0]);
    if (v == 0)
        stm_retry(tx);
    return (intptr_t)v;
}

static void *arr_waiter(void *arg)
{
    return (void *)stm_atomically(wait_arr0, NULL);
}

static intptr_t bump_tv(stm_tx *tx, void *arg)
{
    stm_write(tx, arg, stm_read(tx, arg) + 1);
    return 0;
}

static uint64_t wakeups_now(void)
{
    struct stm_stats s;
    stm_stats_get(&s);
    return s.wakeups;
}

START_TEST(writers_wake_only_their_buckets)
{
    compose_watchdog(30);
    /* Software writers only: hardware writers still wake on the global
     * waiter count (a CPU with working RTM would run these commits in
     * hardware). */
    setenv("STM_MODE", "stm", 1);
    /* a TVar in the waiter's bucket and one in another bucket */
    int same = -1, other = -1;
    for (int i = 1; i < 1024 && (same < 0 || other < 0); i++) {
        if (stm_wlog_bit(&arr[i]) == stm_wlog_bit(&arr[0]))
            same = same < 0 ? i : same;
        else
            other = other < 0 ? i : other;
    }
    ck_assert(same > 0 && other > 0);
    pthread_t t;
    pthread_create(&t, NULL, arr_waiter, NULL);
    /* the waiter counts itself globally first, then in its bucket */
    unsigned b = (unsigned)__builtin_ctzll(stm_wlog_bit(&arr[0]));
    while (__atomic_load_n(&stm_waitq.bucket[b], __ATOMIC_ACQUIRE) == 0)
        compose_sleep_ms(1);
    /* attempts before blocking: two where the first kept no read log (its
     * stm_retry re-runs it logged) */
    unsigned a0 = __atomic_load_n(&arr_attempts, __ATOMIC_RELAXED);
    ck_assert(a0 == 1 || a0 == 2);
    uint64_t w0 = wakeups_now();
    for (int i = 0; i < 20; i++) {
        stm_atomically(bump_tv, &arr[other]);
        stm_store(&arr[other], 0);
    }
    ck_assert_uint_eq(wakeups_now(), w0); /* other bucket: nobody woken */
    for (int i = 0; i < 10; i++) {
        stm_atomically(bump_tv, &arr[same]);
        stm_store(&arr[same], 0);
    }
    ck_assert_uint_eq(wakeups_now(), w0 + 20); /* same bucket: woken, */
    ck_assert_uint_eq(__atomic_load_n(&arr_attempts, __ATOMIC_RELAXED), a0); /* no re-run */
    stm_store(&arr[0], 3);
    void *r;
    pthread_join(t, &r);
    ck_assert_int_eq((intptr_t)r, 3);
    ck_assert_uint_eq(arr_attempts, a0 + 1);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("wakeup");
    TCase *tc = tcase_create("window");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, change_in_window_store);
    tcase_add_test(tc, change_in_window_commit);
    tcase_add_test(tc, change_in_window_serial);
    suite_add_tcase(s, tc);

    tc = tcase_create("torture");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, ping_pong_two_threads);
    tcase_add_test(tc, ping_pong_two_threads_store);
    tcase_add_test(tc, ping_pong_two_threads_serial);
    tcase_add_test(tc, ring_of_three_threads);
    tcase_add_test(tc, ring_of_four_threads_store);
    tcase_add_test(tc, ping_pong_spread_over_buckets);
    tcase_add_test(tc, ring_of_three_spread_over_buckets);
    suite_add_tcase(s, tc);

    tc = tcase_create("resources");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, blocked_thread_uses_no_cpu);
    tcase_add_test(tc, thread_exit_while_others_blocked);
    tcase_add_test(tc, writers_wake_only_their_buckets);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return compose_run_suite(suite());
}
