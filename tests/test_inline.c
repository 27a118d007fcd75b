/* stm.h's inline paths on the software path (STM_MODE=stm, as on every CPU
 * without TSX): the read, the in-place write whose first call takes the
 * clock, the nested stm_atomically, and every way the library takes over
 * from them (a failed clock CAS, a full undo cursor, stm_or_else,
 * stm_irrevocable, stm_retry, misuse). */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include "check_util.h"
#include "stm.h"
#include "store_util.h"

/* Under ThreadSanitizer stm.h defines STM_NO_INLINE: the same checks then
 * hold for the library's calls, which keep the head the same way. */

static const struct stm_tx_head *head(stm_tx *tx)
{
    return (const struct stm_tx_head *)(const void *)tx;
}

static uint64_t clock_now(void)
{
    return __atomic_load_n(&stm__clock.seq, __ATOMIC_ACQUIRE);
}

static struct stm_stats stats(void)
{
    struct stm_stats s;
    stm_stats_get(&s);
    return s;
}

static stm_tvar a = STM_TVAR_INIT(10), b = STM_TVAR_INIT(20), c = STM_TVAR_INIT(0);

/* ---- the first write takes the clock, the next ones only log -------- */

static intptr_t two_writes(stm_tx *tx, void *arg)
{
    uint64_t *seen = arg;
    if (seen == NULL) { /* warm-up: the thread's first write allocates the undo log */
        stm_write(tx, &a, stm_read(tx, &a) + 1);
        return 0;
    }
    ck_assert_uint_eq(head(tx)->rsnap & 3, 0); /* unlogged, nothing written */
    ck_assert_ptr_nonnull(head(tx)->ucur);     /* the cursor is open */
    const struct stm__undo *u0 = head(tx)->ucur;
    stm_write(tx, &a, stm_read(tx, &a) + 1);
    seen[0] = clock_now();
    ck_assert_uint_eq(head(tx)->rsnap, seen[0]); /* reads stay inline */
    stm_write(tx, &b, stm_read(tx, &b) + 1);
    ck_assert_ptr_eq(head(tx)->ucur, u0 + 2); /* both old words logged */
    ck_assert_ptr_eq(u0[0].tv, &a);
    ck_assert_uint_eq(u0[0].old, 10);
    ck_assert_ptr_eq(u0[1].tv, &b);
    ck_assert_uint_eq(u0[1].old, 20);
    return 0;
}

START_TEST(first_write_takes_clock)
{
    stm_atomically(two_writes, NULL); /* creates the descriptor and its log */
    stm_store(&a, 10);
    uint64_t before = clock_now(), seen[1];
    struct stm_stats s0 = stats();
    stm_atomically(two_writes, seen);
    ck_assert_uint_eq(seen[0], before + 1); /* held: 1 mod 4 */
    ck_assert_uint_eq(clock_now(), before + 4);
    ck_assert_uint_eq(stm_load(&a), 11);
    ck_assert_uint_eq(stm_load(&b), 21);
    struct stm_stats s1 = stats();
    ck_assert_uint_eq(s1.commits_stm - s0.commits_stm, 1);
    ck_assert_uint_eq(s1.aborts_stm - s0.aborts_stm, 0);
}
END_TEST

/* ---- a commit elsewhere before the first write: the CAS fails -------- */

static int attempts;

static intptr_t read_poke_write(stm_tx *tx, void *arg)
{
    (void)arg;
    attempts++;
    uintptr_t v = stm_read(tx, &a);
    if (attempts == 1)
        store_from_other_thread(&c, 5); /* the clock moves */
    stm_write(tx, &b, v + 100);        /* inline CAS fails: abort, re-run */
    return (intptr_t)v;
}

START_TEST(failed_clock_cas_reruns)
{
    struct stm_stats s0 = stats();
    ck_assert_int_eq(stm_atomically(read_poke_write, NULL), 10);
    ck_assert_int_eq(attempts, 2);
    ck_assert_uint_eq(stm_load(&b), 110);
    ck_assert_uint_eq(stm_load(&c), 5);
    struct stm_stats s1 = stats();
    ck_assert_uint_eq(s1.aborts_stm - s0.aborts_stm, 1);
    ck_assert_uint_eq(s1.commits_stm + s1.commits_serial - s0.commits_stm - s0.commits_serial, 1);
}
END_TEST

/* ---- many writes: the cursor fills, the library grows the log -------- */

