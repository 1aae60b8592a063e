/* tests/test_int8.c - the int8 (W8A8) format and its scalar reference kernel. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ref/ref.h"
#include "testutil.h"

static const bb_format *fmt(void) { return bb_format_get(BB_FMT_INT8); }

/* Quantizes w (m x k) into a fresh matrix. */
static bb_weights quantized(const float *w, size_t m, size_t k)
{
    bb_weights q;
    assert_int_equal(bb_weights_alloc(&q, BB_FMT_INT8, m, k), 0);
    memset(q.data, 0x33, m * q.row_bytes); /* the quantizer must write the padding too */
    fmt()->quantize(w, &q);
    return q;
}

/* Row `row` must hold q[0..k) and zero codes in the padding, and scale `scale` exactly. */
static void expect_row(const bb_weights *w, size_t row, const int *q, float scale)
{
    for (size_t i = 0; i < w->k_padded; i++) {
        int want = i < w->k ? q[i] : 0;
        uint32_t code = fmt()->get_code(w, row, i);
        if (code != (uint32_t)(want + 127))
            fail_msg("row %zu weight %zu: code %u, expected %d", row, i, code, want + 127);
    }
    if (memcmp(&w->scales[row], &scale, sizeof scale) != 0)
        fail_msg("row %zu: scale %a, expected %a", row, (double)w->scales[row], (double)scale);
}

static void test_quantizer_examples(void **state)
{
    (void)state;
    enum { M = 4, K = 7 };
    /* Row 0 all zero: scale 0, every q 0.
     * Row 1 one huge outlier: amax 1000, inv = 0.127: 3 * inv = 0.381 -> 0, 4 * inv = 0.508 -> 1.
     * Row 2 amax 127 makes inv exactly 1, so q = rint(w): halves go to the even neighbour.
     * Row 3 amax 254, inv 0.5 exactly: the same halves from doubled weights. */
    const float w[M * K] = {
        0, 0, -0.0f, 0, 0, 0, 0,
        1.0f, -1.0f, 3.0f, -3.0f, 4.0f, 1000.0f, -4.0f,
        2.5f, 3.5f, -2.5f, -3.5f, 0.5f, -127.0f, 1.5f,
        5.0f, 7.0f, -5.0f, -7.0f, 1.0f, 254.0f, 3.0f,
    };
    const int q[M][K] = {
        {0, 0, 0, 0, 0, 0, 0},
        {0, 0, 0, 0, 1, 127, -1},
        {2, 4, -2, -4, 0, -127, 2},
        {2, 4, -2, -4, 0, 127, 2},
    };
    bb_weights qw = quantized(w, M, K);
    expect_row(&qw, 0, q[0], 0.0f);
    expect_row(&qw, 1, q[1], 1000.0f / 127.0f);
    expect_row(&qw, 2, q[2], 1.0f);
    expect_row(&qw, 3, q[3], 2.0f);
    for (size_t i = 0; i < K; i++)
        assert_true(bb_weight_value(&qw, 3, i) == 2.0 * q[3][i]);
    bb_weights_free(&qw);
}

/* Every code survives set_code / get_code at the block edges and the last padded position
 * (tu_code_round_trip_failures), and stands for q = code - 127. */
static void test_code_round_trip(void **state)
{
    (void)state;
    assert_int_equal(tu_code_round_trip_failures(BB_FMT_INT8, 70), 0); /* padding 70..127 */
    for (uint32_t code = 0; code < fmt()->n_codes; code++)
        assert_true(fmt()->code_value(code) == (double)code - 127.0);
    assert_true(fmt()->code_value(fmt()->zero_code) == 0.0);
}

static void test_kernel_entry(void **state)
{
    (void)state;
    const bb_kernel *kn = bb_kernel_find_exact("int8-scalar-ref");
    assert_ptr_equal(kn, &bb_kernel_int8_scalar_ref);
    assert_ptr_equal(bb_kernel_reference(BB_FMT_INT8), kn);
    assert_string_equal(kn->method, "ref");
    assert_int_equal(kn->isa, BB_ISA_SCALAR);
    assert_int_equal(kn->needs, 0);
    assert_ptr_equal(kn->act_bytes, bb_act_q8_ref_bytes);
    assert_ptr_equal(kn->prepare_act, bb_act_q8_ref_prepare);
    assert_false(kn->multiply_free);
}

/* Runs the reference on (w, x) and checks it:
 * - bit for bit against bb_rescale_i32 of the exact integer dot product, computed here in
 *   int64 from the codes and the quantized activations (and required to fit int32);
 * - against tu_ref_gemm_double (dequantized operands in double) within the rounding of
 *   the int -> float conversion and the two multiplies of the rescale (3 u relative) plus
 *   the double reference's own summation error.
 * Returns the largest |integer dot| seen, for the overflow test. */
