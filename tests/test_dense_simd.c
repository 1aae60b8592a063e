/* tests/test_dense_simd.c - the SIMD int8 activation quantizers (kernels/x86/act_q8_*.c)
 * bit for bit against bb_act_q8_quantize_ref, and the dense SIMD kernels' own layouts and
 * edge cases (the generic kernel-vs-reference sweep is tests/test_kernels.c).
 * Parts whose CPU features this host lacks are skipped, and say so. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ref/ref.h"
#include "testutil.h"
#include "x86/act_q8_simd.h"

#define JUNK 0x5a /* fills blobs beforehand, so every byte a quantizer owes (or must not touch) is compared */

typedef void (*quantize_fn)(const float *x, size_t x_stride, bb_act_q8 *a, size_t t0, size_t t1);

typedef struct simd_quantizer {
    const char *name;
    quantize_fn quantize;
    uint32_t needs;
} simd_quantizer;

static const simd_quantizer quantizers[] = {
    {"avx2", bb_act_q8_quantize_avx2, BB_ACT_Q8_AVX2_NEEDS},
    {"avx512", bb_act_q8_quantize_avx512, BB_ACT_Q8_AVX512_NEEDS},
};
enum { N_QUANTIZERS = sizeof quantizers / sizeof quantizers[0] };

static bool host_has(uint32_t needs) { return (bb_cpu_detect() & needs) == needs; }

/* Quantizes tokens [t0, t1) of x with the reference and with q into two junk-filled blobs
 * and requires the blobs to be byte-identical: the owed tokens equal, the others untouched. */
static void expect_matches_ref(const simd_quantizer *q, const float *x, size_t x_stride, size_t k,
                               size_t n, size_t t0, size_t t1)
{
    size_t bytes = bb_act_q8_bytes(k, n);
    void *want_blob = bb_alloc(bytes), *got_blob = bb_alloc(bytes);
    assert_non_null(want_blob);
    assert_non_null(got_blob);
    memset(want_blob, JUNK, bytes);
    memset(got_blob, JUNK, bytes);
    bb_act_q8 want = bb_act_q8_view(want_blob, k, n), got = bb_act_q8_view(got_blob, k, n);
    bb_act_q8_quantize_ref(x, x_stride, &want, t0, t1);
    q->quantize(x, x_stride, &got, t0, t1);
    for (size_t t = t0; t < t1; t++) {
        if (memcmp(&got.scale[t], &want.scale[t], sizeof(float)) != 0)
            fail_msg("%s k=%zu token %zu: scale %a, reference %a", q->name, k, t,
                     (double)got.scale[t], (double)want.scale[t]);
        if (got.sum[t] != want.sum[t])
            fail_msg("%s k=%zu token %zu: sum %d, reference %d", q->name, k, t, got.sum[t],
                     want.sum[t]);
        for (size_t i = 0; i < got.k_stride; i++)
            if (got.q[t * got.k_stride + i] != want.q[t * want.k_stride + i])
                fail_msg("%s k=%zu token %zu: q[%zu] = %d, reference %d", q->name, k, t, i,
                         got.q[t * got.k_stride + i], want.q[t * want.k_stride + i]);
    }
    assert_memory_equal(got_blob, want_blob, bytes); /* nothing outside [t0, t1) touched */
    bb_free(want_blob);
    bb_free(got_blob);
}

static size_t runnable_quantizers(void)
{
    size_t count = 0;
    for (size_t j = 0; j < N_QUANTIZERS; j++) {
        if (host_has(quantizers[j].needs))
            count++;
        else
            printf("act_q8-%s: skipped, this CPU lacks its features\n", quantizers[j].name);
    }
    return count;
}

/* Every k from 1 to 300 (every tail length of both vector widths and their unrolled
 * loops) and a few model sizes, random tokens of different magnitudes. */
static void test_act_q8_ragged_k(void **state)
{
    (void)state;
    if (runnable_quantizers() == 0)
        skip();
    const size_t big_ks[] = {1023, 3200, 4096, 5460, 11008};
    for (size_t c = 0; c < 300 + sizeof big_ks / sizeof big_ks[0]; c++) {
        size_t k = c < 300 ? c + 1 : big_ks[c - 300], n = 3, stride;
        float *x = tu_make_x(k, n, 500 + c, &stride);
        for (size_t i = 0; i < k; i++) {
            x[stride + i] *= 1e-3f; /* token 1: small values */
            x[2 * stride + i] *= 3e4f; /* token 2: large values */
        }
        for (size_t j = 0; j < N_QUANTIZERS; j++)
            if (host_has(quantizers[j].needs))
                expect_matches_ref(&quantizers[j], x, stride, k, n, 0, n);
        bb_free(x);
    }
}

/* Products exactly halfway between two integers round to the even one: eta = 127 makes
 * inv exactly 1, eta = 254 makes it 1/2, and the halves sit in every lane position. */
