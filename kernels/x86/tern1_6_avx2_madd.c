/*
 * kernels/x86/tern1_6_avx2_madd.c - tern1.6 by multiply-add on AVX2: each trit decoded to a
 * code byte c in {0, 1, 2}, then vpmaddubsw against the int8 activations, minus sum x.
 * Canonical layout.
 *
 * (The AVX-512 kernel's linear identity 256 c_t = 3 v_t - v_{t+1} needs products of full
 * bytes v_t, which vpmaddubsw would saturate: 2 * 255 * 127 > 32767.)  Decode per 32 bytes
 * and trit: in the offset domain v' = v ^ 0x80 (which advances as v does: 3 v' = 3 v + 384
 * = 3 v + 128 mod 256) two signed compares give -[c >= 1] (v' > -43, i.e. v >= 86) and
 * -[c = 2] (v' > 42, v >= 171); c = 0 - a - b; v' <- 3 v' by two adds.  vpmaddubsw pairs are
 * at most 2 * 2 * 127 = 508, so int16 accumulators take WIDEN_BLOCKS blocks (10 products
 * of <= 508 per block: 6 blocks <= 30480) before vpmaddwd with ones widens them.
 */
#include "act_q8_simd.h"
#include "list_ternary.h"
#include "ternary_simd.h"

#include <immintrin.h>

enum { ROWS = 2, WIDEN_BLOCKS = 6 };

/* One 32-byte half of a block of one row (5 trits) into the int16 accumulator acc->lo
 * (acc->hi, for x4 products, stays 0 here). */
static inline __attribute__((always_inline)) void half_block(ts_acc16 *acc, __m256i v,
                                                             const int8_t *x)
{
    const __m256i lo = _mm256_set1_epi8(-43), hi = _mm256_set1_epi8(42);
    v = _mm256_xor_si256(v, _mm256_set1_epi8((char)0x80));
#pragma GCC unroll 5
    for (int t = 0; t < TS_TRITS; t++, x += TS_LANE) {
        __m256i a = _mm256_cmpgt_epi8(v, lo), b = _mm256_cmpgt_epi8(v, hi);
        __m256i c = _mm256_sub_epi8(_mm256_sub_epi8(_mm256_setzero_si256(), a), b);
        acc->lo = _mm256_add_epi16(acc->lo, _mm256_maddubs_epi16(c, _mm256_load_si256((const __m256i *)x)));
        v = _mm256_add_epi8(_mm256_add_epi8(v, v), v);
    }
}

static inline __attribute__((always_inline)) void
row_dots(const uint8_t *const *wrow, const int8_t *x, size_t blocks, int nrows, const uint8_t *pf,
         int64_t *out)
{
    ts_maddubs_dots(wrow, x, blocks, nrows, pf, out, TS_TERN1_6_BLOCK, WIDEN_BLOCKS, half_block);
}

static inline __attribute__((always_inline)) void row_group(const tern_job *j, const uint8_t *w,
                                                            float *y, int nrows)
{
    ts_token_passes(j, w, y, nrows, row_dots, 0, 1);
}

void bb_tern1_6_avx2_madd_rows(const tern_job *j);

/* no-tree-pre: see tern2_avx512_addonly.c. */
__attribute__((noinline, optimize("no-tree-pre"))) void bb_tern1_6_avx2_madd_rows(const tern_job *j)
{
    TS_FOR_ROW_GROUPS(j, ROWS, row_group);
}

static void gemm_rows(const bb_gemm_args *a, size_t r0, size_t r1)
{
    ts_gemm_rows(a, r0, r1, "tern1.6-avx2-madd", TS_TERN1_6_BLOCK, 0, bb_tern1_6_avx2_madd_rows);
}

const bb_kernel bb_kernel_tern1_6_avx2_madd = {
    .name = "tern1.6-avx2-madd",
    .format = BB_FMT_TERN1_6,
    .method = "madd",
    .isa = BB_ISA_AVX2,
    .needs = BB_ISA_MASK_AVX2,
    .priority = 9,
    .multiply_free = false,
    .hot_symbol = "bb_tern1_6_avx2_madd_rows",
    .row_block = ROWS,
    .act_bytes = bb_act_q8_bytes,
    .prepare_act = bb_act_q8_prepare_avx2,
    .gemm_rows = gemm_rows,
};
