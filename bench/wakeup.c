/*
 * Blocking-retry measurements (issue 4); not part of make check.
 *
 *   bench/wakeup [cycles [items_per_producer]]
 *
 * 1. Wake-up latency: a thread blocks in stm_retry waiting for a TVar; the
 *    main thread waits until it has blocked, lets it settle into the futex
 *    sleep, then stores the TVar.  Latency = from just before stm_store()
 *    to the moment the waiter's transaction has returned.  Median and p99
 *    over `cycles` (default 2000) block/wake cycles.
 * 2. CPU time (CLOCK_THREAD_CPUTIME_ID) of a thread blocked for 1 s.
 * 3. Producer/consumer throughput through a 16-slot stm_tbqueue at 1, 2
 *    and 4 producer/consumer pairs, each producer sending
 *    `items_per_producer` (default 100000) items.
 * 4. The cost of the global wake-up: commit rate of one writer of an
 *    unrelated TVar with 0, 1 and 4 threads blocked in stm_retry.
 * Each figure is measured 3 times; the median of the 3 is printed with the
 * single values.
 * 5. Blocking at scale (issue 11): W threads (W = 0, 1, 16, 64, 256, 1024)
 *    each block in stm_retry on a TVar of their own (stm_tvar_new); one
 *    thread then commits increments to a TVar nobody waits on, then to
 *    waiter 0's TVar (3 runs each of at least `commits`, default 20000,
 *    and 0.2 s; at most 2 s).  Printed: both commit rates (median), the
 *    process CPU time (writer and waiters together) per `commits`
 *    commits, the wake-ups issued, how often waiter 0 ran, and how often
 *    the other waiters were woken and went back to sleep during the runs
 *    (voluntary context switches of their threads, read from
 *    /proc/self/task/TID/status): with precise wake-ups that is 0.
 *
 *   bench/wakeup waiters [commits [W...]]   runs only experiment 5 (for
 *                                            the given W values)
 *   bench/wakeup latency [cycles]     runs only experiment 1, once
 */
#define _GNU_SOURCE /* gettid */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <time.h>

#include <stm.h>
#include <stm/tbqueue.h>

#define REPS 3

static double now_s(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void nap_us(long us)
{
    struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };
    nanosleep(&ts, NULL);
}

