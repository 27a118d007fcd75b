/* libstm-itm: GCC's transactional memory (-fgnu-tm) on libstm.  Compiled
 * with -fgnu-tm -O2 and linked against libstm-itm like a user program.
 * Every test is a loop over the paths: _i = 0 runs STM_MODE=auto (the
 * hardware path where the probe finds RTM; this machine's may), 1 forces
 * NOrec, 2 serial.  Each test runs in its own forked process, so the
 * setenv comes before the process's first libstm call. */
#include <complex.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <stm.h>
#include <stm/itm.h>

#include "../check_util.h"

/* The ABI calls a test makes directly (libitm.h is not installed). */
int _ITM_inTransaction(void);
uint64_t _ITM_getTransactionId(void);
void _ITM_addUserCommitAction(void (*)(void *), uint64_t, void *);
void _ITM_addUserUndoAction(void (*)(void *), void *);
void *_ITM_getTMCloneSafe(void *);

static const char *const modes[] = {"auto", "stm", "serial"};

/* ITM_TEST_AUTO replaces "auto" (scripts/test.d/66-itm-sanitizers.sh sets
 * "stm" under ThreadSanitizer, which cannot see that a hardware
 * transaction's plain accesses are atomic and reports races there). */
static void set_mode(int i)
{
    const char *m = modes[i];
    if (i == 0 && getenv("ITM_TEST_AUTO") != NULL)
        m = getenv("ITM_TEST_AUTO");
    setenv("STM_MODE", m, 1);
}

static struct stm_stats stats(void)
{
    struct stm_stats s;
    stm_stats_get(&s);
    return s;
}

/* The commits went where the mode says (auto: wherever the probe says). */
static void assert_path(int i)
{
    struct stm_stats s = stats();
    if (i == 1)
        ck_assert(s.commits_stm > 0 && s.commits_htm == 0);
    if (i == 2)
        ck_assert(s.commits_serial > 0 && s.commits_htm == 0 && s.commits_stm == 0);
}

/* ----------------------------------------------------------- types */

typedef int v2si __attribute__((vector_size(8)));
typedef float v4sf __attribute__((vector_size(16)));

static uint8_t g_u1;
static uint16_t g_u2;
static uint32_t g_u4;
static uint64_t g_u8;
static float g_f;
static double g_d;
static long double g_e;
static float _Complex g_cf;
static double _Complex g_cd;
static long double _Complex g_ce;
static v2si g_m64;
static v4sf g_m128;

START_TEST(every_type)
{
    set_mode(_i);
    for (int round = 0; round < 2; round++) {
        /* round 0 commits, round 1 cancels: nothing may change */
        int k = round == 0 ? 3 : 7;
        __transaction_atomic {
            g_u1 = (uint8_t)(g_u1 + k);
            g_u2 = (uint16_t)(g_u2 + 1000 * k);
            g_u4 += 100000u * k;
            g_u8 += 10000000000ull * k;
            g_f += 0.5f * k;
            g_d += 0.25 * k;
            g_e += 0.125L * k;
            g_cf += (0.5f + 1.0fi) * k;
            g_cd += (0.25 + 2.0i) * k;
            g_ce += (0.125L + 4.0Li) * k;
            g_m64 += (v2si){1, 2} * k;
            g_m128 += (v4sf){1, 2, 3, 4} * (float)k;
            if (round == 1)
                __transaction_cancel;
        }
    }
    ck_assert_uint_eq(g_u1, 3);
    ck_assert_uint_eq(g_u2, 3000);
    ck_assert_uint_eq(g_u4, 300000u);
    ck_assert(g_u8 == 30000000000ull);
    ck_assert(g_f == 1.5f && g_d == 0.75 && g_e == 0.375L);
    ck_assert(g_cf == (0.5f + 1.0fi) * 3 && g_cd == (0.25 + 2.0i) * 3);
    ck_assert(g_ce == (0.125L + 4.0Li) * 3);
    ck_assert(g_m64[0] == 3 && g_m64[1] == 6);
    ck_assert(g_m128[0] == 3 && g_m128[3] == 12);
    assert_path(_i);
}
END_TEST

