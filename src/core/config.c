#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

bool stm_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    if (s == NULL || *s == '\0')
        return false;
    uint64_t v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return false;
        unsigned d = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false; /* overflow: certainly out of range */
        v = v * 10 + d;
    }
    if (v < min || v > max)
        return false;
    *out = v;
    return true;
}

/* Print the value safely: it comes from the environment and may hold
 * control characters or be very long. */
static void warn_value(FILE *warn, const char *name, const char *value,
                       const char *range, const char *dflt)
{
    if (warn == NULL)
        return;
    fprintf(warn, "libstm: warning: %s=\"", name);
    size_t i = 0;
    for (; value[i] && i < 64; i++) {
        unsigned char c = (unsigned char)value[i];
        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
            fputc(c, warn);
        else
            fprintf(warn, "\\x%02x", c);
    }
    if (value[i])
        fputs("...", warn);
    fprintf(warn, "\" is invalid (accepted: %s); using the default %s\n", range, dflt);
}

static int parse_num(const char *name, stm_getenv_fn get, void *ctx, FILE *warn,
                     uint64_t min, uint64_t max, unsigned *field)
{
    const char *v = get(name, ctx);
    if (v == NULL)
        return 0;
    uint64_t x;
    if (stm_parse_uint(v, min, max, &x)) {
        *field = (unsigned)x;
        return 0;
    }
    char range[64], dflt[32];
    snprintf(range, sizeof range, "an integer from %llu to %llu",
             (unsigned long long)min, (unsigned long long)max);
    snprintf(dflt, sizeof dflt, "%u", *field);
    warn_value(warn, name, v, range, dflt);
    return 1;
}

static int parse_bool(const char *name, stm_getenv_fn get, void *ctx, FILE *warn,
                      bool *field)
{
    const char *v = get(name, ctx);
    if (v == NULL)
        return 0;
    if (strcmp(v, "0") == 0 || strcmp(v, "1") == 0) {
        *field = v[0] == '1';
        return 0;
    }
    warn_value(warn, name, v, "0 or 1", *field ? "1" : "0");
    return 1;
}

static const char *const mode_names[] = {"auto", "htm", "stm", "serial"};

const char *stm_config_mode_name(int mode)
{
    if (mode < 0 || mode > STM_CFG_SERIAL)
        return "?";
    return mode_names[mode];
}

int stm_config_parse(struct stm_config *cfg, stm_getenv_fn get, void *ctx, FILE *warn)
{
    const struct stm_config dflt = STM_CONFIG_DEFAULT_INITIALIZER;
    int bad = 0;
    *cfg = dflt;

    const char *m = get("STM_MODE", ctx);
    if (m != NULL) {
        int found = -1;
        for (int i = 0; i <= STM_CFG_SERIAL; i++)
            if (strcmp(m, mode_names[i]) == 0)
                found = i;
        if (found >= 0) {
            cfg->mode = found;
        } else {
            warn_value(warn, "STM_MODE", m, "auto, htm, stm, serial", "auto");
            bad++;
        }
    }
    bad += parse_num("STM_HTM_RETRIES", get, ctx, warn, 0, 1000, &cfg->htm_retries);
    bad += parse_num("STM_HTM_CAPACITY_RETRIES", get, ctx, warn, 0, 1000,
                     &cfg->htm_capacity_retries);
    bad += parse_num("STM_SERIAL_AFTER", get, ctx, warn, 1, 1000000, &cfg->serial_after);
    bad += parse_bool("STM_ADAPTIVE", get, ctx, warn, &cfg->adaptive);
    bad += parse_num("STM_STATS", get, ctx, warn, 0, 2, &cfg->stats);
    bad += parse_bool("STM_HTM_FORCE", get, ctx, warn, &cfg->htm_force);
    return bad;
}

static const char *real_getenv(const char *name, void *ctx)
{
    (void)ctx;
    return getenv(name);
}

static struct stm_config the_config = STM_CONFIG_DEFAULT_INITIALIZER;
static pthread_once_t config_once = PTHREAD_ONCE_INIT;

/* Set (release) once the_config is parsed: stm_config() (config.h) reads it
 * on every transaction and calls pthread_once only before that. */
const struct stm_config *stm_config_ready;

static void config_load(void)
{
    stm_config_parse(&the_config, real_getenv, NULL, stderr);
    __atomic_store_n(&stm_config_ready, &the_config, __ATOMIC_RELEASE);
}

const struct stm_config *stm_config_load(void)
{
    pthread_once(&config_once, config_load);
    return &the_config;
}
