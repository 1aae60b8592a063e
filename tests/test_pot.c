/* tests/test_pot.c - the power-of-two formats pot4, pot5, pot6 and their scalar
 * reference kernels.  Every test runs once per format (cmocka prestate). */
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
#include "refcheck.h"

/* The kernels' hot loops (kernels/ref/pot.c, named by hot_symbol): called directly so
 * that the overflow test sees the integer accumulator itself. */
int32_t bb_pot4_ref_dot(const uint8_t *wrow, const int8_t *q, size_t k);
int64_t bb_pot5_ref_dot(const uint8_t *wrow, const int8_t *q, size_t k);
int64_t bb_pot6_ref_dot(const uint8_t *wrow, const int8_t *q, size_t k);

typedef struct pot_case {
    int bits;
    int emax; /* 2^(bits-1) - 2 */
    bb_format_id id;
    const bb_kernel *kernel;
    const char *kernel_name, *hot_symbol;
} pot_case;

static const pot_case POT4 = {4, 6, BB_FMT_POT4, &bb_kernel_pot4_scalar_ref, "pot4-scalar-ref",
                              "bb_pot4_ref_dot"};
static const pot_case POT5 = {5, 14, BB_FMT_POT5, &bb_kernel_pot5_scalar_ref, "pot5-scalar-ref",
                              "bb_pot5_ref_dot"};
static const pot_case POT6 = {6, 30, BB_FMT_POT6, &bb_kernel_pot6_scalar_ref, "pot6-scalar-ref",
                              "bb_pot6_ref_dot"};

static const bb_format *fmt(const pot_case *p) { return bb_format_get(p->id); }
static uint32_t sign_bit(const pot_case *p) { return 1u << (p->bits - 1); }
/* The contract's code of exponent e (e + 1), with the sign bit when negative. */
static uint32_t code_of(const pot_case *p, int negative, int e)
{
    return (negative ? sign_bit(p) : 0u) | (uint32_t)(e + 1);
}

/* Quantizes w (m x k) into a fresh matrix whose bytes start as garbage, so that a
 * quantizer that skips the padding or the zero codes is caught. */
static bb_weights quantized(const pot_case *p, const float *w, size_t m, size_t k)
{
    bb_weights q;
    assert_int_equal(bb_weights_alloc(&q, p->id, m, k), 0);
    memset(q.data, 0xA5, m * q.row_bytes);
    fmt(p)->quantize(w, &q);
    return q;
}

/* Row `row` must hold codes[0..k) and code 0 in the padding. */
static void expect_codes(const pot_case *p, const bb_weights *w, size_t row, const uint32_t *codes)
{
    for (size_t i = 0; i < w->k_padded; i++) {
        uint32_t want = i < w->k ? codes[i] : 0, got = fmt(p)->get_code(w, row, i);
        if (got != want)
            fail_msg("pot%d row %zu weight %zu: code %u, expected %u", p->bits, row, i, got, want);
    }
}

static void expect_scale(const pot_case *p, const bb_weights *w, size_t row, float want)
{
    if (memcmp(&w->scales[row], &want, sizeof want) != 0)
        fail_msg("pot%d row %zu: scale %a, expected %a", p->bits, row, (double)w->scales[row],
                 (double)want);
}

/* ------------------------------------------------------------------ quantizer */

static void test_all_zero_row(void **state)
{
    const pot_case *p = *state;
    enum { M = 3, K = 130 }; /* two blocks, the second mostly padding */
    float w[M * K] = {0};
    w[K + 3] = -0.0f;    /* row 1: zeros of both signs only */
    w[2 * K + 129] = 0.5f; /* row 2: one nonzero weight, in the last block */
    bb_weights q = quantized(p, w, M, K);
    uint32_t codes[K] = {0};
    for (size_t r = 0; r < 2; r++) {
        expect_scale(p, &q, r, 0.0f);
        expect_codes(p, &q, r, codes);
        for (size_t b = 0; b < q.row_bytes; b++)
            assert_int_equal(q.data[r * q.row_bytes + b], 0);
    }
    codes[129] = code_of(p, 0, 0);
    expect_codes(p, &q, 2, codes);
    expect_scale(p, &q, 2, ldexpf(0.5f, -p->emax));
    bb_weights_free(&q);
}

