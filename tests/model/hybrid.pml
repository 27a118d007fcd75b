/*
 * A Promela model of libstm's two-counter Hybrid NOrec (doc/PROTOCOL.md;
 * Dalessandro et al., ASPLOS 2011, with RH-NOrec's sw_active gate).
 *
 * Memory: two accounts A and B (a bank: A + B == TOTAL), the sequence lock
 * SEQ, the counter HWC (hw_commits) and SWA (sw_active).
 *
 * Hardware transactions are modelled the way the hardware behaves: each
 * keeps a read set (a bit mask) and buffers its writes; every write to
 * memory by anyone else (a software write-back, a CAS of SEQ, a hardware
 * commit, a sw_active update) dooms every hardware transaction whose read
 * set holds that location, and a doomed transaction aborts before its next
 * step.  Its commit (buffered writes applied, hw_commits bumped if
 * sw_active > 0) is one atomic step.  Software transactions are NOrec with
 * the counters, step by step, including the non-atomic write-back.
 *
 * Properties (assertions):
 *  - opacity: a running transaction (hardware not yet doomed, software
 *    after its checks) never holds values of A and B from a state that
 *    never existed: A + B == TOTAL whenever it has read both.  A doomed
 *    hardware transaction is excluded: real hardware aborts it at the
 *    conflict, before it can act.  So no transaction commits after reading
 *    a state that never existed.
 *  - the bank invariant: at the end A + B == TOTAL and every transfer
 *    committed exactly once.
 *
 * With -DLAZY, hardware transactions subscribe to SEQ at commit instead of
 * first thing (lazy subscription): spin must find an opacity violation (a
 * hardware transaction reading a half-written software write-back).
 * With -DNO_GATE, hardware writers never bump hw_commits: spin must find a
 * software transaction reading a mix of states (the counter is needed).
 *
 * With -DSWONLY, the configuration without hardware: unlogged first
 * attempts (TML) beside a logged NOrec writer, and with -DUNDO a serial
 * attempt that undoes an in-place write instead of the unlogged transfer;
 * -DTML_NO_CHECK (unlogged reads not checked against SEQ) and -DTML_ABA
 * (SEQ restored after an undone in-place write) must each be caught.
 *
 * Threads: one software transfer B->A, one hardware transfer A->B and one
 * hardware audit (each hardware transaction tries twice, then re-runs as a
 * software transaction: more threads); SW_WRITERS=2 adds a software
 * transfer A->B.
 */
#define A 0
#define B 1
#define SEQ 2
#define HWC 3
#define SWA 4
#define NLOC 5
#define TOTAL 4
#define NHW 2
#ifndef SW_WRITERS
#define SW_WRITERS 1
#endif

byte mem[NLOC];
bit doomed[NHW];
byte rs[NHW];       /* read set bit masks */
byte committed;     /* transfers committed (each moves 1 from A to B or back) */
short net;          /* transfers A->B minus B->A: B == TOTAL/2 + net */

/* a write by thread `self` (a hardware id, or NHW for software) */
inline wr(loc, val, self) {
    mem[loc] = val;
    i = 0;
    do
    :: i < NHW ->
        if
        :: i != self && (rs[i] & (1 << loc)) -> doomed[i] = 1
        :: else -> skip
        fi;
        i++
    :: else -> break
    od
}

/* ---------------- software (NOrec) ---------------- */
/* read log: two entries at most (A and B) */
inline sw_validate() {
    do
    :: true ->
        atomic { (mem[SEQ] % 2 == 0) -> s = mem[SEQ] };
        h = mem[HWC];
        if
        :: (ra != 255 && mem[A] != ra) || (rb != 255 && mem[B] != rb) -> goto sw_abort
        :: else -> skip
        fi;
        if
        :: mem[SEQ] == s && mem[HWC] == h -> snap = s; hsnap = h; break
        :: else -> skip
        fi
    od
}

/* load, then check the counters; the value joins the log (out) only once
 * it is known to belong to the snapshot */
