/*
 * kernels/arm/pot_neon_shift.c - pot4, pot5, pot6 by shifts and adds (plain NEON, no
 * multiply instruction in the hot loops): bit-exact with pot<b>-scalar-ref on the canonical
 * layouts (pot_neon.h decodes them).
 *
 * Per 16 weights: the code's sign applied to the int8 activations and ecode-0 lanes zeroed
 * in byte lanes (EOR, SUB, AND), then SSHL by the per-lane count s = emax + 1 - ecode in
 * lanes wide enough for the term, and a pairwise widening add into the accumulator of the
 * width the reference's overflow proof asks for:
 *   pot4 (s <= 6, |term| <= 127 * 64 = 8128): int16 lanes, SADALP into int32.
 *   pot5 (s <= 14, |term| < 2^21): int32 lanes, added per block (8 terms per lane,
 *     < 2^24), SADALP into int64 after each block.
 *   pot6 (s <= 30, |term| < 2^37): split at s = 16.  Terms with s < 16 are added as
 *     q << s (< 2^22), those with s >= 16 as q << (s - 16) (< 2^21) into a second sum;
 *     dot = low + (high << 16), both int64 (per block in int32 lanes, as pot5).
 * int32 (pot4) and int64 sums wrap exactly like the reference's unsigned accumulators.
 */
#include "arm.h"

#include "pot_neon.h"

int32_t bb_pot4_neon_shift_dot(const uint8_t *w, const int8_t *x, size_t kp);
__attribute__((noinline)) int32_t bb_pot4_neon_shift_dot(const uint8_t *w, const int8_t *x,
                                                         size_t kp)
{
    int32x4_t acc = vdupq_n_s32(0);
    for (size_t i = 0; i < kp; i += PN_BLOCK, w += pn_block_bytes(4)) {
        uint8x16_t c[8];
        pn_codes(w, 4, c);
        for (int v = 0; v < 8; v++) {
            int8x16_t q = pn_signed_q(vld1q_s8(x + i + 16 * v), c[v], 4);
            int8x16_t s = vreinterpretq_s8_u8(pn_shift(c[v], 4));
            acc = vpadalq_s16(acc, vshlq_s16(vmovl_s8(vget_low_s8(q)), vmovl_s8(vget_low_s8(s))));
            acc = vpadalq_s16(acc, vshlq_s16(vmovl_high_s8(q), vmovl_high_s8(s)));
        }
    }
    return vaddvq_s32(acc);
}

int64_t bb_pot5_neon_shift_dot(const uint8_t *w, const int8_t *x, size_t kp);
__attribute__((noinline)) int64_t bb_pot5_neon_shift_dot(const uint8_t *w, const int8_t *x,
                                                         size_t kp)
{
    int64x2_t acc = vdupq_n_s64(0);
    for (size_t i = 0; i < kp; i += PN_BLOCK, w += pn_block_bytes(5)) {
        uint8x16_t c[8];
        int32x4_t blk[4] = {vdupq_n_s32(0), vdupq_n_s32(0), vdupq_n_s32(0), vdupq_n_s32(0)};
        pn_codes(w, 5, c);
        for (int v = 0; v < 8; v++) {
            int8x16_t q = pn_signed_q(vld1q_s8(x + i + 16 * v), c[v], 5);
            int8x16_t s = vreinterpretq_s8_u8(pn_shift(c[v], 5));
            for (int j = 0; j < 4; j++)
                blk[j] = vaddq_s32(blk[j], vshlq_s32(pn_quarter(q, j), pn_quarter(s, j)));
        }
        for (int j = 0; j < 4; j++)
            acc = vpadalq_s32(acc, blk[j]);
    }
    return vaddvq_s64(acc);
}

int64_t bb_pot6_neon_shift_dot(const uint8_t *w, const int8_t *x, size_t kp);
__attribute__((noinline)) int64_t bb_pot6_neon_shift_dot(const uint8_t *w, const int8_t *x,
                                                         size_t kp)
{
    const uint8x16_t sixteen = vdupq_n_u8(16);
    int64x2_t acc_lo = vdupq_n_s64(0), acc_hi = vdupq_n_s64(0);
    for (size_t i = 0; i < kp; i += PN_BLOCK, w += pn_block_bytes(6)) {
        uint8x16_t c[8];
        int32x4_t lo[4] = {vdupq_n_s32(0), vdupq_n_s32(0), vdupq_n_s32(0), vdupq_n_s32(0)};
        int32x4_t hi[4] = {vdupq_n_s32(0), vdupq_n_s32(0), vdupq_n_s32(0), vdupq_n_s32(0)};
        pn_codes(w, 6, c);
        for (int v = 0; v < 8; v++) {
            int8x16_t q = pn_signed_q(vld1q_s8(x + i + 16 * v), c[v], 6);
            uint8x16_t s = pn_shift(c[v], 6);
            int8x16_t high = vreinterpretq_s8_u8(vcgeq_u8(s, sixteen));
            int8x16_t q_lo = vbicq_s8(q, high), q_hi = vandq_s8(q, high);
            /* s - 16 wraps to a negative count (a right shift) in low lanes, whose q_hi is 0 */
            int8x16_t s_lo = vreinterpretq_s8_u8(s), s_hi = vreinterpretq_s8_u8(vsubq_u8(s, sixteen));
            for (int j = 0; j < 4; j++) {
                lo[j] = vaddq_s32(lo[j], vshlq_s32(pn_quarter(q_lo, j), pn_quarter(s_lo, j)));
                hi[j] = vaddq_s32(hi[j], vshlq_s32(pn_quarter(q_hi, j), pn_quarter(s_hi, j)));
            }
        }
        for (int j = 0; j < 4; j++) {
            acc_lo = vpadalq_s32(acc_lo, lo[j]);
            acc_hi = vpadalq_s32(acc_hi, hi[j]);
        }
    }
    uint64_t high = (uint64_t)vaddvq_s64(acc_hi) << 16; /* wraps as the reference's sum */
    return (int64_t)((uint64_t)vaddvq_s64(acc_lo) + high);
}

#define POT_SHIFT_KERNEL(bits, rows, prio)                                                     \
    static void pot##bits##_gemm_rows(const bb_gemm_args *a, size_t r0, size_t r1)             \
    {                                                                                           \
        rows;                                                                                   \
    }                                                                                           \
    const bb_kernel bb_kernel_pot##bits##_neon_shift = {                                        \
        .name = "pot" #bits "-neon-shift",                                                      \
        .format = BB_FMT_POT##bits,                                                             \
        .method = "shift",                                                                      \
        .isa = BB_ISA_NEON,                                                                     \
        .needs = BB_ISA_MASK_NEON,                                                              \
        .priority = prio, /* not measured on ARM hardware yet (see arm.h) */                    \
        .multiply_free = true,                                                                  \
        .hot_symbol = "bb_pot" #bits "_neon_shift_dot",                                         \
        .row_block = 1,                                                                         \
        .act_bytes = bb_act_q8_bytes,                                                           \
        .prepare_act = bb_act_q8_prepare_neon,                                                  \
        .gemm_rows = pot##bits##_gemm_rows,                                                     \
    };

POT_SHIFT_KERNEL(4, q8_rows_i32(a, r0, r1, "pot4-neon-shift", SIZE_MAX, bb_pot4_neon_shift_dot), 10)
POT_SHIFT_KERNEL(5, q8_rows_i64(a, r0, r1, bb_pot5_neon_shift_dot), 10)
POT_SHIFT_KERNEL(6, q8_rows_i64(a, r0, r1, bb_pot6_neon_shift_dot), 10)