/* One outlier amax = 1024 = 2^10, so r = |w| / 1024 is exact; codes worked out by hand:
 *   1024: r 1, e 0.
 *   10: -log2(10/1024) = 6.678, + 0.5 -> e 7: pot4 clips it to emax 6 (r = 0.0098 is not
 *       below 2^-7); pot5, pot6 code 8.
 *   8: r = 2^-7 exactly, e 7: pot4's zero/emax boundary 2^-(6+1), which maps to emax.
 *   7.99: r just below 2^-7: pot4 0; e 7 elsewhere.
 *   1: r 2^-10, e 10: pot4 0.
 *   -3: -log2(3/1024) = 8.415 -> e 8, negative: pot4 0 (written with sign 0).
 *   2^-5: r = 2^-15, pot5's boundary 2^-(14+1): emax 14, code 15; pot6 e 15.
 *   below 2^-5: pot5 0, pot6 e 15.
 *   2^-21: r = 2^-31, pot6's boundary: emax 30, code 31.  Below it: pot6 0. */
static void test_single_outlier(void **state)
{
    const pot_case *p = *state;
    enum { K = 11 };
    const float w[K] = {1024.0f, 10.0f, 8.0f, 7.99f, 1.0f, -3.0f, 0x1p-5f,
                        nextafterf(0x1p-5f, 0.0f), 0x1p-21f, nextafterf(0x1p-21f, 0.0f), 0.0f};
    const uint32_t want4[K] = {1, 7, 7, 0, 0, 0, 0, 0, 0, 0, 0};
    const uint32_t want5[K] = {1, 8, 8, 8, 11, 16 | 9, 15, 0, 0, 0, 0};
    const uint32_t want6[K] = {1, 8, 8, 8, 11, 32 | 9, 16, 16, 31, 0, 0};
    const uint32_t *want = p->bits == 4 ? want4 : p->bits == 5 ? want5 : want6;
    const float scale = p->bits == 4 ? 16.0f : p->bits == 5 ? 0x1p-4f : 0x1p-20f; /* 2^(10-emax) */
    bb_weights q = quantized(p, w, 1, K);
    expect_codes(p, &q, 0, want);
    expect_scale(p, &q, 0, scale);
    bb_weights_free(&q);
}

/* amax 1: +-2^-e must come back as exponent e exactly, for every e in 0..emax, and
 * dequantize to itself (scale 2^-emax times code_value 2^(emax-e)). */
static void test_exact_powers_of_two(void **state)
{
    const pot_case *p = *state;
    const size_t k = (size_t)p->emax + 2;
    float w[32];
    uint32_t want[32];
    for (int e = 0; e <= p->emax; e++) {
        int negative = e % 2;
        w[e] = negative ? -ldexpf(1.0f, -e) : ldexpf(1.0f, -e);
        want[e] = code_of(p, negative, e);
    }
    w[k - 1] = -1.0f; /* amax reached by a negative weight too */
    want[k - 1] = code_of(p, 1, 0);
    bb_weights q = quantized(p, w, 1, k);
    expect_codes(p, &q, 0, want);
    for (size_t i = 0; i < k; i++)
        assert_true(bb_weight_value(&q, 0, i) == (double)w[i]);
    bb_weights_free(&q);
}

/* The floats just above and just below 2^-(e+0.5), derived here in double. */
static void midpoint_neighbours(int e, float *above, float *below)
{
    double mid = ldexp(sqrt(0.5), -e);
    float f = (float)mid;
    *above = (double)f > mid ? f : nextafterf(f, 1.0f);
    *below = (double)f < mid ? f : nextafterf(f, 0.0f);
    /* they must bracket the midpoint: squares of floats are exact in double */
    assert_true((double)*above * *above > ldexp(1.0, -2 * e - 1));
    assert_true((double)*below * *below < ldexp(1.0, -2 * e - 1));
}

