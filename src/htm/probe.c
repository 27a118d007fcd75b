/* The probe's decision: a pure function of (facts, configuration,
 * functional probe result); see probe.h.  The rules, in order:
 *
 *  1. STM_MODE=serial or stm: no hardware, whatever the CPU.
 *  2. STM_HTM_FORCE=1: the native back end, no questions asked (for
 *     valgrind and qemu, which execute the instructions but abort every
 *     transaction; SIGILL on a CPU without HTM).
 *  3. x86: libcpuid must work; CPUID.(7,0).EBX[11] (RTM) set; EDX[11]
 *     (RTM_ALWAYS_ABORT: microcode that aborts every transaction) clear;
 *     not a known-bad Haswell.  EDX[13] (TSX_FORCE_ABORT: the kernel may
 *     force aborts to reclaim a PMU counter) is no reason to refuse: the
 *     functional probe decides.  Linux tsx=off clears the RTM bit itself.
 *  4. POWER: AT_HWCAP2 must have PPC_FEATURE2_HTM and PPC_FEATURE2_HTM_NOSC
 *     (a system call aborts the transaction rather than running inside it;
 *     without NOSC it would be suspended and its effects could not be
 *     undone).
 *  5. Then the functional probe: at least one of STM_PROBE_ATTEMPTS
 *     trivial transactions must commit.
 *  Before 3 and 4: a ThreadSanitizer build of the library uses no
 *  hardware (probe.h, tsan_build); STM_HTM_FORCE=1 still overrides.
 * STM_MODE=htm that ends without hardware sets `warn`: the caller prints
 * one warning and runs software. */
#include <string.h>

#include "htm.h"
#include "probe.h"

bool stm_probe_bad_model(const struct stm_cpu_facts *f)
{
    if (strcmp(f->vendor, "GenuineIntel") != 0 || f->family != 6)
        return false;
    switch (f->model) {
    case 0x3c: /* Haswell client */
    case 0x45: /* Haswell ULT */
    case 0x46: /* Haswell GT3e */
        return true;
    case 0x3f: /* Haswell-E/EP/EX: Xeon E7 v3 (stepping >= 4) works */
        return f->stepping < 4;
    default:
        return false;
    }
}

static void result(struct stm_probe_decision *out, int backend, const char *reason)
{
    out->backend = backend;
    out->reason = reason;
}

void stm_probe_decide(const struct stm_cpu_facts *f, const struct stm_config *cfg,
                      int functional_commits, struct stm_probe_decision *out)
{
    memset(out, 0, sizeof *out);
    if (cfg->mode == STM_CFG_SERIAL) {
        result(out, STM_HTM_NONE, "STM_MODE=serial: every transaction runs serially");
        return;
    }
    if (cfg->mode == STM_CFG_STM) {
        result(out, STM_HTM_NONE, "STM_MODE=stm: hardware disabled");
        return;
    }
    int native = f->arch == STM_ARCH_X86 ? STM_HTM_RTM
                 : f->arch == STM_ARCH_POWER ? STM_HTM_POWER
                                              : STM_HTM_NONE;
    if (native == STM_HTM_NONE) {
        result(out, STM_HTM_NONE, "no hardware TM back end for this architecture");
    } else if (cfg->htm_force) {
        result(out, native, "STM_HTM_FORCE=1: probe bypassed");
        return;
    } else if (f->tsan_build) {
        result(out, STM_HTM_NONE,
               "ThreadSanitizer build: TSan cannot see hardware commits, software only");
    } else if (f->arch == STM_ARCH_X86) {
        if (!f->cpuid_ok)
            result(out, STM_HTM_NONE, "CPUID unavailable (libcpuid missing or failed)");
        else if (!f->rtm)
            result(out, STM_HTM_NONE, "CPUID reports no RTM (absent, or disabled by tsx=off)");
        else if (f->rtm_always_abort)
            result(out, STM_HTM_NONE,
                   "RTM_ALWAYS_ABORT set: microcode aborts every transaction");
        else if (stm_probe_bad_model(f))
            result(out, STM_HTM_NONE, "known-bad Haswell model (TSX erratum), denied as glibc does");
        else if (functional_commits == STM_PROBE_NOT_RUN) {
            out->need_functional = true;
            result(out, STM_HTM_NONE,
                   f->tsx_force_abort
                       ? "RTM present, TSX_FORCE_ABORT set: trusting the functional probe"
                       : "RTM present: functional probe needed");
            return;
        } else if (functional_commits == 0)
            result(out, STM_HTM_NONE, "functional probe: no trivial transaction committed");
        else
            result(out, STM_HTM_RTM, "RTM present and functional");
    } else {
        if (!f->hwcap_ok || !f->htm)
            result(out, STM_HTM_NONE, "AT_HWCAP2 lacks PPC_FEATURE2_HTM");
        else if (!f->htm_nosc)
            result(out, STM_HTM_NONE,
                   "AT_HWCAP2 lacks PPC_FEATURE2_HTM_NOSC (syscalls would not abort)");
        else if (functional_commits == STM_PROBE_NOT_RUN) {
            out->need_functional = true;
            result(out, STM_HTM_NONE, "POWER HTM present: functional probe needed");
            return;
        } else if (functional_commits == 0)
            result(out, STM_HTM_NONE, "functional probe: no trivial transaction committed");
        else
            result(out, STM_HTM_POWER, "POWER HTM present and functional");
    }
    if (out->backend == STM_HTM_NONE && cfg->mode == STM_CFG_HTM)
        out->warn = true;
}

