/*
 * kernels/x86/pot_avx512_mul.c - pot4, pot5, pot6 by multiply-accumulate (AVX-512 VNNI):
 * each code is decoded by a table lookup into the integer weight +-2^(emax - e) and
 * multiplied with the activations in vpdpbusd / vpdpwssd, so the same codes as in
 * pot_avx512_shift.c go through the multiplier instead of the shifter.
 *
 * pot4 (canonical layout, no repack): the weight +-2^(6 - e) (|w| <= 64) plus 64 is an
 * unsigned byte 0..128, looked up with vpermb (64-entry table: it ignores index bits 6..7,
 * so neither nibble needs a mask, only the high one a shift).  vpdpbusd multiplies it with
 * the int8 activations, 64 weights per instruction, and sum (w + 64) q = sum w q + 64 sum q,
 * with sum q from the quantizer: exact.  Per 128 weights: 1 shift, 2 vpermb, 2 vpdpbusd.
 * int32 lanes: 8 products <= 128 * 127 per block, SEG4 = 8192 blocks < 2^31.
 *
 * pot5 (word nibbles + sign plane): |w| = 2^(15 - ecode) <= 2^14 is an int16, looked up
 * with vpermw from the ecode nibble, negated under the sign mask (kmovd from the plane,
 * masked vpsubw), and multiplied with int16 activations by vpdpwssd (pairs summed into
 * int32).  Per 32 weights: shift, vpermw, masked vpsubw, vpdpwssd.  int32 lanes gain
 * 2 products < 2^21 per block: SEG5 = 256 blocks.
 *
 * pot6 (word nibbles + canonical byte pairs): w = +-2^(30 - e) needs 31 bits, so it is
 * split into two int16 streams, w = 2^16 hi + lo: e <= 14: hi = +-2^(14 - e); e >= 16:
 * lo = +-2^(30 - e); e = 15: +2^15 = 2^16 - 2^15 is (1, -32768) and -2^15 is (0, -32768).
 * Both halves come from 64-entry tables over the full 6-bit code (vpermt2w), whose index
 * is assembled by one vpternlogd from the nibble and the byte pairs (widened to words
 * once per block).  Per 32 weights: 2 shifts, vpternlogd, 2 vpermt2w, 2 vpdpwssd.
 * dot = 2^16 sum(hi q) + sum(lo q).  int32 lanes of the lo stream gain 2 products
 * <= 2^15 * 127 per block and accumulator: SEG6 = 64 blocks.
 */
#include "act_q8_simd.h"
#include "list_pot.h"
#include "pot_simd.h"

#include <immintrin.h>

enum { SEG4 = 8192, SEG5 = 256, SEG6 = 64 };

#define ALWAYS_INLINE static inline __attribute__((always_inline))

/* ------------------------------------------------------------------ pot4 */

/* Byte table: entry i = weight of code i & 15, plus 64. */
static uint8_t pot4_biased[64];
static void pot4_table_init(void)
{
    for (int i = 0; i < 64; i++) {
        int code = i & 15, ecode = code & 7;
        int w = ecode ? 1 << (7 - ecode) : 0;
        pot4_biased[i] = (uint8_t)(64 + (code & 8 ? -w : w));
    }
}

ALWAYS_INLINE void pot4_mul_tile(const uint8_t *w, size_t blocks, const void *const *xv,
                                 unsigned ntok, int64_t *dot)
{
    const __m512i lut = _mm512_loadu_si512(pot4_biased);
    const int8_t *x[POT_TILE];
    __m512i acc64[POT_TILE];
    for (unsigned t = 0; t < ntok; t++) {
        x[t] = xv[t];
        acc64[t] = _mm512_setzero_si512();
    }
    for (size_t left = blocks; left;) {
        size_t seg = left < SEG4 ? left : SEG4;
        left -= seg;
        __m512i acc[POT_TILE][2];
        for (unsigned t = 0; t < ntok; t++)
            acc[t][0] = acc[t][1] = _mm512_setzero_si512();
        for (size_t b = seg; b; b--, w += 64) {
            __m512i v = _mm512_loadu_si512(w);
            __m512i lo = _mm512_permutexvar_epi8(v, lut);                       /* weights 0..63 */
            __m512i hi = _mm512_permutexvar_epi8(_mm512_srli_epi16(v, 4), lut); /* 64..127 */
            for (unsigned t = 0; t < ntok; t++) {
                acc[t][0] = _mm512_dpbusd_epi32(acc[t][0], lo, _mm512_loadu_si512(x[t]));
                acc[t][1] = _mm512_dpbusd_epi32(acc[t][1], hi, _mm512_loadu_si512(x[t] + 64));
                x[t] += POT_BLOCK;
            }
        }
        for (unsigned t = 0; t < ntok; t++)
            acc64[t] = pot_widen_add_epi32(pot_widen_add_epi32(acc64[t], acc[t][0]), acc[t][1]);
    }
    for (unsigned t = 0; t < ntok; t++)
        dot[t] = _mm512_reduce_add_epi64(acc64[t]);
}