/* Rounding happens in the log domain: with amax 1, r just above 2^-(e+0.5) gives e and
 * just below gives e + 1 (clipped to emax for the last one).  Hand examples for e = 0:
 * 2^-0.5 = 0.70710678..., its float neighbours 0x1.6a09e6p-1 (below) and 0x1.6a09e8p-1
 * (above); 0.75, the linear midpoint of 0.5 and 1, rounds up to 1 (-log2 0.75 = 0.415);
 * 0.7 rounds down to 0.5; 0.375 (-log2 = 1.415) goes to 0.5. */
static void test_log_domain_midpoints(void **state)
{
    const pot_case *p = *state;
    float above, below;
    midpoint_neighbours(0, &above, &below);
    assert_true(above == 0x1.6a09e8p-1f && below == 0x1.6a09e6p-1f);
    {
        const float w[6] = {1.0f, above, below, 0.75f, 0.7f, -0.375f};
        const uint32_t want[6] = {1, 1, 2, 1, 2, code_of(p, 1, 1)};
        bb_weights q = quantized(p, w, 1, 6);
        expect_codes(p, &q, 0, want);
        bb_weights_free(&q);
    }
    const int m = p->emax + 1;
    enum { K = 5 };
    float *w = malloc((size_t)m * K * sizeof(float));
    for (int e = 0; e < m; e++) {
        float *row = w + (size_t)e * K;
        midpoint_neighbours(e, &above, &below);
        row[0] = 1.0f;
        row[1] = above;
        row[2] = below;
        row[3] = -above;
        row[4] = -below;
    }
    bb_weights q = quantized(p, w, (size_t)m, K);
    for (int e = 0; e < m; e++) {
        int lower = e < p->emax ? e + 1 : p->emax;
        const uint32_t want[K] = {code_of(p, 0, 0), code_of(p, 0, e), code_of(p, 0, lower),
                                  code_of(p, 1, e), code_of(p, 1, lower)};
        expect_codes(p, &q, (size_t)e, want);
    }
    bb_weights_free(&q);
    free(w);
}

/* The contract's rule evaluated another way than the quantizer does it (it compares
 * exact squares): r in long double, the rounding with log2l.  A float ratio lies at least
 * about 2^-49 (relative) from an irrational midpoint 2^-(e+0.5), far more than long
 * double's rounding, so the two must agree on every input. */
_Static_assert(LDBL_MANT_DIG >= 64, "the rounding oracle needs an 80-bit or wider long double");
static uint32_t oracle_code(const pot_case *p, float w, float amax)
{
    if (w == 0.0f || amax == 0.0f)
        return 0;
    long double a = fabsl((long double)w);
    int e = (int)floorl(-log2l(a / amax) + 0.5L);
    if (e > p->emax) {
        if (ldexpl(a, p->emax + 1) < amax)
            return 0;
        e = p->emax;
    }
    return code_of(p, w < 0.0f, e);
}

/* amax with mantissas other than 1 (the hand examples use powers of two), and for every
 * level the floats nearest amax * 2^-(e+0.5) and their neighbours on both sides, down
 * past the zero boundary; then a row of random weights.  Codes must match the oracle. */
static void test_rounding_any_amax(void **state)
{
    const pot_case *p = *state;
    const float amaxes[] = {1.0f, 1.5f, 0x1.fffffep0f, 0x1.000002p0f, 3e-3f, -7.5e5f};
    enum { M = sizeof amaxes / sizeof amaxes[0] + 1, K = 3 * 33 + 1 };
    float *w = calloc(M * K, sizeof(float));
    for (size_t r = 0; r + 1 < M; r++) {
        float *row = w + r * K;
        row[0] = amaxes[r];
        for (int e = 0; e <= p->emax + 2; e++) {
            float near = (float)ldexpl(fabsl((long double)amaxes[r]) * sqrtl(0.5L), -e);
            row[1 + 3 * e] = nextafterf(near, 0.0f);
            row[2 + 3 * e] = -near;
            row[3 + 3 * e] = nextafterf(near, INFINITY);
        }
    }
    tu_fill_normalish(w + (M - 1) * K, K, 0.3f, 99);
    bb_weights q = quantized(p, w, M, K);
    uint32_t want[K];
    for (size_t r = 0; r < M; r++) {
        float amax = 0.0f;
        for (size_t i = 0; i < K; i++)
            amax = fmaxf(amax, fabsf(w[r * K + i]));
        for (size_t i = 0; i < K; i++)
            want[i] = oracle_code(p, w[r * K + i], amax);
        expect_codes(p, &q, r, want);
    }
    bb_weights_free(&q);
    free(w);
}

