/*
 * kernels/x86/pot_avx512_mul.c - pot4, pot5, pot6 by multiply-accumulate (AVX-512 VNNI):
 * each code is decoded by a table lookup into its integer weight and multiplied with the
 * int8 activations by vpdpbusd, 64 weights per instruction, so the same codes as in
 * pot_avx512_shift.c go through the multiplier instead of the shifter.  All three read
 * the canonical layout as is (no repack).
 *
 * vpdpbusd multiplies unsigned bytes by signed bytes, four products summed into each
 * int32 lane.  A weight +-2^s with s up to emax does not fit a byte from pot5 on, so the
 * exponent range is cut into byte streams of 8 exponents each: stream k holds
 * |w| / 2^(8k) = 2^(s - 8k) (1..128) for the weights with 8k <= s < 8k + 8, and 0 for the
 * others; the sign goes onto the activations (a masked vpsubb per 64 weights, no
 * overflow since |q| <= 127); and dot = sum_k 2^(8k) S_k over the streams' sums S_k.
 *   pot4: one stream; |w| <= 64 and the sign fits the table instead: the byte is w + 64
 *         (0..128), and sum (w + 64) q = dot + 64 sum q, with sum q from the quantizer.
 *   pot5: two streams (s = 0..7, 8..14); the sign mask is the canonical sign plane itself
 *         (bit i = weight i), loaded into a mask register per 64 weights (kmovq).
 *   pot6: four streams (s = 0..7, .., 24..30).  The table index is the whole 6-bit code,
 *         assembled per 64 weights by one word shift of the code-bit-4/5 byte pairs
 *         (broadcast to both halves, shifted by a per-half count) and one vpternlogd with
 *         the nibbles; the sign mask is one vptestmb of the index.
 * The lookups are vpermb over a 64-entry table, which ignores index bits 6..7, so the
 * nibbles need no mask (the tables repeat over the bits they do not use).
 *
 * Per 128 weights: pot4 1 shift, 2 vpermb, 2 vpdpbusd; pot5 1 shift, 4 vpermb, 2 masked
 * vpsubb, 4 vpdpbusd; pot6 3 shifts, 2 vpternlogd, 2 vptestmb, 2 masked vpsubb, 8 vpermb,
 * 8 vpdpbusd.  int32 lanes gain at most 2 x 4 x 128 x 127 < 2^17 per block and stream, so
 * SEG = 8192 blocks (< 2^30) before they are widened into int64.
 */
#include "act_q8_simd.h"
#include "list_pot.h"
#include "pot_simd.h"

#include <immintrin.h>

enum { SEG = 8192, MAX_STREAMS = 4 };

#define ALWAYS_INLINE static inline __attribute__((always_inline))
/* Small loops over streams and tokens must unroll fully, so that their arrays live in
 * registers (GCC at -O2 keeps them rolled, with the arrays on the stack). */
#define UNROLL _Pragma("GCC unroll 8")

/* ------------------------------------------------------------------ tables */

/* tables[b - 4][k][i]: the byte of stream k for table index i (see the top of the file);
 * filled before main from the code definition (pot_mul_tables_init) and only read after. */
static uint8_t tables[3][MAX_STREAMS][64];

static unsigned streams_of(unsigned bits) { return bits == 4 ? 1 : bits == 5 ? 2 : 4; }

__attribute__((constructor)) static void pot_mul_tables_init(void)
{
    for (unsigned bits = 4; bits <= 6; bits++) {
        unsigned ecode_mask = (1u << (bits - 1)) - 1, emax = (1u << (bits - 1)) - 2;
        for (unsigned i = 0; i < 64; i++) {
            unsigned code = i & ((1u << bits) - 1), ecode = code & ecode_mask;
            unsigned s = emax + 1 - ecode; /* |w| = 2^s when ecode != 0 */
            for (unsigned k = 0; k < streams_of(bits); k++) {
                unsigned byte = 0;
                if (bits == 4) { /* w + 64 */
                    int w = ecode ? 1 << s : 0;
                    byte = (unsigned)(64 + (code >> 3 ? -w : w));
                } else if (ecode != 0 && s >= 8 * k && s < 8 * k + 8) {
                    byte = 1u << (s - 8 * k);
                }
                tables[bits - 4][k][i] = (uint8_t)byte;
            }
        }
    }
}

/* ------------------------------------------------------------------ the hot loop */

/* Table indices of the 64 weights of half h (weights 64 h .. 64 h + 63) of a block whose
 * nibble plane is v: bits 0..3 = code bits 0..3, and for pot6 bits 4..5 = code bits 4..5
 * from the byte pairs (broadcast to both 256-bit halves; half h's weights j < 32 and
 * j >= 32 find their bits at different pair positions, hence a per-half word shift). */
