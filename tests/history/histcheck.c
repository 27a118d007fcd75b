/*
 * histcheck: random transactions on several threads, recorded and checked
 * offline for strict serializability and opacity (checker.c).
 *
 *   histcheck [-t THREADS] [-n TXNS] [-k TVARS] [--seed S] [--round R]
 *             [--emu PERCENT] [--yield PERCENT] [--loads PERCENT] [--no-alloc]
 *             [--until-violation ROUNDS] [-q]
 *
 * THREADS workers each commit TXNS transactions, in rounds of R per
 * thread; one more thread (the waker) writes while a worker may be blocked
 * in stm_retry, so every blocking retry is eventually woken.  The path is
 * whatever libstm picks (STM_MODE, the probe); --emu selects the emulated
 * hardware back end with PERCENT of its attempts failing (every cause).
 * Exit status: 0 clean, 1 a violation was found, 2 usage or set-up error.
 * The last line says what ran: "histcheck: path=P threads=N+waker
 * rounds=R transactions=T (loads L) attempts=A (B aborted) hw-aborts=H
 * ...": T committed transactions were checked (L of them single stm_load
 * calls, checked as one-read transactions), A attempts had their reads
 * checked (B of which aborted), and libstm counted H hardware aborts
 * (on rtm and power-htm those are not among the A; on emu-htm the ones
 * that ran their body are).
 *
 * What a transaction does (an op list drawn before the call, the same in
 * every attempt): reads, and read-modify-writes of K TVars and of the TVars
 * inside blocks that a pointer TVar designates; replacing such a block (a
 * new stm_alloc block, stm_free of the old one); nested stm_atomically
 * calls; stm_or_else whose first branch retries at random; a blocking
 * stm_retry until a TVar was last written by another thread;
 * stm_irrevocable in some transactions that cannot retry; sched_yield
 * inside software attempts (more interleavings on a loaded machine).
 * Besides transactions, --loads PERCENT (default 10) of a worker's
 * operations are two stm_load calls in a row, each checked as a one-read
 * transaction.
 * Every written value is unique: the writer's thread, transaction number,
 * attempt number and write number packed into the word.
 *
 * What is recorded, per attempt: the body appends to a thread-local log
 * (outside TVars, so it survives the abort of a software or emulated
 * attempt, whose body simply runs again) the values it read from memory,
 * and whether a read of its own write returned that write.  A real
 * hardware attempt's log writes roll back with it: hardware attempts are
 * recorded only when they commit (the count of hardware aborts comes from
 * stm_stats).  Per committed transaction: its writes with the value each
 * replaced, and stamps of one global clock taken before the call and
 * after it returns.  Software attempts also stamp their start; hardware
 * ones do not (a shared write there would make every pair conflict),
 * which only widens the time bounds the checker uses.
 */
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../src/htm/htm.h"
#include "../../src/stm/runtime.h"
#include "history.h"
#include "stm.h"

#if UINTPTR_MAX != UINT64_MAX
#error "histcheck packs 64-bit values into TVars"
#endif

/* ---- configuration ------------------------------------------------------ */

static struct {
    unsigned threads, per_thread, round, nplain;
    unsigned nblocks, per_block;
    uint64_t seed;
    int emu_pct;          /* -1: no emulation */
    unsigned yield_pct;
    bool alloc;
    unsigned loads_pct;   /* of a worker's operations: stm_load pairs */
    unsigned until_violation; /* >0: keep going up to this many rounds */
    bool quiet;
} cfg = {4, 500, 125, 8, 2, 4, 1, -1, 2, true, 10, 0, false};

enum { MAXOPS = 40, MAXDEPTH = 3 };

/* ---- shared state ------------------------------------------------------- */

struct padded_tvar {
    stm_tvar tv;
} __attribute__((aligned(64))); /* one per line: no false hardware conflicts */

static struct padded_tvar *plain;  /* nplain TVars */
static struct padded_tvar *slot;   /* nblocks pointer TVars */
struct hblock {
    stm_tvar tv[1]; /* per_block of them */
};
static unsigned nvars;             /* nplain + nblocks * per_block */

