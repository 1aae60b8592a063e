/*
 * kernels/arm/int8_neon.c - int8 W8A8, plain NEON (base AArch64, e.g. Cortex-A53/A72):
 * SMULL + SMLAL2 + SADALP, bit-exact with int8-scalar-ref.
 *
 * Per 16 weights: SMULL multiplies the low 8 byte pairs into int16, SMLAL2 adds the high 8
 * products lane-wise (two products: |.| <= 2 * 127 * 127 = 32258 <= INT16_MAX, so the int16
 * lane cannot overflow), SADALP adds int16 pairs into the int32 accumulator.  The int32 sum
 * is the reference's (any order: every partial sum obeys its bound, kernels/ref/int8.c).
 * Rows run over k_padded (a multiple of 64): padding weights and activations are 0.
 */
#include "arm.h"

#include "act_q8_neon.h"
#include "q8_rows.h"

#include <arm_neon.h>

#define INT8_MAX_K ((size_t)(INT32_MAX / (127 * 127)))

static inline int32x4_t mac16(int32x4_t acc, int8x16_t w, int8x16_t x)
{
    int16x8_t p = vmull_s8(vget_low_s8(w), vget_low_s8(x));
    p = vmlal_high_s8(p, w, x);
    return vpadalq_s16(acc, p);
}

int32_t bb_int8_neon_dot(const uint8_t *wrow, const int8_t *x, size_t kp);
int32_t bb_int8_neon_dot(const uint8_t *wrow, const int8_t *x, size_t kp)
{
    const int8_t *w = (const int8_t *)wrow;
    int32x4_t a0 = vdupq_n_s32(0), a1 = a0, a2 = a0, a3 = a0;
    for (size_t i = 0; i < kp; i += 64) {
        a0 = mac16(a0, vld1q_s8(w + i), vld1q_s8(x + i));
        a1 = mac16(a1, vld1q_s8(w + i + 16), vld1q_s8(x + i + 16));
        a2 = mac16(a2, vld1q_s8(w + i + 32), vld1q_s8(x + i + 32));
        a3 = mac16(a3, vld1q_s8(w + i + 48), vld1q_s8(x + i + 48));
    }
    return vaddvq_s32(vaddq_s32(vaddq_s32(a0, a1), vaddq_s32(a2, a3)));
}

static void gemm_rows(const bb_gemm_args *a, size_t r0, size_t r1)
{
    q8_rows_i32(a, r0, r1, "int8-neon-smull", INT8_MAX_K, bb_int8_neon_dot);
}

const bb_kernel bb_kernel_int8_neon_smull = {
    .name = "int8-neon-smull",
    .format = BB_FMT_INT8,
    .method = "smull",
    .isa = BB_ISA_NEON,
    .needs = BB_ISA_MASK_NEON,
    .priority = 10, /* not measured on ARM hardware yet (see arm.h) */
    .multiply_free = false,
    .hot_symbol = "bb_int8_neon_dot",
    .row_block = 1,
    .act_bytes = bb_act_q8_bytes,
    .prepare_act = bb_act_q8_prepare_neon,
    .gemm_rows = gemm_rows,
};