#define MANY 3000
static stm_tvar many[MANY];

static void many_init(void)
{
    for (int i = 0; i < MANY; i++)
        stm_tvar_init(&many[i], (uintptr_t)i);
}

static intptr_t write_many(stm_tx *tx, void *arg)
{
    uintptr_t add = (uintptr_t)arg;
    for (int i = 0; i < MANY; i++)
        stm_write(tx, &many[i], stm_read(tx, &many[i]) + add);
    return 0;
}

START_TEST(cursor_fills_and_grows)
{
    many_init();
    stm_atomically(write_many, (void *)1000);
    for (int i = 0; i < MANY; i++)
        ck_assert_uint_eq(stm_load(&many[i]), (uintptr_t)i + 1000);
}
END_TEST

/* ---- stm_or_else undoes the first branch's inline writes ------------- */

static intptr_t write_many_then_retry(stm_tx *tx, void *arg)
{
    write_many(tx, arg);
    stm_write(tx, &a, 777);
    stm_retry(tx);
}

static intptr_t second_branch(stm_tx *tx, void *arg)
{
    (void)arg;
    for (int i = 0; i < MANY; i++)
        ck_assert_uint_eq(stm_read(tx, &many[i]), (uintptr_t)i);
    ck_assert_uint_eq(stm_read(tx, &a), 10);
    stm_write(tx, &b, 99);
    return 2;
}

static intptr_t or_else_body(stm_tx *tx, void *arg)
{
    (void)arg;
    stm_write(tx, &c, 1); /* before the branch: kept */
    return stm_or_else(tx, write_many_then_retry, (void *)5, second_branch, NULL);
}

START_TEST(or_else_undoes_inline_writes)
{
    many_init();
    ck_assert_int_eq(stm_atomically(or_else_body, NULL), 2);
    for (int i = 0; i < MANY; i++)
        ck_assert_uint_eq(stm_load(&many[i]), (uintptr_t)i);
    ck_assert_uint_eq(stm_load(&a), 10);
    ck_assert_uint_eq(stm_load(&b), 99);
    ck_assert_uint_eq(stm_load(&c), 1);
}
END_TEST

/* ---- stm_irrevocable before and after inline writes ------------------ */

static intptr_t irrevocable_first(stm_tx *tx, void *arg)
{
    (void)arg;
    stm_irrevocable(tx);
    stm_write(tx, &a, 1);
    stm_write(tx, &b, 2);
    return 0;
}

static intptr_t irrevocable_between(stm_tx *tx, void *arg)
{
    (void)arg;
    stm_write(tx, &a, 3);
    stm_irrevocable(tx);
    stm_write(tx, &b, 4);
    return 0;
}

START_TEST(irrevocable_and_inline_writes)
{
    stm_atomically(irrevocable_first, NULL); /* creates the descriptor */
    struct stm_stats s0 = stats();
    uint64_t before = clock_now();
    stm_atomically(irrevocable_first, NULL);
    /* it wrote: the clock must move, or a reader that loaded a written
     * word while the transaction held it would not notice */
    ck_assert_uint_eq(clock_now(), before + 4);
    ck_assert_uint_eq(stm_load(&a), 1);
    ck_assert_uint_eq(stm_load(&b), 2);
    before = clock_now();
    stm_atomically(irrevocable_between, NULL);
    ck_assert_uint_eq(clock_now(), before + 4);
    ck_assert_uint_eq(stm_load(&a), 3);
    ck_assert_uint_eq(stm_load(&b), 4);
    struct stm_stats s1 = stats();
    ck_assert_uint_eq(s1.commits_serial - s0.commits_serial, 2);
}
END_TEST

/* ---- stm_retry after inline writes: undone, re-run logged, woken ----- */

static int retry_attempts;

static intptr_t write_then_wait(stm_tx *tx, void *arg)
{
    (void)arg;
    __atomic_fetch_add(&retry_attempts, 1, __ATOMIC_RELAXED);
    stm_write(tx, &a, 555); /* inline, takes the clock */
    if (stm_read(tx, &c) == 0)
        stm_retry(tx);
    return (intptr_t)stm_read(tx, &c);
}

static void *waiter(void *arg)
{
    (void)arg;
    return (void *)stm_atomically(write_then_wait, NULL);
}

