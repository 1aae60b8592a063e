/*
 * kernels/x86/dense_avx2.h - small AVX2 helpers shared by the dense AVX2 kernel files
 * (fp16_avx2.c, int8_avx2.c, int8_avxvnni.c); each includes it under its own flags.
 */
#ifndef BITBENCH_X86_DENSE_AVX2_H
#define BITBENCH_X86_DENSE_AVX2_H

#include <immintrin.h>

static inline float dense_hsum_ps256(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* The lane sum modulo 2^32 (vector adds wrap; callers rely on that, see int8_offset.h). */
static inline int32_t dense_hsum_epi32_256(__m256i v)
{
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(1, 0, 3, 2)));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
    return _mm_cvtsi128_si32(s);
}

#endif
