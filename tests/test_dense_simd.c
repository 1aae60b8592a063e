/* tests/test_dense_simd.c - the SIMD int8 activation quantizers (kernels/<arch>/act_q8_*.c)
 * bit for bit against bb_act_q8_quantize_ref, and the dense SIMD kernels' own layouts and
 * edge cases (the generic kernel-vs-reference sweep is tests/test_kernels.c).
 * Parts whose CPU features this host lacks are skipped, and say so. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <float.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ref/ref.h"
#include "testutil.h"
#if defined(__x86_64__)
#include "x86/act_q8_simd.h"
#elif defined(__aarch64__)
#include "arm/act_q8_neon.h"
#endif

#define JUNK 0x5a /* fills blobs beforehand, so every byte a quantizer owes (or must not touch) is compared */

typedef void (*quantize_fn)(const float *x, size_t x_stride, bb_act_q8 *a, size_t t0, size_t t1);

typedef struct simd_quantizer {
    const char *name;
    quantize_fn quantize;
    uint32_t needs;
} simd_quantizer;

/* This architecture's quantizers (each needs its ISA level's features). */
static const simd_quantizer quantizers[] = {
#if defined(__x86_64__)
    {"avx2", bb_act_q8_quantize_avx2, BB_ISA_MASK_AVX2},
    {"avx512", bb_act_q8_quantize_avx512, BB_ISA_MASK_AVX512},
#elif defined(__aarch64__)
    {"neon", bb_act_q8_quantize_neon, BB_ISA_MASK_NEON},
#endif
    {NULL, NULL, 0},
};
enum { N_QUANTIZERS = sizeof quantizers / sizeof quantizers[0] - 1 };

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

/* ------------------------------------------------------------------ dense kernels */

/* The SIMD kernels of the dense formats (fp16, int8) built for this architecture. */
static const bb_kernel *dense_kernels[32];
static size_t N_DENSE;

static void collect_dense_kernels(void)
{
    for (size_t i = 0; i < bb_kernel_count; i++) {
        const bb_kernel *kn = bb_kernels[i];
        if ((kn->format == BB_FMT_FP16 || kn->format == BB_FMT_INT8) && kn->isa != BB_ISA_SCALAR &&
            N_DENSE < sizeof dense_kernels / sizeof dense_kernels[0])
            dense_kernels[N_DENSE++] = kn;
    }
}

/* The kernel, or NULL (and a note) when this host cannot run it. */
static const bb_kernel *dense_kernel(size_t j)
{
    const bb_kernel *kn = dense_kernels[j];
    assert_non_null(kn);
    if (!bb_kernel_runnable(kn)) {
        printf("%s: skipped, this CPU lacks its features\n", kn->name);
        return NULL;
    }
    return kn;
}

/* Runs kn on (w, x) with gemm_rows called once per row range [0, split) and [split, m)
 * (any split, not only the harness's multiples of 16), into y (n x m, stride m), which
 * starts as NaN. */
static void run_split(const bb_kernel *kn, const bb_weights *w, const float *x, size_t x_stride,
                      size_t n, size_t split, float *y)
{
    void *layout = NULL, *act = NULL;
    if (kn->repack) {
        layout = bb_alloc(kn->layout_bytes(w));
        assert_non_null(layout);
        kn->repack(w, layout);
    }
    if (kn->act_bytes) {
        act = bb_alloc(kn->act_bytes(w->k, n));
        assert_non_null(act);
    }
    bb_gemm_args a = {.w = w, .layout = layout ? layout : w->data, .x = x, .x_stride = x_stride,
                      .y = y, .y_stride = w->m, .n = n, .act = act};
    memset(y, 0xff, w->m * n * sizeof(float)); /* NaN: an output the kernel skips fails */
    if (kn->prepare_act)
        kn->prepare_act(&a, 0, n);
    if (split > 0)
        kn->gemm_rows(&a, 0, split);
    if (split < w->m)
        kn->gemm_rows(&a, split, w->m);
    bb_free(layout);
    bb_free(act);
}

/* y of kernel kn against the reference kernel: bit-exact for int8, and for fp16 within
 * gamma_K sum|w x| (u = 2^-24) of the double product, plus the double's own rounding. */