/* amax 1: r = 2^-(emax+1) is the smallest ratio kept (as emax), anything below is 0 -
 * with sign 0 even for negative weights. */
static void test_zero_emax_boundary(void **state)
{
    const pot_case *p = *state;
    const float edge = ldexpf(1.0f, -(p->emax + 1));
    const float w[8] = {1.0f, edge, nextafterf(edge, 0.0f), -edge, -nextafterf(edge, 0.0f),
                        1.2f * edge, edge / 2, -1e-38f};
    const uint32_t want[8] = {1, code_of(p, 0, p->emax), 0, code_of(p, 1, p->emax), 0,
                              code_of(p, 0, p->emax), 0, 0};
    bb_weights q = quantized(p, w, 1, 8);
    expect_codes(p, &q, 0, want);
    bb_weights_free(&q);
}

/* A row of negative weights: |w| decides the exponent and amax, the sign goes to the code
 * bit; -0 and underflowing negatives become code 0. */
static void test_negative_values(void **state)
{
    const pot_case *p = *state;
    const float w[6] = {-2.0f, -1.0f, -0.5f, -0.0f, -0.6f, -1e-30f};
    /* -0.6: -log2(0.6 / 2) = 1.737 -> e 2 */
    const uint32_t want[6] = {code_of(p, 1, 0), code_of(p, 1, 1), code_of(p, 1, 2), 0,
                              code_of(p, 1, 2), 0};
    bb_weights q = quantized(p, w, 1, 6);
    expect_codes(p, &q, 0, want);
    expect_scale(p, &q, 0, ldexpf(2.0f, -p->emax));
    assert_true(bb_weight_value(&q, 0, 2) == -0.5);
    bb_weights_free(&q);
}

/* Non-finite weights, as documented in pot.c (the harness feeds none): amax over the
 * finite weights, NaN -> 0, +-inf -> +-amax, and 0 in a row with no finite nonzero. */
static void test_non_finite(void **state)
{
    const pot_case *p = *state;
    enum { M = 2, K = 4 };
    const float w[M * K] = {INFINITY, 0.5f, NAN, -INFINITY, 0.0f, INFINITY, NAN, -INFINITY};
    bb_weights q = quantized(p, w, M, K);
    const uint32_t want0[K] = {code_of(p, 0, 0), code_of(p, 0, 0), 0, code_of(p, 1, 0)};
    const uint32_t want1[K] = {0, 0, 0, 0};
    expect_codes(p, &q, 0, want0);
    expect_scale(p, &q, 0, ldexpf(0.5f, -p->emax));
    expect_codes(p, &q, 1, want1);
    expect_scale(p, &q, 1, 0.0f);
    bb_weights_free(&q);
}

/* Each row has its own amax: the same relative pattern (max, max / 4) gives the same
 * codes under different scales. */
static void test_per_row_scales(void **state)
{
    const pot_case *p = *state;
    enum { M = 5, K = 2 };
    const float w[M * K] = {3.0f, 0.75f, -0.25f, 0.0625f, 1e-3f, -2.5e-4f, 0.0f, 0.0f,
                            6e4f, 1.5e4f};
    bb_weights q = quantized(p, w, M, K);
    for (size_t r = 0; r < M; r++) {
        float amax = fabsf(w[r * K]);
        expect_scale(p, &q, r, ldexpf(amax, -p->emax));
        uint32_t want[K] = {0, 0};
        if (amax > 0) {
            want[0] = code_of(p, signbit(w[r * K]) != 0, 0);
            want[1] = code_of(p, signbit(w[r * K + 1]) != 0, 2);
        }
        expect_codes(p, &q, r, want);
    }
    bb_weights_free(&q);
}