/* ---------------------------------------------- unaligned, straddling */

struct __attribute__((packed)) odd {
    uint8_t pad;
    uint32_t a;  /* offset 1 */
    uint64_t b;  /* offset 5: straddles the 8-byte word boundary */
    uint16_t c;  /* offset 13 */
    uint8_t tail;
};
static _Alignas(64) struct odd g_odd = {0x11, 0, 0, 0, 0x22};

START_TEST(unaligned_and_straddling)
{
    set_mode(_i);
    __transaction_atomic {
        g_odd.a = 0xa1a2a3a4u;
        g_odd.b = 0xb1b2b3b4b5b6b7b8ull;
        g_odd.c = 0xc1c2;
        /* read back inside: from the redo log, merged with memory */
        if (g_odd.a != 0xa1a2a3a4u || g_odd.b != 0xb1b2b3b4b5b6b7b8ull)
            __transaction_cancel;
    }
    ck_assert_uint_eq(g_odd.a, 0xa1a2a3a4u);
    ck_assert(g_odd.b == 0xb1b2b3b4b5b6b7b8ull);
    ck_assert_uint_eq(g_odd.c, 0xc1c2);
    ck_assert_uint_eq(g_odd.pad, 0x11);  /* neighbours untouched */
    ck_assert_uint_eq(g_odd.tail, 0x22);
    /* a cancelled straddling write leaves every byte as it was */
    __transaction_atomic {
        g_odd.b = 0;
        __transaction_cancel;
    }
    ck_assert(g_odd.b == 0xb1b2b3b4b5b6b7b8ull);
    assert_path(_i);
}
END_TEST

/* ------------------------------------------- adjacent-byte writers */

#define NBYTES 8
#define INCS 250
static _Alignas(64) uint8_t g_bytes[NBYTES];

static void *byte_writer(void *arg)
{
    long me = (long)arg;
    for (int round = 0; round < 20; round++) {
        for (int k = 0; k < INCS; k++)
            __transaction_atomic { g_bytes[me]++; }
        uint8_t v;
        __transaction_atomic { v = g_bytes[me]; g_bytes[me] = 0; }
        if (v != INCS)
            return (void *)1; /* a neighbour's write-back lost ours */
    }
    return NULL;
}

START_TEST(adjacent_byte_writers)
{
    set_mode(_i);
    pthread_t th[NBYTES];
    for (long i = 0; i < NBYTES; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, byte_writer, (void *)i), 0);
    for (int i = 0; i < NBYTES; i++) {
        void *r;
        pthread_join(th[i], &r);
        ck_assert_ptr_null(r);
    }
    assert_path(_i);
}
END_TEST

/* ------------------------------------------- memcpy, memmove, memset */

static char g_buf[64];

START_TEST(memory_functions)
{
    set_mode(_i);
    for (int i = 0; i < 64; i++)
        g_buf[i] = (char)i;
    __transaction_atomic {
        memmove(g_buf + 1, g_buf, 20);   /* overlapping, forwards */
        memmove(g_buf + 30, g_buf + 33, 10); /* overlapping, backwards */
        memset(g_buf + 50, 0x7e, 7);
        memcpy(g_buf + 60, g_buf + 1, 3);
    }
    ck_assert_int_eq(g_buf[0], 0);
    for (int i = 1; i <= 20; i++)
        ck_assert_int_eq(g_buf[i], i - 1);
    for (int i = 30; i < 40; i++)
        ck_assert_int_eq(g_buf[i], i + 3);
    for (int i = 50; i < 57; i++)
        ck_assert_int_eq(g_buf[i], 0x7e);
    ck_assert_int_eq(g_buf[57], 57);
    ck_assert(g_buf[60] == 0 && g_buf[61] == 1 && g_buf[62] == 2 && g_buf[63] == 63);
    char before[64];
    memcpy(before, g_buf, 64);
    __transaction_atomic {
        memset(g_buf, 0, 64);
        __transaction_cancel;
    }
    ck_assert(memcmp(before, g_buf, 64) == 0);
}
END_TEST

/* ------------------------------------------------------------ cancel */

static int g_x;

