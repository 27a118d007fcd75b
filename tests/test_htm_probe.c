/* The probe's decision table, both abort decoders and the after-abort
 * policy, on canned inputs (no hardware needed, runs everywhere). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../src/htm/htm.h"
#include "../src/htm/probe.h"
#include "../src/core/hybrid.h"
#include "../src/stm/policy.h"

static struct stm_cpu_facts intel(unsigned model, unsigned stepping)
{
    struct stm_cpu_facts f;
    memset(&f, 0, sizeof f);
    f.arch = STM_ARCH_X86;
    f.cpuid_ok = true;
    strcpy(f.vendor, "GenuineIntel");
    f.family = 6;
    f.model = model;
    f.stepping = stepping;
    f.rtm = true;
    return f;
}

static struct stm_cpu_facts power(bool htm, bool nosc)
{
    struct stm_cpu_facts f;
    memset(&f, 0, sizeof f);
    f.arch = STM_ARCH_POWER;
    f.hwcap_ok = true;
    f.htm = htm;
    f.htm_nosc = nosc;
    return f;
}

enum { F_NONE = -2 }; /* "no functional result expected" marker */

struct probe_case {
    const char *name;
    struct stm_cpu_facts facts;
    int mode;          /* enum stm_config_mode */
    bool force;
    int functional;    /* STM_PROBE_NOT_RUN or commits */
    int backend;       /* expected */
    bool need_functional;
    bool warn;
    const char *reason_has; /* substring of the reason */
};

static struct probe_case cases[64];
static int ncases;

static void add(const char *name, struct stm_cpu_facts f, int mode, bool force, int functional,
                int backend, bool need, bool warn, const char *has)
{
    cases[ncases++] = (struct probe_case){name, f, mode, force, functional, backend, need, warn, has};
}