/* code_value = sign * 2^(emax - e), e = ecode - 1; ecode 0 is 0 with either sign. */
static void test_code_values(void **state)
{
    const pot_case *p = *state;
    const bb_format *f = fmt(p);
    uint32_t top = sign_bit(p) - 1; /* largest ecode: e = emax, value 1 */
    assert_true(f->code_value(0) == 0.0);
    assert_true(f->code_value(sign_bit(p)) == 0.0);
    assert_true(f->code_value(1) == ldexp(1.0, p->emax));
    assert_true(f->code_value(sign_bit(p) | 1) == -ldexp(1.0, p->emax));
    assert_true(f->code_value(top) == 1.0);
    assert_true(f->code_value(sign_bit(p) | top) == -1.0);
    if (p->bits == 4) { /* by hand */
        assert_true(f->code_value(3) == 16.0);
        assert_true(f->code_value(13) == -4.0);
    }
    assert_int_equal(f->n_codes, 1u << p->bits);
    assert_int_equal(f->block, 128);
    assert_int_equal(f->block_bytes, 16 * p->bits);
}

/* ------------------------------------------------------------------ packing */

/* Every code at every position of a block (low and high nibble halves, every bit of the
 * pot5 plane, every 2-bit field of the pot6 plane), in full blocks and in the padded last
 * block of a ragged row: set_code / get_code round trip, and the rest of the matrix keeps
 * its codes. */
static void test_code_round_trip(void **state)
{
    const pot_case *p = *state;
    enum { M = 2, K = 2 * 128 + 37 };
    bb_weights w;
    assert_int_equal(bb_weights_alloc(&w, p->id, M, K), 0);
    assert_int_equal(w.k_padded, 384);
    const bb_format *f = fmt(p);
    const size_t kp = w.k_padded;
    uint32_t *shadow = malloc(M * kp * sizeof(uint32_t));
    uint64_t seed = 7;
    for (size_t r = 0; r < M; r++)
        for (size_t i = 0; i < kp; i++) {
            shadow[r * kp + i] = (uint32_t)(tu_rand_u64(&seed) % f->n_codes);
            f->set_code(&w, r, i, shadow[r * kp + i]);
        }
    for (size_t r = 0; r < M; r++)
        for (size_t i = 0; i < kp; i++) {
            size_t block = i / 128 * 128;
            for (uint32_t c = 0; c < f->n_codes; c++) {
                f->set_code(&w, r, i, c);
                shadow[r * kp + i] = c;
                for (size_t j = block; j < block + 128; j++)
                    if (f->get_code(&w, r, j) != shadow[r * kp + j])
                        fail_msg("pot%d: after setting code %u at (%zu, %zu), weight %zu reads %u, "
                                 "expected %u", p->bits, c, r, i, j, f->get_code(&w, r, j),
                                 shadow[r * kp + j]);
            }
        }
    for (size_t r = 0; r < M; r++)
        for (size_t i = 0; i < kp; i++)
            assert_int_equal(f->get_code(&w, r, i), shadow[r * kp + i]);
    free(shadow);
    bb_weights_free(&w);
}

