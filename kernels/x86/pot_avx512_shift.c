/*
 * kernels/x86/pot_avx512_shift.c - pot4, pot5, pot6 by variable shifts (AVX-512 BW):
 * every term is +-(q << (emax - e)) computed with vpsllvw / vpsllvd, the sign applied by a
 * masked subtraction from zero, and no multiply instruction anywhere in the hot functions
 * (.multiply_free, checked by `make check-addonly`).  The weights are repacked once into
 * the lane layouts of pot_simd.h.
 *
 * Shift counts come from a table lookup on the code (vpermb / vpermd: a permute that
 * ignores the index bits above the table, so no mask is needed after the nibble shift).
 * A zero weight gets a count past the lane width, for which the variable shifts return 0
 * - so zero weights need no mask either.
 *
 * pot4 (word nibbles): 32 weights per vpsllvw.  A term is below 127 * 2^6 < 2^13, so the
 * four terms of a word lane in one block (groups 0..3) sum to |s| <= 32512 in int16.
 * The int16 block sum s is then widened without sign extension: s + 0x8000 is in
 * 0..65535, so the dword lane A += (lo + 2^16 hi) and H += hi (both offset by 2^15)
 * accumulate every block; at the end lo_sum = A - 2^16 H (mod 2^32, exact while
 * lo_sum < 2^32) and the dot is lo_sum + H - 2^16 per dword lane and block.
 * Per 32 weights: nibble shift, vpermb, vptestmw (sign), masked vpsubw, vpsllvw, vpaddw.
 *
 * pot5 (dword nibbles + sign plane): 16 weights per vpsllvd; |term| < 127 * 2^14 < 2^21,
 * eight terms per dword lane and block, so int32 lanes hold SEG5 = 64 blocks
 * (< 2^30) before they are widened into int64.  The sign mask is loaded from the plane
 * (kmovw), no compare.  Per 16 weights: shift, vpermd, masked vpsubd, vpsllvd, vpaddd.
 *
 * pot6 (dword nibbles + ecode-bit-4 plane + sign plane): a term q << s with s up to 30
 * does not fit int32, so the exponent range is split in two: ecode bit 4 set means
 * s = 15 - c (c = the nibble), clear means s = 16 + (15 - c) (zero weight when c = 0).
 * Both halves shift by 15 - c (< 2^22 per term); the count is looked up for the high
 * half and overwritten for the low half (masked by the bit-4 plane).  A sums all terms and
 * B (a masked add) the low-range ones, and dot = 2^16 (A - B) + B.  SEG6 = 32 blocks per int32
 * segment (8 terms < 2^22 per lane and block).
 */
#include "act_q8_simd.h"
#include "list_pot.h"
#include "pot_simd.h"

#include <immintrin.h>

enum {
    SEG4 = 16384, /* blocks: lo_sum < 2^16 * SEG4 < 2^32, H < 2^16 * SEG4 < 2^31 */
    SEG5 = 64,
    SEG6 = 32,
};

#define ALWAYS_INLINE static inline __attribute__((always_inline))
/* Small loops over groups and tokens must unroll fully, so that their arrays live in
 * registers (GCC at -O2 keeps them rolled, with the arrays on the stack). */
#define UNROLL _Pragma("GCC unroll 8")

/* ------------------------------------------------------------------ pot4 */

/* Count for a 4-bit code: 7 - ecode, or 16 (shifts everything out) for ecode 0.  A byte
 * table for vpermb, which reads 6 index bits: entry i serves code i & 15.  The low byte
 * of each word indexes it and the high byte is zeroed by the permute's mask, which leaves
 * the count as a word (a word table for vpermw would serve as well: both measured one
 * instruction per cycle here). */
#define POT4_COUNTS 16, 6, 5, 4, 3, 2, 1, 0, 16, 6, 5, 4, 3, 2, 1, 0
static const uint8_t POT4_COUNT[64] = {POT4_COUNTS, POT4_COUNTS, POT4_COUNTS, POT4_COUNTS};
#define LOW_BYTES 0x5555555555555555ull

/* Signed term sum of one word-nibble block for one token: bias + sum of 4 groups. */
ALWAYS_INLINE __m512i pot4_block_sum(const int16_t *x, const __m512i c[4], const __mmask32 neg[4])
{
    const __m512i zero = _mm512_setzero_si512();
    __m512i s = _mm512_set1_epi16(INT16_MIN); /* the 2^15 offset */
    UNROLL
    for (int g = 0; g < 4; g++) {
        __m512i xg = _mm512_loadu_si512(x + 32 * g);
        __m512i signed_x = _mm512_mask_sub_epi16(xg, neg[g], zero, xg);
        s = _mm512_add_epi16(s, _mm512_sllv_epi16(signed_x, c[g]));
    }
    return s;
}

