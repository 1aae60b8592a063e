/*
 * kernels/x86/tern1_6_avx512_madd.c - tern1.6 by multiply-add: AVX-512 VNNI vpdpbusd on the
 * canonical layout, with no trit extraction at all.
 *
 * A canonical byte gives trit t as c_t = (3 v_t) >> 8 with v_t = byte * 3^t mod 256
 * (kernels/ref/ternary.c), i.e. 3 v_t = v_{t+1} + 256 c_t.  So 256 c_t = 3 v_t - v_{t+1},
 * which is linear in the bytes v_t, and over a row
 *   256 sum_t c_t x_t = 3 A - B,  A = sum_t v_t x_t,  B = sum_t v_{t+1} x_t
 * (x_t: the activations of trit t).  v_t are unsigned bytes, x signed: two vpdpbusd per 64
 * trits, and v_{t+1} = v_t + v_t + v_t (two vpaddb, wrapping mod 256 as required).  Per
 * 64-byte block (320 weights): 10 vpaddb + 10 vpdpbusd, no shift, no mask, no compare.
 * The identity holds per product, so 3 A - B is a multiple of 256 in every dword lane and
 * the arithmetic shift by 8 is exact; then sum (c - 1) x = sum c x - sum x as for tern2.
 *
 * With 4 tokens or more, the prefill path of ternary_simd.h decodes each row once instead
 * (trits as code bytes, then vpdpbusd per token: the int8 method).
 *
 * Overflow: an A lane gains at most 5 * 4 * 255 * 127 per block and 3 A must fit int32, so
 * K is cut into segments of SEGMENT_BLOCKS = 1024 blocks (3 * 1024 * 647700 < 2^31); the
 * segments' (3 A - B) >> 8 add with wrap-around into a result that fits int32.
 */
#include "act_q8_simd.h"
#include "list_ternary.h"
#include "ternary_simd.h"

#include <immintrin.h>

enum { ROWS = 4, SEGMENT_BLOCKS = 1024 };

static inline __m512i times3(__m512i v) { return _mm512_add_epi8(_mm512_add_epi8(v, v), v); }

static inline __attribute__((always_inline)) void
segment_dots(const uint8_t *const *wrow, const int8_t *x, size_t blocks, int nrows,
             const uint8_t *pf, __m512i *dot)
{
    __m512i a[ROWS], b[ROWS];
#pragma GCC unroll 8
    for (int r = 0; r < nrows; r++)
        a[r] = b[r] = _mm512_setzero_si512();
    for (size_t k = 0, off = 0; k < blocks; k++, off += TS_BLOCK_BYTES, x += TS_TERN1_6_BLOCK) {
        if (pf) {
            ts_prefetch(pf, nrows);
            pf += nrows * TS_BLOCK_BYTES;
        }
        __m512i xt[TS_TRITS];
#pragma GCC unroll 8
        for (int t = 0; t < TS_TRITS; t++)
            xt[t] = _mm512_load_si512(x + TS_LANE * t);
#pragma GCC unroll 8
        for (int r = 0; r < nrows; r++) {
            __m512i v = _mm512_load_si512(wrow[r] + off);
#pragma GCC unroll 8
            for (int t = 0; t < TS_TRITS; t++) {
                a[r] = _mm512_dpbusd_epi32(a[r], v, xt[t]);
                v = times3(v);
                b[r] = _mm512_dpbusd_epi32(b[r], v, xt[t]);
            }
        }
    }
#pragma GCC unroll 8
    for (int r = 0; r < nrows; r++) {
        __m512i a3 = _mm512_add_epi32(_mm512_add_epi32(a[r], a[r]), a[r]);
        dot[r] = _mm512_add_epi32(dot[r], _mm512_srai_epi32(_mm512_sub_epi32(a3, b[r]), 8));
    }
}

static inline __attribute__((always_inline)) void
dots(const uint8_t *const *wrow, const int8_t *x, size_t blocks, int nrows, const uint8_t *pf,
     int64_t *out)
{
    ts_segmented_dots(wrow, x, blocks, nrows, pf, out, SEGMENT_BLOCKS, TS_TERN1_6_BLOCK,
                      segment_dots);
}

static inline __attribute__((always_inline)) void row_group(const tern_job *j, const uint8_t *w,
                                                            float *y, int nrows)
{
    ts_token_passes(j, w, y, nrows, dots, 0, 1);
}

/* Prefill: the trits of `blocks` blocks as code bytes in weight order (trit t of byte j is
 * weight 64 t + j of its block): c = [v >= 86] + [v >= 171], v <- 3 v. */
static void decode_codes(const uint8_t *row, size_t blocks, uint8_t *codes)
{
    const __m512i one = _mm512_set1_epi8(1), c86 = _mm512_set1_epi8(86),
                  c171 = _mm512_set1_epi8((char)171);
    for (size_t b = 0; b < blocks; b++, row += TS_BLOCK_BYTES) {
        __m512i v = _mm512_load_si512(row);
        for (int t = 0; t < TS_TRITS; t++, codes += TS_LANE) {
            __m512i c = _mm512_maskz_mov_epi8(_mm512_cmpge_epu8_mask(v, c86), one);
            c = _mm512_mask_add_epi8(c, _mm512_cmpge_epu8_mask(v, c171), c, one);
            _mm512_store_si512(codes, c);
            v = times3(v);
        }
    }
}

void bb_tern1_6_avx512_madd_rows(const tern_job *j);

/* no-tree-pre: see tern2_avx512_addonly.c. */
__attribute__((noinline, optimize("no-tree-pre"))) void bb_tern1_6_avx512_madd_rows(const tern_job *j)
{
    if (j->n >= TS_PF_TOKENS)
        ts_prefill_rows(j, TS_TERN1_6_BLOCK, decode_codes);
    else
        TS_FOR_ROW_GROUPS(j, ROWS, row_group);
}

static void gemm_rows(const bb_gemm_args *a, size_t r0, size_t r1)
{
    ts_gemm_rows(a, r0, r1, "tern1.6-avx512-madd", TS_TERN1_6_BLOCK, 0, bb_tern1_6_avx512_madd_rows);
}

const bb_kernel bb_kernel_tern1_6_avx512_madd = {
    .name = "tern1.6-avx512-madd",
    .format = BB_FMT_TERN1_6,
    .method = "madd",
    .isa = BB_ISA_AVX512,
    .needs = BB_ISA_MASK_AVX512,
    .priority = 30,
    .multiply_free = false,
    .hot_symbol = "bb_tern1_6_avx512_madd_rows",
    .row_block = ROWS,
    .act_bytes = bb_act_q8_bytes,
    .prepare_act = bb_act_q8_prepare_avx512,
    .gemm_rows = gemm_rows,
};