static void test_act_q8_halfway_ties(void **state)
{
    (void)state;
    if (runnable_quantizers() == 0)
        skip();
    const size_t k = 97, n = 2, stride = bb_k_stride(k);
    float *x = bb_alloc(n * stride * sizeof(float));
    for (size_t i = 0; i < k; i++) {
        float half = (float)(i % 127) + 0.5f; /* 0.5, 1.5, ... 126.5 */
        x[i] = i % 2 ? -half : half;
        x[stride + i] = 2.0f * x[i];
    }
    x[40] = 127.0f;
    x[stride + 90] = -254.0f;
    for (size_t j = 0; j < N_QUANTIZERS; j++) {
        if (!host_has(quantizers[j].needs))
            continue;
        expect_matches_ref(&quantizers[j], x, stride, k, n, 0, n);
        /* And the reference itself did round to even here (so the match means something). */
        void *blob = bb_alloc(bb_act_q8_bytes(k, n));
        bb_act_q8 a = bb_act_q8_view(blob, k, n);
        quantizers[j].quantize(x, stride, &a, 0, n);
        assert_int_equal(a.q[0], 0);           /* 0.5 -> 0 */
        assert_int_equal(a.q[1], -2);          /* -1.5 -> -2 */
        assert_int_equal(a.q[2], 2);           /* 2.5 -> 2 */
        assert_int_equal(a.q[a.k_stride + 3], -4); /* -7 * 0.5 = -3.5 -> -4 */
        bb_free(blob);
    }
    bb_free(x);
}

/* One outlier of 1e6 among values of size 1, at every position of a short token (so in
 * every lane and in the tail): it alone reaches +-127, the rest round to 0. */
static void test_act_q8_outliers(void **state)
{
    (void)state;
    if (runnable_quantizers() == 0)
        skip();
    const size_t k = 75, n = 1;
    size_t stride;
    float *x = tu_make_x(k, n, 77, &stride);
    for (size_t pos = 0; pos < k; pos++) {
        float saved = x[pos];
        x[pos] = pos % 2 ? 1e6f : -1e6f;
        for (size_t j = 0; j < N_QUANTIZERS; j++)
            if (host_has(quantizers[j].needs))
                expect_matches_ref(&quantizers[j], x, stride, k, n, 0, n);
        x[pos] = saved;
    }
    bb_free(x);
}

/* All-zero tokens (+0 and -0) give q = 0, scale 0, sum 0, next to ordinary tokens; and
 * quantizing token ranges touches those tokens only. */
static void test_act_q8_zero_tokens_and_ranges(void **state)
{
    (void)state;
    if (runnable_quantizers() == 0)
        skip();
    const size_t k = 50, n = 5;
    size_t stride;
    float *x = tu_make_x(k, n, 9, &stride);
    memset(x + stride, 0, stride * sizeof(float));
    for (size_t i = 0; i < k; i++)
        x[3 * stride + i] = -0.0f;
    for (size_t j = 0; j < N_QUANTIZERS; j++) {
        if (!host_has(quantizers[j].needs))
            continue;
        expect_matches_ref(&quantizers[j], x, stride, k, n, 0, n);
        expect_matches_ref(&quantizers[j], x, stride, k, n, 1, 4);
        expect_matches_ref(&quantizers[j], x, stride, k, n, 4, 5);
        void *blob = bb_alloc(bb_act_q8_bytes(k, n));
        bb_act_q8 a = bb_act_q8_view(blob, k, n);
        quantizers[j].quantize(x, stride, &a, 0, n);
        assert_true(a.scale[1] == 0.0f && a.sum[1] == 0 && a.scale[3] == 0.0f && a.sum[3] == 0);
        bb_free(blob);
    }
    bb_free(x);
}

/* The quantizer reads only the k real values: x with stride k (no padding) and NaN right
 * after each token changes nothing. */
static void test_act_q8_reads_only_k_values(void **state)
{
    (void)state;
    if (runnable_quantizers() == 0)
        skip();
    for (size_t k = 1; k <= 40; k++) {
        const size_t n = 2;
        float *x = malloc((n * (k + 1)) * sizeof(float));
        assert_non_null(x);
        tu_fill_normalish(x, n * (k + 1), 1.0f, 31 + k);
        x[k] = NAN;
        x[2 * k + 1] = NAN;
        for (size_t j = 0; j < N_QUANTIZERS; j++)
            if (host_has(quantizers[j].needs))
                expect_matches_ref(&quantizers[j], x, k + 1, k, n, 0, n);
        free(x);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_act_q8_ragged_k),
        cmocka_unit_test(test_act_q8_halfway_ties),
        cmocka_unit_test(test_act_q8_outliers),
        cmocka_unit_test(test_act_q8_zero_tokens_and_ranges),
        cmocka_unit_test(test_act_q8_reads_only_k_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
