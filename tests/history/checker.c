/*
 * Offline checker for recorded transactional histories (history.h).
 *
 * Strict serializability (Papadimitriou 1979; Herlihy and Wing 1990 for
 * the real-time part): the committed transactions of a round, as nodes of
 * a graph with Adya's dependency edges (Adya, Liskov, O'Neil, "Generalized
 * isolation level definitions", ICDE 2000):
 *   wr  the writer of a version -> a transaction that read it;
 *   ww  a version's writer -> the writer of the next version;
 *   rw  a reader of a version -> the writer of the next version;
 *   rt  T1 -> T2 when T1 returned before T2 was called.
 * The history is strictly serializable iff the graph is acyclic.  Version
 * orders are known because every value is unique and every write records
 * the value it replaced.  Real-time edges would be quadratic; instead
 * every stamp becomes a node of one chain (in stamp order), T -> stamp of
 * its end and stamp of its begin -> T, so T1 reaches T2 through the chain
 * exactly when end(T1) < begin(T2).
 *
 * Opacity (Guerraoui and Kapalka, PPoPP 2008): every attempt, aborted ones
 * too, read a state that some prefix of a serialization produced, and one
 * that respects real time.  With the dependency graph G (a DAG by now), an
 * attempt's reads are consistent iff there is a downward-closed set D of G
 * (a prefix of some topological order) such that for each read of version
 * v of x, writer(v) is in D and the writer of the next version of x is
 * not; real time adds that every transaction that returned before the
 * attempt began is in D and every one called after it ended is not.  Such
 * a D exists iff no node that must be outside reaches (or is) a node that
 * must be inside; the time constraints are the chain nodes just before
 * the attempt's start and just after its end.  Reachability is a bitset
 * per node, filled in reverse topological order, which is why histories
 * are checked one round (a few thousand transactions) at a time.
 *
 * The time bounds of an attempt are conservative, so that a correct
 * implementation is never flagged whatever instant inside the call it
 * serializes at: attempt k starts no later than the body of attempt k-1
 * started (or the call, for the first) and ends no earlier than the body
 * of attempt k+1 started (or the call returned, for the last).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "history.h"

#define NONE UINT32_MAX
#define REPORT_MAX 8 /* violations printed per round */

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (p == NULL) {
        fprintf(stderr, "histcheck: out of memory (%zu bytes)\n", n);
        exit(2);
    }
    return p;
}

static void *xcalloc(size_t n, size_t s)
{
    void *p = calloc(n ? n : 1, s);
    if (p == NULL) {
        fprintf(stderr, "histcheck: out of memory (%zu x %zu bytes)\n", n, s);
        exit(2);
    }
    return p;
}

/* ---- log storage ------------------------------------------------------- */

void h_log_init(struct h_log *l)
{
    memset(l, 0, sizeof *l);
}

void h_log_clear(struct h_log *l)
{
    l->ntxn = l->natt = l->nrd = l->nwr = 0;
}

void h_log_free(struct h_log *l)
{
    free(l->txn);
    free(l->att);
    free(l->rd);
    free(l->wr);
    h_log_init(l);
}

/* Grow *p (n used, *cap allocated, elements of size s) to hold `need`;
 * zero the new part so its pages are mapped before a hardware transaction
 * writes there. */
static void grow(void **p, uint32_t *cap, uint32_t need, size_t s)
{
    if (need <= *cap)
        return;
    uint32_t c = *cap ? *cap : 64;
    while (c < need)
        c *= 2;
    char *q = realloc(*p, (size_t)c * s);
    if (q == NULL) {
        fprintf(stderr, "histcheck: out of memory for the history log\n");
        exit(2);
    }
    memset(q + (size_t)*cap * s, 0, (size_t)(c - *cap) * s);
    *p = q;
    *cap = c;
}

