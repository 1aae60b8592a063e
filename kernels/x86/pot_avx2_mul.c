/*
 * kernels/x86/pot_avx2_mul.c - pot4, pot5, pot6 by multiply-accumulate (AVX2): each code
 * is decoded by a 16-entry byte table (vpshufb) into its weight, and vpmaddubsw
 * multiplies those unsigned bytes with the int8 activations (pairs summed into int16),
 * vpmaddwd against ones widens the pairs into int32.  Canonical layouts, no repack.
 * The same byte streams as pot_avx512_mul.c: stream k holds 2^(s - 8k) for the weights
 * |w| = 2^s with 8k <= s < 8k + 8, and dot = sum_k 2^(8k) S_k.
 *   pot4: one stream of w + 64 (0..128; the table covers the sign), corrected by
 *         64 sum q.
 *   pot5: two streams from the ecode nibble; the sign plane is expanded to a byte mask M
 *         (vpbroadcastd, vpshufb, vpand, vpcmpeqb per 32 weights) and applied to the
 *         activations as (q ^ M) - M.
 *   pot6: four streams.  The nibble holds only 4 of the 5 ecode bits, so bit 4 (from the
 *         byte pairs, as a byte mask B) routes the activations instead: streams 3 and 2
 *         (ecode bit 4 clear, s = 16..30) see q & ~B, streams 1 and 0 (s = 0..15) q & B;
 *         streams 2 and 0 share one table.
 * vpmaddubsw saturates at +-32767, out of reach: a pair is at most 2 * 128 * 127 = 32512.
 * Per 32 weights: pot4 5 to 6 instructions, pot5 about 14, pot6 about 24.
 * int32 lanes gain at most 4 x 2 x 32512 < 2^18 per block and stream: SEG = 4096 blocks.
 */
#include "act_q8_simd.h"
#include "list_pot.h"
#include "pot_simd.h"

#include <immintrin.h>

enum { SEG = 4096, MAX_STREAMS = 4 };

#define ALWAYS_INLINE static inline __attribute__((always_inline))
#define UNROLL _Pragma("GCC unroll 8")

/* ------------------------------------------------------------------ tables */

/* tables[b - 4][k]: stream k's byte for each nibble (both 128-bit lanes, for vpshufb).
 * pot6 streams are indexed by the nibble alone; their ecode bit 4 is fixed per stream
 * (clear for 3 and 2, set for 1 and 0).  Filled before main, only read after. */
static uint8_t tables[3][MAX_STREAMS][32];

static unsigned streams_of(unsigned bits) { return bits == 4 ? 1 : bits == 5 ? 2 : 4; }

__attribute__((constructor)) static void pot_avx2_mul_tables_init(void)
{
    for (unsigned bits = 4; bits <= 6; bits++) {
        unsigned emax = (1u << (bits - 1)) - 2;
        for (unsigned k = 0; k < streams_of(bits); k++)
            for (unsigned n = 0; n < 16; n++) {
                unsigned byte = 0;
                if (bits == 4) { /* n is the whole code */
                    unsigned ecode = n & 7;
                    int w = ecode ? 1 << (emax + 1 - ecode) : 0;
                    byte = (unsigned)(64 + (n & 8 ? -w : w));
                } else {
                    unsigned ecode = bits == 6 && k < 2 ? 16 + n : n; /* pot5: n is the ecode */
                    unsigned s = emax + 1 - ecode;
                    if (ecode != 0 && s >= 8 * k && s < 8 * k + 8)
                        byte = 1u << (s - 8 * k);
                }
                tables[bits - 4][k][n] = tables[bits - 4][k][n + 16] = (uint8_t)byte;
            }
    }
}

/* ------------------------------------------------------------------ the hot loop */

ALWAYS_INLINE __m256i madd_bytes(__m256i u8, __m256i s8)
{
    return _mm256_madd_epi16(_mm256_maddubs_epi16(u8, s8), _mm256_set1_epi16(1));
}

