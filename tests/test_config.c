/* The environment parser (doc/DESIGN.md section 5): a table of values through
 * stm_config_parse() with a fake environment and the warnings captured,
 * and the real process reading its environment exactly once. */
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "check_util.h"
#include "stm.h"
#include "core/config.h"

/* A fake environment: at most a few NAME=VALUE pairs. */
struct fake_env {
    const char *name[8];
    const char *value[8];
    int n;
};

static const char *fake_getenv(const char *name, void *ctx)
{
    const struct fake_env *e = ctx;
    for (int i = 0; i < e->n; i++)
        if (strcmp(e->name[i], name) == 0)
            return e->value[i];
    return NULL;
}

/* Parse env; return the warnings text (caller frees) and the count. */
static char *parse(struct fake_env *env, struct stm_config *cfg, int *nwarn)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ck_assert_ptr_nonnull(f);
    *nwarn = stm_config_parse(cfg, fake_getenv, env, f);
    fclose(f);
    return buf;
}

enum field { F_MODE, F_RETRIES, F_CAP, F_SERIAL, F_ADAPTIVE, F_STATS, F_FORCE };

static long field_of(const struct stm_config *c, enum field f)
{
    switch (f) {
    case F_MODE: return c->mode;
    case F_RETRIES: return (long)c->htm_retries;
    case F_CAP: return (long)c->htm_capacity_retries;
    case F_SERIAL: return (long)c->serial_after;
    case F_ADAPTIVE: return c->adaptive;
    case F_STATS: return c->stats;
    case F_FORCE: return c->htm_force;
    }
    return -1;
}

#define NUM1000 "an integer from 0 to 1000"
#define NUMSER "an integer from 1 to 1000000"
#define BOOL "0 or 1"
#define NUM2 "an integer from 0 to 2"
#define MODES "auto, htm, stm, norec, serial"

/* One row: variable, value, and either the parsed field value (warning ==
 * NULL) or the exact warning line expected (and the default kept). */
