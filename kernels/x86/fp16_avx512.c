/*
 * kernels/x86/fp16_avx512.c - fp16 weights, fp32 activations and accumulation, AVX-512:
 * "fp16-avx512-fma".  Canonical layout (no repack).
 *
 * vcvtph2ps widens 16 halves to 16 floats exactly; vfmadd231ps accumulates in fp32.
 * Register blocking (dense_tiles.h): 4 rows x up to 6 tokens, 24 zmm accumulators; per
 * 16-weight column step, 4 weight vectors and 6 activation loads feed 24 FMAs.  Decode
 * (n = 1: 8 x 1 tiles, and n <= 6) converts the halves as it loads them and prefetches
 * (below); prefill converts each cache block of weights to fp32 once and shares it by
 * all token tiles (fp16_panel.h), K sliced by 1024 so that a 6-token activation tile
 * (24 KiB) stays in L1.
 *
 * Accuracy: the sum is taken in another order than the reference's (16 lane partial sums,
 * then a tree) and with FMA (one rounding per multiply-add instead of two).  Both stay
 * inside the bound the suite holds fp16 to, |y - exact| <= gamma_K sum_i |w_i x_i| with
 * gamma_K = K u / (1 - K u), u = 2^-24 (Higham eq. 3.5 holds for any summation order, and
 * an FMA only removes roundings).
 *
 * Why no AVX512-FP16 kernel (this CPU has it): native fp16 arithmetic cannot keep that
 * bound, which is a guarantee for every input.  Measured once on a 4 x 6 x 4096 tile
 * (scratch program, thread CPU time, this machine; the fp32 FMA tile of this file's
 * prefill: 125 GOP/s on it):
 *   vfmadd231ph, fp16 accumulators: 204-217 GOP/s, about 1.7x faster, but
 *     its error reaches 2.5x the bound on all-positive random data and 61x on equal
 *     positive terms (the fp16 sum stagnates: u = 2^-11, not 2^-24; sums past 65504
 *     overflow to inf);
 *   fp16 products widened to fp32 sums: 44 GOP/s (the widening costs more than it
 *     saves) and still 2x the bound, because the activations themselves must be rounded
 *     to fp16 first (x = 1 + 0.999 * 2^-11 loses 2^-11 relative, same sign every term).
 * So fp16 stays "fp16 storage, fp32 arithmetic", as the suite defines the format.
 */
#include "dense_tiles.h"
#include "fp16_packed.h"
#include "fp16_panel.h"
#include "list_dense.h"

#include <immintrin.h>

enum { ROWS = 4, TOKENS = 6, LANES = 16 };
/* Decode prefetches (dense_tiles.h): measured here with 4-row tiles, decode reached about
 * 78% of the one-stream read ceiling without, 90% with a software prefetch 1 KiB ahead in
 * each row (512 B and 2-4 KiB were no better); with the 8-row tiles the prefetch still
 * gains about 15% (best of 50, cold 4096 x 4096). */

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

static inline __m512 fmadd(__m512 acc, __m512 w, __m512 x) { return _mm512_fmadd_ps(w, x, acc); }

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
    __m512 acc[DENSE_DECODE_ROWS][TOKENS];
#define PREFETCH(c) (PANEL ? (void)0 : dense_prefetch_rows(wr, w_stride, R, (c) * 32))
#define LOAD_X(j, c) _mm512_loadu_ps(xt + (j) * a->x_stride + (c) * LANES)
#define LOAD_W(i, c)                                                                       \
    (PANEL ? _mm512_load_ps((const float *)(wr + (i) * w_stride) + (c) * LANES)           \
           : _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(wr + (i) * w_stride) + (c))))
    DENSE_TILE_ZERO(acc, R, T, _mm512_setzero_ps())
    DENSE_TILE_LOOP(__m512, acc, R, T, 0, (s->k1 - s->k0) / LANES, PREFETCH, LOAD_X, LOAD_W, fmadd)
#undef PREFETCH
#undef LOAD_X
#undef LOAD_W

    /* The first K slice stores, the others add (dense_tiles.h). */
#pragma GCC unroll 8
    for (int j = 0; j < T; j++) {
        float *y = a->y + (t + j) * a->y_stride + r;
        if (R % 4 == 0) {
#pragma GCC unroll 8
            for (int g = 0; g < R; g += 4) {
                __m128 sum = reduce4_ps(acc[g][j], acc[g + 1][j], acc[g + 2][j], acc[g + 3][j]);
                _mm_storeu_ps(y + g, s->k0 == 0 ? sum : _mm_add_ps(_mm_loadu_ps(y + g), sum));
            }
        } else {
#pragma GCC unroll 8
            for (int i = 0; i < R; i++) {
                float sum = _mm512_reduce_add_ps(acc[i][j]);
                y[i] = s->k0 == 0 ? sum : y[i] + sum;
            }
        }
    }
}