ALWAYS_INLINE void mul_tile(unsigned bits, const uint8_t *w, size_t blocks, const void *const *xv,
                            unsigned ntok, int64_t *dot)
{
    const unsigned streams = streams_of(bits), block_bytes = 16 * bits;
    __m256i lut[MAX_STREAMS];
    UNROLL
    for (unsigned k = 0; k < streams; k++)
        lut[k] = _mm256_loadu_si256((const __m256i *)tables[bits - 4][k]);
    const int8_t *x[POT_TILE];
    __m256i acc64[POT_TILE][MAX_STREAMS];
    UNROLL
    for (unsigned t = 0; t < ntok; t++) {
        x[t] = xv[t];
        UNROLL
        for (unsigned k = 0; k < streams; k++)
            acc64[t][k] = _mm256_setzero_si256();
    }
    for (size_t left = blocks; left;) {
        size_t seg = left < SEG ? left : SEG;
        left -= seg;
        __m256i acc[POT_TILE][MAX_STREAMS];
        UNROLL
        for (unsigned t = 0; t < ntok; t++)
            UNROLL
            for (unsigned k = 0; k < streams; k++)
                acc[t][k] = _mm256_setzero_si256();
        for (size_t b = seg; b; b--, w += block_bytes) {
            pot_prefetch_block(w, block_bytes);
            __m256i pairs = bits == 6 ? _mm256_loadu_si256((const __m256i *)(w + 64))
                                      : _mm256_setzero_si256();
            UNROLL
            for (int g = 0; g < 4; g++) {
                __m256i n = pot_avx2_group_nibbles(w, g), wk[MAX_STREAMS], neg = _mm256_setzero_si256(),
                        low = _mm256_setzero_si256();
                UNROLL
                for (unsigned k = 0; k < streams; k++)
                    wk[k] = _mm256_shuffle_epi8(lut[k], n);
                if (bits == 5)
                    neg = pot_avx2_bits_to_bytes(w + 64 + 4 * g);
                if (bits == 6) {
                    low = pot_avx2_bytes_with(pairs, 1 << (2 * g));  /* ecode bit 4 set: s < 16 */
                    neg = pot_avx2_bytes_with(pairs, 2 << (2 * g));
                }
                UNROLL
                for (unsigned t = 0; t < ntok; t++) {
                    __m256i xg = _mm256_loadu_si256((const __m256i *)(x[t] + 32 * g));
                    if (bits == 4) {
                        acc[t][0] = _mm256_add_epi32(acc[t][0], madd_bytes(wk[0], xg));
                        continue;
                    }
                    xg = _mm256_sub_epi8(_mm256_xor_si256(xg, neg), neg);
                    if (bits == 5) {
                        acc[t][0] = _mm256_add_epi32(acc[t][0], madd_bytes(wk[0], xg));
                        acc[t][1] = _mm256_add_epi32(acc[t][1], madd_bytes(wk[1], xg));
                    } else {
                        __m256i xl = _mm256_and_si256(xg, low), xh = _mm256_andnot_si256(low, xg);
                        acc[t][0] = _mm256_add_epi32(acc[t][0], madd_bytes(wk[0], xl));
                        acc[t][1] = _mm256_add_epi32(acc[t][1], madd_bytes(wk[1], xl));
                        acc[t][2] = _mm256_add_epi32(acc[t][2], madd_bytes(wk[2], xh));
                        acc[t][3] = _mm256_add_epi32(acc[t][3], madd_bytes(wk[3], xh));
                    }
                }
            }
            UNROLL
            for (unsigned t = 0; t < ntok; t++)
                x[t] += POT_BLOCK;
        }
        UNROLL
        for (unsigned t = 0; t < ntok; t++)
            UNROLL
            for (unsigned k = 0; k < streams; k++)
                acc64[t][k] = pot_widen_add_epi32_avx2(acc64[t][k], acc[t][k]);
    }
    UNROLL
    for (unsigned t = 0; t < ntok; t++) {
        int64_t d = 0;
        UNROLL
        for (unsigned k = 0; k < streams; k++)
            d += pot_hsum_epi64_avx2(acc64[t][k]) * ((int64_t)1 << (8 * k));
        dot[t] = d;
    }
}

/* AVX2 has 16 vector registers: pot6 takes two tokens per pass, the others four. */
POT_DOT_FUNCTION(bb_pot4_avx2_mul_dot, mul_tile, 4, 4)
POT_DOT_FUNCTION(bb_pot5_avx2_mul_dot, mul_tile, 5, 4)
POT_DOT_FUNCTION(bb_pot6_avx2_mul_dot, mul_tile, 6, 2)

/* ------------------------------------------------------------------ kernel table */

#define POT_AVX2_MUL(bits, bias)                                                                \
    POT_KERNEL(bits, avx2, BB_ISA_AVX2, mul, 15, false, POT_X_Q8, bias,                         \
               BB_ISA_MASK_AVX2, NULL, NULL, bb_act_q8_bytes,                                  \
               bb_act_q8_prepare_avx2)
POT_AVX2_MUL(4, 64)
POT_AVX2_MUL(5, 0)
POT_AVX2_MUL(6, 0)