static uint64_t hclock;            /* the global clock; stamps start at 1 */
static uint64_t nloads;            /* stm_load calls recorded */
static unsigned workers_done;      /* in the current round */
static unsigned in_retry_txn;      /* workers inside a blocking-retry txn */
static pthread_barrier_t round_start, round_end;
static bool stop;                  /* set by main before round_start */
static bool hw_possible;           /* the path is rtm: xtest is valid */

static uint64_t tick(void)
{
    /* acq_rel: a stamp read after another thread's stamp also sees what
     * that thread did before it, so stamp order implies happens-before */
    return __atomic_add_fetch(&hclock, 1, __ATOMIC_ACQ_REL);
}

/* Inside a hardware transaction right now?  xtest exists only with RTM or
 * HLE, so only on the rtm path.  Elsewhere (POWER) hardware attempts just
 * also stamp: correct, only slower, and they all fail under qemu. */
static inline bool in_hw(void)
{
#if defined(__x86_64__)
    if (!hw_possible)
        return false;
    unsigned char r;
    __asm__ volatile(".byte 0x0f,0x01,0xd6\n\tsetnz %0" : "=r"(r)::"cc"); /* xtest */
    return r;
#else
    return false;
#endif
}

/* ---- values ------------------------------------------------------------- */

/* thread 10 bits (0 = initial value), transaction 26, attempt 16, write 12 */
static uint64_t make_val(uint64_t tid, uint64_t seq, uint64_t att, uint64_t w)
{
    return tid << 54 | (seq & 0x3ffffff) << 28 | (att & 0xffff) << 12 | (w & 0xfff);
}

static unsigned val_thread(uint64_t v)
{
    return (unsigned)(v >> 54);
}

static uint64_t mix(uint64_t x)
{
    x ^= x >> 31;
    x *= 0x7fb5d329728ea185ull;
    x ^= x >> 27;
    return x;
}

/* ---- transactions as op lists ------------------------------------------ */

enum opkind {
    OP_READ, OP_RMW,             /* plain TVar x */
    OP_BREAD, OP_BRMW,           /* TVar i of the block in slot b */
    OP_BREPLACE,                 /* new block for slot b, free the old */
    OP_NEST,                     /* the next n1 ops in a nested call */
    OP_ORELSE,                   /* next n1 ops (then a coin retry on x) or
                                    else the n2 after them */
    OP_RETRY_OTHER,              /* retry until x was last written by another
                                    thread (blocks: the waker wakes it) */
    OP_YIELD,
    OP_IRREVOCABLE               /* only in a transaction that cannot retry */
};

struct op {
    uint8_t kind;
    uint16_t x, i;
    uint16_t n1, n2;
};

struct worker {
    unsigned tid;        /* 1..threads; the waker is threads + 1 */
    uint64_t rng;
    struct h_log log;
    struct op ops[MAXOPS];
    unsigned nops;
    bool blocking;       /* ops contain OP_RETRY_OTHER */
    uint32_t seq;        /* transaction number (over all rounds) */
    uint32_t attempt;
    uint32_t wcount;
    /* shadow of this attempt's accesses, valid where sgen == gen */
    uint32_t gen;
    uint32_t *sgen;
    uint64_t *own;       /* the attempt's current write, 0 = none */
    uint64_t *mem;       /* the first value read from memory, 0 = none */
    /* journal of own writes (old value), for orElse roll-back and harvest */
    struct jentry {
        uint32_t var;
        uint64_t old;
    } *jr;
    uint32_t njr, capjr;
    uint32_t cur_att;    /* index of the running attempt's record */
    pthread_t thread;
};

static struct worker *workers; /* threads + 1 (the waker last) */

static uint64_t rnd(struct worker *w)
{
    w->rng ^= w->rng >> 12;
    w->rng ^= w->rng << 25;
    w->rng ^= w->rng >> 27;
    return w->rng * 0x2545f4914f6cdd1dull;
}

static unsigned below(struct worker *w, unsigned n)
{
    return (unsigned)(rnd(w) % n);
}

static void fail(const char *msg)
{
    fprintf(stderr, "histcheck: %s\n", msg);
    exit(2);
}

