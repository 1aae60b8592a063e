/* kernels/arm/bandwidth_neon.c - the bandwidth probe's read loop with 16-byte NEON loads
 * (kernels/read_loop.h), built with the neon level's flags.  Four loads per step so that
 * cores that issue two or three 16-byte loads a cycle are not bound by the add chain. */
#include "../read_loop.h"

#include <arm_neon.h>

static uint64_t sum_neon(const uint64_t *p, size_t n)
{
    uint64x2_t a0 = vdupq_n_u64(0), a1 = a0, a2 = a0, a3 = a0;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        a0 = vaddq_u64(a0, vld1q_u64(p + i));
        a1 = vaddq_u64(a1, vld1q_u64(p + i + 2));
        a2 = vaddq_u64(a2, vld1q_u64(p + i + 4));
        a3 = vaddq_u64(a3, vld1q_u64(p + i + 6));
    }
    uint64_t total = vaddvq_u64(vaddq_u64(vaddq_u64(a0, a1), vaddq_u64(a2, a3)));
    for (; i < n; i++)
        total += p[i];
    return total;
}

const bb_read_loop bb_read_loop_neon = {
    .loads = "neon (16-byte loads)",
    .isa = BB_ISA_NEON,
    .needs = BB_ISA_MASK_NEON,
    .load_bytes = 16,
    .sum = sum_neon,
};
