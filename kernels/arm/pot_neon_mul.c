/*
 * kernels/arm/pot_neon_mul.c - pot4, pot5, pot6 by multiply-accumulate (plain NEON): each
 * code is decoded into its integer weight +-2^s (0 for ecode 0), and the weights multiply
 * the int8 activations; bit-exact with pot<b>-scalar-ref on the canonical layouts (decoded
 * by pot_neon.h).  The weight goes in the narrowest signed lane that holds it:
 *   pot4 (|w| <= 64): int8, from a 16-entry TBL on the code; SMULL + SMLAL2 (two products,
 *     <= 2 * 127 * 64 = 16256 in int16) + SADALP into int32.
 *   pot5 (|w| <= 2^14): int16, from TBLs of a 32-entry low-byte and high-byte table and ZIP;
 *     SMLAL/SMLAL2 of int16 activations into int32 per block (8 products per lane,
 *     < 2^24), SADALP into int64 after each block.
 *   pot6 (|w| <= 2^30): int32, built as +-1 (the sign applied to 1, ecode 0 zeroed, in bytes)
 *     shifted left by s (SSHL; a 64 x 4-byte table would take 16 TBLs per 16
 *     weights); SMLAL/SMLAL2 of int32 activations into int64.
 * int32 (pot4) and int64 sums wrap exactly like the reference's unsigned accumulators.
 */
#include "arm.h"

#include "pot_neon.h"

/* Weight of each pot4 code (sign bit 3, s = 7 - ecode) and each pot5 code (sign bit 4,
 * s = 15 - ecode), in bytes for TBL. */
static const int8_t pot4_weight[16] = {0, 64, 32, 16, 8, 4, 2, 1, 0, -64, -32, -16, -8, -4, -2, -1};

#define P5(s) ((int16_t)(1 << (s)))
static const int16_t pot5_weight[32] = {
    0, P5(14), P5(13), P5(12), P5(11), P5(10), P5(9), P5(8), P5(7), P5(6), P5(5),
    P5(4), P5(3), P5(2), P5(1), P5(0), 0, -P5(14), -P5(13), -P5(12), -P5(11), -P5(10),
    -P5(9), -P5(8), -P5(7), -P5(6), -P5(5), -P5(4), -P5(3), -P5(2), -P5(1), -P5(0)};

int32_t bb_pot4_neon_mul_dot(const uint8_t *w, const int8_t *x, size_t kp);
int32_t bb_pot4_neon_mul_dot(const uint8_t *w, const int8_t *x, size_t kp)
{
    const int8x16_t table = vld1q_s8(pot4_weight);
    int32x4_t acc = vdupq_n_s32(0);
    for (size_t i = 0; i < kp; i += PN_BLOCK, w += pn_block_bytes(4)) {
        uint8x16_t c[8];
        pn_codes(w, 4, c);
        for (int v = 0; v < 8; v++) {
            int8x16_t wt = vqtbl1q_s8(table, c[v]), q = vld1q_s8(x + i + 16 * v);
            int16x8_t p = vmull_s8(vget_low_s8(wt), vget_low_s8(q));
            acc = vpadalq_s16(acc, vmlal_high_s8(p, wt, q));
        }
    }
    return vaddvq_s32(acc);
}