/* Append ops for one sequence of at most `room` ops; returns how many. */
static unsigned gen_ops(struct worker *w, unsigned at, unsigned room, unsigned depth,
                        bool may_block)
{
    unsigned n = 0, want = 1 + below(w, depth == 0 ? 8 : 4);
    while (want-- > 0 && n < room) {
        struct op *o = &w->ops[at + n];
        memset(o, 0, sizeof *o);
        unsigned r = below(w, 100);
        o->x = (uint16_t)below(w, cfg.nplain);
        if (cfg.yield_pct > 0 && below(w, 100) < cfg.yield_pct) {
            o->kind = OP_YIELD;
            n++;
            continue;
        }
        if (r < 32) {
            o->kind = OP_READ;
        } else if (r < 64) {
            o->kind = OP_RMW;
        } else if (r < 80 && cfg.alloc) {
            o->kind = r < 72 ? OP_BREAD : r < 78 ? OP_BRMW : OP_BREPLACE;
            o->x = (uint16_t)below(w, cfg.nblocks);
            o->i = (uint16_t)below(w, cfg.per_block);
        } else if (r < 87 && depth < MAXDEPTH && room - n >= 2) {
            o->kind = OP_NEST;
            o->n1 = (uint16_t)gen_ops(w, at + n + 1, room - n - 1, depth + 1, may_block);
            n += o->n1;
        } else if (r < 95 && depth < MAXDEPTH && room - n >= 3) {
            o->kind = OP_ORELSE;
            /* no blocking retry inside a branch: it would just switch
             * branches, or block the whole transaction on the coin */
            o->n1 = (uint16_t)gen_ops(w, at + n + 1, (room - n - 1) / 2, depth + 1, false);
            o->n2 = (uint16_t)gen_ops(w, at + n + 1 + o->n1, room - n - 1 - o->n1, depth + 1,
                                      false);
            n += o->n1 + o->n2;
        } else if (r < 98 && may_block) {
            o->kind = OP_RETRY_OTHER;
            w->blocking = true;
        } else {
            o->kind = OP_READ;
        }
        n++;
    }
    return n;
}

/* One transaction in 32 that cannot retry (stm_retry after
 * stm_irrevocable is misuse) turns irrevocable at a random top-level op. */
static void maybe_irrevocable(struct worker *w)
{
    if (w->nops >= MAXOPS || below(w, 32) != 0)
        return;
    for (unsigned k = 0; k < w->nops; k++)
        if (w->ops[k].kind == OP_ORELSE || w->ops[k].kind == OP_RETRY_OTHER)
            return;
    unsigned at = below(w, w->nops + 1);
    /* top level: not inside a nested call's range */
    for (unsigned k = 0; k < w->nops; k++)
        if (w->ops[k].kind == OP_NEST) {
            if (at > k && at <= k + w->ops[k].n1)
                at = k + w->ops[k].n1 + 1;
            k += w->ops[k].n1;
        }
    memmove(&w->ops[at + 1], &w->ops[at], (w->nops - at) * sizeof w->ops[0]);
    w->ops[at] = (struct op){OP_IRREVOCABLE, 0, 0, 0, 0};
    w->nops++;
}

/* ---- recording ---------------------------------------------------------- */

static void shadow_touch(struct worker *w, uint32_t var)
{
    if (w->sgen[var] != w->gen) {
        w->sgen[var] = w->gen;
        w->own[var] = 0;
        w->mem[var] = 0;
    }
}

static uint64_t rec_read(stm_tx *tx, struct worker *w, uint32_t var, const stm_tvar *tv)
{
    uint64_t v = stm_read(tx, tv);
    shadow_touch(w, var);
    struct h_attempt *a = &w->log.att[w->cur_att];
    if (w->own[var] != 0) {
        if (v != w->own[var])
            a->flags |= H_ATT_OWN_BAD;
        return v;
    }
    if (w->mem[var] == 0)
        w->mem[var] = v;
    if (w->log.nrd == w->log.cap_rd) /* software only: reserved for hardware */
        h_log_reserve(&w->log, 0, 256, 0);
    w->log.rd[w->log.nrd++] = (struct h_read){var, v};
    a->nreads++;
    return v;
}

