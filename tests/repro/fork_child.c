/* Issue 9, row 1: fork() while other threads commit and read; each child
 * runs one transaction, then a new thread that runs one, within 10 s.
 * Prints how many of N children finished, hung, or died.
 * usage: fork_child [children]   (STM_MODE=stm for the software path) */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <stm.h>

#define NTV 64
static stm_tvar tv[NTV];
static volatile int stop;

static intptr_t incr(stm_tx *tx, void *arg)
{
    stm_tvar *t = arg;
    stm_write(tx, t, stm_read(tx, t) + 1);
    return 0;
}

static intptr_t sum(stm_tx *tx, void *arg)
{
    uintptr_t s = 0;
    for (int i = 0; i < NTV; i++)
        s += stm_read(tx, &tv[i]);
    return (intptr_t)s;
}

static void *writer(void *arg)
{
    for (unsigned i = 0; !stop; i++) {
        stm_atomically(incr, &tv[i % NTV]);
        stm_store(&tv[(i + 7) % NTV], i);
        stm_tvar_free(stm_tvar_new(i)); /* keeps the call_rcu worker busy */
    }
    return NULL;
}

static void *reader(void *arg)
{
    while (!stop)
        stm_atomically(sum, NULL);
    return NULL;
}

static void *child_thread(void *arg)
{
    stm_atomically(incr, &tv[1]);
    stm_tvar_free(stm_tvar_new(1));
    return NULL;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 40;
    pthread_t w, r;
    pthread_create(&w, NULL, writer, NULL);
    pthread_create(&r, NULL, reader, NULL);
    usleep(20000);
    int ok = 0, hung = 0, died = 0;
    for (int i = 0; i < n; i++) {
        pid_t pid = fork();
        if (pid == 0) {
            alarm(10);
            stm_atomically(incr, &tv[0]);
            pthread_t t;
            pthread_create(&t, NULL, child_thread, NULL);
            pthread_join(t, NULL);
            _exit(0);
        }
        int st;
        waitpid(pid, &st, 0);
        if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
            ok++;
        else if (WIFSIGNALED(st) && WTERMSIG(st) == SIGALRM)
            hung++;
        else
            died++;
        usleep(1000);
    }
    stop = 1;
    pthread_join(w, NULL);
    pthread_join(r, NULL);
    printf("path %s: %d children: %d finished, %d hung (killed after 10 s), %d died\n",
           stm_path(), n, ok, hung, died);
    return ok == n ? 0 : 1;
}
