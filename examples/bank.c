/* The bank: the seed's transfer example in C.
 *
 *   transfer(from, to, n) = withdraw(from, n) then deposit(to, n)
 *
 * withdraw and deposit are complete transactions on their own; called inside
 * transfer's transaction they join it, so the transfer is atomic as a whole.
 * N threads run random transfers (and now and then a consistent report of
 * the total) for a fixed time; then the same loop runs under one global
 * pthread mutex for comparison.  Prints throughput, the path libstm took
 * and its stats.
 *
 *   bank [-t threads] [-a accounts] [-s seconds]
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <stm.h>

#define START_BALANCE 1000
#define REPORT_EVERY 100 /* one consistent report per this many transfers */

/* ---- the transactional bank --------------------------------------------- */

struct account_op {
    stm_tvar *account;
    intptr_t amount;
};

/* Take amount out of an account; 0 (and no change) if funds are short. */
static intptr_t withdraw(stm_tx *tx, void *arg)
{
    struct account_op *op = arg;
    intptr_t balance = stm_read_int(tx, op->account);
    if (balance < op->amount)
        return 0;
    stm_write_int(tx, op->account, balance - op->amount);
    return 1;
}

static intptr_t deposit(stm_tx *tx, void *arg)
{
    struct account_op *op = arg;
    stm_write_int(tx, op->account, stm_read_int(tx, op->account) + op->amount);
    return 1;
}

struct transfer_op {
    stm_tvar *from, *to;
    intptr_t amount;
};

static intptr_t transfer(stm_tx *tx, void *arg)
{
    struct transfer_op *t = arg;
    struct account_op w = {t->from, t->amount}, d = {t->to, t->amount};
    if (!stm_atomically(withdraw, &w)) /* joins this transaction */
        return 0;
    return stm_atomically(deposit, &d);
}

struct bank {
    stm_tvar *accounts;
    long n;
};

static intptr_t total(stm_tx *tx, void *arg)
{
    const struct bank *b = arg;
    intptr_t sum = 0;
    for (long i = 0; i < b->n; i++)
        sum += stm_read_int(tx, &b->accounts[i]);
    return sum;
}

/* ---- the same bank under one mutex -------------------------------------- */

struct locked_bank {
    pthread_mutex_t lock;
    intptr_t *accounts;
    long n;
};

static int locked_transfer(struct locked_bank *b, long from, long to, intptr_t amount)
{
    int done = 0;
    pthread_mutex_lock(&b->lock);
    if (b->accounts[from] >= amount) {
        b->accounts[from] -= amount;
        b->accounts[to] += amount;
        done = 1;
    }
    pthread_mutex_unlock(&b->lock);
    return done;
}

static intptr_t locked_total(struct locked_bank *b)
{
    intptr_t sum = 0;
    pthread_mutex_lock(&b->lock);
    for (long i = 0; i < b->n; i++)
        sum += b->accounts[i];
    pthread_mutex_unlock(&b->lock);
    return sum;
}

/* ---- the driver ----------------------------------------------------------- */

struct run {
    struct bank *bank;          /* STM run */
    struct locked_bank *locked; /* mutex run */
    volatile int stop;          /* set by main after the duration */
    intptr_t expected_total;
};

struct worker {
    struct run *run;
    pthread_t thread;
    uint32_t seed;
    uint64_t ops, bad_reports;
};

static uint32_t rnd(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct run *r = w->run;
    long n = r->bank ? r->bank->n : r->locked->n;
    while (!__atomic_load_n(&r->stop, __ATOMIC_RELAXED)) {
        uint32_t x = rnd(&w->seed);
        long from = (long)(x % (uint32_t)n), to = (long)((x >> 8) % (uint32_t)n);
        if (to == from)
            to = (to + 1) % n;
        intptr_t amount = (intptr_t)(x >> 24) % 100 + 1;
        if (r->bank) {
            struct transfer_op t = {&r->bank->accounts[from], &r->bank->accounts[to], amount};
            stm_atomically(transfer, &t);
        } else {
            locked_transfer(r->locked, from, to, amount);
        }
        w->ops++;
        if (w->ops % REPORT_EVERY == 0) {
            intptr_t sum = r->bank ? stm_atomically(total, r->bank) : locked_total(r->locked);
            if (sum != r->expected_total)
                w->bad_reports++;
        }
    }
    return NULL;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Run the workers for `seconds`; returns operations per second. */
static double timed_run(struct run *r, int threads, double seconds, uint64_t *bad)
{
    struct worker *w = calloc((size_t)threads, sizeof *w);
    if (w == NULL) {
        perror("calloc");
        exit(1);
    }
    r->stop = 0;
    double t0 = now();
    for (int i = 0; i < threads; i++) {
        w[i].run = r;
        w[i].seed = 2463534242u + 104729u * (uint32_t)i;
        if (pthread_create(&w[i].thread, NULL, worker_main, &w[i]) != 0) {
            perror("pthread_create");
            exit(1);
        }
    }
    struct timespec d = {(time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9)};
    while (nanosleep(&d, &d) != 0 && errno == EINTR)
        ;
    __atomic_store_n(&r->stop, 1, __ATOMIC_RELAXED);
    uint64_t ops = 0;
    *bad = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(w[i].thread, NULL);
        ops += w[i].ops;
        *bad += w[i].bad_reports;
    }
    double elapsed = now() - t0;
    free(w);
    return (double)ops / elapsed;
}

