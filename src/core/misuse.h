/* Reporting misuse and fatal conditions: a message naming the call on
 * stderr, then abort().  Misuse never silently corrupts state. */
#ifndef STM_SRC_MISUSE_H
#define STM_SRC_MISUSE_H

__attribute__((noreturn, format(printf, 2, 3), cold))
void stm_fatal(const char *call, const char *fmt, ...);

#endif
