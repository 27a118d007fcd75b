/* Misuse is reported, not undefined: each case runs in a child, which must
 * die of SIGABRT after printing "libstm: <call>: ..." on stderr. */
#include <malloc.h>
#include <sys/mman.h>
#include <stdlib.h>
#include <string.h>
#include <urcu/urcu-memb.h>

#include "check_util.h"
#include "stm.h"

static stm_tvar tv = STM_TVAR_INIT(1);

static void expect_misuse(void (*fn)(void *), void *arg, const char *prefix, const char *detail)
{
    struct check_child r;
    check_child(fn, arg, &r);
    ck_assert_msg(WIFSIGNALED(r.status) && WTERMSIG(r.status) == SIGABRT,
                  "expected SIGABRT for %s, got status 0x%x; stderr: %s", prefix, r.status, r.err);
    ck_assert_msg(strncmp(r.err, prefix, strlen(prefix)) == 0,
                  "stderr should start with \"%s\": %s", prefix, r.err);
    ck_assert_msg(strstr(r.err, detail) != NULL, "stderr should mention \"%s\": %s", detail, r.err);
    ck_assert_int_eq(check_count(r.err, "libstm:"), 1);
}

/* ---- NULL TVars ----------------------------------------------------------- */

static intptr_t read_null(stm_tx *tx, void *arg) { return (intptr_t)stm_read(tx, NULL); }
static intptr_t write_null(stm_tx *tx, void *arg) { stm_write(tx, NULL, 1); return 0; }
static intptr_t read_int_null(stm_tx *tx, void *arg) { return stm_read_int(tx, NULL); }
static void run_tx(void *fn) { stm_atomically((stm_fn)fn, NULL); }
static void load_null(void *arg) { stm_load(NULL); }
static void store_null(void *arg) { stm_store(NULL, 1); }

START_TEST(null_tvar)
{
    expect_misuse(run_tx, (void *)read_null, "libstm: stm_read: ", "NULL TVar");
    expect_misuse(run_tx, (void *)write_null, "libstm: stm_write: ", "NULL TVar");
    expect_misuse(run_tx, (void *)read_int_null, "libstm: stm_read: ", "NULL TVar");
    expect_misuse(load_null, NULL, "libstm: stm_load: ", "NULL TVar");
    expect_misuse(store_null, NULL, "libstm: stm_store: ", "NULL TVar");
}
END_TEST

/* ---- calls outside a transaction -------------------------------------- */

static intptr_t leak_tx(stm_tx *tx, void *arg) { return (intptr_t)tx; }

static stm_tx *stale_tx(void)
{
    return (stm_tx *)stm_atomically(leak_tx, NULL);
}

static void read_outside(void *arg) { stm_read(stale_tx(), &tv); }
static void write_outside(void *arg) { stm_write(stale_tx(), &tv, 2); }
static void read_null_tx(void *arg) { stm_read(NULL, &tv); }
static void retry_outside(void *arg) { stm_retry(stale_tx()); }
static void irrevocable_outside(void *arg) { stm_irrevocable(stale_tx()); }
static void alloc_outside(void *arg) { stm_alloc(stale_tx(), 8); }
static void free_outside(void *arg) { stm_free(stale_tx(), NULL); }
static void or_else_outside(void *arg) { stm_or_else(stale_tx(), leak_tx, NULL, leak_tx, NULL); }
static void atomically_null(void *arg) { stm_atomically(NULL, NULL); }

START_TEST(outside_a_transaction)
{
    expect_misuse(read_outside, NULL, "libstm: stm_read: ", "outside a transaction");
    expect_misuse(write_outside, NULL, "libstm: stm_write: ", "outside a transaction");
    expect_misuse(read_null_tx, NULL, "libstm: stm_read: ", "NULL transaction");
    expect_misuse(retry_outside, NULL, "libstm: stm_retry: ", "outside a transaction");
    expect_misuse(irrevocable_outside, NULL, "libstm: stm_irrevocable: ", "outside a transaction");
    expect_misuse(alloc_outside, NULL, "libstm: stm_alloc: ", "outside a transaction");
    expect_misuse(free_outside, NULL, "libstm: stm_free: ", "outside a transaction");
    expect_misuse(or_else_outside, NULL, "libstm: stm_or_else: ", "outside a transaction");
    expect_misuse(atomically_null, NULL, "libstm: stm_atomically: ", "NULL transaction function");
}
END_TEST

/* ---- calls that need no transaction, made inside one ------------------ */

static intptr_t store_inside(stm_tx *tx, void *arg) { stm_store(&tv, 5); return 0; }
static intptr_t tvar_free_inside(stm_tx *tx, void *arg) { stm_tvar_free(arg); return 0; }
static void run_tvar_free_inside(void *arg) { stm_atomically(tvar_free_inside, stm_tvar_new(0)); }

START_TEST(inside_a_transaction)
{
    expect_misuse(run_tx, (void *)store_inside, "libstm: stm_store: ", "inside a transaction");
    expect_misuse(run_tvar_free_inside, NULL, "libstm: stm_tvar_free: ", "inside a transaction");
}
END_TEST

/* ---- retry that could never wake -------------------------------------- */

static intptr_t retry_nothing_read(stm_tx *tx, void *arg) { stm_retry(tx); }
static intptr_t retry_after_irrevocable(stm_tx *tx, void *arg)
{
    stm_read(tx, &tv);
    stm_irrevocable(tx);
    stm_retry(tx);
}
static intptr_t write_then_retry(stm_tx *tx, void *arg)
{
    stm_write(tx, &tv, 3); /* writes do not count: nothing was read */
    stm_retry(tx);
}

