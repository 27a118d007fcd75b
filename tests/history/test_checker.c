/* The history checker itself, on small hand-made histories: each kind of
 * anomaly it claims to find is found, and the legal histories next to
 * them (the same accesses, other timing) pass.  Independent of libstm. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "history.h"

enum { THREADS = 3, VARS = 4 };

static struct h_log logs[THREADS];
static uint64_t init_v[VARS] = {1, 2, 3, 4}, final_v[VARS];

static void reset(void)
{
    for (unsigned t = 0; t < THREADS; t++) {
        h_log_free(&logs[t]);
        h_log_init(&logs[t]);
    }
    memcpy(final_v, init_v, sizeof final_v);
}

static struct h_txn *cur(unsigned t)
{
    return &logs[t].txn[logs[t].ntxn];
}

/* a transaction of thread t called at `begin`, returned at `end` */
static void txn(unsigned t, uint64_t begin, uint64_t end)
{
    h_log_reserve(&logs[t], 4, 16, 16);
    *cur(t) = (struct h_txn){begin, end, logs[t].natt, 0, logs[t].nwr, 0, logs[t].ntxn + 1};
}

static void attempt(unsigned t, uint64_t stamp, uint32_t flags)
{
    logs[t].att[logs[t].natt++] = (struct h_attempt){stamp, logs[t].nrd, 0, flags};
    cur(t)->nattempts++;
}

static void rd(unsigned t, uint32_t var, uint64_t val)
{
    logs[t].rd[logs[t].nrd++] = (struct h_read){var, val};
    logs[t].att[logs[t].natt - 1].nreads++;
}

static void wr(unsigned t, uint32_t var, uint64_t val, uint64_t prev)
{
    logs[t].wr[logs[t].nwr++] = (struct h_write){var, val, prev};
    cur(t)->nwrites++;
    final_v[var] = val;
}

static void commit(unsigned t)
{
    logs[t].ntxn++;
}

static uint64_t check(void)
{
    struct h_round r = {THREADS, VARS, logs, init_v, final_v, 0};
    struct h_result res;
    memset(&res, 0, sizeof res);
    uint64_t n = h_check_round(&r, &res, stdout);
    ck_assert_uint_eq(n, res.violations);
    return n;
}

/* T1 then T2, each read-modify-write, T2 reads what T1 wrote */
START_TEST(serial_history_passes)
{
    reset();
    txn(0, 1, 2), attempt(0, 0, 0), rd(0, 0, 1), wr(0, 0, 11, 1), commit(0);
    txn(1, 3, 4), attempt(1, 0, 0), rd(1, 0, 11), rd(1, 1, 2), wr(1, 1, 22, 2), commit(1);
    ck_assert_uint_eq(check(), 0);
}
END_TEST

START_TEST(lost_update_found)
{
    reset();
    txn(0, 1, 4), attempt(0, 0, 0), rd(0, 0, 1), wr(0, 0, 11, 1), commit(0);
    txn(1, 2, 3), attempt(1, 0, 0), rd(1, 0, 1), wr(1, 0, 12, 1), commit(1);
    ck_assert_uint_gt(check(), 0);
}
END_TEST

/* write skew: each reads both, writes one; concurrent */
START_TEST(write_skew_cycle_found)
{
    reset();
    txn(0, 1, 3), attempt(0, 0, 0), rd(0, 0, 1), rd(0, 1, 2), wr(0, 0, 11, 1), commit(0);
    txn(1, 2, 4), attempt(1, 0, 0), rd(1, 0, 1), rd(1, 1, 2), wr(1, 1, 22, 2), commit(1);
    ck_assert_uint_gt(check(), 0);
}
END_TEST

/* T2 reads x before T1's write: legal while they overlap in time, not once
 * T1 returned before T2 was called */
START_TEST(real_time_order_enforced)
{
    reset();
    txn(0, 1, 3), attempt(0, 0, 0), rd(0, 0, 1), wr(0, 0, 11, 1), commit(0);
    txn(1, 2, 4), attempt(1, 0, 0), rd(1, 0, 1), commit(1);
    ck_assert_uint_eq(check(), 0);
    reset();
    txn(0, 1, 2), attempt(0, 0, 0), rd(0, 0, 1), wr(0, 0, 11, 1), commit(0);
    txn(1, 3, 4), attempt(1, 0, 0), rd(1, 0, 1), commit(1);
    ck_assert_uint_gt(check(), 0);
}
END_TEST

