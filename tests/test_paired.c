/*
 * tests/test_paired.c - the paired A/B statistics (harness/compare/paired.h) on data whose answer
 * is known: constant ratios, a symmetric spread around a known shift, the signed-rank
 * critical value counted against the Walsh averages, the interval's coverage over seeded
 * samples, blocking, and the verdict rules.  Plus `bitbench paired` on a hand-made run file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../harness/compare/paired.h"
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

static void test_normal_quantile(void **state)
{
    (void)state;
    assert_true(fabs(bb_normal_upper_quantile(0.025) - 1.959964) < 1e-5);
    assert_true(fabs(bb_normal_upper_quantile(0.005) - 2.575829) < 1e-5);
    assert_true(fabs(bb_normal_upper_quantile(0.5)) < 1e-9);
}

static void test_constant_ratio_is_exact(void **state)
{
    (void)state;
    enum { N = 200 };
    double old[N], new_[N];
    for (int i = 0; i < N; i++) {
        old[i] = 1000 + 37 * (i % 11); /* the machine drifts; the ratio does not */
        new_[i] = old[i] * 1.05;
    }
    bb_paired p;
    assert_int_equal(bb_paired_estimate(old, new_, N, 0.01, 1000, &p), 0);
    assert_int_equal(p.pairs, N);
    assert_true(fabs(p.ratio - 1.05) < 1e-12);
    assert_true(fabs(p.lo - 1.05) < 1e-12 && fabs(p.hi - 1.05) < 1e-12);
    assert_string_equal(bb_paired_verdict(&p, 0.03), "regression");
    assert_string_equal(bb_paired_verdict(&p, 0.06), "no change"); /* certain, but below the threshold */
}

/* d_i = log 1.04 + e_i with e symmetric (+-i/1000 in pairs): estimate exactly log 1.04,
 * interval symmetric around it. */
static void test_symmetric_spread(void **state)
{
    (void)state;
    enum { N = 100 };
    double old[N], new_[N];
    for (int i = 0; i < N; i++) {
        double e = (i % 2 ? 1 : -1) * (double)(i / 2 + 1) / 1000;
        old[i] = 2000;
        new_[i] = 2000 * exp(log(1.04) + e);
    }
    bb_paired p;
    assert_int_equal(bb_paired_estimate(old, new_, N, 0.01, 1000, &p), 0);
    assert_true(fabs(p.ratio - 1.04) < 1e-9);
    assert_true(fabs(log(p.hi) - log(1.04) - (log(1.04) - log(p.lo))) < 1e-9);
    assert_true(p.lo < 1.04 && p.hi > 1.04 && p.lo > 1.0);
    assert_true(fabs(p.median_ratio - 1.04) < 1e-9);
}

/* n = 20, alpha 0.05: k = floor(20*21/4 - 1.959964 sqrt(20*21*41/24)) = floor(52.50) = 52, so
 * the interval is [W(53), W(158)] of the 210 sorted Walsh averages.  With d_i = i/100
 * (i = 1..20) the averages are (i + j)/200: count those below lo and above hi. */
static void test_signed_rank_critical_value(void **state)
{
    (void)state;
    enum { N = 20 };
    double old[N], new_[N];
    for (int i = 0; i < N; i++) {
        old[i] = 1;
        new_[i] = exp((i + 1) / 100.0);
    }
    bb_paired p;
    assert_int_equal(bb_paired_estimate(old, new_, N, 0.05, 1000, &p), 0);
    double lo = log(p.lo), hi = log(p.hi);
    int below = 0, above = 0, at_or_below = 0;
    for (int i = 1; i <= N; i++)
        for (int j = i; j <= N; j++) {
            double w = (i + j) / 200.0;
            below += w < lo - 1e-12;
            at_or_below += w <= lo + 1e-12;
            above += w > hi + 1e-12;
        }
    assert_true(below <= 52 && at_or_below >= 53); /* lo is the 53rd smallest */
    assert_true(above <= 52);
    assert_true(fabs(log(p.ratio) - 0.105) < 1e-12); /* median of (i + j)/200: 21/200 */
}

/* Seeded samples with no change: the 95% interval covers 1 in about 95% of 400 trials. */
static void test_coverage(void **state)
{
    (void)state;
    enum { N = 60, TRIALS = 400 };
    double old[N], new_[N];
    uint64_t s = 42;
    int covered = 0, flagged = 0;
    for (int t = 0; t < TRIALS; t++) {
        for (int i = 0; i < N; i++) {
            double base = 1000 * (1 + 0.5 * fabs(tu_rand_f32(&s))); /* drift shared by the pair */
            old[i] = base * (1 + 0.02 * tu_rand_f32(&s));
            new_[i] = base * (1 + 0.02 * tu_rand_f32(&s));
        }
        bb_paired p;
        assert_int_equal(bb_paired_estimate(old, new_, N, 0.05, 1000, &p), 0);
        covered += p.lo <= 1.0 && p.hi >= 1.0;
        flagged += strcmp(bb_paired_verdict(&p, 0.03), "no change") != 0;
    }
    assert_true(covered >= TRIALS * 90 / 100 && covered <= TRIALS * 99 / 100);
    assert_int_equal(flagged, 0);
}