/* The canonical bytes, worked out by hand from the layout contract. */
static void test_block_layout_bytes(void **state)
{
    const pot_case *p = *state;
    enum { K = 256 };
    uint8_t want[2 * 96] = {0};
    bb_weights w;
    assert_int_equal(bb_weights_alloc(&w, p->id, 1, K), 0);
    bb_weights_fill_zero(&w);
    const bb_format *f = fmt(p);
    size_t bb = f->block_bytes;
    /* weight 5 code 0xA and weight 69 code 0x3 share nibble byte 5 */
    f->set_code(&w, 0, 5, 0xA);
    f->set_code(&w, 0, 69, 0x3);
    want[5] = 0x3A;
    if (p->bits == 4) {
        f->set_code(&w, 0, 128 + 127, 0xF); /* block 1, byte 63, high nibble */
        want[bb + 63] = 0xF0;
    } else if (p->bits == 5) {
        f->set_code(&w, 0, 77, 0x1F); /* byte 13 high nibble; plane byte 64 + 9, bit 5 */
        want[13] = 0xF0;
        want[64 + 9] = 0x20;
        f->set_code(&w, 0, 128 + 8, 0x10); /* block 1: plane byte 64 + 1, bit 0 */
        want[bb + 64 + 1] = 0x01;
    } else {
        f->set_code(&w, 0, 70, 0x3F); /* byte 6 high nibble; plane byte 64 + 6, bits 4..5 */
        want[6] = 0xF0;
        want[64 + 6] = 0x30;
        f->set_code(&w, 0, 128 + 33, 0x25); /* block 1: byte 33 low 5; plane byte 64 + 1 bits 2..3 = 2 */
        want[bb + 33] = 0x05;
        want[bb + 64 + 1] = 0x08;
        f->set_code(&w, 0, 128 + 127, 0x30); /* plane byte 64 + 31, bits 6..7 = 3 */
        want[bb + 64 + 31] = 0xC0;
    }
    assert_int_equal(w.row_bytes, 2 * bb);
    assert_memory_equal(w.data, want, 2 * bb);
    bb_weights_free(&w);
}

/* ------------------------------------------------------------------ reference kernel */

static void test_kernel_entry(void **state)
{
    const pot_case *p = *state;
    const bb_kernel *kn = bb_kernel_find_exact(p->kernel_name);
    assert_ptr_equal(kn, p->kernel);
    tu_assert_int8_act_reference(kn, p->id, p->hot_symbol);
}

/* The exact integer dot of row r with token t, from the codes and the int8 activations,
 * by multiplication (the kernel shifts). */
static int64_t exact_dot(const pot_case *p, const bb_weights *w, size_t r, const int8_t *q)
{
    int64_t dot = 0;
    for (size_t i = 0; i < w->k; i++) {
        uint32_t code = fmt(p)->get_code(w, r, i), ecode = code & (sign_bit(p) - 1);
        if (ecode == 0)
            continue;
        int64_t weight = (int64_t)1 << (p->emax + 1 - (int)ecode);
        dot += (code & sign_bit(p) ? -weight : weight) * q[i];
    }
    return dot;
}

/* Runs the reference on (w, x) and checks every output:
 * - bit for bit against bb_rescale_i32 (pot4, whose dot must fit int32) or bb_rescale_i64
 *   of the exact integer dot product computed here;
 * - against tu_ref_gemm_double within the rescale's three roundings (int -> float and two
 *   multiplies: (1 + u)^3 - 1 relative, u = 2^-24) plus the double reference's own
 *   summation error. */
static void check_kernel(const pot_case *p, const float *wf, size_t m, size_t k, const float *x,
                         size_t x_stride, size_t n)
{
    bb_weights w = quantized(p, wf, m, k);
    float *y = tu_run_kernel(p->kernel, &w, x, x_stride, n);
    void *blob = bb_alloc(bb_act_q8_bytes(k, n));
    bb_act_q8 act = bb_act_q8_view(blob, k, n);
    bb_act_q8_quantize_ref(x, x_stride, &act, 0, n);
    double *ref = malloc(m * n * sizeof(double)), *abs_ref = malloc(m * n * sizeof(double));
    tu_ref_gemm_double(&w, x, x_stride, &act, n, ref, abs_ref);

    for (size_t t = 0; t < n; t++)
        for (size_t r = 0; r < m; r++) {
            int64_t dot = exact_dot(p, &w, r, act.q + t * act.k_stride);
            float want;
            if (p->bits == 4) {
                assert_true(dot >= INT32_MIN && dot <= INT32_MAX);
                want = bb_rescale_i32((int32_t)dot, w.scales[r], act.scale[t]);
            } else {
                want = bb_rescale_i64(dot, w.scales[r], act.scale[t]);
            }
            float got = y[t * m + r];
            if (memcmp(&got, &want, sizeof got) != 0)
                fail_msg("pot%d m=%zu k=%zu n=%zu: y[t=%zu][r=%zu] = %a, expected %a (dot %lld)",
                         p->bits, m, k, n, t, r, (double)got, (double)want, (long long)dot);
            double u = 0x1p-24, exact = ref[t * m + r];
            double slack = (3 * u + 3 * u * u + u * u * u) * fabs(exact) +
                           (double)k * 0x1p-52 * abs_ref[t * m + r];
            if (!(fabs((double)got - exact) <= slack))
                fail_msg("pot%d m=%zu k=%zu n=%zu: y[t=%zu][r=%zu] = %a, double reference %a",
                         p->bits, m, k, n, t, r, (double)got, exact);
        }
    free(ref);
    free(abs_ref);
    bb_free(blob);
    bb_free(y);
    bb_weights_free(&w);
}

