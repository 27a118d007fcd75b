/* The real hardware back end, forced past the probe (STM_HTM_FORCE=1
 * STM_MODE=htm), where the instructions execute but every transaction
 * aborts: valgrind (xbegin returns 0x8, capacity) and qemu-ppc64le
 * (tbegin. fails with a persistent TEXASR).  A bank with transfers, a
 * blocking retry and orElse must still commit everything through the
 * software path with its invariant intact, and the stats must show the
 * hardware aborts and no hardware commit.
 *
 * Without the knobs (plain `make check`) the same bank runs on whatever
 * path the probe chose and only the invariants are asserted.  Plain C
 * (no Check), so that tests/cross/ppc64le.sh can build it for POWER.
 * Exit 0 pass, 1 fail. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__) && __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#else
#define RUNNING_ON_VALGRIND 0
#endif

#include "../src/htm/htm.h"
#include "../src/htm/probe.h"
#include "../src/core/config.h"
#include "../src/stm/runtime.h"
#include "stm.h"

#define CHECK(c)                                                               \
    do {                                                                       \
        if (!(c)) {                                                            \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c); \
            exit(1);                                                           \
        }                                                                      \
    } while (0)

enum { ACCOUNTS = 16, THREADS = 3, TRANSFERS = 2000, START = 1000 };
static stm_tvar acct[ACCOUNTS];
static stm_tvar mailbox = STM_TVAR_INIT(0);
static int torn;

struct xfer {
    unsigned from, to;
    intptr_t amount;
};

static intptr_t transfer(stm_tx *tx, void *arg)
{
    const struct xfer *t = arg;
    intptr_t a = stm_read_int(tx, &acct[t->from]);
    stm_write_int(tx, &acct[t->from], a - t->amount);
    intptr_t b = stm_read_int(tx, &acct[t->to]);
    stm_write_int(tx, &acct[t->to], b + t->amount);
    return 0;
}

static intptr_t audit(stm_tx *tx, void *arg)
{
    (void)arg;
    intptr_t sum = 0;
    for (int i = 0; i < ACCOUNTS; i++)
        sum += stm_read_int(tx, &acct[i]);
    if (sum != (intptr_t)ACCOUNTS * START)
        __atomic_store_n(&torn, 1, __ATOMIC_RELAXED);
    return sum;
}

static void *worker(void *p)
{
    unsigned r = (unsigned)(uintptr_t)p * 2654435761u + 7;
    for (int i = 0; i < TRANSFERS; i++) {
        r = r * 1103515245u + 12345u;
        struct xfer t = {(r >> 8) % ACCOUNTS, (r >> 16) % ACCOUNTS, (intptr_t)((r >> 24) % 50)};
        stm_atomically(transfer, &t);
        if (i % 50 == 0)
            stm_atomically(audit, NULL);
    }
    return NULL;
}

/* blocking retry and orElse: a consumer waits for the mailbox */
static intptr_t take(stm_tx *tx, void *arg)
{
    (void)arg;
    uintptr_t v = stm_read(tx, &mailbox);
    if (v == 0)
        stm_retry(tx);
    stm_write(tx, &mailbox, 0);
    return (intptr_t)v;
}

static intptr_t take_or_minus1(stm_tx *tx, void *arg)
{
    (void)arg;
    return -1;
}

static intptr_t poll(stm_tx *tx, void *arg)
{
    return stm_or_else(tx, take, arg, take_or_minus1, arg);
}

static intptr_t put(stm_tx *tx, void *arg)
{
    stm_write(tx, &mailbox, (uintptr_t)arg);
    return 0;
}

static void *consumer(void *p)
{
    (void)p;
    intptr_t got = stm_atomically(take, NULL); /* blocks until put */
    return (void *)got;
}

int main(void)
{
    for (int i = 0; i < ACCOUNTS; i++)
        stm_store(&acct[i], START);
    stm_runtime_init();
    const struct stm_config *cfg = stm_config();
    const struct stm_probe_report *rep = stm_htm_report();
    const char *path = stm_path();
    bool forced = cfg->htm_force && stm_htm_backend != STM_HTM_NONE;
    /* where every hardware attempt is known to abort */
    bool emulator = forced && ((stm_htm_backend == STM_HTM_RTM && RUNNING_ON_VALGRIND) ||
                               (stm_htm_backend == STM_HTM_POWER && !rep->facts.htm));
    printf("path %s, forced %d, emulator (all attempts abort) %d\n", path, forced, emulator);

    stm_stats_reset();
    CHECK(stm_atomically(poll, NULL) == -1); /* empty mailbox: orElse */
    pthread_t c;
    pthread_create(&c, NULL, consumer, NULL);
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        pthread_create(&t[i], NULL, worker, (void *)(intptr_t)(i + 1));
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    stm_atomically(put, (void *)(intptr_t)42);
    void *got;
    pthread_join(c, &got);
    CHECK((intptr_t)got == 42);

    CHECK(stm_atomically(audit, NULL) == (intptr_t)ACCOUNTS * START);
    CHECK(torn == 0);
    struct stm_stats s;
    stm_stats_get(&s);
    stm_stats_print(stdout);
    uint64_t commits = s.commits_htm + s.commits_stm + s.commits_serial;
    /* transfers + audits + poll + take + put + final audit */
    CHECK(commits == (uint64_t)THREADS * (TRANSFERS + TRANSFERS / 50) + 4);
    if (emulator) {
        CHECK(s.commits_htm == 0);
        if (stm_htm_backend == STM_HTM_RTM)
            CHECK(s.aborts_htm_capacity > 0); /* valgrind: status 0x8 */
        else
            CHECK(s.aborts_htm_other > 0); /* qemu: persistent TEXASR */
        printf("hardware path ran for real: every attempt aborted and fell back\n");
    } else if (forced) {
        printf("forced on a CPU whose transactions may commit: invariants only\n");
    } else {
        CHECK(s.aborts_htm_conflict + s.aborts_htm_capacity + s.aborts_htm_explicit +
                  s.aborts_htm_other ==
              0 || stm_htm_backend != STM_HTM_NONE);
    }
    return 0;
}