static uint64_t blocked_count(void)
{
    struct stm_stats s;
    stm_stats_get(&s);
    return s.retries_blocked;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median3(double *v)
{
    double c[REPS];
    memcpy(c, v, sizeof c);
    qsort(c, REPS, sizeof c[0], cmp_double);
    return c[REPS / 2];
}

/* --- 1. wake-up latency --- */

static stm_tvar gate = STM_TVAR_INIT(0);
static uint64_t store_ns; /* written before the store, read after the wake */

static intptr_t wait_gate(stm_tx *tx, void *arg)
{
    uintptr_t want = (uintptr_t)arg;
    if (stm_read(tx, &gate) != want)
        stm_retry(tx);
    return 0;
}

struct lat_run {
    unsigned cycles;
    double *lat;
};

static void *latency_waiter(void *arg)
{
    struct lat_run *r = arg;
    for (unsigned i = 0; i < r->cycles; i++) {
        stm_atomically(wait_gate, (void *)(uintptr_t)(i + 1));
        double t = now_s(CLOCK_MONOTONIC);
        r->lat[i] = t - (double)__atomic_load_n(&store_ns, __ATOMIC_ACQUIRE) * 1e-9;
    }
    return NULL;
}

static void latency(unsigned cycles, double *median, double *p99)
{
    struct lat_run r = { cycles, calloc(cycles, sizeof(double)) };
    stm_store(&gate, 0);
    uint64_t base = blocked_count();
    pthread_t t;
    pthread_create(&t, NULL, latency_waiter, &r);
    for (unsigned i = 0; i < cycles; i++) {
        /* the waiter blocks once per cycle (the gate changes only when it
         * is blocked): wait for it, then give it time to reach the futex
         * sleep */
        while (blocked_count() < base + i + 1)
            nap_us(20);
        nap_us(200);
        __atomic_store_n(&store_ns, (uint64_t)(now_s(CLOCK_MONOTONIC) * 1e9), __ATOMIC_RELEASE);
        stm_store(&gate, i + 1);
    }
    pthread_join(t, NULL);
    qsort(r.lat, cycles, sizeof(double), cmp_double);
    *median = r.lat[cycles / 2];
    *p99 = r.lat[(size_t)(cycles * 0.99)];
    free(r.lat);
}

/* --- 2. CPU time of a blocked thread --- */

static double blocked_cpu;

static void *cpu_waiter(void *arg)
{
    stm_load(&gate); /* register before measuring */
    double c0 = now_s(CLOCK_THREAD_CPUTIME_ID);
    stm_atomically(wait_gate, arg);
    blocked_cpu = now_s(CLOCK_THREAD_CPUTIME_ID) - c0;
    return NULL;
}

static double blocked_cpu_1s(uintptr_t round)
{
    stm_store(&gate, 0);
    uint64_t b = blocked_count();
    pthread_t t;
    pthread_create(&t, NULL, cpu_waiter, (void *)round);
    while (blocked_count() == b)
        nap_us(50);
    nap_us(1000000);
    stm_store(&gate, round);
    pthread_join(t, NULL);
    return blocked_cpu;
}

/* --- 3. producers and consumers through a TBQueue --- */

static stm_tbqueue queue;
static unsigned long per_producer;

static void *producer(void *arg)
{
    for (unsigned long i = 0; i < per_producer; i++)
        stm_tbqueue_put_atomic(&queue, i + 1);
    return NULL;
}

static void *consumer(void *arg)
{
    uintptr_t sum = 0;
    for (unsigned long i = 0; i < per_producer; i++)
        sum += stm_tbqueue_take_atomic(&queue);
    return (void *)sum;
}

static double throughput(unsigned pairs)
{
    if (stm_tbqueue_init(&queue, 16) != 0)
        abort();
    pthread_t p[4], c[4];
    double t0 = now_s(CLOCK_MONOTONIC);
    for (unsigned i = 0; i < pairs; i++) {
        pthread_create(&c[i], NULL, consumer, NULL);
        pthread_create(&p[i], NULL, producer, NULL);
    }
    uintptr_t sum = 0;
    for (unsigned i = 0; i < pairs; i++) {
        void *s;
        pthread_join(p[i], NULL);
        pthread_join(c[i], &s);
        sum += (uintptr_t)s;
    }
    double dt = now_s(CLOCK_MONOTONIC) - t0;
    stm_tbqueue_destroy(&queue);
    if (sum != (uintptr_t)pairs * per_producer * (per_producer + 1) / 2) {
        fprintf(stderr, "wakeup: items lost or duplicated\n");
        exit(1);
    }
    return (double)pairs * (double)per_producer / dt;
}

/* --- 4. commit rate with idle waiters present --- */

static stm_tvar unrelated = STM_TVAR_INIT(0);
static stm_tvar never = STM_TVAR_INIT(0);

static intptr_t wait_never(stm_tx *tx, void *arg)
{
    if (stm_read(tx, &never) == 0)
        stm_retry(tx);
    return 0;
}

static void *idle_waiter(void *arg)
{
    stm_atomically(wait_never, NULL);
    return NULL;
}

static intptr_t bump(stm_tx *tx, void *arg)
{
    stm_write(tx, &unrelated, stm_read(tx, &unrelated) + 1);
    return 0;
}

static double commit_rate(unsigned waiters)
{
    stm_store(&never, 0);
    pthread_t t[4];
    uint64_t b = blocked_count();
    for (unsigned i = 0; i < waiters; i++)
        pthread_create(&t[i], NULL, idle_waiter, NULL);
    while (blocked_count() < b + waiters)
        nap_us(50);
    const unsigned n = 200000;
    double t0 = now_s(CLOCK_MONOTONIC);
    for (unsigned i = 0; i < n; i++)
        stm_atomically(bump, NULL);
    double dt = now_s(CLOCK_MONOTONIC) - t0;
    stm_store(&never, 1);
    for (unsigned i = 0; i < waiters; i++)
        pthread_join(t[i], NULL);
    return n / dt;
}

/* --- 5. W blocked threads on distinct TVars --- */

#define RELEASE UINTPTR_MAX
#define BURST_MIN_S 0.2
#define BURST_MAX_S 2.0

struct wslot {
    stm_tvar *tv;
    pid_t tid;
    unsigned long attempts; /* transaction runs (re-runs after a change) */
};

static intptr_t wait_release(stm_tx *tx, void *arg)
{
    struct wslot *s = arg;
    __atomic_fetch_add(&s->attempts, 1, __ATOMIC_RELAXED);
    if (stm_read(tx, s->tv) != RELEASE)
        stm_retry(tx);
    return 0;
}

static void *slot_waiter(void *arg)
{
    struct wslot *s = arg;
    __atomic_store_n(&s->tid, (pid_t)syscall(SYS_gettid), __ATOMIC_RELEASE);
    stm_atomically(wait_release, s);
    return NULL;
}

/* A field of /proc/self/task/TID/status ("State:" gives its letter). */
static long task_field(pid_t tid, const char *field)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/self/task/%d/status", (int)tid);
    FILE *f = fopen(path, "r");
    long v = -1;
    size_t n = strlen(field);
    while (f != NULL && fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, field, n) != 0)
            continue;
        const char *p = line + n;
        while (*p == ' ' || *p == '\t')
            p++;
        v = strcmp(field, "State:") == 0 ? *p : strtol(p, NULL, 10);
        break;
    }
    if (f != NULL)
        fclose(f);
    return v;
}

