/*
 * kernels/read_loop.c - the table of the bandwidth probe's read loops (read_loop.h): the
 * plain-C loop every CPU runs, then the SIMD loops of this architecture (kernels/x86/
 * bandwidth_<level>.c, kernels/arm/bandwidth_<level>.c).
 */
#include "read_loop.h"

/* Built without vectorization, like every file directly in kernels/: 8-byte loads. */
static uint64_t sum_plain(const uint64_t *p, size_t n)
{
    uint64_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        a0 += p[i];
        a1 += p[i + 1];
        a2 += p[i + 2];
        a3 += p[i + 3];
    }
    for (; i < n; i++)
        a0 += p[i];
    return a0 + a1 + a2 + a3;
}

static const bb_read_loop read_loop_plain = {
    .loads = "plain C (8-byte loads)",
    .isa = BB_ISA_SCALAR,
    .needs = 0,
    .load_bytes = 8,
    .sum = sum_plain,
};

#if defined(__x86_64__)
extern const bb_read_loop bb_read_loop_avx2, bb_read_loop_avx512;
#define BB_SIMD_READ_LOOPS &bb_read_loop_avx2, &bb_read_loop_avx512,
#elif defined(__aarch64__)
extern const bb_read_loop bb_read_loop_neon;
#define BB_SIMD_READ_LOOPS &bb_read_loop_neon,
#else
#define BB_SIMD_READ_LOOPS
#endif

const bb_read_loop *const bb_read_loops[] = {&read_loop_plain, BB_SIMD_READ_LOOPS};
const size_t bb_read_loop_count = sizeof bb_read_loops / sizeof bb_read_loops[0];

const bb_read_loop *bb_read_loop_widest(uint32_t cpu)
{
    const bb_read_loop *best = &read_loop_plain;
    for (size_t i = 0; i < bb_read_loop_count; i++) {
        const bb_read_loop *l = bb_read_loops[i];
        if ((cpu & l->needs) == l->needs && l->load_bytes > best->load_bytes)
            best = l;
    }
    return best;
}
