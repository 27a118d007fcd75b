/* Issue 9, row 7: longjmp out of a transaction body (C error handling).
 * usage: longjmp_out join        a later transaction of the same thread
 *        longjmp_out irrevocable another thread's transaction afterwards */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <stm.h>

static jmp_buf env;
static stm_tvar x = STM_TVAR_INIT(0);

static intptr_t body_throws(stm_tx *tx, void *arg)
{
    stm_write(tx, &x, 100);
    if (arg != NULL)
        stm_irrevocable(tx);
    longjmp(env, 1); /* "throw" out of the transaction */
}

static intptr_t incr(stm_tx *tx, void *arg)
{
    stm_write(tx, &x, stm_read(tx, &x) + 1);
    return 0;
}

static void *other(void *arg)
{
    stm_atomically(incr, NULL);
    printf("other thread: its transaction committed, x = %lu\n", (unsigned long)stm_load(&x));
    return NULL;
}

static void hung(int sig)
{
    static const char msg[] = "other thread: still waiting after 5 s (hung)\n";
    (void)!write(1, msg, sizeof msg - 1);
    _exit(2);
}

int main(int argc, char **argv)
{
    int irrevocable = argc > 1 && strcmp(argv[1], "irrevocable") == 0;
    printf("path %s\n", stm_path());
    if (setjmp(env) == 0)
        stm_atomically(body_throws, irrevocable ? &x : NULL);
    printf("longjmp'd out of the transaction body\n");
    fflush(stdout);
    if (!irrevocable) {
        stm_atomically(incr, NULL);
        printf("same thread: next transaction returned; x = %lu (a committed increment gives 1)\n",
               (unsigned long)stm_load(&x));
        return 0;
    }
    signal(SIGALRM, hung);
    alarm(5);
    pthread_t t;
    pthread_create(&t, NULL, other, NULL);
    pthread_join(t, NULL);
    return 0;
}
