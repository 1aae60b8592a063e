/* kernels/x86/bandwidth_avx2.c - the bandwidth probe's read loop with 32-byte loads
 * (kernels/read_loop.h), built with the avx2 level's flags. */
#include "../read_loop.h"

#include <immintrin.h>
#include <string.h>

static uint64_t sum_avx2(const uint64_t *p, size_t n)
{
    enum { LANES = 32 / 8 };
    __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
    size_t i = 0;
    for (; i + 4 * LANES <= n; i += 4 * LANES) {
        a0 = _mm256_add_epi64(a0, _mm256_load_si256((const void *)(p + i)));
        a1 = _mm256_add_epi64(a1, _mm256_load_si256((const void *)(p + i + LANES)));
        a2 = _mm256_add_epi64(a2, _mm256_load_si256((const void *)(p + i + 2 * LANES)));
        a3 = _mm256_add_epi64(a3, _mm256_load_si256((const void *)(p + i + 3 * LANES)));
    }
    uint64_t lanes[LANES], total = 0;
    __m256i s = _mm256_add_epi64(_mm256_add_epi64(a0, a1), _mm256_add_epi64(a2, a3));
    memcpy(lanes, &s, sizeof s);
    for (int l = 0; l < LANES; l++)
        total += lanes[l];
    for (; i < n; i++)
        total += p[i];
    return total;
}

const bb_read_loop bb_read_loop_avx2 = {
    .loads = "avx2 (32-byte loads)",
    .isa = BB_ISA_AVX2,
    .needs = BB_ISA_MASK_AVX2,
    .load_bytes = 32,
    .sum = sum_avx2,
};
