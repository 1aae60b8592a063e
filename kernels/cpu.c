/*
 * kernels/cpu.c - what the CPU and the OS support (x86: cpuid + xgetbv; AArch64: the
 * kernel's hwcaps), the ISA levels of kernels/isa.def, and the cap a user puts on them
 * (--isa or BITBENCH_ISA).  A kernel registers as runnable only when both the CPU has the
 * instructions and the OS saves the registers they use.
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
#include <sys/auxv.h>

/* The kernel's hwcap bits (asm/hwcap.h), spelled here so that an older libc's headers
 * still build: ABI constants, they never change. */
#define BB_HWCAP_ASIMD (1ul << 1)
#define BB_HWCAP_ASIMDHP (1ul << 10)
#define BB_HWCAP_ASIMDDP (1ul << 20)
#define BB_HWCAP2_I8MM (1ul << 13)

uint32_t bb_cpu_detect(void)
{
    unsigned long hw = getauxval(AT_HWCAP), hw2 = getauxval(AT_HWCAP2);
    uint32_t f = 0;
    if (hw & BB_HWCAP_ASIMD)
        f |= BB_CPU_NEON;
    if (hw & BB_HWCAP_ASIMDHP)
        f |= BB_CPU_FP16;
    if (hw & BB_HWCAP_ASIMDDP)
        f |= BB_CPU_DOTPROD;
    if (hw2 & BB_HWCAP2_I8MM)
        f |= BB_CPU_I8MM;
    return f;
}
#else
uint32_t bb_cpu_detect(void) { return 0; }
#endif

typedef struct isa_row {
    bb_arch arch;
    const char *name;
    uint32_t mask;
    const char *flags;
} isa_row;

static const isa_row isa_table[BB_ISA_COUNT] = {
#define BB_ISA(id, arch_, name_, mask_, flags_)                                            \
    [BB_ISA_##id] = {.arch = BB_ARCH_##arch_, .name = name_, .mask = (mask_), .flags = flags_},
#include "isa.def"
};

bb_arch bb_arch_host(void)
{
#if defined(__x86_64__)
    return BB_ARCH_X86_64;
#elif defined(__aarch64__)
    return BB_ARCH_AARCH64;
#else
    return BB_ARCH_ANY;
#endif
}

bb_arch bb_isa_arch(bb_isa_level l)
{
    return (unsigned)l < BB_ISA_COUNT ? isa_table[l].arch : BB_ARCH_ANY;
}

uint32_t bb_isa_mask(bb_isa_level l)
{
    return (unsigned)l < BB_ISA_COUNT ? isa_table[l].mask : 0;
}

const char *bb_isa_flags(bb_isa_level l)
{
    return (unsigned)l < BB_ISA_COUNT ? isa_table[l].flags : "";
}

/* Usable here: scalar, or a level of this binary's architecture. */
static bool isa_here(bb_isa_level l)
{
    return (unsigned)l < BB_ISA_COUNT &&
           (isa_table[l].arch == BB_ARCH_ANY || isa_table[l].arch == bb_arch_host());
}

bool bb_isa_allowed(bb_isa_level l, bb_isa_level cap)
{
    if (!isa_here(l))
        return false;
    return isa_table[l].arch == BB_ARCH_ANY || (isa_here(cap) && l <= cap);
}

/* The highest level of this architecture: the default cap. */
static bb_isa_level isa_top(void)
{
    bb_isa_level top = BB_ISA_SCALAR;
    for (int i = 0; i < BB_ISA_COUNT; i++)
        if (isa_here((bb_isa_level)i))
            top = (bb_isa_level)i;
    return top;
}

static int cap_set = 0;
static bb_isa_level cap_level = BB_ISA_SCALAR;

int bb_isa_parse(const char *s, bb_isa_level *out)
{
    for (int i = 0; i < BB_ISA_COUNT; i++)
        if (s && isa_here((bb_isa_level)i) && strcmp(s, isa_table[i].name) == 0) {
            *out = (bb_isa_level)i;
            return 0;
        }
    return -1;
}

const char *bb_isa_name(bb_isa_level l)
{
    return (unsigned)l < BB_ISA_COUNT ? isa_table[l].name : "?";
}

char *bb_isa_names(const char *sep, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < BB_ISA_COUNT; i++) {
        if (!isa_here((bb_isa_level)i))
            continue;
        int w = snprintf(buf + used, len - used, "%s%s", used ? sep : "", isa_table[i].name);
        if (w < 0 || (size_t)w >= len - used)
            break;
        used += (size_t)w;
    }
    return buf;
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
        cap_level = isa_top();
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
    /* The cap takes away the features that only levels above it bring. */
    uint32_t allowed = 0, above = 0;
    bb_isa_level cap = bb_isa_cap();
    for (int i = 0; i < BB_ISA_COUNT; i++) {
        if (bb_isa_allowed((bb_isa_level)i, cap))
            allowed |= isa_table[i].mask;
        else if (isa_here((bb_isa_level)i))
            above |= isa_table[i].mask;
    }
    return mask & ~(above & ~allowed);
}

char *bb_cpu_features_str(uint32_t mask, char *buf, size_t len)
{
    static const char *const names[BB_CPU_FEATURE_COUNT] = {
#define BB_FEATURE(id, name) [BB_CPU_BIT_##id] = name,
#include "isa.def"
    };
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
