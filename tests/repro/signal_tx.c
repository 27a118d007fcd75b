/* Issue 9, row 8: stm_atomically from a signal handler that interrupted
 * libstm.
 * usage: signal_tx body   the signal interrupts a transaction body (orElse
 *                         branch that then retries): the handler's
 *                         transaction joins it and is rolled back
 *        signal_tx store  the signal (SIGSEGV on a protected page)
 *                         interrupts stm_store while it holds the lock */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <stm.h>

static stm_tvar h = STM_TVAR_INIT(0);
static stm_tvar *page_tv;
static volatile int handler_done;

static intptr_t incr(stm_tx *tx, void *arg)
{
    stm_write(tx, &h, stm_read(tx, &h) + 1);
    return 0;
}

static void on_usr1(int sig)
{
    stm_atomically(incr, NULL);
    handler_done = 1;
}

static void on_segv(int sig)
{
    mprotect(page_tv, 4096, PROT_READ | PROT_WRITE);
    stm_atomically(incr, NULL);
    handler_done = 1;
}

static intptr_t first(stm_tx *tx, void *arg)
{
    stm_read(tx, &h);
    raise(SIGUSR1);
    stm_retry(tx);
}

static intptr_t second(stm_tx *tx, void *arg) { return 0; }

static intptr_t body(stm_tx *tx, void *arg)
{
    return stm_or_else(tx, first, NULL, second, NULL);
}

static void hung(int sig)
{
    static const char msg[] = "still running after 5 s (hung)\n";
    (void)!write(1, msg, sizeof msg - 1);
    _exit(2);
}

int main(int argc, char **argv)
{
    signal(SIGALRM, hung);
    alarm(5);
    printf("path %s\n", stm_path());
    fflush(stdout);
    if (argc > 1 && strcmp(argv[1], "store") == 0) {
        page_tv = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        signal(SIGSEGV, on_segv);
        stm_store(page_tv, 1);
        printf("handler ran: %d, h = %lu\n", handler_done, (unsigned long)stm_load(&h));
        return 0;
    }
    signal(SIGUSR1, on_usr1);
    stm_atomically(body, NULL);
    printf("handler's stm_atomically returned: %d; h = %lu (its committed increment gives 1)\n",
           handler_done, (unsigned long)stm_load(&h));
    return 0;
}
