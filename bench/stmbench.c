/*
 * stmbench: one driver, many workloads, many implementations, all measured
 * in one run with the same per-thread RNG, operation mix and timing loop.
 *
 * Every measurement runs in a forked child process: libstm reads STM_MODE
 * once per process, and a fresh process gives every implementation the
 * same clean heap.  Repeats loop over the whole list of measurements, so
 * the implementations alternate and share the machine's noise.
 *
 * Checks (exit status 1 when one fails): bank totals seen by reports and at
 * the end; intset order and size (initial size + successful inserts -
 * successful removes); queue conservation (sum enqueued = sum dequeued +
 * sum left in the queue).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "stmbench.h"

extern const struct bench_impl bench_impl_libstm_stm, bench_impl_libstm_serial,
    bench_impl_libstm_auto, bench_impl_libstm_htm, bench_impl_seq, bench_impl_mutex,
    bench_impl_rwlock, bench_impl_finelock;

static const struct bench_impl *const all_impls[] = {
    &bench_impl_libstm_stm, &bench_impl_libstm_htm, &bench_impl_libstm_auto,
    &bench_impl_libstm_serial, &bench_impl_seq, &bench_impl_mutex,
    &bench_impl_rwlock, &bench_impl_finelock,
#ifdef STMBENCH_HAVE_ITM
    &bench_impl_libitm,
#endif
#ifdef STMBENCH_HAVE_LIBSTM_ITM
    &bench_impl_libstm_itm,
#endif
};
#define NIMPLS (sizeof all_impls / sizeof all_impls[0])

static const char *const workload_names[W_COUNT] = {"bank", "intset-list", "intset-skip",
                                                    "intset-hash", "queue"};

/* ---------------------------------------------------------------- child */

struct bench_result {
    uint64_t ops;
    double secs;
    uint64_t reports;
    struct stm_stats stats;
    char path[16];
    char error[160];
};

struct thr {
    pthread_t id;
    unsigned tid;
    struct bench_world *wd;
    const struct bench_impl *im;
    uint64_t ops, reports;
    long inserted, removed;     /* intset: successful updates */
    uintptr_t enq_sum, deq_sum; /* queue */
    char pad[64];
};

static volatile int go, stopping;

static unsigned skip_level(uint64_t *rng)
{
    uint64_t r = bench_rand(rng);
    unsigned l = 1;
    while ((r & 1) && l < BENCH_SKIP_LEVELS) {
        l++;
        r >>= 1;
    }
    return l;
}