int64_t bb_pot5_neon_mul_dot(const uint8_t *w, const int8_t *x, size_t kp);
int64_t bb_pot5_neon_mul_dot(const uint8_t *w, const int8_t *x, size_t kp)
{
    uint8_t lo_bytes[32], hi_bytes[32];
    for (int i = 0; i < 32; i++) {
        lo_bytes[i] = (uint8_t)((uint16_t)pot5_weight[i] & 0xffu);
        hi_bytes[i] = (uint8_t)((uint16_t)pot5_weight[i] >> 8);
    }
    const uint8x16x2_t lo_tab = {{vld1q_u8(lo_bytes), vld1q_u8(lo_bytes + 16)}};
    const uint8x16x2_t hi_tab = {{vld1q_u8(hi_bytes), vld1q_u8(hi_bytes + 16)}};
    int64x2_t acc = vdupq_n_s64(0);
    for (size_t i = 0; i < kp; i += PN_BLOCK, w += pn_block_bytes(5)) {
        uint8x16_t c[8];
        int32x4_t blk[2] = {vdupq_n_s32(0), vdupq_n_s32(0)};
        pn_codes(w, 5, c);
        for (int v = 0; v < 8; v++) {
            uint8x16_t lo = vqtbl2q_u8(lo_tab, c[v]), hi = vqtbl2q_u8(hi_tab, c[v]);
            int16x8_t w0 = vreinterpretq_s16_u8(vzip1q_u8(lo, hi));
            int16x8_t w1 = vreinterpretq_s16_u8(vzip2q_u8(lo, hi));
            int8x16_t q = vld1q_s8(x + i + 16 * v);
            int16x8_t q0 = vmovl_s8(vget_low_s8(q)), q1 = vmovl_high_s8(q);
            blk[0] = vmlal_s16(blk[0], vget_low_s16(w0), vget_low_s16(q0));
            blk[1] = vmlal_high_s16(blk[1], w0, q0);
            blk[0] = vmlal_s16(blk[0], vget_low_s16(w1), vget_low_s16(q1));
            blk[1] = vmlal_high_s16(blk[1], w1, q1);
        }
        acc = vpadalq_s32(vpadalq_s32(acc, blk[0]), blk[1]);
    }
    return vaddvq_s64(acc);
}

int64_t bb_pot6_neon_mul_dot(const uint8_t *w, const int8_t *x, size_t kp);
int64_t bb_pot6_neon_mul_dot(const uint8_t *w, const int8_t *x, size_t kp)
{
    int64x2_t acc[2] = {vdupq_n_s64(0), vdupq_n_s64(0)};
    for (size_t i = 0; i < kp; i += PN_BLOCK, w += pn_block_bytes(6)) {
        uint8x16_t c[8];
        pn_codes(w, 6, c);
        for (int v = 0; v < 8; v++) {
            /* the weight's sign as a byte +-1 (0 for ecode 0), shifted by s in int32 lanes */
            int8x16_t unit = pn_signed_q(vdupq_n_s8(1), c[v], 6);
            int8x16_t s = vreinterpretq_s8_u8(pn_shift(c[v], 6));
            int8x16_t q = vld1q_s8(x + i + 16 * v);
            for (int j = 0; j < 4; j++) {
                int32x4_t wt = vshlq_s32(pn_quarter(unit, j), pn_quarter(s, j));
                int32x4_t qj = pn_quarter(q, j);
                acc[0] = vmlal_s32(acc[0], vget_low_s32(wt), vget_low_s32(qj));
                acc[1] = vmlal_high_s32(acc[1], wt, qj);
            }
        }
    }
    return vaddvq_s64(vaddq_s64(acc[0], acc[1]));
}

#define POT_MUL_KERNEL(bits, rows, prio)                                                       \
    static void pot##bits##_gemm_rows(const bb_gemm_args *a, size_t r0, size_t r1)             \
    {                                                                                           \
        rows;                                                                                   \
    }                                                                                           \
    const bb_kernel bb_kernel_pot##bits##_neon_mul = {                                          \
        .name = "pot" #bits "-neon-mul",                                                        \
        .format = BB_FMT_POT##bits,                                                             \
        .method = "mul",                                                                        \
        .isa = BB_ISA_NEON,                                                                     \
        .needs = BB_ISA_MASK_NEON,                                                              \
        .priority = prio, /* not measured on ARM hardware yet (see arm.h) */                    \
        .multiply_free = false,                                                                 \
        .hot_symbol = "bb_pot" #bits "_neon_mul_dot",                                           \
        .row_block = 1,                                                                         \
        .act_bytes = bb_act_q8_bytes,                                                           \
        .prepare_act = bb_act_q8_prepare_neon,                                                  \
        .gemm_rows = pot##bits##_gemm_rows,                                                     \
    };

POT_MUL_KERNEL(4, q8_rows_i32(a, r0, r1, "pot4-neon-mul", SIZE_MAX, bb_pot4_neon_mul_dot), 12)
POT_MUL_KERNEL(5, q8_rows_i64(a, r0, r1, bb_pot5_neon_mul_dot), 9)
POT_MUL_KERNEL(6, q8_rows_i64(a, r0, r1, bb_pot6_neon_mul_dot), 9)
