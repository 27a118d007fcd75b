/* Per-site statistics (STM_STATS=2); see sites.h.
 *
 * Concurrency: only the owning thread writes its table (relaxed load +
 * relaxed store per counter, as for the process-wide counters in tx.h), and
 * it publishes a new slot by storing the key last with release, so a reader
 * that loads the key with acquire sees zeroed counters at least.  Readers
 * (stm_stats_site, the summary at exit, a reset) walk the live threads
 * under the registry lock, which also guards the exited threads' totals
 * that a thread folds in as it exits; so no transaction is counted twice or
 * lost when a thread exits during a read.  Counters read while their
 * thread runs may be a few transactions old, as for stm_stats_get. */
#define _GNU_SOURCE /* dladdr */
#include <dlfcn.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "../core/config.h"
#include "../core/misuse.h"
#include "../core/tx.h"
#include "runtime.h"
#include "sites.h"

#define NSTATS (sizeof(struct stm_stats) / sizeof(uint64_t))

/* 64 distinct sites per thread; more are counted together as "other
 * sites" (a program rarely has more transaction functions, and the summary
 * is for people to read). */
#define SITE_SLOTS 64

struct site_sum {
    stm_fn site; /* NULL: the sites that did not fit */
    struct stm_stats s;
};

struct stm_site_table {
    struct stm_stats base; /* the thread's counters when the current
                              profiled transaction started */
    struct site_sum slot[SITE_SLOTS];
    struct site_sum other;
};

/* A growable list of per-site sums (merging threads, the baseline). */
struct site_list {
    struct site_sum *e;
    size_t n, cap;
};

static struct site_list exited;   /* guarded by the registry lock */
static struct site_list baseline; /* guarded by baseline_lock */
static pthread_mutex_t baseline_lock = PTHREAD_MUTEX_INITIALIZER;

static bool sites_on(void)
{
    return stm_config()->stats >= 2;
}

struct stm_site_table *stm_sites_new(void)
{
    if (!sites_on())
        return NULL;
    struct stm_site_table *t = calloc(1, sizeof *t);
    if (t == NULL)
        stm_fatal("libstm", "out of memory creating a per-site statistics table");
    return t;
}

static struct site_sum *table_slot(struct stm_site_table *t, stm_fn site)
{
    uintptr_t a = (uintptr_t)site;
    a ^= a >> 4 ^ a >> 12; /* code addresses: mix the low, aligned bits */
    for (unsigned i = 0; i < SITE_SLOTS; i++) {
        struct site_sum *e = &t->slot[(a + i) % SITE_SLOTS];
        stm_fn k = __atomic_load_n(&e->site, __ATOMIC_RELAXED);
        if (k == site)
            return e;
        if (k == NULL) {
            /* the counters are zero (calloc): publish the key after them */
            __atomic_store_n(&e->site, site, __ATOMIC_RELEASE);
            return e;
        }
    }
    return &t->other;
}

static void load_stats(struct stm_stats *dst, const struct stm_stats *src)
{
    uint64_t *d = (uint64_t *)dst;
    const uint64_t *s = (const uint64_t *)src;
    for (size_t i = 0; i < NSTATS; i++)
        d[i] = __atomic_load_n(&s[i], __ATOMIC_RELAXED);
}

intptr_t stm_sites_run(stm_tx *tx, stm_fn fn, void *arg)
{
    struct stm_site_table *t = tx->sites;
    load_stats(&t->base, &tx->stats);
    /* the inner call runs the transaction itself (it sees no table) */
    tx->sites = NULL;
    intptr_t r = stm_atomically(fn, arg);
    tx->sites = t;
    stm_fast_recheck(tx);
    struct site_sum *e = table_slot(t, fn);
    uint64_t *c = (uint64_t *)&e->s;
    const uint64_t *now = (const uint64_t *)&tx->stats, *then = (const uint64_t *)&t->base;
    for (size_t i = 0; i < NSTATS; i++) {
        uint64_t d = __atomic_load_n(&now[i], __ATOMIC_RELAXED) - then[i];
        if (d != 0)
            __atomic_store_n(&c[i], __atomic_load_n(&c[i], __ATOMIC_RELAXED) + d,
                             __ATOMIC_RELAXED);
    }
    return r;
}

