/*
 * tests/test_compare.c - `bitbench compare`: its statistics against values computed
 * independently, its verdicts on synthetic samples with realistic noise (seeded, so
 * every assertion is deterministic: no timing is measured here), key pairing, machine
 * identity, normalization, the confirmation run, and the program's exit codes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../harness/compare/compare.h"
#include "../harness/compare/history.h"
#include "../harness/base/rng.h"
#include "../harness/base/stats.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "testutil.h"

/* ------------------------------------------------------------------ synthetic timings */

static double gauss(uint64_t *s)
{
    double u1 = ((double)(bb_rng_u64(s) >> 11) + 0.5) * 0x1.0p-53;
    double u2 = (double)(bb_rng_u64(s) >> 11) * 0x1.0p-53;
    return sqrt(-2 * log(u1)) * cos(6.283185307179586 * u2);
}

/* What this shared 2-core machine produces: a level with 3% jitter, and 15% of calls
 * hit by a preemption or a neighbour's burst that adds 0.5x to 10x the level. */
static void noisy_samples(double *v, size_t n, double level, uint64_t seed)
{
    uint64_t s = seed * 0x9E3779B97F4A7C15ull + 7;
    for (size_t i = 0; i < n; i++) {
        v[i] = level * (1 + 0.03 * gauss(&s));
        if ((bb_rng_u64(&s) >> 11) * 0x1.0p-53 < 0.15)
            v[i] += level * (0.5 + 9.5 * (double)(bb_rng_u64(&s) >> 11) * 0x1.0p-53);
    }
}

enum { N_SAMPLES = 120, TRIALS = 20 };

/* Verdicts of TRIALS independent BASE/NEW pairs, NEW's level = (1 + shift) x BASE's. */
static void verdicts_for_shift(double shift, size_t counts[4], size_t *ci_covers)
{
    bb_compare_opts o;
    bb_compare_opts_default(&o);
    double a[N_SAMPLES], b[N_SAMPLES];
    memset(counts, 0, 4 * sizeof *counts);
    *ci_covers = 0;
    for (uint64_t t = 0; t < TRIALS; t++) {
        noisy_samples(a, N_SAMPLES, 1000.0, 2 * t + 1);
        noisy_samples(b, N_SAMPLES, 1000.0 * (1 + shift), 2 * t + 2);
        bb_sample_compare r;
        bb_compare_samples(a, N_SAMPLES, b, N_SAMPLES, &o, t, &r);
        counts[r.verdict]++;
        *ci_covers += r.ci_low <= shift && shift <= r.ci_high;
    }
}

static void test_identical_distributions_give_no_regression(void **state)
{
    (void)state;
    size_t c[4], covers;
    verdicts_for_shift(0.0, c, &covers);
    assert_int_equal(c[BB_REGRESSION], 0);
    assert_int_equal(c[BB_IMPROVEMENT], 0);
    assert_int_equal(c[BB_NO_CHANGE], TRIALS);
}

static void test_ten_percent_shift_is_detected(void **state)
{
    (void)state;
    size_t c[4], covers;
    verdicts_for_shift(0.10, c, &covers);
    assert_int_equal(c[BB_REGRESSION], TRIALS);
    verdicts_for_shift(-0.10, c, &covers);
    assert_int_equal(c[BB_IMPROVEMENT], TRIALS);
}

/* 2% is real and, with 120 samples and 3% jitter, often significant: the effect-size
 * threshold (5%) is what keeps it from failing a build. */
static void test_two_percent_shift_is_under_the_threshold(void **state)
{
    (void)state;
    size_t c[4], covers;
    verdicts_for_shift(0.02, c, &covers);
    assert_int_equal(c[BB_REGRESSION], 0);
    assert_int_equal(c[BB_NO_CHANGE], TRIALS);
    bb_compare_opts o;
    bb_compare_opts_default(&o);
    o.threshold = 0.01; /* the same data with a 1% threshold: now flagged at least sometimes */
    double a[N_SAMPLES], b[N_SAMPLES];
    size_t flagged = 0;
    for (uint64_t t = 0; t < TRIALS; t++) {
        noisy_samples(a, N_SAMPLES, 1000.0, 2 * t + 1);
        noisy_samples(b, N_SAMPLES, 1020.0, 2 * t + 2);
        bb_sample_compare r;
        bb_compare_samples(a, N_SAMPLES, b, N_SAMPLES, &o, t, &r);
        flagged += r.verdict == BB_REGRESSION;
    }
    assert_true(flagged > 0);
}

/* A co-runner time-slicing the core: in NEW most calls take 3x longer than they need,
 * so the median triples, but the calls that ran alone (the floor) did not change.  The
 * floor guard keeps that from being a regression; without it (quantile 0), it is one. */
static void contended(double *v, size_t n, double level, double share, uint64_t seed)
{
    uint64_t s = seed;
    noisy_samples(v, n, level, seed);
    for (size_t i = 0; i < n; i++)
        if ((double)(bb_rng_u64(&s) >> 11) * 0x1.0p-53 < share)
            v[i] *= 3.0;
}