START_TEST(cancel_in_loop)
{
    set_mode(_i);
    /* libitm 12.2 leaves 30 here at -O2 (serial-irrevocable default) */
    for (int i = 0; i < 3; i++)
        __transaction_atomic {
            g_x += 10;
            if (i == 1)
                __transaction_cancel;
        }
    ck_assert_int_eq(g_x, 20);
}
END_TEST

static long g_sum;
static int g_cancel_on = 1;

static void *cancel_worker(void *arg)
{
    (void)arg;
    for (int i = 0; i < 20000; i++)
        __transaction_atomic {
            g_sum += 3;
            if (i % 2 == g_cancel_on)
                __transaction_cancel;
        }
    return NULL;
}

START_TEST(cancel_many_threads)
{
    set_mode(_i);
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&th[i], NULL, cancel_worker, NULL);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    ck_assert_int_eq(g_sum, 4 * 10000 * 3);
}
END_TEST

static int g_a, g_b;

static void __attribute__((transaction_may_cancel_outer, noinline)) cancel_outer_fn(void)
{
    __transaction_cancel [[outer]];
}

START_TEST(cancel_nested_and_outer)
{
    set_mode(_i);
    __transaction_atomic {
        g_a = 1;
        __transaction_atomic {
            g_b = 1;
            __transaction_cancel; /* the inner one only */
        }
    }
    ck_assert(g_a == 1 && g_b == 0);
    __transaction_atomic [[outer]] {
        g_a = 2;
        __transaction_atomic {
            g_b = 2;
            cancel_outer_fn();
        }
    }
    ck_assert(g_a == 1 && g_b == 0);
    ck_assert_int_eq(_ITM_inTransaction(), 0);
}
END_TEST

/* ------------------------------------------------- relaxed with I/O */

START_TEST(relaxed_with_io)
{
    set_mode(_i);
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    int state = -1;
    for (int i = 0; i < 5; i++)
        __transaction_relaxed {
            g_x++;
            fprintf(f, "%d;", g_x); /* unsafe: the transaction goes irrevocable */
            state = _ITM_inTransaction();
        }
    fclose(f);
    ck_assert_str_eq(out, "1;2;3;4;5;"); /* each printed exactly once */
    ck_assert_int_eq(state, 2);           /* inIrrevocableTransaction */
    free(out);
    ck_assert(stats().commits_serial >= 5);
}
END_TEST

/* ------------------------------------------------------ clone tables */

static int g_calls;
static int __attribute__((transaction_safe, noinline)) add1(int v) { g_calls++; return v + 1; }
static int __attribute__((transaction_safe, noinline)) add2(int v) { g_calls += 2; return v + 2; }
typedef int (*safe_fn)(int) __attribute__((transaction_safe));
static safe_fn g_fp = add1;

START_TEST(function_pointers)
{
    set_mode(_i);
    ck_assert_ptr_nonnull(_ITM_getTMCloneSafe((void *)add1));
    int r = 0;
    __transaction_atomic {
        r = g_fp(10);
        g_fp = add2;
    }
    __transaction_atomic { r += g_fp(100); }
    __transaction_atomic {
        r += g_fp(1000);
        __transaction_cancel; /* the clone's write of g_calls is undone */
    }
    ck_assert_int_eq(r, 11 + 102);
    ck_assert_int_eq(g_calls, 3);
}
END_TEST

/* ---------------------------------- malloc/free under concurrent readers */

struct node {
    long val;
    struct node *next;
};
static struct node *g_head;
static volatile int g_stop;

static void *list_reader(void *arg)
{
    (void)arg;
    long bad = 0;
    while (!g_stop) {
        long n = 0, sum = 0;
        __transaction_atomic {
            n = 0;
            sum = 0;
            for (struct node *p = g_head; p != NULL; p = p->next) {
                n++;
                sum += p->val; /* every node holds 7 while it is linked */
            }
        }
        if (sum != 7 * n)
            bad++;
    }
    return (void *)bad;
}