inline sw_read(loc, out) {
    t = mem[loc];
    do
    :: mem[SEQ] != snap || mem[HWC] != hsnap -> sw_validate(); t = mem[loc]
    :: else -> break
    od;
    out = t
}

/* A software transaction, run until it commits: mode 0 moves 1 from A to
 * B, mode 1 from B to A, mode 2 only reads both (an audit). */
proctype sw(byte mode) {
    byte i, s, h, t, snap, hsnap, ra, rb;
sw_start:
    ra = 255; rb = 255;
    atomic { wr(SWA, mem[SWA] + 1, NHW) };     /* sw_active++ before the snapshot */
    atomic { (mem[SEQ] % 2 == 0) -> snap = mem[SEQ] };
    hsnap = mem[HWC];
    sw_read(A, ra);
    sw_read(B, rb);
    assert(ra + rb == TOTAL);                  /* opacity, software */
    if
    :: mode == 2 -> goto sw_leave              /* read-only: nothing to commit */
    :: else -> skip
    fi;
    /* writer commit: CAS seq snap -> snap+1, revalidating on failure */
    do
    :: atomic { mem[SEQ] == snap -> wr(SEQ, snap + 1, NHW) }; break
    :: atomic { mem[SEQ] != snap }; sw_validate()
    od;
    if
    :: mem[HWC] != hsnap ->
        if
        :: mem[A] != ra || mem[B] != rb -> atomic { wr(SEQ, snap, NHW) }; goto sw_abort
        :: else -> skip
        fi
    :: else -> skip
    fi;
    /* non-atomic write-back: hardware must never see it half done */
    if
    :: mode == 0 -> atomic { wr(A, ra - 1, NHW) }; atomic { wr(B, rb + 1, NHW) }
    :: mode == 1 -> atomic { wr(B, rb - 1, NHW) }; atomic { wr(A, ra + 1, NHW) }
    fi;
    atomic {
        wr(SEQ, snap + 4, NHW);            /* seq moves in steps of 4 */
        committed++;
        if :: mode == 0 -> net++ :: else -> net-- fi
    };
sw_leave:
    atomic { wr(SWA, mem[SWA] - 1, NHW) };
    goto sw_done;
sw_abort:
    atomic { wr(SWA, mem[SWA] - 1, NHW) };
    goto sw_start;
sw_done:
    skip
}

/* ---------------- unlogged attempts (TML) ---------------- */
/* Only where no hardware path exists (the SWONLY configuration): a first
 * attempt with no read log.  A read is good while SEQ == snap (the inline
 * read of stm.h: load, then compare); the first write takes SEQ by CAS
 * from snap and writes in place; any moved SEQ sends the transaction to a
 * logged NOrec attempt (sw).  mode 0: transfer A -> B; 2: audit. */
proctype tml(byte mode) {
    byte i, snap, t, x, y;
    atomic { (mem[SEQ] % 2 == 0) -> snap = mem[SEQ] };
    t = mem[A];
#ifndef TML_NO_CHECK
    if :: mem[SEQ] != snap -> goto tml_relog :: else -> skip fi;
#endif
    x = t;
    t = mem[B];
#ifndef TML_NO_CHECK
    if :: mem[SEQ] != snap -> goto tml_relog :: else -> skip fi;
#endif
    y = t;
    assert(x + y == TOTAL);                    /* opacity, unlogged */
    if
    :: mode == 2 -> goto tml_done
    :: else -> skip
    fi;
    atomic {                                   /* the first write takes SEQ */
        if
        :: mem[SEQ] == snap -> wr(SEQ, snap + 1, NHW)
        :: else -> goto tml_relog
        fi
    };
    atomic { wr(A, x - 1, NHW) };              /* in place, one word at a time */
    atomic { wr(B, y + 1, NHW) };
    atomic { wr(SEQ, snap + 4, NHW); committed++; net++ };
    goto tml_done;
tml_relog:
    run sw(mode);
tml_done:
    skip
}

/* A serial attempt that writes A in place and then undoes it (stm_retry or
 * an orElse branch) and releases SEQ: to snap + 4, because a reader may
 * have loaded the undone value meanwhile.  With -DTML_ABA it restores
 * snap, and spin must find a reader that takes the undone value for the
 * snapshot's. */