START_TEST(retry_after_inline_write)
{
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, waiter, NULL), 0);
    /* the waiter blocks after its second (logged) attempt */
    while (stats().retries_blocked == 0)
        sched_yield();
    ck_assert_uint_eq(stm_load(&a), 10); /* its write was undone */
    stm_store(&c, 8);
    void *r;
    ck_assert_int_eq(pthread_join(t, &r), 0);
    ck_assert_int_eq((intptr_t)r, 8);
    ck_assert_uint_eq(stm_load(&a), 555);
    ck_assert_int_ge(__atomic_load_n(&retry_attempts, __ATOMIC_RELAXED), 3);
}
END_TEST

/* ---- nested stm_atomically joins inline ------------------------------- */

static intptr_t inner(stm_tx *tx, void *arg)
{
    stm_tx *outer_tx = arg;
    ck_assert_ptr_eq(tx, outer_tx); /* the same transaction */
    ck_assert_uint_eq(stm_read(tx, &a), 11); /* sees the outer write */
    stm_write(tx, &b, 21);
    return 7;
}

static intptr_t outer(stm_tx *tx, void *arg)
{
    (void)arg;
    stm_write(tx, &a, 11);
    ck_assert_uint_eq(head(tx)->depth, 1);
    intptr_t r = stm_atomically(inner, tx);
    ck_assert_uint_eq(head(tx)->depth, 1);
    return r;
}

START_TEST(nested_joins)
{
    stm_atomically(outer, NULL); /* creates the descriptor */
    struct stm_stats s0 = stats();
    ck_assert_int_eq(stm_atomically(outer, NULL), 7);
    ck_assert_uint_eq(stm_load(&a), 11);
    ck_assert_uint_eq(stm_load(&b), 21);
    struct stm_stats s1 = stats();
    ck_assert_uint_eq(s1.commits_stm - s0.commits_stm, 1);
    ck_assert_ptr_nonnull(stm__tx);
    ck_assert_uint_eq(head(stm__tx)->depth, 0);
}
END_TEST

/* ---- before a thread's first call, and outer_frame around a body ----- */

/* head version 2's name for stm__tx (programs built against 0.3.0) */
extern __thread stm_tx *stm__self;

static void *fresh_thread(void *arg)
{
    uintptr_t *out = arg;
    /* no descriptor yet: the pointer is stm__no_tx's, never NULL, and
     * its head sends every inline call to the library */
    out[0] = stm__tx == (stm_tx *)(void *)&stm__no_tx;
    out[1] = head(stm__tx)->outer_frame == NULL && head(stm__tx)->depth == 0;
    out[2] = (uintptr_t)stm_atomically(two_writes, NULL); /* creates it */
    out[3] = stm__tx != (stm_tx *)(void *)&stm__no_tx && head(stm__tx)->outer_frame == NULL;
    return NULL;
}

START_TEST(fresh_thread_has_no_descriptor)
{
    uintptr_t out[4] = {0, 0, 99, 0};
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, fresh_thread, out), 0);
    pthread_join(t, NULL);
    ck_assert_uint_eq(out[0], 1);
    ck_assert_uint_eq(out[1], 1);
    ck_assert_uint_eq(out[2], 0);
    ck_assert_uint_eq(out[3], 1);
    ck_assert_ptr_eq(&stm__tx, &stm__self); /* one variable, two names */
}
END_TEST

static intptr_t frame_seen(stm_tx *tx, void *arg)
{
    char here;
    uintptr_t *out = arg;
    out[0] = (uintptr_t)head(tx)->outer_frame;
    out[1] = (uintptr_t)&here;
    attempts++;
    uintptr_t v = stm_read(tx, &a);
    if (attempts == 1)
        store_from_other_thread(&c, 6); /* the CAS below fails: resumed */
    stm_write(tx, &b, v);
    return 1;
}

START_TEST(outer_frame_only_inside)
{
    uintptr_t out[2] = {0, 0};
    attempts = 0;
    ck_assert_int_eq(stm_atomically(frame_seen, out), 1);
    ck_assert_int_eq(attempts, 2);
    /* the last attempt's: set, above the body's locals */
    ck_assert_uint_ne(out[0], 0);
    ck_assert_uint_gt(out[0], out[1]);
    ck_assert_ptr_null(head(stm__tx)->outer_frame);
    ck_assert_uint_eq(head(stm__tx)->depth, 0);
}
END_TEST

/* ---- an aborted first attempt gives the caller its registers back ---- */