static void test_contention_moves_the_median_not_the_floor(void **state)
{
    (void)state;
    bb_compare_opts o;
    bb_compare_opts_default(&o);
    double a[N_SAMPLES], b[N_SAMPLES];
    for (uint64_t t = 0; t < TRIALS; t++) {
        contended(a, N_SAMPLES, 1000, 0.1, 2 * t + 1);
        contended(b, N_SAMPLES, 1000, 0.7, 2 * t + 2);
        bb_sample_compare r;
        o.floor_quantile = 0.05;
        bb_compare_samples(a, N_SAMPLES, b, N_SAMPLES, &o, t, &r);
        assert_true(r.change > 0.5);
        assert_true(fabs(r.floor_change) < 0.05);
        assert_int_equal(r.verdict, BB_NO_CHANGE);
        o.floor_quantile = 0;
        bb_compare_samples(a, N_SAMPLES, b, N_SAMPLES, &o, t, &r);
        assert_int_equal(r.verdict, BB_REGRESSION);
        assert_true(isnan(r.floor_change));
    }
    /* a kernel doing twice the work under the same contention moves both: caught */
    for (uint64_t t = 0; t < TRIALS; t++) {
        contended(a, N_SAMPLES, 1000, 0.3, 2 * t + 1);
        contended(b, N_SAMPLES, 2000, 0.3, 2 * t + 2);
        bb_sample_compare r;
        o.floor_quantile = 0.05;
        bb_compare_samples(a, N_SAMPLES, b, N_SAMPLES, &o, t, &r);
        assert_int_equal(r.verdict, BB_REGRESSION);
        assert_float_equal(r.floor_change, 1.0, 0.1);
    }
}

/* The 99% interval should miss the true shift about once in 100; allow 2 misses in 20. */
static void test_bootstrap_ci_covers_the_true_shift(void **state)
{
    (void)state;
    static const double shifts[] = {0.0, 0.05, 0.10, 0.30};
    for (size_t i = 0; i < sizeof shifts / sizeof shifts[0]; i++) {
        size_t c[4], covers;
        verdicts_for_shift(shifts[i], c, &covers);
        if (covers < TRIALS - 2)
            print_error("shift %.2f: CI covered it %zu of %d times\n", shifts[i], covers, TRIALS);
        assert_true(covers >= TRIALS - 2);
    }
}

static void test_bootstrap_is_reproducible(void **state)
{
    (void)state;
    double a[N_SAMPLES], b[N_SAMPLES], lo1, hi1, lo2, hi2, lo3, hi3;
    noisy_samples(a, N_SAMPLES, 1000, 1);
    noisy_samples(b, N_SAMPLES, 1100, 2);
    bb_bootstrap_median_change(a, N_SAMPLES, b, N_SAMPLES, 1000, 0.99, 42, &lo1, &hi1);
    bb_bootstrap_median_change(a, N_SAMPLES, b, N_SAMPLES, 1000, 0.99, 42, &lo2, &hi2);
    bb_bootstrap_median_change(a, N_SAMPLES, b, N_SAMPLES, 1000, 0.99, 43, &lo3, &hi3);
    assert_true(lo1 == lo2 && hi1 == hi2);
    assert_true(lo1 != lo3 || hi1 != hi3); /* the seed is used */
    assert_true(lo1 < hi1);
}

/* ------------------------------------------------------------------ statistics vs independent values */

/*
 * Exact case, by hand.  BASE x = {1, 3, 5}, NEW y = {2, 6, 7, 8}.
 *   U_new = #(x_i < y_j): y=2 beats {1} -> 1; y=6, 7, 8 beat all three -> 3 + 3 + 3;  U_new = 10.
 *   U_base = 3*4 - 10 = 2, the smaller one.  Under H0 every one of C(7,3) = 35 placements of
 *   the x ranks is equally likely; U_base = number of (x, y) pairs with y < x, and
 *   #(U_base = 0) = 1 ({1,2,3}), #(= 1) = 1 ({1,2,4}), #(= 2) = 2 ({1,2,5}, {1,3,4}).
 *   P(U <= 2) = 4/35; two-sided p = 8/35 = 0.228571...
 * (A brute-force enumeration of the 35 placements, written separately, gave 8/35 too.)
 */
static void test_mann_whitney_exact_small_case(void **state)
{
    (void)state;
    const double x[] = {1, 3, 5}, y[] = {2, 6, 7, 8};
    bb_mwu r;
    bb_mann_whitney(x, 3, y, 4, &r);
    assert_true(r.exact);
    assert_float_equal(r.u_new, 10.0, 1e-12);
    assert_float_equal(r.p, 8.0 / 35.0, 1e-12);
    bb_mann_whitney(y, 4, x, 3, &r); /* roles swapped: U of the other side, same p */
    assert_float_equal(r.u_new, 2.0, 1e-12);
    assert_float_equal(r.p, 8.0 / 35.0, 1e-12);
}

/*
 * Ties, normal approximation, by hand.  BASE x = {1, 2, 2, 4}, NEW y = {2, 3, 5, 6, 6}.
 *   Pooled, sorted: 1x 2x 2x 2y 3y 4x 5y 6y 6y (N = 9).  Midranks: 1 -> 1; the three 2s share
 *   ranks 2..4 -> 3; 3 -> 5; 4 -> 6; 5 -> 7; the two 6s share 8, 9 -> 8.5.
 *   R_y = 3 + 5 + 7 + 8.5 + 8.5 = 32;  U_new = R_y - 5*6/2 = 17  (U_base = 20 - 17 = 3).
 *   mean = n m / 2 = 10.  Tie groups t = 3 and t = 2: sum(t^3 - t) = 24 + 6 = 30.
 *   var = n m / 12 * ((N + 1) - 30 / (N (N - 1))) = 20/12 * (10 - 30/72) = 15.972222...
 *   z = (|17 - 10| - 0.5) / sqrt(15.972222) = 6.5 / 3.996526 = 1.626412
 *   p = 2 (1 - Phi(1.626412)) = erfc(1.626412 / sqrt 2) = 0.103862
 */
static void test_mann_whitney_ties_normal_approximation(void **state)
{
    (void)state;
    const double x[] = {1, 2, 2, 4}, y[] = {2, 3, 5, 6, 6};
    bb_mwu r;
    bb_mann_whitney(x, 4, y, 5, &r);
    assert_false(r.exact);
    assert_float_equal(r.u_new, 17.0, 1e-12);
    assert_float_equal(r.z, 1.626412, 1e-6);
    assert_float_equal(r.p, 0.103862, 1e-6);
}

