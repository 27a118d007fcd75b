/* Progress for long transactions (issue 9, item 2): a transaction whose
 * read set is too large to re-validate between two commits of another
 * thread (to an unrelated TVar) still finishes.  Its validation never
 * settles; each such attempt now counts as a software abort, so after
 * STM_SERIAL_AFTER of them it runs serially.  Before, it looped in the
 * validation forever (Check's timeout was the failure).  Software path:
 * the hardware path would only add capacity aborts before the same one. */
#include <pthread.h>

#include "check_util.h"
#include "core/hybrid.h"
#include "core/tx.h"
#include "fallback/norec.h"
#include "stm.h"

#define NTV (256 * 1024)
static stm_tvar *tvs;
static stm_tvar other = STM_TVAR_INIT(0);
static int stop, writer_ran; /* atomic */

static intptr_t bump(stm_tx *tx, void *arg)
{
    stm_write(tx, &other, stm_read(tx, &other) + 1);
    return 0;
}

static void *writer(void *arg)
{
    while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
        stm_atomically(bump, NULL);
        __atomic_store_n(&writer_ran, 1, __ATOMIC_RELAXED);
    }
    return NULL;
}

static intptr_t read_all(stm_tx *tx, void *arg)
{
    intptr_t s = 0;
    for (long i = 0; i < NTV; i++)
        s += stm_read_int(tx, &tvs[i]);
    if (arg != NULL) /* read-write: one write at the end */
        stm_write_int(tx, &tvs[0], stm_read_int(tx, &tvs[0]));
    return s;
}

static void long_transaction(void *rw)
{
    setenv("STM_MODE", "stm", 1);
    /* reach serial quickly (valgrind runs this too); the default 100
     * only takes longer */
    setenv("STM_SERIAL_AFTER", "4", 1);
    tvs = calloc(NTV, sizeof *tvs);
    ck_assert_ptr_nonnull(tvs);
    for (long i = 0; i < NTV; i++)
        stm_tvar_init(&tvs[i], 1);
    pthread_t w;
    ck_assert_int_eq(pthread_create(&w, NULL, writer, NULL), 0);
    while (!__atomic_load_n(&writer_ran, __ATOMIC_RELAXED))
        sched_yield();
    intptr_t s = stm_atomically(read_all, rw);
    __atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
    pthread_join(w, NULL);
    ck_assert_int_eq(s, NTV);
    free(tvs);
}

START_TEST(long_read_only_finishes)
{
    long_transaction(NULL);
}
END_TEST

START_TEST(long_read_write_finishes)
{
    long_transaction((void *)1);
}
END_TEST

/* The same, made deterministic: a "commit" (seq moves by 2, as when a
 * writer of an unrelated TVar commits) lands during every re-read of the
 * log, so no validation ever settles.  Before, the first read after the
 * counters moved validated forever. */
static void commit_elsewhere(void)
{
    __atomic_fetch_add(STM_SEQ, 2, __ATOMIC_SEQ_CST);
}

static intptr_t read_after_a_commit(stm_tx *tx, void *arg)
{
    intptr_t s = stm_read_int(tx, &tvs[0]);
    if (tx->mode == STM_MODE_NOREC)
        commit_elsewhere(); /* the next read must validate */
    for (long i = 1; i < 64; i++)
        s += stm_read_int(tx, &tvs[i]);
    return s;
}

START_TEST(unsettled_validation_escalates_to_serial)
{
    setenv("STM_MODE", "stm", 1);
    setenv("STM_SERIAL_AFTER", "5", 1);
    tvs = calloc(64, sizeof *tvs);
    for (long i = 0; i < 64; i++)
        stm_tvar_init(&tvs[i], 1);
    stm_test_validate_round = commit_elsewhere;
    ck_assert_int_eq(stm_atomically(read_after_a_commit, NULL), 64);
    stm_test_validate_round = NULL;
    struct stm_stats st;
    stm_stats_get(&st);
    /* every software attempt gave up in its validation, the sixth ran
     * serially */
    ck_assert_uint_eq(st.aborts_stm, 5);
    ck_assert_uint_eq(st.commits_serial, 1);
    ck_assert_uint_eq(st.commits_stm, 0);
    free(tvs);
}
END_TEST

static Suite *progress_suite(void)
{
    Suite *s = suite_create("progress");
    TCase *tc = tcase_create("long transactions");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, long_read_only_finishes);
    tcase_add_test(tc, long_read_write_finishes);
    tcase_add_test(tc, unsettled_validation_escalates_to_serial);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return check_run_suite(progress_suite());
}