/* Until every waiter thread from `from` on sleeps (state S). */
static void wait_asleep(const struct wslot *s, unsigned from, unsigned w)
{
    for (unsigned i = from; i < w; i++)
        while (task_field(s[i].tid, "State:") != 'S')
            nap_us(1000);
}

/* Sum of the voluntary context switches (sleeps) of waiters from..w-1. */
static long sleeps_of(const struct wslot *s, unsigned from, unsigned w)
{
    long sum = 0;
    for (unsigned i = from; i < w; i++)
        sum += task_field(s[i].tid, "voluntary_ctxt_switches:");
    return sum;
}

static intptr_t bump_tv(stm_tx *tx, void *arg)
{
    stm_write(tx, arg, stm_read(tx, arg) + 1);
    return 0;
}

struct rate {
    double per_s;  /* median of REPS runs */
    double cpu_s;  /* process CPU per `n` commits (all threads) */
    double ns;     /* the committing thread's CPU per commit */
    uint64_t wakeups;
};

/* REPS runs of at least n commits to tv and BURST_MIN_S seconds each
 * (fewer commits when they take over BURST_MAX_S). */
static struct rate commit_burst(stm_tvar *tv, unsigned long n)
{
    struct rate r;
    double rates[REPS], cpu = 0, mine = 0;
    unsigned long total = 0;
    struct stm_stats s0, s1;
    stm_stats_get(&s0);
    for (int k = 0; k < REPS; k++) {
        double c0 = now_s(CLOCK_PROCESS_CPUTIME_ID), m0 = now_s(CLOCK_THREAD_CPUTIME_ID);
        double t0 = now_s(CLOCK_MONOTONIC), t = t0;
        unsigned long i = 0;
        for (;;) {
            stm_atomically(bump_tv, tv);
            if (++i % 256 != 0)
                continue;
            t = now_s(CLOCK_MONOTONIC);
            if ((i >= n && t - t0 >= BURST_MIN_S) || t - t0 >= BURST_MAX_S)
                break;
        }
        rates[k] = (double)i / (t - t0);
        cpu += now_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
        mine += now_s(CLOCK_THREAD_CPUTIME_ID) - m0;
        total += i;
    }
    stm_stats_get(&s1);
    r.per_s = median3(rates);
    r.cpu_s = cpu * (double)n / (double)total;
    r.ns = mine * 1e9 / (double)total;
    r.wakeups = s1.wakeups - s0.wakeups;
    return r;
}

static void scale(unsigned w, unsigned long n)
{
    struct wslot *s = calloc(w ? w : 1, sizeof *s);
    pthread_t *t = calloc(w ? w : 1, sizeof *t);
    stm_tvar *unwatched = stm_tvar_new(0);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    for (unsigned i = 0; i < w; i++) {
        s[i].tv = stm_tvar_new(0);
        if (s[i].tv == NULL || pthread_create(&t[i], &attr, slot_waiter, &s[i]) != 0) {
            fprintf(stderr, "wakeup: cannot start waiter %u\n", i);
            exit(1);
        }
    }
    for (unsigned i = 0; i < w; i++)
        while (__atomic_load_n(&s[i].tid, __ATOMIC_ACQUIRE) == 0)
            nap_us(1000);
    wait_asleep(s, 0, w);
    long z0 = sleeps_of(s, 0, w);
    struct rate u = commit_burst(unwatched, n);
    long z1 = sleeps_of(s, 0, w);
    struct rate o = { 0, 0, 0, 0 };
    long o0 = 0, o1 = 0;
    if (w > 0) {
        o0 = sleeps_of(s, 1, w);
        o = commit_burst(s[0].tv, n);
        wait_asleep(s, 1, w);
        o1 = sleeps_of(s, 1, w);
    }
    for (unsigned i = 0; i < w; i++)
        stm_store(s[i].tv, RELEASE);
    for (unsigned i = 0; i < w; i++)
        pthread_join(t[i], NULL);
    printf("W=%-4u unwatched: %9.0f commits/s, writer %.0f ns/commit, cpu %.3f s, wake-ups %llu, "
           "waiters woken %ld",
           w, u.per_s, u.ns, u.cpu_s, (unsigned long long)u.wakeups, z1 - z0);
    if (w > 0)
        printf(" | waiter 0's TVar: %9.0f commits/s, writer %.0f ns/commit, cpu %.3f s, wake-ups "
               "%llu, waiter 0 ran %lu times, other %u waiters woken %ld times",
               o.per_s, o.ns, o.cpu_s, (unsigned long long)o.wakeups, s[0].attempts, w - 1, o1 - o0);
    printf("\n");
    for (unsigned i = 0; i < w; i++)
        stm_tvar_free(s[i].tv);
    stm_tvar_free(unwatched);
    pthread_attr_destroy(&attr);
    free(s);
    free(t);
}