START_TEST(retry_never_wakes)
{
    expect_misuse(run_tx, (void *)retry_nothing_read, "libstm: stm_retry: ", "read no TVar");
    expect_misuse(run_tx, (void *)write_then_retry, "libstm: stm_retry: ", "read no TVar");
    expect_misuse(run_tx, (void *)retry_after_irrevocable, "libstm: stm_retry: ",
                  "stm_irrevocable");
}
END_TEST

/* ---- frees -------------------------------------------------------------- */

static intptr_t free_arg(stm_tx *tx, void *arg) { stm_free(tx, arg); return 0; }
static intptr_t alloc_one(stm_tx *tx, void *arg) { return (intptr_t)stm_alloc(tx, 32); }

static void free_foreign(void *arg)
{
    /* the header libstm inspects lies in malloc's chunk header (under ASan
     * in its redzone, which libstm checks before reading) */
    stm_atomically(free_arg, malloc(64));
}

/* A page-aligned pointer with nothing mapped just below it: the header
 * libstm would read is on an unmapped page (this used to be SIGSEGV). */
static char *mapped_after_hole(void)
{
    long page = sysconf(_SC_PAGESIZE);
    char *m = mmap(NULL, 3 * (size_t)page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                   -1, 0);
    ck_assert_ptr_ne(m, MAP_FAILED);
    munmap(m, (size_t)page);
    return m + page;
}

static void free_mmap(void *arg) { stm_atomically(free_arg, mapped_after_hole()); }

/* The same below a guard page (mapped, PROT_NONE). */
static void free_after_guard(void *arg)
{
    char *p = mapped_after_hole();
    long page = sysconf(_SC_PAGESIZE);
    ck_assert_ptr_ne(mmap(p - page, (size_t)page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
                          -1, 0),
                     MAP_FAILED);
    stm_atomically(free_arg, p);
}

static void free_misaligned(void *arg)
{
    static char buf[256] __attribute__((aligned(16)));
    stm_atomically(free_arg, buf + 129);
}

static void tvar_free_mmap(void *arg) { stm_tvar_free((stm_tvar *)mapped_after_hole()); }

static void tvar_free_alloc(void *arg)
{
    stm_tvar_free((stm_tvar *)stm_atomically(alloc_one, NULL));
}

static void free_static(void *arg)
{
    static char buf[256] __attribute__((aligned(16)));
    stm_atomically(free_arg, buf + 128);
}

static intptr_t free_twice(stm_tx *tx, void *arg)
{
    stm_free(tx, arg);
    stm_free(tx, arg);
    return 0;
}

static void double_free_same_tx(void *arg)
{
    stm_atomically(free_twice, (void *)stm_atomically(alloc_one, NULL));
}

/* Hold an RCU read-side section so the first free's grace period cannot
 * end: the block stays mapped and the second free sees it marked dead. */
static void double_free_two_tx(void *arg)
{
    void *p = (void *)stm_atomically(alloc_one, NULL);
    urcu_memb_read_lock();
    stm_atomically(free_arg, p);
    stm_atomically(free_arg, p);
}

static void tvar_double_free(void *arg)
{
    stm_tvar *t = stm_tvar_new(1);
    urcu_memb_read_lock();
    stm_tvar_free(t);
    stm_tvar_free(t);
}

static void tvar_free_foreign(void *arg)
{
    /* far enough into the array that the header libstm inspects is
     * still inside it */
    static stm_tvar embedded[8] __attribute__((aligned(16)));
    stm_tvar_free(&embedded[6]);
}

START_TEST(bad_frees)
{
    expect_misuse(free_foreign, NULL, "libstm: stm_free: ", "not allocated by stm_alloc()");
    expect_misuse(free_static, NULL, "libstm: stm_free: ", "not allocated by stm_alloc()");
    expect_misuse(double_free_same_tx, NULL, "libstm: stm_free: ", "already freed");
    expect_misuse(double_free_two_tx, NULL, "libstm: stm_free: ", "already freed");
    expect_misuse(tvar_double_free, NULL, "libstm: stm_tvar_free: ", "already freed");
    expect_misuse(tvar_free_foreign, NULL, "libstm: stm_tvar_free: ", "not allocated");
    expect_misuse(free_mmap, NULL, "libstm: stm_free: ", "not allocated by stm_alloc()");
    expect_misuse(free_after_guard, NULL, "libstm: stm_free: ", "not allocated by stm_alloc()");
    expect_misuse(free_misaligned, NULL, "libstm: stm_free: ", "not allocated by stm_alloc()");
    expect_misuse(tvar_free_mmap, NULL, "libstm: stm_tvar_free: ", "not allocated");
    expect_misuse(tvar_free_alloc, NULL, "libstm: stm_tvar_free: ",
                  "allocated by stm_alloc(); free it with stm_free()");
}
END_TEST

/* The same misuse from a second thread (the descriptor is per thread). */
static void *thread_body(void *arg)
{
    stm_atomically(read_null, NULL);
    return NULL;
}

static void misuse_in_thread(void *arg)
{
    pthread_t t;
    stm_atomically(leak_tx, NULL);
    if (pthread_create(&t, NULL, thread_body, NULL) == 0)
        pthread_join(t, NULL);
}

START_TEST(misuse_in_a_thread)
{
    expect_misuse(misuse_in_thread, NULL, "libstm: stm_read: ", "NULL TVar");
}
END_TEST

static Suite *misuse_suite(void)
{
    Suite *s = suite_create("misuse");
    TCase *tc = tcase_create("aborts");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, null_tvar);
    tcase_add_test(tc, outside_a_transaction);
    tcase_add_test(tc, inside_a_transaction);
    tcase_add_test(tc, retry_never_wakes);
    tcase_add_test(tc, bad_frees);
    tcase_add_test(tc, misuse_in_a_thread);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return check_run_suite(misuse_suite());
}
