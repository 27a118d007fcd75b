/*
 * The seed's consistent versus inconsistent report.  Tellers move money
 * between accounts, so the total never changes.  A report that reads every
 * balance in ONE transaction always sees exactly that total (asserted: exit
 * status 1 if not).  A report built from one small transaction per account
 * sees each balance at a different moment, so a transfer can fall between
 * two of its reads: it may count money twice or not at all (reported, not
 * asserted: whether it happens depends on scheduling).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include <stm.h>

#define ACCOUNTS 8
#define START 1000
#define TELLERS 2
#define REPORTS 2000

static stm_tvar acct[ACCOUNTS];
static int stop; /* tellers run until the reports are done */

struct move {
    unsigned from, to;
    intptr_t amount;
};

static intptr_t transfer(stm_tx *tx, void *arg)
{
    const struct move *m = arg;
    intptr_t bal = stm_read_int(tx, &acct[m->from]);
    if (bal < m->amount)
        return 0; /* this example's tellers skip; see bank_wait for waiting */
    stm_write_int(tx, &acct[m->from], bal - m->amount);
    stm_write_int(tx, &acct[m->to], stm_read_int(tx, &acct[m->to]) + m->amount);
    return 1;
}

static void *teller(void *arg)
{
    uint32_t rng = (uint32_t)(uintptr_t)arg * 2654435761u + 1;
    while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
        rng ^= rng << 13;
        rng ^= rng >> 17;
        rng ^= rng << 5;
        struct move m = { rng % ACCOUNTS, (rng >> 8) % ACCOUNTS, (intptr_t)(rng >> 16) % 100 };
        stm_atomically(transfer, &m);
    }
    return NULL;
}

static intptr_t total_in_one(stm_tx *tx, void *arg)
{
    intptr_t sum = 0;
    for (int i = 0; i < ACCOUNTS; i++)
        sum += stm_read_int(tx, &acct[i]);
    return sum;
}

static intptr_t one_balance(stm_tx *tx, void *arg)
{
    return stm_read_int(tx, arg);
}

static intptr_t total_piecewise(void)
{
    intptr_t sum = 0;
    for (int i = 0; i < ACCOUNTS; i++) {
        sum += stm_atomically(one_balance, &acct[i]);
        /* a moment between the pieces, as a report doing other work */
        for (volatile int k = 0; k < 200; k++)
            ;
    }
    return sum;
}

int main(void)
{
    const intptr_t total = (intptr_t)ACCOUNTS * START;
    for (int i = 0; i < ACCOUNTS; i++)
        stm_tvar_init(&acct[i], START);
    pthread_t t[TELLERS];
    for (uintptr_t i = 0; i < TELLERS; i++)
        pthread_create(&t[i], NULL, teller, (void *)(i + 1));

    unsigned consistent_wrong = 0, piecewise_wrong = 0;
    intptr_t min_seen = total, max_seen = total;
    for (int r = 0; r < REPORTS; r++) {
        if (stm_atomically(total_in_one, NULL) != total)
            consistent_wrong++;
        intptr_t p = total_piecewise();
        if (p != total) {
            piecewise_wrong++;
            if (p < min_seen)
                min_seen = p;
            if (p > max_seen)
                max_seen = p;
        }
    }
    __atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
    for (int i = 0; i < TELLERS; i++)
        pthread_join(t[i], NULL);
    int final_ok = stm_atomically(total_in_one, NULL) == total;

    printf("report: consistent report (one transaction): %u of %d saw a total other than %ld\n",
           consistent_wrong, REPORTS, (long)total);
    printf("report: inconsistent report (one transaction per account): %u of %d saw another "
           "total (range %ld..%ld)\n",
           piecewise_wrong, REPORTS, (long)min_seen, (long)max_seen);
    return consistent_wrong == 0 && final_ok ? EXIT_SUCCESS : EXIT_FAILURE;
}