/* Blocks: medians of consecutive rounds, so an interrupted call (x100) does not move them. */
static void test_blocks_and_outliers(void **state)
{
    (void)state;
    enum { N = 5000 };
    double *old = malloc(N * sizeof *old), *new_ = malloc(N * sizeof *new_);
    for (int i = 0; i < N; i++) {
        old[i] = 100;
        new_[i] = i % 3 ? 110 : 100.5; /* per block of 5: median 110 or 100.5 ... */
        if (i % 97 == 0)
            new_[i] = 10000; /* an interrupt */
    }
    old[7] = 0; /* not measured: skipped */
    bb_paired p;
    assert_int_equal(bb_paired_estimate(old, new_, N, 0.01, 1000, &p), 0);
    assert_int_equal(p.rounds, N - 1);
    assert_int_equal(p.block, 5);
    assert_int_equal(p.pairs, (N - 1) / 5);
    assert_true(fabs(p.ratio - 1.10) < 1e-9); /* two thirds of the rounds are 1.10 */
    free(old);
    free(new_);
}

static void test_too_few_pairs_and_verdicts(void **state)
{
    (void)state;
    double a[10] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    bb_paired p;
    assert_int_equal(bb_paired_estimate(a, a, 10, 0.01, 1000, &p), -1);
    assert_string_equal(bb_paired_verdict(&p, 0.03), "too few pairs");
    p = (bb_paired){.pairs = 100, .ratio = 0.95, .lo = 0.94, .hi = 0.96};
    assert_string_equal(bb_paired_verdict(&p, 0.03), "improvement");
    p = (bb_paired){.pairs = 100, .ratio = 1.05, .lo = 0.99, .hi = 1.10};
    assert_string_equal(bb_paired_verdict(&p, 0.03), "no change"); /* the interval reaches 1 */
}

/* `bitbench paired` on a run file written here: old/ and new/ rows of two kernels. */
static void test_paired_command(void **state)
{
    (void)state;
    const char *b = getenv("BITBENCH_BIN");
    char path[] = "/tmp/bitbench-paired-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    const char *impls[2] = {"tern2-x", "int8-y"};
    for (int side = 0; side < 2; side++)
        for (int k = 0; k < 2; k++) {
            fprintf(f, "{\"schema\":\"bitbench.gemm/1\",\"impl\":\"%s/%s\",\"m\":64,\"k\":64,\"n\":1,"
                       "\"mode\":\"warm\",\"latency_ns\":{\"samples\":[", side ? "new" : "old", impls[k]);
            for (int i = 0; i < 100; i++) /* tern2-x: 8% slower on the new side */
                fprintf(f, "%s%g", i ? "," : "", (1000.0 + i % 7) * (side && k == 0 ? 1.08 : 1.0));
            fprintf(f, "]}}\n");
        }
    fclose(f);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "'%s' paired '%s' | grep -q '^tern2-x .* regression$'", b ? b : "build/bitbench", path);
    assert_int_equal(system(cmd), 0);
    snprintf(cmd, sizeof cmd, "'%s' paired '%s' | grep -q '^int8-y .* no change$'", b ? b : "build/bitbench", path);
    assert_int_equal(system(cmd), 0);
    snprintf(cmd, sizeof cmd, "'%s' paired '%s' > /dev/null", b ? b : "build/bitbench", path);
    int st = system(cmd);
    assert_int_equal(WEXITSTATUS(st), 1);
    snprintf(cmd, sizeof cmd, "'%s' paired '%s' --threshold 10 > /dev/null", b ? b : "build/bitbench", path);
    st = system(cmd);
    assert_int_equal(WEXITSTATUS(st), 0);
    snprintf(cmd, sizeof cmd, "'%s' paired '%s' --old x --new x > /dev/null 2>&1", b ? b : "build/bitbench", path);
    st = system(cmd);
    assert_int_equal(WEXITSTATUS(st), 2);
    remove(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_normal_quantile),
        cmocka_unit_test(test_constant_ratio_is_exact),
        cmocka_unit_test(test_symmetric_spread),
        cmocka_unit_test(test_signed_rank_critical_value),
        cmocka_unit_test(test_coverage),
        cmocka_unit_test(test_blocks_and_outliers),
        cmocka_unit_test(test_too_few_pairs_and_verdicts),
        cmocka_unit_test(test_paired_command),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
