/* tests/test_check_addonly.c - scripts/check-addonly.sh catches what it must.
 *
 * This test program is its own fake bitbench: run as `test_check_addonly list --json` it
 * prints the kernel list in CHECK_ADDONLY_FAKE_LIST, and it carries planted functions, each
 * one multiply instruction (or none) written in assembly.  Each test points the real script
 * at this binary with a list naming planted symbols and checks the verdict: a multiply of
 * every family is caught and named with its kernel and symbol, a clean function passes,
 * and a missing or unnamed symbol fails rather than passing unchecked.  The planted
 * instructions are of the architecture the test is built for: x86-64 natively, AArch64 in
 * make check-arm (where the script disassembles with aarch64-linux-gnu-objdump and runs
 * this binary under qemu-aarch64). */
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

/* Planted functions.  They are never called; only their bytes matter. */
#define PLANT(name, body)                                                                  \
    ".globl " name "\n.type " name ", @function\n" name ":\n" body "\nret\n.size " name ", .-" name "\n"
#if defined(__x86_64__)
/* The AVX-VNNI one is spelled as bytes so that objdump shows it with its {vex} prefix, as
 * a compiler's would be. */
__asm__(".text\n"
        PLANT("planted_imul", "imul %rsi, %rdi")
        PLANT("planted_mulx", "mulx %rsi, %rax, %rdx")
        PLANT("planted_vpdpbusd", "vpdpbusd %zmm1, %zmm2, %zmm0")
        PLANT("planted_vex_vpdpbusd", ".byte 0xc4, 0xe2, 0x6d, 0x50, 0xc1")
        PLANT("planted_vpmaddubsw", "vpmaddubsw %ymm1, %ymm2, %ymm0")
        PLANT("planted_vpmulld", "vpmulld %zmm1, %zmm2, %zmm0")
        PLANT("planted_vfmadd", "vfmadd231ps %zmm1, %zmm2, %zmm0")
        PLANT("planted_vmulss", "vmulss %xmm1, %xmm2, %xmm0")
        PLANT("planted_vdpbf16ps", "vdpbf16ps %zmm1, %zmm2, %zmm0")
        /* adds, logic, popcount, shifts and vpmultishiftqb (a bit gather, not a multiply) */
        PLANT("clean_adds", "add %rsi, %rdi\nlea (%rdi,%rsi,4), %rax\nvpaddq %zmm1, %zmm2, %zmm0\n"
                            "vpternlogq $0xca, %zmm1, %zmm2, %zmm0\nvpopcntq %zmm0, %zmm0\n"
                            "vpsllvw %zmm1, %zmm2, %zmm0\nvpmultishiftqb %zmm1, %zmm2, %zmm0"));
#define INT_MUL_1 "planted_imul", "imul"
#define INT_MUL_2 "planted_mulx", "mulx"
#define SIMD_MADD_1 "planted_vpdpbusd", "vpdpbusd"
#define SIMD_MADD_2 "planted_vex_vpdpbusd", "vpdpbusd"
#define SIMD_MADD_3 "planted_vpmaddubsw", "vpmaddubsw"
#define SIMD_MADD_4 "planted_vpmulld", "vpmulld"
#define FLOAT_MUL_1 "planted_vfmadd", "vfmadd231ps"
#define FLOAT_MUL_2 "planted_vmulss", "vmulss"
#define FLOAT_MUL_3 "planted_vdpbf16ps", "vdpbf16ps"
#define A_MADD_SYMBOL "planted_vpdpbusd"
#define INT_MUL_SYMBOL "planted_imul"
#elif defined(__aarch64__)
/* The dot-product and matrix instructions need their extensions named to the assembler. */
__asm__(".text\n.arch armv8.6-a+dotprod+i8mm+fp16+bf16\n"
        PLANT("planted_mul", "mul x0, x1, x2")
        PLANT("planted_madd", "madd w0, w1, w2, w3")
        PLANT("planted_smull", "smull x0, w1, w2")
        PLANT("planted_umull2", "umull2 v0.8h, v1.16b, v2.16b")
        PLANT("planted_smaddl", "smaddl x0, w1, w2, x3")
        PLANT("planted_mla", "mla v0.4s, v1.4s, v2.4s")
        PLANT("planted_mls", "mls v0.8h, v1.8h, v2.h[3]")
        PLANT("planted_sdot", "sdot v0.4s, v1.16b, v2.16b")
        PLANT("planted_usdot", "usdot v0.4s, v1.16b, v2.16b")
        PLANT("planted_smmla", "smmla v0.4s, v1.16b, v2.16b")
        PLANT("planted_fmul", "fmul v0.4s, v1.4s, v2.4s")
        PLANT("planted_fmla", "fmla v0.4s, v1.4s, v2.s[1]")
        PLANT("planted_fmls", "fmls v0.8h, v1.8h, v2.8h")
        PLANT("planted_fmadd", "fmadd s0, s1, s2, s3")
        /* adds, widening adds, logic, popcount, shifts, table lookups, pairwise adds */
        PLANT("clean_adds", "add x0, x1, x2, lsl #2\nadd v0.4s, v1.4s, v2.4s\n"
                            "saddw v0.8h, v0.8h, v1.8b\neor v0.16b, v1.16b, v2.16b\n"
                            "cnt v0.16b, v1.16b\nushl v0.4s, v1.4s, v2.4s\n"
                            "tbl v0.16b, {v1.16b}, v2.16b\naddp v0.4s, v1.4s, v2.4s\n"
                            "ldr q0, [x0, #16]\nsadalp v0.4s, v1.8h"));