static uint64_t next_val(struct worker *w)
{
    if (w->wcount >= 0xfff)
        fail("more than 4095 writes in one attempt");
    return make_val(w->tid, w->seq, w->attempt, w->wcount++);
}

static void journal(struct worker *w, uint32_t var, uint64_t val)
{
    if (w->njr == w->capjr)
        fail("write journal overflow"); /* sized for MAXOPS */
    w->jr[w->njr++] = (struct jentry){var, w->own[var]};
    w->own[var] = val;
}

static void rec_write(stm_tx *tx, struct worker *w, uint32_t var, stm_tvar *tv)
{
    shadow_touch(w, var);
    if (w->mem[var] == 0)
        fail("internal: a write without a read before it"); /* every write is RMW */
    uint64_t v = next_val(w);
    journal(w, var, v);
    stm_write(tx, tv, v);
}

/* ---- running ops -------------------------------------------------------- */

static void run_ops(stm_tx *tx, struct worker *w, const struct op *ops, unsigned n);

struct seq_arg {
    struct worker *w;
    const struct op *ops;
    unsigned n;
    uint32_t mark;   /* journal length at the orElse */
    uint16_t coin;   /* first branch: the TVar whose value decides a retry */
};

static intptr_t nest_body(stm_tx *tx, void *p)
{
    struct seq_arg *a = p;
    run_ops(tx, a->w, a->ops, a->n);
    return 0;
}

static intptr_t first_branch(stm_tx *tx, void *p)
{
    struct seq_arg *a = p;
    run_ops(tx, a->w, a->ops, a->n);
    uint64_t v = rec_read(tx, a->w, a->coin, &plain[a->coin].tv);
    if (mix(v) & 1)
        stm_retry(tx);
    return 0;
}

static intptr_t second_branch(stm_tx *tx, void *p)
{
    struct seq_arg *a = p;
    struct worker *w = a->w;
    /* the first branch's writes are undone; its reads stay */
    while (w->njr > a->mark) {
        w->njr--;
        w->own[w->jr[w->njr].var] = w->jr[w->njr].old;
    }
    run_ops(tx, w, a->ops, a->n);
    return 0;
}

static uint32_t block_var(unsigned b, unsigned i)
{
    return cfg.nplain + b * cfg.per_block + i;
}

static void run_ops(stm_tx *tx, struct worker *w, const struct op *ops, unsigned n)
{
    for (unsigned k = 0; k < n; k++) {
        const struct op *o = &ops[k];
        switch (o->kind) {
        case OP_READ:
            rec_read(tx, w, o->x, &plain[o->x].tv);
            break;
        case OP_RMW:
            rec_read(tx, w, o->x, &plain[o->x].tv);
            rec_write(tx, w, o->x, &plain[o->x].tv);
            break;
        case OP_BREAD:
        case OP_BRMW: {
            struct hblock *b = stm_read_ptr(tx, &slot[o->x].tv);
            rec_read(tx, w, block_var(o->x, o->i), &b->tv[o->i]);
            if (o->kind == OP_BRMW)
                rec_write(tx, w, block_var(o->x, o->i), &b->tv[o->i]);
            break;
        }
        case OP_BREPLACE: {
            struct hblock *old = stm_read_ptr(tx, &slot[o->x].tv);
            for (unsigned i = 0; i < cfg.per_block; i++)
                rec_read(tx, w, block_var(o->x, i), &old->tv[i]);
            struct hblock *nb = stm_alloc(tx, cfg.per_block * sizeof(stm_tvar));
            if (nb == NULL)
                fail("stm_alloc failed");
            for (unsigned i = 0; i < cfg.per_block; i++) {
                /* private until the commit publishes it: plain init */
                uint64_t v = next_val(w);
                journal(w, block_var(o->x, i), v);
                stm_tvar_init(&nb->tv[i], v);
            }
            stm_write_ptr(tx, &slot[o->x].tv, nb);
            stm_free(tx, old);
            break;
        }
        case OP_NEST: {
            struct seq_arg a = {w, o + 1, o->n1, 0, 0};
            stm_atomically(nest_body, &a);
            k += o->n1;
            break;
        }
        case OP_ORELSE: {
            struct seq_arg a1 = {w, o + 1, o->n1, w->njr, o->x};
            struct seq_arg a2 = {w, o + 1 + o->n1, o->n2, w->njr, 0};
            stm_or_else(tx, first_branch, &a1, second_branch, &a2);
            k += o->n1 + o->n2;
            break;
        }
        case OP_RETRY_OTHER: {
            /* not after writing x itself: that value would never change */
            uint64_t v = rec_read(tx, w, o->x, &plain[o->x].tv);
            if (w->own[o->x] == 0 && val_thread(v) == w->tid)
                stm_retry(tx);
            break;
        }
        case OP_YIELD:
            if (!in_hw())
                sched_yield();
            break;
        case OP_IRREVOCABLE:
            stm_irrevocable(tx);
            break;
        }
    }
}

