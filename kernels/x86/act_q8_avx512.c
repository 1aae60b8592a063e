/*
 * kernels/x86/act_q8_avx512.c - int8 absmax activation quantizer, AVX-512 F/BW, bit-exact
 * with bb_act_q8_quantize_ref (see act_q8_simd.h for the contract).
 *
 * Per token, two passes over the k floats: the maximum of |x| (four accumulators, so the
 * loop is not one long chain of dependent vmaxps), then 16 values at a time: multiply by
 * inv, vcvtps2dq (rounds in the MXCSR mode, round half to even by default, as rintf does),
 * clip in int32 (the sum must add the clipped values), accumulate the sum, narrow to bytes.
 * The ragged end uses masked loads, whose zero lanes give q = 0, which is also the padding
 * the contract asks for up to k_stride.
 */
#include "act_q8_simd.h"

#include <immintrin.h>
#include <string.h>

enum { LANES = 16 };

static __mmask16 tail_mask(size_t remaining) { return (__mmask16)((1u << remaining) - 1u); }

static float token_absmax(const float *x, size_t k)
{
    __m512 m0 = _mm512_setzero_ps(), m1 = m0, m2 = m0, m3 = m0;
    size_t i = 0;
    for (; i + 4 * LANES <= k; i += 4 * LANES) {
        m0 = _mm512_max_ps(m0, _mm512_abs_ps(_mm512_loadu_ps(x + i)));
        m1 = _mm512_max_ps(m1, _mm512_abs_ps(_mm512_loadu_ps(x + i + LANES)));
        m2 = _mm512_max_ps(m2, _mm512_abs_ps(_mm512_loadu_ps(x + i + 2 * LANES)));
        m3 = _mm512_max_ps(m3, _mm512_abs_ps(_mm512_loadu_ps(x + i + 3 * LANES)));
    }
    for (; i + LANES <= k; i += LANES)
        m0 = _mm512_max_ps(m0, _mm512_abs_ps(_mm512_loadu_ps(x + i)));
    if (i < k)
        m1 = _mm512_max_ps(m1, _mm512_abs_ps(_mm512_maskz_loadu_ps(tail_mask(k - i), x + i)));
    return _mm512_reduce_max_ps(_mm512_max_ps(_mm512_max_ps(m0, m1), _mm512_max_ps(m2, m3)));
}

/* 16 floats -> 16 codes at q; adds the clipped codes to *sum. */
static inline void quantize16(__m512 v, __m512 inv, int8_t *q, __m512i *sum)
{
    const __m512i lo = _mm512_set1_epi32(-127), hi = _mm512_set1_epi32(127);
    __m512i c = _mm512_cvtps_epi32(_mm512_mul_ps(v, inv));
    c = _mm512_min_epi32(_mm512_max_epi32(c, lo), hi);
    *sum = _mm512_add_epi32(*sum, c);
    _mm_storeu_si128((__m128i *)q, _mm512_cvtepi32_epi8(c));
}

static void quantize_token(const float *x, size_t k, size_t k_stride, int8_t *q, float *scale,
                           int32_t *sum)
{
    float eta = token_absmax(x, k);
    __m512 inv = _mm512_set1_ps(bb_act_q8_inv(eta));

    __m512i s0 = _mm512_setzero_si512(), s1 = s0;
    size_t i = 0;
    for (; i + 2 * LANES <= k; i += 2 * LANES) {
        quantize16(_mm512_loadu_ps(x + i), inv, q + i, &s0);
        quantize16(_mm512_loadu_ps(x + i + LANES), inv, q + i + LANES, &s1);
    }
    for (; i < k; i += LANES) {
        __mmask16 m = k - i >= LANES ? (__mmask16)0xffff : tail_mask(k - i);
        quantize16(_mm512_maskz_loadu_ps(m, x + i), inv, q + i, &s0);
    }
    /* i is now k rounded up to 16, at most k_stride (a multiple of 64). */
    memset(q + i, 0, k_stride - i);

    *scale = eta / 127.0f;
    *sum = _mm512_reduce_add_epi32(_mm512_add_epi32(s0, s1));
}

BB_ACT_Q8_ENTRY_POINTS(avx512, quantize_token)
