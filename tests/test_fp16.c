/* tests/test_fp16.c - the fp32 <-> fp16 conversions, the fp16 format and its reference. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ref/ref.h"
#include "testutil.h"

static const bb_format *fmt(void) { return bb_format_get(BB_FMT_FP16); }

static uint32_t bits_of(float f)
{
    uint32_t b;
    memcpy(&b, &f, sizeof b);
    return b;
}

static float float_of(uint32_t b)
{
    float f;
    memcpy(&f, &b, sizeof f);
    return f;
}

static bool half_is_nan(uint16_t h) { return (h & 0x7c00) == 0x7c00 && (h & 0x3ff) != 0; }

/* The value of a non-NaN half, from its bit fields: an implementation that shares
 * nothing with kernels/ref/fp16.c. */
static double half_value(uint16_t h)
{
    int e = (h >> 10) & 0x1f, mant = h & 0x3ff;
    double v = e == 0 ? ldexp(mant, -24) : e == 0x1f ? INFINITY : ldexp(1024 + mant, e - 25);
    return (h & 0x8000) ? -v : v;
}

/* The hardware's conversions, to hold the software ones to: x86-64 F16C (vcvtph2ps,
 * vcvtps2ph with round to nearest even), AArch64 FCVT (base ARMv8, default rounding to
 * nearest even; NaNs quieted with their payload, as F16C does).  Written as assembly and
 * as the __fp16 storage type so that no file outside kernels/ needs ISA flags. */
#if defined(__x86_64__)
static bool have_f16c(void) { return (bb_cpu_detect() & BB_CPU_F16C) != 0; }

static float f16c_to_fp32(uint16_t h)
{
    float in = float_of(h), out;
    __asm__("vcvtph2ps %1, %0" : "=x"(out) : "x"(in));
    return out;
}

static uint16_t f16c_to_fp16(float f)
{
    float out;
    __asm__("vcvtps2ph $0, %1, %0" : "=x"(out) : "x"(f));
    return (uint16_t)(bits_of(out) & 0xffffu);
}
#elif defined(__aarch64__)
static bool have_f16c(void) { return true; }

static float f16c_to_fp32(uint16_t h)
{
    __fp16 v;
    memcpy(&v, &h, sizeof v);
    return (float)v;
}

static uint16_t f16c_to_fp16(float f)
{
    __fp16 v = (__fp16)f;
    uint16_t h;
    memcpy(&h, &v, sizeof h);
    return h;
}
#else
static bool have_f16c(void) { return false; }
static float f16c_to_fp32(uint16_t h) { return (float)h; }
static uint16_t f16c_to_fp16(float f) { return (uint16_t)f; }
#endif

/* ------------------------------------------------------------------ fp16 -> fp32 */

static void test_to_fp32_all_patterns_vs_bit_fields(void **state)
{
    (void)state;
    for (uint32_t h = 0; h < 65536; h++) {
        float f = bb_fp16_to_fp32((uint16_t)h);
        uint32_t b = bits_of(f);
        if (half_is_nan((uint16_t)h)) {
            /* NaN stays NaN, quiet, with its sign and its payload moved up 13 bits. */
            uint32_t want = ((h & 0x8000u) << 16) | 0x7fc00000u | ((h & 0x3ffu) << 13);
            if (b != want)
                fail_msg("half 0x%04x: got 0x%08x, expected quiet NaN 0x%08x", h, b, want);
            continue;
        }
        float want = (float)half_value((uint16_t)h); /* exact: a half fits in a float */
        if (b != bits_of(want))
            fail_msg("half 0x%04x: got %a (0x%08x), expected %a", h, (double)f, b, (double)want);
    }
}

static void test_to_fp32_all_patterns_vs_f16c(void **state)
{
    (void)state;
    if (!have_f16c())
        skip();
    for (uint32_t h = 0; h < 65536; h++) {
        uint32_t got = bits_of(bb_fp16_to_fp32((uint16_t)h));
        uint32_t want = bits_of(f16c_to_fp32((uint16_t)h));
        if (got != want)
            fail_msg("half 0x%04x: got 0x%08x, F16C gives 0x%08x", h, got, want);
    }
}

/* ------------------------------------------------------------------ fp32 -> fp16 */

static void expect_to_fp16(float f, uint16_t want)
{
    uint16_t got = bb_fp32_to_fp16(f);
    if (got != want)
        fail_msg("fp32 %a (0x%08x): got half 0x%04x, expected 0x%04x", (double)f, bits_of(f), got,
                 want);
}