static void *worker(void *p)
{
    struct thr *t = p;
    struct bench_world *wd = t->wd;
    const struct bench_impl *im = t->im;
    uint64_t rng = 0x2545f4914f6cdd1dull * (t->tid + 1) + 1;
    uint64_t ops = 0;
    uintptr_t last = 0; /* intset: key inserted by the last update, 0: none */
    uint64_t report_cut = (uint64_t)(wd->p.report * 18446744073709551616.0);
    if (wd->p.report >= 1.0)
        report_cut = UINT64_MAX;
    bool producer = t->tid % 2 == 0, both = wd->p.threads == 1;

    while (!__atomic_load_n(&go, __ATOMIC_ACQUIRE))
        sched_yield();
    uint64_t limit = wd->p.ops ? wd->p.ops : UINT64_MAX;
    while (!__atomic_load_n(&stopping, __ATOMIC_RELAXED) && ops < limit) {
        switch (wd->p.w) {
        case W_BANK: {
            uint64_t r = bench_rand(&rng);
            if (report_cut != 0 && r < report_cut) {
                intptr_t s = im->sum(wd);
                if (s != wd->total) {
                    fprintf(stderr, "stmbench: %s: report saw total %ld, expected %ld\n",
                            im->name, (long)s, (long)wd->total);
                    __atomic_store_n(&wd->bad, 1, __ATOMIC_RELAXED);
                }
                t->reports++;
            } else {
                uint64_t r2 = bench_rand(&rng);
                im->transfer(wd, (size_t)(r2 % wd->p.accounts),
                             (size_t)((r2 >> 32) % wd->p.accounts), 1);
            }
            break;
        }
        case W_LIST:
        case W_SKIP:
        case W_HASH: {
            uint64_t r = bench_rand(&rng);
            uintptr_t key = 1 + (uintptr_t)(r % wd->p.keys);
            if ((r >> 32) % 100 < wd->p.update) {
                /* alternate: insert a key, then remove it again */
                if (last == 0) {
                    if (im->set_op(wd, BENCH_SET_INSERT, key, skip_level(&rng))) {
                        t->inserted++;
                        last = key;
                    }
                } else {
                    if (im->set_op(wd, BENCH_SET_REMOVE, last, 0))
                        t->removed++;
                    last = 0;
                }
            } else {
                im->set_op(wd, BENCH_SET_CONTAINS, key, 0);
            }
            break;
        }
        case W_QUEUE: {
            uintptr_t v = 1 + (bench_rand(&rng) & 0xffff);
            if (both || producer) {
                if (!im->queue_op(wd, true, &v))
                    goto out;
                t->enq_sum += v;
                if (both)
                    ops++;
            }
            if (both || !producer) {
                if (!im->queue_op(wd, false, &v))
                    goto out;
                t->deq_sum += v;
            }
            break;
        }
        default:
            abort();
        }
        ops++;
    }
out:
    t->ops = ops;
    return NULL;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void *xcalloc(size_t n, size_t s)
{
    void *p = calloc(n, s);
    if (p == NULL) {
        perror("stmbench");
        exit(2);
    }
    return p;
}

static void world_init(struct bench_world *wd)
{
    const struct bench_params *p = &wd->p;
    switch (p->w) {
    case W_BANK:
        wd->acc = xcalloc(p->accounts, sizeof *wd->acc);
        for (size_t i = 0; i < p->accounts; i++)
            stm_tvar_init(&wd->acc[i], 1000);
        wd->total = (intptr_t)(1000 * p->accounts);
        break;
    case W_LIST:
    case W_HASH: {
        struct bench_lnode *tail = xcalloc(1, sizeof *tail);
        tail->key = UINTPTR_MAX;
        wd->nbuckets = 1;
        if (p->w == W_HASH)
            while (wd->nbuckets < p->keys / 2)
                wd->nbuckets *= 2;
        wd->buckets = xcalloc(wd->nbuckets, sizeof *wd->buckets);
        for (size_t i = 0; i < wd->nbuckets; i++)
            stm_tvar_init(&wd->buckets[i].next, (uintptr_t)tail);
        wd->list = &wd->buckets[0];
        break;
    }
    case W_SKIP: {
        struct bench_snode *tail = xcalloc(1, sizeof *tail + BENCH_SKIP_LEVELS * sizeof(stm_tvar));
        tail->key = UINTPTR_MAX;
        tail->level = BENCH_SKIP_LEVELS;
        wd->skip = xcalloc(1, sizeof *wd->skip + BENCH_SKIP_LEVELS * sizeof(stm_tvar));
        wd->skip->level = BENCH_SKIP_LEVELS;
        for (int l = 0; l < BENCH_SKIP_LEVELS; l++)
            stm_tvar_init(&wd->skip->next[l], (uintptr_t)tail);
        break;
    }
    case W_QUEUE:
        wd->queue.cap = p->capacity;
        wd->queue.items = xcalloc(p->capacity, sizeof(stm_tvar));
        break;
    default:
        abort();
    }
}

/* Walk the structure after the run (no thread is left): sorted, and the
 * size that the successful updates predict. */
static long set_size_checked(struct bench_world *wd, const char **err)
{
    long n = 0;
    if (wd->p.w == W_SKIP) {
        for (int l = 0; l < BENCH_SKIP_LEVELS; l++) {
            long c = 0;
            uintptr_t prev = 0;
            for (struct bench_snode *x = (void *)wd->skip->next[l].word; x->key != UINTPTR_MAX;
                 x = (void *)x->next[l].word) {
                if (x->key <= prev)
                    *err = "skip list out of order";
                prev = x->key;
                c++;
            }
            if (l == 0)
                n = c;
        }
        return n;
    }
    for (size_t b = 0; b < wd->nbuckets; b++) {
        uintptr_t prev = 0;
        for (struct bench_lnode *x = (void *)wd->buckets[b].next.word; x->key != UINTPTR_MAX;
             x = (void *)x->next.word) {
            if (x->key <= prev)
                *err = "list out of order";
            if (wd->p.w == W_HASH && bench_hash(x->key, wd->nbuckets) != b)
                *err = "key in the wrong bucket";
            prev = x->key;
            n++;
        }
    }
    return n;
}

static void run_child(const struct bench_impl *im, const struct bench_params *p,
                      struct bench_result *res)
{
    struct bench_world *wd = xcalloc(1, sizeof *wd);
    wd->p = *p;
    world_init(wd);
    im->setup(wd);
    snprintf(res->path, sizeof res->path, "%s", im->stm_mode ? stm_path() : "-");

    /* populate half the key range through the implementation itself */
    long size0 = 0;
    if (p->w == W_LIST || p->w == W_SKIP || p->w == W_HASH) {
        uint64_t rng = 42;
        while ((size_t)size0 < p->keys / 2) {
            uintptr_t key = 1 + (uintptr_t)(bench_rand(&rng) % p->keys);
            if (im->set_op(wd, BENCH_SET_INSERT, key, skip_level(&rng)))
                size0++;
        }
    }
    if (im->stm_mode)
        stm_stats_reset();

    struct thr *t = xcalloc(p->threads, sizeof *t);
    for (unsigned i = 0; i < p->threads; i++) {
        t[i].tid = i;
        t[i].wd = wd;
        t[i].im = im;
        if (pthread_create(&t[i].id, NULL, worker, &t[i]) != 0) {
            perror("stmbench: pthread_create");
            exit(2);
        }
    }
    double t0 = now();
    __atomic_store_n(&go, 1, __ATOMIC_RELEASE);
    if (p->ops) {
        /* fixed work (for instruction counts): the threads stop themselves */
        for (unsigned i = 0; i < p->threads; i++)
            pthread_join(t[i].id, NULL);
    } else {
        struct timespec d = {(time_t)p->duration,
                             (long)((p->duration - (double)(time_t)p->duration) * 1e9)};
        while (nanosleep(&d, &d) != 0 && errno == EINTR)
            ;
    }
    __atomic_store_n(&stopping, 1, __ATOMIC_RELAXED);
    res->secs = now() - t0;
    if (p->w == W_QUEUE)
        im->stop(wd);
    uint64_t enq = 0, deq = 0;
    long ins = 0, rem = 0;
    for (unsigned i = 0; i < p->threads; i++) {
        if (!p->ops)
            pthread_join(t[i].id, NULL);
        res->ops += t[i].ops;
        res->reports += t[i].reports;
        ins += t[i].inserted;
        rem += t[i].removed;
        enq += t[i].enq_sum;
        deq += t[i].deq_sum;
    }
    if (im->stm_mode)
        stm_stats_get(&res->stats);

    const char *err = NULL;
    if (__atomic_load_n(&wd->bad, __ATOMIC_RELAXED))
        err = "a report saw a wrong total";
    switch (p->w) {
    case W_BANK: {
        intptr_t s = 0;
        for (size_t i = 0; i < p->accounts; i++)
            s += (intptr_t)wd->acc[i].word;
        if (s != wd->total)
            err = "final total wrong";
        break;
    }
    case W_QUEUE: {
        uintptr_t left = 0;
        if (im->queue_left)
            left = im->queue_left(wd);
        else
            for (uintptr_t i = wd->queue.head.word; i != wd->queue.tail.word; i++)
                left += wd->queue.items[i % wd->queue.cap].word;
        if (enq != deq + left)
            err = "queue lost or duplicated items";
        break;
    }
    default: {
        long n = set_size_checked(wd, &err);
        if (n != size0 + ins - rem) {
            snprintf(res->error, sizeof res->error, "set size %ld, expected %ld", n,
                     size0 + ins - rem);
            return;
        }
        break;
    }
    }
    if (err)
        snprintf(res->error, sizeof res->error, "%s", err);
}

/* Fork, run one measurement in the child, return its result. */
static bool measure(const struct bench_impl *im, const struct bench_params *p,
                    struct bench_result *res)
{
    int fd[2];
    memset(res, 0, sizeof *res);
    fflush(NULL);
    if (pipe(fd) != 0) {
        perror("stmbench: pipe");
        exit(2);
    }
    pid_t pid = fork();
    if (pid < 0) {
        perror("stmbench: fork");
        exit(2);
    }
    if (pid == 0) {
        close(fd[0]);
        if (im->stm_mode)
            setenv("STM_MODE", im->stm_mode, 1);
        struct bench_result r;
        memset(&r, 0, sizeof r);
        run_child(im, p, &r);
        ssize_t n = write(fd[1], &r, sizeof r);
        _exit(n == (ssize_t)sizeof r ? 0 : 3);
    }
    close(fd[1]);
    size_t got = 0;
    while (got < sizeof *res) {
        ssize_t n = read(fd[0], (char *)res + got, sizeof *res - got);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd[0]);
    int st;
    waitpid(pid, &st, 0);
    if (got != sizeof *res || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        snprintf(res->error, sizeof res->error, "child failed (status %d)", st);
        return false;
    }
    return res->error[0] == '\0';
}

/* --------------------------------------------------------------- parent */

struct config {
    const struct bench_impl *im;
    struct bench_params p;
    unsigned nres;
    struct bench_result *res; /* one per repeat */
    double *rate;
};

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void params_str(const struct bench_params *p, char *buf, size_t n)
{
    switch (p->w) {
    case W_BANK:
        snprintf(buf, n, "A=%zu R=%g", p->accounts, p->report);
        break;
    case W_QUEUE:
        snprintf(buf, n, "cap=%zu", p->capacity);
        break;
    default:
        snprintf(buf, n, "K=%zu U=%u%%", p->keys, p->update);
        break;
    }
}

/* median, min, max of the rates; the result whose rate is the median */
static const struct bench_result *summarize(struct config *c, double *med, double *lo,
                                            double *hi)
{
    double *s = xcalloc(c->nres, sizeof *s);
    memcpy(s, c->rate, c->nres * sizeof *s);
    qsort(s, c->nres, sizeof *s, cmp_double);
    *lo = s[0];
    *hi = s[c->nres - 1];
    *med = c->nres % 2 ? s[c->nres / 2] : (s[c->nres / 2 - 1] + s[c->nres / 2]) / 2;
    const struct bench_result *best = &c->res[0];
    double bd = INFINITY;
    for (unsigned i = 0; i < c->nres; i++)
        if (fabs(c->rate[i] - *med) < bd) {
            bd = fabs(c->rate[i] - *med);
            best = &c->res[i];
        }
    free(s);
    return best;
}

static void print_table(struct config *cs, size_t n)
{
    printf("%-14s %-12s %-14s %3s %12s %7s %6s | %-12s %-11s %s\n", "impl", "workload",
           "params", "thr", "ops/s", "spread", "runs", "path", "commits", "aborts/blocks");
    for (size_t i = 0; i < n; i++) {
        struct config *c = &cs[i];
        double med, lo, hi;
        const struct bench_result *r = summarize(c, &med, &lo, &hi);
        char ps[64];
        params_str(&c->p, ps, sizeof ps);
        printf("%-14s %-12s %-14s %3u %12.0f %6.0f%% %6u | %-12s", c->im->name,
               workload_names[c->p.w], ps, c->p.threads, med,
               med > 0 ? 100 * (hi - lo) / med : 0.0, c->nres, r->path);
        if (c->im->stm_mode) {
            const struct stm_stats *st = &r->stats;
            printf(" htm=%llu stm=%llu ser=%llu | stm=%llu htm(conf=%llu cap=%llu exp=%llu "
                   "oth=%llu) blk=%llu",
                   (unsigned long long)st->commits_htm, (unsigned long long)st->commits_stm,
                   (unsigned long long)st->commits_serial, (unsigned long long)st->aborts_stm,
                   (unsigned long long)st->aborts_htm_conflict,
                   (unsigned long long)st->aborts_htm_capacity,
                   (unsigned long long)st->aborts_htm_explicit,
                   (unsigned long long)st->aborts_htm_other,
                   (unsigned long long)st->retries_blocked);
        }
        if (c->p.w == W_BANK && c->p.report > 0)
            printf(" reports=%llu", (unsigned long long)r->reports);
        printf("\n");
    }
}

#define STAT_FIELDS(X)                                                                    \
    X(commits_htm) X(commits_stm) X(commits_serial) X(aborts_htm_conflict)                  \
    X(aborts_htm_capacity) X(aborts_htm_explicit) X(aborts_htm_other) X(aborts_stm)         \
    X(retries_blocked) X(wakeups) X(htm_busy_waits) X(htm_skipped_adaptive)

static void print_csv(struct config *cs, size_t n)
{
    printf("impl,workload,accounts,report,keys,update,capacity,threads,ops_per_s,ops_min,"
           "ops_max,runs,path,reports");
#define X(f) printf("," #f);
    STAT_FIELDS(X)
#undef X
    printf("\n");
    for (size_t i = 0; i < n; i++) {
        struct config *c = &cs[i];
        double med, lo, hi;
        const struct bench_result *r = summarize(c, &med, &lo, &hi);
        printf("%s,%s,%zu,%g,%zu,%u,%zu,%u,%.0f,%.0f,%.0f,%u,%s,%llu", c->im->name,
               workload_names[c->p.w], c->p.accounts, c->p.report, c->p.keys, c->p.update,
               c->p.capacity, c->p.threads, med, lo, hi, c->nres, r->path,
               (unsigned long long)r->reports);
#define X(f) printf(",%llu", (unsigned long long)r->stats.f);
        STAT_FIELDS(X)
#undef X
        printf("\n");
    }
}

static void print_json(struct config *cs, size_t n)
{
    printf("[\n");
    for (size_t i = 0; i < n; i++) {
        struct config *c = &cs[i];
        double med, lo, hi;
        const struct bench_result *r = summarize(c, &med, &lo, &hi);
        printf("  {\"impl\": \"%s\", \"workload\": \"%s\", \"accounts\": %zu, \"report\": %g, "
               "\"keys\": %zu, \"update\": %u, \"capacity\": %zu, \"threads\": %u, "
               "\"ops_per_s\": %.0f, \"ops_min\": %.0f, \"ops_max\": %.0f, \"runs\": %u, "
               "\"path\": \"%s\", \"reports\": %llu",
               c->im->name, workload_names[c->p.w], c->p.accounts, c->p.report, c->p.keys,
               c->p.update, c->p.capacity, c->p.threads, med, lo, hi, c->nres, r->path,
               (unsigned long long)r->reports);
        if (c->im->stm_mode) {
            printf(", \"stats\": {");
            const char *sep = "";
#define X(f)                                                                            \
    printf("%s\"" #f "\": %llu", sep, (unsigned long long)r->stats.f);                  \
    sep = ", ";
            STAT_FIELDS(X)
#undef X
            printf("}");
        }
        printf("}%s\n", i + 1 < n ? "," : "");
    }
    printf("]\n");
}

/* comma-separated lists */
static size_t parse_list(const char *s, double *out, size_t max, const char *what)
{
    size_t n = 0;
    char *dup = strdup(s), *save = NULL;
    for (char *tok = strtok_r(dup, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *end;
        double v = strtod(tok, &end);
        if (*end != '\0' || n == max || v < 0) {
            fprintf(stderr, "stmbench: bad %s list '%s'\n", what, s);
            exit(2);
        }
        out[n++] = v;
    }
    free(dup);
    if (n == 0) {
        fprintf(stderr, "stmbench: empty %s list\n", what);
        exit(2);
    }
    return n;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: stmbench [options]\n"
            "  -w, --workload LIST   bank,intset-list,intset-skip,intset-hash,queue or all"
            " (default all)\n"
            "  -i, --impl LIST       implementations (default: all that apply):\n"
            "                        libstm-stm libstm-htm libstm-auto libstm-serial seq"
            " mutex rwlock finelock libitm libstm-itm\n"
            "  -t, --threads LIST    thread counts (default 1,2,4,8)\n"
            "  -d, --duration S      seconds per run (default 1)\n"
            "  -r, --repeat N        runs per point; the median is reported (default 3)\n"
            "  -A, --accounts LIST   bank accounts (default 4096)\n"
            "  -R, --report LIST     bank share of full-sum reports, 0..1 (default 0)\n"
            "  -K, --keys LIST       intset key range (default 4096)\n"
            "  -U, --update LIST     intset update percentage (default 10)\n"
            "  -Q, --capacity N      queue bound (default 64)\n"
            "  -n, --ops N           run N operations per thread instead of a duration\n"
            "                        (for instruction counts under callgrind)\n"
            "      --csv, --json     machine-readable output instead of the table\n"
            "Exit status 1 if any run failed its consistency check.\n");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"workload", 1, 0, 'w'}, {"impl", 1, 0, 'i'},     {"threads", 1, 0, 't'},
        {"duration", 1, 0, 'd'}, {"repeat", 1, 0, 'r'},   {"accounts", 1, 0, 'A'},
        {"report", 1, 0, 'R'},   {"keys", 1, 0, 'K'},     {"update", 1, 0, 'U'},
        {"capacity", 1, 0, 'Q'}, {"csv", 0, 0, 'c'},      {"json", 0, 0, 'j'},
        {"help", 0, 0, 'h'},     {"ops", 1, 0, 'n'},     {0, 0, 0, 0}};
    const char *wl = "all", *il = NULL;
    double thr[64], acc[16], rep[16], keys[16], upd[16];
    size_t nthr = parse_list("1,2,4,8", thr, 64, "threads");
    size_t nacc = parse_list("4096", acc, 16, "accounts");
    size_t nrep = parse_list("0", rep, 16, "report");
    size_t nkeys = parse_list("4096", keys, 16, "keys");
    size_t nupd = parse_list("10", upd, 16, "update");
    double duration = 1.0;
    unsigned repeat = 3;
    size_t capacity = 64;
    uint64_t nops = 0;
    int fmt = 0;
    int o;
    while ((o = getopt_long(argc, argv, "w:i:t:d:r:A:R:K:U:Q:n:h", opts, NULL)) != -1) {
        switch (o) {
        case 'w': wl = optarg; break;
        case 'i': il = optarg; break;
        case 't': nthr = parse_list(optarg, thr, 64, "threads"); break;
        case 'd': duration = atof(optarg); break;
        case 'r': repeat = (unsigned)atoi(optarg); break;
        case 'A': nacc = parse_list(optarg, acc, 16, "accounts"); break;
        case 'R': nrep = parse_list(optarg, rep, 16, "report"); break;
        case 'K': nkeys = parse_list(optarg, keys, 16, "keys"); break;
        case 'U': nupd = parse_list(optarg, upd, 16, "update"); break;
        case 'Q': capacity = (size_t)atol(optarg); break;
        case 'n': nops = strtoull(optarg, NULL, 10); break;
        case 'c': fmt = 1; break;
        case 'j': fmt = 2; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc || repeat == 0 || duration <= 0 || capacity == 0) {
        usage(stderr);
        return 2;
    }
    for (size_t i = 0; i < nthr; i++)
        if (thr[i] < 1) {
            fprintf(stderr, "stmbench: thread counts start at 1\n");
            return 2;
        }
    for (size_t i = 0; i < nacc; i++)
        if (acc[i] < 1) {
            fprintf(stderr, "stmbench: need at least one account\n");
            return 2;
        }
    for (size_t i = 0; i < nkeys; i++)
        if (keys[i] < 2) {
            fprintf(stderr, "stmbench: need a key range of at least 2\n");
            return 2;
        }

    bool wsel[W_COUNT] = {false};
    if (strcmp(wl, "all") == 0) {
        for (int w = 0; w < W_COUNT; w++)
            wsel[w] = true;
    } else {
        char *dup = strdup(wl), *save = NULL;
        for (char *tok = strtok_r(dup, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
            int w;
            for (w = 0; w < W_COUNT; w++)
                if (strcmp(tok, workload_names[w]) == 0 ||
                    (strncmp(workload_names[w], "intset-", 7) == 0 &&
                     strcmp(tok, workload_names[w] + 7) == 0))
                    break;
            if (w == W_COUNT) {
                fprintf(stderr, "stmbench: unknown workload '%s'\n", tok);
                return 2;
            }
            wsel[w] = true;
        }
        free(dup);
    }

    /* which libstm modes give a distinct path here: probe auto and htm */
    bool isel[NIMPLS];
    char autopath[16] = "", htmpath[16] = "";
    for (size_t k = 0; k < NIMPLS; k++)
        isel[k] = il == NULL;
    if (il != NULL) {
        char *dup = strdup(il), *save = NULL;
        for (char *tok = strtok_r(dup, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
            size_t k;
            for (k = 0; k < NIMPLS; k++)
                if (strcmp(tok, all_impls[k]->name) == 0)
                    break;
            if (k == NIMPLS) {
                fprintf(stderr, "stmbench: unknown or unavailable implementation '%s'\n", tok);
                return 2;
            }
            isel[k] = true;
        }
        free(dup);
    } else {
        /* probe STM_MODE=auto first: where it finds no hardware TM it is
         * libstm-stm again, and htm mode would only warn and fall back the
         * same way, so neither runs (and htm is not even probed) */
        const struct bench_impl *probe_order[2] = {&bench_impl_libstm_auto,
                                                   &bench_impl_libstm_htm};
        bool have_hw = true;
        for (int j = 0; j < 2; j++) {
            const struct bench_impl *im = probe_order[j];
            size_t k = 0;
            while (k < NIMPLS && all_impls[k] != im)
                k++;
            if (k == NIMPLS)
                continue;
            if (!have_hw) {
                isel[k] = false;
                snprintf(htmpath, 16, "%s", autopath);
                continue;
            }
            struct bench_params pp = {.w = W_BANK, .accounts = 2, .threads = 1,
                                      .duration = 0.001};
            struct bench_result r;
            measure(im, &pp, &r);
            snprintf(im == &bench_impl_libstm_auto ? autopath : htmpath, 16, "%s", r.path);
            if (strcmp(r.path, "norec") == 0 || strcmp(r.path, "serial") == 0) {
                isel[k] = false;
                have_hw = false;
            }
        }
        if (fmt == 0)
            printf("# STM_MODE=auto takes path %s%s\n", autopath,
                   strcmp(autopath, "norec") == 0 ? " (same as libstm-stm: not run)" : "");
    }

    /* the list of measurements */
    size_t cap = 1024, n = 0;
    struct config *cs = xcalloc(cap, sizeof *cs);
    for (int w = 0; w < W_COUNT; w++) {
        if (!wsel[w])
            continue;
        size_t na = w == W_BANK ? nacc * nrep : w == W_QUEUE ? 1 : nkeys * nupd;
        for (size_t a = 0; a < na; a++)
            for (size_t ti = 0; ti < nthr; ti++)
                for (size_t k = 0; k < NIMPLS; k++) {
                    const struct bench_impl *im = all_impls[k];
                    if (!isel[k] || !im->supports((enum bench_workload)w))
                        continue;
                    if (im == &bench_impl_seq && thr[ti] != 1)
                        continue;
                    if (n == cap) {
                        fprintf(stderr, "stmbench: too many measurements\n");
                        return 2;
                    }
                    struct config *c = &cs[n++];
                    c->im = im;
                    c->p.w = (enum bench_workload)w;
                    c->p.threads = (unsigned)thr[ti];
                    c->p.duration = duration;
                    c->p.capacity = capacity;
                    c->p.ops = nops;
                    if (w == W_BANK) {
                        c->p.accounts = (size_t)acc[a / nrep];
                        c->p.report = rep[a % nrep];
                    } else if (w != W_QUEUE) {
                        c->p.keys = (size_t)keys[a / nupd];
                        c->p.update = (unsigned)upd[a % nupd];
                    }
                    c->res = xcalloc(repeat, sizeof *c->res);
                    c->rate = xcalloc(repeat, sizeof *c->rate);
                }
    }

    int failed = 0;
    for (unsigned rr = 0; rr < repeat; rr++)
        for (size_t i = 0; i < n; i++) {
            struct config *c = &cs[i];
            struct bench_result *r = &c->res[c->nres];
            if (!measure(c->im, &c->p, r)) {
                char ps[64];
                params_str(&c->p, ps, sizeof ps);
                fprintf(stderr, "stmbench: FAILED %s %s %s threads=%u: %s\n", c->im->name,
                        workload_names[c->p.w], ps, c->p.threads, r->error);
                failed = 1;
            }
            c->rate[c->nres++] = r->secs > 0 ? (double)r->ops / r->secs : 0;
        }

    if (fmt == 1)
        print_csv(cs, n);
    else if (fmt == 2)
        print_json(cs, n);
    else
        print_table(cs, n);
    for (size_t i = 0; i < n; i++) {
        free(cs[i].res);
        free(cs[i].rate);
    }
    free(cs);
    return failed;
}