static const struct row {
    const char *var;
    enum field field;
    const char *value;
    long want;            /* when valid */
    const char *warning;  /* when invalid: the exact line */
} rows[] = {
    /* STM_MODE */
    {"STM_MODE", F_MODE, "auto", STM_CFG_AUTO, NULL},
    {"STM_MODE", F_MODE, "htm", STM_CFG_HTM, NULL},
    {"STM_MODE", F_MODE, "stm", STM_CFG_STM, NULL},
    {"STM_MODE", F_MODE, "serial", STM_CFG_SERIAL, NULL},
    {"STM_MODE", F_MODE, "norec", STM_CFG_NOREC, NULL},
    {"STM_MODE", F_MODE, "NOREC", 0,
     "libstm: warning: STM_MODE=\"NOREC\" is invalid (accepted: " MODES "); using the default auto\n"},
    {"STM_MODE", F_MODE, "STM", 0,
     "libstm: warning: STM_MODE=\"STM\" is invalid (accepted: " MODES "); using the default auto\n"},
    {"STM_MODE", F_MODE, "", 0,
     "libstm: warning: STM_MODE=\"\" is invalid (accepted: " MODES "); using the default auto\n"},
    {"STM_MODE", F_MODE, " stm", 0,
     "libstm: warning: STM_MODE=\" stm\" is invalid (accepted: " MODES "); using the default auto\n"},
    {"STM_MODE", F_MODE, "stmx", 0,
     "libstm: warning: STM_MODE=\"stmx\" is invalid (accepted: " MODES "); using the default auto\n"},
    {"STM_MODE", F_MODE, "1", 0,
     "libstm: warning: STM_MODE=\"1\" is invalid (accepted: " MODES "); using the default auto\n"},
    /* STM_HTM_RETRIES: 0..1000 */
    {"STM_HTM_RETRIES", F_RETRIES, "0", 0, NULL},
    {"STM_HTM_RETRIES", F_RETRIES, "7", 7, NULL},
    {"STM_HTM_RETRIES", F_RETRIES, "1000", 1000, NULL},
    {"STM_HTM_RETRIES", F_RETRIES, "007", 7, NULL},
    {"STM_HTM_RETRIES", F_RETRIES, "1001", 0,
     "libstm: warning: STM_HTM_RETRIES=\"1001\" is invalid (accepted: " NUM1000 "); using the default 5\n"},
    {"STM_HTM_RETRIES", F_RETRIES, "-1", 0,
     "libstm: warning: STM_HTM_RETRIES=\"-1\" is invalid (accepted: " NUM1000 "); using the default 5\n"},
    {"STM_HTM_RETRIES", F_RETRIES, "+3", 0,
     "libstm: warning: STM_HTM_RETRIES=\"+3\" is invalid (accepted: " NUM1000 "); using the default 5\n"},
    {"STM_HTM_RETRIES", F_RETRIES, " 3", 0,
     "libstm: warning: STM_HTM_RETRIES=\" 3\" is invalid (accepted: " NUM1000 "); using the default 5\n"},
    {"STM_HTM_RETRIES", F_RETRIES, "3 ", 0,
     "libstm: warning: STM_HTM_RETRIES=\"3 \" is invalid (accepted: " NUM1000 "); using the default 5\n"},
    {"STM_HTM_RETRIES", F_RETRIES, "", 0,
     "libstm: warning: STM_HTM_RETRIES=\"\" is invalid (accepted: " NUM1000 "); using the default 5\n"},
    {"STM_HTM_RETRIES", F_RETRIES, "abc", 0,
     "libstm: warning: STM_HTM_RETRIES=\"abc\" is invalid (accepted: " NUM1000 "); using the default 5\n"},
    {"STM_HTM_RETRIES", F_RETRIES, "0x10", 0,
     "libstm: warning: STM_HTM_RETRIES=\"0x10\" is invalid (accepted: " NUM1000 "); using the default 5\n"},
    {"STM_HTM_RETRIES", F_RETRIES, "2.5", 0,
     "libstm: warning: STM_HTM_RETRIES=\"2.5\" is invalid (accepted: " NUM1000 "); using the default 5\n"},
    /* 2^64 and beyond: overflow must not wrap into range */
    {"STM_HTM_RETRIES", F_RETRIES, "18446744073709551616", 0,
     "libstm: warning: STM_HTM_RETRIES=\"18446744073709551616\" is invalid (accepted: " NUM1000
     "); using the default 5\n"},
    {"STM_HTM_RETRIES", F_RETRIES, "18446744073709551621", 0,
     "libstm: warning: STM_HTM_RETRIES=\"18446744073709551621\" is invalid (accepted: " NUM1000
     "); using the default 5\n"},
    {"STM_HTM_RETRIES", F_RETRIES, "4294967301", 0, /* 2^32 + 5: no truncation */
     "libstm: warning: STM_HTM_RETRIES=\"4294967301\" is invalid (accepted: " NUM1000
     "); using the default 5\n"},
    /* STM_HTM_CAPACITY_RETRIES: 0..1000 */
    {"STM_HTM_CAPACITY_RETRIES", F_CAP, "0", 0, NULL},
    {"STM_HTM_CAPACITY_RETRIES", F_CAP, "1000", 1000, NULL},
    {"STM_HTM_CAPACITY_RETRIES", F_CAP, "1001", 0,
     "libstm: warning: STM_HTM_CAPACITY_RETRIES=\"1001\" is invalid (accepted: " NUM1000
     "); using the default 1\n"},
    {"STM_HTM_CAPACITY_RETRIES", F_CAP, "", 0,
     "libstm: warning: STM_HTM_CAPACITY_RETRIES=\"\" is invalid (accepted: " NUM1000
     "); using the default 1\n"},
    /* STM_SERIAL_AFTER: 1..1000000 */
    {"STM_SERIAL_AFTER", F_SERIAL, "1", 1, NULL},
    {"STM_SERIAL_AFTER", F_SERIAL, "1000000", 1000000, NULL},
    {"STM_SERIAL_AFTER", F_SERIAL, "0", 0,
     "libstm: warning: STM_SERIAL_AFTER=\"0\" is invalid (accepted: " NUMSER "); using the default 4\n"},
    {"STM_SERIAL_AFTER", F_SERIAL, "1000001", 0,
     "libstm: warning: STM_SERIAL_AFTER=\"1000001\" is invalid (accepted: " NUMSER
     "); using the default 4\n"},
    {"STM_SERIAL_AFTER", F_SERIAL, "lots", 0,
     "libstm: warning: STM_SERIAL_AFTER=\"lots\" is invalid (accepted: " NUMSER "); using the default 4\n"},
    /* booleans */
    {"STM_ADAPTIVE", F_ADAPTIVE, "0", 0, NULL},
    {"STM_ADAPTIVE", F_ADAPTIVE, "1", 1, NULL},
    {"STM_ADAPTIVE", F_ADAPTIVE, "2", 0,
     "libstm: warning: STM_ADAPTIVE=\"2\" is invalid (accepted: " BOOL "); using the default 1\n"},
    {"STM_ADAPTIVE", F_ADAPTIVE, "yes", 0,
     "libstm: warning: STM_ADAPTIVE=\"yes\" is invalid (accepted: " BOOL "); using the default 1\n"},
    {"STM_ADAPTIVE", F_ADAPTIVE, "01", 0,
     "libstm: warning: STM_ADAPTIVE=\"01\" is invalid (accepted: " BOOL "); using the default 1\n"},
    /* STM_STATS: 0..2 (2: per site) */
    {"STM_STATS", F_STATS, "1", 1, NULL},
    {"STM_STATS", F_STATS, "0", 0, NULL},
    {"STM_STATS", F_STATS, "2", 2, NULL},
    {"STM_STATS", F_STATS, "3", 0,
     "libstm: warning: STM_STATS=\"3\" is invalid (accepted: " NUM2 "); using the default 0\n"},
    {"STM_STATS", F_STATS, "", 0,
     "libstm: warning: STM_STATS=\"\" is invalid (accepted: " NUM2 "); using the default 0\n"},
    {"STM_STATS", F_STATS, "true", 0,
     "libstm: warning: STM_STATS=\"true\" is invalid (accepted: " NUM2 "); using the default 0\n"},
    {"STM_HTM_FORCE", F_FORCE, "1", 1, NULL},
    {"STM_HTM_FORCE", F_FORCE, "0", 0, NULL},
    {"STM_HTM_FORCE", F_FORCE, "+1", 0,
     "libstm: warning: STM_HTM_FORCE=\"+1\" is invalid (accepted: " BOOL "); using the default 0\n"},
    {"STM_HTM_FORCE", F_FORCE, " 1", 0,
     "libstm: warning: STM_HTM_FORCE=\" 1\" is invalid (accepted: " BOOL "); using the default 0\n"},
};