void bb_pot4_avx512_mul_dot(const uint8_t *w, size_t blocks, const void *const *x,
                            unsigned ntok, int64_t *dot);
__attribute__((noinline)) void bb_pot4_avx512_mul_dot(const uint8_t *w, size_t blocks,
                                                      const void *const *x, unsigned ntok,
                                                      int64_t *dot)
{
    switch (ntok) {
    case 1: pot4_mul_tile(w, blocks, x, 1, dot); break;
    case 2: pot4_mul_tile(w, blocks, x, 2, dot); break;
    case 3: pot4_mul_tile(w, blocks, x, 3, dot); break;
    default: pot4_mul_tile(w, blocks, x, 4, dot); break;
    }
}

/* ------------------------------------------------------------------ pot5 */

/* Word table: entry i = |weight| of ecode i & 15. */
static int16_t pot5_magnitude[32];
static void pot5_table_init(void)
{
    for (int i = 0; i < 32; i++) {
        int ecode = i & 15;
        pot5_magnitude[i] = (int16_t)(ecode ? 1 << (15 - ecode) : 0);
    }
}

ALWAYS_INLINE void pot5_mul_tile(const uint8_t *w, size_t blocks, const void *const *xv,
                                 unsigned ntok, int64_t *dot)
{
    const __m512i lut = _mm512_loadu_si512(pot5_magnitude), zero = _mm512_setzero_si512();
    const int16_t *x[POT_TILE];
    __m512i acc64[POT_TILE];
    for (unsigned t = 0; t < ntok; t++) {
        x[t] = xv[t];
        acc64[t] = zero;
    }
    for (size_t left = blocks; left;) {
        size_t seg = left < SEG5 ? left : SEG5;
        left -= seg;
        __m512i acc[POT_TILE][4]; /* one per group: four independent vpdpwssd chains */
        for (unsigned t = 0; t < ntok; t++)
            for (int g = 0; g < 4; g++)
                acc[t][g] = zero;
        for (size_t b = seg; b; b--, w += 80) {
            __m512i v = _mm512_loadu_si512(w);
            for (int g = 0; g < 4; g++) {
                __m512i mag = _mm512_permutexvar_epi16(_mm512_srli_epi16(v, 4 * g), lut);
                __m512i wg = _mm512_mask_sub_epi16(mag, pot_mask32(w + 64 + 4 * g), zero, mag);
                for (unsigned t = 0; t < ntok; t++)
                    acc[t][g] = _mm512_dpwssd_epi32(acc[t][g], wg, _mm512_loadu_si512(x[t] + 32 * g));
            }
            for (unsigned t = 0; t < ntok; t++)
                x[t] += POT_BLOCK;
        }
        for (unsigned t = 0; t < ntok; t++)
            for (int g = 0; g < 4; g++)
                acc64[t] = pot_widen_add_epi32(acc64[t], acc[t][g]);
    }
    for (unsigned t = 0; t < ntok; t++)
        dot[t] = _mm512_reduce_add_epi64(acc64[t]);
}

void bb_pot5_avx512_mul_dot(const uint8_t *w, size_t blocks, const void *const *x,
                            unsigned ntok, int64_t *dot);
__attribute__((noinline)) void bb_pot5_avx512_mul_dot(const uint8_t *w, size_t blocks,
                                                      const void *const *x, unsigned ntok,
                                                      int64_t *dot)
{
    switch (ntok) {
    case 1: pot5_mul_tile(w, blocks, x, 1, dot); break;
    case 2: pot5_mul_tile(w, blocks, x, 2, dot); break;
    case 3: pot5_mul_tile(w, blocks, x, 3, dot); break;
    default: pot5_mul_tile(w, blocks, x, 4, dot); break;
    }
}

