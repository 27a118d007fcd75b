/* Semantics of stm_retry and stm_or_else (issue 4): retry blocks until a
 * TVar it read changes (software, serial and stm_store writers), does not
 * re-run for unrelated writes, and is misuse with nothing read; orElse
 * undoes the first branch's writes (also over TVars written before it),
 * keeps its reads, blocks on the union when both branches retry, nests,
 * frees a retried branch's stm_alloc blocks and drops its stm_free calls. */
#include <signal.h>

#include "compose_util.h"
#include "htm/htm.h"
#include "stm/runtime.h"
#include "core/tx.h"

static stm_tvar x = STM_TVAR_INIT(0);
static stm_tvar y = STM_TVAR_INIT(0);
static stm_tvar z = STM_TVAR_INIT(0);
static unsigned attempts; /* attempts of the blocked transaction */

/* --- retry blocks until a read TVar changes --- */

/* Attempts the waiter made before it blocked: one, or two where the first
 * attempt kept no read log (software path, no hardware TM: stm_retry then
 * re-runs the transaction logging its reads, and that run blocks). */
static unsigned blocked_attempts(void)
{
    unsigned a = __atomic_load_n(&attempts, __ATOMIC_RELAXED);
    ck_assert_msg(a == 1 || a == 2, "%u attempts before blocking", a);
    return a;
}

static intptr_t wait_x_nonzero(stm_tx *tx, void *arg)
{
    __atomic_fetch_add(&attempts, 1, __ATOMIC_RELAXED);
    intptr_t v = stm_read_int(tx, &x);
    if (v == 0)
        stm_retry(tx);
    return v;
}

static void *waiter_x(void *arg)
{
    return (void *)stm_atomically(wait_x_nonzero, NULL);
}

static intptr_t set_int(stm_tx *tx, void *arg)
{
    stm_write_int(tx, arg, stm_read_int(tx, arg) + 1);
    return 0;
}

static intptr_t set_serial(stm_tx *tx, void *arg)
{
    stm_irrevocable(tx);
    stm_write_int(tx, arg, stm_read_int(tx, arg) + 1);
    return 0;
}

enum writer_kind { BY_SOFTWARE, BY_SERIAL, BY_STORE };

static void blocks_until_change(enum writer_kind how)
{
    compose_watchdog(30);
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, waiter_x, NULL), 0);
    compose_wait_blocked(1);
    unsigned blocked_at = blocked_attempts();
    /* writes to TVars the waiter did not read do not make it re-run */
    for (int i = 0; i < 20; i++)
        stm_atomically(set_int, &y);
    stm_store(&z, 7);
    ck_assert_uint_eq(__atomic_load_n(&attempts, __ATOMIC_RELAXED), blocked_at);
    switch (how) {
    case BY_SOFTWARE:
        stm_atomically(set_int, &x);
        break;
    case BY_SERIAL:
        stm_atomically(set_serial, &x);
        break;
    case BY_STORE:
        stm_store(&x, 1);
        break;
    }
    void *r;
    ck_assert_int_eq(pthread_join(t, &r), 0);
    ck_assert_int_eq((intptr_t)r, 1);
    /* once more after the change */
    ck_assert_uint_eq(attempts, blocked_at + 1);
    ck_assert_uint_eq(compose_waiters(), 0);
}

START_TEST(retry_woken_by_software_commit) { blocks_until_change(BY_SOFTWARE); }
END_TEST
START_TEST(retry_woken_by_serial_commit) { blocks_until_change(BY_SERIAL); }
END_TEST
START_TEST(retry_woken_by_store) { blocks_until_change(BY_STORE); }
END_TEST

/* A write of the value already there wakes the waiter, which re-checks and
 * sleeps again without re-running its transaction. */
