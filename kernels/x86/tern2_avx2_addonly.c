/*
 * kernels/x86/tern2_avx2_addonly.c - tern2 without multiplies on AVX2: vpsignb applies each
 * weight to its activation (keep, negate or zero - no multiply), vpsadbw sums the bytes.
 *
 * Own layout (repack): the canonical bit positions, but each 2-bit code rewritten as the
 * top two bits of a signed byte: +1 -> 01, -1 -> 11, 0 -> 00.  Shifting lane i to bits 6..7
 * (one 16-bit shift; the bits a byte receives from its neighbour land below bit 6) and
 * masking with 0xc0 gives 0x40, 0xc0 or 0 - positive, negative or zero - exactly what
 * vpsignb reads.  Same bytes as the canonical layout.
 *
 * Sum: t = sign(x, w) in -127..127; t ^ 0x80 = t + 128 is an unsigned byte, and vpsadbw
 * against zero adds 8 of them into a 64-bit lane, so sum over k_padded weights of (w x) =
 * SAD total - 128 k_padded (padding weights are zero, their t + 128 = 128 counted there).
 * Per 32 bytes (128 weights): 3 shifts + 4 ANDs, then 4 x (vpsignb, vpxor, vpsadbw, vpaddq).
 */
#include "act_q8_simd.h"
#include "list_ternary.h"
#include "ternary_simd.h"

#include <immintrin.h>

enum { ROWS = 2 };

/* ------------------------------------------------------------------ layout */

static size_t layout_bytes(const bb_weights *w) { return w->m * w->row_bytes; }

static void repack(const bb_weights *w, void *layout)
{
    /* canonical code 0 (-1) -> 3, 1 (0) -> 0, 2 (+1) -> 1 */
    static const uint8_t signed_code[4] = {3, 0, 1, 0};
    const uint8_t *src = w->data;
    uint8_t *dst = layout;
    for (size_t i = 0; i < w->m * w->row_bytes; i++) {
        unsigned out = 0;
        for (int lane = 0; lane < 4; lane++)
            out |= (unsigned)signed_code[(src[i] >> (2 * lane)) & 3u] << (2 * lane);
        dst[i] = (uint8_t)out;
    }
}

/* ------------------------------------------------------------------ kernel */

static inline __attribute__((always_inline)) __m256i
signed_sum(__m256i acc, __m256i sign_byte, const int8_t *x)
{
    const __m256i bias = _mm256_set1_epi8((char)0x80);
    __m256i t = _mm256_sign_epi8(_mm256_load_si256((const __m256i *)x), sign_byte);
    return _mm256_add_epi64(acc, _mm256_sad_epu8(_mm256_xor_si256(t, bias), _mm256_setzero_si256()));
}

/* One 32-byte half block of one row: 128 weights, lane i against x + 64 i. */
static inline __attribute__((always_inline)) __m256i half_block(__m256i acc, __m256i w,
                                                                const int8_t *x)
{
    const __m256i top = _mm256_set1_epi8((char)0xc0);
    acc = signed_sum(acc, _mm256_and_si256(_mm256_slli_epi16(w, 6), top), x);
    acc = signed_sum(acc, _mm256_and_si256(_mm256_slli_epi16(w, 4), top), x + 64);
    acc = signed_sum(acc, _mm256_and_si256(_mm256_slli_epi16(w, 2), top), x + 128);
    return signed_sum(acc, _mm256_and_si256(w, top), x + 192);
}

static inline __attribute__((always_inline)) void
row_dots(const uint8_t *const *wrow, const int8_t *x, size_t blocks, int nrows, const uint8_t *pf,
         int64_t *out)
{
    ts_sad_dots(wrow, x, blocks, nrows, pf, out, TS_TERN2_BLOCK, half_block);
}

static inline __attribute__((always_inline)) void row_group(const tern_job *j, const uint8_t *w,
                                                            float *y, int nrows)
{
    /* t + 128 was summed for every weight of the row: blocks * 256 * 128, as a shift */
    ts_token_passes(j, w, y, nrows, row_dots, (int64_t)(j->blocks << 15), 0);
}

void bb_tern2_avx2_addonly_rows(const tern_job *j);

/* no-tree-pre: see tern2_avx512_addonly.c. */
__attribute__((noinline, optimize("no-tree-pre"))) void bb_tern2_avx2_addonly_rows(const tern_job *j)
{
    TS_FOR_ROW_GROUPS(j, ROWS, row_group);
}

static void gemm_rows(const bb_gemm_args *a, size_t r0, size_t r1)
{
    ts_gemm_rows(a, r0, r1, "tern2-avx2-addonly", TS_TERN2_BLOCK, 0, bb_tern2_avx2_addonly_rows);
}

const bb_kernel bb_kernel_tern2_avx2_addonly = {
    .name = "tern2-avx2-addonly",
    .format = BB_FMT_TERN2,
    .method = "addonly",
    .isa = BB_ISA_AVX2,
    .needs = BB_ISA_MASK_AVX2,
    .priority = 8,
    .multiply_free = true,
    .hot_symbol = "bb_tern2_avx2_addonly_rows",
    .row_block = ROWS,
    .layout_bytes = layout_bytes,
    .repack = repack,
    .act_bytes = bb_act_q8_bytes,
    .prepare_act = bb_act_q8_prepare_avx2,
    .gemm_rows = gemm_rows,
};