/* Weights with every kind of code: normal-ish values, exact zeros, and in odd rows an
 * outlier that pushes the small weights below pot4's range (to 0) and into the clip. */
static float *make_weights(size_t m, size_t k, uint64_t seed)
{
    float *w = malloc(m * k * sizeof(float));
    tu_fill_normalish(w, m * k, 0.02f, seed);
    for (size_t r = 0; r < m; r++) {
        for (size_t i = r; i < k; i += 7)
            w[r * k + i] = 0.0f;
        if (r % 2 == 1)
            w[r * k + (r * 37) % k] = -3.0f;
    }
    return w;
}

static void test_kernel_shapes(void **state)
{
    const pot_case *p = *state;
    const size_t ks[] = {129, 3200, 5460}; /* ragged: 5460 and 3200 are no multiple of 128 */
    {
        size_t x_stride;
        const float one = 0.75f;
        float *x = tu_make_x(1, 1, 5, &x_stride);
        check_kernel(p, &one, 1, 1, x, x_stride, 1);
        bb_free(x);
    }
    for (size_t c = 0; c < sizeof ks / sizeof ks[0]; c++)
        for (size_t m = 1; m <= 3; m++)
            for (size_t n = 1; n <= 3; n++) {
                size_t k = ks[c], x_stride;
                float *wf = make_weights(m, k, 1000 * c + 10 * m + n);
                float *x = tu_make_x(k, n, 77 + c, &x_stride);
                check_kernel(p, wf, m, k, x, x_stride, n);
                free(wf);
                bb_free(x);
            }
}

typedef int64_t (*pot_dot_fn)(const uint8_t *, const int8_t *, size_t);
static int64_t pot4_dot_widened(const uint8_t *w, const int8_t *q, size_t k)
{
    return bb_pot4_ref_dot(w, q, k);
}
static pot_dot_fn hot_dot(const pot_case *p)
{
    return p->bits == 4 ? pot4_dot_widened : p->bits == 5 ? bb_pot5_ref_dot : bb_pot6_ref_dot;
}

/* K = 65536 with every term at its largest: weights +-2^emax (all exponent 0, the largest
 * shift emax; amax 2^emax makes the row scale exactly 1) against activations +-127 (x =
 * +-127 makes the activation scale exactly 1).  The accumulator must be exactly
 * +-65536 * 127 * 2^emax, the bound of the overflow proof, and y = (float)acc, exact. */
