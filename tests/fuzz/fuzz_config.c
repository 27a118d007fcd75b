/* libFuzzer target for the environment parser (src/core/config.c).
 *
 * Input: up to seven values separated by NUL bytes, one per variable in the
 * order of `names` below; a missing piece leaves the variable unset.
 * Checked on every input, beyond the sanitizers' own checks:
 *  - stm_config_parse returns the number of warning lines it wrote, each
 *    one line starting "libstm: warning: NAME=" for a variable that was set;
 *  - every field is in its documented range, and a variable that got a
 *    warning keeps its default;
 *  - a value made only of digits is accepted exactly when it is in range,
 *    and then parsed to its numeric value.
 * Build: scripts/test.d/40-fuzz.sh. */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

static const char *const names[] = {"STM_MODE", "STM_HTM_RETRIES", "STM_HTM_CAPACITY_RETRIES",
                                    "STM_SERIAL_AFTER", "STM_ADAPTIVE", "STM_STATS",
                                    "STM_HTM_FORCE"};
#define NVARS (sizeof names / sizeof names[0])

struct env {
    const char *value[NVARS];
};

static const char *fake_getenv(const char *name, void *ctx)
{
    const struct env *e = ctx;
    for (size_t i = 0; i < NVARS; i++)
        if (strcmp(names[i], name) == 0)
            return e->value[i];
    abort(); /* the parser asked for a variable we do not know */
}

/* Reference parse of a digits-only string: -1 if empty or not all
 * digits, LLONG_MAX if far beyond every range. */
static long long digits_value(const char *s)
{
    if (*s == '\0')
        return -1;
    for (const char *q = s; *q; q++)
        if (*q < '0' || *q > '9')
            return -1;
    while (s[0] == '0' && s[1] != '\0')
        s++; /* leading zeros do not change the value */
    if (strlen(s) > 15)
        return LLONG_MAX;
    long long v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        v = v * 10 + (*s - '0');
    }
    return v;
}

static void check_num(const char *value, unsigned field, unsigned dflt, long long min,
                      long long max, int warned)
{
    if (warned) {
        if (field != dflt)
            abort();
        return;
    }
    if (value != NULL && (long long)field != digits_value(value))
        abort();
    if ((long long)field < min || (long long)field > max)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *copy = malloc(size + 1);
    if (copy == NULL)
        return 0;
    memcpy(copy, data, size);
    copy[size] = '\0';

    struct env e = {{NULL}};
    char *p = copy, *end = copy + size;
    for (size_t i = 0; i < NVARS && p <= end; i++) {
        e.value[i] = p;
        p += strlen(p) + 1;
    }

    char *out = NULL;
    size_t outlen = 0;
    FILE *warn = open_memstream(&out, &outlen);
    if (warn == NULL) {
        free(copy);
        return 0;
    }
    struct stm_config cfg;
    const struct stm_config dflt = STM_CONFIG_DEFAULT_INITIALIZER;
    int n = stm_config_parse(&cfg, fake_getenv, &e, warn);
    fclose(warn);

    /* one line per warning, each naming a variable that was set */
    int lines = 0, warned[NVARS] = {0};
    for (char *line = out; *line; lines++) {
        char *nl = strchr(line, '\n');
        if (nl == NULL)
            abort(); /* a warning without its newline */
        const char *prefix = "libstm: warning: ";
        if (strncmp(line, prefix, strlen(prefix)) != 0)
            abort();
        const char *name = line + strlen(prefix);
        size_t k = 0;
        for (; k < NVARS; k++) {
            size_t len = strlen(names[k]);
            if (strncmp(name, names[k], len) == 0 && name[len] == '=')
                break;
        }
        if (k == NVARS || e.value[k] == NULL || warned[k])
            abort();
        warned[k] = 1;
        line = nl + 1;
    }
    if (lines != n)
        abort();

    if (cfg.mode < STM_CFG_AUTO || cfg.mode > STM_CFG_SERIAL)
        abort();
    if (warned[0] && cfg.mode != dflt.mode)
        abort();
    if (!warned[0] && e.value[0] != NULL &&
        strcmp(e.value[0], stm_config_mode_name(cfg.mode)) != 0)
        abort();
    check_num(e.value[1], cfg.htm_retries, dflt.htm_retries, 0, 1000, warned[1]);
    check_num(e.value[2], cfg.htm_capacity_retries, dflt.htm_capacity_retries, 0, 1000, warned[2]);
    check_num(e.value[3], cfg.serial_after, dflt.serial_after, 1, 1000000, warned[3]);
    check_num(e.value[4], cfg.adaptive, dflt.adaptive, 0, 1, warned[4]);
    check_num(e.value[5], cfg.stats, dflt.stats, 0, 2, warned[5]);
    check_num(e.value[6], cfg.htm_force, dflt.htm_force, 0, 1, warned[6]);

    /* stm_parse_uint alone, with bounds taken from the input */
    uint64_t v = 0;
    uint64_t lo = size > 0 ? data[0] : 0, hi = size > 1 ? (uint64_t)data[1] << 8 : UINT64_MAX;
    if (stm_parse_uint(e.value[0], lo, hi, &v) && (v < lo || v > hi))
        abort();

    free(out);
    free(copy);
    return 0;
}
