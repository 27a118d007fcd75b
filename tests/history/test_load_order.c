/* stm_load is ordered with software commits: a thread that sees, with
 * stm_load, one TVar that a transaction wrote never sees with its next
 * stm_load another TVar that the same transaction wrote still old.
 *
 * Found while modelling stm_load for the history checker (a load is a
 * one-read transaction there): before the fix a load in the middle of a
 * NOrec or serial write-back saw part of it, and a later load by the same
 * thread missed the rest, a cycle writer -> load 1 -> load 2 -> writer
 * (wr, real time, rw; test_checker has it).  histcheck's random workload
 * seldom hits that window (write-backs of a few TVars), so this test aims
 * at it: one writer sets N TVars
 * from k to k+1 in one transaction, again and again, and a reader loads
 * tv[0] (written back first) and then tv[N-1] (written back last): the
 * second must never be smaller.  Run in a child per software path (the
 * hardware path commits atomically).  Plain C: exit 0 pass, 1 fail. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "stm.h"

enum { N = 4096, ROUNDS = 300 };
static stm_tvar tv[N];
static int done;

static intptr_t bump_all(stm_tx *tx, void *arg)
{
    (void)arg;
    for (int i = 0; i < N; i++)
        stm_write(tx, &tv[i], stm_read(tx, &tv[i]) + 1);
    return 0;
}

static void *writer(void *p)
{
    (void)p;
    for (int r = 0; r < ROUNDS; r++)
        stm_atomically(bump_all, NULL);
    __atomic_store_n(&done, 1, __ATOMIC_RELEASE);
    return NULL;
}

static int run(const char *mode)
{
    setenv("STM_MODE", mode, 1); /* before the first libstm call */
    pthread_t w;
    if (pthread_create(&w, NULL, writer, NULL) != 0)
        return 1;
    long pairs = 0, bad = 0;
    while (!__atomic_load_n(&done, __ATOMIC_ACQUIRE)) {
        uintptr_t first = stm_load(&tv[0]);
        uintptr_t last = stm_load(&tv[N - 1]);
        pairs++;
        if (last < first && bad++ < 3)
            printf("stm_load(tv[0]) = %lu, then stm_load(tv[%d]) = %lu: the second load "
                   "missed a commit the first one saw\n",
                   (unsigned long)first, N - 1, (unsigned long)last);
    }
    pthread_join(w, NULL);
    printf("%s (path %s): %ld load pairs during %d commits of %d TVars, %ld out of order\n",
           mode, stm_path(), pairs, ROUNDS, N, bad);
    return bad != 0 || stm_load(&tv[N - 1]) != ROUNDS;
}

int main(void)
{
    const char *modes[] = {"stm", "serial"};
    int status = 0;
    for (int i = 0; i < 2; i++) {
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0)
        {
            int r = run(modes[i]);
            fflush(stdout);
            _exit(r);
        }
        int st;
        if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
            status = 1;
    }
    return status;
}
