/* STM_HIDDEN: a library-internal variable's declaration.  -fvisibility=
 * hidden marks definitions only; a declaration marked too lets the
 * compiler address the variable directly (one instruction) instead of
 * through the GOT on every access of the hot paths. */
#ifndef STM_CORE_HIDDEN_H
#define STM_CORE_HIDDEN_H

#if defined(__GNUC__) && defined(__ELF__)
#define STM_HIDDEN __attribute__((visibility("hidden")))
#else
#define STM_HIDDEN
#endif

#endif
