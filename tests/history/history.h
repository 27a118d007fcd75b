/* A recorded transactional history and its offline checker.
 *
 * The workload (histcheck.c) records, per thread and per round, every
 * committed transaction (its real-time interval and its writes) and every
 * attempt of it that it could observe (the values it read from memory).
 * The checker (checker.c) decides whether that history is strictly
 * serializable and opaque.  The model:
 *
 *  - Variables are numbered 0..nvars-1 ("logical" variables: a TVar, or
 *    slot i of whatever block a pointer TVar currently points to).  Every
 *    value ever written is unique, so a value names its writer.
 *  - Every committed write is a read-modify-write: the transaction read the
 *    variable from memory before writing it, and `prev` is the value it
 *    read.  So the version order of each variable is the chain init ->
 *    writer of prev -> ... (each version replaced by at most one writer).
 *  - Time: stamps come from one global counter taken before a transaction
 *    starts and after it returns, and at the start of every software
 *    attempt; they are unique and ordered like real time (happens-before).
 *  - A round starts and ends with every thread quiescent: rounds are
 *    checked one at a time from the state the previous one left.
 */
#ifndef STM_TESTS_HISTORY_H
#define STM_TESTS_HISTORY_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct h_read {
    uint32_t var;
    uint64_t val;
};

struct h_write {
    uint32_t var;
    uint64_t val;   /* the value the transaction left in var */
    uint64_t prev;  /* the value it read from memory before writing */
};

enum {
    H_ATT_HW = 1,         /* recorded inside a hardware transaction */
    H_ATT_OWN_BAD = 2,    /* a read of its own write returned something else */
};

struct h_attempt {
    uint64_t stamp;       /* global clock at the start of the body; 0 when
                             the body ran in hardware (no shared write
                             there: it would conflict) */
    uint32_t first_read, nreads;
    uint32_t flags;
};

/* A committed transaction: attempts [first_attempt, +nattempts), the last
 * one committed; writes [first_write, +nwrites). */
struct h_txn {
    uint64_t begin, end;  /* stamps before the call and after it returned */
    uint32_t first_attempt, nattempts;
    uint32_t first_write, nwrites;
    uint32_t seq;         /* the thread's transaction number */
};

struct h_log {
    struct h_txn *txn;
    struct h_attempt *att;
    struct h_read *rd;
    struct h_write *wr;
    uint32_t ntxn, natt, nrd, nwr;
    uint32_t cap_txn, cap_att, cap_rd, cap_wr;
};

/* One round: the logs of every thread, and the value of every variable
 * when the round started and when it ended. */
struct h_round {
    unsigned nthreads, nvars;
    const struct h_log *logs;
    const uint64_t *init, *final;
    unsigned number;
};

/* Kinds of violation, as the checker reports them. */
enum h_kind {
    H_DUPLICATE,      /* one value committed twice */
    H_WRITE_OVER,     /* a write replaced a value nobody committed */
    H_LOST_UPDATE,    /* two writers replaced the same version */
    H_VERSION_ORDER,  /* versions do not chain to what memory holds */
    H_CYCLE,          /* the dependency graph has a cycle */
    H_OWN_WRITE,      /* reading its own write returned something else */
    H_DIRTY_READ,     /* an attempt read a value nobody committed there */
    H_FUTURE_READ,    /* an attempt read its own commit's value from memory */
    H_COMMITTED_READS,/* a committed attempt's reads fit no prefix */
    H_ABORTED_READS,  /* an aborted attempt's reads fit no prefix (opacity) */
    H_KINDS
};
extern const char *const h_kind_name[H_KINDS];

struct h_result {
    uint64_t txns, attempts, aborted, reads, writes, edges;
    uint64_t violations;
    uint64_t by_kind[H_KINDS];
};

/* Check one round; print each violation (up to a limit) to out; add the
 * counts to *res.  Returns the number of violations found in this round. */
uint64_t h_check_round(const struct h_round *r, struct h_result *res, FILE *out);

/* Log storage (grows by doubling; new memory is touched so that a hardware
 * transaction writing to it does not page-fault). */
void h_log_init(struct h_log *l);
void h_log_clear(struct h_log *l);
void h_log_free(struct h_log *l);
/* Make room for one more transaction with up to `reads` reads and
 * `writes` writes, so that a hardware attempt never grows the log. */
void h_log_reserve(struct h_log *l, uint32_t attempts, uint32_t reads, uint32_t writes);

#endif
