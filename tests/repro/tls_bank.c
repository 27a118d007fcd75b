/* TLS-model cost (issue 9, item 3): a one-thread bank of 4096 accounts,
 * N transfers (2 reads, 2 writes) through the shared library, so that
 * every TLS access libstm makes goes through the model it was built with.
 * Measure with
 *   valgrind --tool=callgrind --toggle-collect=worker tls_bank 200000
 * and divide worker's inclusive count by N.  usage: tls_bank [N] */
#include <stdio.h>
#include <stdlib.h>

#include <stm.h>

#define ACCOUNTS 4096
static stm_tvar acct[ACCOUNTS];

struct op { unsigned from, to; };

static intptr_t transfer(stm_tx *tx, void *arg)
{
    const struct op *o = arg;
    intptr_t a = stm_read_int(tx, &acct[o->from]);
    intptr_t b = stm_read_int(tx, &acct[o->to]);
    stm_write_int(tx, &acct[o->from], a - 1);
    stm_write_int(tx, &acct[o->to], b + 1);
    return 0;
}

__attribute__((noinline)) void worker(long n);
__attribute__((noinline)) void worker(long n)
{
    uint32_t rng = 12345;
    for (long i = 0; i < n; i++) {
        rng = rng * 1103515245u + 12345u;
        struct op o = { rng % ACCOUNTS, (rng >> 12) % ACCOUNTS };
        stm_atomically(transfer, &o);
    }
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 200000;
    for (int i = 0; i < ACCOUNTS; i++)
        stm_tvar_init(&acct[i], 100);
    worker(n);
    intptr_t sum = 0;
    for (int i = 0; i < ACCOUNTS; i++)
        sum += (intptr_t)stm_load(&acct[i]);
    printf("path %s, %ld transfers, total %ld (expected %d)\n", stm_path(), n, (long)sum,
           100 * ACCOUNTS);
    return sum == 100 * ACCOUNTS ? 0 : 1;
}