static void expect_like_reference(const bb_kernel *kn, const bb_weights *w, const float *x,
                                  size_t x_stride, size_t n, const float *y)
{
    const bb_kernel *ref = bb_kernel_reference(w->format);
    float *want = tu_run_kernel(ref, w, x, x_stride, n);
    size_t m = w->m;
    if (w->format == BB_FMT_INT8) {
        for (size_t i = 0; i < m * n; i++)
            if (memcmp(&y[i], &want[i], sizeof(float)) != 0)
                fail_msg("%s m=%zu k=%zu n=%zu: y[token %zu][row %zu] = %a, reference %a", kn->name,
                         m, w->k, n, i / m, i % m, (double)y[i], (double)want[i]);
    } else {
        double *exact = malloc(m * n * sizeof(double)), *abs_sum = malloc(m * n * sizeof(double));
        assert_true(exact && abs_sum);
        tu_ref_gemm_double(w, x, x_stride, NULL, n, exact, abs_sum);
        double u = 0x1.0p-24, K = (double)w->k, gamma = K * u / (1.0 - K * u);
        for (size_t i = 0; i < m * n; i++) {
            double bound = gamma * abs_sum[i] + K * 0x1.0p-52 * abs_sum[i] + FLT_MIN;
            if (!(fabs((double)y[i] - exact[i]) <= bound)) /* NaN fails too */
                fail_msg("%s m=%zu k=%zu n=%zu: y[token %zu][row %zu] = %.9g, exact %.9g, bound %.3g",
                         kn->name, m, w->k, n, i / m, i % m, (double)y[i], exact[i], bound);
        }
        free(exact);
        free(abs_sum);
    }
    bb_free(want);
}

static void quantized(bb_format_id f, const float *w32, size_t m, size_t k, bb_weights *w)
{
    assert_int_equal(bb_weights_alloc(w, f, m, k), 0);
    bb_format_get(f)->quantize(w32, w);
}

/* Every row tail (m = 1 .. 9 against row tiles of 2 and 4), every token-tile remainder and
 * several token tiles (n = 1 .. 13 against tiles of 2, 3, 4, 6), ragged k, K slices (fp16
 * slices K by 1024 when n exceeds one token tile: k = 2500 gives two full slices and a
 * ragged one), and gemm_rows over row ranges that start anywhere. */
static void test_dense_kernels_tiles_and_tails(void **state)
{
    (void)state;
    const size_t ks[] = {1, 31, 65, 200, 2500};
    for (size_t j = 0; j < N_DENSE; j++) {
        const bb_kernel *kn = dense_kernel(j);
        if (!kn)
            continue;
        for (size_t c = 0; c < sizeof ks / sizeof ks[0]; c++)
            for (size_t m = 1; m <= 9; m++)
                for (size_t n = 1; n <= 13; n++) {
                    size_t k = ks[c], x_stride;
                    if (k > 200 && (m % 4 != 1 || n % 3 != 1))
                        continue; /* the large k only for a few shapes: the sanitized reference is slow */
                    float *w32 = malloc(m * k * sizeof(float));
                    assert_non_null(w32);
                    tu_fill_normalish(w32, m * k, 0.05f, 100 * c + 10 * m + n);
                    float *x = tu_make_x(k, n, 7 * c + m + 3 * n, &x_stride);
                    bb_weights w;
                    quantized(kn->format, w32, m, k, &w);
                    float *y = bb_alloc(m * n * sizeof(float));
                    run_split(kn, &w, x, x_stride, n, (m * 5) / 9, y);
                    expect_like_reference(kn, &w, x, x_stride, n, y);
                    bb_free(y);
                    bb_weights_free(&w);
                    bb_free(x);
                    free(w32);
                }
    }
}

/* Several cache blocks: 70 rows are two macro blocks (64 + a ragged 6) for kernels that
 * block rows by 32 or 64 (fp16 prefill converts each block to fp32 first), with n = 8 over
 * two token tiles and k = 1100 over two K slices; and n = 1, the 8-row decode tiles.  The
 * row ranges split at row 38, so blocks and tiles start off their grid. */
