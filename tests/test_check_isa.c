/* tests/test_check_isa.c - scripts/check-isa.sh catches what it must: an instruction of a
 * feature outside the ISA level's mask (kernels/isa.def) fails, naming the feature and the
 * instruction; the same instruction passes at a level that has the feature.  This binary
 * carries the planted functions (assembly of its own architecture, never called); each
 * case points the real script at one of them with CHECK_ISA_SYMBOL and a level with
 * CHECK_ISA_LEVEL. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "testutil.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define PLANT(name, body)                                                                  \
    ".globl " name "\n.type " name ", @function\n" name ":\n" body "\nret\n.size " name ", .-" name "\n"

typedef struct isa_case {
    const char *symbol, *level;
    const char *feature; /* the feature the verdict must name; NULL: must pass */
} isa_case;

#if defined(__x86_64__)
__asm__(".text\n"
        PLANT("plant_scalar", "add %rsi, %rdi\nlea (%rdi,%rsi,4), %rax\nimul %rsi, %rax")
        PLANT("plant_ymm_add", "vpaddd %ymm1, %ymm2, %ymm0")
        PLANT("plant_fma", "vfmadd231ps %ymm1, %ymm2, %ymm0")
        PLANT("plant_vex_vpdpbusd", ".byte 0xc4, 0xe2, 0x6d, 0x50, 0xc1")
        PLANT("plant_evex_vpdpbusd", "vpdpbusd %zmm1, %zmm2, %zmm0")
        PLANT("plant_vpermb", "vpermb %zmm1, %zmm2, %zmm0")
        PLANT("plant_vpopcntq", "vpopcntq %zmm1, %zmm0")
        PLANT("plant_vpopcntb", "vpopcntb %zmm1, %zmm0")
        PLANT("plant_high_xmm", "vpaddd %xmm17, %xmm18, %xmm16")
        PLANT("plant_vaddph", "vaddph %zmm1, %zmm2, %zmm0"));
static const isa_case CASES[] = {
    {"plant_scalar", "scalar", NULL},
    {"plant_ymm_add", "scalar", "avx2"},
    {"plant_ymm_add", "avx2", NULL},
    {"plant_fma", "scalar", "fma"},
    {"plant_fma", "avx2", NULL},
    {"plant_vex_vpdpbusd", "avx2", "avxvnni"},
    {"plant_vex_vpdpbusd", "avxvnni", NULL},
    {"plant_evex_vpdpbusd", "avxvnni", "avx512vnni"},
    {"plant_evex_vpdpbusd", "avx512", NULL},
    {"plant_vpermb", "avx2", "avx512vbmi"},
    {"plant_vpermb", "avx512", NULL},
    {"plant_vpopcntq", "avx2", "avx512vpopcntdq"},
    {"plant_vpopcntq", "avx512", NULL},
    {"plant_vpopcntb", "avx512", "avx512bitalg"},
    {"plant_high_xmm", "avx2", "avx512vl"},
    {"plant_vaddph", "avx512", "avx512fp16"},
};
#elif defined(__aarch64__)
__asm__(".text\n.arch armv8.6-a+dotprod+i8mm+fp16\n"
        PLANT("plant_scalar", "add x0, x1, x2\nmul x0, x0, x1\nfadd s0, s1, s2")
        PLANT("plant_neon_add", "add v0.4s, v1.4s, v2.4s\nfcvtl v0.4s, v1.4h\nfcvtn v0.4h, v1.4s")
        PLANT("plant_sdot", "sdot v0.4s, v1.16b, v2.16b")
        PLANT("plant_usdot", "usdot v0.4s, v1.16b, v2.16b")
        PLANT("plant_smmla", "smmla v0.4s, v1.16b, v2.16b")
        PLANT("plant_fp16_fmla", "fmla v0.8h, v1.8h, v2.8h")
        PLANT("plant_fp16_scalar", "fadd h0, h1, h2")
        PLANT("plant_lse", "ldadd w0, w1, [x2]"));
static const isa_case CASES[] = {
    {"plant_scalar", "scalar", NULL},
    {"plant_neon_add", "scalar", NULL}, /* NEON is the AArch64 baseline */
    {"plant_neon_add", "neon", NULL},
    {"plant_sdot", "neon", "dotprod"},
    {"plant_sdot", "dotprod", NULL},
    {"plant_usdot", "dotprod", "i8mm"},
    {"plant_smmla", "dotprod", "i8mm"},
    {"plant_smmla", "i8mm", NULL},
    {"plant_fp16_fmla", "i8mm", "fp16"},
    {"plant_fp16_scalar", "neon", "fp16"},
    {"plant_lse", "neon", "dotprod"},
    {"plant_lse", "dotprod", NULL},
};
#else
#error "test_check_isa: no planted instructions for this architecture"
#endif

static char self[PATH_MAX];

/* Runs the script on this binary for one symbol at one level; exit status, output in out. */
static int run_check(const char *symbol, const char *level, char *out, size_t len)
{
    char cmd[PATH_MAX * 3];
    const char *src = getenv("BITBENCH_SRCDIR");
    if (!src)
        src = ".";
    setenv("CHECK_ISA_SYMBOL", symbol, 1);
    setenv("CHECK_ISA_LEVEL", level, 1);
    snprintf(cmd, sizeof cmd, "sh %s/scripts/check-isa.sh %s/kernels/isa.def %s 2>&1", src, src, self);
    int status = tu_sh_output(cmd, out, len);
    assert_true(status >= 0);
    return status;
}

static void test_planted_instructions(void **state)
{
    (void)state;
    char out[8192];
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        const isa_case *c = &CASES[i];
        int rc = run_check(c->symbol, c->level, out, sizeof out);
        if (!c->feature && rc != 0)
            fail_msg("%s at level %s: expected to pass; got exit %d:\n%s", c->symbol, c->level, rc, out);
        if (c->feature) {
            char want[64];
            snprintf(want, sizeof want, "needs %s:", c->feature);
            if (rc != 1 || !strstr(out, want))
                fail_msg("%s at level %s: expected exit 1 and '%s'; got exit %d:\n%s", c->symbol,
                         c->level, want, rc, out);
        }
    }
}

/* A file that is not there is bad usage (exit 2), not a pass. */
static void test_bad_usage(void **state)
{
    (void)state;
    char cmd[PATH_MAX * 2], out[4096];
    const char *src = getenv("BITBENCH_SRCDIR");
    snprintf(cmd, sizeof cmd, "sh %s/scripts/check-isa.sh %s/kernels/isa.def /no/such.o 2>&1",
             src ? src : ".", src ? src : ".");
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = '\0';
    int status = pclose(p);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 2);
}

int main(void)
{
    if (tu_self_exe(self, sizeof self) != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_planted_instructions),
        cmocka_unit_test(test_bad_usage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