START_TEST(retry_same_value_write_does_not_rerun)
{
    compose_watchdog(30);
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, waiter_x, NULL), 0);
    compose_wait_blocked(1);
    unsigned blocked_at = blocked_attempts();
    for (int i = 0; i < 20; i++)
        stm_store(&x, 0);
    ck_assert_uint_eq(__atomic_load_n(&attempts, __ATOMIC_RELAXED), blocked_at);
    stm_store(&x, 5);
    void *r;
    pthread_join(t, &r);
    ck_assert_int_eq((intptr_t)r, 5);
    ck_assert_uint_eq(attempts, blocked_at + 1);
}
END_TEST


/* --- retry with nothing read is misuse --- */

static intptr_t retry_nothing_read(stm_tx *tx, void *arg)
{
    stm_retry(tx);
}

START_TEST(retry_with_empty_read_set_aborts)
{
    stm_atomically(retry_nothing_read, NULL);
}
END_TEST

static intptr_t retry_only_own_writes(stm_tx *tx, void *arg)
{
    stm_write_int(tx, &x, 3);
    if (stm_read_int(tx, &x) == 3) /* served from the write log */
        stm_retry(tx);
    return 0;
}

START_TEST(retry_after_reading_own_write_only_aborts)
{
    stm_atomically(retry_only_own_writes, NULL);
}
END_TEST

static intptr_t both_branches_read_nothing(stm_tx *tx, void *arg)
{
    return stm_or_else(tx, retry_nothing_read, NULL, retry_nothing_read, NULL);
}

START_TEST(or_else_both_empty_aborts)
{
    stm_atomically(both_branches_read_nothing, NULL);
}
END_TEST

static intptr_t retry_reading_only_own_allocation(stm_tx *tx, void *arg)
{
    stm_tvar *tv = stm_tvar_new(0);
    if (stm_read(tx, tv) == 0)
        stm_retry(tx);
    return 0;
}

START_TEST(retry_reading_only_own_allocation_aborts)
{
    stm_atomically(retry_reading_only_own_allocation, NULL);
}
END_TEST

START_TEST(retry_outside_transaction_aborts)
{
    stm_retry(NULL);
}
END_TEST

/* --- or_else --- */

static intptr_t first_writes_then_retries(stm_tx *tx, void *arg)
{
    stm_write_int(tx, &x, 2); /* x was written before the or_else */
    stm_write_int(tx, &y, 5); /* y was not */
    stm_write_int(tx, &x, 3); /* in-place update inside the branch */
    ck_assert_int_eq(stm_read_int(tx, &x), 3);
    stm_retry(tx);
}

static intptr_t second_sees_old(stm_tx *tx, void *arg)
{
    ck_assert_int_eq(stm_read_int(tx, &x), 1);
    ck_assert_int_eq(stm_read_int(tx, &y), 0);
    stm_write_int(tx, &z, 9);
    return 42;
}

static intptr_t undo_tx(stm_tx *tx, void *arg)
{
    stm_write_int(tx, &x, 1);
    intptr_t r = stm_or_else(tx, first_writes_then_retries, NULL, second_sees_old, NULL);
    ck_assert_int_eq(stm_read_int(tx, &x), 1);
    ck_assert_int_eq(stm_read_int(tx, &y), 0);
    return r;
}

START_TEST(or_else_undoes_first_branch_writes)
{
    ck_assert_int_eq(stm_atomically(undo_tx, NULL), 42);
    ck_assert_int_eq(stm_load(&x), 1);
    ck_assert_int_eq(stm_load(&y), 0);
    ck_assert_int_eq(stm_load(&z), 9);
}
END_TEST

/* The same with more than STM_WLOG_LINEAR entries, so that the write log's
 * hash index must be rebuilt on rollback. */
static stm_tvar many[64];

static intptr_t first_many_writes(stm_tx *tx, void *arg)
{
    for (int i = 0; i < 64; i++)
        stm_write_int(tx, &many[i], 1000 + i);
    stm_retry(tx);
}

