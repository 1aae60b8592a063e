/*
 * kernels/x86/pot_avx2_shift.c - pot4, pot5, pot6 by variable shifts (AVX2): vpsllvd on
 * int32 activations, signs and zeros by vpsignd, no multiply instruction in the hot
 * functions (.multiply_free, checked by `make check-addonly`).  Canonical layouts, no
 * repack.  AVX2 has no 16-bit variable shift, so every term takes a 32-bit lane: 8 per
 * instruction, against 32 for pot_avx512_shift.c's pot4.
 *
 * Per 32 weights the codes become signed bytes S = +-(c + 1) (0 for a zero weight), c the
 * shift count, by one vpshufb of the nibbles (plus, pot5 and pot6, the sign as a byte
 * mask N applied as (S ^ N) - N); they go through a 128-byte stack buffer, from which
 * vpmovsxbd widens 8 at a time.  Per 8 weights: vpabsd gives c + 1, vpsllvd shifts q by
 * it, vpsignd applies the sign of S (and zeroes where S is 0), vpaddd accumulates: the
 * sum is twice the dot product, halved exactly at the end.  (Shifting by c + 1 instead of
 * c keeps 0 free for the zero weight, so one byte carries sign, zero and count.)
 *   pot4: S from the 4-bit code alone: c + 1 = 8 - ecode <= 7.
 *   pot5: c + 1 = 16 - ecode <= 15 from the ecode nibble; the sign plane is expanded to a
 *         byte mask.  |term| <= 127 * 2^15 < 2^22.
 *   pot6: s up to 30 does not fit int32 terms, so the exponent range is split as in
 *         pot_avx512_shift.c: ecode bit 4 set (low half, s = 15 - n) or clear (high half,
 *         s = 16 + 15 - n; n = 0 is the zero weight): c = 15 - n in both, S = 16 - n but 0
 *         for a high-half n = 0 (a vpblendvb of two lookups).  A sums every term, B (ANDed
 *         with the low-half byte mask, widened like S) the low ones; dot = 2^16 (A - B) + B.
 * int32 lanes gain 16 terms per block: SEG blocks per segment keep them below 2^31 (pot4
 * 2^14 x 16 x 4096 = 2^30; pot5 2^22 x 16 x 16; pot6 2^23 x 16 x 8), then int64.
 */
#include "act_q8_simd.h"
#include "list_pot.h"
#include "pot_simd.h"

#include <immintrin.h>

#define ALWAYS_INLINE static inline __attribute__((always_inline))
#define UNROLL _Pragma("GCC unroll 16")

/* ------------------------------------------------------------------ tables */

/* Signed byte S = +-(count + 1) per nibble, both 128-bit lanes (for vpshufb). */
#define LANES2(...) {__VA_ARGS__, __VA_ARGS__}
/* pot4, by the whole code: ecode 1..7 -> 7..1, the sign bit negates; ecode 0 -> 0. */
static const int8_t S4[32] = LANES2(0, 7, 6, 5, 4, 3, 2, 1, 0, -7, -6, -5, -4, -3, -2, -1);
/* pot5, by the ecode: 16 - ecode, 0 for ecode 0. */
static const int8_t S5[32] = LANES2(0, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1);
/* pot6, by ecode bits 0..3 (n): high half 16 - n (n = 0: zero weight), low half 16 - n. */
static const int8_t S6_HIGH[32] = LANES2(0, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1);
static const int8_t S6_LOW[32] = LANES2(16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1);

/* ------------------------------------------------------------------ block decode */

/* S for the 128 weights of the block at w into s[] (and, pot6, the low-half byte mask
 * into low[]), in weight order. */
ALWAYS_INLINE void decode_block(unsigned bits, const uint8_t *w, int8_t *s, int8_t *low)
{
    __m256i pairs = bits == 6 ? _mm256_loadu_si256((const __m256i *)(w + 64)) : _mm256_setzero_si256();
    UNROLL
    for (int g = 0; g < 4; g++) {
        __m256i n = pot_avx2_group_nibbles(w, g), sg;
        if (bits == 4) {
            sg = _mm256_shuffle_epi8(_mm256_loadu_si256((const __m256i *)S4), n);
        } else {
            __m256i neg;
            if (bits == 5) {
                sg = _mm256_shuffle_epi8(_mm256_loadu_si256((const __m256i *)S5), n);
                neg = pot_avx2_bits_to_bytes(w + 64 + 4 * g);
            } else {
                __m256i in_low = pot_avx2_bytes_with(pairs, 1 << (2 * g));
                sg = _mm256_blendv_epi8(
                    _mm256_shuffle_epi8(_mm256_loadu_si256((const __m256i *)S6_HIGH), n),
                    _mm256_shuffle_epi8(_mm256_loadu_si256((const __m256i *)S6_LOW), n), in_low);
                neg = pot_avx2_bytes_with(pairs, 2 << (2 * g));
                _mm256_storeu_si256((__m256i *)(low + 32 * g), in_low);
            }
            sg = _mm256_sub_epi8(_mm256_xor_si256(sg, neg), neg);
        }
        _mm256_storeu_si256((__m256i *)(s + 32 * g), sg);
    }
}