static void *list_writer(void *arg)
{
    (void)arg;
    for (int i = 0; i < 20000; i++) {
        if (i % 2 == 0) {
            __transaction_atomic {
                struct node *p = malloc(sizeof *p);
                p->val = 7;
                p->next = g_head;
                g_head = p;
            }
        } else {
            __transaction_atomic {
                struct node *p = g_head;
                if (p != NULL) {
                    g_head = p->next;
                    p->val = -1; /* a reader that still sees it must abort */
                    free(p);
                }
            }
        }
    }
    return NULL;
}

START_TEST(malloc_free_under_readers)
{
    set_mode(_i);
    pthread_t r[2], w[2];
    for (int i = 0; i < 2; i++) {
        pthread_create(&r[i], NULL, list_reader, NULL);
        pthread_create(&w[i], NULL, list_writer, NULL);
    }
    for (int i = 0; i < 2; i++)
        pthread_join(w[i], NULL);
    g_stop = 1;
    for (int i = 0; i < 2; i++) {
        void *bad;
        pthread_join(r[i], &bad);
        ck_assert_ptr_null(bad);
    }
    /* an allocation in a cancelled transaction is released (ASan/LSan and
     * valgrind see a leak otherwise) */
    __transaction_atomic {
        struct node *p = malloc(sizeof *p);
        p->next = g_head;
        g_head = p;
        __transaction_cancel;
    }
    while (g_head != NULL) {
        struct node *p = g_head;
        g_head = p->next;
        free(p);
    }
}
END_TEST

/* ------------------- __transaction_atomic and stm_atomically together */

#define ACCOUNTS 16
#define START 1000
static stm_tvar g_acct[ACCOUNTS];

struct xfer {
    int from, to;
    intptr_t amount;
};

static intptr_t stm_transfer(stm_tx *tx, void *arg)
{
    struct xfer *x = arg;
    stm_write_int(tx, &g_acct[x->from], stm_read_int(tx, &g_acct[x->from]) - x->amount);
    stm_write_int(tx, &g_acct[x->to], stm_read_int(tx, &g_acct[x->to]) + x->amount);
    return 0;
}

static intptr_t stm_total(stm_tx *tx, void *arg)
{
    (void)arg;
    intptr_t s = 0;
    for (int i = 0; i < ACCOUNTS; i++)
        s += stm_read_int(tx, &g_acct[i]);
    return s;
}

/* the same words through the TM ABI: TVars are plain words to it */
static intptr_t *word(int i)
{
    return (intptr_t *)&g_acct[i].word;
}

static void *mixed_worker(void *arg)
{
    long me = (long)arg;
    unsigned seed = (unsigned)me * 7919u + 1;
    long bad = 0;
    for (int i = 0; i < 20000; i++) {
        seed = seed * 1103515245u + 12345u;
        struct xfer x = {(int)(seed >> 8) % ACCOUNTS, (int)(seed >> 16) % ACCOUNTS,
                         (intptr_t)(seed >> 24) % 50};
        if (me % 2 == 0) {
            __transaction_atomic {
                *word(x.from) -= x.amount;
                *word(x.to) += x.amount;
            }
        } else {
            stm_atomically(stm_transfer, &x);
        }
        if (i % 64 == 0) {
            intptr_t s = 0;
            if (me % 2 == 0) {
                __transaction_atomic {
                    s = 0;
                    for (int k = 0; k < ACCOUNTS; k++)
                        s += *word(k);
                }
            } else {
                s = stm_atomically(stm_total, NULL);
            }
            if (s != ACCOUNTS * START)
                bad++;
        }
    }
    return (void *)bad;
}

START_TEST(mixed_with_stm_atomically)
{
    set_mode(_i);
    for (int i = 0; i < ACCOUNTS; i++)
        stm_store(&g_acct[i], START);
    pthread_t th[4];
    for (long i = 0; i < 4; i++)
        pthread_create(&th[i], NULL, mixed_worker, (void *)i);
    for (int i = 0; i < 4; i++) {
        void *bad;
        pthread_join(th[i], &bad);
        ck_assert_ptr_null(bad);
    }
    ck_assert_int_eq(stm_atomically(stm_total, NULL), ACCOUNTS * START);
}
END_TEST

/* Opacity: writers keep a == b; a reader that saw a torn pair would divide
 * by zero (SIGFPE) inside the transaction, before any commit check. */