/* ------------------------------------------------------------------ pot6 */

/* Word tables over the 6-bit code (sign << 5 | ecode): the two int16 halves of the weight,
 * w = 2^16 hi + lo (see the top of the file). */
static int16_t pot6_hi[64], pot6_lo[64];
static void pot6_table_init(void)
{
    for (int code = 0; code < 64; code++) {
        int ecode = code & 31, negative = code >> 5, hi = 0, lo = 0;
        if (ecode != 0) {
            int s = 31 - ecode; /* the weight is +-2^s */
            if (s == 15) {
                hi = negative ? 0 : 1;
                lo = INT16_MIN;
            } else if (s > 15) {
                hi = negative ? -(1 << (s - 16)) : 1 << (s - 16);
            } else {
                lo = negative ? -(1 << s) : 1 << s;
            }
        }
        pot6_hi[code] = (int16_t)hi;
        pot6_lo[code] = (int16_t)lo;
    }
}

/* vpternlogd truth table of "c ? a : b" (bitwise select) */
#define SELECT_A_WHERE_C 0xe4

ALWAYS_INLINE __m512i pot6_index(__m512i nibbles, __m512i pairs, int g)
{
    __m512i a = _mm512_srli_epi16(nibbles, 4 * g); /* code bits 0..3 in bits 0..3 */
    __m512i b = g == 0 ? _mm512_slli_epi16(pairs, 4)   /* code bits 4..5 in bits 4..5 */
              : g == 1 ? _mm512_slli_epi16(pairs, 2)
              : g == 2 ? pairs
                       : _mm512_srli_epi16(pairs, 2);
    /* bits above 5 are garbage; vpermt2w reads only bits 0..5 */
    return _mm512_ternarylogic_epi32(a, b, _mm512_set1_epi16(0x000f), SELECT_A_WHERE_C);
}

ALWAYS_INLINE void pot6_mul_tile(const uint8_t *w, size_t blocks, const void *const *xv,
                                 unsigned ntok, int64_t *dot)
{
    const __m512i hi_a = _mm512_loadu_si512(pot6_hi), hi_b = _mm512_loadu_si512(pot6_hi + 32),
                  lo_a = _mm512_loadu_si512(pot6_lo), lo_b = _mm512_loadu_si512(pot6_lo + 32),
                  zero = _mm512_setzero_si512();
    const int16_t *x[POT_TILE];
    __m512i hi64[POT_TILE], lo64[POT_TILE];
    for (unsigned t = 0; t < ntok; t++) {
        x[t] = xv[t];
        hi64[t] = lo64[t] = zero;
    }
    for (size_t left = blocks; left;) {
        size_t seg = left < SEG6 ? left : SEG6;
        left -= seg;
        __m512i hi[POT_TILE][2], lo[POT_TILE][2];
        for (unsigned t = 0; t < ntok; t++)
            hi[t][0] = hi[t][1] = lo[t][0] = lo[t][1] = zero;
        for (size_t b = seg; b; b--, w += 96) {
            __m512i v = _mm512_loadu_si512(w);
            __m512i pairs = _mm512_cvtepu8_epi16(_mm256_loadu_si256((const __m256i *)(w + 64)));
            for (int g = 0; g < 4; g++) {
                __m512i idx = pot6_index(v, pairs, g);
                __m512i wh = _mm512_permutex2var_epi16(hi_a, idx, hi_b);
                __m512i wl = _mm512_permutex2var_epi16(lo_a, idx, lo_b);
                for (unsigned t = 0; t < ntok; t++) {
                    __m512i xg = _mm512_loadu_si512(x[t] + 32 * g);
                    hi[t][g & 1] = _mm512_dpwssd_epi32(hi[t][g & 1], wh, xg);
                    lo[t][g & 1] = _mm512_dpwssd_epi32(lo[t][g & 1], wl, xg);
                }
            }
            for (unsigned t = 0; t < ntok; t++)
                x[t] += POT_BLOCK;
        }
        for (unsigned t = 0; t < ntok; t++) {
            hi64[t] = pot_widen_add_epi32(pot_widen_add_epi32(hi64[t], hi[t][0]), hi[t][1]);
            lo64[t] = pot_widen_add_epi32(pot_widen_add_epi32(lo64[t], lo[t][0]), lo[t][1]);
        }
    }
    for (unsigned t = 0; t < ntok; t++)
        dot[t] = _mm512_reduce_add_epi64(hi64[t]) * 65536 + _mm512_reduce_add_epi64(lo64[t]);
}