START_TEST(defaults)
{
    struct fake_env env = {.n = 0};
    struct stm_config cfg;
    int n;
    char *w = parse(&env, &cfg, &n);
    ck_assert_int_eq(n, 0);
    ck_assert_str_eq(w, "");
    free(w);
    const struct stm_config d = STM_CONFIG_DEFAULT_INITIALIZER;
    ck_assert_int_eq(cfg.mode, STM_CFG_AUTO);
    ck_assert_int_eq(cfg.mode, d.mode);
    ck_assert_uint_eq(cfg.htm_retries, 5);
    ck_assert_uint_eq(cfg.htm_capacity_retries, 1);
    ck_assert_uint_eq(cfg.serial_after, 4);
    ck_assert(cfg.adaptive);
    ck_assert_uint_eq(cfg.stats, 0);
    ck_assert(!cfg.htm_force);
}
END_TEST

START_TEST(table_row)
{
    const struct row *r = &rows[_i];
    struct fake_env env = {{r->var}, {r->value}, 1};
    struct stm_config cfg;
    const struct stm_config dflt = STM_CONFIG_DEFAULT_INITIALIZER;
    int n;
    char *w = parse(&env, &cfg, &n);
    if (r->warning == NULL) {
        ck_assert_msg(n == 0, "%s=\"%s\": unexpected warning %s", r->var, r->value, w);
        ck_assert_str_eq(w, "");
        ck_assert_int_eq(field_of(&cfg, r->field), r->want);
    } else {
        ck_assert_int_eq(n, 1);
        ck_assert_str_eq(w, r->warning);
        ck_assert_int_eq(field_of(&cfg, r->field), field_of(&dflt, r->field));
    }
    /* the other fields keep their defaults either way */
    for (enum field f = F_MODE; f <= F_FORCE; f++)
        if (f != r->field)
            ck_assert_int_eq(field_of(&cfg, f), field_of(&dflt, f));
    free(w);
}
END_TEST

