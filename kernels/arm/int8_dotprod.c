/*
 * kernels/arm/int8_dotprod.c - int8 W8A8 with SDOT (Armv8.2 dotprod, Armv8.4 mandatory:
 * Neoverse N1/V1/V2, Cortex-A76+, Apple M), bit-exact with int8-scalar-ref.
 *
 * SDOT adds four int8 x int8 products into each int32 lane: 64 weights per step in four
 * independent accumulators.  Rows run over k_padded (a multiple of 64), whose padding is 0.
 * The dot is shared with int8_i8mm.c (odd rows and tokens of its 2 x 2 tiles).
 */
#include "arm.h"

#include "act_q8_neon.h"
#include "int8_dot.h"
#include "q8_rows.h"

#include <arm_neon.h>

int32_t bb_int8_sdot_dot(const uint8_t *wrow, const int8_t *x, size_t kp)
{
    const int8_t *w = (const int8_t *)wrow;
    int32x4_t a0 = vdupq_n_s32(0), a1 = a0, a2 = a0, a3 = a0;
    for (size_t i = 0; i < kp; i += 64) {
        a0 = vdotq_s32(a0, vld1q_s8(w + i), vld1q_s8(x + i));
        a1 = vdotq_s32(a1, vld1q_s8(w + i + 16), vld1q_s8(x + i + 16));
        a2 = vdotq_s32(a2, vld1q_s8(w + i + 32), vld1q_s8(x + i + 32));
        a3 = vdotq_s32(a3, vld1q_s8(w + i + 48), vld1q_s8(x + i + 48));
    }
    return vaddvq_s32(vaddq_s32(vaddq_s32(a0, a1), vaddq_s32(a2, a3)));
}

static void gemm_rows(const bb_gemm_args *a, size_t r0, size_t r1)
{
    q8_rows_i32(a, r0, r1, "int8-dotprod-sdot", BB_INT8_MAX_K, bb_int8_sdot_dot);
}

const bb_kernel bb_kernel_int8_dotprod_sdot = {
    .name = "int8-dotprod-sdot",
    .format = BB_FMT_INT8,
    .method = "sdot",
    .isa = BB_ISA_DOTPROD,
    .needs = BB_ISA_MASK_DOTPROD,
    .priority = 20, /* not measured on ARM hardware yet (see arm.h) */
    .multiply_free = false,
    .hot_symbol = "bb_int8_sdot_dot",
    .row_block = 1,
    .act_bytes = bb_act_q8_bytes,
    .prepare_act = bb_act_q8_prepare_neon,
    .gemm_rows = gemm_rows,
};
