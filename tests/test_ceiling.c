/*
 * tests/test_ceiling.c - the read ceiling as a participant of gemm's rounds (harness/machine/ceiling.h):
 * the paired % of ceiling on injected samples (point, interval, skipped rounds, robustness to an
 * interrupted call), the read pass over the caller's windows (a kernel's copies) and its
 * validation, one participant per kernel, and `bitbench gemm --json` rows carrying the paired figures.
 * No timing is asserted: only arithmetic, structure and the validation of sums.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../kernels/kernel.h"
#include "../harness/machine/ceiling.h"
#include "../harness/core/pool.h"
#include "testutil.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

/* Both sides slow down together (drift): every round's ratio is 50%, so the median and
 * both ends of the interval are 50 exactly, though the samples spread over 5x. */
static void test_pct_pairs_samples_of_the_same_round(void **state)
{
    (void)state;
    const double ceil_ns[] = {10, 20, 30, 40, 50, 12, 24};
    const double kern_ns[] = {20, 40, 60, 80, 100, 24, 48};
    bb_ceiling_pct p;
    assert_int_equal(bb_ceiling_pct_paired(ceil_ns, kern_ns, 7, 1, &p), 0);
    assert_int_equal(p.rounds, 7);
    assert_float_equal(p.pct, 50.0, 1e-12);
    assert_float_equal(p.lo, 50.0, 1e-12);
    assert_float_equal(p.hi, 50.0, 1e-12);
}

/* Ratios 60, 70, 80, 90, 100 in some order: the median is 80, inside its interval, which
 * lies within the observed ratios; the same samples and seed give the same interval. */
static void test_pct_median_and_interval(void **state)
{
    (void)state;
    const double ceil_ns[] = {90, 60, 100, 70, 80};
    const double kern_ns[] = {100, 100, 100, 100, 100};
    bb_ceiling_pct p, q;
    assert_int_equal(bb_ceiling_pct_paired(ceil_ns, kern_ns, 5, 7, &p), 0);
    assert_float_equal(p.pct, 80.0, 1e-12);
    assert_true(p.lo <= p.pct && p.pct <= p.hi);
    assert_true(p.lo >= 60.0 && p.hi <= 100.0);
    assert_true(p.hi > p.lo);
    assert_int_equal(bb_ceiling_pct_paired(ceil_ns, kern_ns, 5, 7, &q), 0);
    assert_float_equal(p.lo, q.lo, 0);
    assert_float_equal(p.hi, q.hi, 0);
}

/* A round with a missing sample (0, NAN, negative) is skipped, not counted as 0%; one call
 * interrupted for 100x its time moves the median by one rank only. */
static void test_pct_skips_missing_rounds_and_resists_an_outlier(void **state)
{
    (void)state;
    const double ceil_ns[] = {75, 75, 75, 0, 75, 75, NAN};
    const double kern_ns[] = {100, 100, 10000, 100, -1, 100, 100};
    bb_ceiling_pct p;
    assert_int_equal(bb_ceiling_pct_paired(ceil_ns, kern_ns, 7, 3, &p), 0);
    assert_int_equal(p.rounds, 4); /* rounds 0, 1, 2, 5 */
    assert_float_equal(p.pct, 75.0, 1e-12);
    /* nothing to pair: unavailable (NAN), never 0 */
    const double none[] = {0, 0};
    assert_int_equal(bb_ceiling_pct_paired(none, kern_ns, 2, 3, &p), -1);
    assert_int_equal(p.rounds, 0);
    assert_true(isnan(p.pct) && isnan(p.lo) && isnan(p.hi));
}

/* A pass reads the caller's windows (a kernel's copies: weights and scales), call `copy`
 * window (copy + offset) % copies: every pass's sum is checked against the window's, so a
 * changed word in the window read is caught, and one in another window is not read. */
static void test_pass_reads_the_callers_windows(void **state)
{
    (void)state;
    char err[200];
    enum { COPIES = 3, WEIGHT_BYTES = 1000, SCALE_BYTES = 12 };
    uint64_t *weights[COPIES], *scales[COPIES];
    bb_ceiling_window win[COPIES];
    for (int c = 0; c < COPIES; c++) {
        weights[c] = bb_alloc(WEIGHT_BYTES); /* rounded up to 64 bytes and zeroed */
        scales[c] = bb_alloc(SCALE_BYTES);
        assert_non_null(weights[c]);
        assert_non_null(scales[c]);
        for (int w = 0; w < WEIGHT_BYTES / 8; w++)
            weights[c][w] = (uint64_t)(1000 * c + w) * 0x9e3779b97f4a7c15ull;
        scales[c][0] = (uint64_t)c + 7;
        win[c] = (bb_ceiling_window){.part = {weights[c], scales[c]}, .bytes = {WEIGHT_BYTES, SCALE_BYTES}};
    }
    for (int threads = 1; threads <= 2; threads++) {
        bb_pool *pool = bb_pool_create(threads, err, sizeof err);
        assert_non_null(pool);
        bb_ceiling_pass c;
        assert_int_equal(bb_ceiling_pass_make(&c, win, COPIES, 1), 0);
        assert_int_equal(c.bytes, WEIGHT_BYTES + 16); /* each part rounded up to 8 */
        assert_int_equal(c.copies, COPIES);
        assert_non_null(c.loads);
        for (size_t r = 0; r < 6; r++)
            bb_ceiling_pass_run(pool, &c, r);
        assert_true(c.validated);
        assert_int_equal(c.passes, 6);
        weights[0][5] ^= 1; /* window 0: read by call 2 (offset 1), not by call 0 */
        bb_ceiling_pass_run(pool, &c, 0);
        assert_true(c.validated);
        bb_ceiling_pass_run(pool, &c, 2);
        assert_false(c.validated);
        weights[0][5] ^= 1;
        bb_ceiling_pass_free(&c);
        /* the scales are read too */
        assert_int_equal(bb_ceiling_pass_make(&c, win, COPIES, 0), 0);
        scales[1][1] ^= 4; /* the second word of the 12 bytes */
        bb_ceiling_pass_run(pool, &c, 1);
        assert_false(c.validated);
        scales[1][1] ^= 4;
        bb_ceiling_pass_free(&c);
        bb_pool_destroy(pool);
    }
    /* a part off BB_ALIGN is refused (the read loop's loads are aligned) */
    bb_ceiling_pass c;
    bb_ceiling_window bad = {.part = {(const uint8_t *)weights[0] + 8, NULL}, .bytes = {64, 0}};
    assert_int_equal(bb_ceiling_pass_make(&c, &bad, 1, 0), -1);
    for (int k = 0; k < COPIES; k++)
        bb_free(weights[k]), bb_free(scales[k]);
}

