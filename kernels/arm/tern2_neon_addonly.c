/*
 * kernels/arm/tern2_neon_addonly.c - tern2, plain NEON, add-only: no multiply instruction
 * in the hot loop; bit-exact with tern2-scalar-ref.
 *
 * Per 16 weights of lane t (ternary_neon.h): pos = CMTST(w, bit 2t+1) (0xff where +1),
 * nz = CMTST(w, bits 2t..2t+1) (0xff where not -1... i.e. where the code is not 0), and
 * the signed pick (x AND pos) - (x BIC nz) is +x, -x or 0 in an int8 lane (|x| <= 127, no
 * wrap); SADALP adds pairs of picks into int16 accumulators, one per 16-byte column j.
 * Bound: a column accumulator gets 4 pairs (<= 4 * 254 = 1016) per block, so the int16
 * lanes are widened (SADALP into int32) every 32 blocks: 32 * 1016 = 32512 <= 32767.
 */
#include "arm.h"

#include "act_q8_neon.h"
#include "ternary_neon.h"

enum { SEGMENT_BLOCKS = 32 };

TN_ALWAYS_INLINE int16x8_t pick_add(int16x8_t acc, int8x16_t x, uint8x16_t w, uint8x16_t pos_bit,
                                    uint8x16_t code_bits)
{
    int8x16_t pos = vreinterpretq_s8_u8(vtstq_u8(w, pos_bit));
    int8x16_t nz = vreinterpretq_s8_u8(vtstq_u8(w, code_bits));
    return vpadalq_s8(acc, vsubq_s8(vandq_s8(x, pos), vbicq_s8(x, nz)));
}

int32_t bb_tern2_neon_addonly_dot(const uint8_t *w, const int8_t *x, size_t kp);
__attribute__((noinline)) int32_t bb_tern2_neon_addonly_dot(const uint8_t *w, const int8_t *x,
                                                            size_t kp)
{
    const uint8x16_t p0 = vdupq_n_u8(0x02), p1 = vdupq_n_u8(0x08), p2 = vdupq_n_u8(0x20),
                     p3 = vdupq_n_u8(0x80);
    const uint8x16_t c0 = vdupq_n_u8(0x03), c1 = vdupq_n_u8(0x0c), c2 = vdupq_n_u8(0x30),
                     c3 = vdupq_n_u8(0xc0);
    int32x4_t sum = vdupq_n_s32(0);
    const int8_t *x_end = x + kp;
    while (x < x_end) {
        const int8_t *seg_end = x_end - x > SEGMENT_BLOCKS * TN_TERN2_BLOCK
                                    ? x + SEGMENT_BLOCKS * TN_TERN2_BLOCK
                                    : x_end;
        int16x8_t acc[4] = {vdupq_n_s16(0), vdupq_n_s16(0), vdupq_n_s16(0), vdupq_n_s16(0)};
        for (; x < seg_end; x += TN_TERN2_BLOCK, w += TN_BLOCK_BYTES)
            for (int j = 0; j < 4; j++) {
                uint8x16_t wv = vld1q_u8(w + 16 * j);
                acc[j] = pick_add(acc[j], vld1q_s8(x + 16 * j), wv, p0, c0);
                acc[j] = pick_add(acc[j], vld1q_s8(x + 64 + 16 * j), wv, p1, c1);
                acc[j] = pick_add(acc[j], vld1q_s8(x + 128 + 16 * j), wv, p2, c2);
                acc[j] = pick_add(acc[j], vld1q_s8(x + 192 + 16 * j), wv, p3, c3);
            }
        for (int j = 0; j < 4; j++)
            sum = vpadalq_s16(sum, acc[j]);
    }
    return vaddvq_s32(sum);
}

static void gemm_rows(const bb_gemm_args *a, size_t r0, size_t r1)
{
    q8_rows_i32(a, r0, r1, "tern2-neon-addonly", TN_MAX_K, bb_tern2_neon_addonly_dot);
}

const bb_kernel bb_kernel_tern2_neon_addonly = {
    .name = "tern2-neon-addonly",
    .format = BB_FMT_TERN2,
    .method = "addonly",
    .isa = BB_ISA_NEON,
    .needs = BB_ISA_MASK_NEON,
    .priority = 8, /* not measured on ARM hardware yet (see arm.h) */
    .multiply_free = true,
    .hot_symbol = "bb_tern2_neon_addonly_dot",
    .row_block = 1,
    .act_bytes = bb_act_q8_bytes,
    .prepare_act = bb_act_q8_prepare_neon,
    .gemm_rows = gemm_rows,
};