static long g_p, g_q;
static volatile int g_opacity_stop;

static void *pair_writer(void *arg)
{
    (void)arg;
    for (long i = 0; i < 30000; i++)
        __transaction_atomic {
            g_p = g_p + 1;
            g_q = g_q + 1;
        }
    return NULL;
}

static intptr_t stm_pair_reader(stm_tx *tx, void *arg)
{
    (void)tx;
    (void)arg;
    return 0;
}

static void *pair_reader(void *arg)
{
    (void)arg;
    long n = 0;
    while (!g_opacity_stop) {
        long r;
        __transaction_atomic { r = 100 / (1 + g_p - g_q); }
        n += r == 100;
        stm_atomically(stm_pair_reader, NULL);
    }
    return (void *)n;
}

START_TEST(opacity_pair)
{
    set_mode(_i);
    pthread_t w[2], r;
    pthread_create(&r, NULL, pair_reader, NULL);
    for (int i = 0; i < 2; i++)
        pthread_create(&w[i], NULL, pair_writer, NULL);
    for (int i = 0; i < 2; i++)
        pthread_join(w[i], NULL);
    g_opacity_stop = 1;
    void *n;
    pthread_join(r, &n);
    ck_assert(g_p == 60000 && g_q == 60000);
}
END_TEST

/* ------------------------------------------------------------- retry */

static long g_balance;

static void *withdrawer(void *arg)
{
    (void)arg;
    for (int i = 0; i < 50; i++)
        __transaction_atomic {
            if (g_balance < 10)
                stm_itm_retry(); /* sleeps until g_balance changes */
            g_balance -= 10;
        }
    return NULL;
}

static void retry_irrevocable(void *arg)
{
    (void)arg;
    __transaction_relaxed {
        printf("irrevocable now\n");
        stm_itm_retry();
    }
}

START_TEST(retry_misuse_reported)
{
    struct check_child c;
    check_child(retry_irrevocable, NULL, &c);
    ck_assert(WIFSIGNALED(c.status) && WTERMSIG(c.status) == SIGABRT);
    ck_assert_ptr_nonnull(strstr(c.err, "libstm: stm_itm_retry: called in an irrevocable transaction"));
}
END_TEST

static intptr_t stm_deposit(stm_tx *tx, void *arg)
{
    (void)tx;
    (void)arg;
    return 0;
}

START_TEST(retry_wakes)
{
    set_mode(_i);
    pthread_t th;
    pthread_create(&th, NULL, withdrawer, NULL);
    for (int i = 0; i < 100; i++) {
        __transaction_atomic { g_balance += 5; }
        if (i % 10 == 0)
            usleep(1000); /* let the withdrawer block now and then */
    }
    pthread_join(th, NULL);
    stm_atomically(stm_deposit, NULL);
    ck_assert_int_eq(g_balance, 0);
    ck_assert(stats().retries_blocked > 0 || _i == 0);
}
END_TEST

/* Wake-ups across the two APIs: an stm_atomically writer wakes a
 * __transaction_atomic waiter, and a __transaction_atomic writer wakes an
 * stm_retry waiter (one table of waiters, keyed by word address). */
static stm_tvar g_flag_a, g_flag_b;

static void *itm_waiter(void *arg)
{
    (void)arg;
    uintptr_t v;
    __transaction_atomic {
        v = g_flag_a.word;
        if (v == 0)
            stm_itm_retry();
    }
    return (void *)v;
}

static intptr_t wait_b(stm_tx *tx, void *arg)
{
    (void)arg;
    uintptr_t v = stm_read(tx, &g_flag_b);
    if (v == 0)
        stm_retry(tx);
    return (intptr_t)v;
}

static void *stm_waiter(void *arg)
{
    (void)arg;
    return (void *)stm_atomically(wait_b, NULL);
}

static intptr_t set_a(stm_tx *tx, void *arg)
{
    (void)arg;
    stm_write(tx, &g_flag_a, 7);
    return 0;
}