/* One participant per kernel, each over its own windows; the set full, -1. */
static void test_set_adds_a_participant_per_kernel(void **state)
{
    (void)state;
    static bb_ceiling_set s;
    uint64_t *w = bb_alloc(256);
    assert_non_null(w);
    bb_ceiling_window win = {.part = {w, NULL}, .bytes = {256, 0}};
    memset(&s, 0, sizeof s);
    for (int i = 0; i < BB_CEILING_MAX; i++)
        assert_int_equal(bb_ceiling_set_add(&s, &win, 1, 0), i);
    assert_int_equal(bb_ceiling_set_add(&s, &win, 1, 0), -1);
    assert_int_equal(s.n, BB_CEILING_MAX);
    assert_int_equal(s.pass[3].bytes, 256);
    bb_ceiling_set_free(&s);
    assert_int_equal(s.n, 0);
    bb_free(w);
}

/* Runs `bitbench <args>` and returns its stdout (free it), or NULL; *rc = exit status. */
static char *run(const char *args, int *rc)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s %s 2>/dev/null", tu_bitbench_bin(), args);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t cap = 1 << 20, len = 0;
    char *out = malloc(cap);
    assert_non_null(out);
    for (size_t got; (got = fread(out + len, 1, cap - 1 - len, p)) > 0;)
        len += got;
    out[len] = '\0';
    int status = pclose(p);
    *rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return out;
}

/* Every gemm row says how its % of ceiling was measured: paired with the ceiling pass of
 * its own bytes, one sample of each per round, the interval around the point. */
static void test_gemm_rows_carry_the_paired_ceiling(void **state)
{
    (void)state;
    int rc;
    char *out = run("gemm --kernel tern2,int8 --m 64 --k 512 --reps 25 --warm --no-probe --threads 1 --json", &rc);
    assert_int_equal(rc, 0);
    int rows = 0;
    for (char *save = NULL, *line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        json_error_t je;
        json_t *o = json_loads(line, 0, &je);
        assert_non_null(o);
        json_t *pct = json_object_get(o, "pct_of_ceiling"), *ci = json_object_get(o, "pct_of_ceiling_ci95");
        json_t *ceil = json_object_get(o, "ceiling");
        assert_true(json_is_number(pct));
        assert_true(json_number_value(pct) > 0);
        assert_int_equal(json_array_size(ci), 2);
        assert_true(json_number_value(json_array_get(ci, 0)) <= json_number_value(pct));
        assert_true(json_number_value(pct) <= json_number_value(json_array_get(ci, 1)));
        assert_int_equal(json_integer_value(json_object_get(o, "pct_of_ceiling_rounds")), 25);
        assert_non_null(json_string_value(json_object_get(o, "pct_of_ceiling_measured")));
        /* the earlier fields keep their names and types */
        assert_true(json_number_value(json_object_get(ceil, "gbps")) > 0);
        assert_true(json_number_value(json_object_get(ceil, "median_gbps")) > 0);
        assert_true(json_is_true(json_object_get(ceil, "validated")));
        assert_int_equal(json_integer_value(json_object_get(ceil, "threads")), 1);
        assert_non_null(strstr(json_string_value(json_object_get(ceil, "measured")), "interleaved"));
        /* the ceiling read exactly the kernel's bytes, once per round */
        json_int_t wb = json_integer_value(json_object_get(o, "weight_bytes"));
        assert_int_equal(json_integer_value(json_object_get(ceil, "bytes_per_pass")), (wb + 7) / 8 * 8);
        assert_int_equal(json_array_size(json_object_get(ceil, "samples_ns")), 25);
        json_decref(o);
        rows++;
    }
    assert_int_equal(rows, 2);
    free(out);

    out = run("gemm --kernel tern2 --m 64 --k 512 --reps 3 --warm --no-probe --threads 1 --no-ceiling --json", &rc);
    assert_int_equal(rc, 0);
    json_error_t je;
    json_t *o = json_loads(out, JSON_DISABLE_EOF_CHECK, &je);
    assert_non_null(o);
    assert_true(json_is_null(json_object_get(o, "pct_of_ceiling")));
    assert_non_null(strstr(json_string_value(json_object_get(o, "pct_of_ceiling_unavailable")), "--no-ceiling"));
    json_decref(o);
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pct_pairs_samples_of_the_same_round),
        cmocka_unit_test(test_pct_median_and_interval),
        cmocka_unit_test(test_pct_skips_missing_rounds_and_resists_an_outlier),
        cmocka_unit_test(test_pass_reads_the_callers_windows),
        cmocka_unit_test(test_set_adds_a_participant_per_kernel),
        cmocka_unit_test(test_gemm_rows_carry_the_paired_ceiling),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