static void build_cases(void)
{
    struct stm_cpu_facts skx = intel(0x55, 7), f;
    ncases = 0;
    add("skylake-sp, facts ok -> functional needed", skx, STM_CFG_AUTO, false, STM_PROBE_NOT_RUN,
        STM_HTM_NONE, true, false, "functional probe needed");
    add("skylake-sp, functional 64/64 -> rtm", skx, STM_CFG_AUTO, false, 64, STM_HTM_RTM, false,
        false, "functional");
    add("skylake-sp, functional 1/64 -> rtm", skx, STM_CFG_AUTO, false, 1, STM_HTM_RTM, false,
        false, "functional");
    add("skylake-sp, functional 0/64 -> none", skx, STM_CFG_AUTO, false, 0, STM_HTM_NONE, false,
        false, "no trivial transaction committed");
    add("functional 0/64 with STM_MODE=htm warns", skx, STM_CFG_HTM, false, 0, STM_HTM_NONE,
        false, true, "functional");
    f = skx;
    f.rtm = false;
    add("no RTM bit (tsx=off) -> none", f, STM_CFG_AUTO, false, STM_PROBE_NOT_RUN, STM_HTM_NONE,
        false, false, "no RTM");
    add("no RTM + STM_MODE=htm -> none + warn", f, STM_CFG_HTM, false, STM_PROBE_NOT_RUN,
        STM_HTM_NONE, false, true, "no RTM");
    f = skx;
    f.rtm_always_abort = true;
    add("RTM_ALWAYS_ABORT -> none", f, STM_CFG_AUTO, false, STM_PROBE_NOT_RUN, STM_HTM_NONE,
        false, false, "RTM_ALWAYS_ABORT");
    f = skx;
    f.tsx_force_abort = true;
    add("TSX_FORCE_ABORT -> trust functional probe", f, STM_CFG_AUTO, false, STM_PROBE_NOT_RUN,
        STM_HTM_NONE, true, false, "TSX_FORCE_ABORT");
    add("TSX_FORCE_ABORT, functional ok -> rtm", f, STM_CFG_AUTO, false, 3, STM_HTM_RTM, false,
        false, "functional");
    add("Haswell 0x3c -> denied", intel(0x3c, 3), STM_CFG_AUTO, false, STM_PROBE_NOT_RUN,
        STM_HTM_NONE, false, false, "Haswell");
    add("Haswell 0x45 -> denied", intel(0x45, 1), STM_CFG_AUTO, false, STM_PROBE_NOT_RUN,
        STM_HTM_NONE, false, false, "Haswell");
    add("Haswell 0x46 -> denied", intel(0x46, 1), STM_CFG_AUTO, false, STM_PROBE_NOT_RUN,
        STM_HTM_NONE, false, false, "Haswell");
    add("Haswell-EP 0x3f stepping 2 -> denied", intel(0x3f, 2), STM_CFG_AUTO, false,
        STM_PROBE_NOT_RUN, STM_HTM_NONE, false, false, "Haswell");
    add("Xeon E7 v3 0x3f stepping 4 -> allowed", intel(0x3f, 4), STM_CFG_AUTO, false,
        STM_PROBE_NOT_RUN, STM_HTM_NONE, true, false, "functional probe needed");
    f = intel(0x3c, 3);
    strcpy(f.vendor, "AuthenticAMD");
    add("AMD with model number 0x3c is not Haswell", f, STM_CFG_AUTO, false, STM_PROBE_NOT_RUN,
        STM_HTM_NONE, true, false, "functional probe needed");
    f = skx;
    f.cpuid_ok = false;
    add("no libcpuid -> none", f, STM_CFG_AUTO, false, STM_PROBE_NOT_RUN, STM_HTM_NONE, false,
        false, "CPUID unavailable");
    f.rtm = false;
    add("force without RTM -> rtm (valgrind, qemu)", f, STM_CFG_AUTO, true, STM_PROBE_NOT_RUN,
        STM_HTM_RTM, false, false, "STM_HTM_FORCE");
    add("force + STM_MODE=htm -> rtm", f, STM_CFG_HTM, true, STM_PROBE_NOT_RUN, STM_HTM_RTM,
        false, false, "STM_HTM_FORCE");
    f = skx;
    f.tsan_build = true;
    add("TSan build, RTM present -> none, no functional probe", f, STM_CFG_AUTO, false,
        STM_PROBE_NOT_RUN, STM_HTM_NONE, false, false, "ThreadSanitizer");
    add("TSan build + STM_MODE=htm -> none + warn", f, STM_CFG_HTM, false, STM_PROBE_NOT_RUN,
        STM_HTM_NONE, false, true, "ThreadSanitizer");
    add("TSan build + force -> rtm", f, STM_CFG_AUTO, true, STM_PROBE_NOT_RUN, STM_HTM_RTM,
        false, false, "STM_HTM_FORCE");
    f = power(true, true);
    f.tsan_build = true;
    add("TSan build, POWER HTM -> none", f, STM_CFG_AUTO, false, STM_PROBE_NOT_RUN,
        STM_HTM_NONE, false, false, "ThreadSanitizer");
    add("STM_MODE=stm beats force", skx, STM_CFG_STM, true, 64, STM_HTM_NONE, false, false,
        "STM_MODE=stm");
    add("STM_MODE=serial -> none", skx, STM_CFG_SERIAL, false, 64, STM_HTM_NONE, false, false,
        "serial");
    add("POWER8 HTM+NOSC -> functional needed", power(true, true), STM_CFG_AUTO, false,
        STM_PROBE_NOT_RUN, STM_HTM_NONE, true, false, "functional probe needed");
    add("POWER8 functional ok -> power-htm", power(true, true), STM_CFG_AUTO, false, 64,
        STM_HTM_POWER, false, false, "functional");
    add("POWER8 functional 0 -> none", power(true, true), STM_CFG_AUTO, false, 0, STM_HTM_NONE,
        false, false, "no trivial");
    add("POWER HTM without NOSC -> none", power(true, false), STM_CFG_AUTO, false,
        STM_PROBE_NOT_RUN, STM_HTM_NONE, false, false, "HTM_NOSC");
    add("POWER9/qemu: no HTM -> none", power(false, false), STM_CFG_AUTO, false,
        STM_PROBE_NOT_RUN, STM_HTM_NONE, false, false, "PPC_FEATURE2_HTM");
    add("POWER no HTM + STM_MODE=htm -> warn", power(false, false), STM_CFG_HTM, false,
        STM_PROBE_NOT_RUN, STM_HTM_NONE, false, true, "PPC_FEATURE2_HTM");
    add("POWER force (qemu) -> power-htm", power(false, false), STM_CFG_HTM, true,
        STM_PROBE_NOT_RUN, STM_HTM_POWER, false, false, "STM_HTM_FORCE");
    memset(&f, 0, sizeof f);
    add("other arch -> none", f, STM_CFG_AUTO, false, STM_PROBE_NOT_RUN, STM_HTM_NONE, false,
        false, "no hardware TM back end");
    add("other arch + force -> still none", f, STM_CFG_AUTO, true, STM_PROBE_NOT_RUN,
        STM_HTM_NONE, false, false, "no hardware TM back end");
    add("other arch + STM_MODE=htm -> warn", f, STM_CFG_HTM, false, STM_PROBE_NOT_RUN,
        STM_HTM_NONE, false, true, "no hardware TM back end");
}