static intptr_t txn_body(stm_tx *tx, void *p)
{
    struct worker *w = p;
    bool hw = in_hw();
    if (!hw) /* a software attempt may grow the log; hardware ones are reserved */
        h_log_reserve(&w->log, 1, 0, 0);
    w->cur_att = w->log.natt++;
    w->log.att[w->cur_att] = (struct h_attempt){hw ? 0 : tick(), w->log.nrd, 0, hw ? H_ATT_HW : 0};
    w->attempt++;
    w->gen++;
    w->njr = 0;
    w->wcount = 0;
    run_ops(tx, w, w->ops, w->nops);
    return 0;
}

/* Run w->ops as one transaction and record it. */
static void run_txn(struct worker *w)
{
    struct h_log *l = &w->log;
    h_log_reserve(l, 1, MAXOPS * (cfg.per_block + 2), MAXOPS * cfg.per_block + 1);
    uint32_t first_att = l->natt, first_wr = l->nwr;
    w->seq++;
    w->attempt = 0;
    uint64_t begin = tick();
    stm_atomically(txn_body, w);
    uint64_t end = tick();
    /* harvest the committed attempt's writes: the newest value per var */
    for (uint32_t j = w->njr; j-- > 0;) {
        uint32_t var = w->jr[j].var;
        if (w->own[var] == 0)
            continue; /* harvested already, or rolled back by an orElse */
        l->wr[l->nwr++] = (struct h_write){var, w->own[var], w->mem[var]};
        w->own[var] = 0;
    }
    l->txn[l->ntxn++] = (struct h_txn){begin, end, first_att, l->natt - first_att, first_wr,
                                       l->nwr - first_wr, w->seq};
}

/* stm_load outside any transaction, recorded as a committed read-only
 * transaction of one read: strict serializability then also says that a
 * load never sees a commit that an earlier load of the same thread
 * missed, nor misses one that an earlier load saw.  Two loads in a row. */
static void run_loads(struct worker *w)
{
    struct h_log *l = &w->log;
    for (int k = 0; k < 2; k++) {
        h_log_reserve(l, 1, 1, 0);
        unsigned x = below(w, cfg.nplain);
        w->seq++;
        uint64_t begin = tick();
        uint64_t v = stm_load(&plain[x].tv);
        uint64_t end = tick();
        l->att[l->natt] = (struct h_attempt){0, l->nrd, 1, 0};
        l->rd[l->nrd++] = (struct h_read){x, v};
        l->txn[l->ntxn++] = (struct h_txn){begin, end, l->natt++, 1, l->nwr, 0, w->seq};
    }
    __atomic_fetch_add(&nloads, 2, __ATOMIC_RELAXED);
}

static void *worker_main(void *p)
{
    struct worker *w = p;
    for (;;) {
        pthread_barrier_wait(&round_start);
        if (__atomic_load_n(&stop, __ATOMIC_ACQUIRE))
            return NULL;
        for (unsigned i = 0; i < cfg.round; i++) {
            if (cfg.loads_pct > 0 && below(w, 100) < cfg.loads_pct) {
                run_loads(w);
                continue;
            }
            w->blocking = false;
            w->nops = gen_ops(w, 0, MAXOPS, 0, true);
            maybe_irrevocable(w);
            if (w->blocking)
                __atomic_fetch_add(&in_retry_txn, 1, __ATOMIC_SEQ_CST);
            run_txn(w);
            if (w->blocking)
                __atomic_fetch_sub(&in_retry_txn, 1, __ATOMIC_SEQ_CST);
        }
        __atomic_fetch_add(&workers_done, 1, __ATOMIC_RELEASE);
        pthread_barrier_wait(&round_end);
    }
}

