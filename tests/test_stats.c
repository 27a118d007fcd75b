/* Statistics: every counter counts what it names, per path; reset; exited
 * threads are kept; STM_STATS=1 prints a summary at exit; STM_STATS=2
 * splits the counters by transaction site (stm_stats_site, and a block per
 * site at exit).  The mode is
 * read once per process, so each test sets it before its first libstm call
 * (every test runs in its own fresh child). */
#include <pthread.h>
#include <sched.h>
#include <string.h>

#include "check_util.h"
#include "stm.h"
#include "core/config.h"
#include "core/wait.h"

static stm_tvar counter = STM_TVAR_INIT(0);

static intptr_t bump(stm_tx *tx, void *arg)
{
    stm_tvar *tv = arg;
    stm_write(tx, tv, stm_read(tx, tv) + 1);
    return 0;
}

static intptr_t peek(stm_tx *tx, void *arg)
{
    return (intptr_t)stm_read(tx, arg);
}

static intptr_t irrevocable_bump(stm_tx *tx, void *arg)
{
    stm_irrevocable(tx);
    return bump(tx, arg);
}

static void run(stm_fn fn, int n)
{
    for (int i = 0; i < n; i++)
        stm_atomically(fn, &counter);
}

static void assert_zero_except(const struct stm_stats *s, const uint64_t *keep)
{
    const uint64_t *f = (const uint64_t *)s;
    for (size_t i = 0; i < sizeof *s / sizeof(uint64_t); i++)
        if (&f[i] != keep)
            ck_assert_msg(f[i] == 0, "stats field %zu is %llu", i, (unsigned long long)f[i]);
}

START_TEST(software_path_counts)
{
    setenv("STM_MODE", "stm", 1);
    struct stm_stats s;
    stm_stats_reset();
    run(bump, 100);
    run(peek, 50); /* read-only transactions commit too */
    stm_stats_get(&s);
    ck_assert_uint_eq(s.commits_stm, 150);
    assert_zero_except(&s, &s.commits_stm);
    ck_assert_uint_eq(stm_load(&counter), 100);
    /* irrevocable transactions commit serially */
    run(irrevocable_bump, 7);
    stm_stats_get(&s);
    ck_assert_uint_eq(s.commits_stm, 150);
    ck_assert_uint_eq(s.commits_serial, 7);
}
END_TEST

START_TEST(serial_mode_counts)
{
    setenv("STM_MODE", "serial", 1);
    struct stm_stats s;
    run(bump, 40);
    run(peek, 2);
    run(irrevocable_bump, 3);
    stm_stats_get(&s);
    ck_assert_uint_eq(s.commits_serial, 45);
    assert_zero_except(&s, &s.commits_serial);
    ck_assert_uint_eq(stm_load(&counter), 43);
}
END_TEST

START_TEST(reset_and_get)
{
    struct stm_stats s;
    stm_stats_get(&s);
    assert_zero_except(&s, NULL); /* a fresh process */
    run(bump, 10);
    stm_stats_get(&s);
    ck_assert_uint_eq(s.commits_htm + s.commits_stm + s.commits_serial, 10);
    stm_stats_reset();
    stm_stats_get(&s);
    assert_zero_except(&s, NULL);
    run(bump, 3);
    stm_stats_get(&s);
    ck_assert_uint_eq(s.commits_htm + s.commits_stm + s.commits_serial, 3);
    stm_stats_reset();
    stm_stats_reset();
    stm_stats_get(&s);
    assert_zero_except(&s, NULL);
    stm_stats_get(NULL); /* ignored */
}
END_TEST

static void *worker(void *arg)
{
    run(bump, (int)(intptr_t)arg);
    return NULL;
}

