/* tests/test_ternary.c - the BitNet b1.58 ternary formats tern2 and tern1.6
 * (kernels/ref/ternary.c): the absmean quantizer against hand-computed examples, both
 * packings against an independent model of the layouts in this file, and the reference
 * kernels against an exact integer dot product and the double-precision reference. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ref/ref.h"
#include "testutil.h"
#include "refcheck.h"

/* The layouts, restated from layouts.md so that the library is checked against the
 * contract, not against itself. */
enum { CODE_NEG = 0, CODE_ZERO = 1, CODE_POS = 2 };
enum { BLOCK_BYTES = 64, TERN2_BLOCK = 256, TERN1_6_BLOCK = 320, TRITS = 5 };

static const bb_format_id FORMATS[] = {BB_FMT_TERN2, BB_FMT_TERN1_6};
#define N_FORMATS (sizeof FORMATS / sizeof FORMATS[0])

static size_t block_of(bb_format_id f) { return f == BB_FMT_TERN2 ? TERN2_BLOCK : TERN1_6_BLOCK; }

static bb_weights quantized(bb_format_id f, const float *w, size_t m, size_t k)
{
    bb_weights q;
    assert_int_equal(bb_weights_alloc(&q, f, m, k), 0);
    bb_format_get(f)->quantize(w, &q);
    return q;
}

static uint32_t float_bits(float v)
{
    uint32_t b;
    memcpy(&b, &v, sizeof b);
    return b;
}

/* Every code of q, padding included, must be codes[r * k + i] (the zero code beyond k). */
static void expect_codes(const bb_weights *q, const uint8_t *codes)
{
    const bb_format *f = bb_format_get(q->format);
    for (size_t r = 0; r < q->m; r++)
        for (size_t i = 0; i < q->k_padded; i++) {
            uint32_t want = i < q->k ? codes[r * q->k + i] : CODE_ZERO;
            uint32_t got = f->get_code(q, r, i);
            if (got != want)
                fail_msg("%s: code (%zu, %zu) = %u, expected %u", f->name, r, i, got, want);
        }
}

/* ------------------------------------------------------------------ quantizer */

static void test_quantize_all_zero(void **state)
{
    (void)state;
    enum { M = 3, K = 333 }; /* ragged for both blocks: 256 + 77, 320 + 13 */
    float *w = calloc(M * K, sizeof *w);
    uint8_t *codes = malloc(M * K);
    assert_non_null(w);
    assert_non_null(codes);
    w[5] = -0.0f; /* still zero */
    memset(codes, CODE_ZERO, M * K);
    for (size_t f = 0; f < N_FORMATS; f++) {
        bb_weights q = quantized(FORMATS[f], w, M, K);
        assert_int_equal(q.n_scales, 1);
        assert_int_equal(float_bits(q.scales[0]), float_bits(0.0f)); /* gamma = +0 */
        expect_codes(&q, codes);
        bb_weights_free(&q);
    }
    free(w);
    free(codes);
}

static void test_quantize_huge_outlier(void **state)
{
    (void)state;
    /* 2 x 500 = 1000 weights: 997 of +-0.5, 600, -400 and one -1e6.
     * gamma = (997 * 0.5 + 600 + 400 + 1e6) / 1000 = 1001498.5 / 1000 = 1001.4985.
     * -1e6 / gamma = -998.5 -> clip -1; 600 / gamma = 0.599 -> 1; 400 / gamma = 0.399 -> 0;
     * 0.5 / gamma = 0.0005 -> 0.  Without the outlier 600 and 400 would both be +-1. */
    enum { M = 2, K = 500, N_W = M * K };
    float w[N_W];
    uint8_t codes[N_W];
    for (int i = 0; i < N_W; i++) {
        w[i] = i % 2 ? -0.5f : 0.5f;
        codes[i] = CODE_ZERO;
    }
    w[3] = 600.0f, codes[3] = CODE_POS;
    w[4] = -400.0f;
    w[777] = -1e6f, codes[777] = CODE_NEG;
    for (size_t f = 0; f < N_FORMATS; f++) {
        bb_weights q = quantized(FORMATS[f], w, M, K);
        assert_int_equal(float_bits(q.scales[0]), float_bits(1001.4985f));
        expect_codes(&q, codes);
        bb_weights_free(&q);
    }
}