/* Exact p against brute-force enumeration of every placement (independent of the
 * Gaussian-binomial recurrence the library uses), for all sizes up to 6 x 6. */
static double brute_force_p(size_t m, size_t n, double u_small)
{
    size_t total = 0, hits = 0, N = m + n;
    for (unsigned mask = 0; mask < (1u << N); mask++) {
        if ((size_t)__builtin_popcount(mask) != m)
            continue;
        size_t u = 0, xs_below = 0; /* u: pairs with the x below the y, walking up the ranks */
        for (size_t r = 0; r < N; r++) {
            if (mask & (1u << r))
                xs_below++;
            else
                u += xs_below;
        }
        double us = fmin((double)u, (double)(m * n) - (double)u);
        total++;
        hits += us <= u_small;
    }
    return (double)hits / (double)total; /* min(U, mn - U) <= u_small: both tails at once */
}

static void test_mann_whitney_exact_matches_enumeration(void **state)
{
    (void)state;
    uint64_t s = 99;
    for (size_t m = 1; m <= 6; m++)
        for (size_t n = 1; n <= 6; n++)
            for (int rep = 0; rep < 5; rep++) {
                double x[6], y[6];
                for (size_t i = 0; i < m; i++)
                    x[i] = (double)(bb_rng_u64(&s) % 1000000) + 0.25;
                for (size_t j = 0; j < n; j++)
                    y[j] = (double)(bb_rng_u64(&s) % 1000000) + 0.75 - (double)rep * 1e4;
                bb_mwu r;
                bb_mann_whitney(x, m, y, n, &r);
                double us = fmin(r.u_new, (double)(m * n) - r.u_new);
                assert_true(r.exact);
                assert_float_equal(r.p, brute_force_p(m, n, us), 1e-12);
            }
}

static void test_median_matches_sorting(void **state)
{
    (void)state;
    uint64_t s = 5;
    for (int t = 0; t < 2000; t++) {
        size_t n = 1 + bb_rng_u64(&s) % 40;
        double v[40], w[40];
        for (size_t i = 0; i < n; i++)
            v[i] = w[i] = (double)(bb_rng_u64(&s) % 9); /* many ties */
        qsort(w, n, sizeof *w, bb_cmp_double);
        assert_float_equal(bb_median_inplace(v, n), bb_quantile_sorted(w, n, 0.5), 0);
    }
}

/* ------------------------------------------------------------------ result files */

typedef struct synth_row {
    const char *impl;  /* format = the text before the first '-' */
    double level;      /* ns; 0: not measured (check_failed) */
    const char *machine; /* machine id, or NULL (gemm rows without one) */
} synth_row;

/* One row's samples: its own noise (jitter, preemptions) times the machine's slow drift
 * in that round, which every row of an interleaved run shares. */
static void write_samples(FILE *f, double level, uint64_t seed, double drift, double phase)
{
    double v[N_SAMPLES];
    noisy_samples(v, N_SAMPLES, level, seed);
    fputc('[', f);
    for (size_t i = 0; i < N_SAMPLES; i++)
        fprintf(f, "%s%.1f", i ? "," : "", v[i] * drift * (1 + 0.15 * sin(0.2 * (double)i + phase)));
    fputc(']', f);
}

/* A gemm --json run: rows timed in turn, `drift` = how much slower this machine is. */
static void write_gemm_run(FILE *f, const synth_row *rows, size_t n, uint64_t seed, double drift)
{
    for (size_t i = 0; i < n; i++) {
        char fmt[32];
        snprintf(fmt, sizeof fmt, "%.*s", (int)strcspn(rows[i].impl, "-"), rows[i].impl);
        fprintf(f, "{\"schema\":\"bitbench.gemm/1\",\"format\":\"%s\",\"impl\":\"%s\",\"m\":256,\"k\":512,"
                   "\"n\":1,\"threads\":1,\"mode\":\"cold\",", fmt, rows[i].impl);
        if (rows[i].machine)
            fprintf(f, "\"machine\":{\"id\":\"%s\",\"cpu_model\":\"cpu %s\",\"isa_cap\":\"avx2\",\"cores\":2},",
                    rows[i].machine, rows[i].machine);
        if (rows[i].level == 0) {
            fprintf(f, "\"check\":{\"passed\":false},\"latency_ns\":null,\"latency_unavailable\":\"not timed\"}\n");
            continue;
        }
        fprintf(f, "\"latency_ns\":{\"samples\":");
        write_samples(f, rows[i].level, seed * 7 + i, drift, (double)seed);
        fprintf(f, "}}\n");
    }
}

