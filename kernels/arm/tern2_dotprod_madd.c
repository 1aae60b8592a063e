/*
 * kernels/arm/tern2_dotprod_madd.c - tern2, multiply-add with SDOT (dotprod level):
 * bit-exact with tern2-scalar-ref.  The 2-bit code c becomes the int8 weight c - 1 (AND,
 * USHR, SUB), and SDOT adds four weight x activation products into each int32 lane (|lane|
 * grows by <= 4 * 127 per step; the int32 bound is the reference's, k <= TN_MAX_K).
 */
#include "arm.h"

#include "act_q8_neon.h"
#include "ternary_neon.h"

int32_t bb_tern2_dotprod_madd_dot(const uint8_t *w, const int8_t *x, size_t kp);
int32_t bb_tern2_dotprod_madd_dot(const uint8_t *w, const int8_t *x, size_t kp)
{
    const uint8x16_t three = vdupq_n_u8(3), one = vdupq_n_u8(1);
    int32x4_t acc[4] = {vdupq_n_s32(0), vdupq_n_s32(0), vdupq_n_s32(0), vdupq_n_s32(0)};
    for (const int8_t *x_end = x + kp; x < x_end; x += TN_TERN2_BLOCK, w += TN_BLOCK_BYTES)
        for (int j = 0; j < 4; j++) {
            uint8x16_t wv = vld1q_u8(w + 16 * j);
            int8x16_t d0 = vreinterpretq_s8_u8(vsubq_u8(vandq_u8(wv, three), one));
            int8x16_t d1 = vreinterpretq_s8_u8(vsubq_u8(vandq_u8(vshrq_n_u8(wv, 2), three), one));
            int8x16_t d2 = vreinterpretq_s8_u8(vsubq_u8(vandq_u8(vshrq_n_u8(wv, 4), three), one));
            int8x16_t d3 = vreinterpretq_s8_u8(vsubq_u8(vshrq_n_u8(wv, 6), one));
            acc[j] = vdotq_s32(acc[j], d0, vld1q_s8(x + 16 * j));
            acc[j] = vdotq_s32(acc[j], d1, vld1q_s8(x + 64 + 16 * j));
            acc[j] = vdotq_s32(acc[j], d2, vld1q_s8(x + 128 + 16 * j));
            acc[j] = vdotq_s32(acc[j], d3, vld1q_s8(x + 192 + 16 * j));
        }
    return vaddvq_s32(vaddq_s32(vaddq_s32(acc[0], acc[1]), vaddq_s32(acc[2], acc[3])));
}

static void gemm_rows(const bb_gemm_args *a, size_t r0, size_t r1)
{
    q8_rows_i32(a, r0, r1, "tern2-dotprod-madd", TN_MAX_K, bb_tern2_dotprod_madd_dot);
}

const bb_kernel bb_kernel_tern2_dotprod_madd = {
    .name = "tern2-dotprod-madd",
    .format = BB_FMT_TERN2,
    .method = "madd",
    .isa = BB_ISA_DOTPROD,
    .needs = BB_ISA_MASK_DOTPROD,
    .priority = 15, /* not measured on ARM hardware yet (see arm.h) */
    .multiply_free = false,
    .hot_symbol = "bb_tern2_dotprod_madd_dot",
    .row_block = 1,
    .act_bytes = bb_act_q8_bytes,
    .prepare_act = bb_act_q8_prepare_neon,
    .gemm_rows = gemm_rows,
};