START_TEST(probe_table)
{
    build_cases();
    const struct probe_case *c = &cases[_i];
    struct stm_config cfg = STM_CONFIG_DEFAULT_INITIALIZER;
    cfg.mode = c->mode;
    cfg.htm_force = c->force;
    struct stm_probe_decision d;
    stm_probe_decide(&c->facts, &cfg, c->functional, &d);
    ck_assert_msg(d.backend == c->backend, "%s: backend %d, expected %d", c->name, d.backend,
                  c->backend);
    ck_assert_msg(d.need_functional == c->need_functional, "%s: need_functional", c->name);
    ck_assert_msg(d.warn == c->warn, "%s: warn %d", c->name, d.warn);
    ck_assert_msg(d.reason != NULL && strstr(d.reason, c->reason_has) != NULL,
                  "%s: reason \"%s\" lacks \"%s\"", c->name, d.reason, c->reason_has);
}
END_TEST

struct decode_case {
    uint64_t status;
    enum stm_htm_cause cause;
};

static const struct decode_case rtm_cases[] = {
    {STM_RTM_XABORT_STATUS(STM_HTM_CODE_BUSY), STM_HTM_CAUSE_BUSY},
    {STM_RTM_XABORT_STATUS(STM_HTM_CODE_BUSY) | STM_RTM_RETRY, STM_HTM_CAUSE_BUSY},
    {STM_RTM_XABORT_STATUS(STM_HTM_CODE_RETRY), STM_HTM_CAUSE_RETRY},
    {STM_RTM_XABORT_STATUS(STM_HTM_CODE_IRREVOCABLE), STM_HTM_CAUSE_IRREVOCABLE},
    {STM_RTM_XABORT_STATUS(STM_HTM_CODE_NEEDSW), STM_HTM_CAUSE_NEEDSW},
    {STM_RTM_XABORT_STATUS(0x42), STM_HTM_CAUSE_EXPLICIT_OTHER},
    {STM_RTM_CONFLICT | STM_RTM_RETRY, STM_HTM_CAUSE_CONFLICT},
    {STM_RTM_CONFLICT, STM_HTM_CAUSE_CONFLICT},
    {STM_RTM_CAPACITY, STM_HTM_CAUSE_CAPACITY}, /* what valgrind reports */
    {STM_RTM_CAPACITY | STM_RTM_CONFLICT | STM_RTM_RETRY, STM_HTM_CAUSE_CAPACITY},
    {STM_RTM_RETRY, STM_HTM_CAUSE_CONFLICT},
    {STM_RTM_DEBUG, STM_HTM_CAUSE_DEBUG},
    {STM_RTM_NESTED, STM_HTM_CAUSE_NESTED},
    {0, STM_HTM_CAUSE_ZERO},
};

static const struct decode_case power_cases[] = {
    {STM_TEXASR_QEMU, STM_HTM_CAUSE_PERSISTENT}, /* what qemu reports */
    {STM_TEXASR_ABORT | (uint64_t)STM_HTM_CODE_BUSY << 56, STM_HTM_CAUSE_BUSY},
    {STM_TEXASR_ABORT | (uint64_t)STM_HTM_CODE_RETRY << 56, STM_HTM_CAUSE_RETRY},
    {STM_TEXASR_ABORT | (uint64_t)STM_HTM_CODE_IRREVOCABLE << 56, STM_HTM_CAUSE_IRREVOCABLE},
    {STM_TEXASR_ABORT | (uint64_t)STM_HTM_CODE_NEEDSW << 56, STM_HTM_CAUSE_NEEDSW},
    {STM_TEXASR_ABORT | (uint64_t)0x42 << 56, STM_HTM_CAUSE_EXPLICIT_OTHER},
    {STM_TEXASR_ABORT | (uint64_t)0x43 << 56, STM_HTM_CAUSE_PERSISTENT},
    {STM_TEXASR_FOOTPRINT_OVERFLOW, STM_HTM_CAUSE_CAPACITY},
    {STM_TEXASR_FOOTPRINT_OVERFLOW | STM_TEXASR_PERSISTENT, STM_HTM_CAUSE_PERSISTENT},
    {STM_TEXASR_TX_CONFLICT, STM_HTM_CAUSE_CONFLICT},
    {STM_TEXASR_NONTX_CONFLICT, STM_HTM_CAUSE_CONFLICT},
    {STM_TEXASR_SELF_CONFLICT, STM_HTM_CAUSE_CONFLICT},
    {STM_TEXASR_TLB_CONFLICT, STM_HTM_CAUSE_CONFLICT},
    {STM_TEXASR_NESTING_OVERFLOW, STM_HTM_CAUSE_NESTED},
    {0, STM_HTM_CAUSE_ZERO},
};