/* While a worker may be blocked in stm_retry: read-modify-write the plain
 * TVars in turn (a write by another thread is what a blocked worker waits
 * for), recorded like any transaction. */
static void *waker_main(void *p)
{
    struct worker *w = p;
    unsigned next = 0;
    for (;;) {
        pthread_barrier_wait(&round_start);
        if (__atomic_load_n(&stop, __ATOMIC_ACQUIRE))
            return NULL;
        while (__atomic_load_n(&workers_done, __ATOMIC_ACQUIRE) < cfg.threads) {
            if (__atomic_load_n(&in_retry_txn, __ATOMIC_SEQ_CST) > 0) {
                w->ops[0] = (struct op){OP_RMW, (uint16_t)(next++ % cfg.nplain), 0, 0, 0};
                w->nops = 1;
                run_txn(w);
            }
            usleep(50);
        }
        pthread_barrier_wait(&round_end);
    }
}

/* ---- set-up and the rounds ---------------------------------------------- */

static intptr_t make_blocks(stm_tx *tx, void *p)
{
    (void)p;
    for (unsigned b = 0; b < cfg.nblocks; b++) {
        struct hblock *nb = stm_alloc(tx, cfg.per_block * sizeof(stm_tvar));
        if (nb == NULL)
            fail("stm_alloc failed");
        for (unsigned i = 0; i < cfg.per_block; i++)
            stm_tvar_init(&nb->tv[i], make_val(0, 0, 0, 1 + block_var(b, i)));
        stm_write_ptr(tx, &slot[b].tv, nb);
    }
    return 0;
}

static intptr_t free_blocks(stm_tx *tx, void *p)
{
    (void)p;
    for (unsigned b = 0; b < cfg.nblocks; b++)
        stm_free(tx, stm_read_ptr(tx, &slot[b].tv));
    return 0;
}

static void snapshot(uint64_t *vals)
{
    for (unsigned x = 0; x < cfg.nplain; x++)
        vals[x] = stm_load(&plain[x].tv);
    for (unsigned b = 0; b < cfg.nblocks; b++) {
        const struct hblock *blk = (const struct hblock *)stm_load(&slot[b].tv);
        for (unsigned i = 0; i < cfg.per_block; i++)
            vals[block_var(b, i)] = stm_load(&blk->tv[i]);
    }
}

static unsigned parse_uint(const char *s, const char *what, unsigned lo, unsigned hi)
{
    char *end;
    unsigned long v = strtoul(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v < lo || v > hi) {
        fprintf(stderr, "histcheck: %s must be %u..%u, not '%s'\n", what, lo, hi, s);
        exit(2);
    }
    return (unsigned)v;
}

static void usage(void)
{
    fprintf(stderr, "usage: histcheck [-t THREADS] [-n TXNS per thread] [-k TVARS] [--seed S]\n"
                    "                 [--round TXNS per thread per round] [--emu PERCENT]\n"
                    "                 [--yield PERCENT] [--loads PERCENT] [--no-alloc]\n"
                    "                 [--until-violation ROUNDS] [-q]\n");
    exit(2);
}

