/*
 * kernels/x86/int8_avxvnni.c - int8 (W8A8) with AVX-VNNI (the VEX-encoded 256-bit
 * vpdpbusd of Alder Lake / Sapphire Rapids and later, no AVX-512 needed):
 * "int8-avx2-vnni".
 *
 * The offset layout and its exact correction are those of int8_offset.h (as in
 * int8_avx512.c).  Tile: 2 rows x up to 4 tokens, 8 ymm accumulators, 4 activation
 * vectors and one weight vector in registers: per 32-byte column step, 2 weight loads and
 * 4 activation loads feed 8 vpdpbusd.  Decode (n = 1) runs 8 x 1 tiles with a software
 * prefetch (dense_tiles.h).  y = bb_rescale_i32(acc, s_r, s_t).
 */
#include "act_q8_simd.h"
#include "dense_avx2.h"
#include "dense_tiles.h"
#include "int8_offset.h"
#include "list_dense.h"

enum { ROWS = 2, TOKENS = 4, CHUNK = 32 };

/* acc + dot products of the unsigned bytes of u and the signed bytes of s, in place (the
 * {vex} form: the EVEX one would need AVX512-VL).  As asm for the reason given in
 * int8_avx512.c: GCC copies intrinsic accumulators. */
static inline __m256i dpbusd(__m256i acc, __m256i u, __m256i s)
{
    __asm__("%{vex%} vpdpbusd %2, %1, %0" : "+x"(acc) : "x"(u), "xm"(s));
    return acc;
}

/* Always driven over the whole row: int32 partial sums cannot be added into Y exactly. */
static inline __attribute__((always_inline)) void
vnni_tile(const bb_gemm_args *a, const dense_slice *s, size_t r, size_t t, const int R, const int T)
{
    const bb_weights *w = a->w;
    const bb_act_q8 act = bb_act_q8_view(a->act, w->k, a->n);
    const uint8_t *wr = (const uint8_t *)a->layout + r * w->row_bytes;
    const int8_t *xt = act.q + t * act.k_stride;
    __m256i acc[DENSE_DECODE_ROWS][TOKENS];
#define PREFETCH(c) dense_prefetch_rows(wr, w->row_bytes, R, (c) * CHUNK)
#define LOAD_X(j, c) _mm256_loadu_si256((const __m256i *)(xt + (j) * act.k_stride + (c) * CHUNK))
#define LOAD_W(i, c) _mm256_loadu_si256((const __m256i *)(wr + (i) * w->row_bytes + (c) * CHUNK))
    DENSE_TILE_ZERO(acc, R, T, _mm256_setzero_si256())
    DENSE_TILE_LOOP(__m256i, acc, R, T, s->k0 / CHUNK, s->k1 / CHUNK, PREFETCH, LOAD_X, LOAD_W,
                    dpbusd)
#undef PREFETCH
#undef LOAD_X
#undef LOAD_W

#pragma GCC unroll 8
    for (int j = 0; j < T; j++)
#pragma GCC unroll 8
        for (int i = 0; i < R; i++)
            int8_offset_store(a, &act, r + i, t + j, dense_hsum_epi32_256(acc[i][j]));
}

DENSE_TILE_TABLE_1(vnni_tiles_8, vnni_tile, 8)
DENSE_TILE_TABLE_4(vnni_tiles_2, vnni_tile, 2)
DENSE_TILE_TABLE_4(vnni_tiles_1, vnni_tile, 1)

static void int8_avx2_vnni_gemm_rows(const bb_gemm_args *a, size_t r0, size_t r1)
{
    int8_check_k("int8-avx2-vnni", a->w->k);
    if (a->n == 1) {
        dense_decode(a, r0, r1, vnni_tiles_8, vnni_tiles_1);
        return;
    }
    dense_blocking b = {.rows = ROWS, .max_t = TOKENS, .macro_rows = 32,
                        .k_slice = a->w->k_padded, .tiles_r = vnni_tiles_2,
                        .tiles_1 = vnni_tiles_1};
    dense_for_tiles(a, r0, r1, &b);
}

const bb_kernel bb_kernel_int8_avx2_vnni = {
    .name = "int8-avx2-vnni",
    .format = BB_FMT_INT8,
    .method = "vnni",
    .isa = BB_ISA_AVXVNNI,
    .needs = BB_ISA_MASK_AVXVNNI,
    .priority = 11,
    .multiply_free = false,
    .hot_symbol = "int8_avx2_vnni_gemm_rows",
    .row_block = DENSE_DECODE_ROWS,
    .layout_bytes = int8_offset_layout_bytes,
    .repack = int8_offset_repack,
    .act_bytes = bb_act_q8_bytes,
    .prepare_act = bb_act_q8_prepare_avx2,
    .gemm_rows = int8_avx2_vnni_gemm_rows,
};