static uint64_t opaque(uint64_t x)
{
    __asm__("" : "+r"(x));
    return x;
}

static intptr_t abort_once(stm_tx *tx, void *arg)
{
    (void)arg;
    attempts++;
    uintptr_t v = stm_read(tx, &a);
    if (attempts == 1)
        store_from_other_thread(&c, 7);
    stm_write(tx, &b, v + 1);
    return (intptr_t)v;
}

/* Values live across the call sit in callee-saved registers (six on
 * x86-64); the abort's resume must restore the caller's, not the body's. */
static __attribute__((noinline)) uint64_t live_across(uint64_t seed)
{
    uint64_t v0 = opaque(seed), v1 = opaque(seed * 3), v2 = opaque(seed * 5),
             v3 = opaque(seed * 7), v4 = opaque(seed * 11), v5 = opaque(seed * 13);
    intptr_t r = stm_atomically(abort_once, NULL);
    return opaque(v0) + 2 * opaque(v1) + 3 * opaque(v2) + 4 * opaque(v3) + 5 * opaque(v4) +
           6 * opaque(v5) + (uint64_t)r;
}

START_TEST(abort_restores_callers_registers)
{
    attempts = 0;
    stm_store(&a, 10);
    uint64_t seed = 1000003;
    uint64_t want = seed * (1 + 2 * 3 + 3 * 5 + 4 * 7 + 5 * 11 + 6 * 13) + 10;
    ck_assert_uint_eq(live_across(seed), want);
    ck_assert_int_eq(attempts, 2);
    ck_assert_uint_eq(stm_load(&b), 11);
}
END_TEST

/* ---- misuse through the inline paths is reported by the library ------ */

static void read_null_tx(void *arg)
{
    (void)arg;
    (void)stm_read(NULL, &a);
}

static void write_null_tx(void *arg)
{
    (void)arg;
    stm_write(NULL, &a, 1);
}

static intptr_t write_null_tvar_body(stm_tx *tx, void *arg)
{
    (void)arg;
    stm_write(tx, &a, 1); /* the cursor is open now */
    stm_write(tx, NULL, 1);
    return 0;
}

static void write_null_tvar(void *arg)
{
    (void)arg;
    stm_atomically(write_null_tvar_body, NULL);
}

static void write_outside(void *arg)
{
    (void)arg;
    stm_atomically(two_writes, NULL); /* a descriptor exists */
    stm_tx *tx = stm__tx;
    stm_write(tx, &a, 1);
}

static void expect_fatal(void (*fn)(void *), const char *call, const char *what)
{
    struct check_child r;
    check_child(fn, NULL, &r);
    ck_assert_msg(WIFSIGNALED(r.status) && WTERMSIG(r.status) == SIGABRT,
                  "expected abort(), status %d, stderr: %s", r.status, r.err);
    ck_assert_msg(strstr(r.err, call) != NULL && strstr(r.err, what) != NULL,
                  "stderr lacks '%s' / '%s': %s", call, what, r.err);
}

START_TEST(misuse_reported)
{
    expect_fatal(read_null_tx, "stm_read", "NULL transaction descriptor");
    expect_fatal(write_null_tx, "stm_write", "NULL transaction descriptor");
    expect_fatal(write_null_tvar, "stm_write", "NULL TVar");
    expect_fatal(write_outside, "stm_write", "outside a transaction");
}
END_TEST

int main(void)
{
    /* the software path, as on a CPU without TSX (each test runs in a
     * child whose first libstm call comes after this) */
    setenv("STM_MODE", "stm", 1);
    Suite *s = suite_create("inline");
    TCase *tc = tcase_create("software");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, first_write_takes_clock);
    tcase_add_test(tc, failed_clock_cas_reruns);
    tcase_add_test(tc, cursor_fills_and_grows);
    tcase_add_test(tc, or_else_undoes_inline_writes);
    tcase_add_test(tc, irrevocable_and_inline_writes);
    tcase_add_test(tc, retry_after_inline_write);
    tcase_add_test(tc, nested_joins);
    tcase_add_test(tc, fresh_thread_has_no_descriptor);
    tcase_add_test(tc, outer_frame_only_inside);
    tcase_add_test(tc, abort_restores_callers_registers);
    tcase_add_test(tc, misuse_reported);
    suite_add_tcase(s, tc);
    return check_run_suite(s);
}