#define INT_MUL_1 "planted_mul", "mul"
#define INT_MUL_2 "planted_madd", "madd"
#define INT_MUL_3 "planted_smull", "smull"
#define INT_MUL_4 "planted_smaddl", "smaddl"
#define SIMD_MADD_1 "planted_sdot", "sdot"
#define SIMD_MADD_2 "planted_usdot", "usdot"
#define SIMD_MADD_3 "planted_smmla", "smmla"
#define SIMD_MADD_4 "planted_mla", "mla"
#define SIMD_MADD_5 "planted_mls", "mls"
#define SIMD_MADD_6 "planted_umull2", "umull2"
#define FLOAT_MUL_1 "planted_fmul", "fmul"
#define FLOAT_MUL_2 "planted_fmla", "fmla"
#define FLOAT_MUL_3 "planted_fmls", "fmls"
#define FLOAT_MUL_4 "planted_fmadd", "fmadd"
#define A_MADD_SYMBOL "planted_sdot"
#define INT_MUL_SYMBOL "planted_mul"
#else
#error "test_check_addonly: no planted instructions for this architecture"
#endif

static char self[PATH_MAX];

/* One kernel of the fake list, formatted as jansson's JSON_INDENT(2) prints it. */
static void append_kernel(char *json, size_t len, const char *impl, int multiply_free,
                          const char *hot_symbol)
{
    char sym[128];
    if (hot_symbol)
        snprintf(sym, sizeof sym, "\"%s\"", hot_symbol);
    else
        snprintf(sym, sizeof sym, "null");
    size_t used = strlen(json);
    snprintf(json + used, len - used,
             "%s    {\n      \"impl\": \"%s\",\n      \"multiply_free\": %s,\n"
             "      \"hot_symbol\": %s\n    }",
             used > 0 ? ",\n" : "", impl, multiply_free ? "true" : "false", sym);
}

/* Runs the script on this binary with `kernels` as its list; returns the exit status and
 * the output (stdout and stderr) in out. */
static int run_check(const char *kernels, char *out, size_t len)
{
    char list[4096], cmd[PATH_MAX * 2 + 64];
    const char *src = getenv("BITBENCH_SRCDIR");
    snprintf(list, sizeof list, "{\n  \"formats\": [\n  ],\n  \"kernels\": [\n%s\n  ]\n}\n", kernels);
    setenv("CHECK_ADDONLY_FAKE_LIST", list, 1);
    snprintf(cmd, sizeof cmd, "sh %s/scripts/check-addonly.sh %s 2>&1", src ? src : ".", self);
    int status = tu_sh_output(cmd, out, len);
    assert_true(status >= 0);
    return status;
}

static void expect_caught(const char *symbol, const char *mnemonic)
{
    char kernels[1024] = "", out[4096], impl[128];
    snprintf(impl, sizeof impl, "fake-%s", symbol);
    append_kernel(kernels, sizeof kernels, impl, 1, symbol);
    int rc = run_check(kernels, out, sizeof out);
    if (rc != 1 || !strstr(out, impl) || !strstr(out, symbol) || !strstr(out, mnemonic))
        fail_msg("%s: expected exit 1 naming %s, %s and '%s'; got exit %d:\n%s", symbol, impl,
                 symbol, mnemonic, rc, out);
}

static void test_catches_integer_multiplies(void **state)
{
    (void)state;
    expect_caught(INT_MUL_1);
    expect_caught(INT_MUL_2);
#ifdef INT_MUL_3
    expect_caught(INT_MUL_3);
    expect_caught(INT_MUL_4);
#endif
}

static void test_catches_simd_multiply_adds(void **state)
{
    (void)state;
    expect_caught(SIMD_MADD_1);
    expect_caught(SIMD_MADD_2);
    expect_caught(SIMD_MADD_3);
    expect_caught(SIMD_MADD_4);
#ifdef SIMD_MADD_5
    expect_caught(SIMD_MADD_5);
    expect_caught(SIMD_MADD_6);
#endif
}

