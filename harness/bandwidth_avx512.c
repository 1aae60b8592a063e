/* harness/bandwidth_avx512.c - the bandwidth probe's read loop with 64-byte loads (built with
 * avx512 flags, see the Makefile).  Single-core read bandwidth depends on load width on some
 * CPUs (measured here: SSE2 7.6 GB/s, AVX-512 14.6 GB/s), so the ceiling uses the widest. */
#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

uint64_t bb_bw_sum_avx512(const uint64_t *p, size_t n);

uint64_t bb_bw_sum_avx512(const uint64_t *p, size_t n)
{
    enum { LANES = 64 / 8 };
    __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;
    size_t i = 0;
    for (; i + 4 * LANES <= n; i += 4 * LANES) {
        a0 = _mm512_add_epi64(a0, _mm512_load_si512((const void *)(p + i)));
        a1 = _mm512_add_epi64(a1, _mm512_load_si512((const void *)(p + i + LANES)));
        a2 = _mm512_add_epi64(a2, _mm512_load_si512((const void *)(p + i + 2 * LANES)));
        a3 = _mm512_add_epi64(a3, _mm512_load_si512((const void *)(p + i + 3 * LANES)));
    }
    uint64_t lanes[4 * LANES], total = 0;
    __m512i s = _mm512_add_epi64(_mm512_add_epi64(a0, a1), _mm512_add_epi64(a2, a3));
    memcpy(lanes, &s, sizeof s);
    for (int l = 0; l < LANES; l++)
        total += lanes[l];
    for (; i < n; i++)
        total += p[i];
    return total;
}
