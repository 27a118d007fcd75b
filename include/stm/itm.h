/* libstm-itm: GCC's transactional memory (-fgnu-tm) on libstm.
 *
 * Programs written with __transaction_atomic, __transaction_relaxed,
 * __transaction_cancel and transaction_safe functions link libstm-itm
 * instead of libitm:
 *
 *     gcc -fgnu-tm prog.c $(pkg-config --cflags --libs libstm-itm)
 *
 * or run unchanged with LD_PRELOAD=libstm-itm.so.0.  Their transactions
 * then take libstm's paths (hardware TM, NOrec, serial; the STM_*
 * environment variables apply) and are atomic with respect to
 * stm_atomically transactions in the same process.  libstm-itm contains
 * the whole libstm runtime and exports its API (<stm.h>): a program that
 * uses both links libstm-itm only.  See stm-itm(7).
 *
 * This header adds what the ABI lacks: blocking retry. */
#ifndef STM_ITM_H
#define STM_ITM_H

#ifdef __cplusplus
extern "C" {
#endif

/* Haskell's retry in a C block: abandon the enclosing transaction (the
 * outermost one: everything it did is undone) and block until a location
 * it read changes, then run it again.  Call it only inside
 * __transaction_atomic or __transaction_relaxed (elsewhere: reported as
 * misuse); a transaction that read nothing could never wake (misuse too).
 * In hardware the transaction re-runs in software, where it blocks.
 *
 *     __transaction_atomic {
 *         if (balance < amount)
 *             stm_itm_retry();          // sleeps until balance changes
 *         balance -= amount;
 *     }
 */
#if defined(__GNUC__) && !defined(__clang__)
void stm_itm_retry(void) __attribute__((transaction_safe, noreturn));
#else
void stm_itm_retry(void) __attribute__((noreturn));
#endif

#ifdef __cplusplus
}
#endif

#endif