static intptr_t second_checks_many(stm_tx *tx, void *arg)
{
    for (int i = 0; i < 64; i++)
        ck_assert_int_eq(stm_read_int(tx, &many[i]), i < 32 ? 100 + i : 0);
    return 1;
}

static intptr_t undo_many_tx(stm_tx *tx, void *arg)
{
    for (int i = 0; i < 32; i++)
        stm_write_int(tx, &many[i], 100 + i);
    return stm_or_else(tx, first_many_writes, NULL, second_checks_many, NULL);
}

START_TEST(or_else_undoes_many_writes)
{
    ck_assert_int_eq(stm_atomically(undo_many_tx, NULL), 1);
    for (int i = 0; i < 64; i++)
        ck_assert_int_eq(stm_load(&many[i]), i < 32 ? 100 + i : 0);
}
END_TEST

static intptr_t first_succeeds(stm_tx *tx, void *arg)
{
    stm_write_int(tx, &y, 11);
    return 7;
}

static intptr_t never_runs(stm_tx *tx, void *arg)
{
    ck_abort_msg("second branch ran although the first did not retry");
    return 0;
}

static intptr_t first_wins_tx(stm_tx *tx, void *arg)
{
    return stm_or_else(tx, first_succeeds, NULL, never_runs, NULL);
}

START_TEST(or_else_first_branch_result_kept)
{
    ck_assert_int_eq(stm_atomically(first_wins_tx, NULL), 7);
    ck_assert_int_eq(stm_load(&y), 11);
}
END_TEST

/* Both branches retry: the transaction waits on x (read by the first) and
 * y (read by the second); a change to either wakes it. */
static intptr_t need_x(stm_tx *tx, void *arg)
{
    if (stm_read_int(tx, &x) == 0)
        stm_retry(tx);
    return 1;
}

static intptr_t need_y(stm_tx *tx, void *arg)
{
    if (stm_read_int(tx, &y) == 0)
        stm_retry(tx);
    return 2;
}

static intptr_t x_or_y(stm_tx *tx, void *arg)
{
    __atomic_fetch_add(&attempts, 1, __ATOMIC_RELAXED);
    return stm_or_else(tx, need_x, NULL, need_y, NULL);
}

static void *waiter_x_or_y(void *arg)
{
    return (void *)stm_atomically(x_or_y, NULL);
}

static void union_wakes(stm_tvar *which, intptr_t expect)
{
    compose_watchdog(30);
    pthread_t t;
    pthread_create(&t, NULL, waiter_x_or_y, NULL);
    compose_wait_blocked(1);
    unsigned blocked_at = blocked_attempts();
    stm_store(&z, 1); /* unrelated */
    ck_assert_uint_eq(__atomic_load_n(&attempts, __ATOMIC_RELAXED), blocked_at);
    stm_store(which, 1);
    void *r;
    pthread_join(t, &r);
    ck_assert_int_eq((intptr_t)r, expect);
    ck_assert_uint_eq(attempts, blocked_at + 1);
}

START_TEST(or_else_blocks_on_union_first) { union_wakes(&x, 1); }
END_TEST
START_TEST(or_else_blocks_on_union_second) { union_wakes(&y, 2); }
END_TEST

/* Nesting: orElse(orElse(A, B), orElse(C, D)) where A, B and C write and
 * retry, D commits; only D's and the outer writes survive. */
static stm_tvar w[4];

static intptr_t write_and_retry(stm_tx *tx, void *arg)
{
    intptr_t k = (intptr_t)arg;
    for (int i = 0; i < 4; i++)
        stm_write_int(tx, &w[i], 100 * (k + 1) + i);
    stm_read_int(tx, &x); /* something to wait on */
    stm_retry(tx);
}

static intptr_t write_d(stm_tx *tx, void *arg)
{
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(stm_read_int(tx, &w[i]), i == 0 ? 1 : 0);
    stm_write_int(tx, &w[3], 4);
    return 4;
}