static void test_quantize_halfway_ties_to_even(void **state)
{
    (void)state;
    /* Exact ties need w / (gamma + 1e-5) to be exactly +-0.5 or +-1.5 in double, so gamma
     * is made large enough to swallow eps: the spacing of doubles near 2^40 is 2^-12, so
     * (double)2^40 + 1e-5 rounds back to 2^40.  Row [G/2, -G/2, 3G/2, -3G/2] with
     * G = 2^40 has mean |w| = 4G / 4 = G.  Half to even: +-0.5 -> 0, +-1.5 -> +-2 -> clip
     * +-1.  (Half away from zero would give +-1 for +-0.5.) */
    const float G = 0x1p40f;
    const float w[] = {G / 2, -G / 2, 3 * G / 2, -3 * G / 2};
    const uint8_t codes[] = {CODE_ZERO, CODE_ZERO, CODE_POS, CODE_NEG};
    for (size_t f = 0; f < N_FORMATS; f++) {
        bb_weights q = quantized(FORMATS[f], w, 1, 4);
        assert_int_equal(float_bits(q.scales[0]), float_bits(G));
        expect_codes(&q, codes);
        bb_weights_free(&q);
    }
}

static void test_quantize_eps_tips_a_near_tie(void **state)
{
    (void)state;
    /* d = 2^-18 (exact in float).  Row [0.5 + d, 1.5 - d, -(0.5 + d), -(1.5 - d)]: the
     * sum of |w| is exactly 4, gamma = 1.  (0.5 + d) / (1 + 1e-5) = 0.4999988 -> 0, where
     * without eps 0.5000038 would give 1; (1.5 - d) / (1 + 1e-5) = 1.49998 -> 1. */
    const float d = 0x1p-18f;
    const float w[] = {0.5f + d, 1.5f - d, -(0.5f + d), -(1.5f - d)};
    const uint8_t codes[] = {CODE_ZERO, CODE_POS, CODE_ZERO, CODE_NEG};
    for (size_t f = 0; f < N_FORMATS; f++) {
        bb_weights q = quantized(FORMATS[f], w, 1, 4);
        assert_int_equal(float_bits(q.scales[0]), float_bits(1.0f));
        expect_codes(&q, codes);
        bb_weights_free(&q);
    }
}

static void test_quantize_gamma_over_whole_matrix(void **state)
{
    (void)state;
    /* Rows [1, -1, 1, -1] and [5, 5, -5, 5]: gamma = (4 + 20) / 8 = 3 for the matrix, so
     * row 0 (1 / 3 -> 0) becomes all zeros and row 1 (5 / 3 = 1.67 -> 2 -> clip 1) +-1.
     * A per-row gamma (1 and 5) would make every weight of both rows +-1. */
    const float w[] = {1, -1, 1, -1, 5, 5, -5, 5};
    const uint8_t codes[] = {CODE_ZERO, CODE_ZERO, CODE_ZERO, CODE_ZERO,
                             CODE_POS,  CODE_POS,  CODE_NEG,  CODE_POS};
    for (size_t f = 0; f < N_FORMATS; f++) {
        bb_weights q = quantized(FORMATS[f], w, 2, 4);
        assert_int_equal(q.n_scales, 1);
        assert_int_equal(float_bits(q.scales[0]), float_bits(3.0f));
        assert_true(bb_weight_value(&q, 1, 2) == -3.0); /* dequantized: gamma * (-1) */
        expect_codes(&q, codes);
        bb_weights_free(&q);
    }
}

/* ------------------------------------------------------------------ layouts */

