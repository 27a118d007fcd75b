/* The life cycle of one attempt, shared by every back end: enter (count in
 * sw_active, open the RCU read-side section), exit, abort (undo and jump
 * back to the front's restart point) and the clean-up after a commit.
 * Back ends call these; they never call the front (src/stm/). */
#ifndef STM_SRC_ATTEMPT_H
#define STM_SRC_ATTEMPT_H

#include <stdbool.h>

#include "tx.h"

/* Before a software or serial attempt takes its snapshot: count it in
 * sw_active when a hardware path may run (see the essay in
 * src/fallback/norec.c, case (b)) and enter the RCU read-side section that
 * keeps retired blocks alive while the attempt may still read them. */
void stm_attempt_enter(stm_tx *tx);

/* Undo stm_attempt_enter.  The seq lock must already be released. */
void stm_attempt_exit(stm_tx *tx);

/* Abandon the current software attempt: release what it holds (seq, if
 * serial; the read-side section; sw_active), undo its side effects and
 * longjmp to the front's restart point (tx->abort_jb) with `reason`. */
__attribute__((noreturn)) void stm_tx_abort(stm_tx *tx, enum stm_abort_reason reason);

/* After a software or serial commit (the back end has exited): release the
 * logged frees, clear the logs, leave the transaction; wake blocked
 * threads if `wake`. */
void stm_attempt_committed(stm_tx *tx, bool wake);

/* The thread exits inside a transaction: release what the attempt holds. */
void stm_tx_leave_for_exit(stm_tx *tx);

#endif
