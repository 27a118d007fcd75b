/* fork() from a multi-threaded process (issue 9, item 1): the child can use
 * libstm fully.  Each scenario forks while other threads hold the state
 * that used to be inherited held: the sequence lock (a serial transaction
 * in progress), a read-side section (a software transaction in its body),
 * the call_rcu worker (threads freeing).  The child must commit, start a thread that
 * commits, and get what it frees reclaimed (urcu_memb_barrier() returns
 * only when every queued free ran); alarm() turns a hang into a failure. */
#define _GNU_SOURCE
#include <pthread.h>
#include <semaphore.h>
#include <urcu/urcu-memb.h>

#include "check_util.h"
#include "core/hybrid.h"
#include "stm.h"

#if defined(__SANITIZE_THREAD__)
/* ThreadSanitizer does not support a child of a multi-threaded fork that
 * starts threads (liburcu's call_rcu worker must): with die_after_fork=0 its
 * own state in the child hangs or fails the exit.  The scenarios run in the
 * other builds (optimized, ASan, valgrind); here only the misuse case. */
#define STM_FORK_THREADS_SUPPORTED 0
#else
#define STM_FORK_THREADS_SUPPORTED 1
#endif

#if defined(__SANITIZE_ADDRESS__)
/* fork_during_churn_default_path hung once in the ASan build (CI, killed
 * at the test's timeout; never in the optimized build or under valgrind).
 * The likely cause, not yet confirmed: AddressSanitizer's fork()
 * interceptor locks its stack depot before the real fork() runs the
 * pthread_atfork handlers, and every free() records a stack there, so
 * libstm's prepare handler, which waits for liburcu's call_rcu worker to
 * pause, waits forever for a worker inside free() (the deadlock liburcu's
 * README describes for glibc before 2.24's malloc locks; see
 * src/stm/fork.c).  The churn tests, whose frees keep the worker busy, run
 * in the optimized build and under valgrind. */
#define STM_FORK_CHURN_SUPPORTED 0
#else
#define STM_FORK_CHURN_SUPPORTED 1
#endif

#define CHILD_LIMIT_S 60 /* a hang, not slowness: valgrind takes seconds */

static stm_tvar x = STM_TVAR_INIT(0);
static sem_t inside;
static int stop; /* atomic */

static intptr_t incr(stm_tx *tx, void *arg)
{
    stm_write(tx, &x, stm_read(tx, &x) + 1);
    return (intptr_t)stm_read(tx, &x);
}

/* In the child: commit, free and reclaim, from this thread and a new one. */
static void *child_work(void *arg)
{
    stm_atomically(incr, NULL);
    for (int i = 0; i < 100; i++)
        stm_tvar_free(stm_tvar_new((uintptr_t)i));
    urcu_memb_barrier();
    return NULL;
}

/* Fork; the child runs child_work here and in a new thread and exits with
 * x's final value (mod 256).  Returns the wait status. */
static int fork_and_check(void)
{
    fflush(NULL);
    pid_t pid = fork();
    ck_assert_int_ne(pid, -1);
    if (pid == 0) {
        alarm(CHILD_LIMIT_S);
        child_work(NULL);
        pthread_t t;
        if (pthread_create(&t, NULL, child_work, NULL) != 0)
            _exit(100);
        pthread_join(t, NULL);
        _exit((int)(stm_load(&x) & 0xff));
    }
    int st;
    while (waitpid(pid, &st, 0) < 0)
        ck_assert_int_eq(errno, EINTR);
    return st;
}

/* ---- a thread counted as starving at fork() ----------------------------- */

/* A thread of the parent that had waited long for the sequence lock when
 * fork() came (prepare holds the lock, so waiters pile up) is counted in
 * stm_starving, and software attempts wait while that count is not zero:
 * the child, which lacks that thread, must not inherit the count.  The
 * count is set by hand here, which is what such a thread leaves. */
START_TEST(fork_while_a_thread_starves)
{
    setenv("STM_MODE", "stm", 1); /* the software path checks the count */
    stm_store(&x, 41);
    __atomic_fetch_add(&stm_starving, 1, __ATOMIC_RELAXED);
    int st = fork_and_check();
    __atomic_fetch_sub(&stm_starving, 1, __ATOMIC_RELAXED);
    ck_assert_msg(WIFEXITED(st), "child did not exit (status 0x%x: SIGALRM = hung)", st);
    ck_assert_int_eq(WEXITSTATUS(st), 43);
}
END_TEST

/* ---- a serial transaction holds the sequence lock at fork() ------------ */

static intptr_t slow_irrevocable(stm_tx *tx, void *arg)
{
    stm_write(tx, &x, 40);
    stm_irrevocable(tx);
    sem_post(&inside);
    usleep(200 * 1000); /* fork() is called meanwhile */
    return 0;
}