/* A row of codes packed by this file's reading of layouts.md (not the library's code). */
static void model_pack_row(bb_format_id f, const uint8_t *codes, size_t k_padded, uint8_t *out)
{
    size_t block = block_of(f);
    for (size_t b0 = 0; b0 < k_padded; b0 += block, out += BLOCK_BYTES)
        for (size_t j = 0; j < BLOCK_BYTES; j++) {
            unsigned byte = 0, n = 0;
            if (f == BB_FMT_TERN2) {
                for (unsigned i = 0; i < 4; i++)
                    byte |= (unsigned)codes[b0 + j + 64 * i] << (2 * i);
            } else {
                for (unsigned t = 0; t < TRITS; t++)
                    n = 3 * n + codes[b0 + j + 64 * t];
                byte = (n * 256 + 242) / 243; /* ceil(n * 256 / 243) */
            }
            out[j] = (uint8_t)byte;
        }
}

static void test_set_get_every_code_at_every_position(void **state)
{
    (void)state;
    for (size_t f = 0; f < N_FORMATS; f++) {
        const bb_format *fmt = bb_format_get(FORMATS[f]);
        size_t k = block_of(FORMATS[f]) + 37; /* the second block is padded */
        bb_weights q;
        assert_int_equal(bb_weights_alloc(&q, FORMATS[f], 2, k), 0);
        uint8_t *codes = malloc(q.k_padded), *bytes = malloc(q.row_bytes);
        assert_non_null(codes);
        assert_non_null(bytes);
        /* Every position of row 1, padding included: each code alone among zero codes. */
        for (size_t p = 0; p < q.k_padded; p++)
            for (uint32_t c = 0; c < fmt->n_codes; c++) {
                bb_weights_fill_zero(&q);
                fmt->set_code(&q, 1, p, c);
                memset(codes, CODE_ZERO, q.k_padded);
                codes[p] = (uint8_t)c;
                model_pack_row(FORMATS[f], codes, q.k_padded, bytes);
                if (memcmp(q.data + q.row_bytes, bytes, q.row_bytes) != 0)
                    fail_msg("%s: code %u at %zu: packed row differs from the layout", fmt->name,
                             c, p);
                for (size_t i = 0; i < q.k_padded; i++) {
                    assert_int_equal(fmt->get_code(&q, 0, i), CODE_ZERO); /* row 0 untouched */
                    assert_int_equal(fmt->get_code(&q, 1, i), codes[i]);
                }
            }
        /* Overwriting: a code set over another code replaces it, neighbours intact. */
        for (size_t p = 0; p < q.k_padded; p++)
            fmt->set_code(&q, 0, p, (uint32_t)(p % 3));
        for (size_t p = 0; p < q.k_padded; p++)
            fmt->set_code(&q, 0, p, (uint32_t)((p + 1) % 3));
        for (size_t p = 0; p < q.k_padded; p++)
            assert_int_equal(fmt->get_code(&q, 0, p), (p + 1) % 3);
        free(codes);
        free(bytes);
        bb_weights_free(&q);
    }
}

static void test_quantize_packs_the_layout(void **state)
{
    (void)state;
    /* A ragged 3 x 700 matrix with all three codes: quantize must write the bytes of
     * layouts.md, zero codes in the padding included. */
    enum { M = 3, K = 700 };
    float *w = malloc(M * K * sizeof *w);
    assert_non_null(w);
    tu_fill_normalish(w, M * K, 1.0f, 11);
    for (size_t f = 0; f < N_FORMATS; f++) {
        bb_weights q = quantized(FORMATS[f], w, M, K);
        uint8_t *codes = malloc(q.k_padded), *bytes = malloc(q.row_bytes);
        assert_non_null(codes);
        assert_non_null(bytes);
        double gamma = 0;
        for (size_t i = 0; i < M * K; i++)
            gamma += fabs((double)w[i]);
        gamma = (float)(gamma / (M * K));
        for (size_t r = 0; r < M; r++) {
            for (size_t i = 0; i < q.k_padded; i++) {
                double x = i < K ? rint(w[r * K + i] / (gamma + 1e-5)) : 0;
                codes[i] = (uint8_t)(x > 0 ? CODE_POS : x < 0 ? CODE_NEG : CODE_ZERO);
            }
            model_pack_row(FORMATS[f], codes, q.k_padded, bytes);
            assert_memory_equal(q.data + r * q.row_bytes, bytes, q.row_bytes);
        }
        free(codes);
        free(bytes);
        bb_weights_free(&q);
    }
    free(w);
}