ALWAYS_INLINE void pot4_shift_tile(unsigned bits, const uint8_t *w, size_t blocks, const void *const *xv,
                                   unsigned ntok, int64_t *dot)
{
    (void)bits; /* one tile per format */
    const __m512i lut = _mm512_loadu_si512(POT4_COUNT);
    const int16_t *x[POT_TILE];
    uint64_t total[POT_TILE];
    UNROLL
    for (unsigned t = 0; t < ntok; t++) {
        x[t] = xv[t];
        total[t] = 0;
    }
    for (size_t left = blocks; left;) {
        size_t seg = left < SEG4 ? left : SEG4;
        left -= seg;
        __m512i A[POT_TILE], H[POT_TILE];
        UNROLL
        for (unsigned t = 0; t < ntok; t++)
            A[t] = H[t] = _mm512_setzero_si512();
        for (size_t b = seg; b; b--, w += 64) {
            pot_prefetch_block(w, 64);
            __m512i v = _mm512_loadu_si512(w);
            __m512i c[4] = {
                _mm512_maskz_permutexvar_epi8(LOW_BYTES, v, lut),
                _mm512_maskz_permutexvar_epi8(LOW_BYTES, _mm512_srli_epi16(v, 4), lut),
                _mm512_maskz_permutexvar_epi8(LOW_BYTES, _mm512_srli_epi16(v, 8), lut),
                _mm512_maskz_permutexvar_epi8(LOW_BYTES, _mm512_srli_epi16(v, 12), lut),
            };
            __mmask32 neg[4] = {
                _mm512_test_epi16_mask(v, _mm512_set1_epi16(0x0008)),
                _mm512_test_epi16_mask(v, _mm512_set1_epi16(0x0080)),
                _mm512_test_epi16_mask(v, _mm512_set1_epi16(0x0800)),
                _mm512_movepi16_mask(v),
            };
            UNROLL
            for (unsigned t = 0; t < ntok; t++) {
                __m512i s = pot4_block_sum(x[t], c, neg);
                A[t] = _mm512_add_epi32(A[t], s);
                H[t] = _mm512_add_epi32(H[t], _mm512_srli_epi32(s, 16));
                x[t] += POT_BLOCK;
            }
        }
        UNROLL
        for (unsigned t = 0; t < ntok; t++) {
            /* per dword lane lo_sum = A - 2^16 H (mod 2^32), both unsigned < 2^32 */
            __m512i lo = _mm512_sub_epi32(A[t], _mm512_slli_epi32(H[t], 16));
            __m512i both = _mm512_add_epi64(
                _mm512_add_epi64(_mm512_cvtepu32_epi64(_mm512_castsi512_si256(lo)),
                                 _mm512_cvtepu32_epi64(_mm512_extracti64x4_epi64(lo, 1))),
                _mm512_add_epi64(_mm512_cvtepu32_epi64(_mm512_castsi512_si256(H[t])),
                                 _mm512_cvtepu32_epi64(_mm512_extracti64x4_epi64(H[t], 1))));
            /* minus the offsets: 2^15 in each of 32 words per block */
            total[t] += (uint64_t)_mm512_reduce_add_epi64(both) - ((uint64_t)seg << 20);
        }
    }
    UNROLL
    for (unsigned t = 0; t < ntok; t++)
        dot[t] = pot_i64(total[t]);
}

POT_DOT_FUNCTION(bb_pot4_avx512_shift_dot, pot4_shift_tile, 4, 4)

/* ------------------------------------------------------------------ pot5, pot6 */

/* Count for the nibble c (pot5: the ecode; pot6: ecode bits 0..3 of a high-range weight,
 * s = 31 - c): 15 - c, or 32 (zero weight) for c = 0.  vpermd reads 4 index bits.
 * pot6's low-range count (bit 4 set, s = 15 - c) is 15 - c = ~c & 15 for every c, written
 * over the looked-up one by a masked vpandnd (a port-0/5 uop instead of a second port-5
 * permute). */
static const int32_t COUNT_DWORD[16] = {32, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0};

/* sum[t][0..1]: pot5 two accumulators of all terms (alternate groups, two add chains);
 * pot6 all terms (A) and the low-range ones (B). */