static int64_t check_kernel_largest(const float *wf, size_t m, size_t k, const float *x,
                                    size_t x_stride, size_t n)
{
    bb_weights w = quantized(wf, m, k);
    float *y = tu_run_kernel(&bb_kernel_int8_scalar_ref, &w, x, x_stride, n);

    void *blob = bb_alloc(bb_act_q8_bytes(k, n));
    bb_act_q8 act = bb_act_q8_view(blob, k, n);
    bb_act_q8_quantize_ref(x, x_stride, &act, 0, n);
    double *ref = malloc(m * n * sizeof(double)), *abs_ref = malloc(m * n * sizeof(double));
    tu_ref_gemm_double(&w, x, x_stride, &act, n, ref, abs_ref);

    int64_t largest = 0;
    for (size_t t = 0; t < n; t++)
        for (size_t r = 0; r < m; r++) {
            int64_t dot = 0;
            for (size_t i = 0; i < k; i++)
                dot += ((int64_t)fmt()->get_code(&w, r, i) - 127) * act.q[t * act.k_stride + i];
            assert_true(dot >= INT32_MIN && dot <= INT32_MAX);
            largest = llabs(dot) > largest ? llabs(dot) : largest;
            float want = bb_rescale_i32((int32_t)dot, w.scales[r], act.scale[t]);
            float got = y[t * m + r];
            if (memcmp(&got, &want, sizeof got) != 0)
                fail_msg("m=%zu k=%zu n=%zu: y[t=%zu][r=%zu] = %a, expected %a (dot %lld)", m, k,
                         n, t, r, (double)got, (double)want, (long long)dot);
            double u = 0x1p-24, slack = 3.0 * u / (1.0 - 3.0 * u) * fabs(ref[t * m + r]) +
                                        (double)k * 0x1p-52 * abs_ref[t * m + r];
            assert_true(fabs((double)got - ref[t * m + r]) <= slack);
        }
    free(ref);
    free(abs_ref);
    bb_free(blob);
    bb_free(y);
    bb_weights_free(&w);
    return largest;
}

static void check_kernel(const float *wf, size_t m, size_t k, const float *x, size_t x_stride,
                         size_t n)
{
    check_kernel_largest(wf, m, k, x, x_stride, n);
}

static void test_kernel_shapes(void **state)
{
    (void)state;
    /* 1; below, at and above one block; the 1.3B model's 3200 (a multiple of 64) and 5460
     * (not a multiple of 64). */
    const size_t ks[] = {1, 5, 64, 65, 3200, 5460};
    tu_for_small_shapes(ks, sizeof ks / sizeof ks[0], 0.02f, check_kernel);
}

/* K = 65536, every weight and activation at full scale with the same sign per output:
 * |dot| = 127 * 127 * 65536 = 1 057 030 144, the largest a K = 65536 dot can reach, and
 * it must come out exactly (under UBSan a signed overflow would also abort). */
static void test_kernel_extremes_k65536(void **state)
{
    (void)state;
    enum { M = 2, N = 2 };
    const size_t k = 65536;
    float *wf = malloc(M * k * sizeof(float));
    size_t x_stride = bb_k_stride(k);
    float *x = bb_alloc(N * x_stride * sizeof(float));
    for (size_t i = 0; i < k; i++) {
        wf[i] = 3.0f;      /* row 0: every q = +127 */
        wf[k + i] = -0.5f; /* row 1: every q = -127 */
        x[i] = 40.0f;
        x[x_stride + i] = -1e-3f;
    }
    int64_t largest = check_kernel_largest(wf, M, k, x, x_stride, N);
    assert_true(largest == 127LL * 127 * 65536);
    free(wf);
    bb_free(x);
}

/* The model for m = 3, k = 5, n = 2: activation quantization, one int mul and add per
 * weight, one rescale (1 cvt, 2 fp32 mul) per output. */
static void test_opcount_model(void **state)
{
    (void)state;
    bb_opcount c, act;
    memset(&c, 0xff, sizeof c);
    fmt()->opcount(3, 5, 2, &c);
    bb_act_q8_opcount(5, 2, &act);
    assert_int_equal(c.int_mul, 30);
    assert_int_equal(c.int_add, 30 + act.int_add);
    assert_int_equal(c.cvt, 6 + act.cvt);
    assert_int_equal(c.fp32_mul, 12 + act.fp32_mul);
    assert_int_equal(c.fp32_div, act.fp32_div);
    assert_int_equal(c.fp32_cmp, act.fp32_cmp);
    assert_int_equal(c.int_cmp, act.int_cmp);
    assert_int_equal(c.shift + c.fp16_add + c.fp16_mul + c.fp32_add, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quantizer_examples),
        cmocka_unit_test(test_code_round_trip),
        cmocka_unit_test(test_kernel_entry),
        cmocka_unit_test(test_kernel_shapes),
        cmocka_unit_test(test_kernel_extremes_k65536),
        cmocka_unit_test(test_opcount_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