START_TEST(exited_threads_kept)
{
    setenv("STM_MODE", "stm", 1);
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, worker, (void *)(intptr_t)(25 * (i + 1))), 0);
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(pthread_join(t[i], NULL), 0);
    struct stm_stats s;
    stm_stats_get(&s);
    /* four writers of one counter: the contention adaptation may run some
     * of them serially (stm(7)) */
    ck_assert_uint_eq(s.commits_stm + s.commits_serial, 25 + 50 + 75 + 100);
    ck_assert_uint_eq(stm_load(&counter), 250);
    /* a reset also covers the exited threads' share */
    stm_stats_reset();
    run(bump, 1);
    stm_stats_get(&s);
    ck_assert_uint_eq(s.commits_stm + s.commits_serial, 1);
    /* more threads exit after the reset: only their new work shows */
    ck_assert_int_eq(pthread_create(&t[0], NULL, worker, (void *)(intptr_t)9), 0);
    ck_assert_int_eq(pthread_join(t[0], NULL), 0);
    stm_stats_get(&s);
    ck_assert_uint_eq(s.commits_stm + s.commits_serial, 10);
}
END_TEST

/* An abort, a blocking retry and a wake-up, each counted once. */
struct blocker {
    stm_tvar flag, x;
    int attempts;
};

static void *poke(void *arg)
{
    stm_store(arg, 1);
    return NULL;
}

static intptr_t abort_once(stm_tx *tx, void *arg)
{
    struct blocker *b = arg;
    uintptr_t x = stm_read(tx, &b->x);
    if (++b->attempts == 1) {
        pthread_t t;
        ck_assert_int_eq(pthread_create(&t, NULL, poke, &b->x), 0);
        ck_assert_int_eq(pthread_join(t, NULL), 0);
        stm_read(tx, &b->x);
    }
    return (intptr_t)x;
}

static intptr_t wait_flag(stm_tx *tx, void *arg)
{
    struct blocker *b = arg;
    if (stm_read(tx, &b->flag) == 0)
        stm_retry(tx);
    return 0;
}

static void *set_flag_when_blocked(void *arg)
{
    struct blocker *b = arg;
    /* wait until the waiter has announced itself: the store must then
     * wake it (a store before the announcement would be seen by its
     * re-check instead, with no wake-up to count) */
    while (stm_wait_registered(&b->flag) == 0)
        sched_yield();
    stm_store(&b->flag, 1);
    return NULL;
}

START_TEST(abort_retry_wakeup_counted)
{
    setenv("STM_MODE", "stm", 1);
    struct blocker b = {STM_TVAR_INIT(0), STM_TVAR_INIT(0), 0};
    struct stm_stats s;
    ck_assert_int_eq(stm_atomically(abort_once, &b), 1);
    stm_stats_get(&s);
    ck_assert_uint_eq(s.aborts_stm, 1);
    ck_assert_uint_eq(s.commits_stm, 1);
    ck_assert_uint_eq(s.wakeups, 0); /* nobody was waiting */

    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, set_flag_when_blocked, &b), 0);
    stm_atomically(wait_flag, &b);
    ck_assert_int_eq(pthread_join(t, NULL), 0);
    stm_stats_get(&s);
    ck_assert_uint_eq(s.retries_blocked, 1);
    ck_assert_uint_eq(s.wakeups, 1);
    ck_assert_uint_eq(s.aborts_stm, 1);
    ck_assert_uint_eq(s.commits_stm, 2);
}
END_TEST

static void child_stats_at_exit(void *arg)
{
    (void)arg;
    setenv("STM_STATS", "1", 1);
    setenv("STM_MODE", "stm", 1);
    run(bump, 12);
    run(irrevocable_bump, 2);
    exit(0); /* the summary is printed by an atexit handler */
}

START_TEST(summary_at_exit)
{
    struct check_child r;
    check_child(child_stats_at_exit, NULL, &r);
    ck_assert(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0);
    ck_assert_msg(strstr(r.err, "libstm stats (path norec)\n") != NULL, "got: %s", r.err);
    ck_assert_msg(strstr(r.err, "  commits        14 (hardware 0, software 12, serial 2)\n") != NULL,
                  "got: %s", r.err);
    ck_assert_int_eq(check_count(r.err, "libstm stats"), 1);
}
END_TEST

static void child_no_stats(void *arg)
{
    (void)arg;
    setenv("STM_STATS", "0", 1);
    run(bump, 3);
    exit(0);
}

