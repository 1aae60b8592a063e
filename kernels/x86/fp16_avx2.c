/*
 * kernels/x86/fp16_avx2.c - fp16 weights, fp32 activations and accumulation, AVX2 + F16C +
 * FMA: "fp16-avx2-fma".  Canonical layout (no repack).
 *
 * vcvtph2ps widens 8 halves to 8 floats exactly; vfmadd231ps accumulates in fp32.  With
 * 16 ymm registers the tile is 2 rows x up to 4 tokens: 8 accumulators, 4 activation
 * vectors, one converted weight vector; per 8-weight column step 2 conversions and 4
 * activation loads feed 8 FMAs.  Decode (n = 1) runs 2 x 1 tiles with a software
 * prefetch 1 KiB ahead in each row (as fp16_avx512.c, which measures why).
 *
 * Accuracy: another summation order than the reference's, and FMA; both inside the
 * suite's fp16 bound gamma_K sum |w x| (see fp16_avx512.c).
 */
#include "dense_avx2.h"
#include "dense_tiles.h"
#include "list_dense.h"

enum { ROWS = 2, TOKENS = 4, LANES = 8, K_SLICE = 1024 };

static inline __m256 fmadd(__m256 acc, __m256 w, __m256 x) { return _mm256_fmadd_ps(w, x, acc); }

static inline __attribute__((always_inline)) void
fma_tile(const bb_gemm_args *a, const dense_slice *s, size_t r, size_t t, const int R, const int T)
{
    const bb_weights *w = a->w;
    const uint8_t *wr = (const uint8_t *)a->layout + r * w->row_bytes;
    const float *xt = a->x + t * a->x_stride;
    __m256 acc[ROWS][TOKENS];
#define PREFETCH(c) dense_prefetch_rows(wr, w->row_bytes, R, (c) * 16)
#define LOAD_X(j, c) _mm256_loadu_ps(xt + (j) * a->x_stride + (c) * LANES)
#define LOAD_W(i, c) _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(wr + (i) * w->row_bytes) + (c)))
    DENSE_TILE_ZERO(acc, R, T, _mm256_setzero_ps())
    DENSE_TILE_LOOP(__m256, acc, R, T, s->k0 / LANES, s->k1 / LANES, PREFETCH, LOAD_X, LOAD_W,
                    fmadd)
#undef PREFETCH
#undef LOAD_X
#undef LOAD_W

    /* The first K slice stores, the others add (dense_tiles.h). */
#pragma GCC unroll 8
    for (int j = 0; j < T; j++)
#pragma GCC unroll 8
        for (int i = 0; i < R; i++) {
            float *y = a->y + (t + j) * a->y_stride + r + i;
            float sum = dense_hsum_ps256(acc[i][j]);
            *y = s->k0 == 0 ? sum : *y + sum;
        }
}

DENSE_TILE_TABLE_4(fma_tiles_2, fma_tile, 2)
DENSE_TILE_TABLE_4(fma_tiles_1, fma_tile, 1)

static void fp16_avx2_fma_gemm_rows(const bb_gemm_args *a, size_t r0, size_t r1)
{
    /* With more than one token tile, K slices of 1024 keep a 4-token activation tile
     * (16 KiB) in L1 and a macro block of weights (64 rows x 2 KiB) in L2. */
    dense_blocking b = {.rows = ROWS, .max_t = TOKENS, .macro_rows = 64,
                        .k_slice = a->n > TOKENS ? K_SLICE : a->w->k_padded,
                        .tiles_r = fma_tiles_2, .tiles_1 = fma_tiles_1};
    dense_for_tiles(a, r0, r1, &b);
}

const bb_kernel bb_kernel_fp16_avx2_fma = {
    .name = "fp16-avx2-fma",
    .format = BB_FMT_FP16,
    .method = "fma",
    .isa = BB_ISA_AVX2,
    .needs = BB_CPU_AVX2 | BB_CPU_F16C | BB_CPU_FMA,
    .priority = 10,
    .multiply_free = false,
    .hot_symbol = "fp16_avx2_fma_gemm_rows",
    .row_block = ROWS,
    .gemm_rows = fp16_avx2_fma_gemm_rows,
};