/* The entry for site in l, appended (zeroed) if new; NULL if out of memory
 * (the caller then drops that site's share: statistics only). */
static struct site_sum *list_get(struct site_list *l, stm_fn site)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->e[i].site == site)
            return &l->e[i];
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 16;
        struct site_sum *e = realloc(l->e, cap * sizeof *e);
        if (e == NULL)
            return NULL;
        l->e = e;
        l->cap = cap;
    }
    struct site_sum *e = &l->e[l->n++];
    memset(e, 0, sizeof *e);
    e->site = site;
    return e;
}

static void list_add(struct site_list *l, stm_fn site, const struct stm_stats *s)
{
    struct site_sum *e = list_get(l, site);
    if (e == NULL)
        return;
    uint64_t *d = (uint64_t *)&e->s;
    const uint64_t *src = (const uint64_t *)s;
    for (size_t i = 0; i < NSTATS; i++)
        d[i] += __atomic_load_n(&src[i], __ATOMIC_RELAXED);
}

static bool is_zero(const struct stm_stats *s)
{
    static const struct stm_stats zero;
    return memcmp(s, &zero, sizeof *s) == 0;
}

static void table_add_to(struct site_list *l, struct stm_site_table *t)
{
    for (unsigned i = 0; i < SITE_SLOTS; i++) {
        stm_fn k = __atomic_load_n(&t->slot[i].site, __ATOMIC_ACQUIRE);
        if (k != NULL)
            list_add(l, k, &t->slot[i].s);
    }
    struct stm_stats o;
    load_stats(&o, &t->other.s);
    if (!is_zero(&o))
        list_add(l, NULL, &o);
}

void stm_sites_thread_exit(stm_tx *tx)
{
    if (tx->site_table == NULL)
        return;
    table_add_to(&exited, tx->site_table);
    free(tx->site_table);
    tx->site_table = tx->sites = NULL;
}

static void collect_visit(stm_tx *tx, void *ctx)
{
    struct site_list *l = ctx;
    if (tx == NULL) {
        for (size_t i = 0; i < exited.n; i++)
            list_add(l, exited.e[i].site, &exited.e[i].s);
    } else if (tx->site_table != NULL) {
        table_add_to(l, tx->site_table);
    }
}

/* Every site's counters since start (exited and live threads). */
static void collect(struct site_list *l)
{
    memset(l, 0, sizeof *l);
    stm_registry_visit(collect_visit, l);
}

/* Held across fork() (fork.c), so that the child never inherits it held. */
void stm_sites_lock(void)
{
    pthread_mutex_lock(&baseline_lock);
}

void stm_sites_unlock(void)
{
    pthread_mutex_unlock(&baseline_lock);
}

/* l minus the baseline (counters never go below zero). */
static void subtract_baseline(struct site_list *l)
{
    pthread_mutex_lock(&baseline_lock);
    for (size_t i = 0; i < l->n; i++) {
        for (size_t j = 0; j < baseline.n; j++) {
            if (baseline.e[j].site != l->e[i].site)
                continue;
            uint64_t *o = (uint64_t *)&l->e[i].s;
            const uint64_t *b = (const uint64_t *)&baseline.e[j].s;
            for (size_t k = 0; k < NSTATS; k++)
                o[k] = o[k] >= b[k] ? o[k] - b[k] : 0;
        }
    }
    pthread_mutex_unlock(&baseline_lock);
}