START_TEST(decode_rtm)
{
    for (size_t i = 0; i < sizeof rtm_cases / sizeof rtm_cases[0]; i++)
        ck_assert_msg(stm_rtm_decode(rtm_cases[i].status) == rtm_cases[i].cause,
                      "RTM status 0x%llx: got %s, expected %s",
                      (unsigned long long)rtm_cases[i].status,
                      stm_htm_cause_name(stm_rtm_decode(rtm_cases[i].status)),
                      stm_htm_cause_name(rtm_cases[i].cause));
}
END_TEST

START_TEST(decode_power)
{
    for (size_t i = 0; i < sizeof power_cases / sizeof power_cases[0]; i++)
        ck_assert_msg(stm_power_decode(power_cases[i].status) == power_cases[i].cause,
                      "TEXASR 0x%016llx: got %s, expected %s",
                      (unsigned long long)power_cases[i].status,
                      stm_htm_cause_name(stm_power_decode(power_cases[i].status)),
                      stm_htm_cause_name(power_cases[i].cause));
    /* our explicit codes must read as transient on POWER */
    ck_assert(!(STM_HTM_CODE_BUSY & 1) && !(STM_HTM_CODE_RETRY & 1) &&
              !(STM_HTM_CODE_IRREVOCABLE & 1) && !(STM_HTM_CODE_NEEDSW & 1));
}
END_TEST

/* The after-abort policy as a pure function: each cause's sequence of
 * decisions under the default configuration. */
static unsigned steps_until_software(enum stm_htm_cause c, const struct stm_config *cfg,
                                     enum stm_next *last)
{
    struct stm_htm_attempts a = {0, 0, 0, 0};
    for (unsigned n = 1; n < 10000; n++) {
        enum stm_next x = stm_policy_after_abort(cfg, &a, c);
        if (x != STM_NEXT_HTM_AGAIN && x != STM_NEXT_HTM_WAIT) {
            *last = x;
            return n;
        }
    }
    ck_abort_msg("cause %s never leaves hardware", stm_htm_cause_name(c));
    return 0;
}

START_TEST(policy_pure)
{
    struct stm_config cfg = STM_CONFIG_DEFAULT_INITIALIZER;
    enum stm_next last;
    ck_assert_uint_eq(steps_until_software(STM_HTM_CAUSE_CONFLICT, &cfg, &last),
                      cfg.htm_retries + 1);
    ck_assert_int_eq(last, STM_NEXT_SOFTWARE);
    ck_assert_uint_eq(steps_until_software(STM_HTM_CAUSE_EXPLICIT_OTHER, &cfg, &last),
                      cfg.htm_retries + 1);
    ck_assert_uint_eq(steps_until_software(STM_HTM_CAUSE_CAPACITY, &cfg, &last),
                      cfg.htm_capacity_retries + 1);
    ck_assert_uint_eq(steps_until_software(STM_HTM_CAUSE_ZERO, &cfg, &last), 2);
    ck_assert_uint_eq(steps_until_software(STM_HTM_CAUSE_BUSY, &cfg, &last),
                      STM_HTM_BUSY_MAX + 1);
    ck_assert_uint_eq(steps_until_software(STM_HTM_CAUSE_PERSISTENT, &cfg, &last), 1);
    ck_assert_int_eq(last, STM_NEXT_SOFTWARE);
    ck_assert_uint_eq(steps_until_software(STM_HTM_CAUSE_RETRY, &cfg, &last), 1);
    ck_assert_uint_eq(steps_until_software(STM_HTM_CAUSE_NEEDSW, &cfg, &last), 1);
    ck_assert_uint_eq(steps_until_software(STM_HTM_CAUSE_DEBUG, &cfg, &last), 1);
    ck_assert_uint_eq(steps_until_software(STM_HTM_CAUSE_NESTED, &cfg, &last), 1);
    ck_assert_uint_eq(steps_until_software(STM_HTM_CAUSE_IRREVOCABLE, &cfg, &last), 1);
    ck_assert_int_eq(last, STM_NEXT_SERIAL);
    /* busy waits do not use up conflict retries */
    struct stm_htm_attempts a = {0, 0, 0, 0};
    for (int i = 0; i < 10; i++)
        ck_assert_int_eq(stm_policy_after_abort(&cfg, &a, STM_HTM_CAUSE_BUSY), STM_NEXT_HTM_WAIT);
    for (unsigned i = 0; i < cfg.htm_retries; i++)
        ck_assert_int_eq(stm_policy_after_abort(&cfg, &a, STM_HTM_CAUSE_CONFLICT),
                         STM_NEXT_HTM_AGAIN);
    /* zero retries configured: straight to software */
    cfg.htm_retries = 0;
    cfg.htm_capacity_retries = 0;
    ck_assert_uint_eq(steps_until_software(STM_HTM_CAUSE_CONFLICT, &cfg, &last), 1);
    ck_assert_uint_eq(steps_until_software(STM_HTM_CAUSE_CAPACITY, &cfg, &last), 1);
}
END_TEST

