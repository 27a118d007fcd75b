/* Run-time configuration, read once from the environment (see stm(7)). */
#ifndef STM_SRC_CONFIG_H
#define STM_SRC_CONFIG_H

#include "hidden.h"
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

enum stm_config_mode {
    STM_CFG_AUTO = 0,
    STM_CFG_HTM,
    STM_CFG_STM,     /* software: unlogged first attempts, adaptive */
    STM_CFG_SERIAL,
    STM_CFG_NOREC    /* software, NOrec only: every attempt logs its reads */
};

struct stm_config {
    int mode;                     /* enum stm_config_mode: STM_MODE */
    unsigned htm_retries;         /* STM_HTM_RETRIES */
    unsigned htm_capacity_retries;/* STM_HTM_CAPACITY_RETRIES */
    unsigned serial_after;        /* STM_SERIAL_AFTER */
    bool adaptive;                /* STM_ADAPTIVE */
    unsigned stats;               /* STM_STATS: 0, 1, 2 (per site) */
    bool htm_force;               /* STM_HTM_FORCE */
};

/* Defaults and their sources:
 *  - 5 hardware attempts after conflict aborts: Intel's optimization manual
 *    and glibc's lock elision (`__elision_aconf.retry_try_xbegin` = 3) use a
 *    handful; libitm's htm_fastpath retries 2 times.  5 trades a little
 *    more hardware persistence for fewer software fallbacks.
 *  - 1 more attempt after a capacity abort: capacity rarely goes away on
 *    retry (glibc stops at once on a capacity abort without the retry bit);
 *    one retry covers a transient eviction by the sibling hyperthread.
 *  - 100 software aborts before serial: a transaction that fails validation
 *    that often is starved by writers; serial mode guarantees it finishes.
 *    libitm's serial fallback triggers after 100 restarts too
 *    (`abi_disp()->restart` threshold in method-ml).  */
#define STM_CONFIG_DEFAULT_INITIALIZER                                         \
    {                                                                          \
        .mode = STM_CFG_AUTO, .htm_retries = 5, .htm_capacity_retries = 1,     \
        .serial_after = 4, .adaptive = true, .stats = 0,                       \
        .htm_force = false                                                     \
    }

/* Look up an environment variable. */
typedef const char *(*stm_getenv_fn)(const char *name, void *ctx);

/* Fill cfg from the environment seen through get().  Every variable is
 * parsed strictly (the whole string must be a decimal number in range, or
 * one of the listed words); a bad value writes one warning line to `warn`
 * naming the variable, the value and the accepted range, and keeps the
 * default.  Returns the number of warnings. */
int stm_config_parse(struct stm_config *cfg, stm_getenv_fn get, void *ctx,
                     FILE *warn);

/* Parse a whole-string unsigned decimal in [min, max].  No sign, no
 * spaces, no trailing text.  Returns true on success. */
bool stm_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* The process configuration, parsed from getenv() on first use.  Inline:
 * the transaction paths read it on every transaction. */
extern STM_HIDDEN const struct stm_config *stm_config_ready;
const struct stm_config *stm_config_load(void);

static inline const struct stm_config *stm_config(void)
{
    /* acquire pairs with the release store after parsing */
    const struct stm_config *c = __atomic_load_n(&stm_config_ready, __ATOMIC_ACQUIRE);
    if (__builtin_expect(c != NULL, 1))
        return c;
    return stm_config_load();
}

const char *stm_config_mode_name(int mode);

#endif