ALWAYS_INLINE void dword_shift_tile(unsigned bits, const uint8_t *w, size_t blocks,
                                    const void *const *xv, unsigned ntok, int64_t *dot)
{
    const unsigned block_bytes = 16 * bits, sign_plane = block_bytes - POT_PLANE_BYTES;
    const size_t seg_blocks = bits == 5 ? SEG5 : SEG6;
    const __m512i lut = _mm512_loadu_si512(COUNT_DWORD), fifteen = _mm512_set1_epi32(15),
                  zero = _mm512_setzero_si512();
    const int32_t *x[POT_TILE];
    __m512i sum64[POT_TILE][2];
    UNROLL
    for (unsigned t = 0; t < ntok; t++) {
        x[t] = xv[t];
        sum64[t][0] = sum64[t][1] = zero;
    }
    for (size_t left = blocks; left;) {
        size_t seg = left < seg_blocks ? left : seg_blocks;
        left -= seg;
        __m512i sum[POT_TILE][2];
        UNROLL
        for (unsigned t = 0; t < ntok; t++)
            sum[t][0] = sum[t][1] = zero;
        for (size_t b = seg; b; b--, w += block_bytes) {
            pot_prefetch_block(w, block_bytes);
            __m512i v = _mm512_loadu_si512(w);
            UNROLL
            for (int g = 0; g < 8; g++) {
                __m512i c = _mm512_srli_epi32(v, 4 * g);
                __m512i cnt = _mm512_permutexvar_epi32(c, lut);
                __mmask16 neg = pot_mask16(w + sign_plane + 2 * g), in_low = 0;
                if (bits == 6) {
                    in_low = pot_mask16(w + POT_NIBBLE_BYTES + 2 * g);
                    cnt = _mm512_mask_andnot_epi32(cnt, in_low, c, fifteen);
                }
                UNROLL
                for (unsigned t = 0; t < ntok; t++) {
                    __m512i xg = _mm512_loadu_si512(x[t] + 16 * g);
                    __m512i term = _mm512_sllv_epi32(_mm512_mask_sub_epi32(xg, neg, zero, xg), cnt);
                    if (bits == 5) {
                        sum[t][g & 1] = _mm512_add_epi32(sum[t][g & 1], term);
                    } else {
                        sum[t][0] = _mm512_add_epi32(sum[t][0], term);
                        sum[t][1] = _mm512_mask_add_epi32(sum[t][1], in_low, sum[t][1], term);
                    }
                }
            }
            UNROLL
            for (unsigned t = 0; t < ntok; t++)
                x[t] += POT_BLOCK;
        }
        UNROLL
        for (unsigned t = 0; t < ntok; t++) {
            sum64[t][0] = pot_widen_add_epi32(sum64[t][0], sum[t][0]);
            sum64[t][1] = pot_widen_add_epi32(sum64[t][1], sum[t][1]);
        }
    }
    UNROLL
    for (unsigned t = 0; t < ntok; t++) {
        /* wrap-around arithmetic; the true value is below 2^37 (pot5) or 2^53 (pot6) */
        uint64_t a = (uint64_t)_mm512_reduce_add_epi64(sum64[t][0]);
        uint64_t l = (uint64_t)_mm512_reduce_add_epi64(sum64[t][1]);
        dot[t] = pot_i64(bits == 5 ? a + l : ((a - l) << 16) + l); /* pot6: 2^16 (A - B) + B */
    }
}

POT_DOT_FUNCTION(bb_pot5_avx512_shift_dot, dword_shift_tile, 5, 4)
POT_DOT_FUNCTION(bb_pot6_avx512_shift_dot, dword_shift_tile, 6, 4)

/* ------------------------------------------------------------------ kernel table */

POT_X_ACT_FUNCS(pot_i16, POT_X_I16, bb_act_q8_prepare_avx512)
POT_X_ACT_FUNCS(pot_i32, POT_X_I32, bb_act_q8_prepare_avx512)

static void repack_word(const bb_weights *w, void *layout)
{
    pot_repack(w, layout, POT_LANES_WORD);
}
static void repack_dword(const bb_weights *w, void *layout)
{
    pot_repack(w, layout, POT_LANES_DWORD);
}

#define POT_AVX512_SHIFT(bits, x_kind, repack_fn, act)                                        \
    POT_KERNEL(bits, avx512, BB_ISA_AVX512, shift, 20, true, x_kind, 0,                         \
               BB_ISA_MASK_AVX512,                                                           \
               pot_layout_bytes, repack_fn, act##_act_bytes, act##_prepare_act)
POT_AVX512_SHIFT(4, POT_X_I16, repack_word, pot_i16)
POT_AVX512_SHIFT(5, POT_X_I32, repack_dword, pot_i32)
POT_AVX512_SHIFT(6, POT_X_I32, repack_dword, pot_i32)