static void trits_of(unsigned n, unsigned c[TRITS])
{
    for (int t = TRITS - 1; t >= 0; t--, n /= 3)
        c[t] = n % 3;
}

static void test_tern1_6_decode_all_243(void **state)
{
    (void)state;
    static const unsigned pow3[TRITS] = {1, 3, 9, 27, 81};
    bb_weights q;
    assert_int_equal(bb_weights_alloc(&q, BB_FMT_TERN1_6, 1, TERN1_6_BLOCK), 0);
    bb_weights_fill_zero(&q);
    const bb_format *fmt = bb_format_get(BB_FMT_TERN1_6);
    unsigned floor_decode_errors = 0;
    for (unsigned n = 0; n < 243; n++) {
        unsigned c[TRITS];
        trits_of(n, c);
        uint8_t byte = (uint8_t)((n * 256 + 242) / 243);
        uint8_t truncated = (uint8_t)(n * 256 / 243);
        for (unsigned t = 0; t < TRITS; t++) {
            /* The decode of layouts.md, as a SIMD kernel will do it. */
            uint8_t v = (uint8_t)(byte * pow3[t]);
            assert_int_equal((v * 3u) >> 8, c[t]);
            uint8_t vt = (uint8_t)(truncated * pow3[t]);
            floor_decode_errors += ((vt * 3u) >> 8) != c[t];
        }
        /* The library: byte j = n % 64 of the block, weights j + 64 t. */
        size_t j = n % BLOCK_BYTES;
        for (unsigned t = 0; t < TRITS; t++)
            fmt->set_code(&q, 0, j + 64 * t, c[t]);
        assert_int_equal(q.data[j], byte);
        for (unsigned t = 0; t < TRITS; t++)
            assert_int_equal(fmt->get_code(&q, 0, j + 64 * t), c[t]);
    }
    /* Why the encoding rounds up: truncating instead would misread some trits. */
    assert_true(floor_decode_errors > 0);
    bb_weights_free(&q);
}

/* ------------------------------------------------------------------ reference kernels */

static void *quantize_act(const float *x, size_t x_stride, size_t k, size_t n, bb_act_q8 *act)
{
    void *blob = bb_alloc(bb_act_q8_bytes(k, n));
    assert_non_null(blob);
    *act = bb_act_q8_view(blob, k, n);
    bb_act_q8_quantize_ref(x, x_stride, act, 0, n);
    return blob;
}

/* The exact integer dot of row r and token t: sum of (code - 1) * q_x, in int64. */
static int64_t exact_dot(const bb_weights *q, const bb_act_q8 *act, size_t r, size_t t,
                         size_t seen[3])
{
    const bb_format *fmt = bb_format_get(q->format);
    int64_t acc = 0;
    for (size_t i = 0; i < q->k; i++) {
        uint32_t c = fmt->get_code(q, r, i);
        seen[c]++;
        acc += ((int64_t)c - 1) * act->q[t * act->k_stride + i];
    }
    return acc;
}

/* y must be bb_rescale_i32 of the exact dot bit for bit, and within the rescale's two
 * float roundings (relative 2^-24 each; (float)acc is exact as |acc| < 2^24 here) of the
 * double-precision product of the dequantized operands, whose own rounding is bounded by
 * k * 2^-52 of sum |w x|. */
