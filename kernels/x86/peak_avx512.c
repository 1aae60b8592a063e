/* kernels/x86/peak_avx512.c - AVX-512 compute-roof loops (kernels/peak.h): zmm, 12
 * independent accumulators so that the loop runs at the instruction's throughput. */
#include "../peak.h"

#include <immintrin.h>

/* An empty asm that claims to change v: what depends on v is recomputed every iteration. */
#define OPAQUE(v) __asm__ volatile("" : "+v"(v))

static uint64_t fold(__m512i *acc, int n)
{
    __m512i s = acc[0];
    for (int j = 1; j < n; j++)
        s = _mm512_add_epi32(s, acc[j]);
    /* the lanes wrap by design (the loop counts instructions, not a dot product):
     * sum them as uint32, since _mm512_reduce_add_epi32 adds as signed int, which
     * UBSan rightly reports as an overflow */
    uint32_t lanes[16], sum = 0;
    _mm512_storeu_si512(lanes, s);
    for (int j = 0; j < 16; j++)
        sum += lanes[j];
    return sum;
}

/* vpdpbusd: 64 u8 x s8 products summed into 16 32-bit lanes, one instruction. */
static uint64_t int8dot_vnni(uint64_t iters)
{
    __m512i acc[12], a = _mm512_set1_epi8(3), b = _mm512_set1_epi8(-2);
    for (int j = 0; j < 12; j++)
        acc[j] = _mm512_setzero_si512();
    for (uint64_t i = 0; i < iters; i++)
        #pragma GCC unroll 16
        for (int j = 0; j < 12; j++)
            acc[j] = _mm512_dpbusd_epi32(acc[j], a, b);
    return fold(acc, 12);
}

/* The AVX-512BW idiom without VNNI: vpmaddubsw -> vpmaddwd with ones -> vpaddd. */
static uint64_t int8dot_maddubs(uint64_t iters)
{
    __m512i acc[8], a = _mm512_set1_epi8(3), ones = _mm512_set1_epi16(1);
    for (int j = 0; j < 8; j++)
        acc[j] = _mm512_setzero_si512();
    for (uint64_t i = 0; i < iters; i++) {
        OPAQUE(a);
        #pragma GCC unroll 16
        for (int j = 0; j < 8; j++)
            acc[j] = _mm512_add_epi32(
                acc[j], _mm512_madd_epi16(_mm512_maddubs_epi16(a, _mm512_set1_epi8((char)(j - 4))), ones));
    }
    return fold(acc, 8);
}

static uint64_t fma_(uint64_t iters)
{
    __m512 acc[12], a = _mm512_set1_ps(1.0000001f), b = _mm512_set1_ps(1e-7f);
    for (int j = 0; j < 12; j++)
        acc[j] = _mm512_setzero_ps();
    for (uint64_t i = 0; i < iters; i++)
        #pragma GCC unroll 16
        for (int j = 0; j < 12; j++)
            acc[j] = _mm512_fmadd_ps(acc[j], a, b);
    __m512 s = acc[0];
    for (int j = 1; j < 12; j++)
        s = _mm512_add_ps(s, acc[j]);
    return (uint64_t)(_mm512_reduce_add_ps(s) * 1000);
}

static uint64_t add(uint64_t iters)
{
    __m512i acc[12], a = _mm512_set1_epi32(1);
    for (int j = 0; j < 12; j++)
        acc[j] = _mm512_setzero_si512();
    for (uint64_t i = 0; i < iters; i++) {
        OPAQUE(a);
        #pragma GCC unroll 16
        for (int j = 0; j < 12; j++)
            acc[j] = _mm512_add_epi32(acc[j], a);
    }
    return fold(acc, 12);
}

#define AVX512 (BB_CPU_AVX512F | BB_CPU_AVX512BW)
const bb_peak_loop bb_peak_int8dot_avx512_vnni = {"int8dot-avx512-vpdpbusd", BB_PEAK_INT8_DOT,
                                                  "vpdpbusd zmm, 12 accumulators", BB_ISA_AVX512,
                                                  AVX512 | BB_CPU_AVX512VNNI, 12 * 64 * 2, int8dot_vnni};
const bb_peak_loop bb_peak_int8dot_avx512_maddubs = {"int8dot-avx512-maddubs", BB_PEAK_INT8_DOT,
                                                     "vpmaddubsw + vpmaddwd + vpaddd zmm, 8 accumulators",
                                                     BB_ISA_AVX512, AVX512, 8 * 64 * 2, int8dot_maddubs};
const bb_peak_loop bb_peak_fma_avx512 = {"fma-avx512", BB_PEAK_FP32_FMA, "vfmadd ps zmm, 12 accumulators",
                                         BB_ISA_AVX512, AVX512, 12 * 16 * 2, fma_};
const bb_peak_loop bb_peak_add_avx512 = {"add-avx512", BB_PEAK_INT_ADD,
                                         "vpaddd zmm (32-bit lanes), 12 accumulators", BB_ISA_AVX512, AVX512,
                                         12 * 16, add};
