/*
 * The seed's bank, with a blocking withdraw: instead of failing when the
 * balance is short, withdraw() calls stm_retry() and the thread sleeps
 * until a deposit changes the balance.  transfer() is withdraw() then
 * deposit() in one transaction (they compose), and pay() uses stm_or_else
 * to take the money from checking, or else from savings, or else wait for
 * either.
 *
 * A payroll thread deposits wages in small amounts; spenders pay bills
 * bigger than most deposits, so they block until enough has come in; a
 * saver moves money from checking to savings.  An auditor checks, in one
 * transaction each time, that no balance is ever negative and that the
 * money is conserved.  Exit status 0 if every check held.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <stm.h>

#define WAGE 10
#define WAGES 600         /* payroll deposits 6000 in all */
#define SPENDERS 3
#define BILL 40
#define BILLS 40          /* 3 * 40 * 40 = 4800 paid */
#define SAVINGS_MOVES 50  /* 50 * 4 moved to savings */

static stm_tvar checking = STM_TVAR_INIT(0);
static stm_tvar savings = STM_TVAR_INIT(0);
static stm_tvar paid_in = STM_TVAR_INIT(0);   /* total deposited by payroll */
static stm_tvar paid_out = STM_TVAR_INIT(0);  /* total spent on bills */
static stm_tvar done = STM_TVAR_INIT(0);      /* workers finished */

static void deposit(stm_tx *tx, stm_tvar *acct, intptr_t n)
{
    stm_write_int(tx, acct, stm_read_int(tx, acct) + n);
}

/* Blocks (stm_retry) until the balance covers n. */
static void withdraw(stm_tx *tx, stm_tvar *acct, intptr_t n)
{
    intptr_t bal = stm_read_int(tx, acct);
    if (bal < n)
        stm_retry(tx);
    stm_write_int(tx, acct, bal - n);
}

static void transfer(stm_tx *tx, stm_tvar *from, stm_tvar *to, intptr_t n)
{
    withdraw(tx, from, n);
    deposit(tx, to, n);
}

static intptr_t from_checking(stm_tx *tx, void *arg)
{
    withdraw(tx, &checking, (intptr_t)arg);
    return 'c';
}

static intptr_t from_savings(stm_tx *tx, void *arg)
{
    withdraw(tx, &savings, (intptr_t)arg);
    return 's';
}

/* Pay a bill from checking, or else from savings; if neither covers it,
 * wait until one of them changes. */
static intptr_t pay_bill(stm_tx *tx, void *arg)
{
    intptr_t src = stm_or_else(tx, from_checking, arg, from_savings, arg);
    deposit(tx, &paid_out, (intptr_t)arg);
    return src;
}

static intptr_t payday(stm_tx *tx, void *arg)
{
    deposit(tx, &checking, WAGE);
    deposit(tx, &paid_in, WAGE);
    return 0;
}

static intptr_t save(stm_tx *tx, void *arg)
{
    transfer(tx, &checking, &savings, 4);
    return 0;
}

static intptr_t finish(stm_tx *tx, void *arg)
{
    deposit(tx, &done, 1);
    return 0;
}

static void *payroll(void *arg)
{
    for (int i = 0; i < WAGES; i++) {
        stm_atomically(payday, NULL);
        struct timespec pause = { 0, 100000 }; /* wages trickle in */
        nanosleep(&pause, NULL);
    }
    stm_atomically(finish, NULL);
    return NULL;
}

static unsigned from_savings_count[SPENDERS];

static void *spender(void *arg)
{
    unsigned id = (unsigned)(uintptr_t)arg;
    for (int i = 0; i < BILLS; i++)
        if (stm_atomically(pay_bill, (void *)(intptr_t)BILL) == 's')
            from_savings_count[id]++;
    stm_atomically(finish, NULL);
    return NULL;
}

static void *saver(void *arg)
{
    for (int i = 0; i < SAVINGS_MOVES; i++)
        stm_atomically(save, NULL);
    stm_atomically(finish, NULL);
    return NULL;
}

struct audit {
    intptr_t checking, savings, in, out, done;
};

static intptr_t audit(stm_tx *tx, void *arg)
{
    struct audit *a = arg;
    a->checking = stm_read_int(tx, &checking);
    a->savings = stm_read_int(tx, &savings);
    a->in = stm_read_int(tx, &paid_in);
    a->out = stm_read_int(tx, &paid_out);
    a->done = stm_read_int(tx, &done);
    return 0;
}

int main(void)
{
    pthread_t t[SPENDERS + 2];
    pthread_create(&t[0], NULL, payroll, NULL);
    pthread_create(&t[1], NULL, saver, NULL);
    for (uintptr_t i = 0; i < SPENDERS; i++)
        pthread_create(&t[2 + i], NULL, spender, (void *)i);

    int bad = 0;
    unsigned audits = 0;
    struct audit a;
    do {
        stm_atomically(audit, &a);
        audits++;
        if (a.checking < 0 || a.savings < 0) {
            fprintf(stderr, "negative balance: checking %ld savings %ld\n",
                    (long)a.checking, (long)a.savings);
            bad = 1;
        }
        if (a.checking + a.savings != a.in - a.out) {
            fprintf(stderr, "money not conserved: %ld + %ld != %ld - %ld\n",
                    (long)a.checking, (long)a.savings, (long)a.in, (long)a.out);
            bad = 1;
        }
        struct timespec nap = { 0, 1000000 }; /* audit about every ms */
        nanosleep(&nap, NULL);
    } while (a.done < SPENDERS + 2);
    for (int i = 0; i < SPENDERS + 2; i++)
        pthread_join(t[i], NULL);

    stm_atomically(audit, &a);
    long want_out = (long)SPENDERS * BILLS * BILL;
    unsigned savings_paid = 0;
    for (int i = 0; i < SPENDERS; i++)
        savings_paid += from_savings_count[i];
    struct stm_stats s;
    stm_stats_get(&s);
    printf("bank_wait: deposited %ld, paid %ld (%u bills from savings), left %ld + %ld\n",
           (long)a.in, (long)a.out, savings_paid, (long)a.checking, (long)a.savings);
    printf("bank_wait: %u consistent audits; threads blocked in retry %llu times\n", audits,
           (unsigned long long)s.retries_blocked);
    if (a.in != (long)WAGES * WAGE || a.out != want_out ||
        a.checking + a.savings != a.in - a.out) {
        fprintf(stderr, "bank_wait: wrong final balances\n");
        bad = 1;
    }
    return bad ? EXIT_FAILURE : EXIT_SUCCESS;
}