START_TEST(no_summary_by_default)
{
    struct check_child r;
    check_child(child_no_stats, NULL, &r);
    ck_assert(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0);
    ck_assert_str_eq(r.err, "");
}
END_TEST

/* ---- per site (STM_STATS=2) ---------------------------------------------- */

/* bump nested in another transaction: counts on the outermost site */
static intptr_t bump_twice(stm_tx *tx, void *arg)
{
    stm_atomically(bump, arg);
    return stm_atomically(bump, arg);
}

static intptr_t never_run(stm_tx *tx, void *arg)
{
    (void)tx;
    return (intptr_t)arg;
}

static struct stm_stats site(stm_fn fn)
{
    struct stm_stats s;
    ck_assert_int_eq(stm_stats_site(fn, &s), 0);
    return s;
}

START_TEST(sites_split_the_counters)
{
    setenv("STM_MODE", "stm", 1);
    setenv("STM_STATS", "2", 1);
    run(bump, 100);
    run(peek, 50);
    run(irrevocable_bump, 7);
    run(bump_twice, 5);
    struct stm_stats s = site(bump);
    ck_assert_uint_eq(s.commits_stm, 100);
    assert_zero_except(&s, &s.commits_stm);
    s = site(peek);
    ck_assert_uint_eq(s.commits_stm, 50);
    assert_zero_except(&s, &s.commits_stm);
    s = site(irrevocable_bump);
    ck_assert_uint_eq(s.commits_serial, 7);
    assert_zero_except(&s, &s.commits_serial);
    s = site(bump_twice); /* its nested bumps are not sites of their own */
    ck_assert_uint_eq(s.commits_stm, 5);
    assert_zero_except(&s, &s.commits_stm);
    s = site(never_run);
    assert_zero_except(&s, NULL);
    ck_assert_uint_eq(stm_load(&counter), 117);
    /* the sites add up to the process-wide counters */
    struct stm_stats all;
    stm_stats_get(&all);
    ck_assert_uint_eq(all.commits_stm, 155);
    ck_assert_uint_eq(all.commits_serial, 7);

    /* a reset covers the sites too */
    stm_stats_reset();
    s = site(bump);
    assert_zero_except(&s, NULL);
    run(bump, 3);
    s = site(bump);
    ck_assert_uint_eq(s.commits_stm, 3);
    s = site(peek);
    assert_zero_except(&s, NULL);
    ck_assert_int_eq(stm_stats_site(NULL, &s), 0);
    ck_assert_int_eq(stm_stats_site(bump, NULL), 0);
}
END_TEST

START_TEST(sites_of_exited_threads_kept)
{
    setenv("STM_MODE", "stm", 1);
    setenv("STM_STATS", "2", 1);
    pthread_t t[3];
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, worker, (void *)(intptr_t)(10 * (i + 1))), 0);
    run(peek, 4);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(pthread_join(t[i], NULL), 0);
    /* three writers of one counter: the contention adaptation may run
     * some of them serially (stm(7)) */
    struct stm_stats s = site(bump);
    ck_assert_uint_eq(s.commits_stm + s.commits_serial, 60);
    ck_assert_uint_eq(site(peek).commits_stm, 4);
    stm_stats_reset();
    ck_assert_int_eq(pthread_create(&t[0], NULL, worker, (void *)(intptr_t)7), 0);
    ck_assert_int_eq(pthread_join(t[0], NULL), 0);
    s = site(bump);
    ck_assert_uint_eq(s.commits_stm + s.commits_serial, 7);
}
END_TEST

/* An abort and a blocking retry land on the site that caused them. */
START_TEST(sites_get_their_aborts_and_blocks)
{
    setenv("STM_MODE", "stm", 1);
    setenv("STM_STATS", "2", 1);
    struct blocker b = {STM_TVAR_INIT(0), STM_TVAR_INIT(0), 0};
    ck_assert_int_eq(stm_atomically(abort_once, &b), 1);
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, set_flag_when_blocked, &b), 0);
    stm_atomically(wait_flag, &b);
    ck_assert_int_eq(pthread_join(t, NULL), 0);
    struct stm_stats s = site(abort_once);
    ck_assert_uint_eq(s.aborts_stm, 1);
    ck_assert_uint_eq(s.commits_stm, 1);
    ck_assert_uint_eq(s.retries_blocked, 0);
    s = site(wait_flag);
    ck_assert_uint_eq(s.retries_blocked, 1);
    ck_assert_uint_eq(s.aborts_stm, 0);
    ck_assert_uint_eq(s.commits_stm, 1);
}
END_TEST

