/*
 * kernels/x86/act_q8_avx2.c - int8 absmax activation quantizer, AVX2, bit-exact with
 * bb_act_q8_quantize_ref (see act_q8_simd.h for the contract).
 *
 * Per token, two passes over the k floats: the maximum of |x| (four accumulators), then
 * 32 values at a time: multiply by inv, vcvtps2dq (rounds in the MXCSR mode, round half
 * to even by default, as rintf does), clip in int32 (the sum adds clipped values), sum,
 * and narrow 4 x 8 int32 to 32 bytes with two packs (no saturation happens: the values
 * are already in [-127, 127]) and one lane permute that undoes the packs' per-128-bit-lane
 * interleave.  The ragged end (< 32 values) is copied into a zeroed block on the stack and
 * quantized like any other block: its zero lanes give q = 0, the padding the contract wants.
 */
#include "act_q8_simd.h"

#include <immintrin.h>
#include <math.h>
#include <string.h>

enum { LANES = 8, BLOCK = 32 };

static float absmax8(__m256 v)
{
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}

static float token_absmax(const float *x, size_t k)
{
    const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    __m256 m0 = _mm256_setzero_ps(), m1 = m0, m2 = m0, m3 = m0;
    size_t i = 0;
    for (; i + BLOCK <= k; i += BLOCK) {
        m0 = _mm256_max_ps(m0, _mm256_and_ps(abs_mask, _mm256_loadu_ps(x + i)));
        m1 = _mm256_max_ps(m1, _mm256_and_ps(abs_mask, _mm256_loadu_ps(x + i + LANES)));
        m2 = _mm256_max_ps(m2, _mm256_and_ps(abs_mask, _mm256_loadu_ps(x + i + 2 * LANES)));
        m3 = _mm256_max_ps(m3, _mm256_and_ps(abs_mask, _mm256_loadu_ps(x + i + 3 * LANES)));
    }
    for (; i + LANES <= k; i += LANES)
        m0 = _mm256_max_ps(m0, _mm256_and_ps(abs_mask, _mm256_loadu_ps(x + i)));
    float eta = absmax8(_mm256_max_ps(_mm256_max_ps(m0, m1), _mm256_max_ps(m2, m3)));
    for (; i < k; i++) {
        float ax = fabsf(x[i]);
        eta = ax > eta ? ax : eta;
    }
    return eta;
}

/* 8 floats -> 8 clipped int32 codes, added to *sum. */
static inline __m256i codes8(__m256 v, __m256 inv, __m256i *sum)
{
    __m256i c = _mm256_cvtps_epi32(_mm256_mul_ps(v, inv));
    c = _mm256_min_epi32(_mm256_max_epi32(c, _mm256_set1_epi32(-127)), _mm256_set1_epi32(127));
    *sum = _mm256_add_epi32(*sum, c);
    return c;
}

/* 32 floats at x -> 32 codes at q. */
static inline void quantize32(const float *x, __m256 inv, int8_t *q, __m256i *sum)
{
    __m256i a = codes8(_mm256_loadu_ps(x), inv, sum);
    __m256i b = codes8(_mm256_loadu_ps(x + LANES), inv, sum);
    __m256i c = codes8(_mm256_loadu_ps(x + 2 * LANES), inv, sum);
    __m256i d = codes8(_mm256_loadu_ps(x + 3 * LANES), inv, sum);
    /* Dword j of the packed bytes holds 4 codes of (a, b, c, d)[j % 4], half j / 4. */
    __m256i bytes = _mm256_packs_epi16(_mm256_packs_epi32(a, b), _mm256_packs_epi32(c, d));
    bytes = _mm256_permutevar8x32_epi32(bytes, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    _mm256_storeu_si256((__m256i *)q, bytes);
}

static int32_t hsum8(__m256i v)
{
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(1, 0, 3, 2)));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
    return _mm_cvtsi128_si32(s);
}

static void quantize_token(const float *x, size_t k, size_t k_stride, int8_t *q, float *scale,
                           int32_t *sum)
{
    float eta = token_absmax(x, k);
    __m256 inv = _mm256_set1_ps(bb_act_q8_inv(eta));

    __m256i s = _mm256_setzero_si256();
    size_t i = 0;
    for (; i + BLOCK <= k; i += BLOCK)
        quantize32(x + i, inv, q + i, &s);
    if (i < k) {
        float tail[BLOCK] = {0};
        memcpy(tail, x + i, (k - i) * sizeof(float));
        quantize32(tail, inv, q + i, &s);
        i += BLOCK; /* k rounded up to 32, at most k_stride (a multiple of 64) */
    }
    memset(q + i, 0, k_stride - i);

    *scale = eta / 127.0f;
    *sum = hsum8(s);
}

BB_ACT_Q8_ENTRY_POINTS(avx2, quantize_token)