START_TEST(retry_across_apis)
{
    set_mode(_i);
    pthread_t a, b;
    pthread_create(&a, NULL, itm_waiter, NULL);
    pthread_create(&b, NULL, stm_waiter, NULL);
    usleep(20000); /* usually both are asleep by now; either way they wake */
    stm_atomically(set_a, NULL);
    __transaction_atomic { g_flag_b.word = 9; }
    void *ra, *rb;
    pthread_join(a, &ra);
    pthread_join(b, &rb);
    ck_assert_int_eq((intptr_t)ra, 7);
    ck_assert_int_eq((intptr_t)rb, 9);
}
END_TEST

/* ------------------------------- the transaction's own (callee) stack */

/* fill() writes and reads a callee's local array through a pointer, so the
 * compiler instruments those accesses; they must not be written back into
 * (or validated against) dead frames after with_local() returns, where
 * libstm-itm's own frames live by then. */
static long g_y;
static int __attribute__((transaction_safe, noinline)) fill(int *a, int n)
{
    int s = 0;
    for (int i = 0; i < n; i++)
        a[i] = i + (int)g_y % 2;
    for (int i = 0; i < n; i++)
        s += a[i];
    return s;
}

static int __attribute__((transaction_safe, noinline)) with_local(void)
{
    int a[64];
    return fill(a, 64);
}

static void *stack_worker(void *arg)
{
    (void)arg;
    for (int i = 0; i < 5000; i++) {
        int r = 0;
        __transaction_atomic {
            r = with_local();
            g_y += 2;
        }
        if (r != 64 * 63 / 2)
            return (void *)1;
    }
    return NULL;
}

START_TEST(callee_stack)
{
    set_mode(_i);
    pthread_t th[3];
    for (int i = 0; i < 3; i++)
        pthread_create(&th[i], NULL, stack_worker, NULL);
    for (int i = 0; i < 3; i++) {
        void *r;
        pthread_join(th[i], &r);
        ck_assert_ptr_null(r);
    }
    ck_assert_int_eq(g_y, 3 * 5000 * 2);
}
END_TEST

/* --------------------------------------------------------- user actions */

static int g_committed, g_undone;
static void on_commit(void *p) { *(int *)p += 1; }
static void on_undo(void *p) { *(int *)p += 1; }

static void __attribute__((transaction_pure)) add_actions(void)
{
    _ITM_addUserCommitAction(on_commit, _ITM_getTransactionId(), &g_committed);
    _ITM_addUserUndoAction(on_undo, &g_undone);
}

START_TEST(user_actions)
{
    set_mode(_i);
    __transaction_atomic { g_x++; add_actions(); }
    __transaction_atomic { g_x++; add_actions(); __transaction_cancel; }
    ck_assert_int_eq(g_committed, 1);
    ck_assert_int_eq(g_undone, 1);
    ck_assert_int_eq(g_x, 1);
    ck_assert(_ITM_getTransactionId() == 1); /* _ITM_noTransactionId */
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("itm");
    TCase *tc = tcase_create("abi");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, every_type, 0, 3);
    tcase_add_loop_test(tc, unaligned_and_straddling, 0, 3);
    tcase_add_loop_test(tc, adjacent_byte_writers, 0, 3);
    tcase_add_loop_test(tc, memory_functions, 0, 3);
    tcase_add_loop_test(tc, cancel_in_loop, 0, 3);
    tcase_add_loop_test(tc, cancel_many_threads, 0, 3);
    tcase_add_loop_test(tc, cancel_nested_and_outer, 0, 3);
    tcase_add_loop_test(tc, relaxed_with_io, 0, 3);
    tcase_add_loop_test(tc, function_pointers, 0, 3);
    tcase_add_loop_test(tc, malloc_free_under_readers, 0, 3);
    tcase_add_loop_test(tc, mixed_with_stm_atomically, 0, 3);
    tcase_add_loop_test(tc, opacity_pair, 0, 3);
    tcase_add_loop_test(tc, retry_wakes, 0, 3);
    tcase_add_loop_test(tc, user_actions, 0, 3);
    tcase_add_loop_test(tc, callee_stack, 0, 3);
    tcase_add_loop_test(tc, retry_across_apis, 0, 3);
    tcase_add_test(tc, retry_misuse_reported);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return check_run_suite(suite());
}
