/* Back-end selection at start-up, and the dispatch of decoding. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "../core/hybrid.h"
#include "../core/misuse.h"
#include "htm.h"
#include "probe.h"

int stm_htm_backend = STM_HTM_NONE;
static int probed_backend = STM_HTM_NONE;
static struct stm_probe_report report;

/* The functional probe.  The begin sits in this function's own frame and
 * the transaction ends before it returns, so the frame rule holds. */
int stm_probe_functional(void)
{
    int commits = 0;
#if defined(__x86_64__) || defined(__i386__)
    for (int i = 0; i < STM_PROBE_ATTEMPTS; i++) {
        if (stm_rtm_begin() == STM_HTM_STARTED) {
            stm_rtm_end();
            commits++;
        }
    }
#elif defined(__powerpc64__)
    for (int i = 0; i < STM_PROBE_ATTEMPTS; i++) {
        if (stm_power_begin() == STM_HTM_STARTED) {
            stm_power_end();
            commits++;
        }
    }
#endif
    return commits;
}

static void set_backend(int b)
{
    stm_htm_backend = b;
    /* before any transaction runs (or while none runs: tests) */
    __atomic_store_n(&stm_hybrid.htm_enabled, b != STM_HTM_NONE, __ATOMIC_SEQ_CST);
    int mode = stm_config()->mode;
    __atomic_store_n(&stm_fast_ok,
                     b == STM_HTM_NONE && (mode == STM_CFG_AUTO || mode == STM_CFG_STM),
                     __ATOMIC_SEQ_CST);
}

void stm_htm_init(const struct stm_config *cfg)
{
    memset(&report, 0, sizeof report);
    stm_cpu_facts_read(&report.facts);
    report.functional_commits = STM_PROBE_NOT_RUN;
    stm_probe_decide(&report.facts, cfg, STM_PROBE_NOT_RUN, &report.first);
    report.final = report.first;
    if (report.first.need_functional) {
        /* only here may an RTM/POWER instruction run without the force knob */
        report.functional_commits = stm_probe_functional();
        stm_probe_decide(&report.facts, cfg, report.functional_commits, &report.final);
    }
    if (report.final.warn)
        fprintf(stderr,
                "libstm: warning: STM_MODE=htm but no usable hardware TM (%s); "
                "using software\n",
                report.final.reason);
    probed_backend = report.final.backend;
    set_backend(probed_backend);
}

const struct stm_probe_report *stm_htm_report(void)
{
    return &report;
}

void stm_htm_select(int backend)
{
    set_backend(backend < 0 ? probed_backend : backend);
}

const char *stm_htm_name(void)
{
    switch (stm_htm_backend) {
    case STM_HTM_RTM:
        return "rtm";
    case STM_HTM_POWER:
        return "power-htm";
    case STM_HTM_EMU:
        return "emu-htm";
    default:
        return NULL;
    }
}

enum stm_htm_cause stm_htm_decode(uint64_t status)
{
    switch (stm_htm_backend) {
    case STM_HTM_EMU:
        return stm_emu_decode(status);
    case STM_HTM_POWER:
        return stm_power_decode(status);
    default:
        return stm_rtm_decode(status);
    }
}

void stm_htm_abort_needsw(void)
{
    STM_HTM_ABORT(STM_HTM_CODE_NEEDSW);
    stm_fatal("stm_free", "hardware abort returned");
}
