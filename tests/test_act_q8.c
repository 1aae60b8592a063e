/* tests/test_act_q8.c - the reference int8 absmax activation quantizer (kernels/ref/act_q8.c)
 * against examples computed by hand from the formula in kernel.h. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ref/ref.h"
#include "testutil.h"

#define JUNK 0x5a /* fills a blob beforehand, so that every byte the quantizer owes is checked */

/* A blob for n tokens of k values, filled with junk, and its view. */
static bb_act_q8 junk_act(size_t k, size_t n, void **blob)
{
    size_t bytes = bb_act_q8_ref_bytes(k, n);
    *blob = bb_alloc(bytes);
    assert_non_null(*blob);
    memset(*blob, JUNK, bytes);
    return bb_act_q8_view(*blob, k, n);
}

/* Token t of a must hold exactly q[0..k), zeros up to k_stride, the scale and the sum. */
static void expect_token(const bb_act_q8 *a, size_t t, const int8_t *q, float scale, int32_t sum)
{
    const int8_t *got = a->q + t * a->k_stride;
    for (size_t i = 0; i < a->k_stride; i++) {
        int want = i < a->k ? q[i] : 0;
        if (got[i] != want)
            fail_msg("token %zu: q[%zu] = %d, expected %d", t, i, got[i], want);
    }
    if (memcmp(&a->scale[t], &scale, sizeof scale) != 0)
        fail_msg("token %zu: scale %a, expected %a", t, (double)a->scale[t], (double)scale);
    assert_int_equal(a->sum[t], sum);
}

/* Tokens [0, n) of a and b hold the same scales, sums and codes (padding included). */
static void expect_same_tokens(const bb_act_q8 *a, const bb_act_q8 *b, size_t n)
{
    /* The head holds scale[n] and sum[n] padded to 64 bytes: compare only the owed parts. */
    assert_memory_equal(a->scale, b->scale, n * sizeof(float));
    assert_memory_equal(a->sum, b->sum, n * sizeof(int32_t));
    assert_memory_equal(a->q, b->q, n * a->k_stride);
}

static void test_all_zero_token(void **state)
{
    (void)state;
    enum { K = 5, N = 2 };
    void *blob;
    bb_act_q8 a = junk_act(K, N, &blob);
    float *x = bb_alloc(N * bb_k_stride(K) * sizeof(float));
    x[bb_k_stride(K) + 2] = -0.0f; /* token 1: a negative zero is still eta == 0 */
    bb_act_q8_quantize_ref(x, bb_k_stride(K), &a, 0, N);
    const int8_t zeros[K] = {0};
    expect_token(&a, 0, zeros, 0.0f, 0);
    expect_token(&a, 1, zeros, 0.0f, 0);
    bb_free(x);
    bb_free(blob);
}

static void test_huge_outlier(void **state)
{
    (void)state;
    /* eta = 1e6, inv = 127/1e6 = 1.27e-4: 5000 * inv = 0.635 -> 1, 3000 * inv = 0.381 -> 0,
     * everything of size 1 -> 0; the outlier itself -> -127. */
    enum { K = 6 };
    const float x[K] = {1.0f, -1e6f, 0.75f, -1.0f, 3000.0f, 5000.0f};
    const int8_t q[K] = {0, -127, 0, 0, 0, 1};
    void *blob;
    bb_act_q8 a = junk_act(K, 1, &blob);
    bb_act_q8_quantize_ref(x, K, &a, 0, 1);
    expect_token(&a, 0, q, 1e6f / 127.0f, -126);
    bb_free(blob);
}

static void test_halfway_ties_to_even(void **state)
{
    (void)state;
    /* Token 0: eta = 127 makes inv exactly 1, so q = rint(x): 2.5 -> 2, 3.5 -> 4, 0.5 -> 0,
     * 1.5 -> 2, and the negative halves mirror them.  Token 1: eta = 254, inv = 0.5
     * exactly, the same products from x twice as large.  Token 2: eta = 63.5, inv = 2. */
    enum { K = 11 };
    const float x0[K] = {127.0f, 2.5f, 3.5f, -2.5f, -3.5f, 0.5f, -0.5f, 1.5f, -1.5f, 126.5f, -127.0f};
    const int8_t q[K] = {127, 2, 4, -2, -4, 0, 0, 2, -2, 126, -127};
    const int32_t sum = 127 + 2 + 4 - 2 - 4 + 0 + 0 + 2 - 2 + 126 - 127;
    size_t stride = bb_k_stride(K);
    float *x = bb_alloc(3 * stride * sizeof(float));
    for (size_t i = 0; i < K; i++) {
        x[i] = x0[i];
        x[stride + i] = 2.0f * x0[i];
        x[2 * stride + i] = 0.5f * x0[i];
    }
    void *blob;
    bb_act_q8 a = junk_act(K, 3, &blob);
    bb_act_q8_quantize_ref(x, stride, &a, 0, 3);
    expect_token(&a, 0, q, 1.0f, sum);
    expect_token(&a, 1, q, 2.0f, sum);
    expect_token(&a, 2, q, 0.5f, sum);
    bb_free(x);
    bb_free(blob);
}

