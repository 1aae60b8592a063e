/*
 * kernels/x86/int8_avx2.c - int8 (W8A8) with AVX2 vpmaddubsw and the sign trick:
 * "int8-avx2-maddubs".  Canonical layout (no repack).
 *
 * vpmaddubsw multiplies unsigned bytes by signed bytes and adds adjacent pairs into int16.
 * Both operands here are signed, so the sign moves from the weights to the activations:
 *   w * x = |w| * (x * sign(w)),   |w| via vpabsb, x * sign(w) via vpsignb (which also
 * zeroes x where w = 0).  |w| <= 127 and |x| <= 127, so a pair sum is at most
 * 2 * 127 * 127 = 32258 < 32767: vpmaddubsw never saturates and every product is exact.
 * vpmaddwd against ones widens the pairs to int32, and the int32 lane sums obey the int8
 * format's bound (kernels/ref/int8.c: exact for k <= 133144, refused beyond).
 *
 * Per (row, token) pair and 32 weights that is vpsignb, vpmaddubsw, vpmaddwd, vpaddd;
 * vpabsb is shared by the tile's tokens.  Tile: 2 rows x up to 3 tokens (6 accumulators;
 * with 4 x 2 GCC ran out of the 16 ymm registers and spilled accumulators).  Decode
 * (n = 1) runs 8 x 1 tiles with a software prefetch (dense_tiles.h); two of the 8
 * accumulators spill to L1, but a 6-row variant without spills measured the same (cold
 * 4096 x 4096, best of 50: 14.2 vs 14.1 GB/s; int8-avx2-vnni: 16.1).
 * y = bb_rescale_i32(acc, s_r, s_t).
 */
#include "act_q8_simd.h"
#include "dense_avx2.h"
#include "dense_tiles.h"
#include "int8_offset.h"
#include "list_dense.h"

enum { ROWS = 2, TOKENS = 3, CHUNK = 32 };

/* acc + w x for the signed bytes of w and x (see the header; the compiler shares one
 * vpabsb of w between the tile's tokens). */
static inline __m256i maddubs(__m256i acc, __m256i w, __m256i x)
{
    __m256i pairs = _mm256_maddubs_epi16(_mm256_abs_epi8(w), _mm256_sign_epi8(x, w));
    return _mm256_add_epi32(acc, _mm256_madd_epi16(pairs, _mm256_set1_epi16(1)));
}

/* Always driven over the whole row: int32 partial sums cannot be added into Y exactly. */
static inline __attribute__((always_inline)) void
maddubs_tile(const bb_gemm_args *a, const dense_slice *s, size_t r, size_t t, const int R,
             const int T)
{
    const bb_weights *w = a->w;
    const bb_act_q8 act = bb_act_q8_view(a->act, w->k, a->n);
    const int8_t *wr = (const int8_t *)a->layout + r * w->row_bytes;
    const int8_t *xt = act.q + t * act.k_stride;
    __m256i acc[DENSE_DECODE_ROWS][TOKENS];
#define PREFETCH(c) dense_prefetch_rows(wr, w->row_bytes, R, (c) * CHUNK)
#define LOAD_X(j, c) _mm256_loadu_si256((const __m256i *)(xt + (j) * act.k_stride + (c) * CHUNK))
#define LOAD_W(i, c) _mm256_loadu_si256((const __m256i *)(wr + (i) * w->row_bytes + (c) * CHUNK))
    DENSE_TILE_ZERO(acc, R, T, _mm256_setzero_si256())
    DENSE_TILE_LOOP(__m256i, acc, R, T, s->k0 / CHUNK, s->k1 / CHUNK, PREFETCH, LOAD_X, LOAD_W,
                    maddubs)
#undef PREFETCH
#undef LOAD_X
#undef LOAD_W

#pragma GCC unroll 8
    for (int j = 0; j < T; j++)
#pragma GCC unroll 8
        for (int i = 0; i < R; i++)
            a->y[(t + j) * a->y_stride + r + i] = bb_rescale_i32(
                dense_hsum_epi32_256(acc[i][j]), w->scales[r + i], act.scale[t + j]);
}

DENSE_TILE_TABLE_1(maddubs_tiles_8, maddubs_tile, 8)
DENSE_TILE_TABLE_3(maddubs_tiles_2, maddubs_tile, 2)
DENSE_TILE_TABLE_3(maddubs_tiles_1, maddubs_tile, 1)

static void int8_avx2_maddubs_gemm_rows(const bb_gemm_args *a, size_t r0, size_t r1)
{
    int8_check_k("int8-avx2-maddubs", a->w->k);
    if (a->n == 1) {
        dense_decode(a, r0, r1, maddubs_tiles_8, maddubs_tiles_1);
        return;
    }
    dense_blocking b = {.rows = ROWS, .max_t = TOKENS, .macro_rows = 32,
                        .k_slice = a->w->k_padded, .tiles_r = maddubs_tiles_2,
                        .tiles_1 = maddubs_tiles_1};
    dense_for_tiles(a, r0, r1, &b);
}

const bb_kernel bb_kernel_int8_avx2_maddubs = {
    .name = "int8-avx2-maddubs",
    .format = BB_FMT_INT8,
    .method = "maddubs",
    .isa = BB_ISA_AVX2,
    .needs = BB_ISA_MASK_AVX2,
    .priority = 10,
    .multiply_free = false,
    .hot_symbol = "int8_avx2_maddubs_gemm_rows",
    .row_block = DENSE_DECODE_ROWS,
    .act_bytes = bb_act_q8_bytes,
    .prepare_act = bb_act_q8_prepare_avx2,
    .gemm_rows = int8_avx2_maddubs_gemm_rows,
};