static void test_dense_kernels_macro_blocks(void **state)
{
    (void)state;
    const size_t m = 70, k = 1100, ns[] = {1, 8};
    float *w32 = malloc(m * k * sizeof(float));
    assert_non_null(w32);
    tu_fill_normalish(w32, m * k, 0.05f, 4242);
    for (size_t c = 0; c < sizeof ns / sizeof ns[0]; c++) {
        size_t n = ns[c], x_stride;
        float *x = tu_make_x(k, n, 99 + c, &x_stride);
        for (size_t j = 0; j < N_DENSE; j++) {
            const bb_kernel *kn = dense_kernel(j);
            if (!kn)
                continue;
            bb_weights w;
            quantized(kn->format, w32, m, k, &w);
            float *y = bb_alloc(m * n * sizeof(float));
            run_split(kn, &w, x, x_stride, n, 38, y);
            expect_like_reference(kn, &w, x, x_stride, n, y);
            bb_free(y);
            bb_weights_free(&w);
        }
        bb_free(x);
    }
    free(w32);
}

/* The fp16 "packed" prefill's blocking (fp16_packed.h): 200 rows are three macro blocks of
 * 96 rows (the last ragged, and not a whole number of 12- or 6-row groups), n = 300 is two
 * token passes of 256 + 44 (the last panel 12 of 32 or of 16 tokens: the narrower tile)
 * and n = 50 ends on a panel that needs the full tile on 18 real tokens; k = 600 is two K
 * slices (512 + 88).  The activations are packed in two token ranges, as two threads do
 * (harness/gemm_run.c), split off any panel boundary; rows split at 104. */
static void test_fp16_packed_blocks(void **state)
{
    (void)state;
    const size_t m = 200, k = 600, ns[] = {50, 300};
    float *w32 = malloc(m * k * sizeof(float));
    assert_non_null(w32);
    tu_fill_normalish(w32, m * k, 0.05f, 777);
    bb_weights w;
    quantized(BB_FMT_FP16, w32, m, k, &w);
    for (size_t c = 0; c < sizeof ns / sizeof ns[0]; c++) {
        size_t n = ns[c], x_stride;
        float *x = tu_make_x(k, n, 31 + c, &x_stride);
        for (size_t j = 0; j < N_DENSE; j++) {
            const bb_kernel *kn = dense_kernel(j);
            if (!kn || kn->format != BB_FMT_FP16 || !kn->prepare_act)
                continue;
            void *act = bb_alloc(kn->act_bytes(k, n));
            float *y = bb_alloc(m * n * sizeof(float));
            assert_true(act && y);
            memset(act, 0xff, kn->act_bytes(k, n)); /* NaN: padding the kernel must zero */
            memset(y, 0xff, m * n * sizeof(float));
            bb_gemm_args a = {.w = &w, .layout = w.data, .x = x, .x_stride = x_stride,
                              .y = y, .y_stride = m, .n = n, .act = act};
            kn->prepare_act(&a, 0, 19);
            kn->prepare_act(&a, 19, n);
            kn->gemm_rows(&a, 0, 104);
            kn->gemm_rows(&a, 104, m);
            expect_like_reference(kn, &w, x, x_stride, n, y);
            bb_free(y);
            bb_free(act);
        }
        bb_free(x);
    }
    bb_weights_free(&w);
    free(w32);
}

/* The offset layout of the VNNI kernels (x86: vpdpbusd takes unsigned bytes) is the
 * canonical bytes with the top bit flipped (q + 128), padding included (128): flipping it
 * back gives the canonical matrix.  Other kernels' layouts are theirs to test. */
static void test_int8_offset_layout_round_trip(void **state)
{
    (void)state;
    const size_t m = 3, k = 100;
    float *w32 = malloc(m * k * sizeof(float));
    assert_non_null(w32);
    tu_fill_normalish(w32, m * k, 1.0f, 5);
    w32[7] = 0.0f;
    bb_weights w;
    quantized(BB_FMT_INT8, w32, m, k, &w);
    for (size_t j = 0; j < N_DENSE; j++) {
        const bb_kernel *kn = dense_kernels[j];
        if (!kn->repack || kn->format != BB_FMT_INT8 || strcmp(kn->method, "vnni") != 0)
            continue;
        size_t bytes = kn->layout_bytes(&w);
        assert_int_equal(bytes, m * w.row_bytes);
        uint8_t *layout = bb_alloc(bytes);
        kn->repack(&w, layout);
        for (size_t r = 0; r < m; r++)
            for (size_t i = 0; i < w.k_padded; i++) {
                uint8_t b = layout[r * w.row_bytes + i];
                assert_int_equal((int8_t)(b ^ 0x80u), (int)bb_int8_get_code(&w, r, i) - 127);
                if (i >= k)
                    assert_int_equal(b, 128);
            }
        bb_free(layout);
    }
    bb_weights_free(&w);
    free(w32);
}

