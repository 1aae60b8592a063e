/*
 * kernels/cpu.c - what the CPU and the OS support (cpuid + xgetbv), and the cap a user
 * puts on it (--isa or BITBENCH_ISA).  A kernel registers as runnable only when both
 * the CPU has the instructions and the OS saves the registers they use.
 */
#include "kernel.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

static uint64_t xgetbv0(void)
{
    uint32_t eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((uint64_t)edx << 32) | eax;
}

uint32_t bb_cpu_detect(void)
{
    unsigned a, b, c, d;
    uint32_t f = 0;
    if (!__get_cpuid(1, &a, &b, &c, &d))
        return 0;
    int osxsave = (c >> 27) & 1, has_avx = (c >> 28) & 1;
    int fma = (c >> 12) & 1, f16c = (c >> 29) & 1;
    if (!osxsave || !has_avx)
        return 0;
    uint64_t xcr0 = xgetbv0();
    int os_ymm = (xcr0 & 0x6) == 0x6;    /* XMM and YMM state */
    int os_zmm = (xcr0 & 0xe6) == 0xe6;  /* plus opmask, ZMM_Hi256, Hi16_ZMM */
    if (!os_ymm)
        return 0;
    if (fma) f |= BB_CPU_FMA;
    if (f16c) f |= BB_CPU_F16C;
    if (__get_cpuid_max(0, NULL) < 7)
        return f;
    __cpuid_count(7, 0, a, b, c, d);
    if ((b >> 5) & 1) f |= BB_CPU_AVX2;
    if (os_zmm) {
        if ((b >> 16) & 1) f |= BB_CPU_AVX512F;
        if ((b >> 17) & 1) f |= BB_CPU_AVX512DQ;
        if ((b >> 30) & 1) f |= BB_CPU_AVX512BW;
        if ((b >> 31) & 1) f |= BB_CPU_AVX512VL;
        if ((c >> 1) & 1) f |= BB_CPU_AVX512VBMI;
        if ((c >> 11) & 1) f |= BB_CPU_AVX512VNNI;
        if ((c >> 14) & 1) f |= BB_CPU_AVX512VPOPCNTDQ;
        if ((d >> 23) & 1) f |= BB_CPU_AVX512FP16;
    }
    __cpuid_count(7, 1, a, b, c, d);
    if ((a >> 4) & 1) f |= BB_CPU_AVXVNNI;
    return f;
}
#elif defined(__aarch64__)
uint32_t bb_cpu_detect(void) { return BB_CPU_NEON; }
#else
uint32_t bb_cpu_detect(void) { return 0; }
#endif

static const uint32_t level_mask[] = {
    [BB_ISA_SCALAR] = 0,
    [BB_ISA_AVX2] = BB_CPU_AVX2 | BB_CPU_FMA | BB_CPU_F16C | BB_CPU_AVXVNNI | BB_CPU_NEON,
    [BB_ISA_AVX512] = ~0u,
};
static const char *const level_name[] = {"scalar", "avx2", "avx512"};

static int cap_set = 0;
static bb_isa_level cap_level = BB_ISA_AVX512;

int bb_isa_parse(const char *s, bb_isa_level *out)
{
    for (int i = 0; i <= BB_ISA_AVX512; i++)
        if (s && strcmp(s, level_name[i]) == 0) {
            *out = (bb_isa_level)i;
            return 0;
        }
    return -1;
}

const char *bb_isa_name(bb_isa_level l)
{
    return (unsigned)l <= BB_ISA_AVX512 ? level_name[l] : "?";
}

void bb_isa_set_cap(bb_isa_level cap)
{
    cap_level = cap;
    cap_set = 1;
}

bb_isa_level bb_isa_cap(void)
{
    if (!cap_set) {
        /* An unparsable BITBENCH_ISA is rejected by the program before it gets here
         * (bench/ checks it); a library user gets the default. */
        bb_isa_level l;
        const char *env = getenv("BITBENCH_ISA");
        if (env && *env && bb_isa_parse(env, &l) == 0)
            cap_level = l;
        cap_set = 1;
    }
    return cap_level;
}

uint32_t bb_cpu_features(void)
{
    static int detected = 0;
    static uint32_t mask;
    if (!detected) {
        mask = bb_cpu_detect();
        detected = 1;
    }
    return mask & level_mask[bb_isa_cap()];
}

char *bb_cpu_features_str(uint32_t mask, char *buf, size_t len)
{
    static const char *const names[] = {"avx2", "fma", "f16c", "avx512f", "avx512bw",
                                        "avx512vl", "avx512dq", "avx512vnni", "avx512vbmi",
                                        "avx512fp16", "avxvnni", "neon", "avx512vpopcntdq"};
    size_t used = 0;
    buf[0] = '\0';
    for (unsigned i = 0; i < sizeof names / sizeof names[0]; i++)
        if (mask & (1u << i)) {
            int w = snprintf(buf + used, len - used, "%s%s", used ? " " : "", names[i]);
            if (w < 0 || (size_t)w >= len - used)
                break;
            used += (size_t)w;
        }
    return buf;
}