static char *temp_file(void)
{
    char *path = strdup("/tmp/bitbench-compare-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    return path;
}

static char *gemm_file(const synth_row *rows, size_t n, uint64_t seed, double drift)
{
    char *path = temp_file();
    FILE *f = fopen(path, "w");
    write_gemm_run(f, rows, n, seed, drift);
    fclose(f);
    return path;
}

typedef struct compared {
    bb_rowset base, new_, confirm;
    bb_comparison c;
    int rc;
    char err[1024];
} compared;

static void compare_paths(compared *x, const char *base, const char *new_, const char *confirm,
                          const bb_compare_opts *o)
{
    memset(x, 0, sizeof *x);
    assert_int_equal(bb_rowset_load(base, &x->base, x->err, sizeof x->err), 0);
    assert_int_equal(bb_rowset_load(new_, &x->new_, x->err, sizeof x->err), 0);
    if (confirm)
        assert_int_equal(bb_rowset_load(confirm, &x->confirm, x->err, sizeof x->err), 0);
    if (o->normalize) {
        bb_rowset_normalize(&x->base, o->normalize);
        bb_rowset_normalize(&x->new_, o->normalize);
        if (confirm)
            bb_rowset_normalize(&x->confirm, o->normalize);
    }
    x->rc = bb_compare_rowsets(&x->base, &x->new_, confirm ? &x->confirm : NULL, o, &x->c, x->err,
                               sizeof x->err);
}

static void compared_free(compared *x)
{
    bb_comparison_free(&x->c);
    bb_rowset_free(&x->base);
    bb_rowset_free(&x->new_);
    bb_rowset_free(&x->confirm);
}

static const bb_key_result *result_for(const compared *x, const char *impl)
{
    for (size_t i = 0; i < x->c.n_results; i++)
        if (!strcmp(x->c.results[i].impl, impl))
            return &x->c.results[i];
    return NULL;
}

static const char *missing_why(const compared *x, const char *key_part)
{
    for (size_t i = 0; i < x->c.n_missing; i++)
        if (strstr(x->c.missing[i].key, key_part))
            return x->c.missing[i].why;
    return NULL;
}

static void test_keys_pair_and_one_sided_keys_are_listed(void **state)
{
    (void)state;
    const synth_row base_rows[] = {{"fp16-a", 900, "m1"}, {"int8-a", 400, "m1"}, {"tern2-a", 300, "m1"},
                                   {"pot4-a", 500, "m1"}};
    /* other order, tern2 gone, a new kernel, pot4 failed its check */
    const synth_row new_rows[] = {{"int8-a", 400, "m1"}, {"tern1.6-a", 250, "m1"}, {"fp16-a", 900, "m1"},
                                  {"pot4-a", 0, "m1"}};
    char *b = gemm_file(base_rows, 4, 1, 1.0), *n = gemm_file(new_rows, 4, 2, 1.0);
    bb_compare_opts o;
    bb_compare_opts_default(&o);
    compared x;
    compare_paths(&x, b, n, NULL, &o);
    assert_int_equal(x.rc, 0);
    assert_int_equal(x.c.n_results, 2);
    assert_non_null(result_for(&x, "fp16-a"));
    assert_non_null(result_for(&x, "int8-a"));
    assert_string_equal(result_for(&x, "int8-a")->key, "gemm:256x512|int8|int8-a|t1|b1|cold");
    assert_int_equal(x.c.n_missing, 3);
    assert_string_equal(missing_why(&x, "tern2-a"), "only in BASE");
    assert_string_equal(missing_why(&x, "tern1.6-a"), "only in NEW");
    assert_non_null(strstr(missing_why(&x, "pot4-a"), "not measured in NEW"));
    assert_non_null(strstr(x.c.machine_note, "same machine"));
    compared_free(&x);
    unlink(b);
    unlink(n);
    free(b);
    free(n);
}

static void test_different_machines_are_refused(void **state)
{
    (void)state;
    const synth_row a[] = {{"fp16-a", 900, "aaaa1111"}, {"int8-a", 400, "aaaa1111"}};
    const synth_row b[] = {{"fp16-a", 900, "bbbb2222"}, {"int8-a", 400, "bbbb2222"}};
    char *pa = gemm_file(a, 2, 1, 1.0), *pb = gemm_file(b, 2, 2, 1.0);
    bb_compare_opts o;
    bb_compare_opts_default(&o);
    compared x;
    compare_paths(&x, pa, pb, NULL, &o);
    assert_int_equal(x.rc, 2);
    assert_non_null(strstr(x.err, "aaaa1111"));
    assert_non_null(strstr(x.err, "bbbb2222"));
    assert_non_null(strstr(x.err, "--allow-different-machines"));
    compared_free(&x);
    o.allow_different_machines = true;
    compare_paths(&x, pa, pb, NULL, &o);
    assert_int_equal(x.rc, 0);
    assert_true(x.c.machines_differ);
    assert_non_null(strstr(x.c.machine_note, "DIFFERENT"));
    compared_free(&x);
    unlink(pa);
    unlink(pb);
    free(pa);
    free(pb);
}

/* A machine 30% slower everywhere (another runner, a busy neighbour): raw, every kernel
 * "regresses"; as ratios to a reference measured in the same rounds, none does.  And a
 * kernel that really got 2x slower is still found, and only it. */
static void test_normalization_cancels_machine_drift(void **state)
{
    (void)state;
    const synth_row base_rows[] = {{"fp16-ref", 900, NULL}, {"int8-a", 400, NULL}, {"tern2-a", 300, NULL}};
    const synth_row slow_int8[] = {{"fp16-ref", 900, NULL}, {"int8-a", 800, NULL}, {"tern2-a", 300, NULL}};
    char *b = gemm_file(base_rows, 3, 1, 1.0), *drift = gemm_file(base_rows, 3, 2, 1.3);
    char *inj = gemm_file(slow_int8, 3, 3, 1.3);
    bb_compare_opts o;
    bb_compare_opts_default(&o);
    compared x;
    compare_paths(&x, b, drift, NULL, &o);
    assert_int_equal(x.c.regressions, 3);
    compared_free(&x);
    o.normalize = "fp16-ref";
    compare_paths(&x, b, drift, NULL, &o);
    assert_int_equal(x.rc, 0);
    assert_int_equal(x.c.regressions, 1); /* the reference itself, compared raw */
    assert_int_equal(result_for(&x, "fp16-ref")->verdict, BB_REGRESSION);
    assert_string_equal(result_for(&x, "int8-a")->unit, "ratio");
    assert_int_equal(result_for(&x, "int8-a")->verdict, BB_NO_CHANGE);
    assert_int_equal(result_for(&x, "tern2-a")->verdict, BB_NO_CHANGE);
    compared_free(&x);
    o.normalize = "fp16"; /* a format name selects that format's row of each run */
    compare_paths(&x, b, inj, NULL, &o);
    assert_int_equal(result_for(&x, "int8-a")->verdict, BB_REGRESSION);
    assert_float_equal(result_for(&x, "int8-a")->first.change, 1.0, 0.15);
    assert_int_equal(result_for(&x, "tern2-a")->verdict, BB_NO_CHANGE);
    compared_free(&x);
    unlink(b);
    unlink(drift);
    unlink(inj);
    free(b);
    free(drift);
    free(inj);
}

static void test_confirmation_run_decides(void **state)
{
    (void)state;
    const synth_row base_rows[] = {{"fp16-a", 900, NULL}, {"int8-a", 400, NULL}};
    const synth_row slow_int8[] = {{"fp16-a", 900, NULL}, {"int8-a", 600, NULL}};
    char *b = gemm_file(base_rows, 2, 1, 1.0), *slow = gemm_file(slow_int8, 2, 2, 1.0);
    char *fine = gemm_file(base_rows, 2, 3, 1.0), *slow2 = gemm_file(slow_int8, 2, 4, 1.0);
    bb_compare_opts o;
    bb_compare_opts_default(&o);
    compared x;
    compare_paths(&x, b, slow, fine, &o); /* one noisy run: not confirmed */
    assert_int_equal(x.c.regressions, 0);
    assert_int_equal(x.c.unconfirmed, 1);
    assert_int_equal(result_for(&x, "int8-a")->verdict, BB_UNCONFIRMED);
    assert_int_equal(result_for(&x, "int8-a")->first.verdict, BB_REGRESSION);
    compared_free(&x);
    compare_paths(&x, b, slow, slow2, &o);
    assert_int_equal(x.c.regressions, 1);
    assert_int_equal(result_for(&x, "int8-a")->verdict, BB_REGRESSION);
    compared_free(&x);
    const char *paths[] = {b, slow, fine, slow2};
    for (int i = 0; i < 4; i++) {
        unlink(paths[i]);
        free((char *)paths[i]);
    }
}

/* A baseline of three runs whose floors differ by 10% and 20% (a process's memory
 * layout): a new run inside that range is no regression, even though it is 23% slower
 * than the fastest baseline run; a 2x slower one is, from the slowest run's floor. */
static void test_several_base_runs_set_the_floor_range(void **state)
{
    (void)state;
    char *b = temp_file(), *inside = temp_file(), *slow = temp_file();
    FILE *f = fopen(b, "w");
    for (int r = 0; r < 3; r++) {
        const synth_row rows[] = {{"fp16-a", 1000 + 100 * r, NULL}, {"int8-a", 400, NULL}};
        write_gemm_run(f, rows, 2, (uint64_t)r + 1, 1.0);
    }
    fclose(f);
    const synth_row in_rows[] = {{"fp16-a", 1230, NULL}, {"int8-a", 400, NULL}};
    const synth_row slow_rows[] = {{"fp16-a", 2400, NULL}, {"int8-a", 400, NULL}};
    f = fopen(inside, "w");
    write_gemm_run(f, in_rows, 2, 7, 1.0);
    fclose(f);
    f = fopen(slow, "w");
    write_gemm_run(f, slow_rows, 2, 8, 1.0);
    fclose(f);
    bb_compare_opts o;
    bb_compare_opts_default(&o);
    compared x;
    compare_paths(&x, b, inside, NULL, &o);
    const bb_key_result *k = result_for(&x, "fp16-a");
    assert_int_equal(k->first.base_runs, 3);
    assert_int_equal(k->first.new_runs, 1);
    assert_true(k->first.change > 0.1); /* vs the pooled median of the three runs */
    assert_true(k->first.floor_change < 0.05);
    assert_int_equal(k->verdict, BB_NO_CHANGE);
    compared_free(&x);
    compare_paths(&x, b, slow, NULL, &o);
    k = result_for(&x, "fp16-a");
    assert_int_equal(k->verdict, BB_REGRESSION);
    assert_float_equal(k->first.floor_change, 2400.0 / 1200.0 - 1, 0.06);
    assert_int_equal(result_for(&x, "int8-a")->verdict, BB_NO_CHANGE);
    compared_free(&x);
    char *paths[] = {b, inside, slow};
    for (int i = 0; i < 3; i++) {
        unlink(paths[i]);
        free(paths[i]);
    }
}

static char *text_file(const char *text)
{
    char *path = temp_file();
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
    return path;
}

#define SWEEP_ROW(key, fmt, impl, machine, samples, counters)                                           \
    "{\"schema_version\":1,\"kind\":\"sweep\",\"run_id\":\"r1\",\"key\":\"" key "\",\"status\":\"ok\","  \
    "\"reason\":null,\"format\":\"" fmt "\",\"impl\":\"" impl "\",\"machine\":{\"id\":\"" machine "\","  \
    "\"cpu_model\":\"X\",\"isa_cap\":\"avx2\",\"cores\":2},\"samples_step_ns\":" samples                 \
    ",\"counters\":" counters "}\n"

static void test_sweep_rows_files_and_instructions(void **state)
{
    (void)state;
    const char *ctr_a = "{\"derived\":{\"instructions_per_token\":{\"status\":\"measured\",\"value\":1000}}}";
    const char *ctr_b = "{\"derived\":{\"instructions_per_token\":{\"status\":\"measured\",\"value\":1250}}}";
    const char *none = "{\"status\":\"unavailable\",\"reason\":\"no PMU in this VM\"}";
    char base_text[4096], new_text[4096];
    snprintf(base_text, sizeof base_text,
             "{\"kind\":\"summary\"}\n" /* another kind: skipped */
             SWEEP_ROW("m|int8|int8-x|t1|b1|nohead|cold", "int8", "int8-x", "id1", "[10,11,12,10,11]", "%s")
             SWEEP_ROW("m|fp16|fp16-x|t1|b1|nohead|cold", "fp16", "fp16-x", "id1", "[20,21,22]", "%s")
             "{\"kind\":\"sweep\",\"key\":\"trunc", ctr_a, none);
    snprintf(new_text, sizeof new_text,
             SWEEP_ROW("m|int8|int8-x|t1|b1|nohead|cold", "int8", "int8-x", "id1", "[10,11,12,10,11]", "%s")
             SWEEP_ROW("m|fp16|fp16-x|t1|b1|nohead|cold", "fp16", "fp16-x", "id1", "[20,21,22]", "%s"),
             ctr_b, none);
    char *b = text_file(base_text), *n = text_file(new_text);
    bb_compare_opts o;
    bb_compare_opts_default(&o);
    compared x;
    compare_paths(&x, b, n, NULL, &o);
    assert_int_equal(x.rc, 0);
    assert_true(x.base.truncated_last);
    assert_int_equal(x.base.other_lines, 1);
    const bb_key_result *i8 = result_for(&x, "int8-x"), *f16 = result_for(&x, "fp16-x");
    assert_true(i8->have_instructions);
    assert_float_equal(i8->instructions_change, 0.25, 1e-12);
    assert_false(f16->have_instructions);
    assert_string_equal(f16->instructions_note, "no PMU in this VM");
    assert_int_equal(i8->verdict, BB_NO_CHANGE); /* identical samples */
    compared_free(&x);
    unlink(b);
    unlink(n);
    free(b);
    free(n);
}

static void test_bad_files_are_refused(void **state)
{
    (void)state;
    static const struct { const char *text, *must_say; } cases[] = {
        {"{\"kind\":\"sweep\",\"schema_version\":3,\"key\":\"k\",\"status\":\"ok\"}\n", "schema_version 3"},
        {"not json\n", "line 1"},
        {"{\"kind\":\"other\"}\n", "no sweep or gemm rows"},
        {"{\"kind\":\"sweep\",\"schema_version\":1,\"key\":\"k\",\"status\":\"ok\",\"samples_step_ns\":[]}\n",
         "no valid samples_step_ns"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *p = text_file(cases[i].text), err[512] = "";
        bb_rowset s;
        assert_int_equal(bb_rowset_load(p, &s, err, sizeof err), -1);
        if (!strstr(err, cases[i].must_say))
            print_error("case %zu: '%s'\n", i, err);
        assert_non_null(strstr(err, cases[i].must_say));
        bb_rowset_free(&s);
        unlink(p);
        free(p);
    }
    bb_rowset s;
    char err[512];
    assert_int_equal(bb_rowset_load("/nonexistent/x.jsonl", &s, err, sizeof err), -1);
    assert_non_null(strstr(err, "/nonexistent/x.jsonl"));
    bb_rowset_free(&s);
}

/* ------------------------------------------------------------------ the program */

typedef struct files {
    char *base, *same, *slow_int8, *other_machine;
} files;

static files make_files(void)
{
    const synth_row base_rows[] = {{"fp16-ref", 900, "m1"}, {"int8-a", 400, "m1"}, {"tern2-a", 300, "m1"}};
    const synth_row slow_rows[] = {{"fp16-ref", 900, "m1"}, {"int8-a", 800, "m1"}, {"tern2-a", 300, "m1"}};
    const synth_row other[] = {{"fp16-ref", 900, "m2"}, {"int8-a", 400, "m2"}, {"tern2-a", 300, "m2"}};
    return (files){gemm_file(base_rows, 3, 1, 1.0), gemm_file(base_rows, 3, 2, 1.0),
                   gemm_file(slow_rows, 3, 3, 1.0), gemm_file(other, 3, 4, 1.0)};
}

static void free_files(files *f)
{
    char *all[] = {f->base, f->same, f->slow_int8, f->other_machine};
    for (int i = 0; i < 4; i++) {
        unlink(all[i]);
        free(all[i]);
    }
}

static void test_program_exit_codes_and_formats(void **state)
{
    (void)state;
    files f = make_files();
    static char out[1 << 16], err[8192];
    char args[1024];

    snprintf(args, sizeof args, "compare %s %s", f.base, f.same);
    assert_int_equal(tu_run_bitbench(NULL, args, out, sizeof out, err, sizeof err), 0);
    assert_non_null(strstr(out, "| key |")); /* markdown by default */
    assert_non_null(strstr(out, "0 regression(s)"));

    snprintf(args, sizeof args, "compare %s %s --format json", f.base, f.slow_int8);
    assert_int_equal(tu_run_bitbench(NULL, args, out, sizeof out, err, sizeof err), 1);
    json_error_t je;
    json_t *j = json_loads(out, 0, &je);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "schema")), "bitbench.compare/1");
    assert_int_equal(json_integer_value(json_object_get(j, "exit_status")), 1);
    size_t i, regressions = 0;
    json_t *r;
    json_array_foreach(json_object_get(j, "results"), i, r) {
        if (!strcmp(json_string_value(json_object_get(r, "verdict")), "regression")) {
            regressions++;
            assert_string_equal(json_string_value(json_object_get(r, "impl")), "int8-a");
        }
    }
    assert_int_equal(regressions, 1);
    json_decref(j);

    snprintf(args, sizeof args, "compare %s %s --format bencher", f.base, f.slow_int8);
    assert_int_equal(tu_run_bitbench(NULL, args, out, sizeof out, err, sizeof err), 1);
    j = json_loads(out, 0, &je);
    json_t *lat = json_object_get(json_object_get(j, "gemm:256x512|int8|int8-a|t1|b1|cold"), "latency");
    assert_true(json_is_number(json_object_get(lat, "value")));
    assert_true(json_number_value(json_object_get(lat, "lower_value")) <=
                json_number_value(json_object_get(lat, "value")));
    json_decref(j);

    snprintf(args, sizeof args, "compare %s %s --format github-action-benchmark --normalize fp16-ref", f.base, f.same);
    assert_int_equal(tu_run_bitbench(NULL, args, out, sizeof out, err, sizeof err), 0);
    j = json_loads(out, 0, &je);
    assert_int_equal(json_array_size(j), 3);
    json_array_foreach(j, i, r) {
        assert_non_null(json_string_value(json_object_get(r, "name")));
        assert_true(json_is_number(json_object_get(r, "value")));
        const char *unit = json_string_value(json_object_get(r, "unit"));
        bool ref = strstr(json_string_value(json_object_get(r, "name")), "fp16-ref") != NULL;
        assert_string_equal(unit, ref ? "ns" : "x fp16-ref");
    }
    json_decref(j);
    free_files(&f);
}