static void test_catches_float_multiplies(void **state)
{
    (void)state;
    expect_caught(FLOAT_MUL_1);
    expect_caught(FLOAT_MUL_2);
    expect_caught(FLOAT_MUL_3);
#ifdef FLOAT_MUL_4
    expect_caught(FLOAT_MUL_4);
#endif
}

static void test_clean_function_passes(void **state)
{
    (void)state;
    char kernels[1024] = "", out[4096];
    append_kernel(kernels, sizeof kernels, "fake-clean", 1, "clean_adds");
    int rc = run_check(kernels, out, sizeof out);
    if (rc != 0 || !strstr(out, "OK") || !strstr(out, "fake-clean"))
        fail_msg("clean_adds: expected exit 0 and an OK line; got exit %d:\n%s", rc, out);
}

static void test_missing_or_unnamed_symbol_fails(void **state)
{
    (void)state;
    char kernels[1024] = "", out[4096];
    append_kernel(kernels, sizeof kernels, "fake-missing", 1, "no_such_symbol_in_this_binary");
    int rc = run_check(kernels, out, sizeof out);
    if (rc != 1 || !strstr(out, "fake-missing") || !strstr(out, "missing"))
        fail_msg("missing symbol: expected exit 1 naming it; got exit %d:\n%s", rc, out);

    kernels[0] = '\0';
    append_kernel(kernels, sizeof kernels, "fake-unnamed", 1, NULL);
    rc = run_check(kernels, out, sizeof out);
    if (rc != 1 || !strstr(out, "fake-unnamed") || !strstr(out, "hot_symbol"))
        fail_msg("no hot_symbol: expected exit 1 naming the kernel; got exit %d:\n%s", rc, out);
}

/* Only multiply_free kernels are held to it; one offender among clean kernels fails the
 * whole check while the clean ones still get their OK line; nothing checked is a failure. */
static void test_verdict_over_several_kernels(void **state)
{
    (void)state;
    char kernels[2048] = "", out[4096];
    append_kernel(kernels, sizeof kernels, "fake-madd", 0, A_MADD_SYMBOL);
    append_kernel(kernels, sizeof kernels, "fake-clean", 1, "clean_adds");
    int rc = run_check(kernels, out, sizeof out);
    if (rc != 0 || strstr(out, "fake-madd"))
        fail_msg("a multiply-add kernel not marked multiply_free must be ignored; got exit %d:\n%s",
                 rc, out);

    append_kernel(kernels, sizeof kernels, "fake-imul", 1, INT_MUL_SYMBOL);
    rc = run_check(kernels, out, sizeof out);
    if (rc != 1 || !strstr(out, "OK   fake-clean") || !strstr(out, "FAIL fake-imul"))
        fail_msg("expected OK for fake-clean, FAIL for fake-imul, exit 1; got exit %d:\n%s", rc,
                 out);

    kernels[0] = '\0';
    append_kernel(kernels, sizeof kernels, "fake-madd", 0, A_MADD_SYMBOL);
    rc = run_check(kernels, out, sizeof out);
    if (rc != 1 || !strstr(out, "nothing was checked"))
        fail_msg("no multiply-free kernel at all must fail; got exit %d:\n%s", rc, out);
}

/* The list parser takes the keys of an object in any order. */
static void test_key_order_does_not_matter(void **state)
{
    (void)state;
    char out[4096];
    const char *kernels = "    {\n      \"hot_symbol\": \"" INT_MUL_SYMBOL "\",\n"
                          "      \"multiply_free\": true,\n      \"impl\": \"fake-reordered\"\n    }";
    int rc = run_check(kernels, out, sizeof out);
    if (rc != 1 || !strstr(out, "fake-reordered") || !strstr(out, INT_MUL_SYMBOL))
        fail_msg("reordered keys: expected exit 1 naming the kernel; got exit %d:\n%s", rc, out);
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "list") == 0) { /* the fake `bitbench list --json` */
        const char *list = getenv("CHECK_ADDONLY_FAKE_LIST");
        fputs(list ? list : "{}\n", stdout);
        return 0;
    }
    if (tu_self_exe(self, sizeof self) != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_catches_integer_multiplies),
        cmocka_unit_test(test_catches_simd_multiply_adds),
        cmocka_unit_test(test_catches_float_multiplies),
        cmocka_unit_test(test_clean_function_passes),
        cmocka_unit_test(test_missing_or_unnamed_symbol_fails),
        cmocka_unit_test(test_verdict_over_several_kernels),
        cmocka_unit_test(test_key_order_does_not_matter),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