START_TEST(several_variables)
{
    struct fake_env env = {{"STM_MODE", "STM_HTM_RETRIES", "STM_SERIAL_AFTER", "STM_STATS",
                            "STM_ADAPTIVE", "STM_HTM_CAPACITY_RETRIES", "STM_HTM_FORCE"},
                           {"serial", "x", "10", "1", "maybe", "3", "0"},
                           7};
    struct stm_config cfg;
    int n;
    char *w = parse(&env, &cfg, &n);
    ck_assert_int_eq(n, 2);
    ck_assert_int_eq(check_count(w, "\n"), 2);
    ck_assert_ptr_nonnull(strstr(w, "STM_HTM_RETRIES=\"x\""));
    ck_assert_ptr_nonnull(strstr(w, "STM_ADAPTIVE=\"maybe\""));
    ck_assert_int_eq(cfg.mode, STM_CFG_SERIAL);
    ck_assert_uint_eq(cfg.htm_retries, 5);
    ck_assert_uint_eq(cfg.serial_after, 10);
    ck_assert_uint_eq(cfg.stats, 1);
    ck_assert(cfg.adaptive);
    ck_assert_uint_eq(cfg.htm_capacity_retries, 3);
    ck_assert(!cfg.htm_force);
    free(w);
}
END_TEST

/* Values are printed safely: quotes, backslashes and control characters
 * escaped, very long values cut. */
START_TEST(hostile_values)
{
    char longv[300];
    memset(longv, '9', sizeof longv - 1);
    longv[sizeof longv - 1] = '\0';
    struct fake_env env = {{"STM_MODE", "STM_SERIAL_AFTER"}, {"a\"b\\c\n\x1b", longv}, 2};
    struct stm_config cfg;
    int n;
    char *w = parse(&env, &cfg, &n);
    ck_assert_int_eq(n, 2);
    ck_assert_ptr_nonnull(strstr(w, "STM_MODE=\"a\\x22b\\x5cc\\x0a\\x1b\" is invalid"));
    char want[200];
    snprintf(want, sizeof want, "STM_SERIAL_AFTER=\"%.64s...\" is invalid", longv);
    ck_assert_ptr_nonnull(strstr(w, want));
    ck_assert_int_eq(check_count(w, "\n"), 2); /* one line each */
    ck_assert_uint_eq(cfg.serial_after, 4);
    free(w);
}
END_TEST

START_TEST(parse_uint_bounds)
{
    uint64_t v = 77;
    ck_assert(stm_parse_uint("18446744073709551615", 0, UINT64_MAX, &v));
    ck_assert_uint_eq(v, UINT64_MAX);
    ck_assert(!stm_parse_uint("18446744073709551616", 0, UINT64_MAX, &v));
    ck_assert(!stm_parse_uint(NULL, 0, 10, &v));
    ck_assert(!stm_parse_uint("", 0, 10, &v));
    ck_assert(!stm_parse_uint("5", 6, 10, &v));
    ck_assert_uint_eq(v, UINT64_MAX); /* untouched on failure */
    ck_assert(stm_parse_uint("10", 6, 10, &v));
    ck_assert_uint_eq(v, 10);
}
END_TEST

/* ---- the real process: parsed once ------------------------------------ */

static intptr_t bump(stm_tx *tx, void *arg)
{
    stm_tvar *tv = arg;
    stm_write(tx, tv, stm_read(tx, tv) + 1);
    return 0;
}

static stm_tvar shared_counter = STM_TVAR_INIT(0);

static void *worker(void *arg)
{
    (void)arg;
    for (int i = 0; i < 200; i++)
        stm_atomically(bump, &shared_counter);
    stm_path();
    return NULL;
}

static void child_with_bad_env(void *arg)
{
    (void)arg;
    setenv("STM_SERIAL_AFTER", "many", 1);
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        if (pthread_create(&t[i], NULL, worker, NULL) != 0)
            _exit(3);
    worker(NULL);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    if (stm_load(&shared_counter) != 1000)
        _exit(4);
}

START_TEST(process_parses_once)
{
    struct check_child r;
    check_child(child_with_bad_env, NULL, &r);
    ck_assert_msg(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0, "child status %d: %s",
                  r.status, r.err);
    ck_assert_str_eq(r.err, "libstm: warning: STM_SERIAL_AFTER=\"many\" is invalid (accepted: " NUMSER
                            "); using the default 4\n");
}
END_TEST

static Suite *config_suite(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("parse");
    tcase_add_test(tc, defaults);
    tcase_add_loop_test(tc, table_row, 0, (int)(sizeof rows / sizeof rows[0]));
    tcase_add_test(tc, several_variables);
    tcase_add_test(tc, hostile_values);
    tcase_add_test(tc, parse_uint_bounds);
    suite_add_tcase(s, tc);
    TCase *tp = tcase_create("process");
    tcase_set_timeout(tp, 30);
    tcase_add_test(tp, process_parses_once);
    suite_add_tcase(s, tp);
    return s;
}

int main(void)
{
    return check_run_suite(config_suite());
}
