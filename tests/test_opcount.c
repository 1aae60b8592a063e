/*
 * tests/test_opcount.c - every format's op-count model against an instrumented run.
 * This binary links the references built with -DBB_COUNT_OPS (see the Makefile), so
 * BB_COUNT in their kernel paths tallies each operation as it executes; the model,
 * which the energy figures multiply by pJ per operation, must equal the tally exactly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../kernels/ref/ref.h"
#include "testutil.h"

#include <stdio.h>
#include <string.h>

#define FIELDS(X)                                                                          \
    X(int_add) X(int_mul) X(int_cmp) X(shift) X(fp16_add) X(fp16_mul) X(fp32_add)          \
    X(fp32_mul) X(fp32_div) X(fp32_cmp) X(cvt)

static int compare(const char *fmt, size_t m, size_t k, size_t n, const bb_opcount *model,
                   const bb_opcount *counted)
{
    int bad = 0;
#define CHECK_FIELD(f)                                                                     \
    if (model->f != counted->f) {                                                          \
        print_error("%s m=%zu k=%zu n=%zu: " #f " model %llu, counted %llu\n", fmt, m, k, n, \
                    (unsigned long long)model->f, (unsigned long long)counted->f);          \
        bad = 1;                                                                           \
    }
    FIELDS(CHECK_FIELD)
#undef CHECK_FIELD
    return bad;
}

/* Data that exercises the data-dependent paths: zeros, an all-zero token, outliers. */
static void fill_weights(float *w, size_t count, uint64_t seed)
{
    tu_fill_normalish(w, count, 0.05f, seed);
    for (size_t i = 0; i < count; i += 7)
        w[i] = 0.0f;
    if (count > 3)
        w[3] = 4.0f;
}

static void test_model_equals_tally(void **state)
{
    (void)state;
    static const size_t ks[] = {1, 5, 70, 129, 333, 641};
    int bad = 0;
    for (int f = 0; f < BB_FMT_COUNT; f++) {
        const bb_kernel *ref = bb_kernel_reference((bb_format_id)f);
        assert_non_null(ref);
        for (size_t ki = 0; ki < sizeof ks / sizeof ks[0]; ki++)
            for (size_t m = 1; m <= 3; m++)
                for (size_t n = 1; n <= 3; n++) {
                    size_t k = ks[ki], xs;
                    float *w32 = bb_alloc(m * k * sizeof(float));
                    fill_weights(w32, m * k, 31 * m + k);
                    float *x = tu_make_x(k, n, 7 * k + n, &xs);
                    memset(x + (n - 1) * xs, 0, k * sizeof(float)); /* an all-zero token */
                    bb_weights w;
                    assert_int_equal(bb_weights_alloc(&w, (bb_format_id)f, m, k), 0);
                    bb_formats[f].quantize(w32, &w);

                    memset(&bb_ops_counted, 0, sizeof bb_ops_counted); /* quantizing is offline */
                    float *y = tu_run_kernel(ref, &w, x, xs, n);
                    bb_opcount model;
                    memset(&model, 0xff, sizeof model); /* the model must set every field */
                    bb_formats[f].opcount(m, k, n, &model);
                    bad |= compare(bb_formats[f].name, m, k, n, &model, &bb_ops_counted);

                    bb_free(y);
                    bb_free(x);
                    bb_free(w32);
                    bb_weights_free(&w);
                }
    }
    assert_int_equal(bad, 0);
}

/* The model scales: the per-weight part of a large shape is the small one's, times. */
static void test_model_is_linear_in_m(void **state)
{
    (void)state;
    for (int f = 0; f < BB_FMT_COUNT; f++) {
        bb_opcount a, b;
        bb_formats[f].opcount(1000, 4096, 1, &a);
        bb_formats[f].opcount(2000, 4096, 1, &b);
        /* doubling M doubles everything but the per-token activation work */
        assert_true(b.int_add + b.fp32_mul + b.shift + b.cvt > a.int_add + a.fp32_mul + a.shift + a.cvt);
        assert_true(b.int_mul == 2 * a.int_mul);
        assert_true(b.shift == 2 * a.shift);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_model_equals_tally),
        cmocka_unit_test(test_model_is_linear_in_m),
    };
    return cmocka_run_group_tests_name("opcount", tests, NULL, NULL);
}
