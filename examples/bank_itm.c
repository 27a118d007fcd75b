/*
 * The seed's bank once more, written with GCC's transactional memory:
 * __transaction_atomic blocks instead of callbacks, plain variables
 * instead of TVars, and stm_itm_retry() (<stm/itm.h>) as Haskell's retry.
 * Build: gcc -fgnu-tm bank_itm.c $(pkg-config --cflags --libs libstm-itm)
 *
 * withdraw() blocks until the balance covers the amount; transfer() is
 * withdraw() then deposit() in one transaction (the nested blocks join the
 * caller's).  A payroll thread deposits wages; spenders pay bills bigger
 * than a wage, so they block until enough has come in; an auditor checks
 * in one transaction that no balance is negative and that the money is
 * conserved.  Exit status 0 if every check held.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include <stm.h>
#include <stm/itm.h>

#define WAGE 10
#define WAGES 600         /* payroll deposits 6000 in all */
#define SPENDERS 3
#define BILL 40
#define BILLS 40          /* 3 * 40 * 40 = 4800 paid */

static long checking, savings, paid_in, paid_out;
static int done;

static void __attribute__((transaction_safe)) deposit(long *acct, long n)
{
    *acct += n;
}

/* Blocks until the balance covers n: the whole transaction is undone and
 * the thread sleeps until a location it read changes. */
static void __attribute__((transaction_safe)) withdraw(long *acct, long n)
{
    if (*acct < n)
        stm_itm_retry();
    *acct -= n;
}

static void __attribute__((transaction_safe)) transfer(long *from, long *to, long n)
{
    __transaction_atomic {  /* joins the caller's transaction */
        withdraw(from, n);
        deposit(to, n);
    }
}

static void *payroll(void *arg)
{
    (void)arg;
    for (int i = 0; i < WAGES; i++)
        __transaction_atomic {
            deposit(&checking, WAGE);
            paid_in += WAGE;
        }
    __transaction_atomic { done++; }
    return NULL;
}

static void *spender(void *arg)
{
    (void)arg;
    for (int i = 0; i < BILLS; i++) {
        long bill = 0;
        __transaction_atomic {
            withdraw(&checking, BILL);
            paid_out += BILL;
            bill = BILL;
        }
        if (bill != BILL)
            abort();
        if (i % 10 == 0) /* now and then save a little */
            __transaction_atomic { transfer(&checking, &savings, 1); }
    }
    __transaction_atomic { done++; }
    return NULL;
}

static void *auditor(void *arg)
{
    long *bad = arg;
    for (;;) {
        long c, s, in, out;
        int d;
        __transaction_atomic {
            c = checking;
            s = savings;
            in = paid_in;
            out = paid_out;
            d = done;
        }
        if (c < 0 || s < 0 || c + s + out != in)
            (*bad)++;
        if (d == SPENDERS + 1)
            return NULL;
    }
}

int main(void)
{
    pthread_t pay, spend[SPENDERS], audit;
    long bad = 0;
    pthread_create(&audit, NULL, auditor, &bad);
    for (int i = 0; i < SPENDERS; i++)
        pthread_create(&spend[i], NULL, spender, NULL);
    pthread_create(&pay, NULL, payroll, NULL);
    pthread_join(pay, NULL);
    for (int i = 0; i < SPENDERS; i++)
        pthread_join(spend[i], NULL);
    pthread_join(audit, NULL);
    struct stm_stats st;
    stm_stats_get(&st);
    printf("paid in %ld, bills %ld, checking %ld, savings %ld; audits failed: %ld\n",
           paid_in, paid_out, checking, savings, bad);
    printf("path %s: commits hardware %llu, software %llu, serial %llu; blocked %llu times\n",
           stm_path(), (unsigned long long)st.commits_htm, (unsigned long long)st.commits_stm,
           (unsigned long long)st.commits_serial, (unsigned long long)st.retries_blocked);
    int ok = bad == 0 && paid_in == WAGE * WAGES && paid_out == SPENDERS * BILLS * BILL &&
             checking + savings == paid_in - paid_out && savings == SPENDERS * (BILLS / 10);
    return ok ? 0 : 1;
}