static const char *yes_no(bool b)
{
    return b ? "yes" : "no";
}

static const char *backend_name(int b)
{
    switch (b) {
    case STM_HTM_RTM:
        return "rtm";
    case STM_HTM_POWER:
        return "power-htm";
    case STM_HTM_EMU:
        return "emu-htm";
    default:
        return "none";
    }
}

void stm_probe_print(FILE *out, const struct stm_probe_report *r)
{
    const struct stm_cpu_facts *f = &r->facts;
    fputs("CPU facts:\n", out);
    switch (f->arch) {
    case STM_ARCH_X86:
        fprintf(out, "  architecture        x86\n");
        fprintf(out, "  libcpuid            %s\n", f->cpuid_ok ? "ok" : "unavailable");
        if (f->cpuid_ok) {
            fprintf(out, "  vendor              %s\n", f->vendor);
            fprintf(out, "  family/model/step   0x%x/0x%x/%u\n", f->family, f->model,
                    f->stepping);
            fprintf(out, "  RTM (7.EBX[11])     %s\n", yes_no(f->rtm));
            fprintf(out, "  HLE (7.EBX[4])      %s\n", yes_no(f->hle));
            fprintf(out, "  RTM_ALWAYS_ABORT    %s (7.EDX[11])\n", yes_no(f->rtm_always_abort));
            fprintf(out, "  TSX_FORCE_ABORT     %s (7.EDX[13])\n", yes_no(f->tsx_force_abort));
            fprintf(out, "  known-bad model     %s\n", yes_no(stm_probe_bad_model(f)));
        }
        break;
    case STM_ARCH_POWER:
        fprintf(out, "  architecture        POWER\n");
        fprintf(out, "  HWCAP2 HTM          %s\n", yes_no(f->htm));
        fprintf(out, "  HWCAP2 HTM_NOSC     %s\n", yes_no(f->htm_nosc));
        break;
    default:
        fprintf(out, "  architecture        other (no hardware TM support compiled in)\n");
        break;
    }
    fputs("Probe steps:\n", out);
    fprintf(out, "  1. facts: %s\n", r->first.reason);
    if (r->functional_commits == STM_PROBE_NOT_RUN)
        fprintf(out, "  2. functional probe: not run (the facts decided; no RTM/POWER "
                     "instruction executed)\n");
    else
        fprintf(out, "  2. functional probe: %d of %d trivial transactions committed\n",
                r->functional_commits, STM_PROBE_ATTEMPTS);
    fprintf(out, "  3. decision: %s (%s)\n", backend_name(r->final.backend), r->final.reason);
}