void stm_sites_reset(void)
{
    if (!sites_on())
        return;
    struct site_list now;
    collect(&now);
    pthread_mutex_lock(&baseline_lock);
    free(baseline.e);
    baseline = now;
    pthread_mutex_unlock(&baseline_lock);
}

int stm_stats_site(stm_fn site, struct stm_stats *out)
{
    stm_runtime_init();
    if (out != NULL)
        memset(out, 0, sizeof *out);
    if (!sites_on())
        return -1;
    if (site == NULL || out == NULL)
        return 0;
    struct site_list l;
    collect(&l);
    subtract_baseline(&l);
    for (size_t i = 0; i < l.n; i++)
        if (l.e[i].site == site)
            *out = l.e[i].s;
    free(l.e);
    return 0;
}

static uint64_t commits_of(const struct stm_stats *s)
{
    return s->commits_htm + s->commits_stm + s->commits_serial;
}

static int by_commits(const void *a, const void *b)
{
    uint64_t x = commits_of(&((const struct site_sum *)a)->s);
    uint64_t y = commits_of(&((const struct site_sum *)b)->s);
    return x < y ? 1 : x > y ? -1 : 0;
}

/* "name (file+0xoffset)": the symbol where the dynamic symbol table has
 * one (exported functions), and always the object and offset, which
 * `addr2line -f -e file offset` resolves for static functions too. */
static void print_site_name(FILE *f, stm_fn site)
{
    Dl_info info;
    if (site == NULL) {
        fprintf(f, "(other sites: more than %d per thread)", SITE_SLOTS);
        return;
    }
    if (dladdr((void *)(uintptr_t)site, &info) == 0 || info.dli_fname == NULL) {
        fprintf(f, "%p", (void *)(uintptr_t)site);
        return;
    }
    if (info.dli_sname != NULL) {
        uintptr_t off = (uintptr_t)site - (uintptr_t)info.dli_saddr;
        if (off == 0)
            fprintf(f, "%s ", info.dli_sname);
        else
            fprintf(f, "%s+0x%" PRIxPTR " ", info.dli_sname, off);
    }
    fprintf(f, "(%s+0x%" PRIxPTR ")", info.dli_fname,
            (uintptr_t)site - (uintptr_t)info.dli_fbase);
}

void stm_sites_print(FILE *f)
{
    if (!sites_on())
        return;
    struct site_list l;
    collect(&l);
    subtract_baseline(&l);
    /* sites with nothing since the last reset are left out */
    size_t n = 0;
    for (size_t i = 0; i < l.n; i++)
        if (!is_zero(&l.e[i].s))
            l.e[n++] = l.e[i];
    qsort(l.e, n, sizeof *l.e, by_commits);
    fprintf(f, "libstm sites (outermost transaction functions, busiest first): %zu\n", n);
    for (size_t i = 0; i < n; i++) {
        const struct stm_stats *s = &l.e[i].s;
        uint64_t commits = commits_of(s);
        fprintf(f, "  site ");
        print_site_name(f, l.e[i].site);
        fprintf(f,
                "\n    commits %" PRIu64 " (hardware %" PRIu64 ", software %" PRIu64
                ", serial %" PRIu64 "), %.1f%% in hardware\n"
                "    hardware aborts (conflict %" PRIu64 ", capacity %" PRIu64
                ", explicit %" PRIu64 ", other %" PRIu64 "), busy waits %" PRIu64
                ", adaptive skips %" PRIu64 "\n"
                "    software aborts %" PRIu64 ", blocked in retry %" PRIu64 "\n",
                commits, s->commits_htm, s->commits_stm, s->commits_serial,
                commits ? 100.0 * (double)s->commits_htm / (double)commits : 0.0,
                s->aborts_htm_conflict, s->aborts_htm_capacity, s->aborts_htm_explicit,
                s->aborts_htm_other, s->htm_busy_waits, s->htm_skipped_adaptive, s->aborts_stm,
                s->retries_blocked);
    }
    free(l.e);
}