/* k = 70000 with every |q| = 127: the true dot products (+-127 * 127 * 70000 =
 * +-1129030000) fit in int32, but the offset kernels' biased sums (255 * 127 * 70000 =
 * 2266950000) do not: they wrap, and the correction must unwrap them exactly. */
static void test_int8_extreme_k_wraps_exactly(void **state)
{
    (void)state;
    const size_t m = 3, k = 70000, n = 2;
    float *w32 = malloc(m * k * sizeof(float));
    assert_non_null(w32);
    for (size_t i = 0; i < k; i++) {
        w32[i] = 1.0f;                          /* row 0: all +127 */
        w32[k + i] = -1.0f;                     /* row 1: all -127 */
        w32[2 * k + i] = i % 3 ? 1.0f : -1.0f;  /* row 2: mixed */
    }
    size_t x_stride = bb_k_stride(k);
    float *x = bb_alloc(n * x_stride * sizeof(float));
    for (size_t i = 0; i < k; i++) {
        x[i] = 2.0f;              /* token 0: all +127 */
        x[x_stride + i] = -0.5f;  /* token 1: all -127 */
    }
    bb_weights w;
    quantized(BB_FMT_INT8, w32, m, k, &w);
    const int32_t full = 127 * 127 * 70000;
    const float want00 = bb_rescale_i32(full, w.scales[0], 2.0f / 127.0f);
    const float want11 = bb_rescale_i32(full, w.scales[1], 0.5f / 127.0f);
    for (size_t j = 0; j < N_DENSE; j++) {
        const bb_kernel *kn = dense_kernel(j);
        if (!kn || kn->format != BB_FMT_INT8)
            continue;
        float *y = bb_alloc(m * n * sizeof(float));
        run_split(kn, &w, x, x_stride, n, 1, y);
        expect_like_reference(kn, &w, x, x_stride, n, y);
        assert_true(y[0] == want00 && y[1] == -want00 && y[m + 1] == want11);
        bb_free(y);
    }
    bb_weights_free(&w);
    bb_free(x);
    free(w32);
}

/* k one beyond the int32-safe limit (133144): every int8 kernel refuses the shape (exits
 * with SIGABRT and a message) instead of computing it wrongly.  Run in a child process. */
static void test_int8_refuses_k_beyond_int32_bound(void **state)
{
    (void)state;
    const size_t k = 133145, n = 1;
    bb_weights w;
    assert_int_equal(bb_weights_alloc(&w, BB_FMT_INT8, 1, k), 0);
    bb_weights_fill_zero(&w);
    size_t x_stride = bb_k_stride(k);
    float *x = bb_alloc(x_stride * sizeof(float));
    for (size_t j = 0; j < N_DENSE; j++) {
        const bb_kernel *kn = dense_kernel(j);
        if (!kn || kn->format != BB_FMT_INT8)
            continue;
        fflush(NULL);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            float *y = bb_alloc(sizeof(float));
            run_split(kn, &w, x, x_stride, n, 0, y);
            _exit(0); /* computed: the test fails below */
        }
        int status = 0;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGABRT)
            fail_msg("%s computed k = %zu instead of refusing it", kn->name, k);
    }
    bb_free(x);
    bb_weights_free(&w);
}

int main(void)
{
    collect_dense_kernels();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_act_q8_ragged_k),
        cmocka_unit_test(test_act_q8_halfway_ties),
        cmocka_unit_test(test_act_q8_outliers),
        cmocka_unit_test(test_act_q8_zero_tokens_and_ranges),
        cmocka_unit_test(test_act_q8_reads_only_k_values),
        cmocka_unit_test(test_dense_kernels_tiles_and_tails),
        cmocka_unit_test(test_dense_kernels_macro_blocks),
        cmocka_unit_test(test_fp16_packed_blocks),
        cmocka_unit_test(test_int8_offset_layout_round_trip),
        cmocka_unit_test(test_int8_extreme_k_wraps_exactly),
        cmocka_unit_test(test_int8_refuses_k_beyond_int32_bound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