void bb_pot6_avx512_mul_dot(const uint8_t *w, size_t blocks, const void *const *x,
                            unsigned ntok, int64_t *dot);
__attribute__((noinline)) void bb_pot6_avx512_mul_dot(const uint8_t *w, size_t blocks,
                                                      const void *const *x, unsigned ntok,
                                                      int64_t *dot)
{
    switch (ntok) {
    case 1: pot6_mul_tile(w, blocks, x, 1, dot); break;
    case 2: pot6_mul_tile(w, blocks, x, 2, dot); break;
    case 3: pot6_mul_tile(w, blocks, x, 3, dot); break;
    default: pot6_mul_tile(w, blocks, x, 4, dot); break;
    }
}

/* ------------------------------------------------------------------ kernel table */

/* The tables are filled before main (a constructor), from the code definitions above
 * rather than typed out, and only read afterwards. */
__attribute__((constructor)) static void pot_mul_tables_init(void)
{
    pot4_table_init();
    pot5_table_init();
    pot6_table_init();
}

POT_X_ACT_FUNCS(pot_i16, POT_X_I16, bb_act_q8_prepare_avx512)

static void repack_word(const bb_weights *w, void *layout)
{
    pot_repack(w, layout, POT_LANES_WORD, POT_HIGH_CANONICAL);
}

static const pot_simd POT4_MUL = {.x = POT_X_Q8, .dot = bb_pot4_avx512_mul_dot, .sum_bias = 64};
static const pot_simd POT5_MUL = {.x = POT_X_I16, .dot = bb_pot5_avx512_mul_dot};
static const pot_simd POT6_MUL = {.x = POT_X_I16, .dot = bb_pot6_avx512_mul_dot};

static void pot4_rows(const bb_gemm_args *a, size_t r0, size_t r1)
{
    pot_simd_gemm_rows(&POT4_MUL, a, r0, r1);
}
static void pot5_rows(const bb_gemm_args *a, size_t r0, size_t r1)
{
    pot_simd_gemm_rows(&POT5_MUL, a, r0, r1);
}
static void pot6_rows(const bb_gemm_args *a, size_t r0, size_t r1)
{
    pot_simd_gemm_rows(&POT6_MUL, a, r0, r1);
}

#define POT_AVX512_MUL_NEEDS                                                                   \
    (BB_ACT_Q8_AVX512_NEEDS | BB_CPU_AVX512F | BB_CPU_AVX512BW | BB_CPU_AVX512DQ |            \
     BB_CPU_AVX512VNNI | BB_CPU_AVX512VBMI)

#define POT_MUL_KERNEL(bits, repack_fn, layout_fn, act_bytes_fn, prepare_fn)                    \
    const bb_kernel bb_kernel_pot##bits##_avx512_mul = {                                        \
        .name = "pot" #bits "-avx512-mul",                                                      \
        .format = BB_FMT_POT##bits,                                                             \
        .method = "mul",                                                                        \
        .isa = BB_ISA_AVX512,                                                                   \
        .needs = POT_AVX512_MUL_NEEDS,                                                          \
        .priority = 30,                                                                         \
        .multiply_free = false,                                                                 \
        .hot_symbol = "bb_pot" #bits "_avx512_mul_dot",                                         \
        .row_block = 1,                                                                         \
        .layout_bytes = layout_fn,                                                              \
        .repack = repack_fn,                                                                    \
        .act_bytes = act_bytes_fn,                                                              \
        .prepare_act = prepare_fn,                                                              \
        .gemm_rows = pot##bits##_rows,                                                          \
    };

POT_MUL_KERNEL(4, NULL, NULL, bb_act_q8_bytes, bb_act_q8_prepare_avx512)
POT_MUL_KERNEL(5, repack_word, pot_layout_bytes, pot_i16_act_bytes, pot_i16_prepare_act)
POT_MUL_KERNEL(6, repack_word, pot_layout_bytes, pot_i16_act_bytes, pot_i16_prepare_act)
