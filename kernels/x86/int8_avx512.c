/*
 * kernels/x86/int8_avx512.c - int8 (W8A8) with AVX-512 VNNI: "int8-avx512-vnni".
 *
 * vpdpbusd multiplies unsigned bytes by signed bytes, four per int32 lane, and adds them
 * to the lane.  The weights use the offset layout of int8_offset.h (q_w + 128, repacked
 * once), and the token's activation sum removes the offset exactly; y = bb_rescale_i32(acc,
 * s_r, s_t), the same two float multiplies, in vector form for four rows.
 *
 * Register blocking (dense_tiles.h): 4 rows x up to 6 tokens, 24 zmm accumulators, the
 * 6 activation vectors and one weight vector in registers: per 64-byte column step, 4
 * weight loads and 6 activation loads feed 24 vpdpbusd.  Decode (n = 1) runs 8 x 1 tiles:
 * one activation load per 8 weight lines, and a software prefetch (dense_tiles.h).
 */
#include "act_q8_simd.h"
#include "dense_avx2.h"
#include "dense_tiles.h"
#include "int8_offset.h"
#include "list_dense.h"

#include <immintrin.h>

enum { ROWS = 4, TOKENS = 6, CHUNK = 64 };

/* Lane j of the result: the sum of the 16 lanes of v[j]. */
static inline __m128i reduce4_epi32(__m512i v0, __m512i v1, __m512i v2, __m512i v3)
{
    /* Pairwise interleave-and-add halves the lanes per vector at each step. */
    __m512i s01 = _mm512_add_epi32(_mm512_unpacklo_epi32(v0, v1), _mm512_unpackhi_epi32(v0, v1));
    __m512i s23 = _mm512_add_epi32(_mm512_unpacklo_epi32(v2, v3), _mm512_unpackhi_epi32(v2, v3));
    __m512i s = _mm512_add_epi32(_mm512_unpacklo_epi64(s01, s23), _mm512_unpackhi_epi64(s01, s23));
    __m256i h = _mm256_add_epi32(_mm512_castsi512_si256(s), _mm512_extracti64x4_epi64(s, 1));
    return _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
}

/* The lane sum modulo 2^32 (_mm512_reduce_add_epi32 adds as signed int, which is
 * undefined on the wrap that the offset trick relies on). */
static inline int32_t hsum_epi32(__m512i v)
{
    return dense_hsum_epi32_256(
        _mm256_add_epi32(_mm512_castsi512_si256(v), _mm512_extracti64x4_epi64(v, 1)));
}

/* acc + dot products of the unsigned bytes of u and signed bytes of s, accumulated in
 * place: with the intrinsic, GCC 12 copies every accumulator each step (the intrinsic's
 * result is a new value), which bloats the 24-accumulator tile with register moves and
 * spills; the asm ties the accumulator to its register. */
static inline __m512i dpbusd(__m512i acc, __m512i u, __m512i s)
{
    __asm__("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(u), "vm"(s));
    return acc;
}

/* Always driven over the whole row (k0 = 0, k1 = k_padded): int32 partial sums cannot be
 * added into the float Y exactly. */
static inline __attribute__((always_inline)) void
vnni_tile(const bb_gemm_args *a, const dense_slice *s, size_t r, size_t t, const int R, const int T)
{
    const bb_weights *w = a->w;
    const bb_act_q8 act = bb_act_q8_view(a->act, w->k, a->n);
    const uint8_t *wr = (const uint8_t *)a->layout + r * w->row_bytes;
    const int8_t *xt = act.q + t * act.k_stride;
    __m512i acc[DENSE_DECODE_ROWS][TOKENS];
#define PREFETCH(c) dense_prefetch_rows(wr, w->row_bytes, R, (c) * CHUNK)
#define LOAD_X(j, c) _mm512_loadu_si512(xt + (j) * act.k_stride + (c) * CHUNK)
#define LOAD_W(i, c) _mm512_loadu_si512(wr + (i) * w->row_bytes + (c) * CHUNK)
    DENSE_TILE_ZERO(acc, R, T, _mm512_setzero_si512())
    DENSE_TILE_LOOP(__m512i, acc, R, T, s->k0 / CHUNK, s->k1 / CHUNK, PREFETCH, LOAD_X, LOAD_W,
                    dpbusd)
#undef PREFETCH
#undef LOAD_X
#undef LOAD_W

    if (R % 4 == 0) {
#pragma GCC unroll 8
        for (int g = 0; g < R; g += 4) {
            const __m128 row_scales = _mm_loadu_ps(w->scales + r + g);
#pragma GCC unroll 8
            for (int j = 0; j < T; j++) {
                __m128i dot = reduce4_epi32(acc[g][j], acc[g + 1][j], acc[g + 2][j], acc[g + 3][j]);
                dot = _mm_sub_epi32(dot, _mm_set1_epi32((int)int8_offset_bias(act.sum[t + j])));
                __m128 y = _mm_mul_ps(_mm_mul_ps(_mm_cvtepi32_ps(dot), row_scales),
                                      _mm_set1_ps(act.scale[t + j]));
                _mm_storeu_ps(a->y + (t + j) * a->y_stride + r + g, y);
            }
        }
    } else {
#pragma GCC unroll 8
        for (int i = 0; i < R; i++)
#pragma GCC unroll 8
            for (int j = 0; j < T; j++)
                int8_offset_store(a, &act, r + i, t + j, hsum_epi32(acc[i][j]));
    }
}

DENSE_TILE_TABLE_1(vnni_tiles_8, vnni_tile, 8)
DENSE_TILE_TABLE_6(vnni_tiles_4, vnni_tile, 4)
DENSE_TILE_TABLE_6(vnni_tiles_1, vnni_tile, 1)

static void int8_avx512_vnni_gemm_rows(const bb_gemm_args *a, size_t r0, size_t r1)
{
    int8_check_k("int8-avx512-vnni", a->w->k);
    if (a->n == 1) {
        dense_decode(a, r0, r1, vnni_tiles_8, vnni_tiles_1);
        return;
    }
    /* 1-byte activations: a 6-token tile of a 4096-wide row is 24 KiB, L1-resident
     * without slicing K; macro blocks of 32 rows keep those rows' weights in L2 while
     * the token tiles pass. */
    dense_blocking b = {.rows = ROWS, .max_t = TOKENS, .macro_rows = 32,
                        .k_slice = a->w->k_padded, .tiles_r = vnni_tiles_4,
                        .tiles_1 = vnni_tiles_1};
    dense_for_tiles(a, r0, r1, &b);
}

const bb_kernel bb_kernel_int8_avx512_vnni = {
    .name = "int8-avx512-vnni",
    .format = BB_FMT_INT8,
    .method = "vnni",
    .isa = BB_ISA_AVX512,
    /* What the file's flags let the compiler use, VNNI included. */
    .needs = BB_ISA_MASK_AVX512,
    .priority = 20,
    .multiply_free = false,
    .hot_symbol = "int8_avx512_vnni_gemm_rows",
    .row_block = DENSE_DECODE_ROWS,
    .layout_bytes = int8_offset_layout_bytes,
    .repack = int8_offset_repack,
    .act_bytes = bb_act_q8_bytes,
    .prepare_act = bb_act_q8_prepare_avx512,
    .gemm_rows = int8_avx512_vnni_gemm_rows,
};
