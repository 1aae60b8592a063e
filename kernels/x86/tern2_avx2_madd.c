/*
 * kernels/x86/tern2_avx2_madd.c - tern2 by multiply-add on AVX2: vpmaddubsw with the codes
 * c = w + 1 in {0, 1, 2} as the unsigned bytes against int8 activations (the method of
 * llama.cpp's TQ2_0 on AVX2), minus sum x at the end.  Canonical layout.
 *
 * Per 32 bytes (128 weights, lane i = bits 2i..2i+1): c0 = w & 3 and 4 c1 = w & 12 in place,
 * and after one 16-bit shift by 4, c2 and 4 c3 the same way - 1 shift + 4 ANDs.  vpmaddubsw
 * sums pairs into int16 without saturating: |c x + c x| <= 2 * 8 * 127 = 2032 for the x4
 * lanes.  Two int16 accumulators (lanes 0/2 and the x4 lanes 1/3) take WIDEN_BLOCKS blocks
 * (the x4 one gains 4 * 2032 per 64-byte block: 4 blocks <= 32512) before vpmaddwd with
 * ones widens them to int32, where the x4 one is shifted back exactly (every term is a
 * multiple of 4).
 */
#include "act_q8_simd.h"
#include "list_ternary.h"
#include "ternary_simd.h"

#include <immintrin.h>

enum { ROWS = 2, WIDEN_BLOCKS = 4 };

/* One 32-byte half of a block (h = 0, 1) of one row into a. */
/* (ts_acc16: lo gets lanes 0 and 2, hi lanes 1 and 3 times 4.) */
static inline __attribute__((always_inline)) void half_block(ts_acc16 *a, __m256i w, const int8_t *x)
{
    const __m256i m3 = _mm256_set1_epi8(0x03), m12 = _mm256_set1_epi8(0x0c);
    __m256i w4 = _mm256_srli_epi16(w, 4);
    __m256i x0 = _mm256_load_si256((const __m256i *)x);
    __m256i x1 = _mm256_load_si256((const __m256i *)(x + 64));
    __m256i x2 = _mm256_load_si256((const __m256i *)(x + 128));
    __m256i x3 = _mm256_load_si256((const __m256i *)(x + 192));
    a->lo = _mm256_add_epi16(a->lo, _mm256_maddubs_epi16(_mm256_and_si256(w, m3), x0));
    a->hi = _mm256_add_epi16(a->hi, _mm256_maddubs_epi16(_mm256_and_si256(w, m12), x1));
    a->lo = _mm256_add_epi16(a->lo, _mm256_maddubs_epi16(_mm256_and_si256(w4, m3), x2));
    a->hi = _mm256_add_epi16(a->hi, _mm256_maddubs_epi16(_mm256_and_si256(w4, m12), x3));
}

static inline __attribute__((always_inline)) void
row_dots(const uint8_t *const *wrow, const int8_t *x, size_t blocks, int nrows, const uint8_t *pf,
         int64_t *out)
{
    ts_maddubs_dots(wrow, x, blocks, nrows, pf, out, TS_TERN2_BLOCK, WIDEN_BLOCKS, half_block);
}

static inline __attribute__((always_inline)) void row_group(const tern_job *j, const uint8_t *w,
                                                            float *y, int nrows)
{
    ts_token_passes(j, w, y, nrows, row_dots, 0, 1);
}

void bb_tern2_avx2_madd_rows(const tern_job *j);

/* no-tree-pre: see tern2_avx512_addonly.c. */
__attribute__((noinline, optimize("no-tree-pre"))) void bb_tern2_avx2_madd_rows(const tern_job *j)
{
    TS_FOR_ROW_GROUPS(j, ROWS, row_group);
}

static void gemm_rows(const bb_gemm_args *a, size_t r0, size_t r1)
{
    ts_gemm_rows(a, r0, r1, "tern2-avx2-madd", TS_TERN2_BLOCK, 0, bb_tern2_avx2_madd_rows);
}

const bb_kernel bb_kernel_tern2_avx2_madd = {
    .name = "tern2-avx2-madd",
    .format = BB_FMT_TERN2,
    .method = "madd",
    .isa = BB_ISA_AVX2,
    .needs = BB_ISA_MASK_AVX2,
    .priority = 15,
    .multiply_free = false,
    .hot_symbol = "bb_tern2_avx2_madd_rows",
    .row_block = ROWS,
    .act_bytes = bb_act_q8_bytes,
    .prepare_act = bb_act_q8_prepare_avx2,
    .gemm_rows = gemm_rows,
};
