/* stm-probe: what libstm sees on this machine and which path it takes.
 * Prints the CPU facts, each probe step and its result, the chosen path and
 * why, and the effective configuration (with a warning for each bad
 * environment value).  Exit status 0. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "../src/htm/htm.h"
#include "../src/htm/probe.h"
#include "../src/core/config.h"
#include "../src/stm/policy.h"
#include "../src/stm/runtime.h"
#include "stm.h"

static const char *env_getenv(const char *name, void *ctx)
{
    (void)ctx;
    return getenv(name);
}

int main(void)
{
    printf("libstm %s stm-probe\n", PACKAGE_VERSION);
    /* parse once more, here, so that warnings land in this report */
    struct stm_config cfg;
    printf("Environment:\n");
    int bad = stm_config_parse(&cfg, env_getenv, NULL, stdout);
    if (bad == 0)
        printf("  no invalid values\n");

    stm_runtime_init(); /* runs the probe (stm_htm_init) */
    stm_probe_print(stdout, stm_htm_report());
    const struct stm_probe_report *r = stm_htm_report();
    printf("Path: %s (%s)\n", stm_path(), r->final.reason);
    if (r->final.warn)
        printf("  warning: STM_MODE=htm requested but not possible; software is used\n");

    const struct stm_config d = STM_CONFIG_DEFAULT_INITIALIZER;
    printf("Effective configuration (default in brackets; sources in doc/hardware.md):\n");
    printf("  STM_MODE                 %s [%s]\n", stm_config_mode_name(cfg.mode),
           stm_config_mode_name(d.mode));
    printf("  STM_HTM_RETRIES          %u [%u]\n", cfg.htm_retries, d.htm_retries);
    printf("  STM_HTM_CAPACITY_RETRIES %u [%u]\n", cfg.htm_capacity_retries,
           d.htm_capacity_retries);
    printf("  STM_SERIAL_AFTER         %u [%u]\n", cfg.serial_after, d.serial_after);
    printf("  STM_ADAPTIVE             %d [%d]\n", cfg.adaptive, d.adaptive);
    printf("  STM_STATS                %u [%u]\n", cfg.stats, d.stats);
    printf("  STM_HTM_FORCE            %d [%d]\n", cfg.htm_force, d.htm_force);
    printf("  busy waits per transaction (fixed)   %d\n", STM_HTM_BUSY_MAX);
    return 0;
}