START_TEST(sites_off_by_default)
{
    setenv("STM_STATS", "1", 1);
    run(bump, 2);
    struct stm_stats s;
    memset(&s, 0xff, sizeof s);
    ck_assert_int_eq(stm_stats_site(bump, &s), -1);
    assert_zero_except(&s, NULL);
}
END_TEST

/* Where the probe chose hardware (not forced: under valgrind every forced
 * attempt aborts), small single-threaded transactions commit there. */
START_TEST(sites_count_hardware_commits)
{
    setenv("STM_MODE", "htm", 1);
    setenv("STM_ADAPTIVE", "0", 1);
    setenv("STM_STATS", "2", 1);
    const char *path = stm_path();
    if (stm_config()->htm_force || (strcmp(path, "rtm") != 0 && strcmp(path, "power-htm") != 0)) {
        fprintf(stderr, "sites_count_hardware_commits: path %s%s: hardware assertions skipped\n",
                path, stm_config()->htm_force ? " (forced)" : "");
        return;
    }
    run(bump, 1000);
    struct stm_stats s = site(bump);
    ck_assert_uint_eq(s.commits_htm + s.commits_stm + s.commits_serial, 1000);
    ck_assert_msg(s.commits_htm >= 900, "only %llu of 1000 committed in hardware",
                  (unsigned long long)s.commits_htm);
    ck_assert_uint_eq(stm_load(&counter), 1000);
}
END_TEST

static void child_sites_at_exit(void *arg)
{
    (void)arg;
    setenv("STM_STATS", "2", 1);
    setenv("STM_MODE", "stm", 1);
    run(bump, 12);
    run(irrevocable_bump, 2);
    exit(0);
}

START_TEST(site_summary_at_exit)
{
    struct check_child r;
    check_child(child_sites_at_exit, NULL, &r);
    ck_assert(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0);
    ck_assert_msg(strstr(r.err, "  commits        14 (hardware 0, software 12, serial 2)\n") != NULL,
                  "got: %s", r.err);
    ck_assert_msg(strstr(r.err, "libstm sites (outermost transaction functions, busiest first): 2\n"
                                "  site ") != NULL,
                  "got: %s", r.err);
    /* busiest first; each site names its object file and offset */
    const char *a = strstr(r.err, "    commits 12 (hardware 0, software 12, serial 0), 0.0% in hardware\n");
    const char *b = strstr(r.err, "    commits 2 (hardware 0, software 0, serial 2), 0.0% in hardware\n");
    ck_assert_msg(a != NULL && b != NULL && a < b, "got: %s", r.err);
    ck_assert_msg(strstr(r.err, "test_stats+0x") != NULL, "got: %s", r.err);
    ck_assert_int_eq(check_count(r.err, "  site "), 2);
}
END_TEST

static Suite *stats_suite(void)
{
    Suite *s = suite_create("stats");
    TCase *tc = tcase_create("counters");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, software_path_counts);
    tcase_add_test(tc, serial_mode_counts);
    tcase_add_test(tc, reset_and_get);
    tcase_add_test(tc, exited_threads_kept);
    tcase_add_test(tc, abort_retry_wakeup_counted);
    tcase_add_test(tc, summary_at_exit);
    tcase_add_test(tc, no_summary_by_default);
    suite_add_tcase(s, tc);
    tc = tcase_create("sites");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, sites_split_the_counters);
    tcase_add_test(tc, sites_of_exited_threads_kept);
    tcase_add_test(tc, sites_get_their_aborts_and_blocks);
    tcase_add_test(tc, sites_off_by_default);
    tcase_add_test(tc, sites_count_hardware_commits);
    tcase_add_test(tc, site_summary_at_exit);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return check_run_suite(stats_suite());
}
