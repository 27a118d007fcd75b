/* Helpers shared by the Check suites: running a suite, and running a
 * function in a forked child with its stderr captured.
 *
 * libstm reads its configuration once per process and keeps per-process
 * state (RCU registration, counters), so tests that need a given
 * environment or fresh counters run in a child whose first libstm call
 * comes after the setenv().  Check's fork mode gives every test such a
 * child already (the runner itself never calls libstm); check_child()
 * forks once more where a test needs to look at a child's exit and
 * stderr. */
#ifndef STM_TESTS_CHECK_UTIL_H
#define STM_TESTS_CHECK_UTIL_H

#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Run every test of s, each in its own process; exit status for main(). */
static inline int check_run_suite(Suite *s)
{
    SRunner *sr = srunner_create(s);
    /* each test needs a process that has not touched libstm yet */
    srunner_set_fork_status(sr, CK_FORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

struct check_child {
    int status;      /* from waitpid */
    char err[8192];  /* the child's stderr (truncated), NUL-terminated */
    size_t errlen;
};

/* Run fn(arg) in a child with stderr going to a pipe; the child exits 0 if
 * fn returns.  Fills r with the wait status and what it wrote to stderr. */
static inline void check_child(void (*fn)(void *), void *arg, struct check_child *r)
{
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    fflush(NULL);
    pid_t pid = fork();
    ck_assert_int_ne(pid, -1);
    if (pid == 0) {
        close(p[0]);
        dup2(p[1], STDERR_FILENO);
        close(p[1]);
        fn(arg);
        fflush(NULL);
        _exit(0);
    }
    close(p[1]);
    r->errlen = 0;
    for (;;) {
        ssize_t n = read(p[0], r->err + r->errlen, sizeof r->err - 1 - r->errlen);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        r->errlen += (size_t)n;
        if (r->errlen == sizeof r->err - 1) {
            /* keep draining so the child cannot block on a full pipe */
            char sink[512];
            while (read(p[0], sink, sizeof sink) > 0)
                ;
            break;
        }
    }
    r->err[r->errlen] = '\0';
    close(p[0]);
    while (waitpid(pid, &r->status, 0) < 0)
        ck_assert_int_eq(errno, EINTR);
}

/* Number of non-overlapping occurrences of needle in hay. */
static inline int check_count(const char *hay, const char *needle)
{
    int n = 0;
    size_t len = strlen(needle);
    for (const char *p = strstr(hay, needle); p; p = strstr(p + len, needle))
        n++;
    return n;
}

#endif