/* Every non-NaN half's value converts back to that half (both zeros and infinities too). */
static void test_to_fp16_every_half_value(void **state)
{
    (void)state;
    for (uint32_t h = 0; h < 65536; h++)
        if (!half_is_nan((uint16_t)h))
            expect_to_fp16((float)half_value((uint16_t)h), (uint16_t)h);
}

/* Between consecutive positive halves a = half(h) and b = half(h + 1) (for h = 0x7bff, b
 * is 65536, where the exponent range ends): the midpoint goes to the one with the even
 * mantissa, the floats just below and above it to a and b.  The same for negatives.
 * This covers the subnormal range (h < 0x400), the subnormal/normal boundary and the
 * overflow threshold 65520. */
static void test_to_fp16_midpoints_ties_to_even(void **state)
{
    (void)state;
    for (uint32_t h = 0; h <= 0x7bff; h++) {
        double a = half_value((uint16_t)h), b = h == 0x7bff ? 65536.0 : half_value((uint16_t)(h + 1));
        float mid = (float)((a + b) / 2);
        assert_true((double)mid == (a + b) / 2); /* 12 significant bits: exact in a float */
        uint16_t even = (uint16_t)((h & 1) ? h + 1 : h);
        for (int s = 0; s < 2; s++) {
            float sign = s ? -1.0f : 1.0f;
            uint16_t sbit = s ? 0x8000 : 0;
            expect_to_fp16(sign * mid, even | sbit);
            expect_to_fp16(sign * nextafterf(mid, 0.0f), (uint16_t)h | sbit);
            expect_to_fp16(sign * nextafterf(mid, INFINITY), (uint16_t)(h + 1) | sbit);
        }
    }
}

static void test_to_fp16_special_values(void **state)
{
    (void)state;
    expect_to_fp16(0.0f, 0x0000);
    expect_to_fp16(-0.0f, 0x8000);
    /* Overflow: 65504 is the largest half; 65520 is the tie with 65536 and rounds to inf. */
    expect_to_fp16(65504.0f, 0x7bff);
    expect_to_fp16(nextafterf(65520.0f, 0.0f), 0x7bff);
    expect_to_fp16(65520.0f, 0x7c00);
    expect_to_fp16(-65520.0f, 0xfc00);
    expect_to_fp16(1e10f, 0x7c00);
    expect_to_fp16(FLT_MAX, 0x7c00);
    expect_to_fp16(-FLT_MAX, 0xfc00);
    expect_to_fp16(INFINITY, 0x7c00);
    expect_to_fp16(-INFINITY, 0xfc00);
    /* Underflow: 2^-25 is the tie between 0 and the smallest subnormal 2^-24 (even: 0);
     * 3 * 2^-25 is the tie between 2^-24 and 2 * 2^-24 (even: 2). */
    expect_to_fp16(0x1p-25f, 0x0000);
    expect_to_fp16(nextafterf(0x1p-25f, 1.0f), 0x0001);
    expect_to_fp16(-0x1p-25f, 0x8000);
    expect_to_fp16(0x1p-24f, 0x0001);
    expect_to_fp16(0x3p-25f, 0x0002);
    expect_to_fp16(0x5p-25f, 0x0002);
    expect_to_fp16(FLT_MIN, 0x0000);
    expect_to_fp16(float_of(1), 0x0000); /* the smallest float subnormal */
    expect_to_fp16(-float_of(1), 0x8000);
    expect_to_fp16(0x1p-14f, 0x0400); /* the smallest normal half */
    expect_to_fp16(0x1.ffcp-15f, 0x0400); /* tie between 0x3ff and 0x400 */
    expect_to_fp16(1.0f, 0x3c00);
    expect_to_fp16(1.0f + 0x1p-11f, 0x3c00); /* halfway 1 .. 1 + 2^-10: even is 1 */
    expect_to_fp16(1.0f + 0x3p-11f, 0x3c02);
    expect_to_fp16(-(1.0f + 0x1p-11f), 0xbc00);
    /* NaN stays NaN, quiet, sign kept.  0x7f800001 is a signalling NaN whose payload lies
     * entirely in the bits a half drops: truncation alone would make it inf. */
    const uint32_t nans[] = {0x7fc00000u, 0xffc00000u, 0x7f800001u, 0xff800001u, 0x7fffffffu};
    for (size_t i = 0; i < sizeof nans / sizeof nans[0]; i++) {
        uint16_t h = bb_fp32_to_fp16(float_of(nans[i]));
        assert_true(half_is_nan(h));
        assert_true(h & 0x0200); /* quiet */
        assert_int_equal(h >> 15, nans[i] >> 31);
    }
}