static void test_program_bad_input_exits_2(void **state)
{
    (void)state;
    files f = make_files();
    static char out[1 << 16], err[8192];
    char args[1024];
    struct { const char *fmt, *must_say; } cases[] = {
        {"compare %s", "two result files"},
        {"compare %s %s --alpha 2", "--alpha '2'"},
        {"compare %s %s --threshold lots", "--threshold 'lots'"},
        {"compare %s %s --floor-quantile 0.7", "--floor-quantile '0.7'"},
        {"compare %s %s --format xml", "--format 'xml'"},
        {"compare %s %s --normalize no-such-impl", "no-such-impl"},
        {"compare %s /nonexistent/new.jsonl", "/nonexistent/new.jsonl"},
        {"compare %s %s --bogus", "--bogus"},
        {"history %s", "at least 2"},
        {"history %s /nonexistent/dir", "/nonexistent/dir"},
        {"history %s %s --window 0", "--window '0'"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        snprintf(args, sizeof args, cases[c].fmt, f.base, f.same);
        int rc = tu_run_bitbench(NULL, args, out, sizeof out, err, sizeof err);
        if (rc != 2 || !strstr(err, cases[c].must_say))
            print_error("`compare %s`: exit %d, stderr %s\n", args, rc, err);
        assert_int_equal(rc, 2);
        assert_non_null(strstr(err, cases[c].must_say));
        assert_ptr_equal(strchr(err, '\n'), err + strlen(err) - 1); /* one line */
    }
    snprintf(args, sizeof args, "compare %s %s", f.base, f.other_machine);
    assert_int_equal(tu_run_bitbench(NULL, args, out, sizeof out, err, sizeof err), 2);
    assert_non_null(strstr(err, "different machines"));
    snprintf(args, sizeof args, "compare %s %s --allow-different-machines", f.base, f.other_machine);
    assert_int_equal(tu_run_bitbench(NULL, args, out, sizeof out, err, sizeof err), 0);
    assert_non_null(strstr(out, "DIFFERENT machines"));
    free_files(&f);
}

/* gemm rows carry no machine; a {"kind": "machine"} line gives the rows after it one. */
static void test_machine_lines_identify_gemm_rows(void **state)
{
    (void)state;
    const synth_row rows[] = {{"fp16-a", 900, NULL}, {"int8-a", 400, NULL}};
    char *paths[2];
    for (int i = 0; i < 2; i++) {
        paths[i] = temp_file();
        FILE *f = fopen(paths[i], "w");
        fprintf(f, "{\"kind\":\"machine\",\"schema_version\":1,\"machine\":{\"id\":\"%s\",\"cpu_model\":\"c\","
                   "\"isa_cap\":\"avx2\",\"cores\":2}}\n", i ? "feedbeef" : "c0ffee00");
        write_gemm_run(f, rows, 2, (uint64_t)i + 1, 1.0);
        fclose(f);
    }
    bb_compare_opts o;
    bb_compare_opts_default(&o);
    compared x;
    compare_paths(&x, paths[0], paths[1], NULL, &o);
    assert_string_equal(x.base.rows[0].machine_id, "c0ffee00");
    assert_int_equal(x.base.other_lines, 0);
    assert_int_equal(x.rc, 2);
    assert_non_null(strstr(x.err, "feedbeef"));
    compared_free(&x);
    for (int i = 0; i < 2; i++) {
        unlink(paths[i]);
        free(paths[i]);
    }
}

/* ------------------------------------------------------------------ history */

enum { HIST_N = 12, HIST_SAMPLES = 60 };

/* A series of HIST_N files' samples; level[i] per file. */
static void series(const double *level, bb_series_point *pts, double (*store)[HIST_SAMPLES], uint64_t seed)
{
    for (size_t i = 0; i < HIST_N; i++) {
        noisy_samples(store[i], HIST_SAMPLES, level[i], seed * 100 + i);
        pts[i] = (bb_series_point){.present = true, .samples = store[i], .n = HIST_SAMPLES,
                                   .median = bb_median_copy(store[i], HIST_SAMPLES)};
    }
}

static size_t steps_of(const double *level, bb_step *out, uint64_t seed)
{
    static double store[HIST_N][HIST_SAMPLES];
    bb_series_point pts[HIST_N];
    series(level, pts, store, seed);
    bb_history_opts o = {.threshold = 0.05, .alpha = 0.01, .window = 3};
    return bb_detect_steps(pts, HIST_N, &o, out, 8);
}

static void test_history_finds_steps_not_spikes(void **state)
{
    (void)state;
    bb_step st[8];
    for (uint64_t seed = 1; seed <= 5; seed++) {
        double flat[HIST_N], step[HIST_N], spike[HIST_N], two[HIST_N], last[HIST_N];
        for (size_t i = 0; i < HIST_N; i++) {
            flat[i] = 1000;
            step[i] = i < 5 ? 1000 : 1200;
            spike[i] = i == 4 ? 2000 : 1000;
            two[i] = i < 4 ? 1000 : i < 8 ? 1300 : 1000;
            last[i] = i < HIST_N - 1 ? 1000 : 1500;
        }
        assert_int_equal(steps_of(flat, st, seed), 0);
        assert_int_equal(steps_of(spike, st, seed), 0); /* one odd file is outvoted */
        assert_int_equal(steps_of(step, st, seed), 1);
        assert_int_equal(st[0].at, 5);
        assert_float_equal(st[0].change, 0.2, 0.05);
        assert_false(st[0].tentative);
        assert_int_equal(steps_of(two, st, seed), 2);
        assert_int_equal(st[0].at, 4);
        assert_true(st[0].change > 0.2);
        assert_int_equal(st[1].at, 8);
        assert_true(st[1].change < -0.2);
        assert_int_equal(steps_of(last, st, seed), 1); /* could be a spike: said so */
        assert_int_equal(st[0].at, HIST_N - 1);
        assert_true(st[0].tentative);
    }
}

static void test_history_skips_missing_points(void **state)
{
    (void)state;
    static double store[HIST_N][HIST_SAMPLES];
    double level[HIST_N];
    for (size_t i = 0; i < HIST_N; i++)
        level[i] = i < 6 ? 1000 : 800;
    bb_series_point pts[HIST_N];
    series(level, pts, store, 9);
    pts[6].present = false; /* the key was not measured in file 6: the step shows at 7 */
    pts[2].present = false;
    bb_history_opts o = {.threshold = 0.05, .alpha = 0.01, .window = 3};
    bb_step st[4];
    assert_int_equal(bb_detect_steps(pts, HIST_N, &o, st, 4), 1);
    assert_int_equal(st[0].at, 7);
    assert_float_equal(st[0].change, -0.2, 0.05);
}

/* The command: a directory of six runs, fp16 steady, int8 2x slower from the fourth. */
static void test_history_command(void **state)
{
    (void)state;
    char dir[] = "/tmp/bitbench-history-XXXXXX", path[256], args[1024];
    assert_non_null(mkdtemp(dir));
    for (int i = 0; i < 6; i++) {
        const synth_row rows[] = {{"fp16-a", 900, "m1"}, {"int8-a", i < 3 ? 400 : 800, "m1"}};
        snprintf(path, sizeof path, "%s/run-%d.jsonl", dir, i);
        FILE *f = fopen(path, "w");
        write_gemm_run(f, rows, 2, (uint64_t)i + 1, 1.0);
        fclose(f);
    }
    static char out[1 << 16], err[8192];
    snprintf(args, sizeof args, "history %s --out %s/plot --json", dir, dir);
    int rc = tu_run_bitbench(NULL, args, out, sizeof out, err, sizeof err);
    if (rc != 0)
        print_error("history: %s\n", err);
    assert_int_equal(rc, 0);
    json_error_t je;
    json_t *j = json_loads(out, 0, &je), *k;
    assert_non_null(j);
    assert_int_equal(json_array_size(json_object_get(j, "files")), 6);
    size_t i, n_steps = 0;
    json_array_foreach(json_object_get(j, "keys"), i, k) {
        json_t *steps = json_object_get(k, "steps");
        bool int8 = strstr(json_string_value(json_object_get(k, "key")), "int8-a") != NULL;
        assert_int_equal(json_array_size(steps), int8 ? 1 : 0);
        if (int8) {
            assert_int_equal(json_integer_value(json_object_get(json_array_get(steps, 0), "file_index")), 3);
            n_steps++;
        }
    }
    assert_int_equal(n_steps, 1);
    json_decref(j);
    snprintf(path, sizeof path, "%s/plot/history.dat", dir);
    assert_int_equal(access(path, R_OK), 0);
    /* the plot needs gnuplot; without it the command says it skipped the plot */
    snprintf(path, sizeof path, "%s/plot/history.png", dir);
    if (system("command -v gnuplot >/dev/null 2>&1") == 0)
        assert_int_equal(access(path, R_OK), 0);
    else
        assert_non_null(strstr(err, "plot skipped"));
    snprintf(args, sizeof args, "rm -rf '%s'", dir);
    assert_int_equal(system(args), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mann_whitney_exact_small_case),
        cmocka_unit_test(test_mann_whitney_ties_normal_approximation),
        cmocka_unit_test(test_mann_whitney_exact_matches_enumeration),
        cmocka_unit_test(test_median_matches_sorting),
        cmocka_unit_test(test_identical_distributions_give_no_regression),
        cmocka_unit_test(test_ten_percent_shift_is_detected),
        cmocka_unit_test(test_two_percent_shift_is_under_the_threshold),
        cmocka_unit_test(test_contention_moves_the_median_not_the_floor),
        cmocka_unit_test(test_bootstrap_ci_covers_the_true_shift),
        cmocka_unit_test(test_bootstrap_is_reproducible),
        cmocka_unit_test(test_keys_pair_and_one_sided_keys_are_listed),
        cmocka_unit_test(test_different_machines_are_refused),
        cmocka_unit_test(test_normalization_cancels_machine_drift),
        cmocka_unit_test(test_confirmation_run_decides),
        cmocka_unit_test(test_several_base_runs_set_the_floor_range),
        cmocka_unit_test(test_sweep_rows_files_and_instructions),
        cmocka_unit_test(test_bad_files_are_refused),
        cmocka_unit_test(test_program_exit_codes_and_formats),
        cmocka_unit_test(test_program_bad_input_exits_2),
        cmocka_unit_test(test_machine_lines_identify_gemm_rows),
        cmocka_unit_test(test_history_finds_steps_not_spikes),
        cmocka_unit_test(test_history_skips_missing_points),
        cmocka_unit_test(test_history_command),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
