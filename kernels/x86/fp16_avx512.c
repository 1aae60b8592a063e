/*
 * kernels/x86/fp16_avx512.c - fp16 weights, fp32 activations and accumulation, AVX-512:
 * "fp16-avx512-fma".  Canonical layout (no repack).
 *
 * vcvtph2ps widens 16 halves to 16 floats exactly; vfmadd231ps accumulates in fp32.
 * Register blocking (dense_tiles.h): 4 rows x up to 6 tokens, 24 zmm accumulators; per
 * 16-weight column step, 4 conversions and 6 activation loads feed 24 FMAs, so the
 * conversion cost is shared by all tokens of a tile.  Decode (n = 1) runs 4 x 1 tiles with
 * a software prefetch (below).
 *
 * Accuracy: the sum is taken in another order than the reference's (16 lane partial sums,
 * then a tree) and with FMA (one rounding per multiply-add instead of two).  Both stay
 * inside the bound the suite holds fp16 to, |y - exact| <= gamma_K sum_i |w_i x_i| with
 * gamma_K = K u / (1 - K u), u = 2^-24 (Higham eq. 3.5 holds for any summation order, and
 * an FMA only removes roundings).  Native fp16 arithmetic (AVX512-FP16) cannot meet it:
 * see fp16_avx512fp16.c.
 */
#include "dense_tiles.h"
#include "list_dense.h"

#include <immintrin.h>

enum { ROWS = 4, TOKENS = 6, LANES = 16, K_SLICE = 1024 };
/* Decode streams R rows at once, R separate streams for the hardware prefetcher, which
 * then falls short of the one-stream read ceiling (measured here: about 78% of it
 * without, 90% with a software prefetch 1 KiB ahead in each row; 512 B and 2-4 KiB were
 * no better). */
enum { DECODE_PREFETCH = 1024 };

/* Lane j of the result: the sum of the 16 lanes of v[j]. */
static inline __m128 reduce4_ps(__m512 v0, __m512 v1, __m512 v2, __m512 v3)
{
    __m512 s01 = _mm512_add_ps(_mm512_unpacklo_ps(v0, v1), _mm512_unpackhi_ps(v0, v1));
    __m512 s23 = _mm512_add_ps(_mm512_unpacklo_ps(v2, v3), _mm512_unpackhi_ps(v2, v3));
    __m512d lo = _mm512_unpacklo_pd(_mm512_castps_pd(s01), _mm512_castps_pd(s23));
    __m512d hi = _mm512_unpackhi_pd(_mm512_castps_pd(s01), _mm512_castps_pd(s23));
    __m512 s = _mm512_add_ps(_mm512_castpd_ps(lo), _mm512_castpd_ps(hi));
    __m256 h = _mm256_add_ps(_mm512_castps512_ps256(s),
                             _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(s), 1)));
    return _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
}

