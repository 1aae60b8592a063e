/*
 * kernels/x86/tern2_avx512_madd.c - tern2 by multiply-add: AVX-512 VNNI vpdpbusd, the method
 * of llama.cpp's TQ2_0 and bitnet.cpp's I2_S.  Reads the canonical layout as is.
 *
 * The codes c = w + 1 in {0, 1, 2} are unsigned bytes, the activations signed int8:
 * vpdpbusd sums c x four products at a time into int32, and sum (c - 1) x = sum c x - sum x,
 * with sum x from the activation quantizer (bb_act_q8.sum) - exact.
 *
 * Decoding costs one AND per 64 weights: byte j holds lane i (weight j + 64 i) in bits
 * 2i..2i+1, and w & (3 << 2i) is c_i 4^i, still a byte vpdpbusd can take.  Each lane gets its
 * own accumulator, scaled back at the end by an exact arithmetic shift (every product in
 * accumulator i is a multiple of 4^i), so no shift sits in the loop: 4 vpandd + 4 vpdpbusd
 * per 64-byte block.  Four rows share each activation load.
 *
 * With 4 tokens or more, the prefill path of ternary_simd.h decodes each row once instead
 * (codes as bytes, then vpdpbusd per token: the int8 method).
 *
 * Overflow: accumulator 3's dword lanes gain 4 products <= 128 * 127 per block, so K is
 * cut into segments of SEGMENT_BLOCKS blocks (<= 4 * 16256 * 8192 < 2^31 per lane) whose
 * rescaled sums are added with wrap-around; the final sum c x - sum x fits int32 for
 * K <= TS_MAX_K, so the wrapped arithmetic gives it exactly.
 */
#include "act_q8_simd.h"
#include "list_ternary.h"
#include "ternary_simd.h"

#include <immintrin.h>

enum { ROWS = 4, SEGMENT_BLOCKS = 8192 };

/* Sum over one segment of `nrows` rows (1..ROWS) against one token; dot[r] += result. */
static inline __attribute__((always_inline)) void
segment_dots(const uint8_t *const *wrow, const int8_t *x, size_t blocks, int nrows,
             const uint8_t *pf, __m512i *dot)
{
    const __m512i m0 = _mm512_set1_epi8(0x03), m1 = _mm512_set1_epi8(0x0c),
                  m2 = _mm512_set1_epi8(0x30), m3 = _mm512_set1_epi8((char)0xc0);
    __m512i acc[ROWS][4];
#pragma GCC unroll 8
    for (int r = 0; r < nrows; r++) {
#pragma GCC unroll 8
        for (int i = 0; i < 4; i++)
            acc[r][i] = _mm512_setzero_si512();
    }
    for (size_t b = 0, off = 0; b < blocks; b++, off += TS_BLOCK_BYTES, x += TS_TERN2_BLOCK) {
        if (pf) {
            ts_prefetch(pf, nrows);
            pf += nrows * TS_BLOCK_BYTES;
        }
        __m512i x0 = _mm512_load_si512(x), x1 = _mm512_load_si512(x + 64),
                x2 = _mm512_load_si512(x + 128), x3 = _mm512_load_si512(x + 192);
#pragma GCC unroll 8
        for (int r = 0; r < nrows; r++) {
            __m512i w = _mm512_load_si512(wrow[r] + off);
            acc[r][0] = _mm512_dpbusd_epi32(acc[r][0], _mm512_and_si512(w, m0), x0);
            acc[r][1] = _mm512_dpbusd_epi32(acc[r][1], _mm512_and_si512(w, m1), x1);
            acc[r][2] = _mm512_dpbusd_epi32(acc[r][2], _mm512_and_si512(w, m2), x2);
            acc[r][3] = _mm512_dpbusd_epi32(acc[r][3], _mm512_and_si512(w, m3), x3);
        }
    }
#pragma GCC unroll 8
    for (int r = 0; r < nrows; r++) {
        __m512i s = _mm512_add_epi32(acc[r][0], _mm512_srai_epi32(acc[r][1], 2));
        s = _mm512_add_epi32(s, _mm512_srai_epi32(acc[r][2], 4));
        s = _mm512_add_epi32(s, _mm512_srai_epi32(acc[r][3], 6));
        dot[r] = _mm512_add_epi32(dot[r], s);
    }
}

static inline __attribute__((always_inline)) void
dots(const uint8_t *const *wrow, const int8_t *x, size_t blocks, int nrows, const uint8_t *pf,
     int64_t *out)
{
    ts_segmented_dots(wrow, x, blocks, nrows, pf, out, SEGMENT_BLOCKS, TS_TERN2_BLOCK,
                      segment_dots);
}

static inline __attribute__((always_inline)) void row_group(const tern_job *j, const uint8_t *w,
                                                            float *y, int nrows)
{
    ts_token_passes(j, w, y, nrows, dots, 0, 1);
}

/* Prefill: the codes of `blocks` blocks as bytes in weight order (lane i of byte j is weight
 * 64 i + j of its block). */
static void decode_codes(const uint8_t *row, size_t blocks, uint8_t *codes)
{
    const __m512i three = _mm512_set1_epi8(3);
    for (size_t b = 0; b < blocks; b++, row += TS_BLOCK_BYTES, codes += TS_TERN2_BLOCK) {
        __m512i w = _mm512_load_si512(row);
        _mm512_store_si512(codes, _mm512_and_si512(w, three));
        _mm512_store_si512(codes + 64, _mm512_and_si512(_mm512_srli_epi16(w, 2), three));
        _mm512_store_si512(codes + 128, _mm512_and_si512(_mm512_srli_epi16(w, 4), three));
        _mm512_store_si512(codes + 192, _mm512_and_si512(_mm512_srli_epi16(w, 6), three));
    }
}

void bb_tern2_avx512_madd_rows(const tern_job *j);

/* no-tree-pre: see tern2_avx512_addonly.c. */
__attribute__((noinline, optimize("no-tree-pre"))) void bb_tern2_avx512_madd_rows(const tern_job *j)
{
    if (j->n >= TS_PF_TOKENS)
        ts_prefill_rows(j, TS_TERN2_BLOCK, decode_codes);
    else
        TS_FOR_ROW_GROUPS(j, ROWS, row_group);
}

static void gemm_rows(const bb_gemm_args *a, size_t r0, size_t r1)
{
    ts_gemm_rows(a, r0, r1, "tern2-avx512-madd", TS_TERN2_BLOCK, 0, bb_tern2_avx512_madd_rows);
}

const bb_kernel bb_kernel_tern2_avx512_madd = {
    .name = "tern2-avx512-madd",
    .format = BB_FMT_TERN2,
    .method = "madd",
    .isa = BB_ISA_AVX512,
    .needs = BB_ISA_MASK_AVX512,
    .priority = 30,
    .multiply_free = false,
    .hot_symbol = "bb_tern2_avx512_madd_rows",
    .row_block = ROWS,
    .act_bytes = bb_act_q8_bytes,
    .prepare_act = bb_act_q8_prepare_avx512,
    .gemm_rows = gemm_rows,
};