proctype undo_writer() {
    byte i, snap, old;
    atomic { (mem[SEQ] % 2 == 0) -> snap = mem[SEQ]; wr(SEQ, snap + 1, NHW) };
    old = mem[A];
    atomic { wr(A, old + 1, NHW) };
    atomic { wr(A, old, NHW) };                /* undo */
#ifdef TML_ABA
    atomic { wr(SEQ, snap, NHW) }
#else
    atomic { wr(SEQ, snap + 4, NHW) }
#endif
}

/* ---------------- hardware ---------------- */
/* a hardware read: abort if doomed, else join the read set */
inline hw_read(id, loc, out) {
    atomic {
        if
        :: doomed[id] -> goto hw_abort
        :: else -> rs[id] = rs[id] | (1 << loc); out = mem[loc]
        fi
    }
}

/* One hardware attempt at a transfer (or, with audit, a read-only sum);
 * on abort: one more attempt after seq is even, then software. */
proctype hw(byte id; bit audit) {
    byte i, x, y, q, tries;
    tries = 0;
hw_start:
    atomic { (mem[SEQ] % 2 == 0) };            /* wait outside: no lemming */
    atomic { doomed[id] = 0; rs[id] = 0 };
#ifndef LAZY
    hw_read(id, SEQ, q);                       /* eager subscription */
    if :: q % 2 == 1 -> goto hw_abort :: else -> skip fi;
#endif
    hw_read(id, A, x);
    hw_read(id, B, y);
    /* the transaction acts on what it read: it must be a real state */
    atomic {
        if
        :: doomed[id] -> goto hw_abort     /* hardware aborts at the conflict */
        :: else -> assert(x + y == TOTAL)
        fi
    };
    if
    :: audit -> skip
    :: else -> hw_read(id, SWA, q)             /* the writer's gate */
    fi;
    /* commit, one atomic step */
    atomic {
        if
        :: doomed[id] -> goto hw_abort
        :: else -> skip
        fi;
#ifdef LAZY
        /* lazy subscription: seq checked only now */
        if :: mem[SEQ] % 2 == 1 -> goto hw_abort :: else -> skip fi;
#endif
        if
        :: !audit ->
            wr(A, x - 1, id); wr(B, y + 1, id);
#ifndef NO_GATE
            if :: mem[SWA] > 0 -> wr(HWC, mem[HWC] + 1, id) :: else -> skip fi;
#endif
            committed++; net++
        :: else -> skip
        fi;
        rs[id] = 0
    };
    goto hw_done;
hw_abort:
    atomic { rs[id] = 0; doomed[id] = 0 };
    tries++;
    if
    :: tries < 2 -> goto hw_start
    :: else -> skip
    fi;
    /* fall back to software */
    if
    :: audit -> run sw(2)
    :: else -> run sw(0)
    fi;
hw_done:
    skip
}

init {
    mem[A] = TOTAL / 2; mem[B] = TOTAL / 2;
#ifdef SWONLY
    /* no hardware path: unlogged first attempts beside a logged writer
     * (-DUNDO: the unlogged transfer replaced by a serial attempt that
     * undoes its write) */
    atomic {
#ifdef UNDO
        run undo_writer();
#else
        run tml(0);
#endif
        run tml(2);
        run sw(1)
    };
    (_nr_pr == 1);
    assert(mem[A] + mem[B] == TOTAL);
#ifdef UNDO
    assert(committed == 1);
#else
    assert(committed == 2);
#endif
    assert(mem[B] == TOTAL / 2 + net)
#else
    atomic {
        run sw(1);
#if SW_WRITERS == 2
        run sw(0);
#endif
        run hw(0, 0);
        run hw(1, 1)
    };
    (_nr_pr == 1);
    assert(mem[A] + mem[B] == TOTAL);
    assert(committed == 1 + SW_WRITERS);
    assert(mem[B] == TOTAL / 2 + net)
#endif
}