static intptr_t a_or_b(stm_tx *tx, void *arg)
{
    return stm_or_else(tx, write_and_retry, (void *)0, write_and_retry, (void *)1);
}

static intptr_t c_or_d(stm_tx *tx, void *arg)
{
    return stm_or_else(tx, write_and_retry, (void *)2, write_d, NULL);
}

static intptr_t nested_tx(stm_tx *tx, void *arg)
{
    stm_write_int(tx, &w[0], 1);
    return stm_or_else(tx, a_or_b, NULL, c_or_d, NULL);
}

START_TEST(or_else_nested)
{
    ck_assert_int_eq(stm_atomically(nested_tx, NULL), 4);
    ck_assert_int_eq(stm_load(&w[0]), 1);
    ck_assert_int_eq(stm_load(&w[1]), 0);
    ck_assert_int_eq(stm_load(&w[2]), 0);
    ck_assert_int_eq(stm_load(&w[3]), 4);
}
END_TEST

/* Depth: a chain of 200 nested or_else whose first branches all retry
 * after writing; the innermost second branch commits. */
#define CHAIN 200
static stm_tvar chain_tv[CHAIN];

static intptr_t chain(stm_tx *tx, void *arg);

static intptr_t chain_first(stm_tx *tx, void *arg)
{
    intptr_t k = (intptr_t)arg;
    stm_write_int(tx, &chain_tv[k], -1);
    stm_read_int(tx, &x);
    stm_retry(tx);
}

static intptr_t chain(stm_tx *tx, void *arg)
{
    intptr_t k = (intptr_t)arg;
    if (k == CHAIN)
        return k;
    stm_write_int(tx, &chain_tv[k], k + 1); /* before the or_else: kept */
    return stm_or_else(tx, chain_first, (void *)k, chain, (void *)(k + 1));
}

START_TEST(or_else_deep_nesting)
{
    ck_assert_int_eq(stm_atomically(chain, (void *)0), CHAIN);
    for (int i = 0; i < CHAIN; i++)
        ck_assert_int_eq(stm_load(&chain_tv[i]), i + 1);
}
END_TEST

/* stm_alloc in a retried branch is freed (the alloc log is cut back: a
 * leak would also show under valgrind); stm_free in it is dropped. */
static void *kept_block;

static intptr_t alloc_then_retry(stm_tx *tx, void *arg)
{
    for (int i = 0; i < 5; i++)
        ck_assert_ptr_nonnull(stm_alloc(tx, 64));
    stm_free(tx, kept_block);
    stm_read_int(tx, &x);
    stm_retry(tx);
}

static intptr_t second_checks_logs(stm_tx *tx, void *arg)
{
    const size_t *marks = arg;
    ck_assert_uint_eq(tx->allocs.n, marks[0]);
    ck_assert_uint_eq(tx->frees.n, marks[1]);
    return 0;
}

static intptr_t alloc_free_tx(stm_tx *tx, void *arg)
{
    size_t marks[2];
    void *p = stm_alloc(tx, 16); /* before the or_else: kept */
    ck_assert_ptr_nonnull(p);
    stm_write_ptr(tx, &y, p);
    marks[0] = tx->allocs.n;
    marks[1] = tx->frees.n;
    stm_or_else(tx, alloc_then_retry, NULL, second_checks_logs, marks);
    return 0;
}

static intptr_t alloc_kept(stm_tx *tx, void *arg)
{
    kept_block = stm_alloc(tx, 32);
    return 0;
}

static intptr_t free_both(stm_tx *tx, void *arg)
{
    stm_free(tx, kept_block);
    stm_free(tx, stm_read_ptr(tx, &y));
    stm_write_ptr(tx, &y, NULL);
    return 0;
}

START_TEST(or_else_alloc_freed_free_dropped)
{
    stm_atomically(alloc_kept, NULL);
    stm_atomically(alloc_free_tx, NULL);
    /* kept_block is still live: freeing it now is no double free */
    stm_atomically(free_both, NULL);
}
END_TEST

