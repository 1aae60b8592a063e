/*
 * tests/test_ceiling.c - the read ceiling as a participant of gemm's rounds (harness/machine/ceiling.h):
 * the paired % of ceiling on injected samples (point, interval, skipped rounds, robustness to an
 * interrupted call), the read pass's windows and validation, the plan's sharing of one
 * participant per byte count, and `bitbench gemm --json` rows carrying the paired figures.
 * No timing is asserted: only arithmetic, structure and the validation of sums.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../harness/machine/cache.h"
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

/* Windows: each holds words equal to their index in the buffer, `stride` apart (bb_alloc's
 * rule: 64 bytes, 2 MiB from 2 MiB on); every pass's sum is checked, so a changed word in
 * the window read is caught, and one in another window is not read. */
static void test_pass_windows_and_validation(void **state)
{
    (void)state;
    char err[200];
    for (int threads = 1; threads <= 2; threads++) {
        bb_pool *pool = bb_pool_create(threads, err, sizeof err);
        assert_non_null(pool);
        bb_ceiling_pass c;
        assert_int_equal(bb_ceiling_pass_make(&c, 1000, 3), 0);
        assert_int_equal(c.bytes, 1000);
        assert_int_equal(c.stride, 1024);
        assert_int_equal(bb_ceiling_pass_bytes(1000, 3), 3 * 1024);
        assert_non_null(c.loads);
        for (size_t r = 0; r < 6; r++)
            bb_ceiling_pass_run(pool, &c, r);
        assert_true(c.validated);
        assert_int_equal(c.passes, 6);
        c.buf[1024 / 8 + 3] ^= 1; /* window 0 does not hold it */
        bb_ceiling_pass_run(pool, &c, 0);
        assert_true(c.validated);
        bb_ceiling_pass_run(pool, &c, 1);
        assert_false(c.validated);
        bb_ceiling_pass_free(&c);
        bb_pool_destroy(pool);
    }
    assert_int_equal(bb_ceiling_pass_bytes(3u << 20, 2), 2 * (4u << 20)); /* 2 MiB placement */
    assert_int_equal(bb_ceiling_pass_bytes(13, 1), 64);                   /* rounded up to 8, then 64 */
}

/* One participant per byte count; copies by the kernels' cold rule (bb_cold_copies), 1 warm. */
static void test_set_shares_a_participant_per_byte_count(void **state)
{
    (void)state;
    bb_ceiling_set s;
    memset(&s, 0, sizeof s);
    s.llc = 1u << 20;
    assert_int_equal(bb_ceiling_set_plan(&s, 4096), 0);
    assert_int_equal(bb_ceiling_set_plan(&s, 8192), 1);
    assert_int_equal(bb_ceiling_set_plan(&s, 4096), 0);
    assert_int_equal(bb_ceiling_set_plan(&s, 4093), 0); /* the same after rounding up to 8 */
    assert_int_equal(s.n, 2);
    assert_int_equal(s.pass[0].copies, bb_cold_copies(4096, 1u << 20, 0));
    assert_int_equal(s.pass[1].copies, 4 * (1u << 20) / 8192);
    assert_int_equal(bb_ceiling_set_memory(&s), s.pass[0].copies * 4096 + s.pass[1].copies * 8192);
    assert_int_equal(bb_ceiling_set_alloc(&s), 0);
    assert_non_null(s.pass[1].buf);
    bb_ceiling_set_free(&s);
    assert_int_equal(s.n, 0);
    s.warm = true;
    assert_int_equal(bb_ceiling_set_plan(&s, 4096), 0);
    assert_int_equal(s.pass[0].copies, 1);
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
        cmocka_unit_test(test_pass_windows_and_validation),
        cmocka_unit_test(test_set_shares_a_participant_per_byte_count),
        cmocka_unit_test(test_gemm_rows_carry_the_paired_ceiling),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
