/*
 * kernels/arm/tern1_6_dotprod_madd.c - tern1.6, multiply-add with SDOT (dotprod level):
 * bit-exact with tern1.6-scalar-ref.  Trit t of a byte lane (ternary_neon.h) as the int8
 * weight c - 1 = -1 - (v >= 86 ? -1 : 0) - (v >= 171 ? -1 : 0) from two CMHS masks, then
 * v = v + v + v; SDOT adds four weight x activation products per int32 lane (the int32
 * bound is the reference's, k <= TN_MAX_K).
 */
#include "arm.h"

#include "act_q8_neon.h"
#include "ternary_neon.h"

int32_t bb_tern1_6_dotprod_madd_dot(const uint8_t *w, const int8_t *x, size_t kp);
int32_t bb_tern1_6_dotprod_madd_dot(const uint8_t *w, const int8_t *x, size_t kp)
{
    const uint8x16_t lo = vdupq_n_u8(86), hi = vdupq_n_u8(171);
    const int8x16_t minus1 = vdupq_n_s8(-1);
    int32x4_t acc[4] = {vdupq_n_s32(0), vdupq_n_s32(0), vdupq_n_s32(0), vdupq_n_s32(0)};
    for (const int8_t *x_end = x + kp; x < x_end; x += TN_TERN1_6_BLOCK, w += TN_BLOCK_BYTES)
        for (int j = 0; j < 4; j++) {
            uint8x16_t v = vld1q_u8(w + 16 * j);
            for (int t = 0; t < 5; t++) {
                int8x16_t d = vsubq_s8(vsubq_s8(minus1, vreinterpretq_s8_u8(vcgeq_u8(v, lo))),
                                       vreinterpretq_s8_u8(vcgeq_u8(v, hi)));
                acc[j] = vdotq_s32(acc[j], d, vld1q_s8(x + 64 * t + 16 * j));
                v = tn_times3(v);
            }
        }
    return vaddvq_s32(vaddq_s32(vaddq_s32(acc[0], acc[1]), vaddq_s32(acc[2], acc[3])));
}

static void gemm_rows(const bb_gemm_args *a, size_t r0, size_t r1)
{
    q8_rows_i32(a, r0, r1, "tern1.6-dotprod-madd", TN_MAX_K, bb_tern1_6_dotprod_madd_dot);
}

const bb_kernel bb_kernel_tern1_6_dotprod_madd = {
    .name = "tern1.6-dotprod-madd",
    .format = BB_FMT_TERN1_6,
    .method = "madd",
    .isa = BB_ISA_DOTPROD,
    .needs = BB_ISA_MASK_DOTPROD,
    .priority = 15, /* not measured on ARM hardware yet (see arm.h) */
    .multiply_free = false,
    .hot_symbol = "bb_tern1_6_dotprod_madd_dot",
    .row_block = 1,
    .act_bytes = bb_act_q8_bytes,
    .prepare_act = bb_act_q8_prepare_neon,
    .gemm_rows = gemm_rows,
};
