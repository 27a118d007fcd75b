/* Misuse that used to be silent (issue 9, item 6), now reported with a
 * message and abort(): a transaction body left by longjmp, and libstm
 * called from a signal handler that interrupted libstm in the same thread.
 * Each case runs in a child (check_child) on the default path and on the
 * software path. */
#include <pthread.h>
#include <setjmp.h>
#include <sys/mman.h>

#include "check_util.h"
#include "stm.h"

static jmp_buf env;
static stm_tvar x = STM_TVAR_INIT(0);

static void expect_abort(void (*fn)(void *), void *arg, const char *text)
{
    struct check_child r;
    check_child(fn, arg, &r);
    ck_assert_msg(WIFSIGNALED(r.status) && WTERMSIG(r.status) == SIGABRT,
                  "expected SIGABRT (\"%s\"), got status 0x%x; stderr: %s", text, r.status, r.err);
    ck_assert_msg(strstr(r.err, text) != NULL, "stderr should contain \"%s\": %s", text, r.err);
}

static void both_paths(void (*fn)(void *), void *arg, const char *text)
{
    expect_abort(fn, arg, text);
    setenv("STM_MODE", "stm", 1); /* the children fork from here */
    expect_abort(fn, arg, text);
    unsetenv("STM_MODE");
}

static intptr_t incr(stm_tx *tx, void *arg)
{
    stm_write(tx, &x, stm_read(tx, &x) + 1);
    return 0;
}

/* ---- longjmp out of a body ------------------------------------------- */

static intptr_t throws(stm_tx *tx, void *arg)
{
    stm_write(tx, &x, 100);
    if (arg != NULL)
        stm_irrevocable(tx);
    longjmp(env, 1);
}

/* C error handling: "throw" out of the body, then carry on */
static void longjmp_then_transaction(void *irrevocable)
{
    if (setjmp(env) == 0)
        stm_atomically(throws, irrevocable);
    stm_atomically(incr, NULL); /* used to join the dead transaction */
}

START_TEST(longjmp_out_of_body)
{
    both_paths(longjmp_then_transaction, NULL,
               "libstm: stm_atomically: the enclosing transaction's body was left by longjmp");
}
END_TEST

START_TEST(longjmp_out_of_irrevocable_body)
{
    both_paths(longjmp_then_transaction, (void *)1,
               "libstm: stm_atomically: the enclosing transaction's body was left by longjmp");
}
END_TEST

/* ---- a signal handler that interrupted libstm ---------------------------- */

static stm_tvar *page_tv;

static void on_segv(int sig)
{
    /* stm_store below faulted while holding the sequence lock */
    mprotect(page_tv, 4096, PROT_READ | PROT_WRITE);
    stm_atomically(incr, NULL);
}

static void store_interrupted(void *arg)
{
    stm_atomically(incr, NULL); /* not the first use */
    page_tv = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(page_tv, MAP_FAILED);
    signal(SIGSEGV, on_segv);
    stm_store(page_tv, 1);
}

START_TEST(signal_handler_interrupting_stm_store)
{
    /* before: a self-deadlock waiting for the sequence lock to be even */
    alarm(60);
    both_paths(store_interrupted, NULL,
               "libstm: stm_atomically: called from a signal handler that interrupted libstm");
}
END_TEST

static void on_usr1(int sig) { stm_store(&x, 7); }

static intptr_t retry_interrupted(stm_tx *tx, void *arg)
{
    if (stm_read(tx, &x) == 0)
        stm_retry(tx); /* the signal arrives while blocked here */
    return 0;
}

static void *send_usr1(void *arg)
{
    usleep(100 * 1000);
    pthread_kill(*(pthread_t *)arg, SIGUSR1);
    return NULL;
}

static void blocked_retry_interrupted(void *arg)
{
    signal(SIGUSR1, on_usr1);
    pthread_t self = pthread_self(), t;
    ck_assert_int_eq(pthread_create(&t, NULL, send_usr1, &self), 0);
    stm_atomically(retry_interrupted, NULL);
}

START_TEST(signal_handler_interrupting_a_blocked_retry)
{
    both_paths(blocked_retry_interrupted, NULL,
               "libstm: stm_store: called from a signal handler that interrupted libstm");
}
END_TEST

static Suite *unsafe_suite(void)
{
    Suite *s = suite_create("unsafe");
    TCase *tc = tcase_create("reported");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, longjmp_out_of_body);
    tcase_add_test(tc, longjmp_out_of_irrevocable_body);
    tcase_add_test(tc, signal_handler_interrupting_stm_store);
    tcase_add_test(tc, signal_handler_interrupting_a_blocked_retry);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return check_run_suite(unsafe_suite());
}
