/* Reading the CPU facts for the probe.  The only translation unit that
 * includes <libcpuid.h>: its headers define bare EAX..EDX enumerators that
 * would collide with other code. */
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "probe.h"

/* See probe.h, tsan_build. */
#if defined(__SANITIZE_THREAD__)
#define TSAN_BUILD true
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define TSAN_BUILD true
#endif
#endif
#ifndef TSAN_BUILD
#define TSAN_BUILD false
#endif

#if defined(__x86_64__) || defined(__i386__)
#ifdef STM_HAVE_CPUID
#include <libcpuid.h>
#endif

void stm_cpu_facts_read(struct stm_cpu_facts *f)
{
    memset(f, 0, sizeof *f);
    f->arch = STM_ARCH_X86;
    f->tsan_build = TSAN_BUILD;
#ifdef STM_HAVE_CPUID
    struct cpu_raw_data_t raw;
    struct cpu_id_t id;
    if (!cpuid_present() || cpuid_get_raw_data(&raw) != 0 || cpu_identify(&raw, &id) != 0)
        return;
    f->cpuid_ok = true;
    snprintf(f->vendor, sizeof f->vendor, "%s", id.vendor_str);
    /* display family and model (Intel SDM vol. 2A, CPUID leaf 1): the
     * extended fields count only for family 0xf (and model for 6) */
    uint32_t sig = raw.basic_cpuid[1][EAX];
    unsigned fam = (sig >> 8) & 0xf, mod = (sig >> 4) & 0xf;
    if (fam == 0xf)
        fam += (sig >> 20) & 0xff;
    if (fam == 0x6 || fam >= 0xf)
        mod += ((sig >> 16) & 0xf) << 4;
    f->family = fam;
    f->model = mod;
    f->stepping = sig & 0xf;
    f->rtm = id.flags[CPU_FEATURE_RTM] != 0;
    f->hle = id.flags[CPU_FEATURE_HLE] != 0;
    /* libcpuid 0.6 decodes neither EDX bit of leaf 7: read them raw */
    if (raw.basic_cpuid[0][EAX] >= 7) {
        uint32_t edx = raw.basic_cpuid[7][EDX];
        f->rtm_always_abort = (edx >> 11) & 1;
        f->tsx_force_abort = (edx >> 13) & 1;
    }
#endif
}

#elif defined(__powerpc64__)
#include <sys/auxv.h>

/* From the kernel's asm/cputable.h (uapi), in case libc lacks them. */
#ifndef PPC_FEATURE2_HTM
#define PPC_FEATURE2_HTM 0x40000000
#endif
#ifndef PPC_FEATURE2_HTM_NOSC
#define PPC_FEATURE2_HTM_NOSC 0x01000000
#endif

void stm_cpu_facts_read(struct stm_cpu_facts *f)
{
    memset(f, 0, sizeof *f);
    f->arch = STM_ARCH_POWER;
    f->tsan_build = TSAN_BUILD;
    unsigned long hw2 = getauxval(AT_HWCAP2);
    f->hwcap_ok = true;
    f->htm = (hw2 & PPC_FEATURE2_HTM) != 0;
    f->htm_nosc = (hw2 & PPC_FEATURE2_HTM_NOSC) != 0;
}

#else
void stm_cpu_facts_read(struct stm_cpu_facts *f)
{
    memset(f, 0, sizeof *f);
    f->arch = STM_ARCH_OTHER;
}
#endif