/* Run stm_htm_init(cfg) with stderr captured; return the warning lines. */
static int init_warnings(const struct stm_config *cfg)
{
    fflush(stderr);
    FILE *tmp = tmpfile();
    ck_assert_ptr_nonnull(tmp);
    int saved = dup(2);
    dup2(fileno(tmp), 2);
    stm_htm_init(cfg);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    rewind(tmp);
    char line[512];
    int n = 0;
    while (fgets(line, sizeof line, tmp) != NULL)
        if (strstr(line, "warning") != NULL)
            n++;
    fclose(tmp);
    return n;
}

/* stm_htm_init obeys STM_MODE and STM_HTM_FORCE and keeps
 * stm_hybrid.htm_enabled in step.  No transaction runs here, so a forced
 * back end is never executed. */
START_TEST(init_modes)
{
    struct stm_config cfg = STM_CONFIG_DEFAULT_INITIALIZER;
    cfg.mode = STM_CFG_STM;
    ck_assert_int_eq(init_warnings(&cfg), 0);
    ck_assert_int_eq(stm_htm_backend, STM_HTM_NONE);
    ck_assert(!stm_hybrid.htm_enabled);

    cfg.mode = STM_CFG_SERIAL;
    ck_assert_int_eq(init_warnings(&cfg), 0);
    ck_assert_int_eq(stm_htm_backend, STM_HTM_NONE);

    /* htm without hardware: exactly one warning, then software */
    cfg.mode = STM_CFG_HTM;
    int w = init_warnings(&cfg);
    const struct stm_probe_report *r = stm_htm_report();
    if (r->final.backend == STM_HTM_NONE) {
        ck_assert_int_eq(w, 1);
        ck_assert(r->final.warn);
        ck_assert(!stm_hybrid.htm_enabled);
    } else {
        ck_assert_int_eq(w, 0);
        ck_assert(stm_hybrid.htm_enabled);
    }

#if defined(__x86_64__) || defined(__i386__) || defined(__powerpc64__)
    cfg.mode = STM_CFG_AUTO;
    cfg.htm_force = true;
    ck_assert_int_eq(init_warnings(&cfg), 0);
    ck_assert(stm_htm_backend == STM_HTM_RTM || stm_htm_backend == STM_HTM_POWER);
    ck_assert(stm_hybrid.htm_enabled);
    ck_assert_int_eq(stm_htm_report()->functional_commits, STM_PROBE_NOT_RUN);
#endif
    /* back to what this machine really allows */
    struct stm_config dflt = STM_CONFIG_DEFAULT_INITIALIZER;
    init_warnings(&dflt);
}
END_TEST

int main(void)
{
    build_cases();
    Suite *s = suite_create("htm_probe");
    TCase *tc = tcase_create("probe");
    tcase_add_loop_test(tc, probe_table, 0, ncases);
    tcase_add_test(tc, decode_rtm);
    tcase_add_test(tc, decode_power);
    tcase_add_test(tc, policy_pure);
    tcase_add_test(tc, init_modes);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