void h_log_reserve(struct h_log *l, uint32_t attempts, uint32_t reads, uint32_t writes)
{
    grow((void **)&l->txn, &l->cap_txn, l->ntxn + 1, sizeof *l->txn);
    grow((void **)&l->att, &l->cap_att, l->natt + attempts, sizeof *l->att);
    grow((void **)&l->rd, &l->cap_rd, l->nrd + reads, sizeof *l->rd);
    grow((void **)&l->wr, &l->cap_wr, l->nwr + writes, sizeof *l->wr);
}

/* ---- values: who wrote each, and who replaced it ----------------------- */

struct ventry {
    uint64_t val;   /* 0 = empty slot (no value is ever 0) */
    uint32_t node;  /* writer, or NONE for the round's initial value */
    uint32_t var;
    uint32_t succ;  /* the writer that replaced it, or NONE */
};

struct vmap {
    struct ventry *e;
    size_t mask;
};

static size_t vhash(uint64_t v, size_t mask)
{
    v ^= v >> 33;
    v *= 0xff51afd7ed558ccdull;
    v ^= v >> 33;
    return (size_t)v & mask;
}

static struct ventry *vfind(const struct vmap *m, uint64_t v)
{
    for (size_t h = vhash(v, m->mask);; h = (h + 1) & m->mask) {
        if (m->e[h].val == v)
            return &m->e[h];
        if (m->e[h].val == 0)
            return NULL;
    }
}

/* Insert; returns NULL if v is present already. */
static struct ventry *vinsert(struct vmap *m, uint64_t v)
{
    for (size_t h = vhash(v, m->mask);; h = (h + 1) & m->mask) {
        if (m->e[h].val == v)
            return NULL;
        if (m->e[h].val == 0) {
            m->e[h].val = v;
            return &m->e[h];
        }
    }
}

/* ---- the graph ---------------------------------------------------------- */

enum ekind { E_WR, E_WW, E_RW, E_RT };
static const char *const ekind_name[] = {"wr", "ww", "rw", "rt"};

struct edge {
    uint32_t src, dst;
    uint32_t var;
    uint8_t kind;
};

struct graph {
    uint32_t nodes;   /* transactions first, then time-chain nodes */
    uint32_t ntx;
    struct edge *e;
    size_t ne, cap;
    uint32_t *out_off, *out;  /* CSR of edge indices by source */
    uint32_t *in_off, *in;    /* by destination */
};

static void add_edge(struct graph *g, uint32_t s, uint32_t d, enum ekind k, uint32_t var)
{
    if (g->ne == g->cap) {
        g->cap = g->cap ? 2 * g->cap : 1024;
        g->e = realloc(g->e, g->cap * sizeof *g->e);
        if (g->e == NULL) {
            fprintf(stderr, "histcheck: out of memory for edges\n");
            exit(2);
        }
    }
    g->e[g->ne++] = (struct edge){s, d, var, (uint8_t)k};
}

static void build_csr(struct graph *g)
{
    g->out_off = xcalloc(g->nodes + 1, sizeof *g->out_off);
    g->in_off = xcalloc(g->nodes + 1, sizeof *g->in_off);
    for (size_t i = 0; i < g->ne; i++) {
        g->out_off[g->e[i].src + 1]++;
        g->in_off[g->e[i].dst + 1]++;
    }
    for (uint32_t v = 0; v < g->nodes; v++) {
        g->out_off[v + 1] += g->out_off[v];
        g->in_off[v + 1] += g->in_off[v];
    }
    g->out = xmalloc(g->ne * sizeof *g->out);
    g->in = xmalloc(g->ne * sizeof *g->in);
    uint32_t *po = xmalloc(g->nodes * sizeof *po), *pi = xmalloc(g->nodes * sizeof *pi);
    memcpy(po, g->out_off, g->nodes * sizeof *po);
    memcpy(pi, g->in_off, g->nodes * sizeof *pi);
    for (size_t i = 0; i < g->ne; i++) {
        g->out[po[g->e[i].src]++] = (uint32_t)i;
        g->in[pi[g->e[i].dst]++] = (uint32_t)i;
    }
    free(po);
    free(pi);
}

/* ---- one round ---------------------------------------------------------- */