static void parse(int argc, char **argv)
{
    static const struct option opts[] = {
        {"threads", required_argument, NULL, 't'}, {"txns", required_argument, NULL, 'n'},
        {"tvars", required_argument, NULL, 'k'},   {"seed", required_argument, NULL, 's'},
        {"round", required_argument, NULL, 'r'},   {"emu", required_argument, NULL, 'e'},
        {"yield", required_argument, NULL, 'y'},   {"no-alloc", no_argument, NULL, 'A'},
        {"loads", required_argument, NULL, 'l'},
        {"until-violation", required_argument, NULL, 'u'},
        {"quiet", no_argument, NULL, 'q'},         {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "t:n:k:s:r:q", opts, NULL)) != -1) {
        switch (c) {
        case 't': cfg.threads = parse_uint(optarg, "-t", 1, 1000); break;
        case 'n': cfg.per_thread = parse_uint(optarg, "-n", 1, 50000000); break;
        case 'k': cfg.nplain = parse_uint(optarg, "-k", 1, 30000); break;
        case 's': cfg.seed = strtoull(optarg, NULL, 0); break;
        case 'r': cfg.round = parse_uint(optarg, "--round", 1, 100000); break;
        case 'e': cfg.emu_pct = (int)parse_uint(optarg, "--emu", 0, 100); break;
        case 'y': cfg.yield_pct = parse_uint(optarg, "--yield", 0, 100); break;
        case 'A': cfg.alloc = false; break;
        case 'l': cfg.loads_pct = parse_uint(optarg, "--loads", 0, 100); break;
        case 'u': cfg.until_violation = parse_uint(optarg, "--until-violation", 1, 1000000); break;
        case 'q': cfg.quiet = true; break;
        default: usage();
        }
    }
    if (optind != argc)
        usage();
    if (cfg.round > cfg.per_thread)
        cfg.round = cfg.per_thread;
    /* the checker keeps a reachability bitset over 3 nodes per transaction
     * of a round: about (3 * transactions)^2 / 8 bytes, 72 MB at 8000 */
    if ((uint64_t)cfg.threads * cfg.round > 8000) {
        cfg.round = 8000 / cfg.threads ? 8000 / cfg.threads : 1;
        if (!cfg.quiet)
            printf("--round lowered to %u (checker memory)\n", cfg.round);
    }
    if (!cfg.alloc)
        cfg.nblocks = 0;
}

/* histcheck-broken (STM_TEST_BROKEN_VALIDATION: the library copy it links
 * never fails a validation) succeeds when the checker catches that: it
 * runs rounds until a violation is reported, on the software path unless
 * STM_MODE says otherwise, without block replacement (a stale replacer
 * would free a block twice, which libstm reports as misuse and aborts
 * before the checker could say anything). */
#ifdef STM_TEST_BROKEN_VALIDATION
#define BROKEN 1
#else
#define BROKEN 0
#endif

