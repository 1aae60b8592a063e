/*
 * kernels/x86/fp16_avx2.c - fp16 weights, fp32 activations and accumulation, AVX2 + F16C +
 * FMA: "fp16-avx2-fma".  Canonical layout (no repack).
 *
 * vcvtph2ps widens 8 halves to 8 floats exactly; vfmadd231ps accumulates in fp32.  With
 * 16 ymm registers the tile is 2 rows x up to 6 tokens: 12 accumulators, 6 activation
 * vectors, one weight vector; per 8-weight column step 2 weight vectors and 6 activation
 * loads feed 12 FMAs (12 accumulators hide the 4-cycle FMA latency; 8 did not: 63 vs
 * 70 GOP/s at 512 x 4096 x 128).  Decode (n = 1: 8 x 1 tiles, and n <= 6) converts the
 * halves as it loads them and prefetches 1 KiB ahead in each row (as fp16_avx512.c,
 * which measures why); prefill converts each cache block to fp32 once for all token
 * tiles (fp16_panel.h).
 *
 * Accuracy: another summation order than the reference's, and FMA; both inside the
 * suite's fp16 bound gamma_K sum |w x| (see fp16_avx512.c).
 */
#include "dense_avx2.h"
#include "dense_tiles.h"
#include "fp16_packed.h"
#include "fp16_panel.h"
#include "list_dense.h"

enum { ROWS = 2, TOKENS = 6, LANES = 8 };

static inline __m256 fmadd(__m256 acc, __m256 w, __m256 x) { return _mm256_fmadd_ps(w, x, acc); }

/* PANEL = 0: the weights are the canonical halves, converted as they are loaded (decode).
 * PANEL = 1: they are the fp32 panel of fp16_panel.h (prefill). */
static inline __attribute__((always_inline)) void
fma_tile(const bb_gemm_args *a, const dense_slice *s, size_t r, size_t t, const int R,
         const int T, const int PANEL)
{
    const bb_weights *w = a->w;
    const uint8_t *wr = PANEL ? (const uint8_t *)s->panel + (r - s->panel_r0) * s->panel_stride
                              : (const uint8_t *)a->layout + r * w->row_bytes + s->k0 * 2;
    const size_t w_stride = PANEL ? s->panel_stride : w->row_bytes;
    const float *xt = a->x + t * a->x_stride + s->k0;
    __m256 acc[DENSE_DECODE_ROWS][TOKENS];
#define PREFETCH(c) (PANEL ? (void)0 : dense_prefetch_rows(wr, w_stride, R, (c) * 16))
#define LOAD_X(j, c) _mm256_loadu_ps(xt + (j) * a->x_stride + (c) * LANES)
#define LOAD_W(i, c)                                                                       \
    (PANEL ? _mm256_load_ps((const float *)(wr + (i) * w_stride) + (c) * LANES)           \
           : _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(wr + (i) * w_stride) + (c))))
    DENSE_TILE_ZERO(acc, R, T, _mm256_setzero_ps())
    DENSE_TILE_LOOP(__m256, acc, R, T, 0, (s->k1 - s->k0) / LANES, PREFETCH, LOAD_X, LOAD_W, fmadd)
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

#define cvt_tile(a, s, r, t, R, T) fma_tile(a, s, r, t, R, T, 0)
#define panel_tile(a, s, r, t, R, T) fma_tile(a, s, r, t, R, T, 1)
DENSE_TILE_TABLE_1(cvt_tiles_8, cvt_tile, 8)
DENSE_TILE_TABLE_6(cvt_tiles_2, cvt_tile, 2)
DENSE_TILE_TABLE_6(cvt_tiles_1, cvt_tile, 1)
DENSE_TILE_TABLE_6(panel_tiles_2, panel_tile, 2)
DENSE_TILE_TABLE_6(panel_tiles_1, panel_tile, 1)

static void fp16_avx2_fma_gemm_rows(const bb_gemm_args *a, size_t r0, size_t r1)
{
    if (a->n == 1) {
        dense_decode(a, r0, r1, cvt_tiles_8, cvt_tiles_1);
        return;
    }
    if (a->n > TOKENS) {
        fp16_panel_gemm(a, r0, r1, ROWS, TOKENS, panel_tiles_2, panel_tiles_1);
        return;
    }
    dense_blocking b = {.rows = ROWS, .max_t = TOKENS, .macro_rows = FP16_PANEL_ROWS,
                        .k_slice = a->w->k_padded, .tiles_r = cvt_tiles_2, .tiles_1 = cvt_tiles_1};
    dense_for_tiles(a, r0, r1, &b);
}

const bb_kernel bb_kernel_fp16_avx2_fma = {
    .name = "fp16-avx2-fma",
    .format = BB_FMT_FP16,
    .method = "fma",
    .isa = BB_ISA_AVX2,
    .needs = BB_ISA_MASK_AVX2,
    .priority = 10,
    .multiply_free = false,
    .hot_symbol = "fp16_avx2_fma_gemm_rows",
    .row_block = DENSE_DECODE_ROWS,
    .gemm_rows = fp16_avx2_fma_gemm_rows,
};

/* ------------------------------------------------------------------ packed prefill */

/* "fp16-avx2-packed": decode and n <= 6 as fp16-avx2-fma (the same functions), n >= 7
 * through fp16_packed.h.  The tile is MR rows x NV vectors of 8 tokens, MR x NV ymm
 * accumulators (6 x 2: 12 accumulators, 2 activation vectors and a broadcast in 16
 * registers).  Measured (scratch loop, cold weights over 6 copies, 1 thread, best of 12,
 * thread CPU time, loaded machine), 4096 x 4096: n = 8 5.1 vs 9.3 ms for fp16-avx2-fma,
 * 16 6.9 vs 12.4, 32 11.8 vs 18.0, 64 21.4 vs 31.4; n = 128 in `bitbench gemm` (cold,
 * 1 thread, median of 15 interleaved calls): 75.7 vs 88.9 ms. */
FP16_PACKED_KERNEL(__m256, _mm256_setzero_ps, _mm256_load_ps, _mm256_broadcast_ss, _mm256_fmadd_ps, _mm256_add_ps, _mm256_store_ps, 6, 2, LANES, 7,
                   fp16_avx2_fma_gemm_rows, fp16_avx2_packed_gemm_rows)

const bb_kernel bb_kernel_fp16_avx2_packed = {
    .name = "fp16-avx2-packed",
    .format = BB_FMT_FP16,
    .method = "packed",
    .isa = BB_ISA_AVX2,
    .needs = BB_ISA_MASK_AVX2,
    .priority = 12, /* above fp16-avx2-fma: the same decode, a faster prefill */
    .multiply_free = false,
    .hot_symbol = "fp16_avx2_packed_gemm_rows",
    .row_block = DENSE_DECODE_ROWS,
    .act_bytes = packed_act_bytes,
    .prepare_act = packed_prepare_act,
    .gemm_rows = fp16_avx2_packed_gemm_rows,
};