/* A few million random fp32 bit patterns (every class: normals of every exponent,
 * subnormals, infinities, NaNs with payloads) against the hardware. */
static void test_to_fp16_random_vs_f16c(void **state)
{
    (void)state;
    if (!have_f16c())
        skip();
    uint64_t rng = 0x1234567;
    for (int i = 0; i < 4000000; i++) {
        float f = float_of((uint32_t)(tu_rand_u64(&rng) >> 32));
        uint16_t got = bb_fp32_to_fp16(f), want = f16c_to_fp16(f);
        if (got != want)
            fail_msg("fp32 0x%08x: got half 0x%04x, F16C gives 0x%04x", bits_of(f), got, want);
    }
}

/* ------------------------------------------------------------------ format */

static void test_code_round_trip(void **state)
{
    (void)state;
    assert_int_equal(tu_code_round_trip_failures(BB_FMT_FP16, 40), 0); /* padding 40..63 */
    bb_weights w;
    assert_int_equal(bb_weights_alloc(&w, BB_FMT_FP16, 2, 40), 0);
    assert_int_equal(w.n_scales, 0);
    /* Little-endian storage, as the SIMD kernels read it. */
    fmt()->set_code(&w, 1, 3, 0xabcd);
    assert_int_equal(w.data[w.row_bytes + 6], 0xcd);
    assert_int_equal(w.data[w.row_bytes + 7], 0xab);
    for (uint32_t code = 0; code < 65536; code++) {
        double v = fmt()->code_value(code);
        assert_true(half_is_nan((uint16_t)code) ? isnan(v) : v == half_value((uint16_t)code));
    }
    bb_weights_free(&w);
}

static void test_quantizer_examples(void **state)
{
    (void)state;
    enum { M = 3, K = 6 };
    /* Row 0 all zero (padding and zeros alike 0x0000, -0 kept as 0x8000).  Row 1 a huge
     * outlier (no scale: it overflows to inf, the rest is unaffected).  Row 2 ties. */
    const float w[M * K] = {
        0, 0, 0, 0, -0.0f, 0,
        1.0f, 1e6f, -2.0f, 0.5f, 65504.0f, -1e-8f,
        1.0f + 0x1p-11f, 1.0f + 0x3p-11f, -(1.0f + 0x1p-11f), 0x1p-25f, 0x3p-25f, 65520.0f,
    };
    const uint16_t codes[M][K] = {
        {0x0000, 0x0000, 0x0000, 0x0000, 0x8000, 0x0000},
        {0x3c00, 0x7c00, 0xc000, 0x3800, 0x7bff, 0x8000},
        {0x3c00, 0x3c02, 0xbc00, 0x0000, 0x0002, 0x7c00},
    };
    bb_weights q;
    assert_int_equal(bb_weights_alloc(&q, BB_FMT_FP16, M, K), 0);
    memset(q.data, 0x77, M * q.row_bytes);
    fmt()->quantize(w, &q);
    for (size_t r = 0; r < M; r++)
        for (size_t i = 0; i < q.k_padded; i++) {
            uint32_t want = i < K ? codes[r][i] : 0;
            if (fmt()->get_code(&q, r, i) != want)
                fail_msg("row %zu weight %zu: code 0x%04x, expected 0x%04x", r, i,
                         fmt()->get_code(&q, r, i), want);
        }
    bb_weights_free(&q);
}

/* ------------------------------------------------------------------ reference kernel */

static void test_kernel_entry(void **state)
{
    (void)state;
    const bb_kernel *kn = bb_kernel_find_exact("fp16-scalar-ref");
    assert_ptr_equal(kn, &bb_kernel_fp16_scalar_ref);
    assert_ptr_equal(bb_kernel_reference(BB_FMT_FP16), kn);
    assert_string_equal(kn->method, "ref");
    assert_int_equal(kn->isa, BB_ISA_SCALAR);
    assert_int_equal(kn->needs, 0);
    assert_null(kn->act_bytes);
    assert_null(kn->prepare_act);
    assert_false(kn->multiply_free);
}

/* Runs the reference on (w, x) and checks it
 * - bit for bit against the contract's sum, recomputed here in the same order with the
 *   weights decoded by half_value (acc = acc + w_i * x_i, separately rounded);
 * - against tu_ref_gemm_double within the bound stated in kernels/ref/fp16.c,
 *   gamma_k * sum |w x| with gamma_k = k u / (1 - k u), u = 2^-24, plus the double
 *   reference's own summation error (k 2^-53 sum |w x|, bounded generously). */