struct ctx {
    const struct h_round *r;
    FILE *out;
    uint64_t violations;
    uint64_t by_kind[H_KINDS];
    uint32_t ntx;
    uint32_t *tx_thread;        /* node -> thread */
    const struct h_txn **tx;    /* node -> record */
    struct vmap vm;
    struct graph g;
    uint64_t *stamp;            /* time node i - ntx -> its stamp, sorted */
    uint32_t nstamp;
};

const char *const h_kind_name[H_KINDS] = {
    "duplicate-value", "write-over-uncommitted", "lost-update", "version-order", "cycle",
    "own-write", "dirty-read", "future-read", "committed-reads", "aborted-reads(opacity)"};

/* Count a violation of kind k; whether to print it. */
static bool report(struct ctx *c, enum h_kind k)
{
    c->by_kind[k]++;
    return c->violations++ < REPORT_MAX && c->out != NULL;
}

static void print_node(struct ctx *c, uint32_t v)
{
    if (v == NONE) {
        fprintf(c->out, "the round's initial state");
    } else if (v < c->ntx) {
        const struct h_txn *t = c->tx[v];
        fprintf(c->out, "T%u.%u [%" PRIu64 ",%" PRIu64 "]", c->tx_thread[v], t->seq,
                t->begin, t->end);
    } else {
        fprintf(c->out, "clock %" PRIu64, c->stamp[v - c->ntx]);
    }
}

static void print_value(struct ctx *c, uint64_t val)
{
    fprintf(c->out, "%#" PRIx64, val);
}

/* time node of the largest stamp < s (NONE if none) */
static uint32_t time_before(const struct ctx *c, uint64_t s)
{
    uint32_t lo = 0, hi = c->nstamp; /* first index with stamp >= s */
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (c->stamp[mid] < s)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo == 0 ? NONE : c->ntx + lo - 1;
}

