/* Issue 9, row 3: one long transaction (reads N TVars; "rw" also writes
 * each of them) while W other threads commit to unrelated TVars.  Prints
 * the time alone, the time under the writers (or that it did not finish
 * within the limit), and this thread's aborts and serial commits.
 * usage: long_tx ro|rw N W [limit_s] */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <stm.h>

static stm_tvar *tvs;
static long ntv;
static int rw;
static volatile int stop;
static stm_tvar other[8];

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static intptr_t big(stm_tx *tx, void *arg)
{
    uintptr_t s = 0;
    for (long i = 0; i < ntv; i++) {
        uintptr_t v = stm_read(tx, &tvs[i]);
        s += v;
        if (rw)
            stm_write(tx, &tvs[i], v + 1);
    }
    return (intptr_t)s;
}

static intptr_t bump(stm_tx *tx, void *arg)
{
    stm_tvar *t = arg;
    stm_write(tx, t, stm_read(tx, t) + 1);
    return 0;
}

static void *writer(void *arg)
{
    while (!stop)
        stm_atomically(bump, arg);
    return NULL;
}

static void timeout(int sig)
{
    static const char msg[] = "did not finish within the limit\n";
    (void)!write(1, msg, sizeof msg - 1);
    _exit(2);
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: long_tx ro|rw N W [limit_s]\n");
        return 64;
    }
    rw = strcmp(argv[1], "rw") == 0;
    ntv = atol(argv[2]);
    int w = atoi(argv[3]);
    int limit = argc > 4 ? atoi(argv[4]) : 30;
    tvs = calloc((size_t)ntv, sizeof *tvs);
    double t0 = now();
    stm_atomically(big, NULL);
    double alone = now() - t0;
    pthread_t th[8];
    for (int i = 0; i < w; i++)
        pthread_create(&th[i], NULL, writer, &other[i]);
    usleep(10000);
    struct stm_stats s0, s1;
    stm_stats_get(&s0);
    printf("path %s, %s over %ld TVars, %d writer(s) to unrelated TVars: alone %.3f s; ",
           stm_path(), rw ? "read-write" : "read-only", ntv, w, alone);
    fflush(stdout);
    signal(SIGALRM, timeout);
    alarm((unsigned)limit);
    t0 = now();
    stm_atomically(big, NULL);
    double busy = now() - t0;
    alarm(0);
    stm_stats_get(&s1);
    stop = 1;
    for (int i = 0; i < w; i++)
        pthread_join(th[i], NULL);
    printf("with writers %.3f s (process: +%llu software aborts, +%llu serial commits)\n", busy,
           (unsigned long long)(s1.aborts_stm - s0.aborts_stm),
           (unsigned long long)(s1.commits_serial - s0.commits_serial));
    return 0;
}