static void check_kernel_shape(bb_format_id f, size_t m, size_t k, size_t n, uint64_t seed)
{
    const bb_kernel *kn = bb_kernel_reference(f);
    float *w = malloc(m * k * sizeof *w);
    double *ref = malloc(m * n * sizeof *ref), *abs_ref = malloc(m * n * sizeof *abs_ref);
    assert_non_null(w);
    assert_non_null(ref);
    assert_non_null(abs_ref);
    tu_fill_normalish(w, m * k, 0.02f, seed);
    bb_weights q = quantized(f, w, m, k);
    size_t x_stride;
    float *x = tu_make_x(k, n, seed + 100, &x_stride);
    bb_act_q8 act;
    void *blob = quantize_act(x, x_stride, k, n, &act);
    float *y = tu_run_kernel(kn, &q, x, x_stride, n);
    tu_ref_gemm_double(&q, x, x_stride, &act, n, ref, abs_ref);
    size_t seen[3] = {0};
    for (size_t t = 0; t < n; t++)
        for (size_t r = 0; r < m; r++) {
            int64_t acc = exact_dot(&q, &act, r, t, seen);
            assert_true(llabs(acc) < (1ll << 24));
            float want = bb_rescale_i32((int32_t)acc, q.scales[0], act.scale[t]);
            float got = y[t * m + r];
            if (float_bits(got) != float_bits(want))
                fail_msg("%s m=%zu k=%zu n=%zu: y[%zu][%zu] = %a, exact dot %lld gives %a",
                         kn->name, m, k, n, t, r, (double)got, (long long)acc, (double)want);
            double e = ref[t * m + r];
            double bound = 0x1.01p-23 * fabs(e) + (double)k * 0x1p-52 * abs_ref[t * m + r];
            if (fabs((double)got - e) > bound)
                fail_msg("%s m=%zu k=%zu n=%zu: y[%zu][%zu] = %.9g, double reference %.9g",
                         kn->name, m, k, n, t, r, (double)got, e);
        }
    /* Not vacuous: with k of a few hundred and more, every code occurs. */
    if (m * k >= 200)
        assert_true(seen[CODE_NEG] > 0 && seen[CODE_ZERO] > 0 && seen[CODE_POS] > 0);
    bb_free(y);
    bb_free(blob);
    bb_free(x);
    bb_weights_free(&q);
    free(w);
    free(ref);
    free(abs_ref);
}

static void test_reference_kernels_exact(void **state)
{
    (void)state;
    /* 1: the smallest shape; 63/64/65: around a byte lane; 256/257, 320/321: around each
     * block; 3200 and 5460: the FFN widths of the 3B and 1.3B models (ragged). */
    static const size_t ks[] = {1, 63, 64, 65, 256, 257, 320, 321, 3200, 5460};
    for (size_t f = 0; f < N_FORMATS; f++)
        for (size_t ki = 0; ki < sizeof ks / sizeof ks[0]; ki++)
            for (size_t m = 1; m <= 3; m++)
                for (size_t n = 1; n <= 3; n++)
                    check_kernel_shape(FORMATS[f], m, ks[ki], n, 1000 * ki + 10 * m + n);
}