static inline __attribute__((always_inline)) void fma_tile(const bb_gemm_args *a, size_t r,
                                                           size_t t, size_t k0, size_t k1,
                                                           const int R, const int T)
{
    const bb_weights *w = a->w;
    const uint8_t *wr = (const uint8_t *)a->layout + r * w->row_bytes;
    const float *xt = a->x + t * a->x_stride;
    __m512 acc[ROWS][TOKENS];

#pragma GCC unroll 8
    for (int i = 0; i < R; i++)
#pragma GCC unroll 8
        for (int j = 0; j < T; j++)
            acc[i][j] = _mm512_setzero_ps();
    for (size_t c = k0 / LANES; c < k1 / LANES; c++) {
        if (T == 1 && c % 2 == 0) /* one prefetch per 64-byte line of each row */
#pragma GCC unroll 8
            for (int i = 0; i < R; i++)
                _mm_prefetch((const char *)(wr + i * w->row_bytes + c * 32 + DECODE_PREFETCH),
                             _MM_HINT_T0);
        __m512 xv[TOKENS];
#pragma GCC unroll 8
        for (int j = 0; j < T; j++)
            xv[j] = _mm512_loadu_ps(xt + j * a->x_stride + c * LANES);
#pragma GCC unroll 8
        for (int i = 0; i < R; i++) {
            const __m256i *half = (const __m256i *)(wr + i * w->row_bytes) + c;
            __m512 wv = _mm512_cvtph_ps(_mm256_loadu_si256(half));
#pragma GCC unroll 8
            for (int j = 0; j < T; j++)
                acc[i][j] = _mm512_fmadd_ps(wv, xv[j], acc[i][j]);
        }
    }

    /* The first K slice stores, the others add (dense_tiles.h). */
#pragma GCC unroll 8
    for (int j = 0; j < T; j++) {
        float *y = a->y + (t + j) * a->y_stride + r;
        if (R == ROWS) {
            __m128 sum = reduce4_ps(acc[0][j], acc[1][j], acc[2][j], acc[3][j]);
            _mm_storeu_ps(y, k0 == 0 ? sum : _mm_add_ps(_mm_loadu_ps(y), sum));
        } else {
#pragma GCC unroll 8
            for (int i = 0; i < R; i++) {
                float sum = _mm512_reduce_add_ps(acc[i][j]);
                y[i] = k0 == 0 ? sum : y[i] + sum;
            }
        }
    }
}

DENSE_TILE_FN(fma_4x1, fma_tile, 4, 1)
DENSE_TILE_FN(fma_4x2, fma_tile, 4, 2)
DENSE_TILE_FN(fma_4x3, fma_tile, 4, 3)
DENSE_TILE_FN(fma_4x4, fma_tile, 4, 4)
DENSE_TILE_FN(fma_4x5, fma_tile, 4, 5)
DENSE_TILE_FN(fma_4x6, fma_tile, 4, 6)
DENSE_TILE_FN(fma_1x1, fma_tile, 1, 1)
DENSE_TILE_FN(fma_1x2, fma_tile, 1, 2)
DENSE_TILE_FN(fma_1x3, fma_tile, 1, 3)
DENSE_TILE_FN(fma_1x4, fma_tile, 1, 4)
DENSE_TILE_FN(fma_1x5, fma_tile, 1, 5)
DENSE_TILE_FN(fma_1x6, fma_tile, 1, 6)
static const dense_tile_fn fma_tiles_4[TOKENS + 1] = {NULL,    fma_4x1, fma_4x2, fma_4x3,
                                                      fma_4x4, fma_4x5, fma_4x6};
static const dense_tile_fn fma_tiles_1[TOKENS + 1] = {NULL,    fma_1x1, fma_1x2, fma_1x3,
                                                      fma_1x4, fma_1x5, fma_1x6};

static void fp16_avx512_fma_gemm_rows(const bb_gemm_args *a, size_t r0, size_t r1)
{
    /* With more than one token tile, K slices of 1024 keep a 6-token activation tile
     * (24 KiB) in L1 and a macro block of weights (64 rows x 2 KiB) in L2. */
    dense_blocking b = {.rows = ROWS, .max_t = TOKENS, .macro_rows = 64,
                        .k_slice = a->n > TOKENS ? K_SLICE : a->w->k_padded,
                        .tiles_r = fma_tiles_4, .tiles_1 = fma_tiles_1};
    dense_for_tiles(a, r0, r1, &b);
}

const bb_kernel bb_kernel_fp16_avx512_fma = {
    .name = "fp16-avx512-fma",
    .format = BB_FMT_FP16,
    .method = "fma",
    .isa = BB_ISA_AVX512,
    .needs = BB_CPU_AVX512F | BB_CPU_AVX512DQ | BB_CPU_F16C | BB_CPU_FMA,
    .priority = 20,
    .multiply_free = false,
    .hot_symbol = "fp16_avx512_fma_gemm_rows",
    .row_block = ROWS,
    .gemm_rows = fp16_avx512_fma_gemm_rows,
};