/* TVars allocated by a retried branch (or attempt) and read by it are
 * freed on the retry; their read-log entries must go with them, or the
 * wait and later validations would read freed memory (ASan/valgrind). */
static intptr_t read_new_tvars_then_retry(stm_tx *tx, void *arg)
{
    if (stm_read_int(tx, &x) != 0)
        return 1; /* the committing attempt allocates nothing: no leak */
    for (int i = 0; i < 4; i++) {
        stm_tvar *tv = stm_tvar_new(0);
        ck_assert_ptr_nonnull(tv);
        stm_read(tx, tv);
        stm_tvar *blk = stm_alloc(tx, 4 * sizeof(stm_tvar));
        ck_assert_ptr_nonnull(blk);
        stm_tvar_init(&blk[3], 1);
        stm_read(tx, &blk[3]);
    }
    stm_retry(tx);
}

static intptr_t new_tvars_tx(stm_tx *tx, void *arg)
{
    __atomic_fetch_add(&attempts, 1, __ATOMIC_RELAXED);
    return stm_or_else(tx, read_new_tvars_then_retry, NULL, read_new_tvars_then_retry, NULL);
}

static void *new_tvars_waiter(void *arg)
{
    return (void *)stm_atomically(new_tvars_tx, NULL);
}

START_TEST(retry_forgets_reads_of_freed_allocations)
{
    compose_watchdog(30);
    pthread_t t;
    pthread_create(&t, NULL, new_tvars_waiter, NULL);
    compose_wait_blocked(1);
    unsigned blocked_at = blocked_attempts();
    /* unrelated commits: the waiter re-checks its read set each time */
    for (int i = 0; i < 10; i++)
        stm_atomically(set_int, &y);
    /* writes to freed memory cannot be what wakes it */
    ck_assert_uint_eq(__atomic_load_n(&attempts, __ATOMIC_RELAXED), blocked_at);
    stm_store(&x, 1);
    void *r;
    pthread_join(t, &r);
    ck_assert_int_eq((intptr_t)r, 1);
}
END_TEST

/* A retry inside a nested stm_atomically() in the first branch lands in the
 * or_else: the nesting depth must be what it was at the or_else. */
static intptr_t nested_atomically_retry(stm_tx *tx, void *arg)
{
    return stm_atomically(need_x, NULL);
}

static intptr_t depth_tx(stm_tx *tx, void *arg)
{
    unsigned before = tx->head.depth;
    stm_or_else(tx, nested_atomically_retry, NULL, first_succeeds, NULL);
    ck_assert_uint_eq(tx->head.depth, before);
    return 0;
}

START_TEST(or_else_restores_nesting_depth)
{
    stm_atomically(depth_tx, NULL);
    stm_tx *tx = stm_tls_tx;
    ck_assert_uint_eq(tx->head.depth, 0);
    /* a store is allowed again: we are outside any transaction */
    stm_store(&z, 1);
}
END_TEST

/* retry inside a nested stm_atomically without or_else blocks the whole
 * outer transaction, whose writes are discarded while it waits. */
static intptr_t outer_with_nested_retry(stm_tx *tx, void *arg)
{
    __atomic_fetch_add(&attempts, 1, __ATOMIC_RELAXED);
    stm_write_int(tx, &z, 99);
    return stm_atomically(wait_x_nonzero, NULL);
}

static void *outer_waiter(void *arg)
{
    return (void *)stm_atomically(outer_with_nested_retry, NULL);
}

START_TEST(nested_retry_blocks_outer)
{
    compose_watchdog(30);
    pthread_t t;
    pthread_create(&t, NULL, outer_waiter, NULL);
    compose_wait_blocked(1);
    ck_assert_int_eq(stm_load(&z), 0);
    stm_store(&x, 4);
    void *r;
    pthread_join(t, &r);
    ck_assert_int_eq((intptr_t)r, 4);
    ck_assert_int_eq(stm_load(&z), 99);
}
END_TEST