/* an aborted attempt that saw half of T1's writes */
START_TEST(torn_aborted_attempt_found)
{
    reset();
    txn(0, 2, 3), attempt(0, 0, 0), rd(0, 0, 1), rd(0, 1, 2), wr(0, 0, 11, 1),
        wr(0, 1, 22, 2), commit(0);
    txn(1, 1, 10), attempt(1, 4, 0), rd(1, 0, 11), rd(1, 1, 2);
    attempt(1, 6, 0), rd(1, 0, 11), rd(1, 1, 22), commit(1);
    ck_assert_uint_gt(check(), 0);
}
END_TEST

/* an aborted attempt that saw all of the state before T1: fine while T1
 * may not have returned yet, wrong if its body started after T1 returned
 * and the attempt before it did too */
START_TEST(stale_aborted_attempt_and_real_time)
{
    reset();
    txn(0, 3, 4), attempt(0, 0, 0), rd(0, 0, 1), rd(0, 1, 2), wr(0, 0, 11, 1),
        wr(0, 1, 22, 2), commit(0);
    txn(1, 1, 10), attempt(1, 2, 0), rd(1, 0, 1), rd(1, 1, 2);
    attempt(1, 6, 0), rd(1, 0, 11), rd(1, 1, 22), commit(1);
    ck_assert_uint_eq(check(), 0);
    reset();
    txn(0, 2, 3), attempt(0, 0, 0), rd(0, 0, 1), rd(0, 1, 2), wr(0, 0, 11, 1),
        wr(0, 1, 22, 2), commit(0);
    txn(1, 1, 10), attempt(1, 4, 0), rd(1, 0, 11), rd(1, 1, 22);
    attempt(1, 5, 0), rd(1, 0, 1), rd(1, 1, 2);
    attempt(1, 6, 0), rd(1, 0, 11), rd(1, 1, 22), commit(1);
    ck_assert_uint_gt(check(), 0);
}
END_TEST

START_TEST(dirty_read_found)
{
    reset();
    txn(0, 1, 4), attempt(0, 2, 0), rd(0, 0, 99);
    attempt(0, 3, 0), rd(0, 0, 1), commit(0);
    ck_assert_uint_gt(check(), 0);
}
END_TEST

START_TEST(own_write_mismatch_found)
{
    reset();
    txn(0, 1, 2), attempt(0, 0, H_ATT_OWN_BAD), rd(0, 0, 1), commit(0);
    ck_assert_uint_gt(check(), 0);
}
END_TEST

START_TEST(lost_write_in_memory_found)
{
    reset();
    txn(0, 1, 2), attempt(0, 0, 0), rd(0, 0, 1), wr(0, 0, 11, 1), commit(0);
    final_v[0] = 1; /* memory never got it */
    ck_assert_uint_gt(check(), 0);
}
END_TEST

/* two loads in a row (one-read transactions) during one writer: the first
 * sees its write of x, the second still the old y (the stm_load bug) */
START_TEST(load_pair_split_by_a_commit_found)
{
    reset();
    txn(0, 1, 10), attempt(0, 0, 0), rd(0, 0, 1), rd(0, 1, 2), wr(0, 0, 11, 1),
        wr(0, 1, 22, 2), commit(0);
    txn(1, 2, 3), attempt(1, 0, 0), rd(1, 0, 11), commit(1);
    txn(1, 4, 5), attempt(1, 0, 0), rd(1, 1, 2), commit(1);
    ck_assert_uint_gt(check(), 0);
}
END_TEST

/* a longer chain of overlapping writers in one legal order */
START_TEST(chain_of_overlapping_writers_passes)
{
    reset();
    uint64_t prev = 1;
    for (unsigned i = 0; i < 12; i++) {
        unsigned t = i % THREADS;
        uint64_t v = 100 + i;
        txn(t, 1 + 2 * i, 4 + 2 * i), attempt(t, 0, 0), rd(t, 0, prev), rd(t, 2, 3),
            wr(t, 0, v, prev), commit(t);
        prev = v;
    }
    ck_assert_uint_eq(check(), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("history_checker");
    TCase *tc = tcase_create("anomalies");
    tcase_add_test(tc, serial_history_passes);
    tcase_add_test(tc, lost_update_found);
    tcase_add_test(tc, write_skew_cycle_found);
    tcase_add_test(tc, real_time_order_enforced);
    tcase_add_test(tc, torn_aborted_attempt_found);
    tcase_add_test(tc, stale_aborted_attempt_and_real_time);
    tcase_add_test(tc, dirty_read_found);
    tcase_add_test(tc, own_write_mismatch_found);
    tcase_add_test(tc, lost_write_in_memory_found);
    tcase_add_test(tc, load_pair_split_by_a_commit_found);
    tcase_add_test(tc, chain_of_overlapping_writers_passes);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    for (unsigned t = 0; t < THREADS; t++)
        h_log_free(&logs[t]);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