static long parse_opt(const char *s, const char *what, long min, long max)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || *end != '\0' || end == s || v < min || v > max) {
        fprintf(stderr, "bank: %s must be an integer from %ld to %ld\n", what, min, max);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    int threads = 2;
    long accounts = 1024;
    double seconds = 2;
    int c;
    while ((c = getopt(argc, argv, "t:a:s:h")) != -1) {
        switch (c) {
        case 't': threads = (int)parse_opt(optarg, "threads (-t)", 1, 1024); break;
        case 'a': accounts = parse_opt(optarg, "accounts (-a)", 2, 10000000); break;
        case 's': seconds = (double)parse_opt(optarg, "seconds (-s)", 1, 3600); break;
        default:
            fprintf(stderr, "usage: bank [-t threads] [-a accounts] [-s seconds]\n");
            return c == 'h' ? 0 : 2;
        }
    }

    struct bank bank = {calloc((size_t)accounts, sizeof(stm_tvar)), accounts};
    struct locked_bank locked = {PTHREAD_MUTEX_INITIALIZER,
                                 calloc((size_t)accounts, sizeof(intptr_t)), accounts};
    if (bank.accounts == NULL || locked.accounts == NULL) {
        perror("calloc");
        return 1;
    }
    for (long i = 0; i < accounts; i++) {
        stm_tvar_init(&bank.accounts[i], START_BALANCE);
        locked.accounts[i] = START_BALANCE;
    }
    intptr_t expected = (intptr_t)accounts * START_BALANCE;

    printf("bank: %d thread%s, %ld accounts, %.0f s per run; libstm path: %s\n", threads,
           threads == 1 ? "" : "s", accounts, seconds, stm_path());

    stm_stats_reset();
    struct run stm_run = {&bank, NULL, 0, expected};
    uint64_t bad_stm, bad_mutex;
    double stm_rate = timed_run(&stm_run, threads, seconds, &bad_stm);
    struct stm_stats s;
    stm_stats_get(&s);
    intptr_t stm_total = stm_atomically(total, &bank);

    struct run mutex_run = {NULL, &locked, 0, expected};
    double mutex_rate = timed_run(&mutex_run, threads, seconds, &bad_mutex);
    intptr_t mutex_total = locked_total(&locked);

    printf("  libstm (transfer = withdraw + deposit): %12.0f transfers/s\n", stm_rate);
    printf("  one global pthread mutex:               %12.0f transfers/s\n", mutex_rate);
    printf("  libstm / mutex: %.2f\n", stm_rate / mutex_rate);
    printf("  totals: libstm %" PRIdPTR ", mutex %" PRIdPTR " (expected %" PRIdPTR
           "); inconsistent reports: %" PRIu64 "\n",
           stm_total, mutex_total, expected, bad_stm + bad_mutex);
    printf("  libstm stats: commits %" PRIu64 " (hardware %" PRIu64 ", software %" PRIu64
           ", serial %" PRIu64 "), software aborts %" PRIu64 ", hardware aborts %" PRIu64 "\n",
           s.commits_htm + s.commits_stm + s.commits_serial, s.commits_htm, s.commits_stm,
           s.commits_serial, s.aborts_stm,
           s.aborts_htm_conflict + s.aborts_htm_capacity + s.aborts_htm_explicit +
               s.aborts_htm_other);
    int ok = stm_total == expected && mutex_total == expected && bad_stm + bad_mutex == 0;
    free(bank.accounts);
    free(locked.accounts);
    if (!ok) {
        fprintf(stderr, "bank: INVARIANT BROKEN\n");
        return 1;
    }
    return 0;
}
