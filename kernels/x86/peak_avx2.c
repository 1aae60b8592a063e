/* kernels/x86/peak_avx2.c - AVX2 compute-roof loops (kernels/peak.h): ymm, 10-12 independent
 * accumulators so that the loop runs at the instruction's throughput, not its latency. */
#include "../peak.h"

#include <immintrin.h>

/* An empty asm that claims to change v: what depends on v is recomputed every iteration. */
#define OPAQUE(v) __asm__ volatile("" : "+x"(v))

/* The AVX2 int8 dot idiom of the int8 and ternary kernels: vpmaddubsw (32 u8 x s8 products,
 * pairwise summed to 16-bit) -> vpmaddwd with ones (to 32-bit) -> vpaddd. */
static uint64_t int8dot(uint64_t iters)
{
    __m256i acc[8], a = _mm256_set1_epi8(3), ones = _mm256_set1_epi16(1);
    for (int j = 0; j < 8; j++)
        acc[j] = _mm256_setzero_si256();
    for (uint64_t i = 0; i < iters; i++) {
        OPAQUE(a);
        #pragma GCC unroll 16
        for (int j = 0; j < 8; j++)
            acc[j] = _mm256_add_epi32(
                acc[j], _mm256_madd_epi16(_mm256_maddubs_epi16(a, _mm256_set1_epi8((char)(j - 4))), ones));
    }
    __m256i s = acc[0];
    for (int j = 1; j < 8; j++)
        s = _mm256_add_epi32(s, acc[j]);
    return (uint64_t)(uint32_t)_mm256_extract_epi32(s, 0);
}

static uint64_t fma_(uint64_t iters)
{
    __m256 acc[12], a = _mm256_set1_ps(1.0000001f), b = _mm256_set1_ps(1e-7f);
    for (int j = 0; j < 12; j++)
        acc[j] = _mm256_setzero_ps();
    for (uint64_t i = 0; i < iters; i++)
        #pragma GCC unroll 16
        for (int j = 0; j < 12; j++)
            acc[j] = _mm256_fmadd_ps(acc[j], a, b);
    __m256 s = acc[0];
    for (int j = 1; j < 12; j++)
        s = _mm256_add_ps(s, acc[j]);
    return (uint64_t)(_mm256_cvtss_f32(s) * 1000);
}

static uint64_t add(uint64_t iters)
{
    __m256i acc[8], a = _mm256_set1_epi32(1);
    for (int j = 0; j < 8; j++)
        acc[j] = _mm256_setzero_si256();
    for (uint64_t i = 0; i < iters; i++) {
        OPAQUE(a);
        #pragma GCC unroll 16
        for (int j = 0; j < 8; j++)
            acc[j] = _mm256_add_epi32(acc[j], a);
    }
    __m256i s = acc[0];
    for (int j = 1; j < 8; j++)
        s = _mm256_add_epi32(s, acc[j]);
    return (uint64_t)(uint32_t)_mm256_extract_epi32(s, 0);
}

#define AVX2 (BB_CPU_AVX2 | BB_CPU_FMA)
const bb_peak_loop bb_peak_int8dot_avx2 = {"int8dot-avx2-maddubs", BB_PEAK_INT8_DOT,
                                           "vpmaddubsw + vpmaddwd + vpaddd ymm, 8 accumulators", BB_ISA_AVX2,
                                           AVX2, 8 * 32 * 2, int8dot};
const bb_peak_loop bb_peak_fma_avx2 = {"fma-avx2", BB_PEAK_FP32_FMA, "vfmadd ps ymm, 12 accumulators",
                                       BB_ISA_AVX2, AVX2, 12 * 8 * 2, fma_};
const bb_peak_loop bb_peak_add_avx2 = {"add-avx2", BB_PEAK_INT_ADD, "vpaddd ymm (32-bit lanes), 8 accumulators",
                                       BB_ISA_AVX2, AVX2, 8 * 8, add};