static void scale_all(unsigned long n, char **wv, int wn)
{
    static const unsigned ws_default[] = { 0, 1, 16, 64, 256, 1024 };
    unsigned ws[64];
    size_t nws = 0;
    for (int i = 0; i < wn && nws < 64; i++)
        ws[nws++] = (unsigned)strtoul(wv[i], NULL, 10);
    if (nws == 0)
        for (; nws < sizeof ws_default / sizeof ws_default[0]; nws++)
            ws[nws] = ws_default[nws];
    printf("blocking at scale, path %s: commit rates are medians of %d runs of at least %lu "
           "commits and %.1f s (at most %.0f s); writer = the committing thread's CPU time; "
           "cpu = process CPU per %lu commits; woken = sleeps again (voluntary context "
           "switches) of the waiter threads\n",
           stm_path(), REPS, n, BURST_MIN_S, BURST_MAX_S, n);
    for (size_t k = 0; k < nws; k++)
        scale(ws[k], n);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "waiters") == 0) {
        unsigned long n = argc > 2 ? strtoul(argv[2], NULL, 10) : 20000;
        if (n == 0) {
            fprintf(stderr, "usage: wakeup waiters [commits > 0]\n");
            return 2;
        }
        setvbuf(stdout, NULL, _IOLBF, 0);
        scale_all(n, argv + 3, argc > 3 ? argc - 3 : 0);
        return 0;
    }
    if (argc > 1 && strcmp(argv[1], "latency") == 0) {
        unsigned c = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 10) : 2000;
        if (c < 100) {
            fprintf(stderr, "usage: wakeup latency [cycles >= 100]\n");
            return 2;
        }
        double m, p;
        latency(c, &m, &p);
        printf("path %s: wake-up latency over %u cycles: median %.1f us, p99 %.1f us\n",
               stm_path(), c, m * 1e6, p * 1e6);
        return 0;
    }
    unsigned cycles = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 2000;
    per_producer = argc > 2 ? strtoul(argv[2], NULL, 10) : 100000;
    if (cycles < 100 || per_producer == 0) {
        fprintf(stderr, "usage: wakeup [cycles >= 100 [items_per_producer]]\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("path: %s\n", stm_path());

    double med[REPS], p99[REPS];
    for (int r = 0; r < REPS; r++)
        latency(cycles, &med[r], &p99[r]);
    printf("wake-up latency over %u cycles: median %.1f us (runs %.1f %.1f %.1f), "
           "p99 %.1f us (runs %.1f %.1f %.1f)\n",
           cycles, median3(med) * 1e6, med[0] * 1e6, med[1] * 1e6, med[2] * 1e6,
           median3(p99) * 1e6, p99[0] * 1e6, p99[1] * 1e6, p99[2] * 1e6);

    double cpu[REPS];
    for (int r = 0; r < REPS; r++)
        cpu[r] = blocked_cpu_1s((uintptr_t)r + 1);
    printf("CPU time of a thread blocked for 1 s: median %.3f ms (runs %.3f %.3f %.3f)\n",
           median3(cpu) * 1e3, cpu[0] * 1e3, cpu[1] * 1e3, cpu[2] * 1e3);

    static const unsigned pairs[] = { 1, 2, 4 };
    for (int k = 0; k < 3; k++) {
        double tp[REPS];
        for (int r = 0; r < REPS; r++)
            tp[r] = throughput(pairs[k]);
        printf("TBQueue(16) producer/consumer, %u pair%s: median %.0f items/s "
               "(runs %.0f %.0f %.0f)\n",
               pairs[k], pairs[k] > 1 ? "s" : "", median3(tp), tp[0], tp[1], tp[2]);
    }

    static const unsigned waiters[] = { 0, 1, 4 };
    for (int k = 0; k < 3; k++) {
        double cr[REPS];
        for (int r = 0; r < REPS; r++)
            cr[r] = commit_rate(waiters[k]);
        printf("writer commits/s with %u idle waiter%s: median %.0f (runs %.0f %.0f %.0f)\n",
               waiters[k], waiters[k] == 1 ? "" : "s", median3(cr), cr[0], cr[1], cr[2]);
    }
    scale_all(20000, NULL, 0);
    return 0;
}