ALWAYS_INLINE __m512i half_index(unsigned bits, __m512i v, __m512i pairs, int h)
{
    __m512i nibbles = h ? _mm512_srli_epi16(v, 4) : v;
    if (bits != 6)
        return nibbles; /* the tables repeat over bits 4..5 */
    /* groups 0, 1 (h = 0): bits 0..1 and 2..3 up to 4..5; groups 2, 3: 4..5 stay, 6..7 down */
    __m512i up = _mm512_inserti64x4(_mm512_set1_epi16(4), _mm256_set1_epi16(2), 1);
    __m512i down = _mm512_inserti64x4(_mm512_setzero_si512(), _mm256_set1_epi16(2), 1);
    __m512i high = h ? _mm512_srlv_epi16(pairs, down) : _mm512_sllv_epi16(pairs, up);
    /* vpternlogd "c ? a : b": bits 0..3 from the nibbles, the rest from the pairs */
    return _mm512_ternarylogic_epi32(nibbles, high, _mm512_set1_epi8(0x0f), 0xe4);
}

ALWAYS_INLINE void mul_tile(unsigned bits, const uint8_t *w, size_t blocks, const void *const *xv,
                            unsigned ntok, int64_t *dot)
{
    const unsigned streams = streams_of(bits), block_bytes = 16 * bits;
    /* one accumulator per stream and half while registers allow: independent chains */
    const unsigned halves = streams * 2 * ntok <= 16 ? 2 : 1;
    const __m512i zero = _mm512_setzero_si512();
    __m512i lut[MAX_STREAMS];
    UNROLL
    for (unsigned k = 0; k < streams; k++)
        lut[k] = _mm512_loadu_si512(tables[bits - 4][k]);
    const int8_t *x[POT_TILE];
    __m512i acc64[POT_TILE][MAX_STREAMS];
    UNROLL
    for (unsigned t = 0; t < ntok; t++) {
        x[t] = xv[t];
        UNROLL
        for (unsigned k = 0; k < streams; k++)
            acc64[t][k] = zero;
    }
    for (size_t left = blocks; left;) {
        size_t seg = left < SEG ? left : SEG;
        left -= seg;
        __m512i acc[POT_TILE][MAX_STREAMS][2];
        UNROLL
        for (unsigned t = 0; t < ntok; t++)
            UNROLL
            for (unsigned k = 0; k < streams; k++)
                acc[t][k][0] = acc[t][k][1] = zero;
        for (size_t b = seg; b; b--, w += block_bytes) {
            pot_prefetch_block(w, block_bytes);
            __m512i v = _mm512_loadu_si512(w), pairs = zero;
            if (bits == 6)
                pairs = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(w + 64)));
            UNROLL
            for (int h = 0; h < 2; h++) {
                __m512i idx = half_index(bits, v, pairs, h), wk[MAX_STREAMS];
                __mmask64 neg = 0;
                if (bits == 5)
                    neg = pot_mask64(w + 64 + 8 * h);
                else if (bits == 6)
                    neg = _mm512_test_epi8_mask(idx, _mm512_set1_epi8(0x20));
                UNROLL
                for (unsigned k = 0; k < streams; k++)
                    wk[k] = _mm512_permutexvar_epi8(idx, lut[k]);
                UNROLL
                for (unsigned t = 0; t < ntok; t++) {
                    __m512i xh = _mm512_loadu_si512(x[t] + 64 * h);
                    if (bits != 4)
                        xh = _mm512_mask_sub_epi8(xh, neg, zero, xh);
                    UNROLL
                    for (unsigned k = 0; k < streams; k++)
                        acc[t][k][h % halves] = _mm512_dpbusd_epi32(acc[t][k][h % halves], wk[k], xh);
                }
            }
            UNROLL
            for (unsigned t = 0; t < ntok; t++)
                x[t] += POT_BLOCK;
        }
        UNROLL
        for (unsigned t = 0; t < ntok; t++)
            UNROLL
            for (unsigned k = 0; k < streams; k++) {
                acc64[t][k] = pot_widen_add_epi32(acc64[t][k], acc[t][k][0]);
                if (halves == 2)
                    acc64[t][k] = pot_widen_add_epi32(acc64[t][k], acc[t][k][1]);
            }
    }
    UNROLL
    for (unsigned t = 0; t < ntok; t++) {
        int64_t d = 0;
        UNROLL
        for (unsigned k = 0; k < streams; k++)
            d += _mm512_reduce_add_epi64(acc64[t][k]) * ((int64_t)1 << (8 * k));
        dot[t] = d;
    }
}

POT_DOT_FUNCTION(bb_pot4_avx512_mul_dot, mul_tile, 4, 4)
POT_DOT_FUNCTION(bb_pot5_avx512_mul_dot, mul_tile, 5, 4)
POT_DOT_FUNCTION(bb_pot6_avx512_mul_dot, mul_tile, 6, 4)

/* ------------------------------------------------------------------ kernel table */

#define POT_AVX512_MUL(bits, bias)                                                              \
    POT_KERNEL(bits, avx512, BB_ISA_AVX512, mul, 30, false, POT_X_Q8, bias,                     \
               BB_ISA_MASK_AVX512,                                       \
               NULL, NULL, bb_act_q8_bytes, bb_act_q8_prepare_avx512)
POT_AVX512_MUL(4, 64)
POT_AVX512_MUL(5, 0)
POT_AVX512_MUL(6, 0)