static void test_kernel_extremes_k65536(void **state)
{
    const pot_case *p = *state;
    enum { M = 2, N = 2 };
    const size_t k = 65536;
    const float big = ldexpf(1.0f, p->emax);
    float *wf = malloc(M * k * sizeof(float));
    size_t x_stride = bb_k_stride(k);
    float *x = bb_alloc(N * x_stride * sizeof(float));
    for (size_t i = 0; i < k; i++) {
        wf[i] = big;
        wf[k + i] = -big;
        x[i] = 127.0f;
        x[x_stride + i] = -127.0f;
    }
    bb_weights w = quantized(p, wf, M, k);
    expect_scale(p, &w, 0, 1.0f);
    expect_scale(p, &w, 1, 1.0f);
    assert_int_equal(fmt(p)->get_code(&w, 1, k - 1), code_of(p, 1, 0));

    void *blob = bb_alloc(bb_act_q8_bytes(k, N));
    bb_act_q8 act = bb_act_q8_view(blob, k, N);
    bb_act_q8_quantize_ref(x, x_stride, &act, 0, N);
    assert_true(act.scale[0] == 1.0f && act.scale[1] == 1.0f);
    assert_int_equal(act.q[k - 1], 127);
    assert_int_equal(act.q[act.k_stride + k - 1], -127);

    const int64_t extreme = (int64_t)127 << (16 + p->emax); /* 65536 * 127 * 2^emax */
    float *y = tu_run_kernel(p->kernel, &w, x, x_stride, N);
    for (size_t t = 0; t < N; t++)
        for (size_t r = 0; r < M; r++) {
            int64_t want = (r == t) ? extreme : -extreme;
            int64_t acc = hot_dot(p)(w.data + r * w.row_bytes, act.q + t * act.k_stride, k);
            if (acc != want)
                fail_msg("pot%d row %zu token %zu: accumulator %lld, expected %lld", p->bits, r,
                         t, (long long)acc, (long long)want);
            assert_true(y[t * M + r] == (float)want);
        }
    if (p->bits == 4)
        assert_true(extreme < INT32_MAX);
    bb_free(y);
    bb_free(blob);
    bb_weights_free(&w);
    bb_free(x);
    free(wf);
}

/* The model for m = 3, k = 5, n = 2: activation quantization, one shift and one add per
 * weight-token pair, one rescale (1 cvt, 2 fp32 mul) per output, no multiply. */
static void test_opcount_model(void **state)
{
    const pot_case *p = *state;
    bb_opcount c, act;
    memset(&c, 0xff, sizeof c);
    fmt(p)->opcount(3, 5, 2, &c);
    bb_act_q8_opcount(5, 2, &act);
    assert_int_equal(c.shift, 30);
    assert_int_equal(c.int_add, 30 + act.int_add);
    assert_int_equal(c.int_mul, 0);
    assert_int_equal(c.cvt, 6 + act.cvt);
    assert_int_equal(c.fp32_mul, 12 + act.fp32_mul);
    assert_int_equal(c.fp32_div, act.fp32_div);
    assert_int_equal(c.fp32_cmp, act.fp32_cmp);
    assert_int_equal(c.int_cmp, act.int_cmp);
    assert_int_equal(c.fp16_add + c.fp16_mul + c.fp32_add, 0);
}

/* One cmocka case per format, named "<test> pot<b>" so that a failure names its format. */
#define POT_CASE(test, pot) {#test " " #pot, test, NULL, NULL, (void *)&pot}
#define FOR_EACH_POT(test) POT_CASE(test, POT4), POT_CASE(test, POT5), POT_CASE(test, POT6)

int main(void)
{
    const struct CMUnitTest tests[] = {
        FOR_EACH_POT(test_all_zero_row),
        FOR_EACH_POT(test_single_outlier),
        FOR_EACH_POT(test_exact_powers_of_two),
        FOR_EACH_POT(test_log_domain_midpoints),
        FOR_EACH_POT(test_rounding_any_amax),
        FOR_EACH_POT(test_zero_emax_boundary),
        FOR_EACH_POT(test_negative_values),
        FOR_EACH_POT(test_non_finite),
        FOR_EACH_POT(test_per_row_scales),
        FOR_EACH_POT(test_code_values),
        FOR_EACH_POT(test_code_round_trip),
        FOR_EACH_POT(test_block_layout_bytes),
        FOR_EACH_POT(test_kernel_entry),
        FOR_EACH_POT(test_kernel_shapes),
        FOR_EACH_POT(test_kernel_extremes_k65536),
        FOR_EACH_POT(test_opcount_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