static void check_kernel(const float *wf, size_t m, size_t k, const float *x, size_t x_stride,
                         size_t n)
{
    bb_weights w;
    assert_int_equal(bb_weights_alloc(&w, BB_FMT_FP16, m, k), 0);
    fmt()->quantize(wf, &w);
    float *y = tu_run_kernel(&bb_kernel_fp16_scalar_ref, &w, x, x_stride, n);
    double *ref = malloc(m * n * sizeof(double)), *abs_ref = malloc(m * n * sizeof(double));
    tu_ref_gemm_double(&w, x, x_stride, NULL, n, ref, abs_ref);

    const double u = 0x1p-24, gamma_k = (double)k * u / (1.0 - (double)k * u);
    for (size_t t = 0; t < n; t++)
        for (size_t r = 0; r < m; r++) {
            float acc = 0.0f;
            for (size_t i = 0; i < k; i++)
                acc = acc + (float)half_value((uint16_t)fmt()->get_code(&w, r, i)) * x[t * x_stride + i];
            float got = y[t * m + r];
            if (bits_of(got) != bits_of(acc))
                fail_msg("m=%zu k=%zu n=%zu: y[t=%zu][r=%zu] = %a, sequential fp32 sum %a", m, k,
                         n, t, r, (double)got, (double)acc);
            double err = fabs((double)got - ref[t * m + r]);
            double bound = (gamma_k + (double)k * 0x1p-52) * abs_ref[t * m + r];
            if (!(err <= bound))
                fail_msg("m=%zu k=%zu n=%zu: |y - ref| = %g exceeds the bound %g", m, k, n, err,
                         bound);
        }
    free(ref);
    free(abs_ref);
    bb_free(y);
    bb_weights_free(&w);
}

static void test_kernel_shapes(void **state)
{
    (void)state;
    const size_t ks[] = {1, 5, 32, 33, 3200, 5460};
    tu_for_small_shapes(ks, sizeof ks / sizeof ks[0], 0.05f, check_kernel);
}

/* K = 65536 at the largest half (65504) against unit activations, same sign: the sum
 * reaches 65504 * 65536 ~ 4.3e9 with partial sums needing 27 bits, so the fp32
 * accumulator rounds and the bound is exercised at its largest k.  A second row mixes
 * signs so that the sum cancels. */
static void test_kernel_extremes_k65536(void **state)
{
    (void)state;
    enum { M = 2, N = 2 };
    const size_t k = 65536, x_stride = bb_k_stride(k);
    float *wf = malloc(M * k * sizeof(float));
    float *x = bb_alloc(N * x_stride * sizeof(float));
    for (size_t i = 0; i < k; i++) {
        wf[i] = 65504.0f;
        wf[k + i] = (i & 1) ? -65504.0f : 65504.0f * (1.0f - 0x1p-10f * (float)(i % 7));
        x[i] = 1.0f;
        x[x_stride + i] = -0.999f;
    }
    check_kernel(wf, M, k, x, x_stride, N);
    free(wf);
    bb_free(x);
}

static void test_opcount_model(void **state)
{
    (void)state;
    bb_opcount c;
    memset(&c, 0xff, sizeof c);
    fmt()->opcount(3, 5, 2, &c);
    assert_int_equal(c.cvt, 30);
    assert_int_equal(c.fp32_mul, 30);
    assert_int_equal(c.fp32_add, 30);
    assert_int_equal(c.int_add + c.int_mul + c.int_cmp + c.shift + c.fp16_add + c.fp16_mul +
                         c.fp32_div + c.fp32_cmp,
                     0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_to_fp32_all_patterns_vs_bit_fields),
        cmocka_unit_test(test_to_fp32_all_patterns_vs_f16c),
        cmocka_unit_test(test_to_fp16_every_half_value),
        cmocka_unit_test(test_to_fp16_midpoints_ties_to_even),
        cmocka_unit_test(test_to_fp16_special_values),
        cmocka_unit_test(test_to_fp16_random_vs_f16c),
        cmocka_unit_test(test_code_round_trip),
        cmocka_unit_test(test_quantizer_examples),
        cmocka_unit_test(test_kernel_entry),
        cmocka_unit_test(test_kernel_shapes),
        cmocka_unit_test(test_kernel_extremes_k65536),
        cmocka_unit_test(test_opcount_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
