/*
 * A Promela model of libstm's blocking retry with precise wake-ups
 * (src/stm/wait.c, doc/PROTOCOL.md "Blocking retry").
 *
 * Processes: a waiter whose transaction read X == 0 and retries; a writer
 * of X (X := 1), which commits either as a software writer (seq lock,
 * `waiters` loaded after the CAS, write-back, release) or as a hardware
 * transaction (reads `waiters` and X's bucket count and writes X in one
 * atomic step; no wake-up when the count is zero); a software writer of
 * an unrelated TVar Y.  With -DCOLLIDE, Y hashes to X's
 * bucket (the writer of Y then sees a non-zero count and walks the
 * bucket's list).
 *
 * The waiter registers (waiters++, then under the bucket lock its node
 * for X and count++), then loops: clear its sleeping bit and read the wake
 * count v; wait for an even seq and re-check X; CAS its word from v to
 * v|1; futex_wait(v|1).  A writer that saw waiters != 0 loads the count of
 * the bucket of each address it wrote and, if non-zero, under the bucket
 * lock bumps the word of every waiter with a node for that address
 * (clearing the sleeping bit) and futex_wakes it if the bit was set.
 * Lock-protected sections are atomic steps; the kernel's futex_wait is
 * "block unless the word differs", futex_wake releases the sleeper.
 *
 * Properties:
 *  - no lost wake-up: the waiter never stays asleep after X changed (spin
 *    reports the blocked waiter as an invalid end state);
 *  - precision: the writer of Y never wakes the waiter (assertion).
 * Mutations that spin must catch (else the model is too weak):
 *  -DLOAD_BEFORE_LOCK  the software writer loads `waiters` before its CAS
 *  -DNO_BUMP           a writer wakes a sleeping waiter without bumping
 *                      its word (the wake can precede the waiter's sleep)
 */
#define X_ADDR 1
#define Y_ADDR 2

byte X, Y;          /* the TVars */
byte SEQ;           /* the NOrec sequence lock */
byte WAITERS;       /* threads registered */
byte CNT_X;         /* registrations in X's bucket */
#ifdef COLLIDE
#define CNT_Y CNT_X
#else
byte CNT_Y;
#endif
bit NODE_X;         /* the waiter's node for X is in the bucket list */
byte FUTEX;         /* the waiter's word: wake count * 2 + sleeping bit */
bit SLEEPING;       /* the waiter is in the kernel's futex queue */
byte woken_by_y;

/* A registered waiter's word: bump (or not), and wake if it slept. */
inline wake_waiter() {
    atomic {
#ifdef NO_BUMP
        need = FUTEX & 1;
#else
        need = FUTEX & 1;
        FUTEX = (FUTEX & 254) + 2;
#endif
    }
    if
    :: need -> SLEEPING = 0
    :: else -> skip
    fi
}

/* After the commit: wake the waiters registered on address `a` of bucket
 * count `cnt`. */
inline wake_for(a, cnt) {
    if
    :: w != 0 ->
        c = cnt;
        if
        :: c != 0 ->
            atomic { /* under the bucket lock: is there a node for a? */
                found = NODE_X && a == X_ADDR;
            }
            if
            :: found ->
                if
                :: a == Y_ADDR -> woken_by_y++
                :: else -> skip
                fi;
                wake_waiter()
            :: else -> skip
            fi
        :: else -> skip
        fi
    :: else -> skip
    fi
}

/* A software writer of address a: seq lock, waiters, write-back, release. */
inline sw_commit(a) {
#ifdef LOAD_BEFORE_LOCK
    w = WAITERS;
#endif
    atomic { (SEQ % 2 == 0) -> SEQ++ }
#ifndef LOAD_BEFORE_LOCK
    w = WAITERS;
#endif
    if
    :: a == X_ADDR -> X = 1
    :: else -> Y = Y + 1
    fi;
    SEQ++
}

proctype writer_x() {
    byte w, c, need, hwc;
    bit found;
    if
    :: sw_commit(X_ADDR)
    :: atomic { /* hardware: waiters and the count read in the transaction */
           (SEQ % 2 == 0) -> w = WAITERS; hwc = CNT_X; X = 1
       }
       if
       :: w != 0 && hwc == 0 -> w = 0 /* nothing registered: no wake-up */
       :: else -> skip
       fi
    fi;
    wake_for(X_ADDR, CNT_X)
}

proctype writer_y() {
    byte w, c, need;
    bit found;
    sw_commit(Y_ADDR);
    wake_for(Y_ADDR, CNT_Y);
    assert(woken_by_y == 0)
}

proctype waiter() {
    byte x0, v;
    /* the attempt: a consistent read of X */
    atomic { (SEQ % 2 == 0) -> x0 = X }
    if
    :: x0 != 0 -> goto finished /* no retry: X already changed */
    :: else -> skip
    fi;
    /* stm_retry: register */
    WAITERS++;
    atomic { NODE_X = 1; CNT_X++ }
loop:
    atomic { FUTEX = FUTEX & 254; v = FUTEX }
    (SEQ % 2 == 0);                 /* re-check at an even seq */
    if
    :: X != x0 -> goto leave
    :: else -> skip
    fi;
    atomic {                        /* CAS v -> v|1: about to sleep */
        if
        :: FUTEX == v -> FUTEX = v | 1
        :: else -> goto loop
        fi
    }
    atomic {                        /* futex_wait(v|1) */
        if
        :: FUTEX != (v | 1) -> skip
        :: else -> SLEEPING = 1
        fi
    }
    (SLEEPING == 0);
    goto loop;
leave:
    atomic { NODE_X = 0; CNT_X-- }
    WAITERS--;
finished:
    assert(X == 1)
}

init {
    atomic {
        run waiter();
        run writer_x();
        run writer_y()
    }
}
