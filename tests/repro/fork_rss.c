/* Issue 9, row 2: after fork(), the child allocates and frees
 * transactionally (2M stm_alloc/stm_free and stm_tvar_new/stm_tvar_free);
 * prints its resident set every 500k iterations, then the parent's after
 * the same work.  usage: fork_rss [iterations] */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <stm.h>

static stm_tvar head = STM_TVAR_INIT(0);
static volatile int stop;

static long rss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0)
            kb = atol(line + 6);
    if (f)
        fclose(f);
    return kb;
}

/* replace the block in head with a new one */
static intptr_t swap_block(stm_tx *tx, void *arg)
{
    void *old = stm_read_ptr(tx, &head);
    void *p = stm_alloc(tx, 64);
    if (p == NULL)
        abort();
    memset(p, 1, 64);
    stm_write_ptr(tx, &head, p);
    stm_free(tx, old);
    return 0;
}

static void work(const char *who, long n)
{
    for (long i = 1; i <= n; i++) {
        stm_atomically(swap_block, NULL);
        stm_tvar_free(stm_tvar_new((uintptr_t)i));
        if (i % 500000 == 0)
            printf("%s: %ld iterations: VmRSS %ld kB\n", who, i, rss_kb());
    }
    fflush(stdout);
}

static intptr_t noop(stm_tx *tx, void *arg) { return (intptr_t)stm_read(tx, &head); }

static void *other(void *arg)
{
    while (!stop)
        stm_atomically(noop, NULL);
    return NULL;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 2000000;
    pthread_t t;
    pthread_create(&t, NULL, other, NULL); /* a multi-threaded parent */
    work("parent warm-up", 100000);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        alarm(120);
        work("child", n);
        _exit(0);
    }
    int st;
    waitpid(pid, &st, 0);
    work("parent", n);
    stop = 1;
    pthread_join(t, NULL);
    printf("child exit status 0x%x\n", st);
    return st == 0 ? 0 : 1;
}
