/*
 * kernels/arm/tern1_6_neon_addonly.c - tern1.6, plain NEON, add-only: no multiply
 * instruction in the hot loop; bit-exact with tern1.6-scalar-ref.
 *
 * Per 16 weight bytes, trit by trit (ternary_neon.h): pos = v >= 171 (CMHS), neg = v < 86
 * (CMHI), the signed pick (x AND pos) - (x AND neg) in int8 lanes, SADALP into int16
 * column accumulators, then v = v + v + v for the next trit.  Bound: a column accumulator
 * gets 5 pairs (<= 5 * 254 = 1270) per block, widened into int32 every 25 blocks:
 * 25 * 1270 = 31750 <= 32767.
 */
#include "arm.h"

#include "act_q8_neon.h"
#include "ternary_neon.h"

enum { SEGMENT_BLOCKS = 25 };

int32_t bb_tern1_6_neon_addonly_dot(const uint8_t *w, const int8_t *x, size_t kp);
__attribute__((noinline)) int32_t bb_tern1_6_neon_addonly_dot(const uint8_t *w, const int8_t *x,
                                                              size_t kp)
{
    const uint8x16_t lo = vdupq_n_u8(86), hi = vdupq_n_u8(171);
    int32x4_t sum = vdupq_n_s32(0);
    const int8_t *x_end = x + kp;
    while (x < x_end) {
        const int8_t *seg_end = x_end - x > SEGMENT_BLOCKS * TN_TERN1_6_BLOCK
                                    ? x + SEGMENT_BLOCKS * TN_TERN1_6_BLOCK
                                    : x_end;
        int16x8_t acc[4] = {vdupq_n_s16(0), vdupq_n_s16(0), vdupq_n_s16(0), vdupq_n_s16(0)};
        for (; x < seg_end; x += TN_TERN1_6_BLOCK, w += TN_BLOCK_BYTES)
            for (int j = 0; j < 4; j++) {
                uint8x16_t v = vld1q_u8(w + 16 * j);
                for (int t = 0; t < 5; t++) {
                    int8x16_t xv = vld1q_s8(x + 64 * t + 16 * j);
                    int8x16_t pos = vreinterpretq_s8_u8(vcgeq_u8(v, hi));
                    int8x16_t neg = vreinterpretq_s8_u8(vcltq_u8(v, lo));
                    acc[j] = vpadalq_s8(acc[j], vsubq_s8(vandq_s8(xv, pos), vandq_s8(xv, neg)));
                    v = tn_times3(v);
                }
            }
        for (int j = 0; j < 4; j++)
            sum = vpadalq_s16(sum, acc[j]);
    }
    return vaddvq_s32(sum);
}

static void gemm_rows(const bb_gemm_args *a, size_t r0, size_t r1)
{
    q8_rows_i32(a, r0, r1, "tern1.6-neon-addonly", TN_MAX_K, bb_tern1_6_neon_addonly_dot);
}

const bb_kernel bb_kernel_tern1_6_neon_addonly = {
    .name = "tern1.6-neon-addonly",
    .format = BB_FMT_TERN1_6,
    .method = "addonly",
    .isa = BB_ISA_NEON,
    .needs = BB_ISA_MASK_NEON,
    .priority = 8, /* not measured on ARM hardware yet (see arm.h) */
    .multiply_free = true,
    .hot_symbol = "bb_tern1_6_neon_addonly_dot",
    .row_block = 1,
    .act_bytes = bb_act_q8_bytes,
    .prepare_act = bb_act_q8_prepare_neon,
    .gemm_rows = gemm_rows,
};