/* --- the hardware path (emulation back end) --- */

static void *waiter_x_emu(void *arg)
{
    return (void *)stm_atomically(wait_x_nonzero, NULL);
}

/* A hardware writer wakes a software waiter; a hardware attempt that
 * retries re-runs in software and blocks there. */
START_TEST(retry_woken_by_hardware_commit)
{
    compose_watchdog(30);
    stm_runtime_init();
    stm_emu_enable();
    pthread_t t;
    pthread_create(&t, NULL, waiter_x_emu, NULL);
    compose_wait_blocked(1);
    stm_stats_reset();
    for (int i = 0; i < 5; i++)
        stm_atomically(set_int, &y); /* unrelated: no re-run */
    ck_assert_uint_eq(__atomic_load_n(&attempts, __ATOMIC_RELAXED), 2); /* hw + sw */
    stm_atomically(set_int, &x);
    struct stm_stats s;
    stm_stats_get(&s);
    ck_assert_uint_eq(s.commits_htm, 6);
    void *r;
    pthread_join(t, &r);
    ck_assert_int_eq((intptr_t)r, 1);
    ck_assert_uint_ge(attempts, 3);
}
END_TEST

/* orElse under the emulated hardware path with a blocking second branch:
 * the union wait works after the hardware-to-software switch. */
START_TEST(or_else_union_with_hardware)
{
    compose_watchdog(30);
    stm_runtime_init();
    stm_emu_enable();
    pthread_t t;
    pthread_create(&t, NULL, waiter_x_or_y, NULL);
    compose_wait_blocked(1);
    stm_atomically(set_int, &y); /* a hardware commit */
    void *r;
    pthread_join(t, &r);
    ck_assert_int_eq((intptr_t)r, 2);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("retry");
    TCase *tc = tcase_create("retry");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, retry_woken_by_software_commit);
    tcase_add_test(tc, retry_woken_by_serial_commit);
    tcase_add_test(tc, retry_woken_by_store);
    tcase_add_test(tc, retry_same_value_write_does_not_rerun);
    tcase_add_test(tc, nested_retry_blocks_outer);
    tcase_add_test_raise_signal(tc, retry_with_empty_read_set_aborts, SIGABRT);
    tcase_add_test_raise_signal(tc, retry_after_reading_own_write_only_aborts, SIGABRT);
    tcase_add_test_raise_signal(tc, or_else_both_empty_aborts, SIGABRT);
    tcase_add_test_raise_signal(tc, retry_outside_transaction_aborts, SIGABRT);
    tcase_add_test_raise_signal(tc, retry_reading_only_own_allocation_aborts, SIGABRT);
    suite_add_tcase(s, tc);

    tc = tcase_create("or_else");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, or_else_undoes_first_branch_writes);
    tcase_add_test(tc, or_else_undoes_many_writes);
    tcase_add_test(tc, or_else_first_branch_result_kept);
    tcase_add_test(tc, or_else_blocks_on_union_first);
    tcase_add_test(tc, or_else_blocks_on_union_second);
    tcase_add_test(tc, or_else_nested);
    tcase_add_test(tc, or_else_deep_nesting);
    tcase_add_test(tc, or_else_alloc_freed_free_dropped);
    tcase_add_test(tc, or_else_restores_nesting_depth);
    tcase_add_test(tc, retry_forgets_reads_of_freed_allocations);
    suite_add_tcase(s, tc);

    tc = tcase_create("hardware_emulated");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, retry_woken_by_hardware_commit);
    tcase_add_test(tc, or_else_union_with_hardware);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    /* the hardware_emulated cases need STM_MODE=auto (CI also runs the
     * suites with STM_MODE=stm) */
    unsetenv("STM_MODE");
    return compose_run_suite(suite());
}