int main(int argc, char **argv)
{
    if (BROKEN) {
        setenv("STM_MODE", "stm", 0);
        cfg.until_violation = 400;
        cfg.alloc = false;
        cfg.yield_pct = 10;
    }
    parse(argc, argv);
    stm_runtime_init();
    if (cfg.emu_pct >= 0) {
        stm_emu_enable();
        stm_emu_seed(cfg.seed, (unsigned)cfg.emu_pct);
    }
    const char *path = stm_path();
    hw_possible = strcmp(path, "rtm") == 0;
    nvars = cfg.nplain + cfg.nblocks * cfg.per_block;

    plain = aligned_alloc(64, cfg.nplain * sizeof *plain);
    slot = aligned_alloc(64, (cfg.nblocks + 1) * sizeof *slot);
    uint64_t *init = malloc(nvars * sizeof *init), *final = malloc(nvars * sizeof *final);
    workers = calloc(cfg.threads + 1, sizeof *workers);
    struct h_log *logs = calloc(cfg.threads + 1, sizeof *logs);
    if (!plain || !slot || !init || !final || !workers || !logs)
        fail("out of memory");
    for (unsigned x = 0; x < cfg.nplain; x++)
        stm_tvar_init(&plain[x].tv, make_val(0, 0, 0, 1 + x));
    for (unsigned b = 0; b < cfg.nblocks; b++)
        stm_tvar_init(&slot[b].tv, 0);
    if (cfg.nblocks > 0)
        stm_atomically(make_blocks, NULL);

    pthread_barrier_init(&round_start, NULL, cfg.threads + 2);
    pthread_barrier_init(&round_end, NULL, cfg.threads + 2);
    for (unsigned t = 0; t <= cfg.threads; t++) {
        struct worker *w = &workers[t];
        w->tid = t + 1;
        w->rng = mix(cfg.seed * 0x9e3779b97f4a7c15ull + t + 1) | 1;
        h_log_init(&w->log);
        w->sgen = calloc(nvars, sizeof *w->sgen);
        w->own = calloc(nvars, sizeof *w->own);
        w->mem = calloc(nvars, sizeof *w->mem);
        w->capjr = MAXOPS * (cfg.per_block + 1) + 1;
        w->jr = calloc(w->capjr, sizeof *w->jr);
        if (!w->sgen || !w->own || !w->mem || !w->jr)
            fail("out of memory");
        if (pthread_create(&w->thread, NULL, t < cfg.threads ? worker_main : waker_main, w) != 0)
            fail("pthread_create failed");
    }

    struct h_result res;
    memset(&res, 0, sizeof res);
    unsigned rounds = 0;
    unsigned max_rounds = cfg.until_violation ? cfg.until_violation
                                              : (cfg.per_thread + cfg.round - 1) / cfg.round;
    snapshot(init);
    struct stm_stats s0;
    stm_stats_reset();
    while (rounds < max_rounds) {
        __atomic_store_n(&workers_done, 0, __ATOMIC_RELAXED);
        pthread_barrier_wait(&round_start);
        pthread_barrier_wait(&round_end);
        snapshot(final);
        for (unsigned t = 0; t <= cfg.threads; t++)
            logs[t] = workers[t].log;
        struct h_round r = {cfg.threads + 1, nvars, logs, init, final, rounds};
        uint64_t bad = h_check_round(&r, &res, stdout);
        for (unsigned t = 0; t <= cfg.threads; t++)
            h_log_clear(&workers[t].log);
        memcpy(init, final, nvars * sizeof *init);
        rounds++;
        if (!cfg.quiet && bad == 0 && !cfg.until_violation)
            printf("round %u: %" PRIu64 " transactions so far, clean\n", rounds, res.txns);
        if (bad > 0 && cfg.until_violation)
            break;
    }
    __atomic_store_n(&stop, true, __ATOMIC_RELEASE);
    pthread_barrier_wait(&round_start);
    for (unsigned t = 0; t <= cfg.threads; t++)
        pthread_join(workers[t].thread, NULL);
    stm_stats_get(&s0);
    if (cfg.nblocks > 0)
        stm_atomically(free_blocks, NULL);

    uint64_t hw_aborts = s0.aborts_htm_conflict + s0.aborts_htm_capacity +
                         s0.aborts_htm_explicit + s0.aborts_htm_other;
    printf("%s: path=%s threads=%u+waker rounds=%u transactions=%" PRIu64
           " (loads %" PRIu64 ") attempts=%" PRIu64 " (%" PRIu64 " aborted) hw-aborts=%" PRIu64
           " commits(hw/sw/serial)=%" PRIu64 "/%" PRIu64 "/%" PRIu64 " blocked=%" PRIu64
           " reads=%" PRIu64 " writes=%" PRIu64 " edges=%" PRIu64 " violations=%" PRIu64 "%s\n",
           BROKEN ? "histcheck-broken" : "histcheck", path, cfg.threads, rounds, res.txns, nloads,
           res.attempts, res.aborted, hw_aborts,
           s0.commits_htm, s0.commits_stm, s0.commits_serial, s0.retries_blocked, res.reads,
           res.writes, res.edges, res.violations,
           !BROKEN ? "" : res.violations ? ": the checker caught the broken validation"
                                         : ": NOT CAUGHT: the checker missed the broken validation");
    for (unsigned t = 0; t <= cfg.threads; t++) {
        h_log_free(&workers[t].log);
        free(workers[t].sgen);
        free(workers[t].own);
        free(workers[t].mem);
        free(workers[t].jr);
    }
    free(workers);
    free(logs);
    free(init);
    free(final);
    free(plain);
    free(slot);
    pthread_barrier_destroy(&round_start);
    pthread_barrier_destroy(&round_end);
    if (res.violations > 0) {
        printf("violations by kind:");
        for (int k = 0; k < H_KINDS; k++)
            if (res.by_kind[k] > 0)
                printf(" %s %" PRIu64, h_kind_name[k], res.by_kind[k]);
        printf("\n");
    }
    if (BROKEN)
        return res.violations ? 0 : 1;
    return res.violations ? 1 : 0;
}