#define cvt_tile(a, s, r, t, R, T) fma_tile(a, s, r, t, R, T, 0)
#define panel_tile(a, s, r, t, R, T) fma_tile(a, s, r, t, R, T, 1)
DENSE_TILE_TABLE_1(cvt_tiles_8, cvt_tile, 8)
DENSE_TILE_TABLE_6(cvt_tiles_4, cvt_tile, 4)
DENSE_TILE_TABLE_6(cvt_tiles_1, cvt_tile, 1)
DENSE_TILE_TABLE_6(panel_tiles_4, panel_tile, 4)
DENSE_TILE_TABLE_6(panel_tiles_1, panel_tile, 1)

static void fp16_avx512_fma_gemm_rows(const bb_gemm_args *a, size_t r0, size_t r1)
{
    if (a->n == 1) {
        dense_decode(a, r0, r1, cvt_tiles_8, cvt_tiles_1);
        return;
    }
    if (a->n > TOKENS) {
        fp16_panel_gemm(a, r0, r1, ROWS, TOKENS, panel_tiles_4, panel_tiles_1);
        return;
    }
    dense_blocking b = {.rows = ROWS, .max_t = TOKENS, .macro_rows = FP16_PANEL_ROWS,
                        .k_slice = a->w->k_padded, .tiles_r = cvt_tiles_4, .tiles_1 = cvt_tiles_1};
    dense_for_tiles(a, r0, r1, &b);
}

const bb_kernel bb_kernel_fp16_avx512_fma = {
    .name = "fp16-avx512-fma",
    .format = BB_FMT_FP16,
    .method = "fma",
    .isa = BB_ISA_AVX512,
    /* What the file's flags let the compiler use (VNNI and VBMI it has no use for). */
    .needs = BB_ISA_MASK_AVX512,
    .priority = 20,
    .multiply_free = false,
    .hot_symbol = "fp16_avx512_fma_gemm_rows",
    .row_block = DENSE_DECODE_ROWS,
    .gemm_rows = fp16_avx512_fma_gemm_rows,
};

/* ------------------------------------------------------------------ packed prefill */

/* "fp16-avx512-packed": decode and n <= 6 as fp16-avx512-fma (the same functions), n >= 7
 * through fp16_packed.h.  The tile is MR rows x NV vectors of 16 tokens, MR x NV zmm
 * accumulators; per K step NV loads, MR broadcasts, MR x NV FMAs.  Measured on this
 * machine (scratch loop over the tile alone, L1/L2-resident operands, best of 200, thread
 * CPU time): 12 x 2 221-232 GFLOP/s, 8 x 3 221-233, 6 x 4 224-229, 14 x 2 225-230: all at
 * the FMA roof, so 12 x 2 (32-token panels: N = 128 is 4 of them, no padding); 12 x 1
 * (the last panel when it holds <= 16 tokens) 186; 24 x 1 only 76-78; the FMA with an
 * embedded broadcast ({1to16}, as inline asm) 69-85.
 * Whole calls (scratch loop, cold weights rotated over 6 copies, 1 thread, best of 12,
 * thread CPU time, machine loaded by other jobs): 4096 x 4096 x 128 25.3-26.2 ms against
 * 29.0-32.2 ms for fp16-avx512-fma; and from n = 8 on it is ahead too (4096 x 4096:
 * n = 8 4.8 vs 6.1 ms, 16 5.9 vs 9.6, 32 7.1 vs 10.0, 64 12.2 vs 16.4). */
#define FP16_BCAST512(p) _mm512_set1_ps(*(p))
FP16_PACKED_KERNEL(__m512, _mm512_setzero_ps, _mm512_load_ps, FP16_BCAST512, _mm512_fmadd_ps, _mm512_add_ps, _mm512_store_ps, 12, 2, LANES, 7,
                   fp16_avx512_fma_gemm_rows, fp16_avx512_packed_gemm_rows)

const bb_kernel bb_kernel_fp16_avx512_packed = {
    .name = "fp16-avx512-packed",
    .format = BB_FMT_FP16,
    .method = "packed",
    .isa = BB_ISA_AVX512,
    .needs = BB_ISA_MASK_AVX512,
    .priority = 25, /* above fp16-avx512-fma: the same decode, a faster prefill */
    .multiply_free = false,
    .hot_symbol = "fp16_avx512_packed_gemm_rows",
    .row_block = DENSE_DECODE_ROWS,
    .act_bytes = packed_act_bytes,
    .prepare_act = packed_prepare_act,
    .gemm_rows = fp16_avx512_packed_gemm_rows,
};
