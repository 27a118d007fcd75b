/* The CPU probe: which hardware back end, if any, this process may use.
 * Internal to src/htm/ (and its tests and tools/stm-probe).
 *
 * The decision is a pure function of (CPU facts, configuration, result of
 * the functional probe), so that every rule is unit-tested with canned
 * facts (tests/test_htm_probe.c).  Gathering the facts (libcpuid on x86,
 * getauxval on POWER) and running the functional probe are separate steps,
 * done once by stm_htm_init(). */
#ifndef STM_SRC_HTM_PROBE_H
#define STM_SRC_HTM_PROBE_H

#include <stdbool.h>
#include <stdio.h>

#include "../core/config.h"

enum stm_cpu_arch { STM_ARCH_OTHER = 0, STM_ARCH_X86, STM_ARCH_POWER };

/* What the CPU (and the kernel) say.  Fields of the other architecture are
 * left zero. */
struct stm_cpu_facts {
    int arch;                 /* enum stm_cpu_arch */
    /* This library was built with ThreadSanitizer.  Not a CPU fact, but a
     * fact about what may run: TSan cannot see the ordering that a hardware
     * commit gives (the writes of an xend appear unsynchronized to it), so
     * a TSan build on a CPU with working RTM reports races that are not
     * there.  Such a build stays in software unless STM_HTM_FORCE=1. */
    bool tsan_build;
    /* x86 (libcpuid) */
    bool cpuid_ok;            /* libcpuid compiled in and CPUID readable */
    char vendor[16];          /* "GenuineIntel", "AuthenticAMD", ... */
    unsigned family, model, stepping; /* display family/model (extended
                                         fields folded in), stepping */
    bool rtm;                 /* CPUID.(7,0).EBX[11] */
    bool hle;                 /* CPUID.(7,0).EBX[4] (reported only) */
    bool rtm_always_abort;    /* CPUID.(7,0).EDX[11] */
    bool tsx_force_abort;     /* CPUID.(7,0).EDX[13] */
    /* POWER (getauxval(AT_HWCAP2)) */
    bool hwcap_ok;            /* getauxval available */
    bool htm;                 /* PPC_FEATURE2_HTM */
    bool htm_nosc;            /* PPC_FEATURE2_HTM_NOSC */
};

/* The functional probe: STM_PROBE_ATTEMPTS trivial transactions, of which
 * at least one must commit (microcode updates and tsx=off can leave the
 * CPUID bit set while every transaction aborts). */
#define STM_PROBE_ATTEMPTS 64
#define STM_PROBE_NOT_RUN (-1)

struct stm_probe_decision {
    int backend;              /* enum stm_htm_backend */
    bool need_functional;     /* facts allow hardware: run the functional
                                 probe and decide again with its result */
    bool warn;                /* STM_MODE=htm could not be honoured */
    const char *reason;       /* one line, static storage */
};

/* Decide.  functional_commits: STM_PROBE_NOT_RUN, or how many of
 * STM_PROBE_ATTEMPTS trivial transactions committed. */
void stm_probe_decide(const struct stm_cpu_facts *f, const struct stm_config *cfg,
                      int functional_commits, struct stm_probe_decision *out);

/* Known-bad Intel models: Haswell's TSX erratum (HSW136), whose microcode
 * fix cannot be detected.  The same list as glibc (sysdeps/x86/
 * cpu-features.c: Haswell models lose RTM, "Xeon E7 v3 (model == 0x3f) with
 * stepping >= 4 has working TSX") and libitm (config/x86/target.h,
 * htm_available: family 6, model 0x3c, 0x45, 0x46, or 0x3f with stepping
 * < 4; it cites libc-alpha 2016-12/msg00470). */
bool stm_probe_bad_model(const struct stm_cpu_facts *f);

/* Read this CPU's facts (src/htm/cpu_facts.c: the only unit that includes
 * <libcpuid.h>). */
void stm_cpu_facts_read(struct stm_cpu_facts *f);

/* Run the functional probe on the compiled-in native back end; returns the
 * number of commits.  Executes RTM/POWER instructions: call only when the
 * decision said need_functional. */
int stm_probe_functional(void);

/* What stm_htm_init() found and decided, for tools/stm-probe. */
struct stm_probe_report {
    struct stm_cpu_facts facts;
    struct stm_probe_decision first;  /* from the facts alone */
    int functional_commits;           /* STM_PROBE_NOT_RUN if not run */
    struct stm_probe_decision final;
};
const struct stm_probe_report *stm_htm_report(void);

/* Print the facts, each step and the decision (stm-probe). */
void stm_probe_print(FILE *out, const struct stm_probe_report *r);

#endif