/* ------------------------------------------------------------------ the hot loop */

ALWAYS_INLINE void shift_tile(unsigned bits, const uint8_t *w, size_t blocks, const void *const *xv,
                              unsigned ntok, int64_t *dot)
{
    const unsigned block_bytes = 16 * bits;
    const size_t seg_blocks = bits == 4 ? 4096 : bits == 5 ? 16 : 8;
    int8_t s[POT_BLOCK] __attribute__((aligned(32))), low[POT_BLOCK] __attribute__((aligned(32)));
    const int32_t *x[POT_TILE];
    __m256i all64[POT_TILE], low64[POT_TILE];
    UNROLL
    for (unsigned t = 0; t < ntok; t++) {
        x[t] = xv[t];
        all64[t] = low64[t] = _mm256_setzero_si256();
    }
    for (size_t left = blocks; left;) {
        size_t seg = left < seg_blocks ? left : seg_blocks;
        left -= seg;
        __m256i all[POT_TILE], lows[POT_TILE];
        UNROLL
        for (unsigned t = 0; t < ntok; t++)
            all[t] = lows[t] = _mm256_setzero_si256();
        for (size_t b = seg; b; b--, w += block_bytes) {
            pot_prefetch_block(w, block_bytes);
            decode_block(bits, w, s, low);
            /* Make the compiler reload s and low from memory: vpmovsxbd from memory is one
             * port-5 uop, while the register shuffles GCC otherwise uses to forward the
             * stores cost up to three (and spill: AVX2 has 16 registers). */
            __asm__ volatile("" : "+m"(*(int8_t(*)[POT_BLOCK])s), "+m"(*(int8_t(*)[POT_BLOCK])low));
            /* a partial unroll: a full one makes GCC hoist loads until it spills */
            _Pragma("GCC unroll 4")
            for (int c = 0; c < POT_BLOCK / 8; c++) {
                __m256i sv = _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(s + 8 * c)));
                __m256i count = _mm256_abs_epi32(sv), in_low = _mm256_setzero_si256();
                if (bits == 6)
                    in_low = _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(low + 8 * c)));
                UNROLL
                for (unsigned t = 0; t < ntok; t++) {
                    __m256i xc = _mm256_loadu_si256((const __m256i *)(x[t] + 8 * c));
                    __m256i term = _mm256_sign_epi32(_mm256_sllv_epi32(xc, count), sv);
                    all[t] = _mm256_add_epi32(all[t], term);
                    if (bits == 6)
                        lows[t] = _mm256_add_epi32(lows[t], _mm256_and_si256(term, in_low));
                }
            }
            UNROLL
            for (unsigned t = 0; t < ntok; t++)
                x[t] += POT_BLOCK;
        }
        UNROLL
        for (unsigned t = 0; t < ntok; t++) {
            all64[t] = pot_widen_add_epi32_avx2(all64[t], all[t]);
            if (bits == 6)
                low64[t] = pot_widen_add_epi32_avx2(low64[t], lows[t]);
        }
    }
    UNROLL
    for (unsigned t = 0; t < ntok; t++) {
        /* twice the dot product, in wrap-around arithmetic (the true value is < 2^54) */
        uint64_t twice = (uint64_t)pot_hsum_epi64_avx2(all64[t]);
        if (bits == 6) {
            uint64_t l = (uint64_t)pot_hsum_epi64_avx2(low64[t]);
            twice = ((twice - l) << 16) + l;
        }
        dot[t] = pot_i64(twice) / 2; /* even: exact */
    }
}

POT_DOT_FUNCTION(bb_pot4_avx2_shift_dot, shift_tile, 4, 4)
POT_DOT_FUNCTION(bb_pot5_avx2_shift_dot, shift_tile, 5, 4)
POT_DOT_FUNCTION(bb_pot6_avx2_shift_dot, shift_tile, 6, 4)

/* ------------------------------------------------------------------ kernel table */

POT_X_ACT_FUNCS(pot_i32, POT_X_I32, bb_act_q8_prepare_avx2)

#define POT_AVX2_SHIFT(bits)                                                                    \
    POT_KERNEL(bits, avx2, BB_ISA_AVX2, shift, 10, true, POT_X_I32, 0,                          \
               BB_ISA_MASK_AVX2, NULL, NULL, pot_i32_act_bytes,                                \
               pot_i32_prepare_act)
POT_AVX2_SHIFT(4)
POT_AVX2_SHIFT(5)
POT_AVX2_SHIFT(6)
