/* callgrind probe: the bank transfer as a program using an STM writes it.
 * Built three ways by bench/callgrind.sh: libstm through the installed
 * shared library (pkg-config), GCC's libitm (-fgnu-tm), and one pthread
 * mutex.  withdraw and deposit are each atomic on their own; transfer
 * composes them (libstm: nested stm_atomically; libitm: nested
 * __transaction_atomic; mutex: cannot compose two of its own critical
 * sections, so its transfer takes the lock once around both).
 *
 *   transfer N    N random transfers over A = 4096 accounts, 1 thread
 *   report N      N read-only sums over all A accounts
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define A 4096

#if defined(PROBE_STM)
#include <stm.h>
static stm_tvar acc[A];
struct op {
    stm_tvar *acct;
    intptr_t amount;
};
static intptr_t withdraw(stm_tx *tx, void *arg)
{
    struct op *o = arg;
    intptr_t b = stm_read_int(tx, o->acct);
    if (b < o->amount)
        return 0;
    stm_write_int(tx, o->acct, b - o->amount);
    return 1;
}
static intptr_t deposit(stm_tx *tx, void *arg)
{
    struct op *o = arg;
    stm_write_int(tx, o->acct, stm_read_int(tx, o->acct) + o->amount);
    return 1;
}
struct xfer {
    stm_tvar *from, *to;
    intptr_t amount;
};
static intptr_t transfer_tx(stm_tx *tx, void *arg)
{
    (void)tx;
    struct xfer *x = arg;
    struct op w = {x->from, x->amount}, d = {x->to, x->amount};
    if (!stm_atomically(withdraw, &w)) /* joins this transaction */
        return 0;
    return stm_atomically(deposit, &d);
}
static long transfer(unsigned f, unsigned t)
{
    struct xfer x = {&acc[f], &acc[t], 1};
    return stm_atomically(transfer_tx, &x);
}
static intptr_t total_tx(stm_tx *tx, void *arg)
{
    (void)arg;
    intptr_t s = 0;
    for (int i = 0; i < A; i++)
        s += stm_read_int(tx, &acc[i]);
    return s;
}
static long report(void)
{
    return stm_atomically(total_tx, NULL);
}
static void init(void)
{
    for (int i = 0; i < A; i++)
        stm_tvar_init(&acc[i], 1000);
}
#elif defined(PROBE_ITM)
static intptr_t acc[A];
static int withdraw(intptr_t *a, intptr_t amount)
{
    int ok;
    __transaction_atomic {
        ok = *a >= amount;
        if (ok)
            *a -= amount;
    }
    return ok;
}
static void deposit(intptr_t *a, intptr_t amount)
{
    __transaction_atomic {
        *a += amount;
    }
}
static long transfer(unsigned f, unsigned t)
{
    int ok;
    __transaction_atomic {
        ok = withdraw(&acc[f], 1);
        if (ok)
            deposit(&acc[t], 1);
    }
    return ok;
}
static long report(void)
{
    intptr_t s = 0;
    __transaction_atomic {
        for (int i = 0; i < A; i++)
            s += acc[i];
    }
    return s;
}
static void init(void)
{
    for (int i = 0; i < A; i++)
        acc[i] = 1000;
}
#else /* PROBE_MUTEX */
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static intptr_t acc[A];
static long transfer(unsigned f, unsigned t)
{
    pthread_mutex_lock(&m);
    int ok = acc[f] >= 1;
    if (ok) {
        acc[f] -= 1;
        acc[t] += 1;
    }
    pthread_mutex_unlock(&m);
    return ok;
}
static long report(void)
{
    pthread_mutex_lock(&m);
    intptr_t s = 0;
    for (int i = 0; i < A; i++)
        s += acc[i];
    pthread_mutex_unlock(&m);
    return s;
}
static void init(void)
{
    for (int i = 0; i < A; i++)
        acc[i] = 1000;
}
#endif

int main(int argc, char **argv)
{
    if (argc != 3 || (strcmp(argv[1], "transfer") != 0 && strcmp(argv[1], "report") != 0)) {
        fprintf(stderr, "usage: %s transfer|report N\n", argv[0]);
        return 2;
    }
    long n = atol(argv[2]), sum = 0;
    init();
    if (strcmp(argv[1], "report") == 0) {
        for (long i = 0; i < n; i++)
            sum += report();
    } else {
        unsigned s = 12345;
        for (long i = 0; i < n; i++) {
            s = s * 1103515245u + 12345u;
            unsigned f = (s >> 8) % A;
            s = s * 1103515245u + 12345u;
            sum += transfer(f, (s >> 8) % A);
        }
    }
    printf("%ld\n", sum);
    return 0;
}