static void test_large_k_extremes(void **state)
{
    (void)state;
    /* k = 65536, rows all +1 and all -1 (gamma = 1, each quantizes to +-1), tokens all
     * +1.0 and all -1.0 (each quantizes to +-127).  Every dot is +-65536 * 127 =
     * +-8 323 072: below 2^31 = 2 147 483 648 (the int32 accumulator is exact with room
     * for 258x more), even below 2^23, so (float)acc in the rescale is exact too. */
    enum { M = 2, K = 65536, N = 2 };
    const int64_t extreme = (int64_t)K * 127;
    assert_true(extreme < INT32_MAX);
    float *w = malloc(M * K * sizeof *w);
    assert_non_null(w);
    for (size_t i = 0; i < K; i++)
        w[i] = 1.0f, w[K + i] = -1.0f;
    size_t x_stride = bb_k_stride(K);
    float *x = bb_alloc(N * x_stride * sizeof *x);
    assert_non_null(x);
    for (size_t i = 0; i < K; i++)
        x[i] = 1.0f, x[x_stride + i] = -1.0f;
    for (size_t f = 0; f < N_FORMATS; f++) {
        bb_weights q = quantized(FORMATS[f], w, M, K);
        assert_int_equal(float_bits(q.scales[0]), float_bits(1.0f));
        bb_act_q8 act;
        void *blob = quantize_act(x, x_stride, K, N, &act);
        assert_int_equal(act.q[0], 127);
        assert_int_equal(act.q[act.k_stride + K - 1], -127);
        float *y = tu_run_kernel(bb_kernel_reference(FORMATS[f]), &q, x, x_stride, N);
        for (size_t t = 0; t < N; t++)
            for (size_t r = 0; r < M; r++) {
                int64_t acc = (r == t) ? extreme : -extreme; /* (+1)(+1), (-1)(-1) */
                float want = bb_rescale_i32((int32_t)acc, 1.0f, act.scale[t]);
                assert_int_equal(float_bits(y[t * M + r]), float_bits(want));
            }
        bb_free(y);
        bb_free(blob);
        bb_weights_free(&q);
    }
    bb_free(x);
    free(w);
}

static void test_gemm_rows_writes_only_its_rows(void **state)
{
    (void)state;
    enum { M = 3, K = 300, N = 2 };
    float w[M * K];
    tu_fill_normalish(w, M * K, 1.0f, 5);
    size_t x_stride;
    float *x = tu_make_x(K, N, 6, &x_stride);
    for (size_t f = 0; f < N_FORMATS; f++) {
        const bb_kernel *kn = bb_kernel_reference(FORMATS[f]);
        bb_weights q = quantized(FORMATS[f], w, M, K);
        float *full = tu_run_kernel(kn, &q, x, x_stride, N);
        float y[M * N];
        for (size_t i = 0; i < M * N; i++)
            y[i] = NAN;
        void *act = bb_alloc(kn->act_bytes(K, N));
        bb_gemm_args a = {.w = &q, .layout = q.data, .x = x, .x_stride = x_stride, .y = y,
                          .y_stride = M, .n = N, .act = act};
        kn->prepare_act(&a, 0, N);
        kn->gemm_rows(&a, 1, 2);
        for (size_t t = 0; t < N; t++)
            for (size_t r = 0; r < M; r++) {
                if (r == 1)
                    assert_int_equal(float_bits(y[t * M + r]), float_bits(full[t * M + r]));
                else
                    assert_true(isnan(y[t * M + r]));
            }
        bb_free(act);
        bb_free(full);
        bb_weights_free(&q);
    }
    bb_free(x);
}

/* ------------------------------------------------------------------ tables */

static void test_format_and_kernel_entries(void **state)
{
    (void)state;
    static const char *const impl[] = {"tern2-scalar-ref", "tern1.6-scalar-ref"};
    static const char *const hot[] = {"bb_tern2_scalar_ref_dot", "bb_tern1_6_scalar_ref_dot"};
    for (size_t f = 0; f < N_FORMATS; f++) {
        const bb_format *fmt = bb_format_get(FORMATS[f]);
        assert_int_equal(fmt->block, block_of(FORMATS[f]));
        assert_int_equal(fmt->block_bytes, BLOCK_BYTES);
        assert_int_equal(fmt->n_codes, 3);
        assert_int_equal(fmt->zero_code, CODE_ZERO);
        assert_int_equal(fmt->act, BB_ACT_Q8);
        assert_int_equal(fmt->scale, BB_SCALE_PER_MATRIX);
        assert_true(fmt->code_value(CODE_NEG) == -1.0 && fmt->code_value(CODE_ZERO) == 0.0 &&
                    fmt->code_value(CODE_POS) == 1.0);

        const bb_kernel *kn = bb_kernel_find_exact(impl[f]);
        assert_non_null(kn);
        tu_assert_int8_act_reference(kn, FORMATS[f], hot[f]);
        assert_non_null(bb_kernel_find_best(fmt->name));
    }
}