/* time node of the smallest stamp > s (NONE if none) */
static uint32_t time_after(const struct ctx *c, uint64_t s)
{
    uint32_t lo = 0, hi = c->nstamp; /* first index with stamp > s */
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (c->stamp[mid] <= s)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo == c->nstamp ? NONE : c->ntx + lo;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Values and version chains; the non-time edges. */
static void versions_and_edges(struct ctx *c)
{
    const struct h_round *r = c->r;
    size_t nvals = r->nvars;
    for (unsigned t = 0; t < r->nthreads; t++)
        nvals += r->logs[t].nwr;
    size_t cap = 16;
    while (cap < 2 * nvals)
        cap *= 2;
    c->vm.e = xcalloc(cap, sizeof *c->vm.e);
    c->vm.mask = cap - 1;

    for (uint32_t x = 0; x < r->nvars; x++) {
        struct ventry *e = vinsert(&c->vm, r->init[x]);
        if (e == NULL) {
            fprintf(stderr, "histcheck: initial value %#" PRIx64 " not unique\n", r->init[x]);
            exit(2);
        }
        *e = (struct ventry){r->init[x], NONE, x, NONE};
    }
    for (uint32_t v = 0; v < c->ntx; v++) {
        const struct h_txn *t = c->tx[v];
        const struct h_log *l = &r->logs[c->tx_thread[v]];
        for (uint32_t i = 0; i < t->nwrites; i++) {
            const struct h_write *w = &l->wr[t->first_write + i];
            struct ventry *e = vinsert(&c->vm, w->val);
            if (e == NULL) {
                if (report(c, H_DUPLICATE)) {
                    fprintf(c->out, "VIOLATION (duplicate value): ");
                    print_node(c, v);
                    fprintf(c->out, " committed value ");
                    print_value(c, w->val);
                    fprintf(c->out, " that another write produced too\n");
                }
                continue;
            }
            *e = (struct ventry){w->val, v, w->var, NONE};
        }
    }
    /* successors: who replaced each version */
    for (uint32_t v = 0; v < c->ntx; v++) {
        const struct h_txn *t = c->tx[v];
        const struct h_log *l = &r->logs[c->tx_thread[v]];
        for (uint32_t i = 0; i < t->nwrites; i++) {
            const struct h_write *w = &l->wr[t->first_write + i];
            struct ventry *p = vfind(&c->vm, w->prev);
            if (p == NULL || p->var != w->var) {
                if (report(c, H_WRITE_OVER)) {
                    fprintf(c->out, "VIOLATION (write over an uncommitted value): ");
                    print_node(c, v);
                    fprintf(c->out, " wrote var %u over ", w->var);
                    print_value(c, w->prev);
                    fprintf(c->out, ", which no committed transaction left there\n");
                }
                continue;
            }
            if (p->succ != NONE) {
                if (report(c, H_LOST_UPDATE)) {
                    fprintf(c->out, "VIOLATION (lost update): ");
                    print_node(c, p->succ);
                    fprintf(c->out, " and ");
                    print_node(c, v);
                    fprintf(c->out, " both replaced version ");
                    print_value(c, w->prev);
                    fprintf(c->out, " of var %u (written by ", w->var);
                    print_node(c, p->node);
                    fprintf(c->out, ")\n");
                }
                continue;
            }
            p->succ = v;
            if (p->node != NONE)
                add_edge(&c->g, p->node, v, E_WW, w->var);
        }
    }
    /* each chain must run from the initial value through every version to
     * the value left in memory */
    uint32_t *count = xcalloc(r->nvars, sizeof *count);
    for (uint32_t v = 0; v < c->ntx; v++) {
        const struct h_log *l = &r->logs[c->tx_thread[v]];
        for (uint32_t i = 0; i < c->tx[v]->nwrites; i++)
            count[l->wr[c->tx[v]->first_write + i].var]++;
    }
    for (uint32_t x = 0; x < r->nvars; x++) {
        const struct ventry *e = vfind(&c->vm, r->init[x]);
        uint32_t len = 0;
        while (e->succ != NONE && len <= count[x]) {
            const struct h_log *l = &r->logs[c->tx_thread[e->succ]];
            const struct h_txn *t = c->tx[e->succ];
            const struct ventry *next = NULL;
            for (uint32_t i = 0; i < t->nwrites && next == NULL; i++)
                if (l->wr[t->first_write + i].var == x)
                    next = vfind(&c->vm, l->wr[t->first_write + i].val);
            if (next == NULL)
                break;
            e = next;
            len++;
        }
        if (len != count[x] || e->val != r->final[x]) {
            if (report(c, H_VERSION_ORDER)) {
                fprintf(c->out, "VIOLATION (version order): var %u: %u of %u committed writes "
                        "chain from the initial value to ", x, len, count[x]);
                print_value(c, e->val);
                fprintf(c->out, "; memory holds ");
                print_value(c, r->final[x]);
                fprintf(c->out, "\n");
            }
        }
    }
    free(count);
    /* wr and rw edges from the committed attempts' reads */
    for (uint32_t v = 0; v < c->ntx; v++) {
        const struct h_txn *t = c->tx[v];
        const struct h_log *l = &r->logs[c->tx_thread[v]];
        const struct h_attempt *a = &l->att[t->first_attempt + t->nattempts - 1];
        for (uint32_t i = 0; i < a->nreads; i++) {
            const struct h_read *rd = &l->rd[a->first_read + i];
            const struct ventry *e = vfind(&c->vm, rd->val);
            if (e == NULL || e->var != rd->var)
                continue; /* reported by the attempt check */
            if (e->node != NONE && e->node != v)
                add_edge(&c->g, e->node, v, E_WR, rd->var);
            if (e->succ != NONE && e->succ != v)
                add_edge(&c->g, v, e->succ, E_RW, rd->var);
        }
    }
}

static void time_edges(struct ctx *c)
{
    c->nstamp = 2 * c->ntx;
    c->stamp = xmalloc((size_t)c->nstamp * sizeof *c->stamp);
    for (uint32_t v = 0; v < c->ntx; v++) {
        c->stamp[2 * v] = c->tx[v]->begin;
        c->stamp[2 * v + 1] = c->tx[v]->end;
    }
    qsort(c->stamp, c->nstamp, sizeof *c->stamp, cmp_u64);
    for (uint32_t i = 1; i < c->nstamp; i++)
        if (c->stamp[i] == c->stamp[i - 1]) {
            fprintf(stderr, "histcheck: clock stamp %" PRIu64 " used twice\n", c->stamp[i]);
            exit(2);
        }
    for (uint32_t i = 0; i + 1 < c->nstamp; i++)
        add_edge(&c->g, c->ntx + i, c->ntx + i + 1, E_RT, 0);
    for (uint32_t v = 0; v < c->ntx; v++) {
        /* begin - 1 / end + 1: the chain node at exactly that stamp */
        add_edge(&c->g, time_after(c, c->tx[v]->begin - 1), v, E_RT, 0);
        add_edge(&c->g, v, time_before(c, c->tx[v]->end + 1), E_RT, 0);
    }
}

/* Print a cycle among the nodes Kahn's algorithm could not order. */
static void report_cycle(struct ctx *c, const uint32_t *indeg)
{
    struct graph *g = &c->g;
    uint32_t start = NONE;
    for (uint32_t v = 0; v < c->ntx && start == NONE; v++)
        if (indeg[v] > 0)
            start = v;
    for (uint32_t v = c->ntx; v < g->nodes && start == NONE; v++)
        if (indeg[v] > 0)
            start = v;
    /* walk backwards along unsorted predecessors until a node repeats */
    uint32_t *seen = xmalloc(g->nodes * sizeof *seen);
    uint32_t *via = xmalloc(g->nodes * sizeof *via); /* edge taken into v */
    for (uint32_t v = 0; v < g->nodes; v++)
        seen[v] = NONE;
    uint32_t v = start, step = 0;
    while (seen[v] == NONE) {
        seen[v] = step++;
        uint32_t pick = NONE;
        for (uint32_t k = g->in_off[v]; k < g->in_off[v + 1] && pick == NONE; k++)
            if (indeg[g->e[g->in[k]].src] > 0)
                pick = g->in[k];
        via[v] = pick;
        v = g->e[pick].src;
    }
    /* v is on the cycle: print it forwards (the walk went backwards) */
    uint32_t len = 0, *cyc = xmalloc(g->nodes * sizeof *cyc);
    uint32_t u = v;
    do {
        cyc[len++] = via[u];
        u = g->e[via[u]].src;
    } while (u != v);
    if (report(c, H_CYCLE)) {
        fprintf(c->out, "VIOLATION (not serializable): dependency cycle of %u edges:\n", len);
        /* a path through the time chain is one rt edge: it starts at a
         * transaction and ends at the next transaction on the cycle */
        for (uint32_t i = len; i-- > 0;) {
            const struct edge *e = &g->e[cyc[i]];
            if (e->src < c->ntx) {
                fprintf(c->out, "  ");
                print_node(c, e->src);
                if (e->kind == E_RT)
                    fprintf(c->out, " -rt (returned before it was called)-> ");
                else
                    fprintf(c->out, " -%s(var %u)-> ", ekind_name[e->kind], e->var);
            }
            if (e->dst < c->ntx) {
                print_node(c, e->dst);
                fprintf(c->out, "\n");
            }
        }
    }
    free(cyc);
    free(seen);
    free(via);
}

/* Topological order (Kahn); false and a report if there is a cycle. */
static bool topo(struct ctx *c, uint32_t *order)
{
    struct graph *g = &c->g;
    uint32_t *indeg = xcalloc(g->nodes, sizeof *indeg);
    for (size_t i = 0; i < g->ne; i++)
        indeg[g->e[i].dst]++;
    uint32_t head = 0, tail = 0;
    for (uint32_t v = 0; v < g->nodes; v++)
        if (indeg[v] == 0)
            order[tail++] = v;
    while (head < tail) {
        uint32_t v = order[head++];
        for (uint32_t k = g->out_off[v]; k < g->out_off[v + 1]; k++)
            if (--indeg[g->e[g->out[k]].dst] == 0)
                order[tail++] = g->e[g->out[k]].dst;
    }
    bool ok = tail == g->nodes;
    if (!ok)
        report_cycle(c, indeg);
    free(indeg);
    return ok;
}

struct reach {
    uint64_t *bits;
    size_t words;
};

static bool reaches(const struct reach *R, uint32_t from, uint32_t to)
{
    if (from == to)
        return true;
    return (R->bits[(size_t)from * R->words + to / 64] >> (to % 64)) & 1;
}

static void closure(struct ctx *c, const uint32_t *order, struct reach *R)
{
    struct graph *g = &c->g;
    R->words = (g->nodes + 63) / 64;
    R->bits = xcalloc((size_t)g->nodes * R->words, sizeof *R->bits);
    for (uint32_t i = g->nodes; i-- > 0;) {
        uint32_t v = order[i];
        uint64_t *dv = &R->bits[(size_t)v * R->words];
        for (uint32_t k = g->out_off[v]; k < g->out_off[v + 1]; k++) {
            uint32_t w = g->e[g->out[k]].dst;
            const uint64_t *dw = &R->bits[(size_t)w * R->words];
            for (size_t j = 0; j < R->words; j++)
                dv[j] |= dw[j];
            dv[w / 64] |= 1ull << (w % 64);
        }
    }
}

/* The opacity condition for one attempt (see the essay). */
static void check_attempt(struct ctx *c, const struct reach *R, uint32_t node, uint32_t k)
{
    const struct h_txn *t = c->tx[node];
    const struct h_log *l = &c->r->logs[c->tx_thread[node]];
    const struct h_attempt *a = &l->att[t->first_attempt + k];
    bool committed = k + 1 == t->nattempts;
    const char *what = committed ? "committed" : "aborted";

    if (a->flags & H_ATT_OWN_BAD) {
        if (report(c, H_OWN_WRITE)) {
            fprintf(c->out, "VIOLATION (own write): ");
            print_node(c, node);
            fprintf(c->out, " attempt %u (%s) read back something other than its own write\n",
                    k, what);
        }
        return;
    }
    uint64_t b = t->begin, e = t->end;
    for (uint32_t j = k; j-- > 0;)
        if (l->att[t->first_attempt + j].stamp != 0) {
            b = l->att[t->first_attempt + j].stamp;
            break;
        }
    for (uint32_t j = k + 1; j < t->nattempts; j++)
        if (l->att[t->first_attempt + j].stamp != 0) {
            e = l->att[t->first_attempt + j].stamp;
            break;
        }
    /* must be in the prefix: writers read from, and what returned before b;
     * must not: replacers of versions read, and what was called after e */
    enum { MAXR = 256 };
    uint32_t in[MAXR + 1], inr[MAXR + 1], out[MAXR + 1], outr[MAXR + 1];
    uint32_t nin = 0, nout = 0;
    uint32_t tb = time_before(c, b), ta = time_after(c, e);
    if (tb != NONE)
        in[nin] = tb, inr[nin++] = NONE;
    if (ta != NONE)
        out[nout] = ta, outr[nout++] = NONE;
    for (uint32_t i = 0; i < a->nreads && i < MAXR; i++) {
        const struct h_read *rd = &l->rd[a->first_read + i];
        const struct ventry *ve = vfind(&c->vm, rd->val);
        if (ve == NULL || ve->var != rd->var) {
            if (report(c, H_DIRTY_READ)) {
                fprintf(c->out, "VIOLATION (dirty read): ");
                print_node(c, node);
                fprintf(c->out, " attempt %u (%s) read var %u = ", k, what, rd->var);
                print_value(c, rd->val);
                fprintf(c->out, ", a value no committed transaction wrote there\n");
            }
            return;
        }
        if (ve->node == node) {
            if (report(c, H_FUTURE_READ)) {
                fprintf(c->out, "VIOLATION (read from the future): ");
                print_node(c, node);
                fprintf(c->out, " attempt %u (%s) read its own committed write of var %u "
                        "from memory\n", k, what, rd->var);
            }
            return;
        }
        if (ve->node != NONE)
            in[nin] = ve->node, inr[nin++] = i;
        if (ve->succ != NONE && ve->succ != node)
            out[nout] = ve->succ, outr[nout++] = i;
    }
    for (uint32_t i = 0; i < nout; i++)
        for (uint32_t j = 0; j < nin; j++) {
            if (!reaches(R, out[i], in[j]))
                continue;
            if (report(c, committed ? H_COMMITTED_READS : H_ABORTED_READS)) {
                fprintf(c->out, "VIOLATION (%s): ", committed ? "not serializable" : "opacity");
                print_node(c, node);
                fprintf(c->out, " attempt %u (%s) [%" PRIu64 ",%" PRIu64 "]: no prefix fits: ",
                        k, what, b, e);
                if (outr[i] == NONE) {
                    fprintf(c->out, "everything called after it ended");
                } else {
                    const struct h_read *rd = &l->rd[a->first_read + outr[i]];
                    fprintf(c->out, "it read var %u = ", rd->var);
                    print_value(c, rd->val);
                    fprintf(c->out, ", replaced by ");
                    print_node(c, out[i]);
                }
                fprintf(c->out, ", which precedes ");
                if (inr[j] == NONE) {
                    fprintf(c->out, "a transaction that returned before the attempt began\n");
                } else {
                    const struct h_read *rd = &l->rd[a->first_read + inr[j]];
                    fprintf(c->out, "the writer of var %u = ", rd->var);
                    print_value(c, rd->val);
                    fprintf(c->out, " (");
                    print_node(c, in[j]);
                    fprintf(c->out, "), which it also read\n");
                }
            }
            return;
        }
}

uint64_t h_check_round(const struct h_round *r, struct h_result *res, FILE *out)
{
    struct ctx c;
    memset(&c, 0, sizeof c);
    c.r = r;
    c.out = out;
    for (unsigned t = 0; t < r->nthreads; t++) {
        c.ntx += r->logs[t].ntxn;
        res->attempts += r->logs[t].natt;
        res->reads += r->logs[t].nrd;
        res->writes += r->logs[t].nwr;
    }
    res->txns += c.ntx;
    c.tx_thread = xmalloc((size_t)c.ntx * sizeof *c.tx_thread + 1);
    c.tx = xmalloc((size_t)c.ntx * sizeof *c.tx + 1);
    uint32_t v = 0;
    for (unsigned t = 0; t < r->nthreads; t++)
        for (uint32_t i = 0; i < r->logs[t].ntxn; i++) {
            c.tx_thread[v] = t;
            c.tx[v++] = &r->logs[t].txn[i];
            res->aborted += r->logs[t].txn[i].nattempts - 1;
        }
    c.g.ntx = c.ntx;
    c.g.nodes = 3 * c.ntx;
    time_edges(&c);
    versions_and_edges(&c);
    build_csr(&c.g);
    res->edges += c.g.ne;

    uint32_t *order = xmalloc((size_t)c.g.nodes * sizeof *order + 1);
    if (topo(&c, order)) {
        struct reach R;
        closure(&c, order, &R);
        for (uint32_t n = 0; n < c.ntx; n++)
            for (uint32_t k = 0; k < c.tx[n]->nattempts; k++)
                check_attempt(&c, &R, n, k);
        free(R.bits);
    }
    if (c.violations > REPORT_MAX && out != NULL)
        fprintf(out, "... %" PRIu64 " violations in round %u in all\n", c.violations, r->number);
    free(order);
    free(c.g.e);
    free(c.g.out_off);
    free(c.g.out);
    free(c.g.in_off);
    free(c.g.in);
    free(c.stamp);
    free(c.vm.e);
    free(c.tx);
    free(c.tx_thread);
    res->violations += c.violations;
    for (int k = 0; k < H_KINDS; k++)
        res->by_kind[k] += c.by_kind[k];
    return c.violations;
}
