/*
 * kernels/x86/tern1_6_avx2_addonly.c - tern1.6 without multiplies on AVX2: each trit becomes
 * a sign byte for vpsignb (keep, negate or zero the activation), vpsadbw sums the bytes.
 * Canonical layout.
 *
 * Per 32 bytes and trit t, with v = byte * 3^t mod 256: the weight is +1 when v >= 171 and
 * -1 when v < 86, so s = subus(v, 170) - subus(86, v) is positive, zero or negative exactly
 * as the weight is (both terms are at most 86 and never both nonzero); v <- v + v + v.  Then
 * t = sign(x, s), and as in tern2-avx2-addonly vpsadbw adds t + 128 (t ^ 0x80) eight bytes
 * at a time: sum w x = SAD total - 128 k_padded.
 */
#include "act_q8_simd.h"
#include "list_ternary.h"
#include "ternary_simd.h"

#include <immintrin.h>

enum { ROWS = 2 };

static inline __attribute__((always_inline)) __m256i half_block(__m256i acc, __m256i v,
                                                                const int8_t *x)
{
    const __m256i c170 = _mm256_set1_epi8((char)170), c86 = _mm256_set1_epi8(86),
                  bias = _mm256_set1_epi8((char)0x80);
#pragma GCC unroll 5
    for (int t = 0; t < TS_TRITS; t++, x += TS_LANE) {
        __m256i s = _mm256_sub_epi8(_mm256_subs_epu8(v, c170), _mm256_subs_epu8(c86, v));
        __m256i p = _mm256_sign_epi8(_mm256_load_si256((const __m256i *)x), s);
        acc = _mm256_add_epi64(acc, _mm256_sad_epu8(_mm256_xor_si256(p, bias), _mm256_setzero_si256()));
        v = _mm256_add_epi8(_mm256_add_epi8(v, v), v);
    }
    return acc;
}

static inline __attribute__((always_inline)) void
row_dots(const uint8_t *const *wrow, const int8_t *x, size_t blocks, int nrows, const uint8_t *pf,
         int64_t *out)
{
    ts_sad_dots(wrow, x, blocks, nrows, pf, out, TS_TERN1_6_BLOCK, half_block);
}

static inline __attribute__((always_inline)) void row_group(const tern_job *j, const uint8_t *w,
                                                            float *y, int nrows)
{
    /* t + 128 was summed for every weight of the row: blocks * 320 * 128 = (blocks * 5) << 13 */
    ts_token_passes(j, w, y, nrows, row_dots, (int64_t)(((j->blocks << 2) + j->blocks) << 13), 0);
}

void bb_tern1_6_avx2_addonly_rows(const tern_job *j);

/* no-tree-pre: see tern2_avx512_addonly.c. */
__attribute__((noinline, optimize("no-tree-pre"))) void bb_tern1_6_avx2_addonly_rows(const tern_job *j)
{
    TS_FOR_ROW_GROUPS(j, ROWS, row_group);
}

static void gemm_rows(const bb_gemm_args *a, size_t r0, size_t r1)
{
    ts_gemm_rows(a, r0, r1, "tern1.6-avx2-addonly", TS_TERN1_6_BLOCK, 0, bb_tern1_6_avx2_addonly_rows);
}

const bb_kernel bb_kernel_tern1_6_avx2_addonly = {
    .name = "tern1.6-avx2-addonly",
    .format = BB_FMT_TERN1_6,
    .method = "addonly",
    .isa = BB_ISA_AVX2,
    .needs = BB_ISA_MASK_AVX2,
    .priority = 8,
    .multiply_free = true,
    .hot_symbol = "bb_tern1_6_avx2_addonly_rows",
    .row_block = ROWS,
    .act_bytes = bb_act_q8_bytes,
    .prepare_act = bb_act_q8_prepare_avx2,
    .gemm_rows = gemm_rows,
};