/* Bits per weight from the layout: m rows of ceil(k / block) 64-byte blocks, plus one
 * float scale for the whole matrix. */
static double layout_bits_per_weight(size_t block, double m, double k)
{
    double blocks_per_row = ceil(k / (double)block);
    return (m * blocks_per_row * BLOCK_BYTES * 8 + 32) / (m * k);
}

static void test_bits_per_weight(void **state)
{
    (void)state;
    /* 4096 x 4096: tern2 is exactly 2 bits plus the scale; tern1.6 pads 4096 to 13 blocks
     * of 320 (4160 weights, 832 bytes per row): 832 * 8 / 4096 = 1.625 plus the scale. */
    const double scale_bits = 32.0 / (4096.0 * 4096.0);
    assert_true(fabs(bb_bits_per_weight(BB_FMT_TERN2, 4096, 4096) - (2 + scale_bits)) < 1e-12);
    assert_true(fabs(bb_bits_per_weight(BB_FMT_TERN1_6, 4096, 4096) - (1.625 + scale_bits)) <
                1e-12);
    static const size_t shapes[][2] = {{4096, 4096}, {5460, 3200}, {3200, 5460}, {1, 1}, {7, 321}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (size_t f = 0; f < N_FORMATS; f++) {
            double m = (double)shapes[s][0], k = (double)shapes[s][1];
            double want = layout_bits_per_weight(block_of(FORMATS[f]), m, k);
            double got = bb_bits_per_weight(FORMATS[f], shapes[s][0], shapes[s][1]);
            if (fabs(got - want) > 1e-12 * want)
                fail_msg("format %d, %zu x %zu: %.15g bits per weight, layout says %.15g",
                         FORMATS[f], shapes[s][0], shapes[s][1], got, want);
        }
}

static void test_opcount_model(void **state)
{
    (void)state;
    /* m = 3, k = 7, n = 2: the activation quantization of 2 tokens of 7 values, plus one
     * add per weight per token (42) and, per output (6), 1 cvt and 2 fp32_mul. */
    for (size_t f = 0; f < N_FORMATS; f++) {
        bb_opcount got, act;
        memset(&got, 0xff, sizeof got);
        bb_format_get(FORMATS[f])->opcount(3, 7, 2, &got);
        bb_act_q8_opcount(7, 2, &act);
        assert_int_equal(got.int_add, act.int_add + 42);
        assert_int_equal(got.cvt, act.cvt + 6);
        assert_int_equal(got.fp32_mul, act.fp32_mul + 12);
        assert_int_equal(got.int_mul, 0);
        assert_int_equal(got.shift, 0);
        assert_int_equal(got.int_cmp, act.int_cmp);
        assert_int_equal(got.fp32_cmp, act.fp32_cmp);
        assert_int_equal(got.fp32_div, act.fp32_div);
        assert_int_equal(got.fp32_add + got.fp16_add + got.fp16_mul, 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quantize_all_zero),
        cmocka_unit_test(test_quantize_huge_outlier),
        cmocka_unit_test(test_quantize_halfway_ties_to_even),
        cmocka_unit_test(test_quantize_eps_tips_a_near_tie),
        cmocka_unit_test(test_quantize_gamma_over_whole_matrix),
        cmocka_unit_test(test_set_get_every_code_at_every_position),
        cmocka_unit_test(test_quantize_packs_the_layout),
        cmocka_unit_test(test_tern1_6_decode_all_243),
        cmocka_unit_test(test_reference_kernels_exact),
        cmocka_unit_test(test_large_k_extremes),
        cmocka_unit_test(test_gemm_rows_writes_only_its_rows),
        cmocka_unit_test(test_format_and_kernel_entries),
        cmocka_unit_test(test_bits_per_weight),
        cmocka_unit_test(test_opcount_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