/* Tokens [t0, t1) are written and no other; quantizing in pieces equals one call. */
static void test_token_ranges(void **state)
{
    (void)state;
    enum { K = 70, N = 5 };
    size_t stride;
    float *x = tu_make_x(K, N, 11, &stride);
    void *whole_blob, *piece_blob;
    bb_act_q8 whole = junk_act(K, N, &whole_blob);
    bb_act_q8 piece = junk_act(K, N, &piece_blob);

    bb_act_q8_quantize_ref(x, stride, &whole, 0, N);
    bb_act_q8_quantize_ref(x, stride, &piece, 1, 3);
    for (size_t t = 0; t < N; t++) {
        const int8_t *q = piece.q + t * piece.k_stride;
        bool written = t >= 1 && t < 3;
        if (written) {
            assert_memory_equal(q, whole.q + t * whole.k_stride, whole.k_stride);
            assert_int_equal(piece.sum[t], whole.sum[t]);
        } else {
            for (size_t i = 0; i < piece.k_stride; i++)
                assert_int_equal((uint8_t)q[i], JUNK);
        }
    }
    bb_act_q8_quantize_ref(x, stride, &piece, 0, 1);
    bb_act_q8_quantize_ref(x, stride, &piece, 3, N);
    expect_same_tokens(&piece, &whole, N);
    bb_free(x);
    bb_free(whole_blob);
    bb_free(piece_blob);
}

/* On random tokens: the largest |x| maps to +-127, every q is within 1/2 of x * inv, the
 * scale is eta / 127, the sum is the sum of the q, and the padding is zero. */
static void test_random_tokens_properties(void **state)
{
    (void)state;
    const size_t ks[] = {1, 63, 64, 65, 321, 5460};
    for (size_t c = 0; c < sizeof ks / sizeof ks[0]; c++) {
        size_t k = ks[c], n = 3, stride;
        float *x = tu_make_x(k, n, 100 + c, &stride);
        void *blob;
        bb_act_q8 a = junk_act(k, n, &blob);
        bb_act_q8_quantize_ref(x, stride, &a, 0, n);
        for (size_t t = 0; t < n; t++) {
            const float *xt = x + t * stride;
            const int8_t *q = a.q + t * a.k_stride;
            float eta = 0.0f;
            for (size_t i = 0; i < k; i++)
                eta = fmaxf(eta, fabsf(xt[i]));
            float inv = 127.0f / eta;
            int32_t sum = 0;
            for (size_t i = 0; i < k; i++) {
                double exact = (double)(xt[i] * inv);
                assert_true(fabs(exact - q[i]) <= 0.5);
                if (fabsf(xt[i]) == eta)
                    assert_int_equal(abs(q[i]), 127);
                sum += q[i];
            }
            for (size_t i = k; i < a.k_stride; i++)
                assert_int_equal(q[i], 0);
            assert_int_equal(a.sum[t], sum);
            assert_true(a.scale[t] == eta / 127.0f);
        }
        bb_free(x);
        bb_free(blob);
    }
}

/* bb_act_q8_ref_prepare views a->act for (w->k, n) and quantizes a->x. */
static void test_prepare_matches_quantize(void **state)
{
    (void)state;
    enum { K = 130, N = 3 };
    size_t stride;
    float *x = tu_make_x(K, N, 7, &stride);
    bb_weights w;
    assert_int_equal(bb_weights_alloc(&w, BB_FMT_INT8, 1, K), 0);
    void *direct_blob, *prepared_blob;
    bb_act_q8 direct = junk_act(K, N, &direct_blob);
    junk_act(K, N, &prepared_blob);
    bb_act_q8_quantize_ref(x, stride, &direct, 0, N);
    bb_gemm_args args = {.w = &w, .x = x, .x_stride = stride, .n = N, .act = prepared_blob};
    bb_act_q8_ref_prepare(&args, 0, N);
    bb_act_q8 prepared = bb_act_q8_view(prepared_blob, K, N);
    expect_same_tokens(&prepared, &direct, N);
    bb_weights_free(&w);
    bb_free(x);
    bb_free(direct_blob);
    bb_free(prepared_blob);
}

/* The model written out for one shape: k = 7 values, n = 3 tokens. */
static void test_opcount_model(void **state)
{
    (void)state;
    bb_opcount c;
    memset(&c, 0xff, sizeof c); /* every field must be written, not accumulated */
    bb_act_q8_opcount(7, 3, &c);
    assert_int_equal(c.fp32_cmp, 21);
    assert_int_equal(c.fp32_div, 6);
    assert_int_equal(c.fp32_mul, 21);
    assert_int_equal(c.cvt, 21);
    assert_int_equal(c.int_cmp, 42);
    assert_int_equal(c.int_add, 21);
    assert_int_equal(c.int_mul + c.shift + c.fp16_add + c.fp16_mul + c.fp32_add, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_all_zero_token),
        cmocka_unit_test(test_huge_outlier),
        cmocka_unit_test(test_halfway_ties_to_even),
        cmocka_unit_test(test_token_ranges),
        cmocka_unit_test(test_random_tokens_properties),
        cmocka_unit_test(test_prepare_matches_quantize),
        cmocka_unit_test(test_opcount_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