static void *serial_thread(void *arg)
{
    stm_atomically(slow_irrevocable, NULL);
    return NULL;
}

START_TEST(fork_during_serial_transaction)
{
    sem_init(&inside, 0, 0);
    stm_store(&x, 0);
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, serial_thread, NULL), 0);
    sem_wait(&inside);
    /* fork() waits for the commit: the child sees x = 40, adds 2 */
    int st = fork_and_check();
    pthread_join(t, NULL);
    ck_assert_msg(WIFEXITED(st), "child did not exit (status 0x%x: SIGALRM = hung)", st);
    ck_assert_int_eq(WEXITSTATUS(st), 42);
}
END_TEST

/* ---- a software transaction inside its read-side section at fork() ---- */

static intptr_t slow_reader(stm_tx *tx, void *arg)
{
    stm_read(tx, &x);
    sem_post(&inside);
    usleep(300 * 1000); /* inside the read-side section: fork() meanwhile */
    return 0;
}

static void *reader_thread(void *arg)
{
    stm_atomically(slow_reader, NULL);
    return NULL;
}

START_TEST(fork_inside_read_side_section)
{
    /* software, so that the reader really sits in a read-side section */
    setenv("STM_MODE", "stm", 1);
    sem_init(&inside, 0, 0);
    /* start the call_rcu worker and let it go idle: with no grace period
     * in progress fork() does not wait for the reader, whose record the
     * child's grace periods must then not wait for either */
    stm_tvar_free(stm_tvar_new(0));
    urcu_memb_barrier();
    pthread_t r;
    ck_assert_int_eq(pthread_create(&r, NULL, reader_thread, NULL), 0);
    sem_wait(&inside);
    int st = fork_and_check();
    pthread_join(r, NULL);
    ck_assert_msg(WIFEXITED(st), "child did not exit (status 0x%x: SIGALRM = hung)", st);
    ck_assert_int_eq(WEXITSTATUS(st), 2);
}
END_TEST

/* ---- fork() while other threads commit, read and free ----------------- */

static intptr_t sum(stm_tx *tx, void *arg)
{
    return (intptr_t)stm_read(tx, &x);
}

static void *churn_thread(void *arg)
{
    while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
        stm_atomically(incr, NULL);
        stm_atomically(sum, NULL);
        stm_store(&x, 0);
        stm_tvar_free(stm_tvar_new(1)); /* keeps the call_rcu worker busy */
    }
    return NULL;
}

static void fork_during_churn(void)
{
    pthread_t c[2];
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(pthread_create(&c[i], NULL, churn_thread, NULL), 0);
    for (int i = 0; i < 10; i++) {
        int st = fork_and_check();
        ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) != 100,
                      "child %d did not finish (status 0x%x: SIGALRM = hung)", i, st);
    }
    __atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
    for (int i = 0; i < 2; i++)
        pthread_join(c[i], NULL);
}

START_TEST(fork_during_churn_software)
{
    setenv("STM_MODE", "stm", 1);
    fork_during_churn();
}
END_TEST

/* the default path: hardware where the CPU has it */
START_TEST(fork_during_churn_default_path)
{
    fork_during_churn();
}
END_TEST

/* ---- fork() inside a transaction is misuse ------------------------------ */

static intptr_t forks(stm_tx *tx, void *arg)
{
    stm_read(tx, &x);
    pid_t pid = fork();
    if (pid == 0)
        _exit(0);
    return 0;
}

static void run_forks(void *arg) { stm_atomically(forks, NULL); }

START_TEST(fork_inside_a_transaction)
{
    struct check_child r;
    check_child(run_forks, NULL, &r);
    ck_assert_msg(WIFSIGNALED(r.status) && WTERMSIG(r.status) == SIGABRT,
                  "expected SIGABRT, got status 0x%x; stderr: %s", r.status, r.err);
    ck_assert_msg(strstr(r.err, "libstm: fork: called inside a transaction") != NULL,
                  "stderr: %s", r.err);
}
END_TEST

static Suite *fork_suite(void)
{
    Suite *s = suite_create("fork");
    TCase *tc = tcase_create("fork");
    tcase_set_timeout(tc, 240);
    if (STM_FORK_THREADS_SUPPORTED) {
        tcase_add_test(tc, fork_during_serial_transaction);
        tcase_add_test(tc, fork_while_a_thread_starves);
        tcase_add_test(tc, fork_inside_read_side_section);
        if (STM_FORK_CHURN_SUPPORTED) {
            tcase_add_test(tc, fork_during_churn_software);
            tcase_add_test(tc, fork_during_churn_default_path);
        }
    }
    tcase_add_test(tc, fork_inside_a_transaction);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return check_run_suite(fork_suite());
}
